"""Secrets by file name and secret-looking spans in text: each rule finds what it should, leaves
ordinary technical notes alone, and scrubbing leaves nothing of a secret behind."""

from __future__ import annotations

import random
import string

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tuiwriter.text.secrets import (
    RANDOM_KIND,
    Secret,
    find_secrets,
    is_secret_name,
    looks_random,
    may_show_early,
    scrub,
    shown_early,
)


@pytest.mark.parametrize("name", [
    ".env", ".env.local", ".ENV.production", "id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "server.pem",
    "tls.key", "cert.p12", "cert.pfx", "release.keystore", "app.jks", "vault.kdbx", "putty.ppk", ".netrc",
    ".pgpass", ".htpasswd", "credentials", ".git-credentials", ".npmrc", ".pypirc", "SERVER.PEM", "main.tfstate",
])
def test_secret_file_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["id_rsa.pub", "id_ed25519.pub", "notes.md", "keys.md", "environment.md",
                                  "credentials.md", "passwords-to-change.txt", "key.txt", "env"])
def test_ordinary_file_names(name):
    assert not is_secret_name(name)


def _only(text: str) -> Secret:
    found = find_secrets(text)
    assert len(found) == 1, found
    return found[0]


def _random_token(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


RNG = random.Random(7)
TOKENS = [
    ("AWS access key", "AKIA" + _random_token(RNG, 16, string.ascii_uppercase + string.digits)),
    ("AWS access key", "ASIA" + _random_token(RNG, 16, string.ascii_uppercase + string.digits)),
    ("GitHub token", "ghp_" + _random_token(RNG, 36)),
    ("GitHub token", "gho_" + _random_token(RNG, 36)),
    ("GitHub token", "ghu_" + _random_token(RNG, 36)),
    ("GitHub token", "ghs_" + _random_token(RNG, 36)),
    ("GitHub token", "ghr_" + _random_token(RNG, 36)),
    ("GitHub token", "github_pat_" + _random_token(RNG, 22) + "_" + _random_token(RNG, 59)),
    ("Slack token", "xoxb-" + _random_token(RNG, 12, string.digits) + "-" + _random_token(RNG, 24)),
    ("Stripe key", "sk_live_" + _random_token(RNG, 24)),
    ("Stripe key", "rk_live_" + _random_token(RNG, 24)),
    ("Google API key", "AIza" + _random_token(RNG, 35)),
    ("API key", "sk-" + _random_token(RNG, 48)),
    ("API key", "sk-ant-api03-" + _random_token(RNG, 80)),
    ("GitLab token", "glpat-" + _random_token(RNG, 20)),
    ("npm token", "npm_" + _random_token(RNG, 36)),
    ("Hugging Face token", "hf_" + _random_token(RNG, 34)),
    ("JWT", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
]


@pytest.mark.parametrize("kind, token", TOKENS)
def test_well_known_token_formats_are_found_whole(kind, token):
    text = f"Note to self: the token is {token} and it expires soon.\n"
    found = _only(text)
    assert text[found.start:found.end] == token and found.kind == kind


def test_a_token_inside_a_longer_word_is_not_a_token():
    assert find_secrets("the function mask_live_" + "a" * 30 + " does things") == []
    assert find_secrets("BAKIA" + "A" * 16) == []  # an AKIA that does not start a word


def test_private_key_blocks_are_found_whole_even_without_their_end():
    body = "\n".join(_random_token(RNG, 64, string.ascii_letters + string.digits + "+/") for _ in range(5))
    for begin, end in (("-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"),
                       ("-----BEGIN OPENSSH PRIVATE KEY-----", "-----END OPENSSH PRIVATE KEY-----"),
                       ("-----BEGIN PGP PRIVATE KEY BLOCK-----", "-----END PGP PRIVATE KEY BLOCK-----"),
                       ("-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----")):
        block = f"{begin}\n{body}\n{end}"
        text = f"Before the key.\n{block}\nAfter the key.\n"
        found = _only(text)
        assert text[found.start:found.end] == block and found.kind == "private key"
    cut = f"Pasted half a key:\n-----BEGIN PRIVATE KEY-----\n{body}\n\nThen the note goes on!\n"
    clean, _ = scrub(cut)
    assert clean == "Pasted half a key:\n\n\nThen the note goes on!\n"
    public = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
    assert "private key" not in {s.kind for s in find_secrets(public)}  # its base64 may still look random


@pytest.mark.parametrize("line, value, kind", [
    ("password = hunter2", "hunter2", "password assignment"),
    ("password: hunter2", "hunter2", "password assignment"),
    ("passwd: letmein99", "letmein99", "password assignment"),
    ("DB_PASS=s3cret-Value", "s3cret-Value", "password assignment"),
    ("token: abc123xyz", "abc123xyz", "token assignment"),
    ("GITHUB_TOKEN=not-a-known-format-9", "not-a-known-format-9", "token assignment"),
    ("secret=shh-dont-tell", "shh-dont-tell", "secret assignment"),
    ("client_secret: 'q1w2e3r4'", "q1w2e3r4", "secret assignment"),
    ('"apiKey": "k-1234-abcd",', "k-1234-abcd", "API key assignment"),
    ("api_key = 0123456789abcdef0123", "0123456789abcdef0123", "API key assignment"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
     "AWS secret key"),
    ("  :password => 'postgres',", "postgres", "password assignment"),
    ("passphrase: correct horse battery staple", "correct horse battery staple", "password assignment"),
    ("**Password:** swordfish", "swordfish", "password assignment"),
    ("Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl", "authorization header"),
    ("psql postgres://admin:Tr0ub4dor@db.example.com/app", "Tr0ub4dor", "password in URL"),
])
def test_the_value_of_a_secret_assignment_is_the_secret(line, value, kind):
    text = f"Some setup notes.\n{line}\nMore notes after.\n"
    found = _only(text)
    assert text[found.start:found.end] == value and found.kind == kind
    clean, _ = scrub(text)
    assert value not in clean and clean.startswith("Some setup notes.\n") and clean.endswith("\nMore notes after.\n")


@pytest.mark.parametrize("line", [
    "tokenizer: the BPE one",  # the key word is only part of a word
    "max_tokens: 1024",  # plural: a count, not a token
    "if password == expected:",  # a comparison
    "pass: true",  # `pass` and `pwd` alone are a test result and a folder
    "pwd: /home/me/notes",
    "token: ${{ secrets.GITHUB_TOKEN }}",  # where the secret lives, not the secret
    "password: <your password here>",
    'token = os.environ["GITHUB_TOKEN"]',
    "const apiKey = process.env.API_KEY",
    "password: $DB_PASSWORD",
    "x-api-key: $(op read op://vault/api/key)",
    'password: ""',
    "password: null",
    "secret: true",
    "heroku pg:credentials:url DATABASE_URL",
    "mongodb+srv://<USER>:<PASSWORD>@cluster.example.net",
])
def test_things_that_only_look_like_assignments_are_left_alone(line):
    assert find_secrets(line + "\n") == []


def test_ordinary_technical_notes_have_no_secrets():
    notes = """# Til: git and friends
Fixed in commit 3f786850e387550fdab836ed7e6dc881de23001b, see https://github.com/jbranchaud/til/blob/master/README.md
and https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/Intl/NumberFormat.
The request id was 123e4567-e89b-12d3-a456-426614174000; sha256 of the tarball:
e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
Call `doSomethingAfter200ms()` from `ActiveRecord::ConnectionAdapters::SchemaStatements`.
The file lives at /Library/Java/JavaVirtualMachines/jdk-9.0.4.jdk/Contents/Home and
/var/folders/zc/q6gnvbgx6kq77828jn38716r0000gn/T/pytest-of-me/pytest-2/test_start.
Colours: #ff8800, #00AA11. Version v2_5_5/String/unicode_normalize is documented.
A long_snake_case_identifier_with_many_words and aVeryLongCamelCaseIdentifierName2 are fine.
The password policy says: change it every 90 days. Tokens are counted per request.
""" * 3
    assert find_secrets(notes) == []


def test_random_looking_strings_are_found_and_judged_on_purpose():
    rng = random.Random(3)
    key = _random_token(rng, 40, string.ascii_letters + string.digits + "+/")
    text = f"the key {key} came from the console\n"
    found = _only(text)
    assert text[found.start:found.end] == key and found.kind == RANDOM_KIND
    assert not looks_random("e3b0c44298fc1c149afbf4c8996fb92427ae41e4")  # hex: a hash
    assert not looks_random("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789")  # an alphabet
    assert not looks_random("org/en-US/docs/Web/HTTP/Status/308")  # a URL path
    hits = sum(looks_random(_random_token(rng, 40)) for _ in range(300))
    assert hits >= 290  # 99 % of random 40-character strings (simulated: 99.3 %)


def test_spans_are_sorted_and_do_not_overlap():
    token = "ghp_" + _random_token(RNG, 36)
    text = (f"GITHUB_TOKEN={token}\n" + "plain words in between\n" + "password: hunter2\n"
            + "AKIAABCDEFGHIJKLMNOP and AKIAQRSTUVWXYZ234567\n")
    found = find_secrets(text)
    assert [s.kind for s in found] == ["GitHub token", "password assignment", "AWS access key", "AWS access key"]
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))


