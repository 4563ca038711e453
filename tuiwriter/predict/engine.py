"""The completion engine: the ghost text for the text before the cursor, fast and never stale.

Incremental state: the engine remembers the text it has read (`_StateCache.doc`) and the model
state at every `interval`-th position of it (checkpoints) plus at a few recent positions. A new
request compares the new text with the remembered one, forgets states past the first difference,
and steps from the nearest remembered state at or before the cursor: typing a character costs one
step, a backspace, undo or cursor jump at most `interval - 1` steps once the document has been
read (`prepare`). Every state comes from the predictor's one `step` function applied from the
document start, so a cached state is bit-for-bit the state of a full pass (tested).

Decoding memoises its steps on the states (`PState.next`): text typed or accepted along a shown
suggestion, and going back to an earlier sample, cost no model step.

Suggestion policy (`SuggestConfig`): characters are chosen greedily (temperature 0) or sampled,
and a suggestion is made of words, each with the space (or line end) after it, so Tab leaves the
cursor where the next word starts. The first word (the rest of the word at the cursor, or the
next one) is shown while the probability of the suggestion so far (the product of the model's
probabilities of its characters) stays at or above `min_confidence`: a low value shows more,
less likely ghosts, and none at all when the first characters are unlikely. Each further word is
added only when the model gives the whole word `word_confidence` or more: a wrong extra word
costs a key (the writer takes the first word with accept-word, then types the space by hand),
a right one saves one, so extra words pay off above one chance in two. The suggestion ends at a
line end (which it includes: the editor draws it as a glyph) and never starts one, after the
space that follows a sentence end (".", "!", "?", plus closing quotes/brackets), and at
`max_chars` (a later word the cap cuts is dropped). No suggestion of a single character
(accepting it would cost the key that typing it costs).

Resamples (sample=k>0) are alternatives the person asked for, so they always show something:
at temperature 0 the k-th next-best first character (newline excluded) followed by the most
likely continuation; above 0 a draw seeded with k. Their confidence is measured after the first
character. Sample 0 above temperature 0 is a draw seeded with 0: deterministic too.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from tuiwriter.lm import checkpoint, names, store
from tuiwriter.lm.checkpoint import Checkpoint
from tuiwriter.predict.experts import corpus_memory, document_match
from tuiwriter.predict.experts.corpus_memory import CorpusMemory
from tuiwriter.predict.experts.document_match import DocumentIndex, common_prefix_len
from tuiwriter.predict.predictor import FusedRNN, Predictor, PState

# Chosen by measurement (`python -m tuiwriter.bench --tune default pg74_twain_tom_sawyer.txt
# --chars 20000`, a held-out book): 0.1 saves within 0.3 points of the most keys (28.7 % vs 28.9 %
# at 0.05) and a third of its ghosts are taken (29 % at 0.05).
DEFAULT_MIN_CONFIDENCE = 0.1
# Measured with the word rule below (held-out Tom Sawyer, 20,000 chars): 0.5 beats 0.3 and 0.7.
DEFAULT_WORD_CONFIDENCE = 0.5
MIN_CHARS = 2  # shorter first suggestions are not shown
SENTENCE_END = ".!?"
CLOSERS = "\"')]}"
SPACES = " \t"
BREAKS = SPACES + "\n"  # what ends a word; a line end only ever ends a suggestion

Cancelled = Callable[[], bool]


@dataclass
class SuggestConfig:
    max_chars: int = 40  # length cap (SPEC default)
    temperature: float = 0.0  # 0 = most likely characters; range 0.0..2.0
    min_confidence: float = DEFAULT_MIN_CONFIDENCE  # to show the first word (or part of it)
    word_confidence: float = DEFAULT_WORD_CONFIDENCE  # to add each further word
    document_match: bool = True  # mix in what followed the same text earlier in the document
    corpus_memory: bool = True  # mix in what followed it in the text the model was trained on


def consume(ghost: str, typed: str) -> str | None:
    """The editor's rule when `typed` is typed at the cursor while `ghost` is shown: the rest of
    the ghost if `typed` is a prefix of it (possibly "", then ask for a new one), else None."""
    return ghost[len(typed):] if ghost.startswith(typed) else None


def next_word(ghost: str) -> str:
    """SPEC 'accept word': the suggestion's leading spaces plus its next run of non-space
    characters."""
    i = 0
    while i < len(ghost) and ghost[i] in BREAKS:
        i += 1
    while i < len(ghost) and ghost[i] not in BREAKS:
        i += 1
    return ghost[:i]


class _StateCache:
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
        self.index = DocumentIndex()  # always indexes exactly `doc`
        self.checkpoints: dict[int, PState] = {0: predictor.start()}
        self.recent: OrderedDict[int, PState] = OrderedDict()

    def match(self, text: str) -> None:
        """Forget every state whose text differs from `text`."""
        n = common_prefix_len(self.doc, text)
        if n == len(self.doc):
            return
        self.doc = self.doc[:n]
        self.index.truncate(n)
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
                self.index.extend(self.doc)
                self._thin()
        if self.checkpoints.get(cursor) is state:
            state = state.bare()  # decoding memoises on it: keep checkpoints lean
        self.remember(cursor, state)
        return state

    def _thin(self) -> None:
        while len(self.checkpoints) > self.max_checkpoints:
            self.interval *= 2
            self.checkpoints = {p: s for p, s in self.checkpoints.items() if p % self.interval == 0}


class Engine:
    """Suggestions for one model. Not thread-safe: callers make one call at a time
    (the app runs it in one exclusive thread worker)."""

    def __init__(self, ckpt: Checkpoint, config: SuggestConfig | None = None, name: str = "",
                 predictor: Predictor | None = None, interval: int = 16,
                 max_checkpoints: int = 8192) -> None:
        self.name = name
        self.config = config or SuggestConfig()
        self.vocab = ckpt.vocab
        self.predictor = predictor or FusedRNN(ckpt.build_model(), ckpt.vocab)
        self._cache = _StateCache(self.predictor, interval, max_checkpoints, recent=16)
        self._newline = self.vocab.id_of("\n")
        self._fold = str.maketrans({k: v for k, v in self.vocab.fold.items() if len(k) == 1})
        self.memory: CorpusMemory | None = None
        if ckpt.memory:
            remembered = ckpt.memory.translate(self._fold)
            self.memory = CorpusMemory(remembered, self.vocab.encode(remembered), len(self.vocab))

    @classmethod
    def load(cls, spec: str, config: SuggestConfig | None = None) -> "Engine":
        """spec as in `--model` (store.resolve); raises CheckpointError (one line)."""
        path = store.resolve(spec)
        ck = checkpoint.load(path)
        return cls(ck, config, name=_display_name(spec, path))

    # -- reading ---------------------------------------------------------------------------

    def _state_at(self, text: str, cursor: int, cancelled: Cancelled | None) -> PState | None:
        if not 0 <= cursor <= len(text):
            raise ValueError(f"cursor {cursor} outside the text (length {len(text)})")
        self._cache.match(text)
        return self._cache.read(text, cursor, cancelled)

    def prepare(self, text: str, cancelled: Cancelled | None = None) -> None:
        """Optional warm-up for a freshly opened document: encode it and cache states so a
        later cursor jump is fast. Safe to skip; cancelling keeps what was read so far."""
        self._state_at(text, len(text), cancelled)

    def next_char_log_probs(self, text: str, cursor: int) -> torch.Tensor:
        """Log-probabilities [vocab] of the character after text[:cursor], with the context
        carried from the document start exactly as for suggestions (used by `tuiwriter eval`)."""
        state = self._state_at(text, cursor, None)
        assert state is not None
        return self._log_probs(state, cursor, "")

    def _log_probs(self, state: PState, cursor: int, extra: str) -> torch.Tensor:
        """The model's prediction after text[:cursor] + extra, mixed with what followed that
        text in the model's training text (`corpus_memory`), then with what followed it
        earlier in the document (`document_match`)."""
        logp = self.predictor.log_probs(state)
        p: torch.Tensor | None = None
        if self.memory is not None and self.config.corpus_memory:
            start = max(0, cursor - corpus_memory.MAX_MATCH)
            context = (self._cache.doc[start:cursor] + extra).translate(self._fold)
            remembered = self.memory.predict(context)
            if remembered is not None:
                counts, length = remembered
                total = float(counts.sum())
                weight = corpus_memory.trust(length, int(total))
                p = logp.exp() * (1.0 - weight) + counts * (weight / total)
        seen = self._cache.index.predict(cursor, extra) if self.config.document_match else None
        if seen is not None:
            ch, length = seen
            weight = document_match.trust(length)
            p = (logp.exp() if p is None else p) * (1.0 - weight)
            p[self.vocab.id_of(ch)] += weight
        return logp if p is None else p.clamp_min(1e-12).log()

    # -- suggesting ------------------------------------------------------------------------

    def suggest(self, text: str, cursor: int, *, sample: int = 0,
                cancelled: Cancelled | None = None) -> Iterator[str]:
        """Bring the state to text[:cursor] (incrementally), then yield the suggestion's
        characters as they are decoded. An empty iteration means no suggestion (model not
        confident). Deterministic for (text[:cursor], sample, temperature, max_chars).
        sample=0 is the first suggestion; sample=k>0 the k-th resample (so the app can cycle
        back to k-1 and get the same text again). Checks `cancelled()` between model steps
        and stops early when it turns true. A newline can only be the suggestion's last
        character; it also ends after the space that follows a sentence end."""
        state = self._state_at(text, cursor, cancelled)
        if state is None:
            return
        yield from self._decode(state, cursor, sample, cancelled)

    def _decode(self, state: PState, cursor: int, sample: int, cancelled: Cancelled | None) -> Iterator[str]:
        cfg = self.config
        chars = self.vocab.chars
        generator = torch.Generator().manual_seed(sample) if cfg.temperature > 0 else None
        first = True  # decoding the first word: streamed as it comes
        confidence = 1.0  # of the first word so far, later of the word being decoded
        content = False  # the word being decoded has a non-space character
        ended = False  # just after a sentence end (and any closing quotes)
        # A one-character ghost saves no key (Tab costs what typing it does): hold the first
        # character back until the suggestion is known to be longer. A later word is held until
        # it is complete and sure enough.
        min_chars = min(MIN_CHARS, cfg.max_chars) if sample == 0 else 1
        held: list[str] = []
        decoded = ""
        for j in range(cfg.max_chars):
            if j > 0:
                if cancelled is not None and cancelled():
                    return
                state = self._advance(state, cid)
            logp = self._log_probs(state, cursor, decoded)
            cid = self._choose(logp, sample, first=j == 0, generator=generator)
            ch = chars[cid]
            decoded += ch
            if ch == "\n" and j == 0:
                return  # the ghost is one row: it may end a line, never start a new one
            if not (sample > 0 and j == 0):
                confidence *= math.exp(float(logp[cid]))
                if confidence < (cfg.min_confidence if first else cfg.word_confidence):
                    break
            if ch == "\n" and not content:
                return  # spaces, then the line ends: no trailing spaces for Tab to leave behind
            held.append(ch)
            word_end = ch == "\n" or (ch in SPACES and content)  # the space after a word is its own
            content = content or ch not in BREAKS
            sentence_end = ended
            ended = ch in SENTENCE_END or (ended and ch in CLOSERS)
            if (first and content and j + 1 >= min_chars) or word_end:  # blanks wait for content
                for out in held:
                    if cancelled is not None and cancelled():
                        return
                    yield out
                held.clear()
            if word_end:
                if ch == "\n" or sentence_end:
                    return
                first, confidence, content = False, 1.0, False
        if first and not content and len(held) >= min_chars:
            yield from held  # only blanks before the model grew unsure: an indent worth a Tab

    def _advance(self, state: PState, cid: int) -> PState:
        """One decoding step, memoised on the state so it is never computed twice."""
        if state.next is None:
            state.next = {}
        nxt = state.next.get(cid)
        if nxt is None:
            nxt = state.next[cid] = self.predictor.step(state, cid)
        return nxt

    def _choose(self, logp: torch.Tensor, sample: int, first: bool,
                generator: torch.Generator | None) -> int:
        """The next character id: most likely, k-th alternative, or a seeded draw (never id 0,
        the unknown symbol; never a newline as a resample's first character)."""
        temperature = self.config.temperature
        if generator is None:
            if sample == 0 or not first:
                return int(torch.argmax(logp[1:])) + 1
            order = [i for i in torch.argsort(logp, descending=True).tolist() if i not in (0, self._newline)]
            return order[sample % len(order)]
        weights = torch.softmax(logp / temperature, dim=0)
        weights[0] = 0.0
        if sample > 0 and first and self._newline > 0:
            weights[self._newline] = 0.0
        return int(torch.multinomial(weights, 1, generator=generator))


def _display_name(spec: str, path: Path) -> str:
    """What the status bar shows: the model's name, or a checkpoint file's folder/stem."""
    if spec == names.DEFAULT or (names.NAME_RE.match(spec) and not Path(spec).exists()):
        return spec
    return path.parent.name if path.name == names.CHECKPOINT_FILE else path.stem
