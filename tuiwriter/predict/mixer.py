"""The online mixer: the next-character distribution as a learned combination of experts.

Geometric mixing: p(a) ∝ exp(Σ_i w_{c,i} · log p_i(a)), over the inputs p_i (the model's own
log-probabilities first, then each expert's, `experts.Inputs`), with the weight vector w_c the sum
of one row per small context c: the experts' contexts combined (which matches were found and how
long), and the class of the character before (`char_class`: a letter, a space, a line end...). After each
character x the person writes, the weights of the context used there move along the gradient of
log p(x): Δw_i = η (log p_i(x) − Σ_a p(a) log p_i(a)) (each row of c moves so), so the mixture learns, in each document,
how far to trust each expert in each situation. The weights start from an offline fit on text
outside the dev texts (`mixer_init`, `python -m tuiwriter.bench --fit-mixer`).

Dynamic evaluation (`AdaptiveHead`): the model's output layer gets a learned correction,
logits + ΔW h + Δb, updated by the same characters with the model's own gradient
(ΔW += λ_W (onehot(x) − p) hᵀ), so the LSTM itself drifts towards the document's names and habits.

Both live in an `Adaptation`, which the engine replaces (never mutates) at each update: a
suggestion being decoded keeps the snapshot it started with. The rule for which characters it
learns from is the engine's (`Engine`, "learning").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ETA = 0.002  # the mixer's learning rate (bench --fit-mixer)
HEAD_RATE_B = 0.003  # dynamic evaluation: the output bias's rate ...
HEAD_RATE_W = 0.002  # ... and the output weights' (0 turns that part off)


@dataclass(frozen=True)
class Adaptation:
    """What the engine has learnt from one document: mixer weights [contexts, inputs], the output
    layer's correction (ΔW [vocab, hidden], Δb [vocab]; None until the first update), and the
    position of the text it has learnt from up to (see `Engine`)."""

    weights: torch.Tensor
    head_w: torch.Tensor | None = None
    head_b: torch.Tensor | None = None
    learnt: int = 0


def char_class(ch: str) -> int:
    """The class of the character before the cursor (0: none, at the document's start)."""
    if not ch:
        return 0
    if ch.isalpha():
        return 1 if ch.isupper() else 2
    if ch.isdigit():
        return 3
    for k, group in enumerate((" \t", "\n", ".!?", ",;:", "'\"", "-_/\\|", "()[]{}<>"), start=4):
        if ch in group:
            return k
    return CLASSES - 1


CLASSES = 12


def mix(weights: torch.Tensor, inputs: torch.Tensor, rows: tuple[int, ...]) -> torch.Tensor:
    """log p [vocab] of the mixture of `inputs` [n, vocab] (log-distributions) with the sum of the
    weight `rows` (one per context)."""
    w = weights[rows[0]]
    for row in rows[1:]:
        w = w + weights[row]
    return torch.log_softmax(w @ inputs, dim=0)


def mixer_gradient(inputs: torch.Tensor, logp: torch.Tensor, x: int) -> torch.Tensor:
    """d log p(x) / d w for the mixture `logp` of `inputs`: log p_i(x) − E_p[log p_i]."""
    return inputs[:, x] - inputs @ logp.exp()


def learn_mixer(weights: torch.Tensor, inputs: torch.Tensor, rows: tuple[int, ...], logp: torch.Tensor, x: int,
                eta: float = ETA) -> torch.Tensor:
    """New weights (a copy: snapshots stay as they were) after the character `x` where the mixture
    `logp` of `inputs` was predicted with the weight `rows`."""
    out = weights.clone()
    step = eta * mixer_gradient(inputs, logp, x)
    for row in rows:
        out[row] += step
    return out


def adapted_log_probs(logp: torch.Tensor, h: torch.Tensor, adaptation: Adaptation) -> torch.Tensor:
    """The model's log-probs with the output layer's learnt correction (unchanged without one)."""
    if adaptation.head_b is None:
        return logp
    z = logp + adaptation.head_b
    if adaptation.head_w is not None:
        z = torch.addmv(z, adaptation.head_w, h)
    return torch.log_softmax(z, dim=0)


def learn_head(adaptation: Adaptation, logp: torch.Tensor, h: torch.Tensor, x: int,
               rate_b: float = HEAD_RATE_B, rate_w: float = HEAD_RATE_W) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(Δb, ΔW) after the character `x` where the adapted model predicted `logp` from `h`: one
    SGD step on −log p(x) of the output layer, new tensors."""
    g = -logp.exp()
    g[x] += 1.0
    b = g * rate_b if adaptation.head_b is None else adaptation.head_b + g * rate_b
    if not rate_w:
        return b, None
    step = torch.outer(g * rate_w, h)
    return b, step if adaptation.head_w is None else adaptation.head_w + step
