"""The predictor seam: the one object the engine asks for "state after this character" and
"distribution of the next character".

At batch size 1 on a CPU the cost of a step is framework overhead and weight traffic, not
arithmetic, so `FusedRNN` advances the model with a hand-fused cell on the module's own weights:
gate rows reordered once so the sigmoid gates are contiguous, layer 1's input projection
(embedding @ W_ih^T + both biases) precomputed as a [vocab, gates] table so a character costs a
row lookup, in-place `addmv` into one preallocated gate buffer, inference mode throughout.
Training keeps the stock `nn.LSTM`; `ModulePredictor` calls it per character and exists as the
reference and for the speed comparison (`python -m tuiwriter.bench`).

`Int8RNN` is the same step with int8 weights (`int8_available`; the engine's choice for an LSTM
from `medium` up, `word_predictor.for_checkpoint`). The three 2048x512 matrices of a 2x512 model
are 12 MB as floats, more than a core's cache and a share of an L3 that other programs use too,
so a float step is paced by memory and slows whenever a neighbour evicts it (0.35 to 1.45 ms p50
on this project's machine); as int8 (per-row scales, `quantized.linear_dynamic`: the hidden state
quantized per call) they are 3 MB and the multiply uses the CPU's int8 dot products. Side by side
on the shipped model (`python -m tuiwriter.bench --sizes base --no-engine`; models/README.md):
the step and output layer 2 to 4 times faster, bits/char within a thousandth on the dev texts.

Every state the engine caches comes from the same `step`, so a state reached through cached
checkpoints is bit-for-bit the state of a full pass from the document start.
"""

from __future__ import annotations

import warnings
from typing import Protocol, Sequence

import torch

from tuiwriter.lm.model import CharRNN
from tuiwriter.text.vocab import Vocab


class PState:
    """The recurrent state after some text; never mutated once made, so it can be cached.

    `h` (and `c` for an LSTM) are [layers, hidden]; `logp` caches the next-character
    log-probabilities once computed; `next` (filled by the engine while it decodes) maps a
    character id to the state after it, so text typed or accepted along a decoded suggestion
    costs no model step.
    """

    __slots__ = ("h", "c", "logp", "next")

    def __init__(self, h: torch.Tensor, c: torch.Tensor | None) -> None:
        self.h = h
        self.c = c
        self.logp: torch.Tensor | None = None
        self.next: dict[int, PState] | None = None

    def bare(self) -> "PState":
        """The same state without decoded successors (what long-lived caches keep)."""
        s = PState(self.h, self.c)
        s.logp = self.logp
        return s

    def nbytes(self) -> int:
        n = self.h.numel() + (self.c.numel() if self.c is not None else 0)
        return n * self.h.element_size()


class Predictor(Protocol):
    """What the engine needs from a model: a start state, one step, a next-char distribution."""

    vocab: Vocab

    def start(self) -> PState:
        """The state at the start of a document (before its first character)."""

    def step(self, state: PState, char_id: int) -> PState:
        """The state after reading one more character."""

    def log_probs(self, state: PState) -> torch.Tensor:
        """Log-probabilities [vocab] of the character after `state` (cached on the state)."""


def advance(predictor: Predictor, state: PState, ids: Sequence[int]) -> PState:
    """Read several characters one step at a time (the same steps typing would take)."""
    for i in ids:
        state = predictor.step(state, i)
    return state


class _HeadMixin:
    """The shared output layer: logits = W h_top + b, as log-probabilities, cached on the state."""

    _head_w: torch.Tensor
    _head_b: torch.Tensor

    def log_probs(self, state: PState) -> torch.Tensor:
        if state.logp is None:
            with torch.inference_mode():
                state.logp = torch.log_softmax(self._logits(state.h[-1]), dim=0)
        return state.logp

    def _logits(self, h_top: torch.Tensor) -> torch.Tensor:
        return torch.addmv(self._head_b, self._head_w, h_top)


