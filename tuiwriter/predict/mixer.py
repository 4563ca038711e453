"""The online mixer: the next-character distribution as a learned combination of experts.

Geometric mixing: p(a) ∝ exp(Σ_i w_{c,i} · log p_i(a)), over the inputs p_i (the model's own
log-probabilities first, then each expert's, `experts.Inputs`), with the weight vector w_c the sum
of one row per small context c: the experts' contexts combined (which matches were found and how
long), and the class of the character before (`char_class`: a letter, a space, a line end...).
After each character x the person writes, the weights of the context used there move along the
gradient of log p(x): Δw_i = η (log p_i(x) − Σ_a p(a) log p_i(a)) (each row of c moves so), so
the mixture learns, in each document, how far to trust each expert in each situation. The
weights start from an offline fit on text outside the dev texts (`mixer_init`, `python -m
tuiwriter.bench --fit-mixer`).

Two layers (as context-mixing compressors do): beside that shared mixer, side mixers each keep
one weight vector per key of their own small context (the character before; the two before, and
the model's confidence, each with how long the experts' matches are: `side_keys`). A key's vector
starts as a copy of the shared weights where the key is first used and learns SIDE_RATE times
faster (a key is seen far less often than the shared rows). A final layer mixes the mixers'
predictions the same way, geometrically, with one weight vector per experts' context (starting
at the mean), learning at FINAL_RATE; each first-layer mixer learns from its own prediction. The
mixers disagree where their contexts tell situations apart, and the mixture of their predictions
is worth more than any one: `python -m tuiwriter.bench --mixer-bpc MODEL FILE --ablate +dynamic
+side` (models/README.md, "Two layers of mixers").

Dynamic evaluation: the model's output layer gets a learned correction, logits + ΔW h + Δb,
updated by the same characters with the model's own gradient (ΔW += λ_W (onehot(x) − p) hᵀ), so
the LSTM itself drifts towards the document's names and habits. A second correction of the same
layer learns FAST times faster and is one more input of the mixer (after the experts'): it takes up what the
last few lines repeat (a name, a command's flags, a column of a table) within a few uses, where
the slow one would wash out what the model knows; the mixer learns, per context, how far to trust
each. A third correction, the mixer's very last input, is kept per pair of characters before the
cursor: a row added to the model's logits, moved after each character towards what followed that
pair (PAIR_RATE), so what the document does after ", " or "--" or "](" is learnt from its own
text, whatever the model thought (models/README.md, "Two fast corrections as inputs, and a faster fine-tune").

Both live in an `Adaptation`, which the engine replaces (never mutates) at each update: a
suggestion being decoded keeps the snapshot it started with. The rule for which characters it
learns from is the engine's (`Engine`, "learning").
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np
import torch

ETA = 0.002  # the mixer's learning rate (bench --fit-mixer)
HEAD_RATE_B = 0.003  # dynamic evaluation: the output bias's rate ...
HEAD_RATE_W = 0.002  # ... and the output weights' (0 turns that part off)
FAST = 20.0  # the fast correction's rates are the slow one's times this (models/README.md, stop 29)
PAIR_RATE = 3.0  # the pair correction's rate (models/README.md, stop 29)
# The side mixers and the final layer (models/README.md, "Two layers of mixers": chosen on text
# outside the PPMd rows and the dev texts):
PREV_KEYS = 256  # the character before: its id (a bigger vocabulary's ids share keys modulo this) ...
REMEMBERED_KEYS = 3  # ... with how long the remembered text's match is (`mixer_init.match_context`)
PAIR_KEYS = 4096  # the two characters before with both matches' contexts, hashed to this many keys
CONFIDENCE_EDGES = (0.3, 0.5, 0.7, 0.85, 0.95, 0.99)  # the model's top probability, bucketed ...
MATCH_KEYS = 8  # ... with the document match's context (`DocumentMatchExpert.contexts` values) and the remembered
SIDE = (PREV_KEYS * REMEMBERED_KEYS, PAIR_KEYS, (len(CONFIDENCE_EDGES) + 1) * MATCH_KEYS * REMEMBERED_KEYS)
SIDE_RATE = 4.0  # a side mixer learns at ETA times this
FINAL_RATE = 0.0005  # the final layer's learning rate


@dataclass(frozen=True)
class Adaptation:
    """What the engine has learnt from one document: the shared mixer's weights [contexts,
    inputs], the output layer's correction (ΔW [vocab, hidden], Δb [vocab]; None until the first
    update), the position of the text it has learnt from up to (see `Engine`), the side mixers'
    weights (one table [sum(SIDE), inputs], each mixer's keys after the one before's; a row of NaN
    where a key was never used: the shared weights stand in), the final layer's ([contexts,
    1 + side mixers]; None: one layer, `sides_start` gives them as they start), the fast
    correction of the output layer (as the slow one's) and the pair correction's rows (by the ids
    of the two characters before; a new dict at each update, the rows never changed in place)."""

    weights: torch.Tensor
    head_w: torch.Tensor | None = None
    head_b: torch.Tensor | None = None
    learnt: int = 0
    side: torch.Tensor | None = None
    final: torch.Tensor | None = None
    fast_w: torch.Tensor | None = None
    fast_b: torch.Tensor | None = None
    pair: dict[tuple[int, int], torch.Tensor] | None = None


@dataclass(frozen=True)
class Selection:
    """Which weights mix one prediction: the shared mixer's rows (summed: the experts' context and
    the class of the character before), one row of the side table per side mixer (`side_keys`),
    and the final layer's row (the experts' context)."""

    rows: tuple[int, ...]
    keys: tuple[int, ...] = ()
    final: int = 0


def side_keys(before: tuple[int, int], model: torch.Tensor, match: tuple[int, int]) -> tuple[int, ...]:
    """The side mixers' rows of the side table, one per mixer, for its key: the vocabulary id of
    the character before the cursor with how long the remembered text's match is; the two
    `before` it (the nearer last; 0 where there is none) with both matches' contexts, hashed; the
    model's top probability (from its log-probs `model`) with both. `match`: (the document match's
    context, 0 <= it < MATCH_KEYS; the remembered level, 0 <= it < REMEMBERED_KEYS), from
    `mixer_init.match_context`. Without them a key would mix the situations where the text repeats
    what came before with those where it does not, which the shared rows tell apart: on a
    repetitive e-mail thread that cost more than the side mixers gained, and a phrase the notes
    hold once was no longer completed word for word."""
    document, remembered = match
    confidence = bisect_right(CONFIDENCE_EDGES, math.exp(float(model.max())))
    pair = ((before[0] * 1009 + before[1]) * MATCH_KEYS + document + remembered * 1031) % PAIR_KEYS
    return (before[1] % PREV_KEYS + PREV_KEYS * remembered, SIDE[0] + pair,
            SIDE[0] + PAIR_KEYS + (remembered * (len(CONFIDENCE_EDGES) + 1) + confidence) * MATCH_KEYS + document)


def sides_start(inputs: int, contexts: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The side mixers' weights before anything is learnt (every key unused) and the final
    layer's (the mean of the mixers' predictions)."""
    return torch.full((sum(SIDE), inputs), float("nan")), torch.full((contexts, 1 + len(SIDE)), 1.0 / (1 + len(SIDE)))


