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
