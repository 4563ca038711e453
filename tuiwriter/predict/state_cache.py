"""The engine's memory of the document: model states for positions of the text it has read.

The window rule. An LSTM's memory is short, so the state at position p is not the state after the
whole document but after its last stretch: the predictor's `step` applied to text[s(p):p], where
the *chain start* s(p) = block * floor(max(0, p - window) / block). So at least `window` and fewer
than `window + block` characters are read (the whole text when it is shorter). A chain at the
document's start begins from the model's start state; a chain inside the document begins from the
model's mean state over its own training text (`mid_start`, saved with the model:
`lm.model.mid_text_state`), which the model reads as "somewhere in a text" rather than "a text
begins here": measured on the dev texts, that cuts what the window costs by half or more.
A state therefore depends on the text before the cursor and its position alone, and reaching it
never reads the document from its beginning: a cursor jump anywhere in a 10 MB file reads at most
`window + block - 1` characters. Each state is the same sequence of the same `step` calls however
it is reached, so a cached state is bit for bit the fresh computation (tested).

Typing must stay one step a key, so at the cursor the cache keeps a *frontier*: every chain that
has started at or before the cursor and will still be needed (starts from s(cursor) to the cursor),
each with the position it has read to. A typed character steps the *active* chain (s(cursor)) alone:
the others wait, and `complete` (idle time: the editor calls it between keys, through
`Engine.prepare`) brings them up to the cursor, so that when the cursor crosses into the next block
the chain that becomes active has been running for `window` characters already. (Stepping every
chain on each key cost window / block + 1 = 7 steps a key; a step of the 2x512 model is 0.2 to
0.5 ms.) Frontiers of the last few cursor positions are kept (`recent`), so a backspace or undo
costs nothing; a frontier reached by a jump holds only the active chain until `complete`.

Checkpoints: the state at every `interval`-th position read (its own chain), so a jump back into
text already read re-reads at most `interval - 1` characters; the interval doubles when there would
be more than `max_checkpoints` (memory: a 2x512 LSTM state is 8 KB).

The text read is a `DocText` (no copies of a long document per keystroke). Experts that index the
document follow it (`followers`): they forget what changed before the text is cut, and read what it
gained after.
"""

from __future__ import annotations

from collections import OrderedDict

from tuiwriter.predict.doc_text import DocText, TextSnapshot
from tuiwriter.predict.experts import Expert
from tuiwriter.predict.policy import Cancelled
from tuiwriter.predict.predictor import Predictor, PState

WINDOW = 96  # chosen by measurement (bench --window-sweep): README, "Suggestions anywhere in a long document"
BLOCK = 16

Frontier = dict[int, tuple[int, PState]]  # chain start -> (the position it has read to, its state there)


