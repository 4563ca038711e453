"""Secrets in a notes folder: files that are secrets by name, and secret-looking spans in text.

A model trained on notes can repeat them, and its corpus memory stores them verbatim, so a
secret must never reach training. Two checks, both cheap enough for hundreds of MB:

- `is_secret_name(name)`: key files, `.env` files, credential stores (SECRET_NAMES and
  SECRET_SUFFIXES below).
- `find_secrets(text)`: spans that look like a secret, each with its kind: private key blocks,
  well-known token formats (TOKEN_FORMATS), passwords in URLs, the value of a
  `password = …`/`token: …` assignment (ASSIGNMENT), and long random-looking strings
  (`looks_random` says exactly which). Every scan of the whole text runs at C speed (regular
  expressions that start with a literal, bytes searches, numpy); Python runs per candidate
  only: 20 MB of technical notes take under a second (`tests/bench_secrets.py`).

`scrub(text)` removes every span (drops it, leaving no placeholder): the text keeps no trace of
the secret, not even its length, and the model learns no placeholder it could later suggest.
The editor's ghost filter uses the same `find_secrets`, so what training drops is never shown;
`shown_early` says how much of a word can be shown before it is complete: all of it where no rule
could make it secret (`may_show_early`), else up to where every run a secret could span has ended.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

# Exact file names, compared lower-cased. SSH private keys only: `id_rsa.pub` is public.
SECRET_NAMES = frozenset({
    ".env", ".envrc", ".netrc", "_netrc", ".pgpass", ".htpasswd", ".git-credentials", ".npmrc",
    ".pypirc", ".dockercfg", "credentials", "credentials.json", "id_rsa", "id_dsa", "id_ecdsa",
    "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk",
})
SECRET_PREFIXES = (".env.",)  # .env.local, .env.production
# Key and certificate stores, password databases, PuTTY keys, Terraform state (holds secrets).
SECRET_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".keystore", ".jks", ".kdbx", ".ppk", ".tfstate")


def is_secret_name(name: str) -> bool:
    """True for a file name that holds secrets by convention (`.env.local`, `id_rsa`, `x.pem`)."""
    lower = name.lower()
    return lower in SECRET_NAMES or lower.startswith(SECRET_PREFIXES) or lower.endswith(SECRET_SUFFIXES)


@dataclass(frozen=True)
class Secret:
    """text[start:end] looks like a secret of this kind (e.g. "GitHub token")."""

    start: int
    end: int
    kind: str


RANDOM_KIND = "random-looking string"

# A private key block, whole. One without its END line runs on over lines of base64 and
# `Name: value` headers (and a blank line before more base64, as in PGP's armour).
PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,20000}?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?:\r?\n(?:[A-Za-z0-9+/=]+|[A-Za-z][A-Za-z-]*: [^\r\n]*|(?=\r?\n[A-Za-z0-9+/=]{16,}))(?=\r?\n|$))*)")
URL_PASSWORD = re.compile(r"://[^\s/:@]+:(?P<value>[^\s/@]+)@")  # postgres://user:PASSWORD@host

# (kind, pattern) of tokens in a known format. Each pattern starts with a literal, which the
# regex engine finds at C speed; that the token starts a word is checked in Python, per match
# (a leading \b would make the engine try every position: 50x slower).
TOKEN_FORMATS: tuple[tuple[str, str], ...] = (
    ("AWS access key", r"AKIA[A-Z0-9]{16}\b"),
    ("AWS access key", r"ASIA[A-Z0-9]{16}\b"),
    ("GitHub token", r"gh[pousr]_[A-Za-z0-9]{36,255}\b"),
    ("GitHub token", r"github_pat_[A-Za-z0-9_]{22,255}\b"),
    ("GitLab token", r"glpat-[A-Za-z0-9_\-]{20,}"),
    ("Slack token", r"xox[abprs]-[A-Za-z0-9\-]{10,}"),
    ("Stripe key", r"sk_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("Stripe key", r"rk_(?:live|test)_[A-Za-z0-9]{16,}"),
    ("Google API key", r"AIza[A-Za-z0-9_\-]{35}"),
    ("API key", r"sk-[A-Za-z0-9_\-]{20,}"),  # OpenAI, Anthropic (sk-ant-…) and alike
    ("npm token", r"npm_[A-Za-z0-9]{36}\b"),
    ("PyPI token", r"pypi-AgE[A-Za-z0-9_\-]{50,}"),
    ("Hugging Face token", r"hf_[A-Za-z0-9]{34,}\b"),
    ("SendGrid key", r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}"),
    ("JWT", r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
)
_TOKENS = tuple((kind, re.compile(pattern)) for kind, pattern in TOKEN_FORMATS)
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")

# Key words whose assigned value is a secret, and the kind reported for each. `pass` and `pwd`
# count only in a longer key (`DB_PASS`, `smtp_pwd`): alone they are a test's result, a folder.
KEYWORDS = {
    "password": "password", "passwd": "password", "passphrase": "password", "pass": "password",
    "pwd": "password", "secret": "secret", "token": "token", "apikey": "API key", "accesskey": "access key",
    "credential": "credential", "credentials": "credential", "privatekey": "private key",
}
ONLY_IN_LONGER_KEYS = frozenset({"pass", "pwd"})
_ASSIGNMENT_KINDS = frozenset({f"{kind} assignment" for kind in KEYWORDS.values()} | {"AWS secret key"})
# Where a key word can start, found in the lower-cased text by literal search (C speed).
ANCHORS = tuple(re.compile(word) for word in (
    b"pass", b"pwd", b"secret", b"token", b"api", b"access", b"credential", b"private", b"authorization"))
# `password = …`, `db_password: …`, `"apiKey": "…"`, `GITHUB_TOKEN=…`, `:token => '…'`, matched
# from a key word on (the rest of the key is found by `_key_at`). The value is a quoted string,
# or else the rest of the line (a passphrase may hold spaces). `==`, `=~`, `::`, `://` and a
# colon followed by a letter (`pg:credentials:url`) are not assignments.
ASSIGNMENT = re.compile(
    r"""(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_\-]?key|access[_\-]?key|credentials?|private[_\-]?key)
        (?P<suffix>[A-Za-z0-9_.\-]*)["'`*]{0,3}[ \t]*(?::=|=>|:(?=[ \t"'`*])|=(?![=~]))[*_]{0,3}[ \t]*
        (?:"(?P<dq>[^"\n]+)"|'(?P<sq>[^'\n]+)'|`(?P<bq>[^`\n]+)`
           |(?P<bare>[^\s"'`][^\n\r]*?)[ \t]*[,;]?[ \t]*(?=[\r\n]|$))""",
    re.VERBOSE | re.IGNORECASE,
)
AUTHORIZATION = re.compile(r"""authorization["']?:[ \t]*(?:bearer|basic|token)[ \t]+(?P<value>[A-Za-z0-9._~+/\-]+=*)""",
                           re.IGNORECASE)
_KEY_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
# Values that are not secrets: placeholders, or references to where the secret lives (an
# environment variable, a command, a settings object, a function call).
NOT_A_VALUE = re.compile(
    r"""(?:null|none|nil|true|false|undefined|required|optional|string|str|int|bool|any|include|omit|same-origin
        |password|secret|token|changeme|redacted|hidden|[^A-Za-z0-9]*|[xX]+|<[^>]*>|\{\{.*\}\}|\[[^\]]*\]|%\w+%
        |\$[{(].*|(?-i:\$[A-Z_][A-Z0-9_]*)|[A-Za-z_$]+(?:\.[A-Za-z_$]+)+(?:[^\w.].*)?|[A-Za-z_]\w*[(\[].*)""",
    re.VERBOSE | re.IGNORECASE,
)

# A run of base64/base64url characters long enough to be a generated secret (`random_runs`).
MIN_RANDOM_LEN = 24
_B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_IS_B64 = bytes(1 if chr(b) in _B64_CHARS else 0 for b in range(256))  # a bytes.translate table
HEX = re.compile(r"[0-9a-f]+|[0-9A-F]+")
MIN_ENTROPY_RATIO = 0.8  # of log2(min(length, 64)): the entropy of that many distinct characters
MIN_CLASS_CHANGES = 0.4  # share of neighbouring letters and digits that change class (upper, lower, digit)


def _char_class(c: str) -> int:
    return 0 if c.isupper() else 1 if c.islower() else 2


def looks_random(run: str) -> bool:
    """Whether a run of base64-alphabet characters is random enough to be a generated key.

    It must mix upper case, lower case and digits, have a Shannon entropy of at least
    MIN_ENTROPY_RATIO x log2(min(length, 64)) bits per character, and its letters and digits
    (separators `+/_-` skipped) must change class (upper, lower, digit) between at least
    MIN_CLASS_CHANGES of neighbouring pairs. Uniformly random base62, base64 and base64url
    strings pass 96 % of the time at 24 characters, 99 % at 40 and 99.9 % at 64 or more
    (simulated, 3,000 of each); words, identifiers and URL paths rarely do: they repeat letters
    and stay in one class for a while (`doSomethingAfter200ms`, `docs/Web/HTTP/Status/308`).
    All-hex runs (commit ids, hashes, colours) are left alone: technical notes are full of them
    and they are seldom secrets; a hex secret assigned to a secret-named key is still found.
    """
    if HEX.fullmatch(run):
        return False
    if not (any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)):
        return False
    n = len(run)
    entropy = -sum(k / n * math.log2(k / n) for k in Counter(run).values())
    if entropy < MIN_ENTROPY_RATIO * math.log2(min(n, 64)):
        return False
    classes = [_char_class(c) for c in run if c.isalnum()]
    changes = sum(a != b for a, b in zip(classes, classes[1:]))
    return changes >= MIN_CLASS_CHANGES * (len(classes) - 1)


