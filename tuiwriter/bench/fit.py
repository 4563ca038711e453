"""How the engine's constants were chosen, re-runnable (`python -m tuiwriter.bench --tune/--fit-*`).

- `tune`: keystroke savings, accept rate and suggestion length of a trained model for several
  `min_confidence` thresholds (how the engine's default was chosen).
- `fit_trust`: the document match's trust per match length, fitted by maximum likelihood
  (`document_match.TRUST`).
- `fit_memory`: the same for the corpus memory (`corpus_memory.TRUST`).
"""

from __future__ import annotations

import math

from tuiwriter.bench.evaluate import GrowingText, Tally, read_texts, simulate
from tuiwriter.predict.engine import Engine
from tuiwriter.predict.experts import corpus_memory, document_match
from tuiwriter.predict.experts.corpus_memory import CorpusMemory, remembered_from
from tuiwriter.predict.experts.document_match import DocumentIndex
from tuiwriter.predict.policy import SuggestConfig


def tune(model: str, path: str, chars: int, thresholds: list[float], document_match: bool = True) -> None:
    engine = Engine.load(model, SuggestConfig(document_match=document_match))
    texts = read_texts([path], engine.vocab.fold, chars)
    print(f"min_confidence sweep, {model} on {path}, {chars} chars")
    for threshold in thresholds:
        run = engine.sibling()  # a fresh document each time: nothing learnt from the last threshold's run
        run.config.min_confidence = threshold
        tally = Tally()
        for _, text in texts:
            simulate(run, text, tally)
        r = tally.summary(run.name)
        print(f"  {threshold:5.2f}  ksr {100 * r['ksr']:6.2f} %  accept {100 * r['accept_rate']:5.1f} %  "
              f"mean {r['suggestion_chars_mean']:5.2f} chars  shown {tally.shown}  bpc {r['bpc']:.4f}", flush=True)


def window_sweep(model: str, paths: list[str], chars: int, rules: list[tuple[int | None, int]]) -> None:
    """What the state cache's window rule costs: bits/char and keystrokes saved of the simulated
    writer (everything `tuiwriter eval` measures, experts included) for each (window, block),
    beside the state read from the document start (window None): how WINDOW and BLOCK were chosen."""
    print(f"window rule sweep, {model}, first {chars} chars of each file")
    for path in paths:
        results = {}
        for window, block in [(None, 1), *rules]:
            engine = Engine.load(model, window=window, block=block)
            tally = Tally()
            for _, text in read_texts([path], engine.vocab.fold, chars):
                simulate(engine, text, tally)
            results[(window, block)] = r = tally.summary(engine.name)
            base = results[(None, 1)]
            label = "from the start" if window is None else f"window {window} block {block}"
            print(f"  {path.rsplit('/', 1)[-1][:28]:28} {label:22} bpc {r['bpc']:.4f} ({r['bpc'] - base['bpc']:+.4f})  "
                  f"ksr {100 * r['ksr']:.2f} % ({100 * (r['ksr'] - base['ksr']):+.2f})  "
                  f"jump p50/p99 {r['latency_ms']['jump_p50']:.1f}/{r['latency_ms']['jump_p99']:.1f} ms", flush=True)


