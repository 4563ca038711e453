"""The `tuiwriter` command line: the editor, plus train, generate, eval and models.

Every error the user can cause prints one line to stderr and exits non-zero, no traceback.
torch is imported only by the subcommands that need it, so `tuiwriter FILE` paints at once.
"""

from __future__ import annotations

import argparse
import os

import sys
from pathlib import Path

SUBCOMMANDS = ("train", "generate", "eval", "models")


class UsageError(Exception):
    """Bad command-line input: one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage on two lines
        raise UsageError(message)


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be greater than 0: {text}")
        return value
    return parse


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None
    if not 0.0 <= value <= 2.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2: {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from tuiwriter.lm.model import SIZES

    p = _Parser(prog="tuiwriter", description="A terminal writing assistant with a char-level LSTM.",
                usage="tuiwriter [FILE] [--model M]\n       tuiwriter {train,generate,eval,models} ...",
                epilog="With no command, tuiwriter opens the editor on FILE (created on first save) or "
                       "on an untitled buffer; --model picks the model (a name, 'default' or a checkpoint "
                       "path). `tuiwriter COMMAND --help` explains each command.")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    t = sub.add_parser("train", help="train (or fine-tune) a model on files and folders")
    t.add_argument("paths", nargs="+", metavar="PATH", help="files and folders of text")
    t.add_argument("--model", metavar="NAME", help="name to save the model as (default: first path's name)")
    t.add_argument("--from", dest="base", metavar="NAME", help="fine-tune this model instead of starting fresh")
    t.add_argument("--minutes", type=_positive(float), default=10.0, help="time budget (default 10)")
    t.add_argument("--size", choices=sorted(SIZES), help="model size for a new model (default base)")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--threads", type=_positive(int), help="CPU threads (default: all cores)")
    t.add_argument("--batch", type=_positive(int), help="parallel streams per update (default 16)")
    t.add_argument("--seq-len", type=_positive(int), help="characters per stream per update (default 64)")
    t.add_argument("--lr", type=_positive(float), help="peak learning rate")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run of --model")
    t.add_argument("--force", action="store_true", help="replace an existing model of that name")

    g = sub.add_parser("generate", help="prime the model with a prompt and print a sample")
    g.add_argument("--model", default=None, metavar="M", help="model name, 'default', or a checkpoint path")
    g.add_argument("--prompt", default="", metavar="TEXT")
    g.add_argument("--temperature", type=_temperature, default=0.8, metavar="T")
    g.add_argument("--length", type=_positive(int), default=400, metavar="N")
    g.add_argument("--seed", type=int, default=None, metavar="S")

    e = sub.add_parser("eval", help="measure bits/char, keystroke savings and latency on text")
    e.add_argument("files", nargs="+", metavar="FILE")
    e.add_argument("--model", default=None, metavar="M")
    e.add_argument("--json", action="store_true", help="print one JSON object")
    e.add_argument("--max-chars", type=_positive(int), default=None, metavar="N")

    m = sub.add_parser("models", help="list the models and mark the active one")
    m.add_argument("--use", metavar="NAME", help="make NAME the active model")
    m.add_argument("--delete", metavar="NAME", help="delete a trained model")
    return p


def _active_model(explicit: str | None) -> str:
    if explicit:
        return explicit
    from tuiwriter import settings

    return settings.load()[0].model


def cmd_train(args: argparse.Namespace) -> int:
    from tuiwriter.text import corpus
    from tuiwriter.lm import store
    from tuiwriter.lm.checkpoint import CheckpointError
    from tuiwriter.train_cli import run_training

    if args.base and args.size:
        raise UsageError("--size cannot be used with --from: a fine-tuned model keeps its architecture")
    if args.resume and args.base:
        raise UsageError("--resume continues the earlier run as it was: leave out --from")
    name = args.model or _name_from(args.paths[0])
    store.check_name(name)
    out_dir = store.model_dir(name)
    if (out_dir / store.CHECKPOINT_FILE).exists() and not (args.resume or args.force):
        raise CheckpointError(
            f"model {name!r} exists: --resume continues it, --force replaces it, or pick another --model")
    if args.resume and not (out_dir / store.RESUME_FILE).exists():
        raise CheckpointError(f"nothing to resume for model {name!r}")
    data = corpus.collect(args.paths)
    return run_training(args, name, data)


def _name_from(path: str) -> str:
    import re

    stem = Path(os.path.abspath(os.path.expanduser(path))).stem or "notes"
    return re.sub(r"[^A-Za-z0-9._-]", "-", stem).strip("-._")[:64] or "notes"


def cmd_generate(args: argparse.Namespace) -> int:
    from tuiwriter.lm import store
    from tuiwriter.lm.sampling import sample

    ck = store.load(_active_model(args.model))
    model = ck.build_model()
    out = sys.stdout
    out.write(args.prompt)
    for ch in sample(model, ck.vocab, args.prompt, args.length, args.temperature, args.seed):
        out.write(ch)
        out.flush()
    out.write("\n")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from tuiwriter.evaluate import run_eval_cli

    return run_eval_cli(args.files, _active_model(args.model), as_json=args.json, max_chars=args.max_chars)


def cmd_models(args: argparse.Namespace) -> int:
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
    header = ("", "name", "params", "val bpc", "trained on", "when")
    table = [header]
    for info in rows:
        mark = "*" if info.name == current.model else ""
        if info.error:
            table.append((mark, info.name, "-", "-", f"unusable: {info.error}", ""))
            continue
        params = f"{info.params / 1e6:.2f}M" if info.params else "-"
        bpc = f"{info.val_bpc:.3f}" if info.val_bpc is not None else "-"
        table.append((mark, info.name, params, bpc, info.trained_on, info.when[:16].replace("T", " ")))
    widths = [max(len(str(r[i])) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS or argv[:1] in (["-h"], ["--help"]):
            args = build_parser().parse_args(argv)
            handler = {"train": cmd_train, "generate": cmd_generate, "eval": cmd_eval,
                       "models": cmd_models}[args.command]
            return handler(args)
        from tuiwriter.app_cli import run_app

        return run_app(argv)
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
        known = _known_errors()
        if isinstance(exc, known):
            print(f"tuiwriter: error: {exc}", file=sys.stderr)
            return 1
        raise


def _known_errors() -> tuple[type[BaseException], ...]:
    from tuiwriter.lm.checkpoint import CheckpointError
    from tuiwriter.text.corpus import CorpusError

    return (CheckpointError, CorpusError, OSError)


