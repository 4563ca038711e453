"""The suggestion policy: which characters make the ghost text, and when it stops.

Characters are chosen greedily (temperature 0) or sampled, and a suggestion is made of words,
each with the space (or line end) after it, so Tab leaves the cursor where the next word starts.
The first word (the rest of the word at the cursor, or the next one) is shown while the
probability of the suggestion so far (the product of the model's probabilities of its characters)
stays at or above `min_confidence`: a low value shows more, less likely ghosts, and none at all
when the first characters are unlikely. Each further word is added only when the model gives the
whole word `word_confidence` or more: a wrong extra word costs a key (the writer takes the first
word with accept-word, then types the space by hand), a right one saves one, so extra words pay
off above one chance in two. The suggestion ends at a line end (which it includes: the editor
draws it as a glyph) and never starts one, after the space that follows a sentence end (".",
"!", "?", plus closing quotes/brackets), at `max_chars` (a later word the cap cuts is
dropped), and after BLANK_RUN_MAX blanks when it holds nothing else yet. No suggestion of a
single character (accepting it would cost the key that typing it costs).

No secrets: a model trained before secrets were scrubbed from its corpus (or a memory holding one)
could complete an API key the person starts typing. `decode` takes a `guard` that says whether
the text before the cursor plus the characters decoded so far hold a secret-looking span that
reaches into the suggestion (`text.secrets.find_secrets`); the suggestion ends before anything
such is shown. With a guard a word is held back until it is complete, so a token is judged whole
before any of it shows, except the part `early(decoded)` says no secret rule could take in
whatever follows (`text.secrets.shown_early`): all of a word of letters, of digits, or of neither,
and of a link the part up to its last `.`, `:`, `(` or the like, where every run a token could
span has ended. That part of the first word streams as it is decoded, which is what puts its
first character on screen within a step or two of the key rather than after the whole word (a
link's path of 40 characters is 40 model steps).

Resamples (sample=k>0) are alternatives the person asked for, so they always show something:
at temperature 0 the k-th next-best first character (newline excluded) followed by the most
likely continuation; above 0 a draw seeded with k. Their confidence is measured after the first
character. Sample 0 above temperature 0 is a draw seeded with 0: deterministic too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, TypeVar

import torch

from tuiwriter.settings import Settings

# Chosen by measurement (`python -m tuiwriter.bench --tune default pg74_twain_tom_sawyer.txt
# --chars 20000`, a held-out book) with the online mixer: keys saved 29.51 % at 0.03, 29.45 % at
# 0.05, 29.29 % at 0.07, 28.84 % at 0.1, 27.88 % at 0.15; ghosts taken 29 %, 30 %, 33 %, 36 %, 41 %.
# 0.05 saves within 0.1 point of the most with a ghost worth taking nearly one time in three (0.02:
# 29.42 %, 28 % taken, with the one-character learning lag; the model alone, before the mixer,
# lost only 0.2 points at 0.1).
DEFAULT_MIN_CONFIDENCE = 0.05
# Measured with the word rule above (held-out Tom Sawyer, 20,000 chars): 0.5 beats 0.3 and 0.7;
# with the mixer and 0.05 above, 0.4 / 0.5 / 0.6 save 29.43 / 29.48 / 29.47 %.
DEFAULT_WORD_CONFIDENCE = 0.5
MIN_CHARS = 2  # shorter first suggestions are not shown
# A first word of blanks alone ends after this many (shown: an indent worth a Tab; the next ghost
# goes on). Aligned tables, `docker ps` output and indented code put long blank runs before the
# cursor, and a ghost of 40 blanks (the cap) was rarely right: the notes row (notes10, first
# 20,000 held-out chars) saved 37.28 % of keys with no limit, 37.60 % at 24, 37.83 % at 12, 37.93 %
# at 8, 38.08 % at 6 and at 4; the notes dev text 27.68 / 27.77 / 27.92 / 27.88 % (none, 8, 6, 4);
# no change on Shakespeare or the e-mail thread. It also bounds what such a ghost costs before its
# first character: 6 steps, not 40 (keystroke p99 on the notes row 11.7 -> 7.4 ms).
BLANK_RUN_MAX = 6
SENTENCE_END = ".!?"
CLOSERS = "\"')]}"
SPACES = " \t"
BREAKS = SPACES + "\n"  # what ends a word; a line end only ever ends a suggestion

Cancelled = Callable[[], bool]
S = TypeVar("S")


@dataclass
class SuggestConfig:
    max_chars: int = 40  # length cap (SPEC default)
    temperature: float = 0.0  # 0 = most likely characters; range 0.0..2.0
    min_confidence: float = DEFAULT_MIN_CONFIDENCE  # to show the first word (or part of it)
    word_confidence: float = DEFAULT_WORD_CONFIDENCE  # to add each further word
    document_match: bool = True  # mix in what followed the same text earlier in the document
    corpus_memory: bool = True  # mix in what followed it in the text the model was trained on
    secret_guard: bool = True  # never show a secret-looking span (see `decode`)
    adapt: bool = True  # the mixer learns from what the person writes (`predict.mixer`)
    dynamic: bool = True  # so does the model's output layer (dynamic evaluation)
    beam: int = 1  # first word: 1 = character by character; k > 1 = the likeliest of a k-wide beam (`first_word`)
    refine: bool = True  # in idle time, swap the ghost for the one a beam chose (`Engine.refine`)

    @classmethod
    def from_settings(cls, settings: Settings) -> "SuggestConfig":
        """The policy with the person's config.toml applied (length cap, temperature, threshold)."""
        config = cls(max_chars=settings.max_suggestion_chars, temperature=settings.temperature)
        if settings.min_confidence > 0:  # 0: the default threshold
            config.min_confidence = settings.min_confidence
        return config


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


