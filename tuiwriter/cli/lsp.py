"""`tuiwriter lsp`: the editor's suggestions in other editors, as a language server on stdio
(LSP 3.18 `textDocument/inlineCompletion`; the server is `tuiwriter.lsp`).

Neither pygls nor torch is imported here: `tuiwriter` starts without them, and the server
answers `initialize` before the model (and torch) load in the background.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys

NAME = "lsp"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(NAME, help="serve suggestions to other editors: a language server on stdin/stdout",
                       description="A Language Server (LSP 3.18 inline completion) on stdin/stdout, for "
                                   "Neovim, Emacs, JetBrains IDEs and other LSP clients: start it from the "
                                   "editor (see README, 'Use it from your editor').")
    p.add_argument("--model", metavar="M", help="model name, 'default', or a checkpoint path "
                                                "(default: the active model in config.toml)")
    p.add_argument("--stdio", action="store_true",
                   help="accepted for clients that pass it: stdio is the only transport")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("pygls") is None or importlib.util.find_spec("lsprotocol") is None:
        print("tuiwriter: error: `tuiwriter lsp` needs pygls 2 (pip install 'pygls>=2,<3')", file=sys.stderr)
        return 1
    from tuiwriter.lsp.server import serve

    if sys.stdin.isatty():
        print("tuiwriter lsp: a language server talking LSP on stdin/stdout; start it from your editor "
              "(README: 'Use it from your editor'). Ctrl+D ends it.", file=sys.stderr)
    return serve(args.model)