def long_document(model: str, path: str, typed: int, jump_every: int) -> None:
    """The editor on a long document: open `path` (its text, folded), let the engine read it as the
    idle editor does, then type its last `typed` characters at the end as the simulated writer,
    probing a jump to a random earlier place every `jump_every` characters."""
    import time

    engine = Engine.load(model)
    text = read_texts([path], engine.vocab.fold, None)[0][1]
    start = len(text) - typed
    tally = Tally()
    began = time.perf_counter()
    engine.prepare(GrowingText.opened(text, start))
    opened = time.perf_counter() - began
    simulate(engine, text, tally, start=start, jump_every=jump_every)
    r = tally.summary(engine.name)
    lat = r["latency_ms"]
    print(f"{model} on {path}: {len(text):,} characters, the last {typed:,} typed; reading it at open: {opened:.2f} s;"
          f" one model step now: {step_ms(engine):.3f} ms (the latencies are a few steps a key, up to"
          f" window + block a jump: read them against it on a noisy machine)")
    print(f"  bpc {r['bpc']:.4f}  ksr {100 * r['ksr']:.2f} %  keystroke p50/p99 {lat['keystroke_p50']:.2f}/"
          f"{lat['keystroke_p99']:.2f} ms  full {lat['full_p50']:.2f}/{lat['full_p99']:.2f} ms  "
          f"jump {lat['jump_p50']:.2f}/{lat['jump_p99']:.2f} ms ({len(tally.jump_ms)} jumps)", flush=True)


def step_ms(engine: Engine, steps: int = 1000) -> float:
    """The mean cost of one model step on this machine, right now (the unit latency is made of)."""
    import time

    predictor = engine.predictor
    state = predictor.start()
    began = time.perf_counter()
    for i in range(steps):
        state = predictor.step(state, 1 + i % (len(engine.vocab.chars) - 1))
    return (time.perf_counter() - began) * 1e3 / steps


def best_trust(data: list[tuple[float, float]], steps: int) -> float:
    """The weight w in 0, 1/steps, ... that maximises the log-likelihood of the mixture
    (1 - w) * p_model + w * p_other over (p_model, p_other) pairs of the true characters."""
    return max((sum(math.log((1 - w) * p + w * q) for p, q in data), w)
               for w in [k / steps for k in range(steps)])[1]


def fit_trust(model: str, paths: list[str], chars: int) -> None:
    """Maximum-likelihood trust per match-length bucket of `document_match.TRUST`, pooled over
    the first `chars` characters of each file: how the table was fitted."""
    engine = Engine.load(model, SuggestConfig(document_match=False))
    edges = sorted(shortest for shortest, _ in document_match.TRUST)
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


def fit_memory(model: str, path: str, chars: int, memory_chars: int = 800_000,
               background: list[str] | None = None) -> None:
    """Maximum-likelihood trust per (match length, occurrences) bucket of `corpus_memory.TRUST`:
    the model remembers the first `memory_chars` characters of `path` and predicts the next
    `chars` (with the document match off): how the table was fitted. With `background`, those
    texts are remembered before them (a big memory of mostly other text)."""
    engine = Engine.load(model, SuggestConfig(document_match=False))
    text = read_texts([path], engine.vocab.fold, memory_chars + chars)[0][1]
    remembered, held = text[:memory_chars], text[memory_chars:]
    memory = CorpusMemory(remembered_from([*(background or []), remembered], engine.vocab), engine.vocab)
    edges = sorted(shortest for shortest, _ in corpus_memory.TRUST)
    rows: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for i in range(1, len(held)):
        hit = memory.predict(held[max(0, i - corpus_memory.MAX_MATCH):i])
        if hit is None:
            continue
        counts, length = hit
        total = float(counts.sum())
        true = engine.vocab.id_of(held[i])
        p = math.exp(float(engine.next_char_log_probs(held, i)[true]))
        column = 0 if total < 2 else 1 if total < 5 else 2
        rows.setdefault((max(e for e in edges if e <= length), column), []).append((p, float(counts[true]) / total))
    print(f"corpus memory trust fit, {model} remembering {len(remembered):,} chars of {path} "
          f"(after {memory.size - len(remembered):,} bytes of other text), predicting the next {len(held):,}")
    for edge in edges:
        cells = []
        for column, label in enumerate(("once", "2-4 times", "5+ times")):
            data = rows.get((edge, column), [])
            if len(data) < 30:
                cells.append(f"{label}: -")
                continue
            cells.append(f"{label}: {best_trust(data, 50):.2f} ({len(data)})")
        print(f"  match >= {edge:2}:  " + "   ".join(cells))
