"""The lesson's generation loop: prime the network with a prompt, then feed each sampled
character (a word-level model: each sampled token) back in. Temperature divides the logits: low is safe and repetitive, high is varied;
0 takes the most likely character every time.
"""

from __future__ import annotations

from typing import Iterator

import torch

from tuiwriter.lm.model import CharRNN
from tuiwriter.text.vocab import Vocab
from tuiwriter.text.words import WordVocab


def pick(logits: torch.Tensor, temperature: float, generator: torch.Generator | None = None) -> int:
    """One id from next-character (or next-token) logits [vocab] (id 0, the unknown symbol, never)."""
    logits = logits.float().clone()
    logits[0] = float("-inf")
    if temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def sample(model: CharRNN, vocab: Vocab, prompt: str, length: int, temperature: float,
           seed: int | None = None) -> Iterator[str]:
    """Yield `length` characters continuing `prompt`."""
    for nxt in _continue(model, vocab.encode(prompt or "\n"), length, temperature, seed):
        yield vocab.chars[nxt]


def sample_words(model: CharRNN, words: WordVocab, prompt: str, length: int, temperature: float,
                 seed: int | None = None) -> Iterator[str]:
    """Yield `length` tokens (words with their space, punctuation marks, line ends) continuing
    `prompt`, read as tokens (a word outside the vocabulary is read as the unknown token; the
    unknown token is never drawn)."""
    for nxt in _continue(model, words.encode(prompt or "\n"), length, temperature, seed):
        yield words.tokens[nxt]


@torch.inference_mode()
def _continue(model: CharRNN, primer: list[int], length: int, temperature: float,
              seed: int | None) -> Iterator[int]:
    """The lesson's loop over ids: read the primer, then draw and feed back `length` ids."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    logits, state = model(torch.tensor([primer]))
    last = logits[0, -1]
    for _ in range(length):
        nxt = pick(last, temperature, generator)
        yield nxt
        last, state = model.step(torch.tensor([nxt]), state)
        last = last[0]
