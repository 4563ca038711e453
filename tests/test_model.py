import pytest
import torch

from tuiwriter.lm.model import SIZES, CharRNN, ModelConfig


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_stepping_one_character_at_a_time_matches_the_whole_sequence(cell):
    torch.manual_seed(0)
    model = CharRNN(ModelConfig(vocab_size=30, cell=cell, **SIZES["tiny"])).eval()
    ids = torch.randint(0, 30, (2, 12))
    with torch.no_grad():
        full, _ = model(ids)
    state = model.init_state(2)
    for t in range(12):
        logits, state = model.step(ids[:, t], state)
        assert torch.allclose(logits, full[:, t], atol=1e-5)


def test_unknown_cell_type_is_refused():
    with pytest.raises(ValueError, match="cell"):
        CharRNN(ModelConfig(vocab_size=10, cell="transformer"))


def test_size_presets_grow():
    params = [CharRNN(ModelConfig(vocab_size=100, **SIZES[s])).num_params() for s in ("tiny", "small", "medium", "base", "large")]
    assert params == sorted(params)
