"""The completion engine: the ghost text for the text before the cursor, fast and never stale.

It ties the pieces of `predict` together: the model's next-character distribution
(`predictor`), states for the document read incrementally (`state_cache`), experts whose
opinions are mixed in (`experts`: the document match and the corpus memory), and the suggestion
policy that turns distributions into words (`policy`).

Decoding memoises its steps on the states (`PState.next`): text typed or accepted along a shown
suggestion, and going back to an earlier sample, cost no model step.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Callable, Iterator

import torch

from tuiwriter.lm import checkpoint, names, store
from tuiwriter.lm.checkpoint import Checkpoint
from tuiwriter.predict.doc_text import TextSnapshot
from tuiwriter.predict.experts import Expert
from tuiwriter.predict.experts.corpus_memory import CorpusMemoryExpert
from tuiwriter.predict.experts.document_match import DocumentMatchExpert
from tuiwriter.predict.policy import Cancelled, SuggestConfig, decode
from tuiwriter.predict.predictor import Predictor, PState
from tuiwriter.predict.state_cache import BLOCK, WINDOW, StateCache
from tuiwriter.predict.word_predictor import for_checkpoint, mid_start
from tuiwriter.text.secrets import find_secrets

Text = str | TextSnapshot  # the document: a string, or the editor's snapshot of it
SECRET_CONTEXT = 512  # characters before the cursor the secret guard looks at with a suggestion


class Engine:
    """Suggestions for one model. Not thread-safe: callers make one call at a time
    (the app runs it in one exclusive thread worker)."""

    def __init__(self, ckpt: Checkpoint, config: SuggestConfig | None = None, name: str = "",
                 predictor: Predictor | None = None, interval: int = 16,
                 max_checkpoints: int = 8192, window: int | None = WINDOW, block: int = BLOCK) -> None:
        self.name = name
        self.config = config or SuggestConfig()
        self.vocab = ckpt.vocab
        self.predictor = predictor or for_checkpoint(ckpt)  # by the model's level (char or word)
        self._cache_options = dict(interval=interval, max_checkpoints=max_checkpoints, recent=16, window=window,
                                   block=block, mid_start=mid_start(self.predictor, ckpt.mid_state))
        self._cache = StateCache(self.predictor, **self._cache_options)  # type: ignore[arg-type]
        self._newline = self.vocab.id_of("\n")
        # (the SuggestConfig switch that turns it on, the expert), in the order they are mixed in
        self.experts: list[tuple[str, Expert]] = []
        if ckpt.memory is not None:
            self.experts.append(("corpus_memory", CorpusMemoryExpert.remembering(ckpt.memory, self.vocab)))
        self.experts.append(("document_match", DocumentMatchExpert(self.vocab)))
        self._cache.followers = [expert for _, expert in self.experts]

    def sibling(self) -> "Engine":
        """An engine for one more document (the language server keeps one per open file): the same
        predictor and memories, shared and read-only, with its own state cache and document match."""
        other = copy.copy(self)
        other.config = dataclasses.replace(self.config)
        other._cache = StateCache(self.predictor, **self._cache_options)  # type: ignore[arg-type]
        other.experts = [(switch, expert.for_another_document()) for switch, expert in self.experts]
        other._cache.followers = [expert for _, expert in other.experts]
        return other

    @classmethod
    def load(cls, spec: str, config: SuggestConfig | None = None, **options: object) -> "Engine":
        """spec as in `--model` (store.resolve); raises CheckpointError (one line). `options` go to
        the constructor (the window rule's sizes, for measurements)."""
        path = store.resolve(spec)
        ck = checkpoint.load(path)
        return cls(ck, config, name=_display_name(spec, path), **options)  # type: ignore[arg-type]

    # -- reading ---------------------------------------------------------------------------

    def _state_at(self, text: Text, cursor: int, cancelled: Cancelled | None) -> PState | None:
        if not 0 <= cursor <= len(text):
            raise ValueError(f"cursor {cursor} outside the text (length {len(text)})")
        self._cache.match(text)
        return self._cache.read(text, cursor, cancelled)

    def prepare(self, text: Text, cursor: int | None = None, cancelled: Cancelled | None = None) -> None:
        """Optional warm-up while the editor is idle: read and index the text before `cursor`
        (default: the end) and give the cursor's frontier every chain typing will need, so the
        next keys cost one step each. Safe to skip; cancelling keeps what was done."""
        cursor = len(text) if cursor is None else cursor
        if self._state_at(text, cursor, cancelled) is not None:
            self._cache.complete(cursor, cancelled)

    def next_char_log_probs(self, text: Text, cursor: int) -> torch.Tensor:
        """Log-probabilities [vocab] of the character after text[:cursor], from the state the
        window rule gives there, exactly as for suggestions (used by `tuiwriter eval`)."""
        state = self._state_at(text, cursor, None)
        assert state is not None
        return self._log_probs(state, cursor, "")

    def _log_probs(self, state: PState, cursor: int, extra: str) -> torch.Tensor:
        """The model's prediction after text[:cursor] + extra, mixed with each expert's opinion
        in turn: p = (1 - trust) * p + trust * opinion (log-probabilities unchanged when no
        expert has one)."""
        logp = self.predictor.log_probs(state)
        p: torch.Tensor | None = None
        for switch, expert in self.experts:
            if not getattr(self.config, switch):
                continue
            opinion = expert.opinion(self._cache.doc, cursor, extra)
            if opinion is not None:
                p = (logp.exp() if p is None else p) * (1.0 - opinion.trust) + opinion.mass * (
                    opinion.trust / opinion.total)
        return logp if p is None else p.clamp_min(1e-12).log()

    # -- suggesting ------------------------------------------------------------------------

    def suggest(self, text: Text, cursor: int, *, sample: int = 0,
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
        guard = self._secret_guard(cursor) if self.config.secret_guard else None
        return decode(state, self._advance, lambda s, decoded: self._log_probs(s, cursor, decoded),
                      self.vocab.chars, self._newline, self.config, sample, cancelled, guard)

    def _secret_guard(self, cursor: int) -> Callable[[str], bool]:
        """Whether the text before the cursor plus a suggestion holds a secret-looking span that
        reaches into the suggestion (`text.secrets`): a person typing the start of a key never
        sees the rest of it, whatever the model or its memory learnt."""
        context = self._cache.doc[max(0, cursor - SECRET_CONTEXT):cursor]

        def reaches(decoded: str) -> bool:
            return any(span.end > len(context) for span in find_secrets(context + decoded))

        return reaches

    def _advance(self, state: PState, cid: int) -> PState:
        """One decoding step, memoised on the state so it is never computed twice."""
        if state.next is None:
            state.next = {}
        nxt = state.next.get(cid)
        if nxt is None:
            nxt = state.next[cid] = self.predictor.step(state, cid)
        return nxt


def _display_name(spec: str, path: Path) -> str:
    """What the status bar shows: the model's name, or a checkpoint file's folder/stem."""
    if spec == names.DEFAULT or (names.NAME_RE.match(spec) and not Path(spec).exists()):
        return spec
    return path.parent.name if path.name == names.CHECKPOINT_FILE else path.stem
