"""The corpus memory finds the longest ending of the context in the remembered text and counts
what followed it there; a model trained with `tuiwriter train` keeps its corpus this way."""

from __future__ import annotations

import random

import numpy as np
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tuiwriter.lm.checkpoint import HEAD_COUNT, Memory
from tuiwriter.predict.experts import corpus_memory
from tuiwriter.predict.experts.corpus_memory import (
    MIN_MATCH,
    CorpusMemory,
    CorpusMemoryExpert,
    folded_utf8,
    head_starts,
    remembered_from,
    suffix_array,
    trust,
)
from tuiwriter.text import corpus
from tuiwriter.text.corpus import JOIN
from tuiwriter.text.vocab import Vocab
from tuiwriter.training import setup as training_setup


def memory_of(text: str) -> tuple[CorpusMemory, Vocab]:
    vocab = Vocab.build([text])
    return CorpusMemory.of_text(text, vocab), vocab


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="abcé😀", max_size=80))
def test_the_suffix_array_sorts_the_suffixes_of_the_bytes(text):
    data = text.encode()
    order = suffix_array(data)
    assert sorted(order.tolist()) == list(range(len(data)))
    keys = [data[p:] for p in order]
    assert keys == sorted(keys)


def test_it_counts_what_followed_the_longest_ending():
    memory, vocab = memory_of("zz abcX abcY abcX zz")
    counts, length = memory.predict("qq abc")
    assert length == len(" abc")
    assert counts[vocab.id_of("X")] == 2 and counts[vocab.id_of("Y")] == 1 and counts.sum() == 3
    counts, length = memory.predict("Y abc")  # "Y abc" occurs once, followed by "X"
    assert length == len("Y abc") and counts[vocab.id_of("X")] == 1 and counts.sum() == 1


def brute_force(text: str, context: str, vocab: Vocab) -> tuple[int, list[str]] | None:
    """(match length, sorted known following characters) of the longest ending of `context`
    (MIN_MATCH..MAX_MATCH characters) found in `text` with a character after it."""
    for length in range(min(len(context), corpus_memory.MAX_MATCH), MIN_MATCH - 1, -1):
        ending = context[-length:]
        after = [text[p + length] for p in range(len(text) - length) if text.startswith(ending, p)]
        if after:
            return length, sorted(c for c in after if vocab.id_of(c) != 0)
    return None


# "é" is outside the vocabulary, "😀" inside it (four UTF-8 bytes), "—" folds to "-"
ALPHABET = "abé😀 —-"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=60), st.text(alphabet=ALPHABET, min_size=3, max_size=50),
       st.text(alphabet=ALPHABET, max_size=4), st.randoms(use_true_random=False))
def test_the_experts_opinion_is_a_brute_force_search(text, doc, extra, rng):
    vocab = Vocab.build(["ab -" + "😀" * 5])
    assert vocab.id_of("é") == 0 and vocab.id_of("😀") != 0
    expert = CorpusMemoryExpert.remembering(Memory.of(vocab.fold_text(text).encode()), vocab)
    # typing along (each query extends the last: the search starts from the last match), then jumps
    cursors = list(range(len(doc) + 1)) + [rng.randrange(len(doc) + 1) for _ in range(10)]
    for cursor in cursors:
        expected = brute_force(vocab.fold_text(text), vocab.fold_text(doc[max(0, cursor - 32):cursor] + extra), vocab)
        got = expert.opinion(doc, cursor, extra)
        if expected is None or not expected[1]:
            assert got is None
        else:
            length, after = expected
            counts = got.mass
            assert sorted(c for c in vocab.chars for _ in range(int(counts[vocab.id_of(c)]))) == after
            assert got.total == len(after) and got.trust == trust(length, len(after))


