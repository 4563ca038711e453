"""The corpus memory finds the longest ending of the context in the remembered text and counts
what followed it there; a model trained with `tuiwriter train` keeps its corpus this way."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tuiwriter.predict.experts import corpus_memory
from tuiwriter.predict.experts.corpus_memory import (
    MIN_MATCH,
    CorpusMemory,
    suffix_array,
    trust,
)
from tuiwriter.text import corpus
from tuiwriter.text.vocab import Vocab
from tuiwriter.training import setup as training_setup


def memory_of(text: str) -> tuple[CorpusMemory, Vocab]:
    vocab = Vocab.build([text])
    return CorpusMemory(text, vocab.encode(text), len(vocab)), vocab


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="abc", max_size=80), st.integers(min_value=1, max_value=9))
def test_the_suffix_array_sorts_suffixes_on_their_first_symbols(text, depth):
    ids = np.array([ord(c) for c in text], dtype=np.int64)
    order = suffix_array(ids, depth)
    assert sorted(order.tolist()) == list(range(len(text)))
    keys = [text[p:p + depth] for p in order]
    assert keys == sorted(keys)


def test_it_counts_what_followed_the_longest_ending():
    memory, vocab = memory_of("zz abcX abcY abcX zz")
    counts, length = memory.predict("qq abc")
    assert length == len(" abc")
    assert counts[vocab.id_of("X")] == 2 and counts[vocab.id_of("Y")] == 1 and counts.sum() == 3
    counts, length = memory.predict("Y abc")  # "Y abc" occurs once, followed by "X"
    assert length == len("Y abc") and counts[vocab.id_of("X")] == 1 and counts.sum() == 1


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="abé ", min_size=1, max_size=60), st.text(alphabet="abé ", min_size=3, max_size=12))
def test_characters_outside_the_vocabulary_do_not_confuse_the_search(text, context):
    vocab = Vocab.build(["ab "])  # "é" is unknown to this model
    memory = CorpusMemory(text, vocab.encode(text), len(vocab))
    expected = None
    for length in range(min(len(context), corpus_memory.MAX_MATCH), MIN_MATCH - 1, -1):
        ending = context[-length:]
        after = [text[p + length] for p in range(len(text) - length) if text.startswith(ending, p)]
        if after:
            expected = (length, sorted(c for c in after if vocab.id_of(c) != 0))
            break
    got = memory.predict(context)
    if expected is None or not expected[1]:
        assert got is None
    else:
        counts, length = got
        assert length == expected[0]
        assert sorted(c for c in vocab.chars for _ in range(int(counts[vocab.id_of(c)]))
                      if vocab.id_of(c) != 0) == expected[1]


def test_no_prediction_without_a_long_enough_match():
    memory, _ = memory_of("hello world, hello there")
    assert memory.predict("xyz") is None
    assert memory.predict("ere") is None  # "ere" ends the text: nothing followed it
    assert trust(MIN_MATCH - 1, 9) == 0.0 < trust(MIN_MATCH, 1) < trust(MIN_MATCH, 9)


def test_a_long_random_text_finds_every_context_it_holds():
    rng = random.Random(0)
    text = "".join(rng.choice("abcd ") for _ in range(5000))
    memory, vocab = memory_of(text)
    for _ in range(50):
        at = rng.randrange(40, len(text) - 1)
        counts, length = memory.predict(text[at - 30:at])
        assert length >= MIN_MATCH and counts[vocab.id_of(text[at])] >= 1


def test_training_remembers_the_corpus_it_read(tmp_path):
    (tmp_path / "a.md").write_text("First note about Quarrendell.\n" * 40)
    (tmp_path / "b.md").write_text("Second note, about nothing.\n" * 40)
    data = corpus.collect([tmp_path])
    setup = training_setup.prepare(data, size="tiny")
    assert "Quarrendell" in setup.memory and "about nothing" in setup.memory
    assert corpus_memory.remembered(data) == setup.memory


def test_the_remembered_text_is_the_tail_of_the_corpus_without_its_secrets(tmp_path, monkeypatch):
    (tmp_path / "a.md").write_text("Alpha note, the first of three.\n" * 40)
    (tmp_path / "b.md").write_text("Beta note: password: hunter2 is gone.\n" + "Beta goes on.\n" * 40)
    (tmp_path / "c.md").write_text("Gamma note, the last one.\n" * 40)
    data = corpus.collect([tmp_path])
    texts = [text for _, text in data.iter_texts()]
    assert corpus_memory.remembered(data) == corpus.JOIN.join(texts)
    assert "hunter2" not in corpus_memory.remembered(data)
    for cap in (10, len(texts[2]) + 1, len(texts[2]) + 3, 2000):
        monkeypatch.setattr(corpus_memory, "MAX_CHARS", cap)
        assert corpus_memory.remembered(data) == corpus.JOIN.join(texts)[-cap:]
