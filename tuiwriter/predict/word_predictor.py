"""A word-level model behind the character-level predictor seam (alone, or as one voice in a
character model's prediction, `MixedPredictor`): ghost text, `tuiwriter eval`
and the language server work unchanged with a word model, and its bits are per character.

The state after some text is the model's state after the tokens completed so far plus the
*pending* token: the characters typed since the last token boundary (`text.words`: a boundary
is known from the next character alone). The next character's distribution is the next
token's distribution restricted to the tokens that extend the pending one, each giving its next
character, plus:
- the pending token ending here (when it is a known token, or an unknown word): its
  probability times the first-character distribution of the token after it (one model step
  more), limited to characters that could not have continued it (the tokenizer would have
  read those as part of the word);
- the unknown token, spelt out letter by letter by the vocabulary's spelling model (a letter
  given the one before, a geometric length): its share of the probability that the pending
  characters begin an unknown word;
normalised by the probability of the pending characters themselves, with a floor of
`FLOOR` so no character is impossible. `step` is a pure function of the state and the
character (the boundary's model step is cached on the state, `after`), so a state the engine
caches is the state a fresh reading gives (tested as for the character models).
"""

from __future__ import annotations

from bisect import bisect_left
from functools import lru_cache

import torch

from tuiwriter.lm.checkpoint import Checkpoint
from tuiwriter.lm.model import CharRNN
from tuiwriter.predict.predictor import FusedRNN, Int8RNN, Predictor, PState, int8_available
from tuiwriter.text.vocab import Vocab
from tuiwriter.text.words import WordVocab, complete, extends, is_word, is_word_char

FLOOR = 1e-6  # spread over every character: a typo is unlikely, never impossible
NEGLIGIBLE = 1e-3  # an ending this unlikely (relative) is left out: it would cost a model step
PREFIXES = 8192  # pending tokens whose extensions are remembered


class WordState(PState):
    """The model's state after the completed tokens (`inner`) and the `pending` characters of
    the next token; `after`: the inner state once `pending` is read as a token (computed when
    needed, kept)."""

    __slots__ = ("inner", "pending", "after")

    def __init__(self, inner: PState, pending: str, after: PState | None = None) -> None:
        super().__init__(inner.h, inner.c)
        self.inner = inner
        self.pending = pending
        self.after = after

    def bare(self) -> "WordState":
        s = WordState(self.inner, self.pending, self.after)
        s.logp = self.logp
        return s