def choose(logp: torch.Tensor, config: SuggestConfig, sample: int, first: bool, newline: int,
           generator: torch.Generator | None) -> int:
    """The next character id: most likely, k-th alternative, or a seeded draw (never id 0,
    the unknown symbol; never a newline as a resample's first character)."""
    if generator is None:
        if sample == 0 or not first:
            return int(torch.argmax(logp[1:])) + 1
        order = [i for i in torch.argsort(logp, descending=True).tolist() if i not in (0, newline)]
        return order[sample % len(order)]
    weights = torch.softmax(logp / config.temperature, dim=0)
    weights[0] = 0.0
    if sample > 0 and first and newline > 0:
        weights[newline] = 0.0
    return int(torch.multinomial(weights, 1, generator=generator))


def decode(state: S, advance: Callable[[S, int], S], log_probs: Callable[[S, str], torch.Tensor],
           chars: str, newline: int, config: SuggestConfig, sample: int = 0,
           cancelled: Cancelled | None = None, guard: Callable[[str], bool] | None = None,
           early: Callable[[str], int] | None = None) -> Iterator[str]:
    """Yield the suggestion's characters as they are decoded from `state` (the state after the
    text before the cursor). `log_probs(state, decoded)` is the next-character distribution after
    the characters decoded so far; `advance(state, id)` the state after one more; `guard(decoded)`
    is true when a secret-looking span reaches into `decoded` (nothing more is shown then);
    `early(decoded)` how many characters of `decoded` may show before the first word is complete
    despite the guard."""
    cfg = config
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
    accepted = 0  # characters of `decoded` that passed the confidence tests
    cid = 0
    forced: list[int] = []  # the first word's characters, when a beam chose them
    if cfg.beam > 1 and sample == 0 and generator is None:
        word = first_word(state, advance, log_probs, chars, cfg.beam, min(cfg.max_chars, BEAM_MAX_WORD), cancelled)
        if word is None and cancelled is not None and cancelled():
            return
        forced = [chars.index(ch) for ch in word or ""]
    for j in range(cfg.max_chars):
        if j > 0:
            if cancelled is not None and cancelled():
                return
            state = advance(state, cid)
        logp = log_probs(state, decoded)
        if j < len(forced):
            cid = forced[j]
        else:
            cid = choose(logp, cfg, sample, first=j == 0, newline=newline, generator=generator)
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
        accepted = len(decoded)
        word_end = ch == "\n" or (ch in SPACES and content)  # the space after a word is its own
        content = content or ch not in BREAKS
        if first and not content and len(held) >= BLANK_RUN_MAX:
            break  # shown below, as an indent
        sentence_end = ended
        ended = ch in SENTENCE_END or (ended and ch in CLOSERS)
        ready = len(held) if word_end else 0  # of the held characters, those that may show now
        if first and content and j + 1 >= min_chars and not word_end:  # blanks wait for content
            shows = len(decoded) if guard is None else early(decoded) if early is not None else 0
            if shows >= min_chars:
                ready = max(0, shows - (len(decoded) - len(held)))
        if ready:
            if guard is not None and guard(decoded):
                return
            yield from _unless_cancelled(held[:ready], cancelled)
            del held[:ready]
        if word_end:
            if ch == "\n" or sentence_end:
                return
            first, confidence, content = False, 1.0, False
    if first and not content and len(held) >= min_chars:
        # only blanks before the model grew unsure: an indent worth a Tab
        yield from _unless_cancelled(held, cancelled)
    elif first and content and guard is not None and accepted >= min_chars and not guard(decoded[:accepted]):
        # a first word, held back, that the cap or the model's doubt cut short
        yield from _unless_cancelled(held, cancelled)


