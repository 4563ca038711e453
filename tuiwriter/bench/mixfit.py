"""The mixer offline: its starting weights fitted (`--fit-mixer`) and bits/char for ablations
(`--mixer-bpc`), by the engine's own experts and update rules replayed over whole texts
(`predict.replay`).
"""

from __future__ import annotations

import random

import torch

from tuiwriter.bench.evaluate import read_texts
from tuiwriter.lm import checkpoint, store
from tuiwriter.predict.experts.corpus_memory import CorpusMemory, remembered_from
from tuiwriter.predict.mixer_init import initial_adaptation, initial_weights, model_alone
from tuiwriter.predict.replay import LOG2E, Switches, model_pass, replay


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
            done = replay(ck, text, memory, Switches(side=False), initial_adaptation(weights, side=False), eta)
            weights = done.adaptation.weights
            print(f"# eta {eta}: {done.bpc:.4f} bits/char on {len(text):,} chars", flush=True)
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
        switches = table[row]
        bpc = replay(ck, text, memory, switches, initial_adaptation(initial_weights(), switches.side)).bpc
        print(f"  {path.rsplit('/', 1)[-1][:30]:30} {row:10} {bpc:.4f} bits/char", flush=True)
