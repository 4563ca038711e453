"""`tuiwriter generate`: the lesson's generation loop, printed as it samples."""

from __future__ import annotations

import argparse
import sys

from typing import TYPE_CHECKING

from tuiwriter.cli.args import UsageError, active_model, positive, temperature

if TYPE_CHECKING:
    from tuiwriter.text.words import WordVocab

NAME = "generate"


def add_parser(sub: argparse._SubParsersAction) -> None:
    g = sub.add_parser(NAME, help="prime the model with a prompt and print a sample")
    g.add_argument("--model", default=None, metavar="M", help="model name, 'default', or a checkpoint path")
    g.add_argument("--prompt", default="", metavar="TEXT")
    g.add_argument("--temperature", type=temperature, default=0.8, metavar="T")
    g.add_argument("--length", type=positive(int), default=400, metavar="N",
                   help="characters to generate; with a word-level model, tokens: words, punctuation marks "
                        "and line ends (default 400)")
    g.add_argument("--seed", type=int, default=None, metavar="S")
    g.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tuiwriter.lm import store
    from tuiwriter.lm.sampling import sample, sample_words

    ck = store.load(active_model(args.model))
    model = ck.build_model()
    if ck.words is not None:
        _check_prompt(ck.words, args.prompt)
        pieces = sample_words(model, ck.words, args.prompt, args.length, args.temperature, args.seed)
    else:
        pieces = sample(model, ck.vocab, args.prompt, args.length, args.temperature, args.seed)
    out = sys.stdout
    out.write(args.prompt)
    for ch in pieces:
        out.write(ch)
        out.flush()
    out.write("\n")
    return 0


def _check_prompt(words: WordVocab, prompt: str) -> None:
    """A word-level model reads a prompt word it does not know as the unknown token: say so
    (one line on stderr), and refuse a prompt with no word the model knows (it would prime
    the model with nothing but unknown tokens)."""
    from tuiwriter.text.words import is_word, tokenize

    unknown = [t.strip() for t in words.unknown(prompt)]
    if not unknown:
        return
    shown = ", ".join(repr(w) for w in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    if all(words.id_of(t) == 0 for t in tokenize(prompt) if is_word(t)):
        raise UsageError(f"no word of the prompt is in this word-level model's vocabulary ({shown}): "
                         "give a prompt with words it knows")
    print(f"note: {len(unknown)} prompt word(s) outside the vocabulary, read as the unknown token: {shown}",
          file=sys.stderr)
