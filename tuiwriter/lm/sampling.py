"""The lesson's generation loop: prime the network with a prompt, then feed each sampled
character back in. Temperature divides the logits: low is safe and repetitive, high is varied;
0 takes the most likely character every time.
"""

from __future__ import annotations

from typing import Iterator

import torch

from tuiwriter.lm.model import CharRNN
from tuiwriter.text.vocab import Vocab


def pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None = None) -> int:
    """One character id from next-character logits [vocab] (id 0, the unknown symbol, never)."""
    logits = logits.float().clone()
    logits[0] = float("-inf")
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


@torch.inference_mode()
def sample(model: CharRNN, vocab: Vocab, prompt: str, length: int, temperature: float,
           seed: int | None = None) -> Iterator[str]:
    """Yield `length` characters continuing `prompt`."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    primer = prompt or "\n"
    ids = torch.tensor([vocab.encode(primer)])
    logits, state = model(ids)
    last = logits[0, -1]
    for _ in range(length):
        nxt = pick(last, temperature, generator)
        yield vocab.chars[nxt]
        last, state = model.step(torch.tensor([nxt]), state)
        last = last[0]
