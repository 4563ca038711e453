"""The `tuiwriter` command line: one parser (`main`), one module per command."""

from tuiwriter.cli.main import main

__all__ = ["main"]