def expected_inputs(text: str, doc: str, cursor: int, vocab: Vocab, p: np.ndarray) -> list[np.ndarray | None] | None:
    """The mixer's three distributions, from their definitions by brute force: what followed the
    longest ending and the short ending in the remembered text, smoothed towards p, and the PPM
    blend of every ending counted in the remembered text and in the document before the cursor
    (`CorpusMemoryExpert`, "The blend"), each length escaping to the next shorter and the shortest
    to p. None entries: the model's own (no match in the remembered text)."""
    context = doc[max(0, cursor - 32):cursor]
    found = brute_force(text, context, vocab)

    def counted(k: int) -> np.ndarray:
        ending, c = context[-k:], np.zeros(len(vocab))
        for at in range(len(text) - k):
            if text.startswith(ending, at) and vocab.id_of(text[at + k]):
                c[vocab.id_of(text[at + k])] += 1
        return c

    orders: list[tuple[int, np.ndarray]] = []
    if found is not None and found[1]:
        longest = found[0]
        orders = [(k, counted(k)) for k in corpus_memory.ORDERS if k < longest] + [(longest, counted(longest))]
        orders = [(k, c) for k, c in orders if c.any()]
    # the document: each short ending at its SHORT_RECENT (32) most recent places, and the 16 most recent places
    # with a 4-character match, counted at every length up to their match length (at most 48)
    weight, ours = corpus_memory.DOCUMENT_WEIGHT, {}
    for k in corpus_memory.DOCUMENT_SHORT:
        places = [q for q in range(k, cursor) if cursor >= k and doc[q - k:q] == doc[cursor - k:cursor]]
        places = places[-corpus_memory.SHORT_RECENT:]
        c = np.zeros(len(vocab))
        for q in places:
            c[vocab.id_of(doc[q])] += weight
        if c.any():
            ours[k] = c
    places = [q for q in range(4, cursor) if cursor >= 4 and doc[q - 4:q] == doc[cursor - 4:cursor]][-16:]
    tail = doc[max(0, cursor - 48):cursor]
    matched = []
    for q in places:
        before = doc[max(0, q - 48):q]
        n = 0
        while n < min(len(before), len(tail)) and before[-1 - n] == tail[-1 - n]:
            n += 1
        matched.append((vocab.id_of(doc[q]), n))
    if matched:
        longest_here = max(n for _, n in matched)
        for k in set(corpus_memory.DOCUMENT_LONG + (longest_here,)) | {k for k, _ in orders if k >= 4}:
            c = np.zeros(len(vocab))
            for i, n in matched:
                if n >= k:
                    c[i] += weight
            if c.any() and k <= longest_here:
                ours[k] = c
    if not orders and not ours:
        return None
    theirs = dict(orders)
    blend = p
    for k in sorted(set(theirs) | set(ours)):
        c = theirs.get(k, np.zeros(len(vocab))) + ours.get(k, np.zeros(len(vocab)))
        escape = corpus_memory.PPM_ESCAPE * np.count_nonzero(c)
        blend = (escape * blend + c) / (c.sum() + escape)
    if not orders:
        return [None, None, blend]

    def smoothed(c: np.ndarray) -> np.ndarray:
        b = max(1, np.count_nonzero(c))
        return (c + b * p) / (c.sum() + b)

    short = [c for k, c in orders if k <= corpus_memory.SHORT_ORDER] or [orders[-1][1]]
    return [smoothed(orders[-1][1]), smoothed(short[-1]), blend]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab c", min_size=1, max_size=300), st.text(alphabet="ab c", min_size=3, max_size=100),
       st.randoms(use_true_random=False))
@example("ab ab c", "ab " * 30 + "a" * 40 + " c", random.Random(0))  # more places than are counted
def test_the_mixers_inputs_are_the_counts_of_every_order_by_brute_force(text, doc, rng):
    vocab = Vocab.build(["ab c"])
    expert = CorpusMemoryExpert.remembering(Memory.of(text.encode()), vocab)
    expert.read(doc)  # the whole document read: only what is before the cursor may count
    p = np.array([rng.random() + 0.01 for _ in range(len(vocab))])
    p /= p.sum()
    for cursor in range(len(doc) + 1):
        expected = expected_inputs(text, doc, cursor, vocab, p)
        got = expert.inputs(doc, cursor, "", torch.tensor(p, dtype=torch.float32))
        if expected is None:
            assert got is None
        else:
            assert got is not None
            for mine, theirs in zip(got.logps, expected):
                assert (mine is None) == (theirs is None)
                if mine is not None:
                    assert np.allclose(mine.exp().numpy(), theirs, rtol=1e-5, atol=1e-7)


