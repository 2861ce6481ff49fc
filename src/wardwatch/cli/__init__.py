"""The ``wardwatch`` command line: Typer commands that parse input, call a service and format the output."""

from wardwatch.cli.app import main

__all__ = ["main"]
