"""`python -m footfall` runs the command line."""

from footfall.cli.main import app

app(prog_name="footfall")