class WordPredictor:
    """The `Predictor` protocol (characters in, next-character log-probabilities out) for a
    word-level `CharRNN` whose ids are `words` tokens; `vocab` is its character vocabulary."""

    def __init__(self, model: CharRNN, vocab: Vocab, words: WordVocab) -> None:
        self.vocab = vocab
        self.words = words
        self.rnn = FusedRNN(model, vocab)
        n = len(vocab)
        tokens = words.tokens
        self._order = sorted(range(1, len(tokens)), key=tokens.__getitem__)
        self._keys = [tokens[i] for i in self._order]
        self._first = torch.tensor([vocab.id_of(t[0]) for t in tokens[1:]], dtype=torch.long)
        word_chars = torch.tensor([is_word_char(c) for c in vocab.chars])
        self._not_word = (~word_chars).float()
        self._blank = torch.tensor([c.isspace() for c in vocab.chars]).float()
        self._space = vocab.id_of(" ")
        spelling = words.spelling
        self._sigma, self._end = spelling.space, spelling.end
        self._extensions = lru_cache(maxsize=PREFIXES)(self._extensions_of)
        self._letters = lru_cache(maxsize=None)(self._letters_after)
        self._uniform = torch.full((n,), 1.0 / n)

    # -- the protocol ----------------------------------------------------------------------

    def start(self) -> WordState:
        return WordState(self.rnn.start(), "")

    def wrap(self, inner: PState) -> WordState:
        """A state between two tokens whose model state is `inner` (the mid-text start state)."""
        return WordState(inner, "")

    def step(self, state: PState, char_id: int) -> WordState:
        assert isinstance(state, WordState)
        ch = self.vocab.chars[char_id]
        pending = state.pending
        if pending and extends(pending, ch):
            return WordState(state.inner, pending + ch)
        inner = self._after(state) if pending else state.inner
        if complete(ch):
            return WordState(self.rnn.step(inner, self.words.id_of(ch)), "")
        return WordState(inner, ch)

    def log_probs(self, state: PState) -> torch.Tensor:
        assert isinstance(state, WordState)
        if state.logp is None:
            with torch.inference_mode():
                mass = self._char_mass(state)
                state.logp = (mass * (1 - FLOOR) + FLOOR * self._uniform).log()
        return state.logp

    # -- the distribution ------------------------------------------------------------------

    def _after(self, state: WordState) -> PState:
        """The model state once the pending characters are read as one token (or the unknown one)."""
        if state.after is None:
            state.after = self.rnn.step(state.inner, self.words.id_of(state.pending))
        return state.after

    def _token_probs(self, inner: PState) -> torch.Tensor:
        return self.rnn.log_probs(inner).exp()

    def _first_chars(self, probs: torch.Tensor) -> torch.Tensor:
        """The next token's first character, the unknown word spelt out (sums to 1)."""
        mass = torch.zeros(len(self.vocab)).index_add_(0, self._first, probs[1:])
        unknown = float(probs[0])
        mass[self._space] += unknown * self._sigma
        return mass.add_(self._letters("") * (unknown * (1 - self._sigma)))

    def _char_mass(self, state: WordState) -> torch.Tensor:
        probs = self._token_probs(state.inner)
        pending = state.pending
        if not pending:
            return self._first_chars(probs)
        ids, chars = self._extensions(pending)
        known = probs[ids]
        mass = torch.zeros(len(self.vocab)).index_add_(0, chars, known)
        total = float(known.sum())
        token = self.words.id_of(pending)
        ending = float(probs[token]) if token else 0.0
        if pending == " " or is_word(pending):  # the unknown word, spelt out
            begun = float(probs[0]) * self._prefix(pending)
            body = pending[1:] if pending.startswith(" ") else pending
            go_on = begun * (1 - self._end) if body else begun
            mass.add_(self._letters(body[-1:]) * go_on)
            total += go_on
            if body and not token:
                ending = begun * self._end
        if ending > NEGLIGIBLE * (total + ending):
            after = self._first_chars(self._token_probs(self._after(state)))
            # the tokenizer reads a character that continues the token as part of it: what
            # follows a finished token is a character that could not have continued it
            allowed = after * (self._blank if pending == " " else self._not_word)
            share = float(allowed.sum())
            mass.add_(allowed * (ending / share) if share > 0 else self._uniform * ending)
        norm = float(mass.sum())
        return mass / norm if norm > 0 else self._uniform.clone()

    def _prefix(self, pending: str) -> float:
        """P(the unknown word's spelling begins with `pending`)."""
        spaced = pending.startswith(" ")
        body = pending[1:] if spaced else pending
        p = self._sigma if spaced else 1 - self._sigma
        for prev, c in zip(("", *body), body):
            p *= float(self._letters(prev)[self.vocab.id_of(c)])
        return p * (1 - self._end) ** max(0, len(body) - 1)

    def _extensions_of(self, pending: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Ids of the tokens that strictly extend `pending`, and the character each goes on with."""
        lo = bisect_left(self._keys, pending)
        hi = bisect_left(self._keys, pending + "\U0010ffff", lo)
        n = len(pending)
        found = [(self._order[i], self._keys[i][n]) for i in range(lo, hi) if len(self._keys[i]) > n]
        ids = torch.tensor([i for i, _ in found], dtype=torch.long)
        chars = torch.tensor([self.vocab.id_of(c) for _, c in found], dtype=torch.long)
        return ids, chars

    def _letters_after(self, prev: str) -> torch.Tensor:
        """The spelling model's next letter after `prev` ("" at the start) over the characters."""
        out = torch.zeros(len(self.vocab))
        for c, p in self.words.spelling.letter_probs(prev).items():
            out[self.vocab.id_of(c)] += p
        return out


def for_checkpoint(ckpt: Checkpoint) -> Predictor:
    """The predictor the editor uses for a checkpoint: by its level."""
    if ckpt.words is not None:
        return WordPredictor(ckpt.build_model(), ckpt.vocab, ckpt.words)
    model = ckpt.build_model()
    if model.config.cell == "lstm" and model.config.hidden >= INT8_FROM_HIDDEN and int8_available():
        return Int8RNN(model, ckpt.vocab)  # faster at the same bits/char (`predictor`)
    return FusedRNN(model, ckpt.vocab)


# int8 weights pay from `medium` up: a step of `small` (3 MB of float weights) stays in cache and
# the per-call quantizing costs more than it saves (`python -m tuiwriter.bench --sizes small medium
# base --no-engine`: small 0.126 / 0.138 ms float / int8, medium 0.213 / 0.167, base 1.279 / 0.285).
INT8_FROM_HIDDEN = 384


def mid_start(predictor: Predictor, mid: tuple[torch.Tensor, ...] | None) -> PState | None:
    """The state a reading that starts inside a document begins from (`state_cache`)."""
    if not mid:
        return None
    state = PState(mid[0], mid[1] if len(mid) > 1 else None)
    return predictor.wrap(state) if isinstance(predictor, (WordPredictor, MixedPredictor)) else state


class MixedState(PState):
    """The states of both voices after the same text."""

    __slots__ = ("char", "word")

    def __init__(self, char: PState, word: PState) -> None:
        super().__init__(char.h, char.c)
        self.char = char
        self.word = word

    def bare(self) -> "MixedState":
        s = MixedState(self.char.bare(), self.word.bare())
        s.logp = self.logp
        return s


class MixedPredictor:
    """A word-level model as one voice in a character model's prediction: p = (1 - weight) *
    p_char + weight * p_word, each voice reading the same characters (a predictor wrapper, so the
    engine, its experts and eval use it as they use one model). `word_mid`: the word model's
    mid-text state, paired with the character model's where a reading starts inside a document."""

    def __init__(self, char: Predictor, word: WordPredictor, weight: float,
                 word_mid: tuple[torch.Tensor, ...] | None = None) -> None:
        self.vocab = char.vocab
        self.char, self.word, self.weight = char, word, weight
        self._word_mid = mid_start(word, word_mid) or word.start()
        # the voices may know different characters: the word voice's id of each of ours
        self._to_word = torch.tensor([word.vocab.id_of(c) for c in char.vocab.chars], dtype=torch.long)

    def start(self) -> MixedState:
        return MixedState(self.char.start(), self.word.start())

    def wrap(self, inner: PState) -> MixedState:
        return MixedState(inner, self._word_mid)

    def step(self, state: PState, char_id: int) -> MixedState:
        assert isinstance(state, MixedState)
        return MixedState(self.char.step(state.char, char_id), self.word.step(state.word, int(self._to_word[char_id])))

    def log_probs(self, state: PState) -> torch.Tensor:
        assert isinstance(state, MixedState)
        if state.logp is None:
            with torch.inference_mode():
                w = self.weight
                word = self.word.log_probs(state.word).exp()[self._to_word]
                mixed = self.char.log_probs(state.char).exp() * (1 - w) + word * (w / float(word.sum()))
                state.logp = mixed.log()
        return state.logp
