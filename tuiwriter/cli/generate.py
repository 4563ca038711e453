"""`tuiwriter generate`: the lesson's generation loop, printed as it samples."""

from __future__ import annotations

import argparse
import sys

from tuiwriter.cli.args import active_model, positive, temperature

NAME = "generate"


def add_parser(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser(NAME, help="prime the model with a prompt and print a sample")
    g.add_argument("--model", default=None, metavar="M", help="model name, 'default', or a checkpoint path")
    g.add_argument("--prompt", default="", metavar="TEXT")
    g.add_argument("--temperature", type=temperature, default=0.8, metavar="T")
    g.add_argument("--length", type=positive(int), default=400, metavar="N")
    g.add_argument("--seed", type=int, default=None, metavar="S")
    g.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tuiwriter.lm import store
    from tuiwriter.lm.sampling import sample

    ck = store.load(active_model(args.model))
    model = ck.build_model()
    out = sys.stdout
    out.write(args.prompt)
    for ch in sample(model, ck.vocab, args.prompt, args.length, args.temperature, args.seed):
        out.write(ch)
        out.flush()
    out.write("\n")
    return 0
