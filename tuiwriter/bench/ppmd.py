"""tuiwriter against PPMd, side by side (`python -m tuiwriter.bench --ppmd MODEL TRAIN TEXT CHARS ...`).

PPMd (order 16, `pyppmd`, a test-only dependency) with the training text as context: the bits of
compress(train + text) minus those of compress(train), per character of the text, so it pays
only for the text, having read what the model trained on. tuiwriter: `tuiwriter eval`'s
simulated writer (`evaluate.simulate`: bits/char, keystrokes saved, latency) with the same
model file. Both see the same characters (the text folded as the vocabulary folds it).
"""

from __future__ import annotations

from tuiwriter.bench.evaluate import Tally, read_texts, simulate
from tuiwriter.predict.engine import Engine

ORDER = 16
MEM = 1 << 28  # 256 MB of model memory: no restart on a few MB of training text


def ppmd_bits(train: str, text: str, order: int = ORDER) -> float:
    """Bits PPMd spends on `text` after reading `train`."""
    import pyppmd  # bench/test-only dependency

    def size(data: str) -> int:
        return len(pyppmd.compress(data.encode("utf-8"), max_order=order, mem_size=MEM))

    return 8.0 * (size(train + text) - size(train))


def compare(rows: list[list[str]]) -> list[dict]:
    """One result per (MODEL, TRAIN, TEXT, CHARS) row, printed as it is measured."""
    results = []
    for model, train_path, text_path, chars in rows:
        engine = Engine.load(model)
        fold = engine.vocab.fold
        text = read_texts([text_path], fold, int(chars))[0][1]
        train = read_texts([train_path], fold, None)[0][1]
        ppmd = ppmd_bits(train, text) / len(text)
        tally = Tally()
        simulate(engine, text, tally)
        r = tally.summary(engine.name)
        r.update(text=text_path, train=train_path, ppmd_bpc=round(ppmd, 4))
        lat = r["latency_ms"]
        print(f"{text_path.rsplit('/', 1)[-1]:22} {len(text):7,} chars  PPMd-{ORDER} {ppmd:.3f} bpc  "
              f"tuiwriter {r['bpc']:.3f} bpc ({r['bpc'] - ppmd:+.3f}), ksr {100 * r['ksr']:.1f} %, "
              f"keystroke p50/p99 {lat['keystroke_p50']:.2f}/{lat['keystroke_p99']:.2f} ms  [{model}]", flush=True)
        results.append(r)
    return results