def _one_byte_per_char(text: str) -> bytes:
    """`text` as bytes, one per character (those beyond Latin-1 become `?`): byte offsets are
    character offsets, and ASCII searches run on bytes at C speed."""
    return text.encode("ascii") if text.isascii() else text.encode("latin-1", "replace")


def random_runs(raw: bytes, min_len: int = MIN_RANDOM_LEN) -> list[tuple[int, int]]:
    """(start, end) of every maximal run of base64-alphabet characters of at least `min_len` in
    `raw` (`_one_byte_per_char`), found with numpy: a regex would try every position."""
    inside = np.frombuffer(b"\0" + raw.translate(_IS_B64) + b"\0", dtype=bool)
    edges = np.flatnonzero(inside[1:] != inside[:-1])  # alternately a run's start and its end
    starts, ends = edges[0::2], edges[1::2]
    long = ends - starts >= min_len
    return list(zip(starts[long].tolist(), ends[long].tolist()))


def _key_at(text: str, start: int, end: int) -> str:
    """The whole key around a key word found at text[start:end] (`db_password` for `password`)."""
    while start > 0 and text[start - 1] in _WORD or start > 0 and text[start - 1] in ".-":
        start -= 1
    return text[start:end]


def _assignment_kind(key: str) -> str | None:
    """The kind of secret a key names, or None when the key word is only part of a word
    (`tokenizer`, `compass`, `max_tokens`): it must be one of the key's parts (split at `_`,
    `.`, `-` and camelCase humps) or two neighbouring parts (`api_key`, `apiKey`)."""
    parts = [p.lower() for p in _KEY_PARTS.findall(key)]
    if "aws" in parts and "secret" in parts:
        return "AWS secret key"
    for name in parts + [a + b for a, b in zip(parts, parts[1:])]:
        if name in KEYWORDS and not (name in ONLY_IN_LONGER_KEYS and len(parts) == 1):
            return f"{KEYWORDS[name]} assignment"
    return None


