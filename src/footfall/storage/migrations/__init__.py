"""Alembic migrations of the metadata database (run by `footfall migrate` and on start)."""