def test_typing_along_a_remembered_phrase_finds_every_longer_match():
    memory, vocab = memory_of("the quick brown fox jumps over the lazy dog; the quick red fox")
    phrase = "so the quick brown fox jumps"
    lengths = [memory.predict(phrase[:i]) for i in range(len(phrase) + 1)]
    found = [hit[1] if hit else 0 for hit in lengths]
    assert found[-1] == len("the quick brown fox jumps") and found[-3] == len("the quick brown fox jum")


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=40), st.lists(st.integers(-2**31, 2**31 - 1), max_size=60),
       st.lists(st.integers(-2**63, 2**63 - 1), max_size=200), st.text(alphabet=ALPHABET, min_size=3, max_size=20))
def test_a_damaged_index_never_crashes_a_query(text, entries, starts, context):
    vocab = Vocab.build(["ab -" + "😀" * 5])
    data = text.encode()
    suffixes = np.array((entries + [0] * len(data))[:len(data)], dtype=np.int32)
    heads = np.resize(np.array(starts or [0], dtype=np.int64), HEAD_COUNT + 1)
    for index in (suffixes, suffix_array(data)):
        memory = CorpusMemory(Memory(data, 0, len(data), index, heads), vocab)
        got = memory.predict(context)
        assert got is None or (got[0] >= 0).all()


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="ab\n😀é", max_size=60))
def test_the_stored_head_ranges_hold_every_suffix_of_their_two_bytes(text):
    data = text.encode()
    order, starts = suffix_array(data), head_starts(np.frombuffer(data, dtype=np.uint8))
    assert starts[-1] == len(data)
    for rank, p in enumerate(order.tolist()):
        if p + 2 <= len(data):
            h = data[p] << 8 | data[p + 1]
            assert starts[h] <= rank < starts[h + 1]


def test_no_prediction_without_a_long_enough_match():
    memory, _ = memory_of("hello world, hello there")
    assert memory.predict("xyz") is None
    assert memory.predict("ere") is None  # "ere" ends the text: nothing followed it
    assert trust(MIN_MATCH - 1, 9) == 0.0 < trust(MIN_MATCH, 1) < trust(MIN_MATCH, 9)


def test_a_long_random_text_finds_every_context_it_holds():
    rng = random.Random(0)
    text = "".join(rng.choice("abcd ") for _ in range(5000))
    memory, vocab = memory_of(text)
    for _ in range(50):
        at = rng.randrange(40, len(text) - 1)
        counts, length = memory.predict(text[at - 30:at])
        assert length >= MIN_MATCH and counts[vocab.id_of(text[at])] >= 1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(alphabet="ab—😀é\n", max_size=30), min_size=1, max_size=6), st.integers(1, 80))
def test_the_last_bytes_of_the_folded_texts_are_remembered_from_a_character_boundary(texts, cap):
    vocab = Vocab.build(["ab"])
    memory = remembered_from(iter(texts), vocab, cap)
    whole = vocab.fold_text(JOIN.join(texts)).encode()
    if not whole:
        assert memory is None
        return
    kept = bytes(memory.text)
    assert whole.endswith(kept) and len(whole[-cap:]) - 3 <= len(kept) <= len(whole[-cap:])
    kept.decode("utf-8")  # whole characters
    assert sorted(memory.suffixes.tolist()) == list(range(len(kept)))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ab\r\n—“”’\u00a0é😀", max_size=40))
def test_folding_bytes_is_folding_the_text(text):
    vocab = Vocab.build(["ab"])
    assert folded_utf8(text, vocab) == vocab.fold_text(text).encode()


def test_training_remembers_the_corpus_it_read(tmp_path):
    (tmp_path / "a.md").write_text("First note about Quarrendell.\n" * 40)
    (tmp_path / "b.md").write_text("Second note, about nothing.\n" * 40)
    data = corpus.collect([tmp_path])
    setup = training_setup.prepare(data, size="tiny")
    remembered = bytes(setup.memory.text)
    assert b"Quarrendell" in remembered and b"about nothing" in remembered
    assert bytes(corpus_memory.remembered(data, setup.vocab).text) == remembered