def _shared(adaptation: Adaptation, selection: Selection) -> np.ndarray:
    """The shared mixer's weight vector: the sum of the selected rows (read in numpy)."""
    weights = adaptation.weights.numpy()
    w = weights[selection.rows[0]]
    for row in selection.rows[1:]:
        w = w + weights[row]
    return w


def _first_layer(adaptation: Adaptation, selection: Selection) -> torch.Tensor:
    """The first layer's weight vectors [1 + side mixers, inputs]: the shared one, then each side
    mixer's for its key (the shared one where the key was never used)."""
    w = _shared(adaptation, selection)
    vectors = [w]
    if adaptation.side is not None:
        side = adaptation.side.numpy()
        for key in selection.keys:
            v = side[key]
            vectors.append(w if v[0] != v[0] else v)  # NaN: never used
    return torch.from_numpy(np.stack(vectors))


def layer(adaptation: Adaptation, inputs: torch.Tensor, selection: Selection) -> torch.Tensor:
    """Each first-layer mixer's log p [1 + side mixers, vocab] of `inputs` [n, vocab]."""
    return torch.log_softmax(_first_layer(adaptation, selection) @ inputs, dim=1)


def predict(adaptation: Adaptation, inputs: torch.Tensor, selection: Selection) -> torch.Tensor:
    """log p [vocab] of the two-layer mixture of `inputs` [n, vocab]. A geometric mixture of
    geometric mixtures is one, with the final layer's weights times the first layer's (each
    mixer's normalising constant cancels in the final one's), so a prediction costs one product
    with the inputs, as with one layer; the weights are gathered in numpy (a torch call's fixed
    cost would be most of the time)."""
    w = _shared(adaptation, selection)
    if adaptation.side is not None and adaptation.final is not None and selection.keys:
        v = adaptation.final.numpy()[selection.final].tolist()
        side = adaptation.side.numpy()
        shared, rest = v[0], None
        for c, key in zip(v[1:], selection.keys):
            row = side[key]
            if row[0] != row[0]:  # NaN: a key never used, the shared weights stand in
                shared += c
            else:
                rest = c * row if rest is None else rest + c * row
        w = shared * w if rest is None else shared * w + rest
    return torch.log_softmax(torch.from_numpy(w) @ inputs, dim=0)


