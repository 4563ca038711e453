"""Document match: what followed the last time the document said what it says now.

A small LSTM forgets a name or an identifier it met a page ago; a person's document repeats
them. So the engine mixes a second opinion into every prediction: the earlier places in the
document whose text before them matches the text before the cursor (at least MIN_MATCH
characters; the CANDIDATES most recent), and the characters that came next there. The mixer
(`predict.mixer`) gets two count distributions, what followed the longest matches and what
followed every candidate, and learns how far to trust them per length of the longest match. Only
text before the cursor is searched, so a prediction depends on the text before the cursor and
nothing else, as the model's own does.

`opinion` and `trust` are the linear mixture used before the mixer (p = (1 - trust) * p_model +
trust * [c == copied], the trust per match length fitted by maximum likelihood:
`python -m tuiwriter.bench --fit-trust default train90.txt pg74_twain_tom_sawyer.txt --chars 30000`),
kept for that fit and the memory benchmarks.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left

import numpy as np
import torch

from tuiwriter.predict.doc_text import DocText
from tuiwriter.predict.experts import Inputs, Opinion, bucket, smoothing
from tuiwriter.text.prefix import common_prefix_len
from tuiwriter.text.vocab import Vocab

MIN_MATCH = 4  # shorter matches predict little better than the model
MAX_MATCH = 48  # longer matches are no more telling, and cost compares
CANDIDATES = 16  # the most recent earlier places with a MIN_MATCH match that are compared
REBUILD_CHARS = 8192  # new text longer than this is indexed at C speed, not character by character
DICT_MAX = 1 << 18  # positions typed into the dictionary before it is folded into the static index

MIXER_EDGES = (4, 6, 8, 12, 20)  # the mixer's context: the longest match's length bucket (0: none)
# (shortest match length, trust), longest first; fitted as the module docstring says.
TRUST = ((20, 0.69), (12, 0.51), (8, 0.42), (6, 0.18), (4, 0.11))


def trust(length: int) -> float:
    """How much of the probability goes to the copied character after a match of `length`."""
    for shortest, value in TRUST:
        if length >= shortest:
            return value
    return 0.0


def code_points(text: str) -> np.ndarray:
    """The code points of `text` as uint32, at C speed (a lone surrogate is kept as its value)."""
    try:
        return np.frombuffer(text.encode("latin-1"), dtype=np.uint8).astype(np.uint32)
    except UnicodeEncodeError:
        return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class StaticIndex:
    """Where each MIN_MATCH-character string occurs in a snapshot of the document, built at C speed
    (numpy) and kept in 4 bytes a character: the snapshot's positions sorted by (bucket of a hash of
    the MIN_MATCH characters before them, position), and each bucket's first row. A bucket may hold
    other strings with the same hash: callers check the characters."""

    BUCKET_BITS = 20

    def __init__(self, text: str) -> None:
        self.length = len(text)
        self.bits = self.BUCKET_BITS
        codes = code_points(text)
        n = len(codes)
        if n <= MIN_MATCH:
            self.positions = np.zeros(0, dtype=np.int64)
            self.starts = np.zeros((1 << self.bits) + 1, dtype=np.int64)
            return
        key = np.zeros(n - MIN_MATCH, dtype=np.uint32)
        for k, mult in enumerate((0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F)):
            key += codes[k: n - MIN_MATCH + k] * np.uint32(mult)
        buckets = (key >> np.uint32(32 - self.bits)).astype(np.uint64)
        del key, codes
        ordered = np.sort((buckets << np.uint64(32)) | np.arange(MIN_MATCH, n, dtype=np.uint64))
        del buckets
        self.positions = (ordered & np.uint64(0xFFFFFFFF)).astype(np.uint32)
        self.starts = np.searchsorted(ordered >> np.uint64(32), np.arange((1 << self.bits) + 1, dtype=np.uint64))

    def bucket(self, key: str) -> int:
        """The bucket of a MIN_MATCH-character string, as the build computes it."""
        try:
            codes = key.encode("latin-1")
        except UnicodeEncodeError:
            codes = [ord(c) for c in key]
        h = 0
        for c, mult in zip(codes, (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F)):
            h = (h + c * mult) & 0xFFFFFFFF
        return h >> (32 - self.bits)

    def before(self, key: str, limit: int) -> np.ndarray:
        """Positions p < limit in the bucket of `key`, ascending."""
        b = self.bucket(key)
        lo, hi = int(self.starts[b]), int(self.starts[b + 1])
        places = self.positions[lo:hi]
        return places[: int(np.searchsorted(places, limit))]


class DocumentIndex:
    """Where each MIN_MATCH-character string occurs in the text read so far (positions of the
    character that follows each occurrence), kept in step with a growing or shrinking document.

    A long stretch of new text (opening a document, a jump past what was read) goes into a
    `StaticIndex` built at C speed; typing goes into a small dictionary; an edit far back only
    lowers the static part's limit. Either way `predict` sees exactly the occurrences before the
    cursor, so its answer does not depend on how the index was built.
    """

    def __init__(self, text: DocText | None = None) -> None:
        self.text = text if text is not None else DocText()
        self.indexed = 0  # entries exist for every position MIN_MATCH <= p < indexed
        self._static: StaticIndex | None = None
        self._static_end = 0  # static entries below this are still the document's
        self._after: dict[str, array] = {}  # positions >= _static_end, 8 bytes each
        # the last `matches` answer, (end, extra, answer): the corpus memory's blend asks what the
        # document match asks, for the same prediction (one index serves both: `CorpusMemoryExpert`)
        self._answer: tuple[int, str, list[tuple[str, int]]] | None = None

    def truncate(self, n: int) -> None:
        """Forget positions n and later (the document changed at n). Call it before `text` is cut:
        the dictionary's keys are read from the text being forgotten."""
        self._answer = None
        if n >= self.indexed:
            return
        if n <= self._static_end:
            self._static_end = n
            self._after.clear()
        else:
            text = self.text
            for p in range(self.indexed - 1, max(MIN_MATCH, n) - 1, -1):
                self._after[text[p - MIN_MATCH:p]].pop()
        self.indexed = n

    def extend(self, text: DocText | str | None = None) -> None:
        """Index what the text gained since the last call (`text`: the same text, grown)."""
        self._answer = None
        if text is not None:
            self.text = DocText(text) if isinstance(text, str) else text
        end = len(self.text)
        start = max(MIN_MATCH, self.indexed)
        if end - start > REBUILD_CHARS or end - self._static_end > DICT_MAX:
            self._static = StaticIndex(self.text.compact())
            self._static_end = self.indexed = self._static.length
            self._after.clear()
            return
        chunk = self.text[start - MIN_MATCH:end]
        after = self._after
        for p in range(start, end):
            key = chunk[p - start:p - start + MIN_MATCH]
            places = after.get(key)
            if places is None:
                places = after[key] = array("q")
            places.append(p)
        self.indexed = max(self.indexed, end)

    def _recent(self, key: str, end: int) -> list[int]:
        """The CANDIDATES most recent positions p < end whose MIN_MATCH characters before are `key`."""
        found: list[int] = []
        places = self._after.get(key)
        if places:
            stop = bisect_left(places, end)
            found.extend(reversed(places[max(0, stop - CANDIDATES):stop]))
        if len(found) < CANDIDATES and self._static is not None:
            text = self.text
            older = self._static.before(key, min(end, self._static_end))
            i = len(older)
            while i > 0 and len(found) < CANDIDATES:
                batch = older[max(0, i - 2 * CANDIDATES):i].tolist()
                i -= len(batch)
                for p in reversed(batch):
                    if text[p - MIN_MATCH:p] == key:
                        found.append(p)
                        if len(found) == CANDIDATES:
                            break
        return found

    def matches(self, end: int, extra: str = "") -> list[tuple[str, int]]:
        """(character that followed, match length) at each of the CANDIDATES most recent earlier
        places in text[:end] whose text before matches text[:end] + extra for MIN_MATCH characters
        or more, the most recent first. `end` must not exceed the indexed text."""
        answer = self._answer
        if answer is not None and answer[0] == end and answer[1] == extra:
            return answer[2]
        found = self._matches(end, extra)
        self._answer = (end, extra, found)
        return found

    def _matches(self, end: int, extra: str) -> list[tuple[str, int]]:
        text = self.text
        context = text[max(0, end - MAX_MATCH):end] + extra
        context = context[-MAX_MATCH:]
        if len(context) < MIN_MATCH:
            return []
        reversed_context = context[::-1]
        found = []
        for p in self._recent(context[-MIN_MATCH:], end):
            window = text[max(0, p - MAX_MATCH):p + 1]  # the text before p and the character at p: one slice
            found.append((window[-1], common_prefix_len(reversed_context, window[-2::-1])))
        return found

    def predict(self, end: int, extra: str = "") -> tuple[str, int] | None:
        """(character, match length) for the text text[:end] + extra, from the earlier place in
        text[:end] with the longest match (the most recent of equals), or None when no place
        matches MIN_MATCH characters. `end` must not exceed the indexed text."""
        best: tuple[str, int] | None = None
        for ch, length in self.matches(end, extra):
            if best is None or length > best[1]:
                best = (ch, length)
        return best