def test_a_trained_model_remembers_its_corpus_from_one_memory_file(tmp_path):
    from tuiwriter.lm import checkpoint
    from tuiwriter.predict.engine import Engine
    from tuiwriter.predict.policy import SuggestConfig
    from tuiwriter.training.loop import TrainConfig, train

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.md").write_text("Ask Percival Thwackum about the lease.\n" + "Plain words here.\n" * 60)
    (notes / "b.md").write_text("Nothing much, a second note.\n" * 60)
    setup = training_setup.prepare(corpus.collect([notes]), size="tiny")
    out = tmp_path / "model" / "model.safetensors"
    out.parent.mkdir()
    cfg = TrainConfig(minutes=5, max_steps=6, batch=4, seq_len=32, eval_every_s=1e-9, threads=1)
    train(setup.model, setup.vocab, setup.train_ids, setup.val_ids, out, cfg, setup.summary, memory=setup.memory)
    assert [p.name for p in out.parent.iterdir() if ".memory-" in p.name] == [
        checkpoint.memory_file_name(out, setup.memory.digest())]  # one, however often it saved
    engine = Engine.load(str(out), SuggestConfig(document_match=False))
    opinion = dict(engine.experts)["corpus_memory"].opinion("Percival Thwac", 14, "")
    assert opinion is not None and int(opinion.mass.argmax()) == engine.vocab.id_of("k")


def test_the_remembered_text_is_the_tail_of_the_corpus_without_its_secrets(tmp_path, monkeypatch):
    (tmp_path / "a.md").write_text("Alpha note, the first of three.\n" * 40)
    (tmp_path / "b.md").write_text("Beta note: password: hunter2 is gone.\n" + "Beta goes on.\n" * 40)
    (tmp_path / "c.md").write_text("Gamma note, the last one.\n" * 40)
    data = corpus.collect([tmp_path])
    vocab = Vocab.build([text for _, text in data.iter_texts()])
    joined = corpus.JOIN.join(text for _, text in data.iter_texts()).encode()
    assert bytes(corpus_memory.remembered(data, vocab).text) == joined
    assert b"hunter2" not in joined
    for cap in (10, 1000, 2000, len(joined) + 5):
        monkeypatch.setattr(corpus_memory, "MAX_BYTES", cap)
        assert bytes(corpus_memory.remembered(data, vocab).text) == joined[-cap:]


def test_copies_of_notes_are_remembered_once_so_the_memory_reaches_back(tmp_path, monkeypatch):
    """A folder of near-copies (backups, exports): each long line is remembered once, at its
    latest place, so a memory far smaller than the folder still holds the first file's one
    unique line; short lines (headings, blanks) stay where they are."""
    book = [f"Line {i} of the book, long enough to be remembered only once." for i in range(200)]
    (tmp_path / "00-first.md").write_text("# Notes\n" + "\n".join(book[:100] + ["Ask Quillhaven's lamplighter "
                                                                                 "about the blue tin."] + book[100:]))
    for k in range(1, 8):
        (tmp_path / f"{k:02d}-copy.md").write_text("# Notes\n" + "\n".join(book[:50] + [f"changed line {k} " * 3]
                                                                              + book[50:]))
    data = corpus.collect([tmp_path])
    vocab = Vocab.build([text for _, text in data.iter_texts()])
    monkeypatch.setattr(corpus_memory, "MAX_BYTES", 20_000)  # the folder is 100 KB
    remembered = bytes(corpus_memory.remembered(data, vocab).text).decode()
    assert "Quillhaven's lamplighter" in remembered and remembered.count(book[7]) == 1
    assert remembered.count("# Notes") == 8 and all(f"changed line {k}" in remembered for k in range(1, 8))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ab c", min_size=1, max_size=200), st.text(alphabet="ab c", min_size=3, max_size=80),
       st.text(alphabet="ab c", max_size=30), st.integers(0, 80))