def learn(adaptation: Adaptation, inputs: torch.Tensor, selection: Selection, logp: torch.Tensor, x: int,
          eta: float = ETA) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """(shared weights, side table, final layer's), new tensors, after the character `x` where
    `predict` gave `logp`: each first-layer mixer one step along the gradient of its own log p(x),
    the final layer along the mixture's."""
    vectors = _first_layer(adaptation, selection)
    layers = torch.log_softmax(vectors @ inputs, dim=1)
    weights = learn_mixer(adaptation.weights, inputs, selection.rows, layers[0], x, eta)
    if adaptation.side is None or adaptation.final is None or not selection.keys:
        return weights, adaptation.side, adaptation.final
    steps = (eta * SIDE_RATE) * (inputs[:, x][None] - layers[1:].exp() @ inputs.T)
    side = adaptation.side.clone()
    side[list(selection.keys)] = vectors[1:] + steps
    final = adaptation.final.clone()
    final[selection.final] += FINAL_RATE * mixer_gradient(layers, logp, x)
    return weights, side, final


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


def corrected(logp: torch.Tensor, h: torch.Tensor, b: torch.Tensor | None, w: torch.Tensor | None) -> torch.Tensor:
    """The model's log-probs `logp` with an output-layer correction (Δb `b`, ΔW `w`) applied to its
    top state `h` (unchanged without one)."""
    if b is None:
        return logp
    z = logp + b
    if w is not None:
        z = torch.addmv(z, w, h)
    return torch.log_softmax(z, dim=0)


def adapted_log_probs(logp: torch.Tensor, h: torch.Tensor, adaptation: Adaptation) -> torch.Tensor:
    """The model's log-probs with the output layer's learnt correction (unchanged without one)."""
    return corrected(logp, h, adaptation.head_b, adaptation.head_w)


def fast_log_probs(logp: torch.Tensor, h: torch.Tensor, adaptation: Adaptation) -> torch.Tensor:
    """The model's log-probs with the fast correction: the mixer's input after the experts'."""
    return corrected(logp, h, adaptation.fast_b, adaptation.fast_w)


def correction_step(b: torch.Tensor | None, w: torch.Tensor | None, logp: torch.Tensor, h: torch.Tensor, x: int,
                    rate_b: float, rate_w: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(Δb, ΔW) after the character `x` where the corrected model predicted `logp` from `h`: one
    SGD step on −log p(x) of the output layer, new tensors."""
    g = -logp.exp()
    g[x] += 1.0
    b = g * rate_b if b is None else b + g * rate_b
    if not rate_w:
        return b, None
    step = torch.outer(g * rate_w, h)
    return b, step if w is None else w + step


def learn_head(adaptation: Adaptation, logp: torch.Tensor, h: torch.Tensor, x: int,
               rate_b: float = HEAD_RATE_B, rate_w: float = HEAD_RATE_W) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(Δb, ΔW) of the slow correction after `x`, where it predicted `logp` from `h`."""
    return correction_step(adaptation.head_b, adaptation.head_w, logp, h, x, rate_b, rate_w)


def learn_fast(adaptation: Adaptation, logp: torch.Tensor, h: torch.Tensor, x: int,
               rate: float = FAST) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(Δb, ΔW) of the fast correction after `x`, where it predicted `logp` (its input of the
    mixer) from `h`: the slow correction's step at `rate` times its rates."""
    return correction_step(adaptation.fast_b, adaptation.fast_w, logp, h, x, HEAD_RATE_B * rate, HEAD_RATE_W * rate)


def pair_log_probs(logp: torch.Tensor, before: tuple[int, int], adaptation: Adaptation) -> torch.Tensor:
    """The model's log-probs `logp` corrected by the pair correction's row for the two characters
    `before` the cursor (their ids; unchanged where the pair has not been learnt from)."""
    row = None if adaptation.pair is None else adaptation.pair.get(before)
    return corrected(logp, logp, row, None)  # a bias alone: the state is not read


def learn_pair(adaptation: Adaptation, logp: torch.Tensor, before: tuple[int, int], x: int,
               rate: float = PAIR_RATE) -> dict[tuple[int, int], torch.Tensor]:
    """The pair correction's rows after `x` followed the characters `before`, where it predicted
    `logp`: that pair's row one step along the gradient of log p(x) (onehot(x) - p), a new dict."""
    rows = dict(adaptation.pair) if adaptation.pair is not None else {}
    rows[before] = correction_step(rows.get(before), None, logp, logp, x, rate, 0.0)[0]  # a bias's step
    return rows
