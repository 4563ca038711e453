"""Corpus memory: what followed the same text in the files a model was fine-tuned on.

A few minutes of training teach an LSTM the style of a person's notes, not every name, command
and phrase in them; a Kneser-Ney n-gram remembers those exactly. So a fine-tuned model keeps the
text it was trained on (beside its checkpoint, see `checkpoint.Memory`), and the engine mixes a
third opinion into every prediction: the longest ending of the text before the cursor (MIN_MATCH
to MAX_MATCH characters) that occurs in that text, and the characters that followed it there,
counted, and the same for its shorter endings of ORDERS characters (`orders`). The mixer
(`predict.mixer`) gets the longest match's counts, a short ending's, and a PPM blend of all of
them with what followed the same endings in the document itself (`CorpusMemoryExpert`, "The
blend"), and learns how far to trust each per match length and count. (`opinion` and `trust`: the
fixed linear mixture used before, p = (1 - trust) * p + trust * counts / total, kept for its fit
and the memory benchmarks.)

Search: a suffix array over the UTF-8 bytes of the remembered text (folded as the vocabulary
folds), built once per training run with libdivsufsort (`pydivsufsort`; 5 bytes per byte of text)
and memory-mapped when the model loads, so loading costs nothing however much is remembered. A
query is a binary search on the match length (from the last query's match when the context only
grew by a character), each probe a binary search in the array comparing bytes (from the remembered
range of the pattern's first 2 and 3 bytes). The UTF-8 of whole characters only occurs in UTF-8
text at character boundaries, so matches are the same as over characters (as before the index
was stored); the character after a match is decoded from its bytes. What a context's search
and counts give is kept by the ending that decides it (`CorpusMemoryExpert._remembered`): the
deciding endings of novel text are short and recur, so a suggestion decoded through new words
reuses many of them (a third of the answers on a fine-tuned model's notes).

`MAX_BYTES` caps what is remembered (the last files win). `python -m tuiwriter.bench
--memory-candidates` compares this with a suffix array sampled at word starts (2.5 times smaller,
better on books, mixed on notes) and hashed context counts of bounded size (far worse: at a
fixed size the counts of long contexts collide), at 4 to 128 MB; bits/char did not improve past
16 MB of real text there, and the costs grow with the cap (file 5 bytes per byte, build time and
memory), so the cap is the 64 MB the product asks for.

The trust per match length and count was fitted by maximum likelihood with the default model
remembering the first 800,000 characters of Tiny Shakespeare's first 90 % and predicting the
next 30,000 (text the model never trained on, outside the dev texts):
`python -m tuiwriter.bench --fit-memory default train90.txt --chars 30000`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from tuiwriter.lm.checkpoint import HEAD_COUNT, Memory
from tuiwriter.predict.doc_text import DocText
from tuiwriter.predict.experts import Inputs, Opinion, bucket, smoothing
from tuiwriter.predict.experts.document_counts import ShortIndex
from tuiwriter.predict.experts.document_match import MIN_MATCH as DOCUMENT_MATCH
from tuiwriter.predict.experts.document_match import DocumentIndex
from tuiwriter.text.corpus import JOIN, Corpus, reread
from tuiwriter.text.vocab import Vocab

MIN_MATCH = 3
MAX_MATCH = 32
MAX_COUNTED = 2048  # a match found more often is counted on an even sample of its places
FEW_PLACES = 24  # a match found at most this often is counted in Python (`_followers`)
RECENT = 64  # answers kept for contexts asked again
ENDINGS_KEPT = 1024  # the remembered counts kept, by deciding ending (10 KB each at most), for all documents
_MISSING = object()
SHORT_KEPT = 8192  # counts kept for short endings (`orders`; 0.5 KB each)
MAX_BUCKETS = 100_000  # remembered ranges of a pattern's first bytes (a few MB at most)
MAX_BYTES = 64_000_000  # remembered at most (the last files win): 5 bytes per byte on disk
SHORT_ORDER = 4  # the short ending given to the mixer: at most this many characters
# The PPM blend (`CorpusMemoryExpert`, "The blend"), chosen on text outside the PPMd rows (the
# next 20,000 and 50,000 characters of their held-out text; models/README.md, "The document in
# the blend"):
PPM_ESCAPE = 2.0  # escape count per distinct character (method C doubled; 1.0 before the document counted)
DOCUMENT_WEIGHT = 3.0  # one place in the document counts as this many in the remembered text
DOCUMENT_SHORT = (2, 3)  # the document's short endings counted, each at its ...
SHORT_RECENT = 32  # ... most recent places before the cursor
DOCUMENT_LONG = (4, 5, 6, 8, 12, 16, 24)  # lengths the document match's candidates count at (and its longest)
ORDERS = (1, 2, 3, 4, 5, 6, 8, 12)  # shorter endings counted for the mixer (PPM-like)
MIXER_EDGES = (3, 5, 8, 12, 16, 24, 32)  # the mixer's context: the longest match's length bucket (0: none) ...
# (24 and 32: a match that long is right far more often, in notes: README, "A phrase written once")
MIXER_COUNT_EDGES = (2, 5)  # ... and how often it occurred
LINE_ONCE = 32  # a line this long or longer is remembered once, at its latest place

# (shortest match length, (trust when the match occurred once, 2-4 times, 5 or more times)),
# longest first; fitted as the module docstring says (no 16+ match occurred 5+ times there: 12+'s value).
TRUST = ((16, (0.26, 0.44, 0.46)), (12, (0.24, 0.38, 0.46)), (8, (0.2, 0.22, 0.46)),
         (5, (0.18, 0.26, 0.42)), (3, (0.2, 0.34, 0.42)))


def utf8(text: str) -> bytes:
    """The bytes the memory holds and searches for (a lone surrogate never matches real text)."""
    return text.encode("utf-8", "surrogatepass")


def folded_utf8(text: str, vocab: Vocab) -> bytes:
    """utf8(vocab.fold_text(text)), a few times faster on big texts: one C-speed bytes.replace
    per folded character instead of a dict look-up per character (the same result while no
    character folds onto one that folds again, as for every vocabulary tuiwriter makes)."""
    pairs = [(k, v) for k, v in vocab.fold.items() if len(k) == 1]
    if any(v in vocab.fold for _, v in pairs):
        return utf8(vocab.fold_text(text))
    data = utf8(text)
    for k, v in pairs:
        if k in text:
            data = data.replace(utf8(k), utf8(v))
    return data


@dataclass(frozen=True)
class Counted:
    """What followed one ending of the context in the remembered text: counts over the vocabulary
    (scaled back from a sample for a frequent ending), their sum and how many characters occur,
    kept together so that mixing a context again costs no reduction."""

    length: int  # of the ending, in characters
    counts: np.ndarray  # [vocab] float64
    n: float
    distinct: int

    @classmethod
    def of(cls, length: int, counts: np.ndarray, step: int) -> "Counted | None":
        """From raw counts (int64, over the vocabulary) of every `step`-th place; None when empty."""
        counts[0] = 0  # an unknown character is never suggested: nothing to learn from it
        distinct = int(np.count_nonzero(counts))
        if not distinct:
            return None
        scaled = counts * float(step)
        return cls(length, scaled, float(scaled.sum()), distinct)


@dataclass(frozen=True)
class Remembered:
    """What the remembered text gives the expert for one context, kept while the context recurs:
    its first two inputs as affine functions of the model's probabilities p (rows + scale * p),
    its mixer context, and every order's counts for the blend (counts [orders, vocab], shortest
    first, with n and distinct per order)."""

    rows: torch.Tensor
    scale: torch.Tensor
    context: int
    counts: np.ndarray
    n: tuple[float, ...]
    distinct: tuple[int, ...]
    rows_by_length: dict[int, int]  # the row of `counts` for each length


def remembered(data: Corpus, vocab: Vocab) -> Memory | None:
    """What a model trained on `data` with `vocab` keeps (see `remembered_from`): the text as
    training reads it (secret-looking spans removed), each line of LINE_ONCE characters or more
    only at its latest place, the last files first until MAX_BYTES. Copies and near-copies of
    notes (exports, backups, a template filled in a hundred times) then cost no room, so a big
    folder's memory reaches far further back than its last 64 MB. Files are read again from the
    last one back, one at a time, and only as many as fit."""
    seen: set[int] = set()
    kept: list[str] = []  # the files' remembered text, the last file first
    size = 0
    for f in reversed(data.files):
        text = reread(f)
        if text is None:
            continue
        lines: list[str] = []  # this file's, last first
        for line in reversed(text.split("\n")):  # the latest copy of a line is the one kept
            if len(line) >= LINE_ONCE:
                key = hash(line)
                if key in seen:
                    continue
                seen.add(key)
            lines.append(line)
        text = "\n".join(reversed(lines))
        kept.append(text)
        size += len(text) + len(JOIN)
        if size >= MAX_BYTES:  # a character is one byte or more: enough
            break
    return remembered_from(reversed(kept), vocab, MAX_BYTES)


def remembered_from(texts: Iterable[str], vocab: Vocab, cap: int = MAX_BYTES) -> Memory | None:
    """The texts joined as training joins them, folded by `vocab`, their last `cap` bytes (from
    a character boundary) and the suffix array over them; None for no text. Reads the texts one
    at a time and keeps one copy of the remembered bytes (plus the text being read)."""
    parts: deque[bytes] = deque()
    held = 0
    for i, text in enumerate(texts):
        for part in ((utf8(JOIN),) if i else ()) + (folded_utf8(text, vocab),):
            parts.append(part[-cap:])
            held += len(parts[-1])
            while held - len(parts[0]) >= cap:  # the oldest part is no longer needed
                held -= len(parts.popleft())
    if not held:
        return None
    buffer = bytearray(min(held, cap))  # the one copy: bytearray slices compare as bytes do
    joined = np.frombuffer(buffer, dtype=np.uint8)
    at = len(buffer) - held  # where the oldest part starts: before the buffer if it is cut
    while parts:
        part = parts.popleft()
        if at < 0:
            part, at = part[-at:] if -at < len(part) else b"", 0
        joined[at:at + len(part)] = np.frombuffer(part, dtype=np.uint8)
        at += len(part)
    first = 0
    while first < len(buffer) and joined[first] & 0xC0 == 0x80:  # cut inside a character
        first += 1
    return Memory(buffer, first, len(buffer) - first, suffix_array(joined[first:]), head_starts(joined[first:]))


def suffix_array(text: np.ndarray | bytes) -> np.ndarray:
    """Start offsets of the suffixes of `text` (bytes) in sorted order: libdivsufsort, int32
    below 2 GB."""
    from pydivsufsort import divsufsort  # a C library behind ctypes: loaded only to build

    if len(text) == 0:
        return np.zeros(0, dtype=np.int32)
    if isinstance(text, np.ndarray):
        text = np.ascontiguousarray(text, dtype=np.uint8)
        if not text.flags.writeable:  # pydivsufsort cannot take a read-only array
            text = text.tobytes()
    return np.asarray(divsufsort(text))


def head_starts(text: np.ndarray, chunk: int = 1 << 23) -> np.ndarray:
    """Where the suffixes starting with each 2 bytes (h = 256 * first + second) start in the
    suffix array of `text`, and its length last: the sorted order is, per first byte, the
    one-byte suffix at the very end if it is that byte, then the pairs in order; a head's
    range is starts[h]:starts[h + 1] (one more entry at most, which no search mistakes for it).
    Counted in chunks: no array as long as the text."""
    n = len(text)
    counts = np.zeros(HEAD_COUNT, dtype=np.int64)
    for at in range(0, max(0, n - 1), chunk):
        end = min(n - 1, at + chunk)
        pairs = text[at:end].astype(np.int32) << 8 | text[at + 1:end + 1]
        counts += np.bincount(pairs, minlength=HEAD_COUNT)
    starts = np.zeros(HEAD_COUNT + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    if n:  # the last byte's one-byte suffix comes before every pair it starts
        starts[int(text[-1]) << 8:] += 1
        starts[HEAD_COUNT] = n
    return starts


class CorpusMemory:
    """The remembered text, searchable by the ending of a context."""

    def __init__(self, memory: Memory, vocab: Vocab) -> None:
        """`memory` with its suffixes (`indexed` builds them for an old checkpoint)."""
        assert memory.suffixes is not None
        self.buffer, self.offset, self.size = memory.buffer, memory.offset, memory.size
        self.text = memory.text
        suffixes = memory.suffixes
        if not suffixes.dtype.isnative:  # stored little-endian; a big-endian machine copies
            suffixes = suffixes.astype(suffixes.dtype.newbyteorder("="))
        self.suffixes = suffixes
        # Python ints at C speed for the bisection
        self._order = memoryview(suffixes).cast("B").cast({4: "i", 8: "q"}[suffixes.itemsize])
        self.vocab_size = len(vocab)
        self._heads = None
        if memory.heads is not None:  # 512 KB, kept in range: a damaged table sends no search outside
            heads = np.clip(memory.heads, 0, len(suffixes)).astype(np.int64)
            self._heads = memoryview(heads).cast("B").cast("q")
        self._buckets: dict[bytes, tuple[int, int]] = {}  # suffix ranges of 3-byte heads (2 without `heads`)
        self._last = ("", MAX_MATCH)  # the last query's context and match length (`_bound`)
        self._probed: tuple[str, dict[int, tuple[int, int]]] = ("", {})  # the last search's ranges by length
        self._recent: OrderedDict[str, tuple[tuple[torch.Tensor, int] | None, int, Counted | None]] = OrderedDict()
        self._orders: OrderedDict[str, list[Counted]] = OrderedDict()
        self._short: OrderedDict[bytes, Counted | None] = OrderedDict()  # what followed short endings
        points = np.array([ord(c) for c in vocab.chars], dtype=np.int64)
        by_point = np.argsort(points)
        self._points, self._point_ids = points[by_point], by_point.astype(np.int64)
        self._ascii_ids = np.array([max(0, vocab.chars.find(chr(b))) for b in range(128)], dtype=np.int64)
        self._ascii_list = self._ascii_ids.tolist()

    @classmethod
    def indexed(cls, memory: Memory, vocab: Vocab) -> "CorpusMemory":
        """Builds the suffix array of a memory saved without one (a checkpoint from before it
        was stored)."""
        if memory.suffixes is None:
            memory = Memory(memory.buffer, memory.offset, memory.size, suffix_array(memory.text),
                            head_starts(memory.text))
        return cls(memory, vocab)

    @classmethod
    def of_text(cls, text: str, vocab: Vocab) -> "CorpusMemory":
        """A memory of `text` (tests and fits)."""
        return cls.indexed(Memory.of(utf8(vocab.fold_text(text))), vocab)

    def _range(self, pattern: bytes, lo: int = 0, hi: int | None = None) -> tuple[int, int]:
        """The suffixes (a range of the suffix array, within lo:hi) that start with `pattern`."""
        buffer, order, base, m = self.buffer, self._order, self.offset, len(pattern)

        def key(i: int) -> bytes:
            p = base + order[i]
            return buffer[p:p + m] if p >= base else b""  # a damaged entry sorts first, harmlessly

        indices = range(len(order))
        hi = len(order) if hi is None else hi
        a = bisect_left(indices, pattern, lo, hi, key=key)
        if a >= hi or key(a) != pattern:
            return a, a
        # Most long patterns occur a few times: gallop from `a` before bisecting the end.
        lo, step = a + 1, 1
        while (probe := a + step) < hi and key(probe) == pattern:
            lo, step = probe + 1, step * 2
        return a, bisect_right(indices, pattern, lo, min(probe, hi), key=key)

    def _find(self, pattern: bytes) -> tuple[int, int]:
        """`_range`, starting from the range of the pattern's first two bytes (stored with the
        index; found and remembered for a sampled one), then three (remembered): about half the
        probes of a search over the whole array at 64 MB."""
        if self._heads is not None:
            h = pattern[0] << 8 | pattern[1]
            bucket = (self._heads[h], self._heads[h + 1])
        else:
            bucket = self._bucket(pattern[:2], (0, len(self._order)))
        return self._range(pattern, *self._bucket(pattern[:3], bucket))

    def _bucket(self, head: bytes, within: tuple[int, int]) -> tuple[int, int]:
        known = self._buckets.get(head)
        if known is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._buckets.clear()
            known = self._buckets[head] = self._range(head, *within)
        return known

    def _next_ids(self, at: np.ndarray) -> np.ndarray:
        """Vocabulary ids of the characters starting at byte offsets `at` (0 where unknown or
        not a character), decoded without a Python loop."""
        text, last = self.text, self.size - 1
        lead = text[at].astype(np.int64)
        if (lead < 0x80).all():
            return self._ascii_ids[lead]
        more = [text[np.minimum(at + k, last)].astype(np.int64) & 0x3F for k in (1, 2, 3)]
        point = np.select(
            [lead < 0x80, lead < 0xC0, lead < 0xE0, lead < 0xF0],
            [lead, -1, (lead & 0x1F) << 6 | more[0], (lead & 0x0F) << 12 | more[0] << 6 | more[1]],
            (lead & 0x07) << 18 | more[0] << 12 | more[1] << 6 | more[2])
        where = np.minimum(np.searchsorted(self._points, point), len(self._points) - 1)
        return np.where(self._points[where] == point, self._point_ids[where], 0)

    def _lengths(self, context: str) -> list[int]:
        """The match lengths tried, shortest first (where an ending occurs, shorter ones do)."""
        return list(range(MIN_MATCH, min(MAX_MATCH, len(context)) + 1))

    def _bound(self, context: str) -> int:
        """The longest match possible after the last query's: a context that adds one character
        to it (or to its ending) matches at most one character longer than it did, unless that
        match was as long as the search allowed."""
        before, length = self._last
        head = context[:-1]
        if length < min(MAX_MATCH, len(before)) and (before.endswith(head) or head.endswith(before)):
            return length + 1
        return MAX_MATCH

    def match_length(self, context: str) -> int:
        """The longest match's length (MIN_MATCH - 1 where none is found, MAX_MATCH at most)."""
        return self._match(context)[1]

    def predict(self, context: str) -> tuple[torch.Tensor, int] | None:
        """(next-character counts over the vocabulary, match length in characters) for the
        longest ending of `context` found with a following character, or None below MIN_MATCH.
        `context` is folded as the remembered text was. The answer depends on its last
        MAX_MATCH + 1 characters at most; the last RECENT answers are kept (the engine asks
        again for the same context: the suggestion, then the typed character's probability)."""
        return self._match(context)[0]

    def _match(self, context: str) -> tuple[tuple[torch.Tensor, int] | None, int, Counted | None]:
        """`predict`'s answer, the match length found, and the longest match's `Counted` (as
        `orders` counts it: sampled places scaled back), remembered for the last RECENT contexts."""
        key = context[-MAX_MATCH - 1:]
        known = self._recent.get(key)
        if known is not None:
            self._recent.move_to_end(key)
        else:
            known = self._recent[key] = self._search(context)
            if len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        self._last = (context, known[1])
        return known

    def orders(self, context: str) -> list[Counted]:
        """What followed the longest match `predict` finds and each shorter ending of ORDERS
        characters, shortest first; [] without a match. Counts of a frequent ending are sampled
        evenly and scaled back to its number of places."""
        key = context[-MAX_MATCH - 1:]
        known = self._orders.get(key)
        if known is not None:
            self._orders.move_to_end(key)
            return known
        found, longest, counted = self._match(context)
        probed = self._probed[1] if self._probed[0] == key else {}  # the search just made: its ranges again
        answer: list[Counted] = []
        if found is not None:
            for k in ORDERS:
                if k >= longest:
                    break
                pattern = utf8(context[-k:])
                short = self._short.get(pattern, False)
                if short is False:  # short endings recur all the time: their counts are kept
                    a, b = probed[k] if k in probed else self._find(pattern) if len(pattern) >= 3 \
                        else self._range(pattern)
                    short = self._short[pattern] = self._counts(k, a, b, len(pattern))
                    if len(self._short) > SHORT_KEPT:
                        self._short.popitem(last=False)
                if short is not None:
                    answer.append(short)
            if counted is not None:
                answer.append(counted)
        self._orders[key] = answer
        if len(self._orders) > RECENT:
            self._orders.popitem(last=False)
        return answer

    def _followers(self, a: int, b: int, width: int) -> tuple[np.ndarray, int]:
        """(raw counts [vocab] of the characters after suffixes a:b, matches of `width` bytes,
        counted on every step-th of them so at most MAX_COUNTED places; step)."""
        n = self.size
        if b - a <= FEW_PLACES:  # most long endings: numpy's fixed cost per call would be most of the time
            counts = np.zeros(self.vocab_size, dtype=np.int64)
            buffer, base, order, ids = self.buffer, self.offset, self._order, self._ascii_list
            for i in range(a, b):
                p = order[i] + width
                if width <= p < n:
                    lead = buffer[base + p]
                    if lead >= 0x80:  # a character outside ASCII: decoded below
                        break
                    counts[ids[lead]] += 1
            else:
                return counts, 1
        step = max(1, (b - a) // MAX_COUNTED)
        after = self.suffixes[a:b:step].astype(np.int64) + width
        after = after[(after >= width) & (after < n)]  # a damaged index must not crash a query
        return np.bincount(self._next_ids(after), minlength=self.vocab_size)[:self.vocab_size], step

    def _counts(self, length: int, a: int, b: int, width: int) -> Counted | None:
        """What followed suffixes a:b (an ending of `length` characters, `width` bytes)."""
        return Counted.of(length, *self._followers(a, b, width))

    def _search(self, context: str) -> tuple[tuple[torch.Tensor, int] | None, int, Counted | None]:
        """(`predict`'s answer, the match length found even where no known character followed,
        the longest match's `Counted`)."""
        n = self.size
        lengths = self._lengths(context)
        bound = self._bound(context)
        while lengths and lengths[-1] > bound:
            lengths.pop()
        best: tuple[int, int, int, int] | None = None
        probed: dict[int, tuple[int, int]] = {}
        self._probed = (context[-MAX_MATCH - 1:], probed)
        lo, hi = 0, len(lengths) - 1
        # Typing along a remembered phrase, the bound is the answer: try it first.
        mid = hi if bound < MAX_MATCH else (lo + hi) // 2
        while lo <= hi:  # occurring is monotone in the length: binary search on it
            pattern = utf8(context[-lengths[mid]:])
            a, b = probed[lengths[mid]] = self._find(pattern)
            if b > a and (b - a > 1 or self._order[a] + len(pattern) < n):
                best = (lengths[mid], len(pattern), a, b)
                lo = mid + 1
            else:
                hi = mid - 1
            mid = (lo + hi) // 2
        if best is None:
            return None, MIN_MATCH - 1, None
        length, width, a, b = best
        counts, step = self._followers(a, b, width)
        counted = Counted.of(length, counts, step)  # (also drops the unknown symbol's count from `counts`)
        if counted is None:
            return None, length, None
        return (torch.from_numpy(counts.astype(np.float32)), length), length, counted


def trust(length: int, occurrences: int) -> float:
    """How much of the probability goes to the remembered counts after a match of `length`
    that occurred `occurrences` times."""
    for shortest, values in TRUST:
        if length >= shortest:
            return values[0 if occurrences < 2 else 1 if occurrences < 5 else 2]
    return 0.0


class CorpusMemoryExpert:
    """The corpus memory as the engine's expert. For the mixer: counts of what followed the
    longest match, of what followed its ending of at most 4 characters, and a PPM blend of every
    order counted, in the remembered text and in the document before the cursor ("The blend");
    context: the longest match's length and count buckets. `opinion`: the longest match's counts
    with their fitted trust.

    The blend: PPMd keeps one table of counts that the training text filled and the document goes
    on filling, and a name a note introduces is predicted from the document's own counts from its
    second use. So the blend adds, at each length, what followed the same ending in the document:
    its endings of DOCUMENT_SHORT characters at their SHORT_RECENT most recent places, its longer
    endings at the places the document match compares (the most recent with a 4-character match:
    a place counts at every length up to its match length), each place DOCUMENT_WEIGHT times (the
    document is recent and the person's own). Each length escapes to the next shorter (method C,
    PPM_ESCAPE per distinct character), the shortest to the model. Only text before the cursor is
    counted, as for every expert. Without a match in the remembered text, the blend of the
    document's counts alone is given and the other two inputs are the model's."""

    width = 3
    contexts = (len(MIXER_EDGES) + 1) * (len(MIXER_COUNT_EDGES) + 1)

    def __init__(self, memory: CorpusMemory, vocab: Vocab, places: DocumentIndex | None = None) -> None:
        """`places`: the document match's index, read and kept by its expert (one index, and one
        look-up per prediction, for both); None: this expert keeps its own."""
        self.memory = memory
        self.vocab = vocab
        # what the remembered text gives, by deciding ending (`_remembered`): the memory's, not a
        # document's, so every document of the memory shares it (`for_another_document`)
        self._kept: OrderedDict[str, Remembered | None] = OrderedDict()
        # the inputs by (cursor, decoded text after it): what was counted before the cursor does not
        # change until the document changes before it (`forget_after`)
        self._asked: OrderedDict[tuple[int, str], tuple[torch.Tensor, torch.Tensor, int] | None] = OrderedDict()
        self._short = [ShortIndex(vocab, width, SHORT_RECENT) for width in DOCUMENT_SHORT]
        self._long = places if places is not None else DocumentIndex()  # the document match's places
        self._owns_long = places is None

    @classmethod
    def remembering(cls, memory: Memory, vocab: Vocab, places: DocumentIndex | None = None) -> "CorpusMemoryExpert":
        """An expert over a checkpoint's memory (`places` as in the constructor)."""
        return cls(CorpusMemory.indexed(memory, vocab), vocab, places)

    def for_another_document(self, places: DocumentIndex | None = None) -> "CorpusMemoryExpert":
        """The same memory (shared, only read) with nothing of a document counted; the answers
        kept from the memory are shared too (ENDINGS_KEPT in all, however many documents)."""
        other = CorpusMemoryExpert(self.memory, self.vocab, places)
        other._kept = self._kept
        return other

    def forget_after(self, n: int) -> None:
        for index in self._indexes():
            index.truncate(n)
        for at in [at for at in self._asked if at[0] > n]:
            del self._asked[at]

    def read(self, doc: DocText) -> None:
        for index in self._indexes():
            index.extend(doc)

    def _indexes(self) -> list[ShortIndex | DocumentIndex]:
        return [*self._short, self._long] if self._owns_long else [*self._short]

    def inputs(self, doc: DocText, cursor: int, extra: str, probs: torch.Tensor) -> Inputs | None:
        at = (cursor, extra)
        if at in self._asked:
            known = self._asked[at]
            self._asked.move_to_end(at)
        else:
            known = self._asked[at] = self._affine_at(doc, cursor, extra)
            if len(self._asked) > RECENT:
                self._asked.popitem(last=False)
        if known is None:
            return None
        rows, scale, context = known
        logps = torch.addcmul(rows, scale, probs).clamp_min_(1e-30).log_()
        return Inputs(list(logps) if len(logps) == self.width else [None, None, logps[0]], context)

    def _affine_at(self, doc: DocText, cursor: int, extra: str) -> tuple[torch.Tensor, torch.Tensor, int] | None:
        """The inputs after doc[:cursor] + extra as affine functions of the model's probabilities
        p, rows + scale * p (asked again, as the engine does for a suggestion, then for the typed
        character's probability, costs three tensor operations): the first two only with a match
        in the remembered text (the model's own stand in otherwise), the blend whenever anything
        was counted; and the context. None: nothing counted."""
        known = self._remembered(self.vocab.fold_text(doc[max(0, cursor - MAX_MATCH):cursor] + extra))
        document = self._document(doc, cursor, extra)
        if known is None and not document[0] and not document[1]:
            return None
        mixed, share = self._blend(known, document)
        blend = torch.from_numpy(mixed.astype(np.float32))[None]
        if known is None:
            return blend, torch.tensor([[share]]), 0
        return torch.cat([known.rows, blend]), torch.cat([known.scale, torch.tensor([[share]])]), known.context

    def _remembered(self, context: str) -> Remembered | None:
        """`_counted(context)`, kept by the ending of the context that decides it: the ending one
        character longer than the longest match, which occurs nowhere in the remembered text with
        a character after it (or the longest match itself at MAX_MATCH). Any context with that
        ending has the same longest match and the same shorter endings, so the answer is exact;
        novel text, whose matches are short, finds many of its answers kept, each of which would
        cost a search of the remembered text and counts at every order (the biggest part of a
        prediction's time)."""
        kept = self._kept
        for m in range(MIN_MATCH, min(len(context), MAX_MATCH) + 1):
            known = kept.get(context[-m:], _MISSING)
            if known is not _MISSING:
                kept.move_to_end(context[-m:])
                return known  # type: ignore[return-value]
        known = self._counted(context)
        length = self.memory.match_length(context)
        if length == MAX_MATCH:
            ending = context[-MAX_MATCH:]
        elif length < len(context):
            ending = context[-length - 1:]
        else:
            return known  # the whole context matched: a longer one may match further
        kept[ending] = known
        if len(kept) > ENDINGS_KEPT:
            kept.popitem(last=False)
        return known

    def _counted(self, context: str) -> Remembered | None:
        """What the remembered text gives for a context (`Remembered`): the longest match's
        counts and the short ending's, each smoothed (`experts.smoothing`), and every order's
        counts for the blend. None without a match."""
        orders = self.memory.orders(context)
        if not orders:
            return None
        longest = orders[-1]
        short = next((o for o in reversed(orders) if o.length <= SHORT_ORDER), longest)
        rows = np.empty((2, len(longest.counts)))
        scale = np.empty((2, 1), dtype=np.float32)
        for i, o in enumerate((longest, short)):
            denominator, scale[i, 0] = smoothing(o.n, o.distinct)
            np.divide(o.counts, denominator, out=rows[i])
        context_id = bucket(longest.length, MIXER_EDGES) * (len(MIXER_COUNT_EDGES) + 1) + bucket(
            int(longest.n), MIXER_COUNT_EDGES)
        return Remembered(torch.from_numpy(rows.astype(np.float32)), torch.from_numpy(scale), context_id,
                          np.stack([o.counts for o in orders]),
                          tuple(o.n for o in orders), tuple(o.distinct for o in orders),
                          {o.length: j for j, o in enumerate(orders)})

    def _document(self, doc: DocText, cursor: int, extra: str) -> tuple[dict[int, dict[int, float]], list[tuple[int, int]]]:
        """What followed the endings of doc[:cursor] + extra before the cursor ("The blend"): the
        short endings' weighted counts {length: {id: count}}, and (id, match length) at each
        place the document match compares. Unknown characters are not counted."""
        short: dict[int, dict[int, float]] = {}
        tail = doc[max(0, cursor - DOCUMENT_SHORT[-1]):cursor] + extra
        for index in self._short:
            if len(tail) >= index.width:
                counts = index.counts(tail[-index.width:], cursor)
                if counts:
                    short[index.width] = {i: c * DOCUMENT_WEIGHT for i, c in counts.items()}
        id_of = self.vocab.id_of
        found = [(i, length) for ch, length in self._long.matches(cursor, extra) if (i := id_of(ch))]
        return short, found

    def _blend(self, remembered: Remembered | None,
               document: tuple[dict[int, dict[int, float]], list[tuple[int, int]]]) -> tuple[np.ndarray, float]:
        """The PPM blend as an affine function of the model's probabilities p, mixed + share * p:
        from the longest ending to the shortest, each length's counts (remembered plus the
        document's) take their share and escape the rest to the next shorter, the shortest to p.
        The remembered counts are weighted in one product, the document's few counts one by one."""
        short, found = document
        rows = remembered.rows_by_length if remembered is not None else {}
        lengths = set(rows).union(short)
        if found:
            found = sorted(found, key=lambda place: -place[1])
            lengths.update(k for k in (*DOCUMENT_LONG, found[0][1]) if k <= found[0][1])
        weights = np.zeros(len(rows))
        ours: dict[int, float] = {}  # the document's counts' share of the blend, by id
        counts: dict[int, float] = {}  # the document's places matching at least `length`
        share, next_place = 1.0, 0
        for length in sorted(lengths, reverse=True):
            if length >= DOCUMENT_MATCH:  # every compared place whose match is this long or longer
                while next_place < len(found) and found[next_place][1] >= length:
                    i = found[next_place][0]
                    counts[i] = counts.get(i, 0.0) + DOCUMENT_WEIGHT
                    next_place += 1
                here = counts
            else:
                here = short.get(length)
            j = rows.get(length)
            if j is None:
                n, distinct = 0.0, 0
            else:
                n, distinct = remembered.n[j], remembered.distinct[j]  # type: ignore[union-attr]
            if here:
                n += sum(here.values())
                if j is None:
                    distinct += len(here)
                else:
                    seen = remembered.counts[j]  # type: ignore[union-attr]
                    distinct += sum(1 for i in here if not seen[i])
            if not distinct:
                continue
            escape = PPM_ESCAPE * distinct
            weight = share / (n + escape)
            if j is not None:
                weights[j] = weight
            if here:
                for i, c in here.items():
                    ours[i] = ours.get(i, 0.0) + c * weight
            share *= escape / (n + escape)
        mixed = weights @ remembered.counts if remembered is not None else np.zeros(len(self.vocab))
        if ours:
            mixed[list(ours)] += list(ours.values())
        return mixed, share

    def opinion(self, doc: str, cursor: int, extra: str) -> Opinion | None:
        context = self.vocab.fold_text(doc[max(0, cursor - MAX_MATCH):cursor] + extra)
        remembered = self.memory.predict(context)
        if remembered is None:
            return None
        counts, length = remembered
        total = float(counts.sum())
        return Opinion(counts, total, trust(length, int(total)))
