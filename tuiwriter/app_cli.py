"""`tuiwriter [FILE]`: start the editor (filled in by the editor work)."""

from __future__ import annotations

import sys


def run_app(argv: list[str]) -> int:
    print("tuiwriter: the editor is not built yet", file=sys.stderr)
    return 1
