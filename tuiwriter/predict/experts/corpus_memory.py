"""Corpus memory: what followed the same text in the files a model was fine-tuned on.

A few minutes of training teach an LSTM the style of a person's notes, not every name, command
and phrase in them; a Kneser-Ney n-gram remembers those exactly. So a fine-tuned model keeps the
text it was trained on (in its checkpoint, see `checkpoint`), and the engine mixes a third
opinion into every prediction: the longest ending of the text before the cursor (MIN_MATCH to
MAX_MATCH characters) that occurs in that text, and the characters that followed it there,
counted. The more often the match occurred (and the longer it is), the more the counts are
trusted (`trust`): p = (1 - trust) * p + trust * counts / total.

Search: a suffix array over the remembered text, sorted on the first MAX_MATCH + 1 characters of
each suffix (enough for any query), built with numpy when the model loads (prefix doubling,
about a second per million characters here); a query is a binary search on the match length,
each probe a binary search in the array.

The trust per match length and count was fitted by maximum likelihood with the default model
remembering the first 800,000 characters of Tiny Shakespeare's first 90 % and predicting the
next 30,000 (text the model never trained on, outside the dev texts):
`python -m tuiwriter.bench --fit-memory default train90.txt --chars 30000`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right

import numpy as np
import torch

from tuiwriter.predict.experts import Opinion
from tuiwriter.text.corpus import JOIN, Corpus
from tuiwriter.text.vocab import Vocab

MIN_MATCH = 3
MAX_MATCH = 32
MAX_COUNTED = 2048  # a match found more often is counted on an even sample of its places
MAX_CHARS = 4_000_000  # remembered at most (the last files win): about 4 MB in the checkpoint

# (shortest match length, (trust when the match occurred once, 2-4 times, 5 or more times)),
# longest first; fitted as the module docstring says (no 16+ match occurred 5+ times there: 12+'s value).
TRUST = ((16, (0.26, 0.44, 0.46)), (12, (0.24, 0.38, 0.46)), (8, (0.2, 0.22, 0.46)),
         (5, (0.18, 0.26, 0.42)), (3, (0.2, 0.34, 0.42)))


def remembered(data: Corpus) -> str:
    """The text a model trained on `data` keeps: all of it, or its last MAX_CHARS characters
    (secret-looking spans removed, as training reads it). Only the last files are read again."""
    first, total = len(data.files), 0
    while first > 0 and total < MAX_CHARS:
        first -= 1
        total += data.files[first].chars + (len(JOIN) if total else 0)
    return JOIN.join(text for _, text in data.iter_texts(first))[-MAX_CHARS:]


def trust(length: int, occurrences: int) -> float:
    """How much of the probability goes to the remembered counts after a match of `length`
    that occurred `occurrences` times."""
    for shortest, values in TRUST:
        if length >= shortest:
            return values[0 if occurrences < 2 else 1 if occurrences < 5 else 2]
    return 0.0


def suffix_array(ids: np.ndarray, depth: int) -> np.ndarray:
    """Start positions of the suffixes of `ids`, sorted on their first `depth` symbols (ties in
    any order), by prefix doubling."""
    n = len(ids)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    rank = np.unique(ids, return_inverse=True)[1].astype(np.int64) + 1  # 0 is "past the end"
    order = np.argsort(rank, kind="stable")
    k = 1
    while k < depth:
        second = np.zeros(n, dtype=np.int64)
        second[: n - k] = rank[k:]
        key = rank * (n + 2) + second
        order = np.argsort(key, kind="stable")
        ordered = key[order]
        rank = np.empty(n, dtype=np.int64)
        rank[order] = np.concatenate(([1], 1 + np.cumsum(ordered[1:] != ordered[:-1])))
        if rank[order[-1]] == n:  # every suffix already distinct
            break
        k *= 2
    return order


class CorpusMemory:
    """The text a model was fine-tuned on, searchable by the ending of a context."""

    def __init__(self, text: str, vocab_ids: list[int], vocab_size: int) -> None:
        """`text` folded as the vocabulary folds; `vocab_ids` its characters' ids."""
        self.text = text
        self.ids = np.asarray(vocab_ids, dtype=np.uint16 if vocab_size <= 1 << 16 else np.int32)
        self.vocab_size = vocab_size
        # Sorted on code points, the order in which `_range` compares strings (vocabulary ids
        # would put every unknown character first and break the binary search).
        points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
        self.order = array("q", suffix_array(points, MAX_MATCH + 1).tobytes())

    def _range(self, pattern: str) -> tuple[int, int]:
        """The suffixes (a range of `order`) that start with `pattern`."""
        text, order, m = self.text, self.order, len(pattern)

        def key(i: int) -> str:
            p = order[i]
            return text[p:p + m]

        indices = range(len(order))
        a = bisect_left(indices, pattern, key=key)
        b = bisect_right(indices, pattern, a, key=key)
        return a, b

    def predict(self, context: str) -> tuple[torch.Tensor, int] | None:
        """(next-character counts over the vocabulary, match length) for the longest ending of
        `context` found with a following character, or None below MIN_MATCH."""
        n = len(self.text)
        tail = context[-MAX_MATCH:]
        best: tuple[int, int, int] | None = None
        lo_len, hi_len = MIN_MATCH, len(tail)
        while lo_len <= hi_len:  # occurring is monotone in the length: binary search on it
            length = (lo_len + hi_len) // 2
            a, b = self._range(tail[-length:])
            if b > a and (b - a > 1 or self.order[a] + length < n):
                best = (length, a, b)
                lo_len = length + 1
            else:
                hi_len = length - 1
        if best is None:
            return None
        length, a, b = best
        step = max(1, (b - a) // MAX_COUNTED)
        after = np.frombuffer(self.order[a:b:step], dtype=np.int64) + length
        after = after[after < n]
        counts = np.bincount(self.ids[after], minlength=self.vocab_size)
        counts[0] = 0  # an unknown character is never suggested: nothing to learn from it
        if not counts.any():
            return None
        return torch.from_numpy(counts.astype(np.float32)), length


class CorpusMemoryExpert:
    """The corpus memory as the engine's expert: counts of what followed the context in the
    remembered text, trusted by match length and count."""

    def __init__(self, memory: CorpusMemory, vocab: Vocab) -> None:
        self.memory = memory
        self.vocab = vocab

    @classmethod
    def remembering(cls, text: str, vocab: Vocab) -> "CorpusMemoryExpert":
        """An expert over `text` (a checkpoint's remembered text), folded as the vocabulary folds."""
        folded = vocab.fold_text(text)
        return cls(CorpusMemory(folded, vocab.encode(folded), len(vocab)), vocab)

    def for_another_document(self) -> "CorpusMemoryExpert":
        return self  # the remembered text is the same for every document, and only read

    def forget_after(self, n: int) -> None:
        """The remembered text does not change with the document."""

    def read(self, doc: str) -> None:
        """The remembered text does not change with the document."""

    def opinion(self, doc: str, cursor: int, extra: str) -> Opinion | None:
        context = self.vocab.fold_text(doc[max(0, cursor - MAX_MATCH):cursor] + extra)
        remembered = self.memory.predict(context)
        if remembered is None:
            return None
        counts, length = remembered
        total = float(counts.sum())
        return Opinion(counts, total, trust(length, int(total)))
