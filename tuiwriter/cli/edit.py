"""`tuiwriter [FILE] [--model M]` (also `tuiwriter edit`): check the file, then start the editor.

A file the editor cannot open (binary, too big, a folder, unreadable) is refused with one line
on stderr before the screen changes. torch is not imported here: the model loads in the
background once the editor is on screen.
"""

from __future__ import annotations

import argparse
import sys
import time

NAME = "edit"


def add_parser(sub: argparse._SubParsersAction) -> None:
    e = sub.add_parser(NAME, help="open the editor (the default: `tuiwriter FILE` is `tuiwriter edit FILE`)",
                       usage="tuiwriter [FILE] [--model M]",
                       description="Write with ghost-text suggestions from your own model.")
    e.add_argument("file", nargs="?", metavar="FILE", help="file to edit (created on first save)")
    e.add_argument("--model", metavar="M", help="model name, 'default', or a checkpoint path")
    e.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    started = time.time()
    from tuiwriter import settings
    from tuiwriter.text import documents

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
