"""The shipped default model (`models/`): installed with the package, within its size budget,
and useful on first launch: it completes everyday English the way a reader expects."""

from __future__ import annotations

import math
import random

import pytest

from tuiwriter import cli
from tuiwriter.lm import checkpoint, names, store
from tuiwriter.predict.engine import Engine
from tuiwriter.predict.experts.corpus_memory import remembered_from
from tuiwriter.predict.policy import SuggestConfig
from tuiwriter.text.vocab import BASE_CHARS

MAX_BYTES = 20 * 1024 * 1024  # the model card's budget: a small wheel, a quick load

# Written for this test, not taken from the training books.
PROSE = (
    "When the rain stopped, she went out into the garden and looked at the house for a long "
    "time. Nobody had lived there since the winter, and the windows were dark. \"I should have "
    "come back sooner,\" she said to herself, and she walked slowly towards the door."
)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load(names.DEFAULT)


def bits_per_char(engine: Engine, text: str) -> float:
    bits = 0.0
    for i, ch in enumerate(text):
        bits -= float(engine.next_char_log_probs(text, i)[engine.vocab.id_of(ch)]) / math.log(2)
    return bits / len(text)


def suggestion(engine: Engine, text: str) -> str:
    return "".join(engine.suggest(text, len(text)))


def test_the_package_ships_it_within_budget_with_a_full_vocabulary():
    path = store.shipped_default()
    assert path.is_file(), "models/default.safetensors is missing from the package"
    assert path.stat().st_size <= MAX_BYTES
    ck = checkpoint.load(path)
    assert all(ck.vocab.id_of(ch) != 0 for ch in BASE_CHARS)  # notes with code and brackets
    assert ck.vocab.id_of("\u201c") == ck.vocab.id_of('"')  # curly quotes read as typed ones
    assert ck.training["corpus_file_count"] >= 19 and ck.training["val_bpc"] < 2.0
    assert "default" in {m.name for m in store.list_models()}


@pytest.mark.parametrize("prompt, expected", [
    ("Mr. Sherlock Hol", "mes"),
    ("He put his hand into his poc", "ket"),
    ("I beg your par", "don"),
    ("She looked out of the win", "dow"),
])
def test_it_completes_common_words(engine, prompt, expected):
    assert suggestion(engine, prompt).startswith(expected)


def test_it_knows_english_from_noise(engine):
    assert bits_per_char(engine, PROSE) < 2.3
    rng = random.Random(0)  # noise that does not repeat itself (a repeat is learnt: below)
    assert bits_per_char(engine, "".join(rng.choice("xqzvkwjpbt ") for _ in range(100))) > 5.0


def test_it_completes_a_name_the_document_introduced(engine):
    # a made-up name: the model alone cannot know it, the document match can
    engine = engine.sibling()  # a new document: nothing learnt from the other tests' text
    text = ("The letter was signed by Mr. Tobias Quarrendell, the lawyer. Nobody in the village "
            "had ever met him. When the carriage stopped at the inn, Mr. Tobias Quarr")
    assert suggestion(engine, text).startswith("endell")
    engine.config.document_match = False
    try:
        assert not suggestion(engine, text).startswith("endell")
    finally:
        engine.config.document_match = True


def test_a_model_completes_what_the_notes_it_trained_on_said(tmp_path):
    ck = checkpoint.load(store.shipped_default())
    text = "Tomorrow I must write to Percival Thwac"
    assert not suggestion(Engine(ck), text).startswith("kum")  # it cannot know the name
    notes = [f"Note {i}: ask Percival Thwackum about the lease." for i in range(3)]
    path = tmp_path / "model.safetensors"
    checkpoint.save(path, ck.build_model(), ck.vocab, {}, memory=remembered_from(notes, ck.vocab))
    assert suggestion(Engine(checkpoint.load(path), SuggestConfig(document_match=False)), text).startswith("kum")


def test_a_phrase_written_once_in_the_notes_is_completed_word_for_word(tmp_path):
    """A sentence the notes hold once, among many others: typing its first words brings the rest
    (a long match seen once is trusted: the mixer's 24+ length buckets)."""
    ck = checkpoint.load(store.shipped_default())
    phrase = "The lamplighter of Quillhaven keeps his ledgers in the blue tin under the stairs."
    topics = ["the garden", "the budget", "a letter", "the train", "the roof", "my sister", "the meeting"]
    notes = [f"Note {i}: remember to ask about {topics[i % 7]} before {topics[(i * 3 + 1) % 7]} is settled."
             for i in range(200)]
    notes.insert(37, phrase)
    path = tmp_path / "model.safetensors"
    checkpoint.save(path, ck.build_model(), ck.vocab, {}, memory=remembered_from(notes, ck.vocab))
    engine = Engine(checkpoint.load(path), SuggestConfig(document_match=False))
    assert suggestion(engine, "Notes for the week.\n\nThe lamplighter of Quill").startswith("haven keeps his ledgers")
    assert suggestion(engine, "Notes for the week.\n\nThe lamplighter of Quillhaven keeps his ledgers in the").startswith(
        " blue tin")


def test_generate_with_the_default_model_repeats_for_a_seed(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # found from anywhere, not only the source tree
    args = ["generate", "--model", "default", "--prompt", "It was a dark", "--length", "80", "--seed", "1"]
    assert cli.main(args) == 0
    first = capsys.readouterr().out
    assert cli.main(args) == 0
    assert capsys.readouterr().out == first
    assert first.startswith("It was a dark") and len(first.strip()) > 60