def _assignments(text: str, raw: bytes) -> list[Secret]:
    """Values assigned to secret-named keys, and credentials in Authorization headers."""
    lower = raw.lower()  # ASCII letters only, so offsets stay put
    starts = sorted({m.start() for anchor in ANCHORS for m in anchor.finditer(lower)})
    found: list[Secret] = []
    for at in starts:
        if lower.startswith(b"authorization", at):
            m = AUTHORIZATION.match(text, at)
            if m:
                found.append(Secret(m.start("value"), m.end("value"), "authorization header"))
            continue
        m = ASSIGNMENT.match(text, at)
        if m is None:
            continue
        kind = _assignment_kind(_key_at(text, at, m.end("suffix")))
        group = next(g for g in ("dq", "sq", "bq", "bare") if m.group(g) is not None)
        if kind is not None and not NOT_A_VALUE.fullmatch(m.group(group).strip()):
            found.append(Secret(m.start(group), m.end(group), kind))
    return found


def find_secrets(text: str) -> list[Secret]:
    """Every secret-looking span of `text`, sorted by start; overlapping spans are merged."""
    found = [Secret(m.start(), m.end(), "private key") for m in PRIVATE_KEY.finditer(text)]
    for kind, pattern in _TOKENS:
        found += [Secret(m.start(), m.end(), kind) for m in pattern.finditer(text)
                  if m.start() == 0 or text[m.start() - 1] not in _WORD]
    found += [Secret(m.start("value"), m.end("value"), "password in URL") for m in URL_PASSWORD.finditer(text)
              if not NOT_A_VALUE.fullmatch(m.group("value"))]
    raw = _one_byte_per_char(text)
    found += _assignments(text, raw)
    found += [Secret(start, end, RANDOM_KIND) for start, end in random_runs(raw) if looks_random(text[start:end])]
    return _merge(found)


# A secret key word (`ANCHORS`) on a line, then a separator: where an assigned value (or a header's
# credentials) could follow. Looser than ASSIGNMENT on purpose: the value may not be written yet.
_KEY_THEN_SEPARATOR = re.compile(
    "(?:" + "|".join(anchor.pattern.decode() for anchor in ANCHORS) + r")[A-Za-z0-9_.\-]*[\"'`*]{0,3}[ \t]*(?::|=)",
    re.IGNORECASE)