def _smoothed_row(ids: list[int], row: np.ndarray) -> float:
    """The counts of `ids` smoothed (`experts.smoothing`) as an affine function of the model's
    probabilities p, row + scale * p: fills `row` (zeros, [vocab]) and returns scale. Counted in
    Python (a handful of ids) into a numpy row, so that both of the expert's inputs cost one
    tensor made without copying and three operations. Id 0 (an unknown character) is never
    counted."""
    counts: dict[int, float] = {}
    for i in ids:
        if i:
            counts[i] = counts.get(i, 0.0) + 1.0
    denominator, share = smoothing(sum(counts.values()), len(counts))
    for i, c in counts.items():
        row[i] = c / denominator
    return share


class DocumentMatchExpert:
    """The document match as the engine's expert. For the mixer: counts of what followed the
    longest matches, and of what followed every candidate place (the most recent CANDIDATES with
    a MIN_MATCH match: a PPM-like order-4 count of the document's recent text), with the longest
    match's length bucket as context. `opinion`: the copied character with its fitted trust."""

    width = 2
    contexts = len(MIXER_EDGES) + 1

    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.index = DocumentIndex()  # always indexes exactly the text read

    def for_another_document(self) -> "DocumentMatchExpert":
        return DocumentMatchExpert(self.vocab)

    def forget_after(self, n: int) -> None:
        self.index.truncate(n)

    def read(self, doc: DocText) -> None:
        self.index.extend(doc)

    def inputs(self, doc: DocText, cursor: int, extra: str, probs: torch.Tensor) -> Inputs | None:
        found = self.index.matches(cursor, extra)
        if not found:
            return None
        longest = max(length for _, length in found)
        ids = [self.vocab.id_of(ch) for ch, _ in found]
        # one array for both rows, shared with torch (torch.tensor of two Python lists of a
        # vocabulary each cost 50 us, as much as the rest of the inputs)
        rows = np.zeros((2, len(self.vocab)), dtype=np.float32)
        scale = np.empty((2, 1), dtype=np.float32)
        scale[0, 0] = _smoothed_row([i for i, (_, length) in zip(ids, found) if length == longest], rows[0])
        scale[1, 0] = _smoothed_row(ids, rows[1])
        logps = torch.addcmul(torch.from_numpy(rows), torch.from_numpy(scale), probs).clamp_min_(1e-30).log_()
        return Inputs(list(logps), bucket(longest, MIXER_EDGES))

    def opinion(self, doc: DocText, cursor: int, extra: str) -> Opinion | None:
        seen = self.index.predict(cursor, extra)
        if seen is None:
            return None
        ch, length = seen
        mass = torch.zeros(len(self.vocab))
        mass[self.vocab.id_of(ch)] = 1.0
        return Opinion(mass, 1.0, trust(length))
