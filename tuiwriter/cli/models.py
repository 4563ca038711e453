"""`tuiwriter models`: list the models (the active one marked), choose one, delete one."""

from __future__ import annotations

import argparse

from tuiwriter.cli.args import UsageError

NAME = "models"
HEADER = ("", "name", "level", "params", "val bpc", "trained on", "when")


def add_parser(sub: argparse._SubParsersAction) -> None:
    m = sub.add_parser(NAME, help="list the models and mark the active one")
    m.add_argument("--use", metavar="NAME", help="make NAME the active model")
    m.add_argument("--delete", metavar="NAME", help="delete a trained model")
    m.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tuiwriter import settings
    from tuiwriter.lm import store

    current, _ = settings.load()
    if args.delete:
        if args.delete == current.model:
            raise UsageError(f"{args.delete!r} is the active model: switch with --use first")
        store.delete(args.delete)
        print(f"deleted model {args.delete!r}")
        return 0
    if args.use:
        spec = store.canonical(args.use)
        store.load(spec)  # refuse a name that does not load
        settings.remember({"model": spec})
        print(f"active model: {spec}")
        return 0
    rows = store.list_models()
    if not rows:
        print("no models yet: train one with `tuiwriter train PATH...`")
        return 0
    table = [HEADER] + [("*" if info.name == current.model else "", *info.columns()) for info in rows]
    widths = [max(len(str(r[i])) for r in table) for i in range(len(HEADER))]
    for r in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0
