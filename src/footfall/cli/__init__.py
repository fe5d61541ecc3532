"""The `footfall` command line."""
