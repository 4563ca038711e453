"""The character vocabulary: which characters a model knows, fixed when the model is created.

Index 0 is the unknown symbol; every vocabulary holds printable ASCII, tab and newline so a
model trained on novels can still be fine-tuned on notes full of code and brackets.
Typographic punctuation is folded one-for-one onto the ASCII people type in a terminal, so
one document character is always one model step.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

UNK = "\ufffd"
BASE_CHARS = "\t\n" + "".join(chr(c) for c in range(32, 127))

# One character in, one character out: keeps document offsets and model steps aligned.
TYPOGRAPHIC_FOLD = {
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2033": '"',
    "\u2014": "-", "\u2013": "-", "\u2012": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\r": "\n",
}

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

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    @classmethod
    def build(cls, texts: list[str], min_count: int = 5, max_size: int = 256) -> "Vocab":
        """ASCII base plus the corpus's characters seen at least `min_count` times."""
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(text)
        extra = [
            c
            for c, n in counts.most_common()
            if n >= min_count and c not in BASE_CHARS and c not in TYPOGRAPHIC_FOLD and c != UNK
            and c.isprintable()
        ]
        chars = UNK + BASE_CHARS + "".join(sorted(extra[: max(0, max_size - 1 - len(BASE_CHARS))]))
        return cls(chars)