def test_an_edited_document_counts_as_if_read_afresh(text, doc, inserted, at):
    """An edit forgets what was read past it; the counts then match an expert that read only the
    edited document, and another document's expert starts with nothing of this one counted."""
    vocab = Vocab.build(["ab c"])
    expert = CorpusMemoryExpert.remembering(Memory.of(text.encode()), vocab)
    expert.read(doc)
    p = torch.full((len(vocab),), 1 / len(vocab))
    for cursor in range(len(doc) + 1):  # asked before the edit: nothing of it may be kept
        expert.inputs(doc, cursor, "", p)
    at = min(at, len(doc))
    edited = doc[:at] + inserted + doc[at:]
    expert.forget_after(at)
    expert.read(edited)
    fresh = CorpusMemoryExpert(expert.memory, vocab)
    fresh.read(edited)
    other = expert.for_another_document()
    assert other._kept is expert._kept  # what the memory gives is kept once for every document (bounded)
    for cursor in range(len(edited) + 1):
        mine, theirs = expert.inputs(edited, cursor, "", p), fresh.inputs(edited, cursor, "", p)
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert mine.context == theirs.context
            assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(mine.logps, theirs.logps))
    unread = CorpusMemoryExpert(expert.memory, vocab)
    for cursor in range(len(edited) + 1):
        mine, theirs = other.inputs(edited, cursor, "", p), unread.inputs(edited, cursor, "", p)
        assert (mine is None) == (theirs is None)
        if mine is not None:
            assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(mine.logps, theirs.logps))


@settings(max_examples=80, deadline=None)
@given(st.text(alphabet="ab c", min_size=1, max_size=300),
       st.lists(st.tuples(st.text(alphabet="ab c", min_size=3, max_size=60), st.text(alphabet="ab c", max_size=4)),
                min_size=1, max_size=12))
# "ab c" is the longest match after "aab c" and a shorter one than "bab c"'s: not what decides
@example("bab cc ab", [("aab c", ""), ("bab c", "")])
def test_answers_kept_between_predictions_are_what_a_fresh_expert_gives(text, asked):
    """Each prediction's remembered counts are kept by the ending that decides them
    (`_remembered`): one expert asked about many documents in turn answers each exactly as an
    expert that never answered anything else."""
    vocab = Vocab.build(["ab c"])
    memory = CorpusMemory.indexed(Memory.of(text.encode()), vocab)
    expert = CorpusMemoryExpert(memory, vocab)
    p = torch.full((len(vocab),), 1 / len(vocab))
    for doc, extra in asked:
        expert.forget_after(0)
        expert.read(doc)
        fresh = CorpusMemoryExpert(CorpusMemory.indexed(Memory.of(text.encode()), vocab), vocab)
        fresh.read(doc)
        for cursor in range(len(doc) + 1):
            mine, theirs = expert.inputs(doc, cursor, extra, p), fresh.inputs(doc, cursor, extra, p)
            assert (mine is None) == (theirs is None)
            if mine is not None:
                assert mine.context == theirs.context
                assert all((a is None and b is None) or torch.equal(a, b) for a, b in zip(mine.logps, theirs.logps))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ab é😀\n", min_size=1, max_size=200), st.text(alphabet="ab é😀\n", min_size=1, max_size=4))
def test_the_few_places_of_a_long_ending_are_counted_as_the_many_are(text, ending):
    """`_followers` counts a small range of the suffix array in Python and a large one with
    numpy: the same counts either way, characters outside ASCII included."""
    vocab = Vocab.build(["ab é😀\n"])
    memory = CorpusMemory.of_text(text, vocab)
    pattern = ending.encode()
    a, b = memory._range(pattern)
    few = memory._followers(a, b, len(pattern))
    saved = corpus_memory.FEW_PLACES
    try:
        corpus_memory.FEW_PLACES = -1  # numpy only
        many = memory._followers(a, b, len(pattern))
    finally:
        corpus_memory.FEW_PLACES = saved
    assert few[1] == many[1] and np.array_equal(few[0], many[0])
