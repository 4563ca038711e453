"""Experts: second opinions on the next character, combined with the model's by the mixer.

Each expert reads the document as the engine's state cache does (`forget_after` where the text
changed, `read` as it grows) and, asked about the text before the cursor plus what a suggestion
has decoded so far, gives `Inputs`: `width` log-distributions over the vocabulary (counts of what
followed the context somewhere, smoothed with the model's own distribution so that none is zero
anywhere) and a `context` (0 <= context < `contexts`, e.g. a bucket of its match length) that
picks which of the mixer's weights combine them. None means no opinion: the model's log-probs
stand in and the context is 0. The engine loops over its experts and knows nothing else about
any of them; how much each input is trusted is the mixer's to learn (`predict.mixer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


@dataclass
class Opinion:
    """A distribution over the vocabulary, `mass / total`, and the share of the probability a
    linear mixture would give it (the trust tables fitted before the mixer learnt it)."""

    mass: torch.Tensor  # [vocab], non-negative
    total: float
    trust: float


@dataclass
class Inputs:
    """What an expert gives the mixer: `width` log-distributions [vocab] (None: the model's own
    stands in) and its context."""

    logps: list[torch.Tensor | None]
    context: int


def mixer_rows(got: Inputs | None, model: torch.Tensor, width: int) -> list[torch.Tensor]:
    """An expert's `width` rows of the mixer's inputs: its log-distributions, the model's own
    `model` where it gave None or had no opinion at all."""
    if got is None:
        return [model] * width
    return [model if logp is None else logp for logp in got.logps]


class Expert(Protocol):
    width: int  # log-distributions it gives the mixer, always this many
    contexts: int  # values its context takes

    def forget_after(self, n: int) -> None:
        """The document changed at position n: forget what was read past it."""

    def read(self, doc: str) -> None:
        """`doc` starts with the text read so far and may go on: read what is new."""

    def inputs(self, doc: str, cursor: int, extra: str, probs: torch.Tensor) -> Inputs | None:
        """On the character after doc[:cursor] + extra (cursor <= the text read); `probs` is the
        model's distribution there, which the counts are smoothed with."""

    def for_another_document(self) -> "Expert":
        """The expert for another document: what does not depend on the document is shared."""


def smoothing(n: float, distinct: int, beta: float = 1.0) -> tuple[float, float]:
    """How an expert's counts (n in all, `distinct` characters) are smoothed with the model's
    distribution p: (counts + b * p) / (n + b) with b = beta * max(1, distinct), an escape to the
    model as PPM escapes to a shorter context (method C), so a character the counts never saw keeps
    the model's probability, scaled down. Returned as the affine form's (n + b, b / (n + b)): the
    smoothed distribution is counts / (n + b) + (b / (n + b)) * p, which an expert can compute once
    per context and apply to each p in a few tensor operations."""
    b = beta * max(1, distinct)
    return n + b, b / (n + b)


def bucket(value: int, edges: tuple[int, ...]) -> int:
    """0 below edges[0], k for edges[k-1] <= value < edges[k], len(edges) from the last one."""
    k = 0
    for edge in edges:
        if value >= edge:
            k += 1
    return k
