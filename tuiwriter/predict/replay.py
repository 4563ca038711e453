"""The engine's mixture and learning replayed over a whole text in one pass.

What a person typing the text from its start would get from the engine, character by character
(the same experts, mixers and update rules), in bits per character, and what the mixers have
learnt by its end. Fast because the model reads the text in one batched pass from the document
start, where the engine reads windows of WINDOW characters (a few thousandths of a bit per
character apart, README's window sweep): a 50,000-character text replays in about a minute
instead of the several an engine pass takes. The bench's ablations measure with it
(`bench.mixfit`), and a newly trained model's mixers start from what it learns on the model's own
validation text (`training.warmup`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch

from tuiwriter.lm.checkpoint import Checkpoint
from tuiwriter.predict import mixer
from tuiwriter.predict.engine import MIXER_SLOTS
from tuiwriter.predict.experts import mixer_rows
from tuiwriter.predict.experts.corpus_memory import CorpusMemory, CorpusMemoryExpert
from tuiwriter.predict.experts.document_match import DocumentMatchExpert
from tuiwriter.predict.mixer import Adaptation, Selection
from tuiwriter.predict.mixer_init import CONTEXTS, match_context

LOG2E = 1 / math.log(2)


@dataclass
class Switches:
    """What the replay mixes and learns (the ablation's rows)."""

    corpus_memory: bool = True
    document_match: bool = True
    adapt: bool = True
    dynamic: bool = True
    side: bool = True  # the side mixers and the final layer (`mixer`, "Two layers")


@dataclass
class Replayed:
    """What a replay gives: bits/char over the characters it got to, how many, and the adaptation
    learnt by then."""

    bpc: float
    chars: int
    adaptation: Adaptation


def model_pass(ck: Checkpoint, text: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-probs [n, vocab], top hidden state [n, hidden]) before each character of `text`, read
    in one pass from the document start."""
    model = ck.build_model()
    ids = torch.tensor([ck.vocab.encode(text)])
    with torch.inference_mode():
        state = model.init_state(1)
        out, _ = model.rnn(model.embed(ids[:, :-1]), state if model.config.cell == "lstm" else state[0])
        h = torch.cat([state[0][-1], out[0]], 0)
        return torch.log_softmax(model.head(h), -1), h


def replay(ck: Checkpoint, text: str, memory: CorpusMemory | None, switches: Switches, start: Adaptation,
           eta: float = mixer.ETA, deadline: float | None = None,
           should_stop: Callable[[], bool] | None = None) -> Replayed:
    """The engine's mixture and learning at every character of `text`, typed from its start with
    the mixers as `start` has them, the corpus memory `memory` remembered; stops early once
    `time.monotonic()` passes `deadline` or `should_stop()` turns true (checked every 256)."""
    vocab = ck.vocab
    logps, hs = model_pass(ck, text)
    experts = {"document_match": DocumentMatchExpert(vocab)}
    if memory is not None:
        experts["corpus_memory"] = CorpusMemoryExpert(memory, vocab)
    for expert in experts.values():
        expert.read(text)  # their answers only use text before the cursor
    ids = vocab.encode(text)
    a = start
    bits, done = 0.0, 0
    for i, x in enumerate(ids):
        if i % 256 == 0 and ((deadline is not None and time.monotonic() > deadline)
                             or (should_stop is not None and should_stop())):
            break
        model = mixer.adapted_log_probs(logps[i], hs[i], a) if switches.dynamic else logps[i]
        probs = model.exp()
        rows, context = [model], 0
        for switch, width, contexts in MIXER_SLOTS:
            expert = experts.get(switch) if getattr(switches, switch) else None
            got = expert.inputs(text, i, "", probs) if expert is not None else None
            rows.extend(mixer_rows(got, model, width))
            context = context * contexts + (got.context if got is not None else 0)
        before = (ids[i - 2] if i > 1 else 0, ids[i - 1] if i else 0)
        if switches.dynamic:
            rows += [mixer.fast_log_probs(logps[i], hs[i], a), mixer.pair_log_probs(logps[i], before, a)]
        else:
            rows += [model, model]
        inputs = torch.stack(rows)
        selection = Selection((context, CONTEXTS + mixer.char_class(text[i - 1:i] if i else "")),
                              mixer.side_keys(before, model, match_context(context)), context)
        logp = mixer.predict(a, inputs, selection)
        bits -= float(logp[x]) * LOG2E
        w, side, final, b, hw, fb, fw, pair = a.weights, a.side, a.final, a.head_b, a.head_w, a.fast_b, a.fast_w, a.pair
        if switches.adapt:
            w, side, final = mixer.learn(a, inputs, selection, logp, x, eta)
        if switches.dynamic:
            b, hw = mixer.learn_head(a, model, hs[i], x)
            fb, fw = mixer.learn_fast(a, inputs[-2], hs[i], x)
            pair = mixer.learn_pair(a, inputs[-1], before, x)
        a = Adaptation(w, hw, b, i + 1, side, final, fw, fb, pair)
        done = i + 1
    return Replayed(bits / max(1, done), done, a)
