"""Word-level tokens: what a word-level model reads and predicts (no torch here).

The rule, chosen so that text and tokens map both ways exactly and the boundary between two
tokens is known from the next character alone (what the editor needs, one key at a time):

- a *word* is a run of word characters: letters, digits, `_` and the apostrophe (so "don't",
  "o'er" and "'tis" are one token each; a quote made of apostrophes sticks to its word);
- a word or one punctuation character takes the single space before it into the token
  (" the", " ,"), so spaces are restored from the tokens themselves: `detokenize(tokenize(t))
  == t` for every text, and a space followed by another space, a tab or a line end is a token " ";
- a line end, a tab and every other space character is a token of its own;
- case is kept as written: the editor must suggest the characters a person types, and the
  speaker names of a play ("ROMEO:") or a sentence's first word are part of the writing.
  What it costs (" The" and " the" are two tokens) is paid in vocabulary size, which the
  coverage measurement below sees.

The vocabulary (`WordVocab`) is fixed when a model is created: every whitespace and punctuation
character of the model's character vocabulary as a token (alone and after a space), then the
most frequent words of the training text, as many as it takes to cover `COVERAGE` of the
validation text's tokens (measured, `coverage_curve`), between `MIN_WORDS` and `MAX_WORDS`,
each seen at least twice. Id 0 is the unknown token: a word outside the vocabulary. Its
spelling is priced by a small character model of unknown words (`Spelling`: a leading space or
not, then each letter given the one before, as among the unknown words of the training text, and
a geometric length), so a word model's bits per character count every character, as a character
model's do.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

UNK = "\ufffd"  # token 0: a word outside the vocabulary (its spelling comes from `Spelling`)
TOKEN_RE = re.compile(r" ?[\w']+| ?[^\w\s']|\s")
COVERAGE = 0.97  # of the validation text's tokens (the measurement is in README.md)
MIN_WORDS = 20  # distinct words a corpus needs for a word-level model
MAX_WORDS = 16_000  # the head's cost per step grows with it (hidden x vocabulary)
MIN_COUNT = 2  # a word seen once in the training text cannot be learnt
SMOOTHING = 0.5  # added to every letter pair count of the spelling model


class WordsError(ValueError):
    """A text a word-level model cannot be made from; the message is one line."""


def is_word_char(ch: str) -> bool:
    """Letters, digits, `_` and the apostrophe (what `\\w` and `'` match in TOKEN_RE)."""
    return ch.isalnum() or ch == "_" or ch == "'"


def tokenize(text: str) -> list[str]:
    """The tokens of `text`, in order; their concatenation is `text`."""
    return TOKEN_RE.findall(text)


def detokenize(tokens: Iterable[str]) -> str:
    return "".join(tokens)


def is_word(token: str) -> bool:
    """A word token (with or without its leading space), as opposed to punctuation or a space."""
    body = token[1:] if token.startswith(" ") else token
    return bool(body) and is_word_char(body[0])


def extends(pending: str, ch: str) -> bool:
    """Whether `ch` continues the token `pending` (the rule of TOKEN_RE, one character ahead):
    a word goes on with word characters; a lone space takes a word or punctuation character."""
    if pending == " ":
        return not ch.isspace()
    return bool(pending) and is_word(pending) and is_word_char(ch)


def complete(pending: str) -> bool:
    """Whether `pending` is a token that no character can extend (punctuation, a line end...)."""
    return pending != " " and not is_word(pending)


@dataclass(frozen=True)
class Spelling:
    """The character model of unknown words: P(leading space), P(the word ends after each
    letter), and each letter given the one before it (a letter bigram over every word character
    of the character vocabulary, counted on the unknown words of the training text and smoothed
    by SMOOTHING, so no letter is impossible)."""

    space: float
    end: float
    alphabet: str
    counts: dict[str, dict[str, int]]  # previous letter ("" at the start) -> letter -> count

    @classmethod
    def measure(cls, unknown: Counter[str], alphabet: Iterable[str]) -> "Spelling":
        letters = "".join(sorted({c for c in alphabet if is_word_char(c)}))
        counts: dict[str, Counter[str]] = {}
        spaced = total = length = 0
        for token, n in unknown.items():
            body = token[1:] if token.startswith(" ") else token
            if not is_word(token):
                continue
            spaced += n * (token != body)
            total += n
            length += n * len(body)
            for prev, c in zip(("", *body), body):
                counts.setdefault(prev, Counter())[c] += n
        return cls(space=(spaced + 1) / (total + 2), end=(total + 1) / (length + 2), alphabet=letters,
                   counts={p: dict(sorted(c.items())) for p, c in sorted(counts.items())})

    def letter_probs(self, prev: str) -> dict[str, float]:
        """P(next letter | previous letter `prev`, "" at the start) over the alphabet."""
        seen = self.counts.get(prev, {})
        total = sum(seen.values()) + SMOOTHING * len(self.alphabet)
        return {c: (seen.get(c, 0) + SMOOTHING) / total for c in self.alphabet}

    def nats(self, token: str) -> float:
        """-ln P(token spelt out), for pricing an unknown word in bits per character."""
        body = token[1:] if token.startswith(" ") else token
        p_lead = self.space if token != body else 1 - self.space
        total = -math.log(p_lead) - math.log(self.end) - (len(body) - 1) * math.log(1 - self.end)
        for prev, c in zip(("", *body), body):
            total -= math.log(self.letter_probs(prev).get(c, 1e-9))
        return total

    def to_json(self) -> dict:
        return {"space": self.space, "end": self.end, "alphabet": self.alphabet, "counts": self.counts}

    @classmethod
    def from_json(cls, d: dict) -> "Spelling":
        counts = {str(p): {str(c): int(n) for c, n in row.items()} for p, row in d["counts"].items()}
        return cls(float(d["space"]), float(d["end"]), str(d["alphabet"]), counts)


@dataclass(frozen=True)
class WordVocab:
    """The tokens a word-level model knows; `tokens[i]` has id i, id 0 is UNK."""

    tokens: tuple[str, ...]
    spelling: Spelling
    coverage: float = 0.0  # of the validation tokens, measured when the vocabulary was made
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.tokens or self.tokens[0] != UNK:
            raise ValueError("a word vocabulary starts with the unknown token")
        if len(set(self.tokens)) != len(self.tokens):
            raise ValueError("a word vocabulary has repeated tokens")
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.tokens)})

    def __len__(self) -> int:
        return len(self.tokens)

    def id_of(self, token: str) -> int:
        return self._index.get(token, 0)

    def encode(self, text: str) -> list[int]:
        return [self._index.get(t, 0) for t in tokenize(text)]

    def unknown(self, text: str) -> list[str]:
        """The tokens of `text` outside the vocabulary, in order."""
        return [t for t in tokenize(text) if t not in self._index]

    def nats_of_unknown(self, text: str) -> float:
        """What spelling out the unknown words of `text` costs (`Spelling.nats`)."""
        return sum(self.spelling.nats(t) for t in self.unknown(text))

    def to_json(self) -> str:
        return json.dumps({"tokens": list(self.tokens), "spelling": self.spelling.to_json(),
                           "coverage": self.coverage})

    @classmethod
    def from_json(cls, raw: str) -> "WordVocab":
        d = json.loads(raw)
        return cls(tuple(str(t) for t in d["tokens"]), Spelling.from_json(d["spelling"]), float(d.get("coverage", 0)))

    @classmethod
    def build(cls, train: str, val: str, alphabet: str, coverage: float = COVERAGE,
              max_words: int = MAX_WORDS) -> "WordVocab":
        """The vocabulary for a new model (see the module docstring); `alphabet` is the model's
        character vocabulary. Raises WordsError when the text has too few distinct words."""
        counts = Counter(tokenize(train))
        words = [(t, n) for t, n in counts.most_common() if is_word(t)]
        distinct = len({t.lstrip(" ") for t, _ in words})
        if distinct < MIN_WORDS:
            raise WordsError(f"too few distinct words for a word-level model: {distinct} "
                             f"(need at least {MIN_WORDS}); train a character model (--level char)")
        base = [c for c in alphabet if c != UNK and c.isprintable() and not is_word_char(c) and c != " "]
        fixed = ["\n", "\t", " "] + base + [" " + c for c in base]
        fixed = list(dict.fromkeys(t for t in fixed if t in ("\n", "\t", " ") or tokenize(t) == [t]))
        learnable = [t for t, n in words if n >= MIN_COUNT][:max_words]
        size = choose_size(learnable, Counter(t for t in tokenize(val) if is_word(t)), coverage)
        tokens = (UNK, *fixed, *learnable[:size])
        index = set(tokens)
        unknown = Counter({t: n for t, n in counts.items() if t not in index})
        vocab = cls(tokens, Spelling.measure(unknown, alphabet))
        val_tokens = tokenize(val) or tokenize(train)
        covered = sum(1 for t in val_tokens if t in index) / max(1, len(val_tokens))
        return cls(vocab.tokens, vocab.spelling, round(covered, 4))


def coverage_curve(ranked: list[str], val_words: Counter[str]) -> list[float]:
    """curve[k]: the share of the validation words that the first k ranked words cover."""
    total = sum(val_words.values()) or 1
    curve, covered = [0.0], 0
    for t in ranked:
        covered += val_words.get(t, 0)
        curve.append(covered / total)
    return curve


def choose_size(ranked: list[str], val_words: Counter[str], coverage: float) -> int:
    """The fewest ranked words that cover `coverage` of the validation words (all of them when
    no size does), at least MIN_WORDS where there are that many."""
    curve = coverage_curve(ranked, val_words)
    for k, share in enumerate(curve):
        if share >= coverage:
            return min(len(ranked), max(k, MIN_WORDS))
    return len(ranked)
