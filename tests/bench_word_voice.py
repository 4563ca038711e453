"""How much of a word-level model to mix into a character model's prediction (`tuiwriter eval
--voice`): bits/char of the character model, the word model and their mixes at several weights,
read once, on text given (for the default weight: the trainer's validation part of train90.txt,
which neither the eval text nor training saw).

    python tests/bench_word_voice.py CHAR_MODEL WORD_MODEL FILE [--chars N] [--from-fraction F]
"""

from __future__ import annotations

import argparse
import math

import torch

from tuiwriter.lm import store
from tuiwriter.predict.predictor import FusedRNN
from tuiwriter.predict.word_predictor import MixedPredictor, WordPredictor

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("char_model")
    p.add_argument("word_model")
    p.add_argument("file")
    p.add_argument("--chars", type=int, default=3000)
    p.add_argument("--from-fraction", type=float, default=0.9, help="start this far into the file (default 0.9)")
    args = p.parse_args()
    torch.set_num_threads(1)
    char_ck, word_ck = store.load(args.char_model), store.load(args.word_model)
    mix = MixedPredictor(FusedRNN(char_ck.build_model(), char_ck.vocab),
                         WordPredictor(word_ck.build_model(), word_ck.vocab, word_ck.words), 0.0)
    text = open(args.file, encoding="utf-8").read()
    text = text[int(len(text) * args.from_fraction):][:args.chars]
    state, bits = mix.start(), [0.0] * len(WEIGHTS)
    for ch in text:
        cid = mix.vocab.id_of(ch)
        p_char = float(mix.char.log_probs(state.char).exp()[cid])
        word = mix.word.log_probs(state.word).exp()[mix._to_word]
        p_word = float(word[cid] / word.sum())
        for k, w in enumerate(WEIGHTS):
            bits[k] -= math.log2(p_char * (1 - w) + p_word * w)
        state = mix.step(state, cid)
    for w, b in zip(WEIGHTS, bits):
        print(f"weight {w:.1f}: {b / len(text):.4f} bits/char")


if __name__ == "__main__":
    main()
