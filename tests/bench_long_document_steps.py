"""Model steps per key and per jump on a long document: the load-independent part of latency.

    python tests/bench_long_document_steps.py default /tmp/books10.txt --typed 400

Types the last --typed characters of FILE at its end as `tuiwriter eval`'s simulated writer does
(`python -m tuiwriter.bench --long-document` times the same run), counting the model steps each
suggestion took, whole and before its first character came (what keystroke latency waits for):
a key should cost one step plus decoding, a jump at most window + block - 1 plus decoding.
Works on any text (`--typed` up to its length), e.g. the e-mail thread.
"""

from __future__ import annotations

import argparse
import collections

from tuiwriter.bench import evaluate
from tuiwriter.predict.engine import Engine


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("file")
    parser.add_argument("--typed", type=int, default=400)
    args = parser.parse_args()
    engine = Engine.load(args.model)
    text = evaluate.read_texts([args.file], engine.vocab.fold, None)[0][1]
    predictor, counted = engine.predictor, [0]
    step = predictor.step

    def counting_step(state, cid):  # type: ignore[no-untyped-def]
        counted[0] += 1
        return step(state, cid)

    predictor.step = counting_step  # type: ignore[method-assign]
    steps: dict[str, list[int]] = collections.defaultdict(list)

    def counting_timed(engine, doc, cursor, stop_after_first=False):  # type: ignore[no-untyped-def]
        before = counted[0]
        first: list[int] = []
        stream = engine.suggest(doc, cursor)
        out = []
        for ch in stream:
            if not first:
                first.append(counted[0] - before)
                if stop_after_first:
                    stream.close()
                    break
            out.append(ch)
        kind = "jump" if stop_after_first else "suggestion"
        steps[kind].append(counted[0] - before)
        steps[kind + " before its first character"].append(first[0] if first else counted[0] - before)
        return "".join(out), 0.0, 0.0

    evaluate._timed = counting_timed  # type: ignore[assignment]
    start = len(text) - args.typed
    evaluate.simulate(engine, text, evaluate.Tally(), start=start, jump_every=10)
    for kind, counts in steps.items():
        counts.sort()
        print(f"{kind}: {len(counts)} asked, model steps p50 {counts[len(counts) // 2]}, "
              f"p90 {counts[int(len(counts) * 0.9)]}, p99 {counts[int(len(counts) * 0.99)]}, max {counts[-1]}")


if __name__ == "__main__":
    main()
