"""After training, a model's mixers learn where to start on its own validation text
(`training.warmup`): a person's next note is predicted better from the first character, and the
step never damages the model it writes into."""

from __future__ import annotations

import dataclasses
import math
import random
import shutil

import pytest
import torch

from tuiwriter.lm import checkpoint, store
from tuiwriter.predict.engine import Engine
from tuiwriter.predict.experts.corpus_memory import remembered_from
from tuiwriter.predict.mixer_init import initial_adaptation
from tuiwriter.training import warmup

TOOLS = ["git", "grep", "docker", "psql", "tmux", "curl", "rsync", "vim", "jq", "make"]
FLAGS = ["--all", "-n 5", "--quiet", "-v", "--help", "-r", "--dry-run", "-i"]
TOPICS = ["branches", "the log", "a container", "a table", "panes", "headers", "backups", "buffers"]


def notes(count: int, seed: int = 3) -> list[str]:
    """Short notes in one person's habits (a title, a sentence, a command, a pointer to the
    manual), like a folder of TIL notes; written for this test."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        tool, flag, topic = rng.choice(TOOLS), rng.choice(FLAGS), rng.choice(TOPICS)
        out.append(f"# Listing {topic} with {tool}\n\nThe `{flag}` flag makes `{tool}` show {topic} "
                   f"the way I want.\n\n```bash\n$ {tool} {flag}\n```\n\nSee `man {tool}` for more details.\n\n")
    return out


@pytest.fixture(scope="module")
def person(tmp_path_factory):
    """The shipped model after a warm-up on a person's notes: (its checkpoint with the notes
    remembered, the same without the learnt start, notes it has not seen)."""
    folder = tmp_path_factory.mktemp("warm")
    path = folder / "model.safetensors"
    shutil.copy(store.shipped_default(), path)
    vocab = checkpoint.load(path).vocab
    written = notes(120)
    train, val, unseen = "".join(written[:80]), "".join(written[80:110]), written[110:]
    ids = lambda text: torch.tensor(vocab.encode(text), dtype=torch.uint8)  # noqa: E731
    warmed = warmup.warm_up(path, vocab, ids(train), ids(val), None)
    assert warmed is not None and warmed.chars == len(val)
    ck = dataclasses.replace(checkpoint.load(path), memory=remembered_from([train], vocab))
    return ck, dataclasses.replace(ck, mixer_start=None), unseen


def bits_per_char(ck: checkpoint.Checkpoint, text: str) -> float:
    """The engine's bits/char on `text` typed as a new document (learning as the editor does)."""
    engine = Engine(ck)
    bits = 0.0
    for i, ch in enumerate(text):
        bits -= float(engine.next_char_log_probs(text, i)[engine.vocab.id_of(ch)]) / math.log(2)
        "".join(engine.suggest(text[:i + 1], i + 1))  # a suggestion after each key: the editor's learning
    return bits / len(text)


def test_the_persons_next_note_is_predicted_better_from_a_learnt_start(person):
    started, fitted, unseen = person
    with_start = sum(bits_per_char(started, note) for note in unseen[:4])
    without = sum(bits_per_char(fitted, note) for note in unseen[:4])
    assert with_start < 0.8 * without, (with_start, without)  # 0.33 against 0.73 bits/char when written


def test_every_document_starts_from_the_learnt_start(person):
    started, _, _ = person
    engine = Engine(started)
    for a in (engine.adaptation, engine.sibling().adaptation):
        assert torch.equal(a.weights, started.mixer_start.weights)
        assert torch.equal(a.side.nan_to_num(-7.0), started.mixer_start.side.nan_to_num(-7.0))
        assert a.head_b is None and a.learnt == 0  # the output layer's correction is not carried over
    assert started.training["mixer_start"]["chars"] > 0


def test_a_start_of_another_shape_falls_back_to_the_shared_fit(person):
    """A checkpoint written by a tuiwriter whose mixers had other inputs still loads and works."""
    started, _, _ = person
    s = started.mixer_start
    odd = dataclasses.replace(started, mixer_start=checkpoint.MixerStart(s.weights[:, :-3], s.side[:, :-3], s.final))
    assert torch.equal(Engine(odd).adaptation.weights, initial_adaptation().weights)


def test_a_start_learnt_before_the_corrections_were_inputs_keeps_what_it_learnt(person):
    """A model trained before the fast and pair corrections were the mixer's last inputs (stop 28
    and earlier) keeps its learnt start, the new inputs' weights at 0 (untrusted until learnt)."""
    started, _, _ = person
    s = started.mixer_start
    old = dataclasses.replace(started, mixer_start=checkpoint.MixerStart(s.weights[:, :-2], s.side[:, :-2], s.final))
    a = Engine(old).adaptation
    assert torch.equal(a.weights[:, :-2], s.weights[:, :-2]) and not a.weights[:, -2:].any()
    used = ~s.side[:, 0].isnan()
    assert used.any() and not a.side[used, -2:].any() and a.side[~used].isnan().all()


def test_too_little_validation_text_or_time_or_a_cancel_leaves_the_model_as_it_was(tmp_path):
    path = tmp_path / "model.safetensors"
    shutil.copy(store.shipped_default(), path)
    before = path.read_bytes()
    vocab = checkpoint.load(path).vocab
    ids = lambda text: torch.tensor(vocab.encode(text), dtype=torch.uint8)  # noqa: E731
    train = "".join(notes(40))
    assert warmup.warm_up(path, vocab, ids(train), ids(notes(1)[0]), None) is None  # a few hundred characters
    assert warmup.warm_up(path, vocab, ids(train), ids(train), 0.0) is None  # no time left
    assert warmup.warm_up(path, vocab, ids(train), ids(train), None, should_stop=lambda: True) is None  # Cancel
    assert path.read_bytes() == before


def test_the_reserve_is_a_tenth_of_the_budget_at_most_a_minute():
    assert warmup.reserve_s(1) == pytest.approx(6.0)
    assert warmup.reserve_s(10) == warmup.reserve_s(60) == warmup.MAX_SECONDS
    assert warmup.reserve_s(10, "word") == 0.0  # a word-level model trains through its budget
