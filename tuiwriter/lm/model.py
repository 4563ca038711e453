"""The character-level language model: embedding, a stack of LSTM (or GRU) layers, a linear head.

Training runs whole sequences through the stock `nn.LSTM`; the completion engine advances one
character at a time through `step`, which keeps the same state layout so the two agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from tuiwriter.lm.names import SIZES  # noqa: F401 - the presets, re-exported beside the model they shape

# A state is one tensor for a GRU (h) or a pair (h, c) for an LSTM, each [layers, batch, hidden].
State = tuple[torch.Tensor, ...]


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    embed: int = 64
    hidden: int = 512
    layers: int = 2
    cell: str = "lstm"  # "lstm" or "gru", as in the lesson
    dropout: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})




class CharRNN(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.cell not in ("lstm", "gru"):
            raise ValueError(f"unknown cell type {config.cell!r} (use lstm or gru)")
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed)
        rnn_cls = nn.LSTM if config.cell == "lstm" else nn.GRU
        self.rnn = rnn_cls(
            config.embed,
            config.hidden,
            num_layers=config.layers,
            batch_first=True,
            dropout=config.dropout if config.layers > 1 else 0.0,
        )
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.hidden, config.vocab_size)

    def init_state(self, batch: int = 1) -> State:
        """The zero state every document starts from."""
        p = self.head.weight
        zeros = lambda: torch.zeros(self.config.layers, batch, self.config.hidden, dtype=p.dtype, device=p.device)  # noqa: E731
        return (zeros(), zeros()) if self.config.cell == "lstm" else (zeros(),)

    def forward(self, ids: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """ids [batch, time] -> logits [batch, time, vocab] and the state after the last step."""
        x = self.embed(ids)
        if state is None:
            state = self.init_state(ids.shape[0])
        rnn_state = state if self.config.cell == "lstm" else state[0]
        out, new = self.rnn(x, rnn_state)
        new_state: State = tuple(new) if self.config.cell == "lstm" else (new,)
        return self.head(self.drop(out)), new_state

    @torch.inference_mode()
    def step(self, ids: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """One character per stream: ids [batch] -> logits [batch, vocab], next state."""
        logits, new_state = self.forward(ids.unsqueeze(1), state)
        return logits[:, 0], new_state

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


@torch.no_grad()
def mid_text_state(model: CharRNN, ids: torch.Tensor, streams: int = 16, length: int = 1024,
                   skip: int = 256, every: int = 32) -> State:
    """The model's mean state in the middle of its text: where reading that starts inside a
    document begins (the completion engine's window rule) rather than at the document-start zero
    state, which the model reads as "a document begins here". Averaged over `streams` evenly
    spaced stretches of `ids` (the training text), every `every` characters past the first `skip`.
    Returns the state with a batch of 1 ([layers, 1, hidden] each)."""
    was_training = model.training
    model.eval()
    n = ids.numel()
    length = min(length, max(1, (n - 1) // max(1, streams)))
    streams = max(1, min(streams, n // max(1, length)))
    starts = torch.arange(streams, device=ids.device) * (n // streams)
    text = ids[starts[:, None] + torch.arange(length, device=ids.device)[None, :]].long()
    state = model.init_state(streams)
    sums = [torch.zeros_like(s[:, :1]) for s in state]
    count = 0
    for pos in range(0, length, every):
        _, state = model(text[:, pos:pos + every], state)
        if pos + every > skip:
            sums = [total + s.sum(dim=1, keepdim=True) for total, s in zip(sums, state)]
            count += streams
    model.train(was_training)
    if count == 0:
        return model.init_state(1)
    return tuple(total / count for total in sums)
