"""Speed figures for the completion engine (`python -m tuiwriter.bench`).

1. Per-character step cost at batch 1 for each size preset: the fused step (`FusedRNN`), the
   same with int8 weights (`Int8RNN`, what the editor runs), `nn.LSTM` called per character
   (`ModulePredictor`) and `nn.LSTMCell` on the same weights.
2. The engine with float and with int8 weights (`--weights MODEL FILE...`), in one process, the
   order alternating per text: bits/char, keys saved and latency of the simulated writer.
3. Engine latency per size preset (SPEC "Metrics": keystroke, full, jump): keystroke and full
   from the simulated writer of `tuiwriter eval`, on untrained weights with `min_confidence=0`:
   every suggestion runs to the 40-character cap and none is ever taken, so these are worst
   cases; jump from random cursor moves in a document read once. A trained model's figures
   come from `tuiwriter eval`.
Weights are random: the cost of a step does not depend on their values.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable

import torch

from tuiwriter.bench.evaluate import Tally, percentile, read_texts, simulate
from tuiwriter.lm import checkpoint, store
from tuiwriter.lm.checkpoint import Checkpoint
from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig
from tuiwriter.predict.engine import Engine
from tuiwriter.predict.policy import SuggestConfig
from tuiwriter.predict.predictor import FusedRNN, Int8RNN, ModulePredictor, int8_available
from tuiwriter.text.vocab import BASE_CHARS, UNK, Vocab

ROUNDS = 5  # step costs are timed in this many interleaved rounds


def timed_calls(fn: Callable[[], object], n: int, warmup: int = 20) -> list[float]:
    """ms of each of n calls of `fn` (after `warmup` untimed ones)."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return out


def timings(fn: Callable[[], object], n: int, warmup: int = 20) -> tuple[float, float]:
    """p50 and p99 in ms of `fn` over n calls."""
    out = timed_calls(fn, n, warmup)
    return percentile(out, 50), percentile(out, 99)


def build(size: str, cell: str = "lstm") -> tuple[CharRNN, Vocab]:
    vocab = Vocab(UNK + BASE_CHARS)
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab_size=len(vocab), cell=cell, **SIZES[size])).eval(), vocab


def step_costs(size: str, n: int, cell: str = "lstm") -> dict[str, tuple[float, float]]:
    """p50/p99 ms of a step and its distribution for each predictor, timed in ROUNDS interleaved
    rounds: on a shared machine the speed drifts within a minute, so a comparison is only fair
    side by side."""
    model, vocab = build(size, cell)
    predictors = {"fused": FusedRNN(model, vocab)}
    if cell == "lstm" and int8_available():
        predictors["int8"] = Int8RNN(model, vocab)
    predictors["nn.LSTM" if cell == "lstm" else "nn.GRU"] = ModulePredictor(model, vocab)
    samples: dict[str, list[float]] = {name: [] for name in predictors}
    for _ in range(ROUNDS):
        for name, predictor in predictors.items():
            box = [predictor.start()]

            def one(p=predictor, box=box) -> None:
                box[0] = p.step(box[0], 5)
                p.log_probs(box[0])

            samples[name] += timed_calls(one, max(1, n // ROUNDS))
    results = {name: (percentile(v, 50), percentile(v, 99)) for name, v in samples.items()}
    if cell == "lstm":
        cells = [torch.nn.LSTMCell(model.rnn.input_size if k == 0 else model.config.hidden, model.config.hidden)
                 for k in range(model.config.layers)]
        hc = [(torch.zeros(1, model.config.hidden), torch.zeros(1, model.config.hidden)) for _ in cells]

        def cell_step() -> None:
            with torch.inference_mode():
                inp = model.embed(torch.tensor([5]))
                for k, c in enumerate(cells):
                    hc[k] = c(inp, hc[k])
                    inp = hc[k][0]
                model.head(inp)

        results["nn.LSTMCell"] = timings(cell_step, n)
    return results


def engine_latency(size: str, chars: int, jumps: int, interval: int) -> dict:
    """Keystroke/full from the simulated writer typing `chars` characters; jump from `jumps`
    cursor moves to random places of a 20,000-character document read once (`prepare`)."""
    model, vocab = build(size)
    ck = Checkpoint(model.config, vocab, dict(model.state_dict()), {})
    engine = Engine(ck, SuggestConfig(min_confidence=0.0), name=f"random-{size}", interval=interval)
    text = (open(__file__, encoding="utf-8").read() * 20)[:20_000]
    tally = Tally()
    simulate(engine, text[:chars], tally)
    engine.prepare(text)
    rng = random.Random(0)
    for _ in range(jumps):
        start = time.perf_counter()
        next(engine.suggest(text, rng.randrange(len(text))))
        tally.jump_ms.append((time.perf_counter() - start) * 1e3)
    return tally.summary(engine.name)["latency_ms"]


def float_vs_int8(spec: str, files: list[str], chars: int) -> None:
    """`tuiwriter eval`'s simulated writer on each file's first `chars`, the engine stepping the
    model with float weights (`FusedRNN`) and with int8 (`Int8RNN`), one after the other, the
    order alternating per file: speed drifts on a shared machine, so only a pair run together
    says what the weights change."""
    ck = checkpoint.load(store.resolve(spec))
    kinds = {"float": lambda: FusedRNN(ck.build_model(), ck.vocab),
             "int8": lambda: Int8RNN(ck.build_model(), ck.vocab)}
    for k, path in enumerate(files):
        text = read_texts([path], ck.vocab.fold, chars)[0][1]
        for kind in (["int8", "float"] if k % 2 == 0 else ["float", "int8"]):
            engine = Engine(ck, name=spec, predictor=kinds[kind]())
            tally = Tally()
            simulate(engine, text, tally)
            r = tally.summary(spec)
            lat = r["latency_ms"]
            print(f"  {Path(path).name[:28]:28} {kind:5} {r['bpc']:.4f} bits/char, {100 * r['ksr']:.2f} % saved, "
                  + "   ".join(f"{m} {lat[m + '_p50']:.2f} / {lat[m + '_p99']:.2f}" for m in ("keystroke", "full", "jump"))
                  + " ms", flush=True)
