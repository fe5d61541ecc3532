"""Tracker tests: Chromium (`tests/browser.py`), and each test phase's outcome remembered so
fixtures can keep evidence of failures."""

from __future__ import annotations

from tests.browser import browser, failed, playwright, pytest_runtest_makereport

__all__ = ["browser", "failed", "playwright", "pytest_runtest_makereport"]
