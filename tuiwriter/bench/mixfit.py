"""The mixer offline: its starting weights fitted (`--fit-mixer`) and a fast bits/char replay for
ablations (`--mixer-bpc`), with the engine's own experts and update rules.

Fast because the model reads each text in one batched pass from the document start (the engine
reads windows of WINDOW characters: a few thousandths of a bit per character apart, see the
README's window sweep), so a 50,000-character text replays in about a minute instead of the
several an engine pass takes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

from tuiwriter.bench.evaluate import read_texts
from tuiwriter.lm import checkpoint, store
from tuiwriter.lm.checkpoint import Checkpoint
from tuiwriter.predict import mixer
from tuiwriter.predict.engine import MIXER_SLOTS
from tuiwriter.predict.experts import mixer_rows
from tuiwriter.predict.experts.corpus_memory import CorpusMemory, CorpusMemoryExpert, remembered_from
from tuiwriter.predict.experts.document_match import DocumentMatchExpert
from tuiwriter.predict.mixer import Adaptation, Selection
from tuiwriter.predict.mixer_init import CONTEXTS, initial_adaptation, initial_weights, match_context, model_alone

LOG2E = 1 / math.log(2)


@dataclass
class Switches:
    """What the replay mixes and learns (the ablation's rows)."""

    corpus_memory: bool = True
    document_match: bool = True
    adapt: bool = True
    dynamic: bool = True
    side: bool = True  # the side mixers and the final layer (`mixer`, "Two layers")


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


def replay(ck: Checkpoint, text: str, memory: CorpusMemory | None, switches: Switches,
           weights: torch.Tensor, eta: float = mixer.ETA) -> tuple[float, torch.Tensor]:
    """(bits/char of `text`, the weights after it): the engine's mixture and learning at every
    character, the text typed from its start."""
    vocab = ck.vocab
    logps, hs = model_pass(ck, text)
    experts = {"document_match": DocumentMatchExpert(vocab)}
    if memory is not None:
        experts["corpus_memory"] = CorpusMemoryExpert(memory, vocab)
    for expert in experts.values():
        expert.read(text)  # their answers only use text before the cursor
    ids = vocab.encode(text)
    a = initial_adaptation(weights, switches.side)
    bits = 0.0
    for i, x in enumerate(ids):
        model = mixer.adapted_log_probs(logps[i], hs[i], a) if switches.dynamic else logps[i]
        probs = model.exp()
        rows, context = [model], 0
        for switch, width, contexts in MIXER_SLOTS:
            expert = experts.get(switch) if getattr(switches, switch) else None
            got = expert.inputs(text, i, "", probs) if expert is not None else None
            rows.extend(mixer_rows(got, model, width))
            context = context * contexts + (got.context if got is not None else 0)
        inputs = torch.stack(rows)
        before = (ids[i - 2] if i > 1 else 0, ids[i - 1] if i else 0)
        selection = Selection((context, CONTEXTS + mixer.char_class(text[i - 1:i] if i else "")),
                              mixer.side_keys(before, model, match_context(context)), context)
        logp = mixer.predict(a, inputs, selection)
        bits -= float(logp[x]) * LOG2E
        w, side, final, b, hw = a.weights, a.side, a.final, a.head_b, a.head_w
        if switches.adapt:
            w, side, final = mixer.learn(a, inputs, selection, logp, x, eta)
        if switches.dynamic:
            b, hw = mixer.learn_head(a, model, hs[i], x)
        a = Adaptation(w, hw, b, i + 1, side, final)
    return bits / max(1, len(ids)), a.weights


def drafted(book: str, start: int, chars: int, seed: int = 0) -> tuple[str, list[str]]:
    """(a text, what is remembered) like a person's notes, where some paragraphs were written once
    before in another form: `chars` characters of `book` from `start`, with earlier drafts of every
    DRAFTED-th paragraph of them (one word in REVISED changed) remembered after the book before it.
    A long match seen once is rare in books and plays, and right 84 to 93 % of the time in notes
    (README, "A phrase written once"): without such text the fit cannot learn to trust it."""
    rng = random.Random(seed)
    text = book[start:start + chars]
    paragraphs = text.split("\n\n")
    drafts = []
    for paragraph in paragraphs[::DRAFTED]:
        words = paragraph.split(" ")
        drafts.append(" ".join(rng.choice(words) if rng.randrange(REVISED) == 0 else w for w in words))
    return text, [book[:start], "\n\n".join(drafts)]


DRAFTED = 4  # every DRAFTED-th paragraph of the drafted text has an earlier draft remembered
REVISED = 8  # one word in REVISED differs between a draft and the text


def fit_mixer(books: str, play: str, chars: int) -> None:
    """The starting weights: the default model (with dynamic evaluation) typing the first `chars`
    characters of *David Copperfield* after its first 1,500,000, which it remembers with earlier
    drafts of a quarter of the paragraphs typed (`drafted`: long matches seen once), then of two
    books it held out (*Tom Sawyer*, *Frankenstein*: the document match's contexts), then of Tiny
    Shakespeare's first 90 % after its first 800,000 characters, which it remembers (the corpus
    memory's contexts); twice, the learning rate 0.02 then 0.005, from the model alone, the shared
    mixer alone (no side mixers: as the fit was made before they were added). Prints
    `mixer_init.FIT`."""
    ck = checkpoint.load(store.resolve("default"))
    fold = ck.vocab.fold
    book = read_texts([f"{books}/pg766_dickens_david_copperfield.txt"], fold, None)[0][1]
    text, remembered = drafted(book, 1_500_000, chars)
    # the drafted text first: the rows every context shares (the character classes) end each
    # pass fitted to ordinary text, the long-match rows keep what only the drafts teach
    texts = [(text, CorpusMemory(remembered_from(remembered, ck.vocab), ck.vocab))]
    texts += [(read_texts([f"{books}/{name}"], fold, chars)[0][1], None)
              for name in ("pg74_twain_tom_sawyer.txt", "pg84_shelley_frankenstein.txt")]
    full = read_texts([play], fold, 800_000 + chars)[0][1]
    texts.append((full[800_000:], CorpusMemory(remembered_from([full[:800_000]], ck.vocab), ck.vocab)))
    weights = model_alone()
    for eta in (0.02, 0.005):
        for text, memory in texts:
            bpc, weights = replay(ck, text, memory, Switches(side=False), weights, eta)
            print(f"# eta {eta}: {bpc:.4f} bits/char on {len(text):,} chars", flush=True)
    print("FIT = [")
    for row in weights.tolist():
        print("    [" + ", ".join(f"{v:.4f}" for v in row) + "],")
    print("]")


def mixer_bpc(spec: str, path: str, chars: int, rows: list[str]) -> None:
    """Bits/char of the replay for each ablation row on the first `chars` characters of `path`."""
    ck = checkpoint.load(store.resolve(spec))
    text = read_texts([path], ck.vocab.fold, chars)[0][1]
    memory = CorpusMemory.indexed(ck.memory, ck.vocab) if ck.memory is not None else None
    table = {
        "model": Switches(False, False, False, False, False),
        "+memory": Switches(True, False, False, False, False),
        "+document": Switches(True, True, False, False, False),
        "+learning": Switches(True, True, True, False, False),
        "+dynamic": Switches(True, True, True, True, False),
        "+side": Switches(True, True, True, True, True),  # the engine's mixture
    }
    for row in rows:
        if row == "lstm":  # the model's own log-probs, no mixer
            logps, _ = model_pass(ck, text)
            ids = torch.tensor(ck.vocab.encode(text))
            bpc = -float(logps[torch.arange(len(ids)), ids].mean()) * LOG2E
            print(f"  {path.rsplit('/', 1)[-1][:30]:30} {row:10} {bpc:.4f} bits/char", flush=True)
            continue
        bpc, _ = replay(ck, text, memory, table[row], initial_weights())
        print(f"  {path.rsplit('/', 1)[-1][:30]:30} {row:10} {bpc:.4f} bits/char", flush=True)
