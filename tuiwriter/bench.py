"""Speed figures for the completion engine: `python -m tuiwriter.bench`.

1. Per-character step cost at batch 1 for each size preset: the fused step (`FusedRNN`) against
   `nn.LSTM` called per character (`ModulePredictor`) and `nn.LSTMCell` on the same weights.
2. Engine latency per size preset (SPEC "Metrics": keystroke, full, jump): keystroke and full
   from the simulated writer of `tuiwriter eval`, on untrained weights with `min_confidence=0`:
   every suggestion runs to the 40-character cap and none is ever taken, so these are worst
   cases; jump from random cursor moves in a document read once. A trained model's figures
   come from `tuiwriter eval`.
Weights are random: the cost of a step does not depend on their values.
3. With `--tune MODEL FILE`: keystroke savings, accept rate and suggestion length of a trained
   model for several `min_confidence` thresholds (how the engine's default was chosen).
4. With `--fit-trust MODEL FILE...`: the document match's trust per match length, fitted by
   maximum likelihood (how `document_match.TRUST` was chosen).
5. With `--fit-memory MODEL FILE`: the same for the corpus memory (`corpus_memory.TRUST`).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from typing import Callable

import torch

from tuiwriter.lm.checkpoint import Checkpoint
from tuiwriter.predict.engine import Engine, SuggestConfig
from tuiwriter.evaluate import Tally, percentile, simulate
from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig
from tuiwriter.predict.predictor import FusedRNN, ModulePredictor
from tuiwriter.text.vocab import BASE_CHARS, UNK, Vocab


def timings(fn: Callable[[], object], n: int, warmup: int = 20) -> tuple[float, float]:
    """p50 and p99 in ms of `fn` over n calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1e3)
    return percentile(out, 50), percentile(out, 99)


def build(size: str, cell: str = "lstm") -> tuple[CharRNN, Vocab]:
    vocab = Vocab(UNK + BASE_CHARS)
    torch.manual_seed(0)
    return CharRNN(ModelConfig(vocab_size=len(vocab), cell=cell, **SIZES[size])).eval(), vocab


def step_costs(size: str, n: int, cell: str = "lstm") -> dict[str, tuple[float, float]]:
    model, vocab = build(size, cell)
    results = {}
    for name, predictor in (("fused", FusedRNN(model, vocab)), ("nn.LSTM" if cell == "lstm" else "nn.GRU",
                                                                 ModulePredictor(model, vocab))):
        box = [predictor.start()]

        def one(p=predictor, box=box) -> None:
            box[0] = p.step(box[0], 5)
            p.log_probs(box[0])

        results[name] = timings(one, n)
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


def tune(model: str, path: str, chars: int, thresholds: list[float], document_match: bool = True) -> None:
    from tuiwriter.evaluate import read_texts

    engine = Engine.load(model, SuggestConfig(document_match=document_match))
    texts = read_texts([path], engine.vocab.fold, chars)
    print(f"min_confidence sweep, {model} on {path}, {chars} chars")
    for threshold in thresholds:
        engine.config.min_confidence = threshold
        tally = Tally()
        for _, text in texts:
            simulate(engine, text, tally)
        r = tally.summary(engine.name)
        print(f"  {threshold:5.2f}  ksr {100 * r['ksr']:6.2f} %  accept {100 * r['accept_rate']:5.1f} %  "
              f"mean {r['suggestion_chars_mean']:5.2f} chars  shown {tally.shown}  bpc {r['bpc']:.4f}", flush=True)


def best_trust(data: list[tuple[float, float]], steps: int) -> float:
    """The weight w in 0, 1/steps, ... that maximises the log-likelihood of the mixture
    (1 - w) * p_model + w * p_other over (p_model, p_other) pairs of the true characters."""
    return max((sum(math.log((1 - w) * p + w * q) for p, q in data), w)
               for w in [k / steps for k in range(steps)])[1]


def fit_trust(model: str, paths: list[str], chars: int) -> None:
    """Maximum-likelihood trust per match-length bucket of `document_match.TRUST`, pooled over
    the first `chars` characters of each file: how the table was fitted."""
    from tuiwriter.predict.experts.document_match import TRUST, DocumentIndex
    from tuiwriter.evaluate import read_texts

    engine = Engine.load(model, SuggestConfig(document_match=False))
    edges = sorted(shortest for shortest, _ in TRUST)
    rows: dict[int, list[tuple[float, float]]] = {edge: [] for edge in edges}
    for path in paths:
        for _, text in read_texts([path], engine.vocab.fold, chars):
            index = DocumentIndex()
            index.extend(text)
            for i in range(1, len(text)):
                hit = index.predict(i)
                if hit is None:
                    continue
                p = math.exp(float(engine.next_char_log_probs(text, i)[engine.vocab.id_of(text[i])]))
                edge = max(e for e in edges if e <= hit[1])
                rows[edge].append((p, float(hit[0] == text[i])))
    print(f"document match trust fit, {model} on {', '.join(paths)}, {chars} chars each")
    for edge in edges:
        data = rows[edge]
        if not data:
            continue
        right = sum(r for _, r in data) / len(data)
        print(f"  match >= {edge:2}: {len(data):6} places, copy right {100 * right:5.1f} %, "
              f"trust {best_trust(data, 100):.2f}")