WORDS = ["the", "note", "said", "call", "later", "about", "garden", "train", "river", "and", "then"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=30), st.integers(min_value=0, max_value=30),
       st.sampled_from([t for _, t in TOKENS]), st.sampled_from(["", "token: ", "export KEY=", "(", '"']))
def test_scrubbing_leaves_no_recognisable_part_of_a_secret(words, at, token, before):
    at = min(at, len(words))
    text = " ".join(words[:at] + [before + token] + words[at:]) + "\n"
    clean, spans = scrub(text)
    assert spans and all(token[i:i + 8] not in clean for i in range(len(token) - 7))
    if before == "token: ":  # an assignment: its value is the rest of the line
        assert clean == text[:text.index(token)] + "\n"
    else:  # only the token goes
        assert clean == text.replace(token, "")


@pytest.mark.parametrize("text,early", [
    ("Some notes about the wea", True),  # a word of letters on an ordinary line
    ("Some notes. The", True),  # a capital first letter
    ("Some notes ", True),  # no word yet
    ("id AKIAIO", False),  # capitals past the first: a key format
    ("a token ghp_ab", False),  # `_` in the word
    ("see sk-pro", False),
    ("postgres://admin:hun", False),  # a password in a URL is in the same word
    ("db_password: hun", False),  # an assigned value: a key word and a separator on the line
    ("Authorization: Bearer abc", False),
    ("the api docs say", True),  # a key word without a separator: no value can follow
    ("rapid: the notes", False),  # a key word inside a word, then `:`: held too (a false alarm costs a delay only)
    ("meet at 1830", True),  # digits alone
    ("a rule ------", True),  # no letter or digit
    ("see :/", True),
    ("see ://user", False),
    ("call 555-12", False),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nabc", False),  # a key block's lines
    ("passed\nthen a plain wor", True),  # a key word on an earlier line does not count
])
def test_which_words_a_ghost_may_show_before_they_are_complete(text, early):
    assert may_show_early(text) is early