BEAM_MAX_WORD = 24  # the beam gives up on a first word longer than this (greedy decoding takes over)


def first_word(state: S, advance: Callable[[S, int], S], log_probs: Callable[[S, str], torch.Tensor],
               chars: str, width: int, max_len: int, cancelled: Cancelled | None = None) -> str | None:
    """The likeliest first word of a suggestion (with the space or line end after it) that a beam
    of `width` finds: each step extends every kept prefix by its `width` likeliest characters and
    keeps the `width` likeliest prefixes; a prefix that has a letter or sign and then a space, or a
    line end, is complete. Stops when no kept prefix is likelier than the best complete one (a
    prefix only grows less likely). None: no word completed within `max_len`, or cancelled.
    Greedy decoding takes the likeliest character at each step instead, which can lead into a less
    likely word (`tuiwriter eval --beam K` measures both: README, "Measuring")."""
    beams: list[tuple[float, str, S]] = [(0.0, "", state)]
    best: tuple[float, str] | None = None
    for _ in range(max_len):
        grown: list[tuple[float, str, S, int]] = []
        for score, text, st in beams:
            logp = log_probs(st, text)
            top = torch.topk(logp[1:], min(width, len(logp) - 1))
            for lp, i in zip(top.values.tolist(), top.indices.tolist()):
                cid = i + 1  # never id 0, the unknown symbol
                word = text + chars[cid]
                if chars[cid] == "\n" or chars[cid] in SPACES and word[:-1].strip():
                    if best is None or score + lp > best[0]:
                        best = (score + lp, word)
                else:
                    grown.append((score + lp, word, st, cid))
        grown.sort(key=lambda g: -g[0])
        grown = grown[:width]
        if not grown or best is not None and grown[0][0] <= best[0]:
            break
        if cancelled is not None and cancelled():
            return None
        beams = [(score, word, advance(st, cid)) for score, word, st, cid in grown]
    return None if best is None else best[1]


def _unless_cancelled(held: list[str], cancelled: Cancelled | None) -> Iterator[str]:
    """The held characters, one by one, until the request goes stale (checked before each: the
    consumer may resume the stream long after the text changed)."""
    for out in held:
        if cancelled is not None and cancelled():
            return
        yield out
