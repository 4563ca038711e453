"""`python -m tuiwriter` runs the same entry point as the console script."""

from tuiwriter.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
