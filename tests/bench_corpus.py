"""How long reading a notes folder takes, and how much memory, up to the ids training needs.

    python tests/make_big_notes.py /tmp/big-notes --mb 210
    python tests/bench_corpus.py /tmp/big-notes

Times `collect` (walk, read, check and scrub every file, count characters), then `split` +
`encode` (read every file again into ids), then `remembered` (the corpus memory's text), with
the vocabulary of the shipped default model, and prints this process's peak resident memory.
The peak of a whole run (`tuiwriter train BIG --from default --minutes 2`) is measured from
outside, e.g. with `/usr/bin/time -v`.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuiwriter.lm import store  # noqa: E402
from tuiwriter.predict.experts.corpus_memory import remembered  # noqa: E402
from tuiwriter.text import corpus  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args(argv)
    vocab = store.load("default").vocab
    print(f"start: peak {peak_mb():,.0f} MB (the default model loaded)")
    start = time.perf_counter()
    data = corpus.collect(args.paths)
    collected = time.perf_counter()
    print(f"collect: {collected - start:.1f} s, {data.bytes / 1e6:,.1f} MB in {len(data.files)} files "
          f"({data.bytes / 1e6 / (collected - start):.1f} MB/s); peak {peak_mb():,.0f} MB")
    print(f"  {data.summary()}")
    plan = corpus.split(data)
    train_ids, val_ids = corpus.encode(data, vocab, plan)
    encoded = time.perf_counter()
    print(f"split + encode: {encoded - collected:.1f} s, {len(train_ids):,} + {len(val_ids):,} ids "
          f"({train_ids.dtype}); peak {peak_mb():,.0f} MB")
    memory = remembered(data)
    print(f"remembered: {time.perf_counter() - encoded:.1f} s, {len(memory):,} characters; peak {peak_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
