"""What every run sets up: a resumed run continues the model and learning rate it had."""

from __future__ import annotations

import torch

from tests.conftest import tiny_text
from tuiwriter.lm import checkpoint
from tuiwriter.text import corpus
from tuiwriter.training import setup as training_setup


def test_a_resumed_fine_tune_keeps_its_weights_and_the_fine_tune_rate(tmp_path, tiny_checkpoint):
    notes = tmp_path / "notes.md"
    notes.write_text(tiny_text(20))
    ck = checkpoint.load(tiny_checkpoint)
    resumed = tmp_path / "run.safetensors"
    checkpoint.save(resumed, ck.build_model(), ck.vocab, {"from": "default"})
    setup = training_setup.prepare(corpus.collect([notes]), resume_from=resumed)
    assert setup.lr == training_setup.FINE_TUNE_LR
    assert setup.summary["from"] == "default"
    for name, weight in ck.build_model().state_dict().items():
        assert torch.equal(setup.model.state_dict()[name], weight), name
    fresh = training_setup.prepare(corpus.collect([notes]), size="tiny")
    assert fresh.lr == training_setup.NEW_LR


def test_the_corpus_is_read_as_ids_the_loop_can_train_on(tmp_path):
    from tuiwriter.text.vocab import Vocab

    (tmp_path / "a.md").write_text("Caf\u00e9 \u201cnotes\u201d \u2014 day one.\n" * 60)
    (tmp_path / "b.md").write_text("token: abc123\n" + tiny_text(20))  # two files: the tail validates
    data = corpus.collect([tmp_path])
    texts = [text for _, text in data.iter_texts()]
    fresh = training_setup.prepare(data, size="tiny")
    assert fresh.vocab == Vocab.build(texts) and "\u00e9" in fresh.vocab.chars
    assert fresh.train_ids.dtype == torch.uint8 and fresh.val_ids.dtype == torch.uint8
    joined = fresh.vocab.encode(corpus.JOIN.join(texts))
    assert fresh.held == [] and fresh.train_ids.tolist() + fresh.val_ids.tolist() == joined
    remembered = bytes(fresh.memory.text).decode()
    long_lines = {line for line in fresh.vocab.fold_text(corpus.JOIN.join(texts)).split("\n") if len(line) >= 32}
    assert sorted(line for line in remembered.split("\n") if len(line) >= 32) == sorted(long_lines)  # each once
    assert "Cafe" not in remembered and "Caf\u00e9 \"notes\" - day one." in remembered and "abc123" not in remembered
    assert fresh.unknown_chars == 0


def test_a_word_level_run_reads_token_ids_and_validates_per_character(tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text(tiny_text(30) + "A zyzzyva and a quokka met.\n")
    setup = training_setup.prepare(corpus.collect([notes]), size="tiny", level="word")
    assert setup.level == "word" and setup.summary["level"] == "word"
    assert setup.model.config.vocab_size == len(setup.words) > 50
    assert int(setup.train_ids.max()) < len(setup.words) and int(setup.val_ids.max()) < len(setup.words)
    n = setup.val_ids.numel()
    spelling_only = setup.val_per_char(0.0, n)  # the unknown words' spellings, per character
    assert spelling_only > 0
    per_token = setup.val_per_char(1.0, n) - spelling_only  # nats per token -> per character: / chars a token
    assert 1 / 8 < per_token < 1 / 2


def test_a_model_keeps_its_level(tmp_path, tiny_checkpoint):
    import pytest

    notes = tmp_path / "notes.md"
    notes.write_text(tiny_text(30))
    with pytest.raises(checkpoint.CheckpointError, match="char-level model and cannot train as a word-level one"):
        training_setup.prepare(corpus.collect([notes]), base=str(tiny_checkpoint), level="word")
    assert training_setup.prepare(corpus.collect([notes]), base=str(tiny_checkpoint)).level == "char"
