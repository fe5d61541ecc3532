"""Ingestion: validate hits, run the pipeline of named steps, hand events to the writer."""
