"""How fast `find_secrets` reads a big file, and what it finds in one (to judge false positives).

    python tests/bench_secrets.py /work/shared/corpora/dev/notes_jbranchaud_til.md --mb 20 --list

The file is repeated up to --mb megabytes for the timing; --list prints every span found in the
file itself, with its line, so each can be judged by eye.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tuiwriter.text.secrets import find_secrets  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--mb", type=float, default=20.0, help="time find_secrets on this many MB (default 20)")
    parser.add_argument("--list", action="store_true", help="print every span found in the file")
    args = parser.parse_args(argv)
    text = args.file.read_text(encoding="utf-8")
    spans = find_secrets(text)
    kinds = Counter(s.kind for s in spans)
    print(f"{args.file}: {len(text):,} characters, {len(spans)} secret-looking spans: "
          + ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()))
    if args.list:
        for s in spans:
            line_start = text.rfind("\n", 0, s.start) + 1
            line_end = text.find("\n", s.end)
            line = text[line_start:line_end if line_end >= 0 else len(text)]
            print(f"  {s.kind:22s} {text[s.start:s.end][:60]!r:64s} in {line.strip()[:100]!r}")
    big = text * max(1, math.ceil(args.mb * 1e6 / max(1, len(text.encode("utf-8")))))
    times = []
    for _ in range(3):
        start = time.perf_counter()
        found = find_secrets(big)
        times.append(time.perf_counter() - start)
    print(f"find_secrets on {len(big.encode('utf-8')) / 1e6:.1f} MB ({len(big):,} characters): "
          f"best of 3 {min(times):.2f} s, {len(found)} spans")
    return 0


if __name__ == "__main__":
    sys.exit(main())
