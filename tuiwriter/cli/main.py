"""The `tuiwriter` command line: one parser, each command in its own module of this package.

`tuiwriter [FILE]` (no command) is the editor, the command a person types most: the `edit`
command, which is what the parser reads when the first argument names no other command.
Every error the user can cause prints one line to stderr and exits non-zero, no traceback.
torch is imported only by the commands that need it, so `tuiwriter FILE` paints at once.
"""

from __future__ import annotations

import argparse
import os
import sys

from tuiwriter import __version__
from tuiwriter.cli import edit, evaluate, generate, lsp, models, train
from tuiwriter.cli.args import Parser, UsageError

COMMANDS = (edit, train, generate, evaluate, models, lsp)
USAGE = ("tuiwriter [FILE] [--model M]\n       tuiwriter {train,generate,eval,models,lsp} ...\n"
         "       tuiwriter --version")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="tuiwriter", description="A terminal writing assistant with a char-level LSTM.", usage=USAGE,
               epilog="With no command, tuiwriter opens the editor on FILE (created on first save) or "
                      "on an untitled buffer; --model picks the model (a name, 'default' or a checkpoint "
                      "path). `tuiwriter COMMAND --help` explains each command.")
    p.add_argument("--version", action="version", version=f"tuiwriter {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=Parser, metavar="COMMAND", prog="tuiwriter")
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def _route(argv: list[str]) -> list[str]:
    """The editor needs no command word: `tuiwriter notes.md` is `tuiwriter edit notes.md`."""
    if argv[:1] in (["-h"], ["--help"], ["--version"]) or (argv and argv[0] in build_names()):
        return argv
    return ["edit", *argv]


def build_names() -> set[str]:
    return {command.NAME for command in COMMANDS}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(_route(argv))
        return args.run(args)
    except UsageError as exc:
        print(f"tuiwriter: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tuiwriter: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # noqa: BLE001 - known user errors become one line
        if isinstance(exc, _known_errors()):
            print(f"tuiwriter: error: {exc}", file=sys.stderr)
            return 1
        raise


def _known_errors() -> tuple[type[BaseException], ...]:
    from tuiwriter.lm.checkpoint import CheckpointError
    from tuiwriter.text.corpus import CorpusError

    return (CheckpointError, CorpusError, OSError)
