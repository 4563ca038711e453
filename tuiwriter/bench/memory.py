"""How the corpus memory's representation and cap were chosen (`python -m tuiwriter.bench
--memory-candidates BOOKS SHAKESPEARE HELD_OUT`).

The default model (its weights unchanged) remembers N MB: perturbed copies of the books (past what the books hold), the
books but HELD_OUT, and Tiny Shakespeare's first 90 % last (so every size holds it). Per
candidate and size: model files' size, time to build the index and to save, time to load (open
the model, memory ready to query), the memory's own query time while `tuiwriter eval`'s simulated
writer types, and bits/char + keystrokes saved on HELD_OUT and on Shakespeare's last 10 %.

Candidates:
- `suffix-array`: what tuiwriter does (`corpus_memory`): a suffix array over every byte, stored
  beside the model and memory-mapped.
- `word-starts`: the same array sampled at word starts (about one byte in six): a match must
  start where a word starts, in the text and in the context.
- `hashed`: counts of (context of k characters, next character) for k in HASH_ORDERS, hashed
  into a table of fixed size: bounded however much is remembered, not exact (collisions).
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from tuiwriter.bench.evaluate import evaluate, percentile, read_texts
from tuiwriter.lm import checkpoint, store
from tuiwriter.lm.checkpoint import Memory
from tuiwriter.predict.engine import Engine
from tuiwriter.predict.experts import Opinion
from tuiwriter.predict.experts.corpus_memory import (
    MAX_MATCH,
    MIN_MATCH,
    CorpusMemory,
    CorpusMemoryExpert,
    remembered_from,
)
from tuiwriter.text.vocab import Vocab

CANDIDATES = ("suffix-array", "word-starts", "hashed")
HASH_ORDERS = (3, 4, 5, 6, 8, 12, 16, 24, 32)
HASH_BITS = 24  # 16 M counters of 4 bytes: a 64 MB table
_P = np.uint64(0x9E3779B97F4A7C15)
_M = np.uint64(0xBF58476D1CE4E5B9)


def memory_texts(books: Path, shakespeare: Path, held_out: Path, size: int) -> tuple[list[str], str]:
    """(texts whose joined last `size` bytes are remembered, Shakespeare's last 10 %)."""
    names = sorted(p for p in books.glob("*.txt") if p.name != held_out.name)
    texts = [p.read_text(encoding="utf-8") for p in names]
    play = shakespeare.read_text(encoding="utf-8")
    cut = int(len(play) * 0.9)
    have = sum(len(t.encode()) for t in texts) + cut
    rng = random.Random(0)
    filler: list[str] = []
    copy = 0
    while have < size:  # each copy a few words changed: new contexts, as another person's notes
        words = texts[copy % len(texts)].split(" ")
        common = words[:5000]
        filler.append(" ".join(w if rng.random() > 0.05 else rng.choice(common) for w in words))
        have += len(filler[-1].encode())
        copy += 1
    return filler + texts + [play[:cut]], play[cut:]


class TimedExpert:
    """Wraps an expert and keeps the thread CPU time of each opinion (preemption by the other
    processes on this 2-core machine would otherwise dominate the tail)."""

    def __init__(self, expert) -> None:
        self.expert = expert
        self.cpu_ms: list[float] = []

    def forget_after(self, n: int) -> None:
        self.expert.forget_after(n)

    def read(self, doc: str) -> None:
        self.expert.read(doc)

    def opinion(self, doc: str, cursor: int, extra: str) -> Opinion | None:
        start = time.thread_time()
        try:
            return self.expert.opinion(doc, cursor, extra)
        finally:
            self.cpu_ms.append((time.thread_time() - start) * 1e3)


class WordStartMemory(CorpusMemory):
    """The suffix array kept at word starts only: matches start where a word starts."""

    @staticmethod
    def sample(text: np.ndarray, suffixes: np.ndarray) -> np.ndarray:
        before = np.concatenate(([32], text[:-1]))
        word_start = ~(((before >= 48) & (before <= 57)) | ((before | 32) >= 97) & ((before | 32) <= 122)
                       | (before >= 0x80))
        return suffixes[word_start[suffixes]]

    def _lengths(self, context: str) -> list[int]:
        return [n for n in range(MIN_MATCH, min(MAX_MATCH, len(context)) + 1)
                if n == len(context) or not context[-n - 1].isalnum()]


def _ids(text: bytes, vocab: Vocab) -> np.ndarray:
    points = np.frombuffer(text.decode("utf-8", "replace").encode("utf-32-le"), dtype=np.uint32)
    table = np.zeros(0x110000, dtype=np.uint8)
    for i, c in enumerate(vocab.chars):
        table[ord(c)] = i
    return table[points]


def _slot(h: np.ndarray, order: int) -> np.ndarray:
    return ((h ^ np.uint64((order * 0x632BE59BD9B4E019) % (1 << 64))) * _M) >> np.uint64(64 - HASH_BITS)


def hashed_table(text: bytes, vocab: Vocab, chunk: int = 1 << 22) -> np.ndarray:
    """Counts of (k previous characters, next character) for k in HASH_ORDERS, hashed."""
    ids = _ids(text, vocab).astype(np.uint64)
    table = np.zeros(1 << HASH_BITS, dtype=np.uint32)
    longest = max(HASH_ORDERS)
    with np.errstate(over="ignore"):
        for start in range(0, len(ids), chunk):
            end = min(len(ids), start + chunk)
            h = ids[start:end].copy()  # the next character; each order adds one earlier one
            for k in range(1, longest + 1):
                before = ids[max(0, start - k):end - k]
                h[len(h) - len(before):] += before * (_P ** np.uint64(k))
                if k in HASH_ORDERS:
                    valid = slice(max(0, k - start), None)  # positions with k characters before
                    table += np.bincount(_slot(h[valid], k), minlength=len(table)).astype(np.uint32)
    return table


class HashedMemory:
    """Counts read back from `hashed_table`: the longest order whose context was counted."""

    def __init__(self, table: np.ndarray, vocab: Vocab) -> None:
        self.table, self.vocab = table, vocab
        self.candidates = np.arange(len(vocab), dtype=np.uint64)

    def predict(self, context: str) -> tuple[torch.Tensor, int] | None:
        ids = np.array([self.vocab.id_of(c) for c in context[-max(HASH_ORDERS):]][::-1], dtype=np.uint64)
        with np.errstate(over="ignore"):
            powers = _P ** np.arange(1, len(ids) + 1, dtype=np.uint64)
            for k in sorted(HASH_ORDERS, reverse=True):
                if k > len(ids):
                    continue
                base = np.sum(ids[:k] * powers[:k], dtype=np.uint64)
                counts = self.table[_slot(self.candidates + base, k)].astype(np.int64)
                counts[0] = 0
                if counts.any():
                    return torch.from_numpy(counts.astype(np.float32)), k
        return None


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _evaluate(engine: Engine, expert, texts: dict[str, list[tuple[str, str]]]) -> dict:
    timed = TimedExpert(expert)
    engine.experts = [(name, timed if name == "corpus_memory" else e) for name, e in engine.experts]
    engine._cache.followers = [e for _, e in engine.experts]
    scores = {}
    for label, text in texts.items():
        result = evaluate(engine, text)
        scores[label] = (result["bpc"], result["ksr"])
    return {"query_p50": percentile(timed.cpu_ms, 50), "query_p99": percentile(timed.cpu_ms, 99),
            "queries": len(timed.cpu_ms), "scores": scores}


def _load_time(path: Path) -> float:
    start = time.perf_counter()
    engine = Engine.load(str(path))
    engine.next_char_log_probs("The ", 4)  # the memory answered once: ready
    return time.perf_counter() - start


def candidates(books: Path, shakespeare: Path, held_out: Path, sizes_mb: list[int], chars: int,
               which: list[str]) -> None:
    torch.set_num_threads(1)
    base = checkpoint.load(store.shipped_default())
    model, vocab = base.build_model(), base.vocab
    default_load = min(_load_time(store.shipped_default()) for _ in range(3))
    print(f"default model: {store.shipped_default().stat().st_size / 1e6:.1f} MB, loads in {default_load:.2f} s")
    held = read_texts([str(held_out)], vocab.fold, chars)
    print("size | candidate | files MB | build s | save s (first / again) | load s | query p50 / p99 ms (cpu) | "
          f"bpc / ksr {held_out.name} | bpc / ksr shakespeare val")
    for mb in sizes_mb:
        texts, val = memory_texts(books, shakespeare, held_out, mb * 1_000_000)
        evals = {"held": held, "play": [("shakespeare val", vocab.fold_text(val)[:chars])]}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.safetensors"
            start = time.perf_counter()
            memory = remembered_from(iter(texts), vocab, mb * 1_000_000)
            built = time.perf_counter() - start
            rows = []
            if "suffix-array" in which:
                start = time.perf_counter()
                checkpoint.save(path, model, vocab, {}, memory=memory)
                first = time.perf_counter() - start
                start = time.perf_counter()
                checkpoint.save(path, model, vocab, {"again": True}, memory=memory)
                again = time.perf_counter() - start
                size = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
                load = min(_load_time(path) for _ in range(3))
                engine = Engine.load(str(path))
                result = _evaluate(engine, dict(engine.experts)["corpus_memory"], evals)
                rows.append(("suffix-array", size, built, f"{first:.2f} / {again:.2f}", load, result))
            if "word-starts" in which:
                start = time.perf_counter()
                sampled = WordStartMemory.sample(memory.text, memory.suffixes)
                sample_s = built + time.perf_counter() - start
                small = Memory(memory.buffer, memory.offset, memory.size, sampled)
                size = (len(sampled) * 4 + memory.size) / 1e6 + store.shipped_default().stat().st_size / 1e6
                engine = Engine(base)
                expert = CorpusMemoryExpert(WordStartMemory(small, vocab), vocab)
                engine.experts.insert(0, ("corpus_memory", expert))
                result = _evaluate(engine, expert, evals)
                rows.append(("word-starts", size, sample_s, "as above", float("nan"), result))
                del sampled, small
            if "hashed" in which:
                start = time.perf_counter()
                table = hashed_table(bytes(memory.text), vocab)
                hash_s = time.perf_counter() - start
                size = table.nbytes / 1e6 + store.shipped_default().stat().st_size / 1e6
                engine = Engine(base)
                expert = CorpusMemoryExpert(HashedMemory(table, vocab), vocab)  # type: ignore[arg-type]
                engine.experts.insert(0, ("corpus_memory", expert))
                result = _evaluate(engine, expert, evals)
                rows.append(("hashed", size, hash_s, "-", float("nan"), result))
                del table
            del memory
        for name, size, build_s, save_s, load_s, r in rows:
            (hb, hk), (pb, pk) = r["scores"]["held"], r["scores"]["play"]
            print(f"{mb} MB | {name} | {size:.1f} | {build_s:.1f} | {save_s} | {load_s:.2f} | "
                  f"{r['query_p50']:.3f} / {r['query_p99']:.3f} ({r['queries']}) | "
                  f"{hb:.4f} / {100 * hk:.2f} % | {pb:.4f} / {100 * pk:.2f} %", flush=True)
    print(f"peak resident memory of this process: {_rss_mb():.0f} MB")


def build_rss(books: Path, shakespeare: Path, held_out: Path, mb: int) -> None:
    """Peak resident memory and time of building what a model remembers (run in a fresh process)."""
    base = checkpoint.load(store.shipped_default())
    texts, _ = memory_texts(books, shakespeare, held_out, mb * 1_000_000)
    before = _rss_mb()
    start = time.perf_counter()
    memory = remembered_from(iter(texts), base.vocab, mb * 1_000_000)
    print(f"{mb} MB: built in {time.perf_counter() - start:.1f} s; peak RSS {_rss_mb():.0f} MB "
          f"(texts to remember, {sum(len(t) for t in texts) / 1e6:.0f} M characters, already read: "
          f"{before:.0f} MB before building); remembered {memory.size:,} bytes")
