"""Make a big notes folder (hundreds of MB) out of the shared books, for measuring training.

    python tests/make_big_notes.py /tmp/big-notes --mb 210

Copy k of the books goes to `copy-KKK/`, each file with a few of its words changed (so no two
copies are identical, as no two notes are), and the first file of the folder in corpus order
(`copy-000/00-...`) alone holds UNIQUE_PHRASE: a model trained on the folder can be asked to
complete it. Re-running with the same arguments writes the same folder.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

BOOKS = Path("/work/shared/corpora/train")
UNIQUE_PHRASE = "The lamplighter of Quillhaven keeps his ledgers in the blue tin under the stairs."
CHANGED_WORDS = 12  # per copy of a book
VARIANTS = ("river", "lantern", "copper", "meadow", "harbour", "thistle", "ember", "quarry")


def books(folder: Path) -> list[tuple[str, str]]:
    """(name, text) of every .txt book in `folder`, in name order."""
    return [(p.name, p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.txt"))]


def vary(text: str, rng: random.Random) -> str:
    """`text` with CHANGED_WORDS of its words (space-delimited) replaced by other words."""
    spaces = [i for i in (rng.randrange(len(text)) for _ in range(CHANGED_WORDS * 4)) if text[i] == " "]
    pieces, last = [], 0
    for at in sorted(spaces)[:CHANGED_WORDS]:
        if at < last:
            continue
        end = text.find(" ", at + 1)
        if end < 0:
            break
        pieces += [text[last:at + 1], rng.choice(VARIANTS)]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def make(out: Path, megabytes: float, source: Path = BOOKS, seed: int = 0) -> tuple[int, int]:
    """Write the folder; returns (files, bytes) written."""
    library = books(source)
    if not library:
        raise SystemExit(f"no .txt books in {source}")
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    written = files = copy = 0
    while written < target:
        folder = out / f"copy-{copy:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        for i, (name, text) in enumerate(library):
            body = vary(text, rng)
            if copy == 0 and i == 0:
                cut = body.find("\n\n", len(body) // 2)
                body = body[:cut] + "\n\n" + UNIQUE_PHRASE + body[cut:]
            data = body.encode("utf-8")
            (folder / f"{i:02d}-{name}").write_bytes(data)
            written += len(data)
            files += 1
            if written >= target:
                break
        copy += 1
    return files, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder to write (outside the repository, e.g. under /tmp)")
    parser.add_argument("--mb", type=float, default=210.0, help="megabytes of text to write (default 210)")
    parser.add_argument("--source", type=Path, default=BOOKS, help="folder of .txt books to copy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    files, written = make(args.out, args.mb, args.source, args.seed)
    print(f"wrote {files} files, {written / 1e6:.1f} MB to {args.out}; "
          f"the unique phrase is in {args.out / 'copy-000' / ('00-' + books(args.source)[0][0])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
