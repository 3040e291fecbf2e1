"""`python -m msimg` runs the command line."""

from msimg.cli.app import run

run()