def fit_memory(model: str, path: str, chars: int, memory_chars: int = 800_000) -> None:
    """Maximum-likelihood trust per (match length, occurrences) bucket of `corpus_memory.TRUST`:
    the model remembers the first `memory_chars` characters of `path` and predicts the next
    `chars` (with the document match off): how the table was fitted."""
    from tuiwriter.predict.experts.corpus_memory import MAX_MATCH, TRUST, CorpusMemory
    from tuiwriter.evaluate import read_texts

    engine = Engine.load(model, SuggestConfig(document_match=False))
    text = read_texts([path], engine.vocab.fold, memory_chars + chars)[0][1]
    remembered, held = text[:memory_chars], text[memory_chars:]
    memory = CorpusMemory(remembered, engine.vocab.encode(remembered), len(engine.vocab))
    edges = sorted(shortest for shortest, _ in TRUST)
    rows: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for i in range(1, len(held)):
        hit = memory.predict(held[max(0, i - MAX_MATCH):i])
        if hit is None:
            continue
        counts, length = hit
        total = float(counts.sum())
        true = engine.vocab.id_of(held[i])
        p = math.exp(float(engine.next_char_log_probs(held, i)[true]))
        column = 0 if total < 2 else 1 if total < 5 else 2
        rows.setdefault((max(e for e in edges if e <= length), column), []).append((p, float(counts[true]) / total))
    print(f"corpus memory trust fit, {model} remembering {len(remembered):,} chars of {path}, "
          f"predicting the next {len(held):,}")
    for edge in edges:
        cells = []
        for column, label in enumerate(("once", "2-4 times", "5+ times")):
            data = rows.get((edge, column), [])
            if len(data) < 30:
                cells.append(f"{label}: -")
                continue
            cells.append(f"{label}: {best_trust(data, 50):.2f} ({len(data)})")
        print(f"  match >= {edge:2}:  " + "   ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuiwriter.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=[s for s in SIZES if s != "tiny"], choices=sorted(SIZES))
    parser.add_argument("--steps", type=int, default=300, help="timed steps per predictor")
    parser.add_argument("--chars", type=int, default=800, help="characters the simulated writer types")
    parser.add_argument("--jumps", type=int, default=300, help="cursor jumps timed")
    parser.add_argument("--interval", type=int, default=16, help="engine checkpoint interval")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gru", action="store_true", help="also time the GRU step")
    parser.add_argument("--no-engine", action="store_true", help="only the step costs")
    parser.add_argument("--tune", nargs=2, metavar=("MODEL", "FILE"), help="sweep min_confidence instead")
    parser.add_argument("--fit-trust", nargs="+", metavar=("MODEL", "FILE"),
                        help="fit document_match.TRUST on the first --chars characters of each FILE instead")
    parser.add_argument("--fit-memory", nargs=2, metavar=("MODEL", "FILE"),
                        help="fit corpus_memory.TRUST: remember FILE's first 800,000 characters, predict --chars more")
    parser.add_argument("--no-document-match", action="store_true",
                        help="with --tune: the LSTM alone, without the document match")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.fit_trust:
        if len(args.fit_trust) < 2:
            parser.error("--fit-trust needs a model and at least one file")
        fit_trust(args.fit_trust[0], args.fit_trust[1:], args.chars)
        return 0
    if args.fit_memory:
        fit_memory(args.fit_memory[0], args.fit_memory[1], args.chars)
        return 0
    if args.tune:
        tune(args.tune[0], args.tune[1], args.chars, args.thresholds, not args.no_document_match)
        return 0
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    print("per-character step + next-char distribution, ms (p50 / p99)")
    for size in args.sizes:
        for cell in ("lstm", "gru") if args.gru else ("lstm",):
            row = step_costs(size, args.steps, cell)
            print(f"  {size:6} {cell:4} " + "   ".join(f"{k} {a:.3f} / {b:.3f}" for k, (a, b) in row.items()))
    if not args.no_engine:
        print(f"engine latency, worst case (every suggestion 40 chars), checkpoint interval {args.interval}, "
              "ms (p50 / p99)")
        for size in args.sizes:
            lat = engine_latency(size, args.chars, args.jumps, args.interval)
            print(f"  {size:6} " + "   ".join(f"{k} {lat[k + '_p50']:.2f} / {lat[k + '_p99']:.2f}"
                                             for k in ("keystroke", "full", "jump")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