class FusedRNN(_HeadMixin):
    """A fused single-character step for `CharRNN` (LSTM or GRU), on copies of its weights."""

    def __init__(self, model: CharRNN, vocab: Vocab) -> None:
        cfg = model.config
        self.vocab = vocab
        self.cell = cfg.cell
        self.layers = cfg.layers
        self.hidden = H = cfg.hidden
        with torch.inference_mode():
            rnn = model.rnn
            p = lambda name: getattr(rnn, name).detach().float().clone()  # noqa: E731
            emb = model.embed.weight.detach().float()
            self._head_w = model.head.weight.detach().float().contiguous().clone()
            self._head_b = model.head.bias.detach().float().clone()
            order = self._gate_order(H) if self.cell == "lstm" else torch.arange(3 * H)
            w_ih = [p(f"weight_ih_l{k}")[order].contiguous() for k in range(cfg.layers)]
            w_hh = [p(f"weight_hh_l{k}")[order].contiguous() for k in range(cfg.layers)]
            b_ih = [p(f"bias_ih_l{k}")[order] for k in range(cfg.layers)]
            b_hh = [p(f"bias_hh_l{k}")[order] for k in range(cfg.layers)]
            if self.cell == "lstm":
                # Both biases fold into one; layer 1's input side becomes a table row.
                self._table = (emb @ w_ih[0].T + b_ih[0] + b_hh[0]).contiguous()
                self._b = [b_ih[k] + b_hh[k] for k in range(cfg.layers)]
            else:
                # GRU: the hidden bias of the candidate gate sits inside r * (...), so keep apart.
                self._table = (emb @ w_ih[0].T + b_ih[0]).contiguous()
                self._b = b_ih
                self._b_hh = b_hh
            self._w_ih = w_ih
            self._w_hh = w_hh
        gates = (4 if self.cell == "lstm" else 3) * H
        self._g = g = torch.empty(gates)  # preallocated gate buffer, reused by every step
        # views made once: slicing costs as much as a small op at this size
        self._g_sig, self._g_i, self._g_f, self._g_o, self._g_g = (
            g[: 3 * H], g[:H], g[H : 2 * H], g[2 * H : 3 * H], g[3 * H :])
        self._gh = torch.empty(gates)
        self._tmp = torch.empty(H)

    @staticmethod
    def _gate_order(H: int) -> torch.Tensor:
        """LSTM rows i,f,g,o -> i,f,o,g so one sigmoid covers three gates (GRU keeps r,z,n)."""
        return torch.cat([torch.arange(0, 2 * H), torch.arange(3 * H, 4 * H), torch.arange(2 * H, 3 * H)])

    def start(self) -> PState:
        h = torch.zeros(self.layers, self.hidden)
        return PState(h, torch.zeros(self.layers, self.hidden) if self.cell == "lstm" else None)

    def step(self, state: PState, char_id: int) -> PState:
        with torch.inference_mode():
            if self.cell == "lstm":
                return self._lstm_step(state, char_id)
            return self._gru_step(state, char_id)

    def _lstm_step(self, state: PState, char_id: int) -> PState:
        h_old, c_old = state.h, state.c
        h, c = torch.empty((2, *h_old.shape))  # one allocation for the new state
        gi, gf, go, gg = self._g_i, self._g_f, self._g_o, self._g_g
        for k in range(self.layers):
            self._lstm_gates(k, char_id, h, h_old)
            self._g_sig.sigmoid_()
            gg.tanh_()
            ck, hk = c[k], h[k]
            torch.mul(gf, c_old[k], out=ck).addcmul_(gi, gg)  # c = f * c + i * g
            torch.tanh(ck, out=hk).mul_(go)  # h = o * tanh(c)
        return PState(h, c)

    def _lstm_gates(self, k: int, char_id: int, h: torch.Tensor, h_old: torch.Tensor) -> None:
        """Layer k's gate pre-activations into the gate buffer: its input (the character's table
        row, or the new state of the layer below) plus its recurrent side."""
        g = self._g
        if k == 0:
            torch.addmv(self._table[char_id], self._w_hh[0], h_old[0], out=g)
        else:
            torch.addmv(self._b[k], self._w_ih[k], h[k - 1], out=g)
            g.addmv_(self._w_hh[k], h_old[k])

    def _gru_step(self, state: PState, char_id: int) -> PState:
        H = self.hidden
        h_old = state.h
        h = torch.empty_like(h_old)
        gh = self._gh
        for k in range(self.layers):
            gi = self._table[char_id] if k == 0 else torch.addmv(self._b[k], self._w_ih[k], h[k - 1], out=self._g)
            torch.addmv(self._b_hh[k], self._w_hh[k], h_old[k], out=gh)
            rz = gh[: 2 * H].add_(gi[: 2 * H]).sigmoid_()
            n = self._tmp
            torch.addcmul(gi[2 * H :], rz[:H], gh[2 * H :], out=n).tanh_()
            # h' = (1 - z) * n + z * h = n + z * (h - n)
            torch.sub(h_old[k], n, out=h[k])
            h[k].mul_(rz[H:]).add_(n)
        return PState(h, None)