class StateCache:
    """States for positions of `doc`, the longest text known to match the document."""

    def __init__(self, predictor: Predictor, interval: int = 16, max_checkpoints: int = 8192, recent: int = 16,
                 window: int | None = WINDOW, block: int = BLOCK, mid_start: PState | None = None) -> None:
        """`window=None` reads every state from the document start (the rule before windows,
        kept for measuring what the window costs). `mid_start`: where a chain that starts inside
        the document begins (the model's mean state over its training text; default: the
        document-start state)."""
        self.predictor = predictor
        self.interval = interval
        self.max_checkpoints = max_checkpoints
        self.recent_size = recent
        self.window = window
        self.block = block
        self.mid_start = mid_start
        self.doc = DocText()
        self.version = -1  # the editor snapshot the text was last matched with
        self.followers: list[Expert] = []
        self.checkpoints: dict[int, PState] = {0: predictor.start()}  # state(p), p % interval == 0
        self.recent: OrderedDict[int, Frontier] = OrderedDict({0: {0: (0, self.checkpoints[0])}})

    def fresh(self, start: int) -> PState:
        """The state a chain starting at `start` begins from: the document's start state at 0,
        the mid-document state elsewhere."""
        return self.mid_start if start and self.mid_start is not None else self.predictor.start()

    def chain_start(self, p: int) -> int:
        """s(p): where the chain whose state is the state at p starts."""
        if self.window is None:
            return 0
        return self.block * (max(0, p - self.window) // self.block)

    # -- keeping in step with the document ---------------------------------------------------

    def match(self, text: str | TextSnapshot) -> int | None:
        """Forget every state whose text differs from `text` (a string, or an editor snapshot that
        says where it changed); returns where the known text changed (None: it did not)."""
        if isinstance(text, str):
            n = self.doc.common_prefix_len(text)
        else:
            n = min(len(self.doc), text.unchanged_before(self.version))
            self.version = text.version
        if n >= len(self.doc):
            return None
        for follower in self.followers:
            follower.forget_after(n)
        self.doc.truncate(n)
        self.checkpoints = {p: s for p, s in self.checkpoints.items() if p <= n}
        for p in [p for p in self.recent if p > n]:
            del self.recent[p]
        return n

    def _learn(self, text: str | TextSnapshot, upto: int) -> None:
        """`doc` grows to text[:upto] (the text is known to match up to len(doc))."""
        known = len(self.doc)
        if upto > known:
            self.doc.append(text[known:upto])
            for follower in self.followers:
                follower.read(self.doc)

    # -- states ------------------------------------------------------------------------------

    def read(self, text: str | TextSnapshot, cursor: int, cancelled: Cancelled | None) -> PState | None:
        """The state at `cursor` (None if cancelled first); `text` must have been matched."""
        self._learn(text, cursor)
        pos, frontier = self._nearest_frontier(cursor)
        if pos is not None:  # typing, or a short move: advance the frontier
            return self._advance(frontier, pos, cursor, cancelled)
        # A jump: read the active chain alone, from its nearest state; `complete` adds the rest.
        start = self.chain_start(cursor)
        pos, state = self._nearest_on_chain(start, cursor)
        reached, state = self._read_chain(state, pos, cursor, cancelled)
        self._remember(reached, {start: (reached, state)})
        if reached < cursor:
            return None
        if self.checkpoints.get(cursor) is state:
            state = state.bare()  # decoding memoises on it: keep checkpoints lean
            self._remember(cursor, {start: (cursor, state)})
        return state

    def complete(self, cursor: int, cancelled: Cancelled | None) -> None:
        """Bring every chain typing on from `cursor` will need up to it (idle time: after a jump,
        and between keys, since a key steps the active chain alone)."""
        if cursor not in self.recent or cursor > len(self.doc):
            return
        frontier = self.recent[cursor]
        for start in range(self.chain_start(cursor), cursor + 1, self.block):
            pos, state = frontier.get(start) or (start, self.fresh(start))
            if pos < cursor:
                reached, state = self._read_chain(state, pos, cursor, cancelled)
                frontier[start] = (reached, state)
                if reached < cursor:
                    return

    def _nearest_frontier(self, cursor: int) -> tuple[int | None, Frontier]:
        """The latest remembered frontier at or before `cursor`, if advancing it is cheaper than
        reading the active chain on its own."""
        best: int | None = None
        for p in self.recent:
            if p <= cursor and (best is None or p > best):
                best = p
        if best is None or cursor - best > self.block:
            return None, {}
        return best, self.recent[best]

    def _nearest_on_chain(self, start: int, cursor: int) -> tuple[int, PState]:
        """The remembered state of chain `start` closest before (or at) `cursor`: a checkpoint or a
        recent frontier's, else the start state at `start`."""
        pos, state = start, self.fresh(start)
        first = -(-start // self.interval) * self.interval
        for p in range(cursor - cursor % self.interval, first - 1, -self.interval):
            if p in self.checkpoints and self.chain_start(p) == start:
                pos, state = p, self.checkpoints[p]
                break
        for frontier in self.recent.values():
            read, chain_state = frontier.get(start, (-1, state))
            if pos < read <= cursor:
                pos, state = read, chain_state
        return pos, state

    def _read_chain(self, state: PState, pos: int, end: int, cancelled: Cancelled | None) -> tuple[int, PState]:
        """A chain's state at `end` from its `state` at `pos`; (where it stopped, state) if cancelled."""
        step = self.predictor.step
        for cid in self.predictor.vocab.encode(self.doc[pos:end]):
            if cancelled is not None and cancelled():
                return pos, state
            nxt = state.next.get(cid) if state.next else None
            state = nxt if nxt is not None else step(state, cid)
            pos += 1
        return pos, state

    def _advance(self, frontier: Frontier, pos: int, cursor: int, cancelled: Cancelled | None) -> PState | None:
        """Move `frontier` (remembered at `pos`) to `cursor`: the active chain at each position on
        the way reads up to it (a chain that becomes active catches up first), chains start at
        block boundaries and finished ones are dropped; returns the state at `cursor`."""
        frontier = dict(frontier)
        for p in range(pos + 1, cursor + 1):
            if p % self.block == 0 and self.window is not None and p not in frontier:
                frontier[p] = (p, self.fresh(p))
            first = self.chain_start(p)
            for start in [s for s in frontier if s < first]:
                del frontier[start]
            read, state = frontier.get(first) or (first, self.fresh(first))
            if read < p:
                read, state = self._read_chain(state, read, p, cancelled)
                frontier[first] = (read, state)
                if read < p:
                    self._remember(pos, frontier)  # the next request goes on from here
                    return None
            pos = p
            if p % self.interval == 0 and p not in self.checkpoints:
                self.checkpoints[p] = state.bare()
        active = self.chain_start(cursor)
        read, state = frontier.get(active) or (active, self.fresh(active))
        if read < cursor:  # no step taken (cursor == pos): a frontier from a jump lacks this chain
            read, state = self._read_chain(state, read, cursor, cancelled)
            frontier[active] = (read, state)
            if read < cursor:
                self._remember(pos, frontier)
                return None
        self._thin()
        if self.checkpoints.get(cursor) is state:
            state = state.bare()  # decoding memoises on it: keep checkpoints lean
            frontier[active] = (cursor, state)
        self._remember(cursor, frontier)
        return state

    def _remember(self, pos: int, frontier: Frontier) -> None:
        self.recent[pos] = frontier
        self.recent.move_to_end(pos)
        while len(self.recent) > self.recent_size:
            self.recent.popitem(last=False)

    def _thin(self) -> None:
        while len(self.checkpoints) > self.max_checkpoints:
            self.interval *= 2
            self.checkpoints = {p: s for p, s in self.checkpoints.items() if p % self.interval == 0}
