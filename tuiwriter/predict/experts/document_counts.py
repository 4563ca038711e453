"""What followed each short ending of the text before the cursor in the document itself.

The corpus memory's PPM blend adds the document's own counts to the remembered text's
(`corpus_memory.CorpusMemoryExpert`, "The blend"); for endings of one to three characters they
come from here: the `recent` most recent places before a position where the same `width`
characters occur, and the ids of the characters that followed them. Endings this short occur
everywhere, so the places are found without reading the text again: the key is the ending's code
points packed into one integer (exact, no hash to check) and each place's following character id
is stored beside it. A long stretch of new text goes into sorted numpy arrays built at C speed;
typing goes into a small dictionary; an edit far back only lowers the static part's limit (as
`document_match.DocumentIndex` does), so the answer is exactly the places before the cursor,
however the index was built.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

import numpy as np

from tuiwriter.predict.doc_text import DocText
from tuiwriter.predict.experts.document_match import DICT_MAX, REBUILD_CHARS, code_points
from tuiwriter.text.vocab import Vocab

CODE_BITS = 21  # a code point fits in 21 bits, so three pack into one 64-bit key


class ShortIndex:
    """Where each `width`-character ending (width <= 3) occurs in the text read so far, with the
    id of the character after each place; `counts` gives those of the `recent` most recent."""

    def __init__(self, vocab: Vocab, width: int, recent: int) -> None:
        assert 1 <= width <= 3
        self.vocab = vocab
        self.width = width
        self.recent = recent
        self.text = DocText()
        self.indexed = 0  # entries exist for every position width <= p < indexed
        self._keys = np.zeros(0, dtype=np.uint64)  # static part: sorted by (key, position)
        self._places = np.zeros(0, dtype=np.int64)
        self._ids = np.zeros(0, dtype=np.int64)
        self._static_end = 0  # static entries below this are still the document's
        self._after: dict[str, tuple[array, array]] = {}  # positions >= _static_end: (positions, ids)

    def truncate(self, n: int) -> None:
        """Forget positions n and later (the document changed at n). Call it before `text` is cut."""
        if n >= self.indexed:
            return
        if n <= self._static_end:
            self._static_end = n
            self._after.clear()
        else:
            text, width = self.text, self.width
            for p in range(self.indexed - 1, max(width, n) - 1, -1):
                places, ids = self._after[text[p - width:p]]
                places.pop()
                ids.pop()
        self.indexed = n

    def extend(self, text: DocText | str | None = None) -> None:
        """Index what the text gained since the last call (`text`: the same text, grown)."""
        if text is not None:
            self.text = DocText(text) if isinstance(text, str) else text
        end, width = len(self.text), self.width
        start = max(width, self.indexed)
        if end - start > REBUILD_CHARS or end - self._static_end > DICT_MAX:
            self._build(self.text.compact())
            return
        chunk = self.text[start - width:end]
        id_of = self.vocab.id_of
        after = self._after
        for p in range(start, end):
            key = chunk[p - start:p - start + width]
            entry = after.get(key)
            if entry is None:
                entry = after[key] = (array("q"), array("q"))
            entry[0].append(p)
            entry[1].append(id_of(chunk[p - start + width]))
        self.indexed = max(self.indexed, end)

    def _build(self, text: str) -> None:
        """The static part for all of `text`, at C speed."""
        codes, width = code_points(text).astype(np.uint64), self.width
        n = len(codes)
        self._after.clear()
        self._static_end = self.indexed = n
        if n <= width:
            self._keys = np.zeros(0, dtype=np.uint64)
            self._places = self._ids = np.zeros(0, dtype=np.int64)
            return
        keys = np.zeros(n - width, dtype=np.uint64)
        for k in range(width):
            keys |= codes[k:n - width + k] << np.uint64(CODE_BITS * (width - 1 - k))
        order = np.argsort(keys, kind="stable")  # positions stay ascending within a key
        self._keys = keys[order]
        self._places = order.astype(np.int64) + width
        unique, inverse = np.unique(codes[width:], return_inverse=True)
        ids = np.array([self.vocab.id_of(chr(int(c))) for c in unique], dtype=np.int64)[inverse]
        self._ids = ids[order]

    def _key(self, ending: str) -> int:
        key = 0
        for ch in ending:
            key = (key << CODE_BITS) | ord(ch)
        return key

    def counts(self, ending: str, end: int) -> dict[int, int]:
        """{id: places} of the characters after the `recent` most recent places p < end whose
        `width` characters before are `ending` (unknown characters not counted)."""
        found: dict[int, int] = {}
        left = self.recent
        entry = self._after.get(ending)
        if entry is not None:
            places, ids = entry
            stop = bisect_left(places, end)
            for i in ids[max(0, stop - left):stop]:
                found[i] = found.get(i, 0) + 1
            left -= min(left, stop)
        if left and self._static_end:
            key = np.uint64(self._key(ending))
            a = int(np.searchsorted(self._keys, key, "left"))
            b = int(np.searchsorted(self._keys, key, "right"))
            if b > a:
                stop = a + int(np.searchsorted(self._places[a:b], min(end, self._static_end)))
                for i in self._ids[max(a, stop - left):stop].tolist():
                    found[i] = found.get(i, 0) + 1
        found.pop(0, None)
        return found
