"""How the engine's constants were chosen, re-runnable (`python -m tuiwriter.bench --tune/--fit-*`).

- `tune`: keystroke savings, accept rate and suggestion length of a trained model for several
  `min_confidence` thresholds (how the engine's default was chosen).
- `fit_trust`: the document match's trust per match length, fitted by maximum likelihood
  (`document_match.TRUST`).
- `fit_memory`: the same for the corpus memory (`corpus_memory.TRUST`).
"""

from __future__ import annotations

import math

from tuiwriter.bench.evaluate import Tally, read_texts, simulate
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