@given(st.text(alphabet=string.ascii_letters + string.digits + "+/_-=:. \n", max_size=80))
@settings(max_examples=300, deadline=None)
def test_a_word_shown_early_is_never_inside_a_secret(text):
    """Whatever comes before, a word `may_show_early` lets through is not part of any secret span
    (so streaming it reveals nothing the guard would have held)."""
    if may_show_early(text):
        word_start = max(text.rfind(" "), text.rfind("\n")) + 1
        assert all(span.end <= word_start or span.start >= len(text) for span in find_secrets(text))


@pytest.mark.parametrize("before,decoded,shown", [
    ("Read the [source", "](https://stackoverflow.com/questions/351", len("](https://stackoverflow.")),
    ("see https://developer.m", "ozilla.org/en-US/docs/Web", len("ozilla.")),  # host dots end runs
    ("the ", "docs](http://www.postgresql.org/docs/current/", len("docs](http://www.postgresql.")),
    ("see ", "(https://github.com/jbranchaud", len("(https://github.")),
    ("a plain ", "word", len("word")),  # `may_show_early`: all of it
    ("go to postgres://admin:", "hunter2@db.example", 0),  # a password after `://user:`, no `/` yet
    ("go to ", "https://admin:hunter2", len("https://admin:")),  # up to the `:`
    ("go to ", "https://example.com:8080/path.x", len("https://example.com:8080/path.")),  # `/` closes the host
    ("key ", "abc.SG.aBcD.xy", len("abc.")),  # SendGrid key: spans dots
    ("t ", "x.eyJhbGciOi.eyJzdWIi.sig", len("x.")),  # a JWT
    ("password = ", "abc.def", 0),  # an assigned value
    ("id ", "AKIAIOSFODNN7EXAMPLE", 0),  # one run: nothing until it ends
])
def test_how_much_of_a_word_a_ghost_may_show_before_it_is_complete(before, decoded, shown):
    assert shown_early(before + decoded, len(before)) == shown


FRAGMENTS = ["://", "user:", "pw@", "@", "SG.", "eyJ", "token=", "password: ", "AKIA", "sk-", "ghp_", "(", ")", ".",
             "/", "?", "#", " ", "\n", "-----BEGIN RSA PRIVATE KEY-----\n", "Authorization: Bearer ",
             "SG.abcdefghijklmnopqrstuv.", "eyJhbGciOiJI.", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ"]
PIECES = st.lists(st.one_of(st.sampled_from(FRAGMENTS),
                            st.text(alphabet=string.ascii_letters + string.digits + "+/_-=:.@?#(", min_size=1, max_size=30)),
                  max_size=8).map("".join)


@given(PIECES, PIECES, PIECES)
@example("go to ", "https://admin:hun.ter", "2@db")  # a password with a dot, its `@` still to come
@example("key ", "SG.abcdefghijklmnopqrstuv.", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ")
@example("t ", "eyJhbGciOiJI.eyJzdWIiOiIx.", "sig")
@settings(max_examples=600, deadline=None)
def test_what_shows_early_never_becomes_part_of_a_secret_whatever_follows(before, decoded, more):
    """The guard stops a ghost when a secret-looking span reaches into it; what `shown_early` lets
    show before the word is complete must stay outside every span, however the word goes on.
    (Only the part past `may_show_early`'s: a word of letters can still turn out to be the start of
    a random string, which is that rule's accepted cost.)"""
    text = before + decoded
    if may_show_early(text) or any(span.end > len(before) for span in find_secrets(text)):
        return  # streamed by the older rule, or the guard stops the ghost
    shown = shown_early(text, len(before))
    for span in find_secrets(text + more):
        assert max(span.start, len(before)) >= min(span.end, len(before) + shown), (span, shown)
