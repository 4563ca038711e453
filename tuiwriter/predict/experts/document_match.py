"""Document match: what followed the last time the document said what it says now.

A small LSTM forgets a name or an identifier it met a page ago; a person's document repeats
them. So the engine mixes a second opinion into every prediction: find the earlier place in the
document whose text before it matches the text before the cursor for the most characters (at
least MIN_MATCH), and predict the character that came next there. The longer the match, the more
it is trusted (`trust`): p = (1 - trust) * p_model + trust * [c == copied]. Only text before the
cursor is searched, so a prediction depends on the text before the cursor and nothing else, as
the model's own does; `tuiwriter eval` measures bpc and suggestions with the mixture, exactly as
the editor shows them.

The trust per match length was fitted once, by maximum likelihood, with the default model on text
it never trained on and that is not among the dev texts (the first 30,000 characters of Tiny
Shakespeare's first 90 % and of *Tom Sawyer*):
`python -m tuiwriter.bench --fit-trust default train90.txt pg74_twain_tom_sawyer.txt --chars 30000`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

import torch

from tuiwriter.predict.experts import Opinion
from tuiwriter.text.prefix import common_prefix_len
from tuiwriter.text.vocab import Vocab

MIN_MATCH = 4  # shorter matches predict little better than the model
MAX_MATCH = 48  # longer matches are no more telling, and cost compares
CANDIDATES = 16  # the most recent earlier places with a MIN_MATCH match that are compared

# (shortest match length, trust), longest first; fitted as the module docstring says.
TRUST = ((20, 0.69), (12, 0.51), (8, 0.42), (6, 0.18), (4, 0.11))


def trust(length: int) -> float:
    """How much of the probability goes to the copied character after a match of `length`."""
    for shortest, value in TRUST:
        if length >= shortest:
            return value
    return 0.0


class DocumentIndex:
    """Where each MIN_MATCH-character string occurs in `text`, kept in step with a growing or
    shrinking document (positions of the character that follows each occurrence, ascending)."""

    def __init__(self) -> None:
        self.text = ""
        self._after: dict[str, array] = {}  # 8 bytes a position, not a Python int's 36

    def truncate(self, n: int) -> None:
        """Forget text[n:] (the document changed there)."""
        for p in range(len(self.text) - 1, max(MIN_MATCH, n) - 1, -1):
            self._after[self.text[p - MIN_MATCH:p]].pop()
        self.text = self.text[:n]

    def extend(self, text: str) -> None:
        """`text` starts with the indexed text and may go on: index what is new."""
        old = len(self.text)
        self.text = text
        for p in range(max(MIN_MATCH, old), len(text)):
            places = self._after.get(text[p - MIN_MATCH:p])
            if places is None:
                places = self._after[text[p - MIN_MATCH:p]] = array("q")
            places.append(p)

    def predict(self, end: int, extra: str = "") -> tuple[str, int] | None:
        """(character, match length) for the text text[:end] + extra, from the earlier place in
        text[:end] with the longest match (the most recent of equals), or None when no place
        matches MIN_MATCH characters. `end` must not exceed the indexed text."""
        context = self.text[max(0, end - MAX_MATCH):end] + extra
        context = context[-MAX_MATCH:]
        if len(context) < MIN_MATCH:
            return None
        places = self._after.get(context[-MIN_MATCH:])
        if not places:
            return None
        stop = bisect_left(places, end)
        best_len, best_at = 0, -1
        for p in reversed(places[max(0, stop - CANDIDATES):stop]):
            length = common_prefix_len(context[::-1], self.text[max(0, p - MAX_MATCH):p][::-1])
            if length > best_len:
                best_len, best_at = length, p
                if length == len(context):
                    break
        if best_at < 0:
            return None
        return self.text[best_at], best_len


class DocumentMatchExpert:
    """The document match as the engine's expert: the copied character, trusted by match length."""

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.index = DocumentIndex()  # always indexes exactly the text read

    def forget_after(self, n: int) -> None:
        self.index.truncate(n)

    def read(self, doc: str) -> None:
        self.index.extend(doc)

    def opinion(self, doc: str, cursor: int, extra: str) -> Opinion | None:
        seen = self.index.predict(cursor, extra)
        if seen is None:
            return None
        ch, length = seen
        mass = torch.zeros(len(self.vocab))
        mass[self.vocab.id_of(ch)] = 1.0
        return Opinion(mass, 1.0, trust(length))
