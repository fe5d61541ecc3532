"""Footfall: self-hosted, privacy-friendly web analytics with an exact Realtime API."""

__version__ = "0.1.0"