def _int8_pack(weight: torch.Tensor, bias: torch.Tensor | None) -> object:
    """`weight` [out, in] as int8 rows, each with its own scale, packed for `linear_dynamic`."""
    scale = weight.abs().amax(dim=1).clamp_min(1e-12) / 127.0
    with warnings.catch_warnings():  # quantized tensors are marked for a future move to torchao
        warnings.simplefilter("ignore")
        q = torch.quantize_per_channel(weight, scale.double(), torch.zeros(len(scale), dtype=torch.long), 0,
                                       torch.qint8)
        return torch.ops.quantized.linear_prepack(q, bias)


def _int8_linear(x: torch.Tensor, packed: object) -> torch.Tensor:
    """x [1, in] through packed int8 weights. The input is quantized to 7 bits (reduce_range), as
    PyTorch's own dynamic layers do on x86: CPUs without VNNI add int8 products in pairs into 16
    bits, which 8-bit inputs can overflow (bits/char the same either way on the dev texts)."""
    return torch.ops.quantized.linear_dynamic(x, packed, True)


def int8_available() -> bool:
    """Whether this PyTorch build runs int8 linear layers on this CPU (fbgemm/x86 or qnnpack)."""
    try:
        packed = _int8_pack(torch.ones(2, 2), None)
        out = _int8_linear(torch.ones(1, 2), packed)
        return bool(torch.allclose(out, torch.full((1, 2), 2.0), atol=0.05))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


class Int8RNN(FusedRNN):
    """`FusedRNN`'s LSTM step with int8 weights (the module docstring says why): only the gates'
    pre-activations and the logits differ. Layer 1 still looks up its input side in the float
    table; W_hh, the upper layers' W_ih and the output layer are int8. LSTM only (a GRU keeps
    `FusedRNN`)."""

    def __init__(self, model: CharRNN, vocab: Vocab) -> None:
        super().__init__(model, vocab)
        if self.cell != "lstm":
            raise ValueError("Int8RNN steps an LSTM")
        self._q_hh = _int8_pack(self._w_hh[0], None)
        # above layer 1 both sides in one product: [W_ih W_hh] [h_below; h_old] (one call, not two)
        self._q_upper = [None] + [_int8_pack(torch.cat([wi, wh], 1), b)
                                  for wi, wh, b in zip(self._w_ih[1:], self._w_hh[1:], self._b[1:])]
        self._q_head = _int8_pack(self._head_w, self._head_b)
        del self._w_hh, self._w_ih  # the float copies: 12 MB for a 2x512 model, never read again

    def _lstm_gates(self, k: int, char_id: int, h: torch.Tensor, h_old: torch.Tensor) -> None:
        if k == 0:
            torch.add(_int8_linear(h_old[0:1], self._q_hh)[0], self._table[char_id], out=self._g)
        else:
            self._g.copy_(_int8_linear(torch.cat((h[k - 1:k], h_old[k:k + 1]), 1), self._q_upper[k])[0])

    def _logits(self, h_top: torch.Tensor) -> torch.Tensor:
        return _int8_linear(h_top[None], self._q_head)[0]


class ModulePredictor(_HeadMixin):
    """The reference: the stock module called once per character (slow; for tests and bench)."""

    def __init__(self, model: CharRNN, vocab: Vocab) -> None:
        self.vocab = vocab
        self.model = model
        self._head_w = model.head.weight.detach().float()
        self._head_b = model.head.bias.detach().float()

    def start(self) -> PState:
        s = self.model.init_state(1)
        return PState(s[0][:, 0], s[1][:, 0] if len(s) > 1 else None)

    def step(self, state: PState, char_id: int) -> PState:
        rnn_state = (state.h[:, None], state.c[:, None]) if state.c is not None else (state.h[:, None],)
        _, new = self.model.step(torch.tensor([char_id]), rnn_state)
        return PState(new[0][:, 0], new[1][:, 0] if len(new) > 1 else None)
