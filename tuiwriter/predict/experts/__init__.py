"""Experts: second opinions on the next character, mixed into the model's by the engine.

Each expert reads the document as the engine's state cache does (`forget_after` where the text
changed, `read` as it grows) and, asked about the text before the cursor plus what a suggestion
has decoded so far, gives an `Opinion` or None. The engine loops over its experts and knows
nothing else about any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


@dataclass
class Opinion:
    """A distribution over the vocabulary, `mass / total`, and the share of the probability the
    mixture gives it: p = (1 - trust) * p + trust * mass / total."""

    mass: torch.Tensor  # [vocab], non-negative
    total: float
    trust: float


class Expert(Protocol):
    def forget_after(self, n: int) -> None:
        """The document changed at position n: forget what was read past it."""

    def read(self, doc: str) -> None:
        """`doc` starts with the text read so far and may go on: read what is new."""

    def opinion(self, doc: str, cursor: int, extra: str) -> Opinion | None:
        """On the character after doc[:cursor] + extra (cursor <= the text read)."""

    def for_another_document(self) -> "Expert":
        """The expert for another document: what does not depend on the document is shared."""