def may_show_early(text: str) -> bool:
    """Whether a ghost may show the end of `text` (the text before the cursor and the suggestion
    decoded so far) before its word is complete, rather than judge the word whole first. Only a
    word of ASCII letters (lower case after the first), of digits alone, or with no letter or digit
    at all, on a line with no secret key word followed by `:` or `=`, after no private key header:
    no rule of `find_secrets` makes such a word part of a secret. A random-looking string mixes
    cases and digits, every token format holds a digit, a capital, `_` or `-` within its first
    characters past a public prefix (`ghp`, `sk`), a password in a URL follows `:` in the same
    word, a key block follows its header; an assigned value needs a key word and a separator on
    its line. So the first word of most suggestions streams as it is decoded."""
    line_start = text.rfind("\n") + 1
    return _plain_word(text[_word_start(text, line_start):]) and _no_value_can_follow(text, line_start)


def _word_start(text: str, line_start: int) -> int:
    """Where the last word of `text` starts (after the last blank on its last line)."""
    return max(text.rfind(" "), text.rfind("\t"), line_start - 1) + 1


def _plain_word(word: str) -> bool:
    """ASCII letters (lower case after the first), digits alone, or no letter or digit at all."""
    return word.isascii() and (word.isalpha() and word[1:].islower() or word.isdigit()
                               or not any(c.isalnum() for c in word))


def _no_value_can_follow(text: str, line_start: int) -> bool:
    """No secret key word and separator on the last line (an assigned value may follow them),
    and no private key header before."""
    return _KEY_THEN_SEPARATOR.search(text, line_start) is None and "PRIVATE KEY" not in text


# Tokens whose format spans a dot (SendGrid's `SG.…….……`, a JWT's three parts): no run ends them.
_DOTTED_TOKEN_STARTS = ("SG.", "eyJ")


def shown_early(text: str, start: int) -> int:
    """How many characters of text[start:], the first word of a ghost decoded so far after the
    text before the cursor, may show before the word is complete. All of them where
    `may_show_early` holds. Else up to the word's last character outside the base64 alphabet
    (`.`, `:`, `(`, `?`, `#`, ...): every run of base64 characters before it has ended, and a
    random-looking string or a token in a known format lies within one run, so what follows
    cannot make any of it part of a secret; the guard judges those runs before they show. Less
    where a token that spans dots has begun (up to its start), and where a URL's password could
    follow (`://user:` with no `/` after it yet: up to that `:`); none on a line with a secret
    key word and a separator (an assigned value may follow) or after a private key header.
    This is what shows a link's `(https:` and `//github.` while the rest of its path is judged
    whole."""
    line_start = text.rfind("\n") + 1
    if not _no_value_can_follow(text, line_start):
        return 0
    word_start = _word_start(text, line_start)
    if _plain_word(text[word_start:]):  # `may_show_early`
        return len(text) - start
    end = len(text)
    for lead in _DOTTED_TOKEN_STARTS:
        at = text.find(lead, word_start)
        if at >= 0:
            end = min(end, at)
    at = text.find("://", word_start)
    while 0 <= at < end:  # `://user:PASSWORD@`: the password follows the first `:` before any `/`
        colon = text.find(":", at + 3, end)
        if colon >= 0 and text.find("/", at + 3, colon) < 0 and text.find("/", colon) < 0:
            end = colon + 1
        at = text.find("://", at + 3)
    for i in range(end - 1, start - 1, -1):
        if text[i] not in _B64_CHARS:
            return i + 1 - start
    return 0


def _merge(spans: list[Secret]) -> list[Secret]:
    """Sorted and non-overlapping: overlapping spans become one, named for its most specific
    kind (a token format, then an assignment, then a random-looking string)."""
    def rank(kind: str) -> int:
        return 2 if kind == RANDOM_KIND else 1 if kind in _ASSIGNMENT_KINDS else 0

    spans.sort(key=lambda s: (s.start, -s.end))
    merged: list[Secret] = []
    for s in spans:
        if merged and s.start < merged[-1].end:
            last = merged[-1]
            kind = s.kind if rank(s.kind) < rank(last.kind) else last.kind
            merged[-1] = Secret(last.start, max(last.end, s.end), kind)
        else:
            merged.append(s)
    return merged


def remove_spans(text: str, spans: list[Secret]) -> str:
    """`text` without the (sorted, non-overlapping) spans."""
    if not spans:
        return text
    pieces, last = [], 0
    for s in spans:
        pieces.append(text[last:s.start])
        last = s.end
    pieces.append(text[last:])
    return "".join(pieces)


def scrub(text: str) -> tuple[str, list[Secret]]:
    """`text` with every secret-looking span removed, and the spans removed (offsets into `text`)."""
    spans = find_secrets(text)
    return remove_spans(text, spans), spans
