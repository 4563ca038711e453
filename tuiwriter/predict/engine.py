"""The completion engine: the ghost text for the text before the cursor, fast and never stale.

It ties the pieces of `predict` together: the model's next-character distribution
(`predictor`), states for the document read incrementally (`state_cache`), experts whose
opinions are mixed in (`experts`: the corpus memory and the document match) by an online mixer
that learns as the person writes (`mixer`), and the suggestion policy that turns distributions
into words (`policy`).

Learning (the rule that keeps "cached state == fresh computation" true). A prediction is a pure
function of the text before the cursor and the engine's `Adaptation` (mixer weights, the output
layer's correction, and `learnt`, the position the document has been learnt from up to). The
adaptation changes only at the start of a request (`suggest`, `next_char_log_probs`), and only by
learning from text the person wrote at the end of what was learnt: when the text before `learnt`
is unchanged and the cursor is past it by at most LEARN_SPAN characters (typing, accepting a
suggestion, a short paste), each character from `learnt` up to the one before the cursor is learnt,
in order, from the prediction the adaptation learnt up to that character makes there. The
character just before the cursor (the key just typed) is not: a request at cursor c uses what was
learnt from text[:c - 1], so that learning that character, the slow part (a mixture recomputed
and the output layer's correction updated), happens in the idle moment after the suggestion
(`prepare`) rather than between the key and its ghost. `prepare` keeps what it learns apart
(`_ahead`) and a later request takes it only where it would have learnt the same itself, so
whether an idle moment came changes when the work is done, never what is learnt. Otherwise
nothing is learnt: a cursor before `learnt` (a jump back, a peek) leaves it, an edit before it
moves it back to the edit, a cursor further on (opening a document, a long paste, a jump ahead)
moves it to the cursor. A suggestion is decoded with the adaptation its request started with. So
an engine and a fresh one given the same adaptation (`adaptation`, `adopt`) and text agree
exactly, and `tuiwriter eval`'s simulated writer trains the mixer exactly as the editor does.

Decoding memoises its steps on the states (`PState.next`): text typed or accepted along a shown
suggestion, and going back to an earlier sample, cost no model step.

Refining. `suggest` decodes greedily so that the first character is on screen a step or two after
the key. `refine`, asked in the idle moment after the suggestion is shown, decodes its first word
with a beam and offers that suggestion where its first word is worth more keys in expectation;
the editor swaps the ghost in unless the person has begun typing along the first one. It uses the
adaptation the suggestion was decoded with (both learn up to the character before the cursor), so
it is a function of the text before the cursor too.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path
from typing import Callable, Iterator

import torch

from tuiwriter.lm import checkpoint, names, store
from tuiwriter.lm.checkpoint import Checkpoint
from tuiwriter.predict.doc_text import TextSnapshot
from tuiwriter.predict.experts import Expert, mixer_rows
from tuiwriter.predict.experts.corpus_memory import CorpusMemoryExpert
from tuiwriter.predict.experts.document_match import DocumentMatchExpert
from tuiwriter.predict.mixer import (
    Adaptation,
    Selection,
    adapted_log_probs,
    char_class,
    fast_log_probs,
    learn,
    learn_fast,
    learn_head,
    learn_pair,
    pair_log_probs,
    predict,
    side_keys,
)
from tuiwriter.predict.mixer_init import CONTEXTS, match_context, starting_adaptation
from tuiwriter.predict.policy import Cancelled, SuggestConfig, decode, next_word
from tuiwriter.predict.predictor import Predictor, PState
from tuiwriter.predict.state_cache import BLOCK, WINDOW, StateCache
from tuiwriter.predict.word_predictor import for_checkpoint, mid_start
from tuiwriter.text.secrets import find_secrets, shown_early

Text = str | TextSnapshot  # the document: a string, or the editor's snapshot of it
SECRET_CONTEXT = 512  # characters before the cursor the secret guard looks at with a suggestion
LEARN_SPAN = 64  # the most characters past `learnt` a request learns from (see "Learning")
REFINE_BEAM = 3  # the beam `refine` decodes a first word with


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
        memory = CorpusMemoryExpert.remembering(ckpt.memory, self.vocab) if ckpt.memory is not None else None
        self._set_experts(memory)
        self._start = starting_adaptation(ckpt.mixer_start)  # a snapshot: never changed, shared by siblings
        self.adaptation = self._start
        self._ahead: Adaptation | None = None  # learnt further on by `prepare` (see "Learning")
        self._memo: tuple | None = None  # the last request's `_mixture` with nothing decoded: (cursor, state, adaptation, switches, result)

    def sibling(self) -> "Engine":
        """An engine for one more document (the language server keeps one per open file): the same
        predictor and memories, shared and read-only, with its own state cache and document match."""
        other = copy.copy(self)
        other.config = dataclasses.replace(self.config)
        other._cache = StateCache(self.predictor, **self._cache_options)  # type: ignore[arg-type]
        other._set_experts(dict(self.experts).get("corpus_memory"))  # type: ignore[arg-type]
        other.adaptation = self._start
        other._ahead = None
        other._memo = None
        return other

    def _set_experts(self, memory: CorpusMemoryExpert | None) -> None:
        """This document's experts, in the mixer's order: the corpus memory's (for another
        document of `memory`'s, if there is one) and the document match; the corpus memory's
        blend reads the document match's index, so each prediction looks it up once."""
        match = DocumentMatchExpert(self.vocab)
        # (the SuggestConfig switch that turns it on, the expert), in the mixer's order
        self.experts: list[tuple[str, Expert]] = []
        if memory is not None:
            self.experts.append(("corpus_memory", memory.for_another_document(places=match.index)))
        self.experts.append(("document_match", match))
        self._cache.followers = [expert for _, expert in self.experts]
        self._slots = [(switch, dict(self.experts).get(switch), width, contexts)
                       for switch, width, contexts in MIXER_SLOTS]

    def adopt(self, adaptation: Adaptation) -> None:
        """Take another engine's adaptation (a snapshot: neither changes the other's)."""
        self.adaptation = adaptation
        self._ahead = None

    @classmethod
    def load(cls, spec: str, config: SuggestConfig | None = None, **options: object) -> "Engine":
        """spec as in `--model` (store.resolve); raises CheckpointError (one line). `options` go to
        the constructor (the window rule's sizes, for measurements)."""
        path = store.resolve(spec)
        ck = checkpoint.load(path)
        return cls(ck, config, name=_display_name(spec, path), **options)  # type: ignore[arg-type]

    # -- reading ---------------------------------------------------------------------------

    def _state_at(self, text: Text, cursor: int, cancelled: Cancelled | None, learn: bool = True) -> PState | None:
        if not 0 <= cursor <= len(text):
            raise ValueError(f"cursor {cursor} outside the text (length {len(text)})")
        if cancelled is not None and cancelled():
            return None  # stale: neither the cache nor the adaptation goes back to its text
        changed = self._cache.match(text)
        if changed is not None and changed < self.adaptation.learnt:  # an edit before it: back to the edit
            self.adaptation = dataclasses.replace(self.adaptation, learnt=changed)
        if changed is not None and self._ahead is not None and changed < self._ahead.learnt:
            self._ahead = None
        if learn:
            self._learn(text, cursor, cancelled)
        return self._cache.read(text, cursor, cancelled)

    def _learning(self) -> bool:
        return self.config.adapt or self.config.dynamic

    def _learn(self, text: Text, cursor: int, cancelled: Cancelled | None) -> None:
        """The adaptation a request at `cursor` uses: learnt up to the character before it ("Learning")."""
        a = self.adaptation
        if not self._learning() or cursor - 1 <= a.learnt:
            return
        if cursor - a.learnt > LEARN_SPAN:  # not written here: opened, pasted, or a jump ahead
            self.adaptation = dataclasses.replace(a, learnt=cursor)
            self._ahead = None
            return
        self.adaptation = self._learnt_to(text, cursor - 1, cancelled)

    def _learnt_to(self, text: Text, end: int, cancelled: Cancelled | None) -> Adaptation:
        """The adaptation after learning text[learnt:end] in order, from what `prepare` learnt
        ahead where it reaches no further than `end`; stops early (what it learnt kept) when
        cancelled."""
        a = self.adaptation
        ahead = self._ahead
        if ahead is not None and a.learnt < ahead.learnt <= end:
            a = ahead
        ids = self.vocab.encode(text[a.learnt:end])
        for p, x in zip(range(a.learnt, end), ids):
            state = self._cache.read(text, p, cancelled)
            if state is None:
                break
            logp, inputs, selection, model = self._memoised(p, state, a) or self._mixture(state, p, "", a, keep=False)
            weights, side, final, head_b, head_w = a.weights, a.side, a.final, a.head_b, a.head_w
            fast_b, fast_w, pair = a.fast_b, a.fast_w, a.pair
            if self.config.adapt and len(inputs) > 1:
                weights, side, final = learn(a, inputs, selection, logp, x)
            if self.config.dynamic:
                head_b, head_w = learn_head(a, model, state.h[-1], x)
                if len(inputs) > 1:  # the fast and pair corrections are the mixer's last inputs (none without one)
                    fast_b, fast_w = learn_fast(a, inputs[-2], state.h[-1], x)
                    pair = learn_pair(a, inputs[-1], self._ids(text[max(0, p - 2):p]), x)
            a = Adaptation(weights, head_w, head_b, p + 1, side, final, fast_w, fast_b, pair)
        return a

    def prepare(self, text: Text, cursor: int | None = None, cancelled: Cancelled | None = None) -> None:
        """Optional warm-up while the editor is idle: read and index the text before `cursor`
        (default: the end) and give the cursor's frontier every chain typing will need, so the
        next keys cost one step each; then learn, ahead of the next request, the characters up to
        the cursor that it will learn ("Learning"). Safe to skip; cancelling keeps what was done."""
        cursor = len(text) if cursor is None else cursor
        if self._state_at(text, cursor, cancelled, learn=False) is None:
            return
        self._cache.complete(cursor, cancelled)
        learnt = self.adaptation.learnt
        if self._learning() and learnt < cursor <= learnt + LEARN_SPAN and not (cancelled is not None and cancelled()):
            if self._ahead is None or self._ahead.learnt < cursor:
                self._ahead = self._learnt_to(text, cursor, cancelled)

    def next_char_log_probs(self, text: Text, cursor: int) -> torch.Tensor:
        """Log-probabilities [vocab] of the character after text[:cursor], from the state the
        window rule gives there, exactly as for suggestions (used by `tuiwriter eval`)."""
        state = self._state_at(text, cursor, None)
        assert state is not None
        a = self.adaptation
        return (self._memoised(cursor, state, a) or self._mixture(state, cursor, "", a))[0]

    def _memoised(self, cursor: int, state: PState, adaptation: Adaptation) -> tuple | None:
        """What a request's `_mixture` gave at this cursor with nothing decoded, if it was the last
        (same state, same adaptation, same switches); None otherwise."""
        memo = self._memo
        if memo is not None and memo[0] == cursor and memo[1] is state and memo[2] is adaptation \
                and memo[3] == self._switches():
            return memo[4]
        return None

    def _mixture(self, state: PState, cursor: int, extra: str, adaptation: Adaptation,
                 keep: bool = True) -> tuple[torch.Tensor, torch.Tensor, Selection, torch.Tensor]:
        """The prediction after text[:cursor] + extra: (mixed log-probs, the mixer's inputs
        [n, vocab], the weights it used, the model's own log-probs with the adapted output layer). An
        expert that is off, absent or without an opinion has the model's log-probs stand in; so
        do the fast and the pair corrections (the last two inputs) with dynamic evaluation off.
        With nothing decoded it is memoised (unless not `keep`) for the request's next use."""
        raw = self.predictor.log_probs(state)
        model = adapted_log_probs(raw, state.h[-1], adaptation) if self.config.dynamic else raw
        if not any(expert is not None and getattr(self.config, switch) for switch, expert, _, _ in self._slots):
            return model, model[None], Selection((0,)), model  # nothing to mix: the model alone
        probs: torch.Tensor | None = None
        rows = [model]
        context = 0
        for switch, expert, width, contexts in self._slots:
            got = None
            if expert is not None and getattr(self.config, switch):
                probs = model.exp() if probs is None else probs
                got = expert.inputs(self._cache.doc, cursor, extra, probs)
            rows.extend(mixer_rows(got, model, width))
            context = context * contexts + (got.context if got is not None else 0)
        before = (self._cache.doc[max(0, cursor - 2):cursor] + extra)[-2:]
        ids = self._ids(before)
        if self.config.dynamic:
            rows += [fast_log_probs(raw, state.h[-1], adaptation), pair_log_probs(raw, ids, adaptation)]
        else:
            rows += [model, model]
        inputs = torch.stack(rows)
        selection = Selection((context, CONTEXTS + char_class(before[-1:])),
                              side_keys(ids, model, match_context(context)), context)
        result = predict(adaptation, inputs, selection), inputs, selection, model
        if keep and not extra:  # `next_char_log_probs` or learning here reuse it (same state, same adaptation)
            self._memo = (cursor, state, adaptation, self._switches(), result)
        return result

    def _ids(self, before: str) -> tuple[int, int]:
        """The vocabulary ids of the two characters `before` the cursor (0 where there is none)."""
        ids = [0, 0] + [self.vocab.id_of(ch) for ch in before]
        return ids[-2], ids[-1]

    def _switches(self) -> tuple[bool, ...]:
        return self.config.corpus_memory, self.config.document_match, self.config.dynamic

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

    def refine(self, text: Text, cursor: int, shown: str, cancelled: Cancelled | None = None) -> str | None:
        """In the idle moment after the first suggestion at `cursor` (`shown`, sample 0) is on
        screen: the suggestion whose first word a REFINE_BEAM-wide beam chose (`policy.first_word`),
        where its first word is worth more than the shown one's (`_worth`); None where it is not,
        refining is off, the suggestion was drawn hot or the request went stale. The greedy decoder
        streams its first character within a step or two of the key; the beam must see whole words
        first (four to six times as long), so it runs here, off the keystroke path, and the editor
        swaps the ghost. Deterministic like `suggest`: the same text and adaptation give the same
        answer."""
        if not self.config.refine or self.config.beam > 1 or self.config.temperature > 0:
            return None
        state = self._state_at(text, cursor, cancelled)
        if state is None:
            return None
        adaptation, mixed = self.adaptation, {}
        beam = "".join(self._decode(state, cursor, 0, cancelled, beam=REFINE_BEAM, mixed=mixed))
        if cancelled is not None and cancelled() or not beam or beam == shown:
            return None
        worth = self._worth(state, cursor, beam, adaptation, mixed)
        return beam if worth > self._worth(state, cursor, shown, adaptation, mixed) else None

    def _worth(self, state: PState, cursor: int, ghost: str, adaptation: Adaptation,
               mixed: dict[str, torch.Tensor]) -> float:
        """The keys a ghost's first word saves in expectation: its length times its chance under
        the mixture. A beam finds the likeliest whole word, but greedy decoding may show a likely
        start of a word (its confidence test cut it) worth more: in notes the beam's ghost
        replacing every greedy one saved fewer keys than greedy decoding, this rule more (README,
        "Measuring")."""
        word = next_word(ghost)
        logp = 0.0
        for i, ch in enumerate(word):
            cid = self.vocab.id_of(ch)
            logp += float(self._mixed(state, cursor, word[:i], adaptation, mixed)[cid])
            state = self._advance(state, cid)
        return math.exp(logp) * len(word)

    def _mixed(self, state: PState, cursor: int, decoded: str, adaptation: Adaptation,
               mixed: dict[str, torch.Tensor]) -> torch.Tensor:
        """The mixture after text[:cursor] + decoded, kept in `mixed` for the rest of the request
        (a beam, and `_worth` after it, ask again along the words it tried)."""
        logp = mixed.get(decoded)
        if logp is None:
            logp = mixed[decoded] = self._mixture(state, cursor, decoded, adaptation)[0]
        return logp

    def _decode(self, state: PState, cursor: int, sample: int, cancelled: Cancelled | None,
                beam: int | None = None, mixed: dict[str, torch.Tensor] | None = None) -> Iterator[str]:
        guard, early = self._secret_guard(cursor) if self.config.secret_guard else (None, None)
        adaptation = self.adaptation  # the request's snapshot
        config = self.config if beam is None else dataclasses.replace(self.config, beam=beam)
        memo: dict[str, torch.Tensor] = {} if mixed is None else mixed
        return decode(state, self._advance, lambda s, decoded: self._mixed(s, cursor, decoded, adaptation, memo),
                      self.vocab.chars, self._newline, config, sample, cancelled, guard, early)

    def _secret_guard(self, cursor: int) -> tuple[Callable[[str], bool], Callable[[str], int]]:
        """Whether the text before the cursor plus a suggestion holds a secret-looking span that
        reaches into the suggestion (`text.secrets`): a person typing the start of a key never
        sees the rest of it, whatever the model or its memory learnt; and how much of the
        suggestion's first word may show before it is complete (`shown_early`)."""
        context = self._cache.doc[max(0, cursor - SECRET_CONTEXT):cursor]

        def reaches(decoded: str) -> bool:
            return any(span.end > len(context) for span in find_secrets(context + decoded))

        def early(decoded: str) -> int:
            return shown_early(context + decoded, len(context))

        return reaches, early

    def _advance(self, state: PState, cid: int) -> PState:
        """One decoding step, memoised on the state so it is never computed twice."""
        if state.next is None:
            state.next = {}
        nxt = state.next.get(cid)
        if nxt is None:
            nxt = state.next[cid] = self.predictor.step(state, cid)
        return nxt


# The mixer's inputs after the model's: (SuggestConfig switch, inputs, contexts) per expert, in
# this order whether or not the model has that expert (the weights' layout, `mixer_init`); the
# fast output-layer correction and the pair correction (`mixer.fast_log_probs`, `pair_log_probs`)
# are the last two inputs, after them.
MIXER_SLOTS = (("corpus_memory", CorpusMemoryExpert.width, CorpusMemoryExpert.contexts),
               ("document_match", DocumentMatchExpert.width, DocumentMatchExpert.contexts))


def _display_name(spec: str, path: Path) -> str:
    """What the status bar shows: the model's name, or a checkpoint file's folder/stem."""
    if spec == names.DEFAULT or (names.NAME_RE.match(spec) and not Path(spec).exists()):
        return spec
    return path.parent.name if path.name == names.CHECKPOINT_FILE else path.stem
