"""The engine's memory of the document: model states for prefixes of the text it has read.

The cache remembers the text it has read (`doc`) and the model state at every `interval`-th
position of it (checkpoints) plus at a few recent positions. A new request compares the new text
with the remembered one (`match`), forgets states past the first difference, and steps from the
nearest remembered state at or before the cursor (`read`): typing a character costs one step, a
backspace, undo or cursor jump at most `interval - 1` steps once the document has been read.
Every state comes from the predictor's one `step` function applied from the document start, so
a cached state is bit-for-bit the state of a full pass (tested). Experts that index the document
follow it here (`followers`), so they always describe exactly `doc`.
"""

from __future__ import annotations

from collections import OrderedDict

from tuiwriter.predict.experts import Expert
from tuiwriter.predict.policy import Cancelled
from tuiwriter.predict.predictor import Predictor, PState
from tuiwriter.text.prefix import common_prefix_len


class StateCache:
    """States for prefixes of `doc`, the longest text known to match the document.

    Checkpoints at every multiple of `interval` up to len(doc) are always present (the interval
    doubles when there would be more than `max_checkpoints`, bounding memory on huge files);
    `recent` keeps the last few exact positions asked for (with their decoded successors).
    Cost: a 2x512 LSTM state is 8 KB, so 512 bytes per document character at the default
    interval of 16 (a jump re-reads at most 15 characters), 64 MB at most (the interval
    doubles past 131,072 characters).
    """

    def __init__(self, predictor: Predictor, interval: int, max_checkpoints: int, recent: int) -> None:
        self.predictor = predictor
        self.interval = interval
        self.max_checkpoints = max_checkpoints
        self.recent_size = recent
        self.doc = ""
        self.followers: list[Expert] = []  # read the document as the cache does
        self.checkpoints: dict[int, PState] = {0: predictor.start()}
        self.recent: OrderedDict[int, PState] = OrderedDict()

    def match(self, text: str) -> None:
        """Forget every state whose text differs from `text`."""
        n = common_prefix_len(self.doc, text)
        if n == len(self.doc):
            return
        self.doc = self.doc[:n]
        for follower in self.followers:
            follower.forget_after(n)
        self.checkpoints = {p: s for p, s in self.checkpoints.items() if p <= n}
        for p in [p for p in self.recent if p > n]:
            del self.recent[p]

    def nearest(self, cursor: int) -> tuple[int, PState]:
        """The remembered state closest before (or at) `cursor`."""
        pos = (min(cursor, len(self.doc)) // self.interval) * self.interval
        state = self.checkpoints[pos]
        for p, s in self.recent.items():  # at a tie, the recent one: it has decoded successors
            if pos <= p <= cursor:
                pos, state = p, s
        return pos, state

    def remember(self, pos: int, state: PState) -> None:
        self.recent[pos] = state
        self.recent.move_to_end(pos)
        while len(self.recent) > self.recent_size:
            self.recent.popitem(last=False)

    def read(self, text: str, cursor: int, cancelled: Cancelled | None) -> PState | None:
        """The state after text[:cursor] (None if cancelled first); `text` must have been matched."""
        pos, state = self.nearest(cursor)
        step = self.predictor.step
        known = len(self.doc)
        try:
            for cid in self.predictor.vocab.encode(text[pos:cursor]):
                if cancelled is not None and cancelled():
                    self.remember(pos, state)  # the next request goes on from here
                    return None
                nxt = state.next.get(cid) if state.next else None
                state = nxt if nxt is not None else step(state, cid)
                pos += 1
                if pos > known and pos % self.interval == 0:
                    self.checkpoints[pos] = state.bare()
        finally:
            if pos > known:
                self.doc = text[:pos]
                for follower in self.followers:
                    follower.read(self.doc)
                self._thin()
        if self.checkpoints.get(cursor) is state:
            state = state.bare()  # decoding memoises on it: keep checkpoints lean
        self.remember(cursor, state)
        return state

    def _thin(self) -> None:
        while len(self.checkpoints) > self.max_checkpoints:
            self.interval *= 2
            self.checkpoints = {p: s for p, s in self.checkpoints.items() if p % self.interval == 0}
