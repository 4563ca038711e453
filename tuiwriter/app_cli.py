"""`tuiwriter [FILE] [--model M]`: check the file, then start the editor.

A file the editor cannot open (binary, too big, a folder, unreadable) is refused with one line
on stderr before the screen changes. torch is not imported here: the model loads in the
background once the editor is on screen.
"""

from __future__ import annotations

import argparse
import sys
import time


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage block
        raise SystemExit(f"tuiwriter: error: {message}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="tuiwriter", description="Write with ghost-text suggestions from your own model.",
                epilog="Other commands: tuiwriter train|generate|eval|models --help")
    p.add_argument("file", nargs="?", metavar="FILE", help="file to edit (created on first save)")
    p.add_argument("--model", metavar="M", help="model name, 'default', or a checkpoint path")
    return p


def run_app(argv: list[str]) -> int:
    started = time.time()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 2
        return int(exc.code or 0)

    from tuiwriter.text import documents

    from tuiwriter import settings

    try:
        document = documents.open_document(args.file)
    except documents.DocumentError as exc:
        print(f"tuiwriter: error: {exc}", file=sys.stderr)
        return 1
    current, warning = settings.load()
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("tuiwriter: error: the editor needs a terminal (stdin and stdout)", file=sys.stderr)
        return 1

    from tuiwriter.tui.app import TuiwriterApp, _trace

    _trace("start", t0=started)
    app = TuiwriterApp(document, current, warning, model=args.model)
    app.run()
    return app.return_code or 0
