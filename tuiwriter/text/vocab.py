"""The character vocabulary: which characters a model knows, fixed when the model is created.

Index 0 is the unknown symbol; every vocabulary holds printable ASCII, tab and newline so a
model trained on novels can still be fine-tuned on notes full of code and brackets.
Typographic punctuation is folded one-for-one onto the ASCII people type in a terminal, so
one document character is always one model step.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

UNK = "\ufffd"
BASE_CHARS = "\t\n" + "".join(chr(c) for c in range(32, 127))

# One character in, one character out: keeps document offsets and model steps aligned.
TYPOGRAPHIC_FOLD = {
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2033": '"',
    "\u2014": "-", "\u2013": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\r": "\n",
}

UNICODE_SIZE = 0x110000
ENCODE_CHUNK = 1 << 20  # code points looked up at a time


def code_points(text: str) -> np.ndarray:
    """The characters of `text` as code points, at C speed: uint8 for ASCII text, else uint32."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


@dataclass(frozen=True)
class Vocab:
    """Maps characters to ids and back; `chars[i]` is the character with id i."""

    chars: str
    fold: dict[str, str] = field(default_factory=lambda: dict(TYPOGRAPHIC_FOLD))

    def __post_init__(self) -> None:
        if not self.chars or self.chars[0] != UNK:
            raise ValueError("vocabulary must start with the unknown symbol")
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("vocabulary has repeated characters")
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(self.chars)})
        object.__setattr__(self, "_fold_table", str.maketrans({k: v for k, v in self.fold.items() if len(k) == 1}))

    def __len__(self) -> int:
        return len(self.chars)

    def id_of(self, ch: str) -> int:
        """The id of one document character (folded first); 0 when unknown."""
        return self._index.get(self.fold.get(ch, ch), 0)  # type: ignore[attr-defined]

    def fold_text(self, text: str) -> str:
        """`text` with typographic characters folded as `id_of` folds them (one for one)."""
        return text.translate(self._fold_table)  # type: ignore[attr-defined]

    def encode(self, text: str) -> list[int]:
        index = self._index  # type: ignore[attr-defined]
        fold = self.fold
        return [index.get(fold.get(c, c), 0) for c in text]

    @property
    def ids_dtype(self) -> type[np.integer]:
        """The smallest array type that holds every id: a byte up to 256 symbols."""
        return np.uint8 if len(self.chars) <= 256 else np.int16

    def _lookup(self) -> np.ndarray:
        """The id of every code point, folded as `encode` folds (built once, 1-2 MB)."""
        table = getattr(self, "_table", None)
        if table is None:
            table = np.zeros(UNICODE_SIZE, dtype=self.ids_dtype)
            for ch in set(self.chars) | {k for k in self.fold if len(k) == 1}:
                table[ord(ch)] = self.id_of(ch)
            object.__setattr__(self, "_table", table)
        return table

    def encode_array(self, text: str, out: np.ndarray | None = None) -> np.ndarray:
        """`encode(text)` as a numpy array of `ids_dtype` (written into `out` when given), at C
        speed: a table lookup per code point instead of a Python int per character, a chunk at a
        time (numpy copies an index array to 8-byte ints)."""
        table = self._lookup()
        points = code_points(text)
        if out is None:
            out = np.empty(len(points), dtype=self.ids_dtype)
        elif len(out) != len(points):
            raise ValueError(f"out holds {len(out)} ids, the text has {len(points)} characters")
        for at in range(0, len(points), ENCODE_CHUNK):
            np.take(table, points[at:at + ENCODE_CHUNK], out=out[at:at + ENCODE_CHUNK])
        return out

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    @classmethod
    def build(cls, texts: list[str], min_count: int = 5, max_size: int = 256) -> "Vocab":
        """ASCII base plus the characters of `texts` seen at least `min_count` times."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(text)
        return cls.from_counts(counts, min_count, max_size)

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], min_count: int = 5, max_size: int = 256) -> "Vocab":
        """ASCII base plus the characters counted at least `min_count` times (the most frequent
        first when there are too many; equal counts keep the mapping's order)."""
        extra = [
            c
            for c, n in sorted(counts.items(), key=lambda item: -item[1])
            if n >= min_count and c not in BASE_CHARS and c not in TYPOGRAPHIC_FOLD and c != UNK
            and c.isprintable()
        ]
        chars = UNK + BASE_CHARS + "".join(sorted(extra[: max(0, max_size - 1 - len(BASE_CHARS))]))
        return cls(chars)

