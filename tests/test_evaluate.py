"""`tuiwriter eval`: the SPEC's JSON, deterministic quality figures, the simulated writer's rules,
and one-line errors."""

from __future__ import annotations

import json
import math
import random

import pytest

from tests.conftest import tiny_text
from tests.test_engine import ScriptPredictor, tabled
from tuiwriter import cli
from tuiwriter.bench.evaluate import Tally, percentile, read_texts, simulate
from tuiwriter.lm import checkpoint
from tuiwriter.predict.engine import Engine
from tuiwriter.predict.policy import SuggestConfig

KEYS = {"model", "chars", "bpc", "ksr", "latency_ms", "suggestion_chars_mean", "accept_rate"}
LATENCY_KEYS = {f"{k}_{q}" for k in ("keystroke", "full", "jump") for q in ("p50", "p99")}


@pytest.fixture
def held_out(tmp_path):
    path = tmp_path / "held.txt"
    path.write_text(tiny_text(12)[::-1][:1200] + tiny_text(6), encoding="utf-8")
    return path


def run_json(capsys, *args) -> dict:
    assert cli.main(["eval", *args, "--json"]) == 0
    out = capsys.readouterr().out
    return json.loads(out)


def test_json_has_the_spec_fields_and_repeats_exactly(capsys, tiny_checkpoint, held_out):
    first = run_json(capsys, str(held_out), "--model", str(tiny_checkpoint))
    assert set(first) == KEYS and set(first["latency_ms"]) == LATENCY_KEYS
    assert first["chars"] == len(held_out.read_text())
    assert 0 < first["bpc"] < 8 and 0 < first["ksr"] < 1 and 0 < first["accept_rate"] <= 1
    assert first["latency_ms"]["jump_p99"] > 0  # the file is long enough for jump probes
    second = run_json(capsys, str(held_out), "--model", str(tiny_checkpoint))
    for key in ("chars", "bpc", "ksr", "suggestion_chars_mean", "accept_rate"):
        assert first[key] == second[key]


def test_max_chars_caps_the_text_and_the_model_learnt_its_text(capsys, tiny_checkpoint, tmp_path):
    seen = tmp_path / "seen.txt"
    seen.write_text(tiny_text(10), encoding="utf-8")
    gibberish = tmp_path / "noise.txt"
    rng = random.Random(0)  # noise that does not repeat itself either (see document_match)
    gibberish.write_text("".join(rng.choice("qzx#vk@wj") for _ in range(540)), encoding="utf-8")
    good = run_json(capsys, str(seen), "--model", str(tiny_checkpoint), "--max-chars", "500")
    bad = run_json(capsys, str(gibberish), "--model", str(tiny_checkpoint), "--max-chars", "500")
    assert good["chars"] == bad["chars"] == 500
    assert good["bpc"] < 1.5 < bad["bpc"] and good["ksr"] > 0.3 > bad["ksr"]


def test_human_report(capsys, tiny_checkpoint, held_out):
    assert cli.main(["eval", str(held_out), "--model", str(tiny_checkpoint), "--max-chars", "300"]) == 0
    out = capsys.readouterr().out
    assert "bits/char" in out and "keystrokes saved" in out and "latency jump" in out


def test_errors_are_one_line(capsys, tiny_checkpoint, tmp_path):
    binary = tmp_path / "bin.dat"
    binary.write_bytes(b"\xff\xfe\x00\x01")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    for args in ([str(tmp_path / "missing.txt"), "--model", str(tiny_checkpoint)],
                 [str(binary), "--model", str(tiny_checkpoint)],
                 [str(empty), "--model", str(tiny_checkpoint)],
                 [str(tmp_path), "--model", str(tiny_checkpoint)],
                 [str(empty), "--model", "no-such-model"]):
        assert cli.main(["eval", *args]) == 1
        err = capsys.readouterr().err
        assert err.startswith("tuiwriter: error:") and err.count("\n") == 1, err


def scripted_tally(ck, script: str, text: str, **config) -> Tally:
    for switch in ("document_match", "adapt", "dynamic"):  # the script's probabilities, unmixed
        config.setdefault(switch, False)
    engine = Engine(ck, SuggestConfig(**config), predictor=ScriptPredictor(ck.vocab, script))
    tally = Tally()
    simulate(engine, text, tally)
    return tally


def test_writer_takes_whole_suggestions_with_one_key(tiny_checkpoint):
    ck = checkpoint.load(tiny_checkpoint)
    text = "Hi there. Bye now. Hi there. Bye now. "
    tally = scripted_tally(ck, text, text, min_confidence=0.0, word_confidence=0.0, document_match=False)
    # every suggestion is right: one key per sentence ("Hi there. " / "Bye now. " ...)
    assert tally.keys == 4 and tally.accepted == tally.shown == 4
    assert math.isclose(tally.bits / tally.chars, -math.log2(0.9), rel_tol=1e-6)


def test_writer_takes_a_word_then_types_past_the_wrong_rest(tiny_checkpoint):
    ck = checkpoint.load(tiny_checkpoint)
    # the model believes "ab cd" forever; the text says "ab xy"
    tally = scripted_tally(ck, "ab cd", "ab xy", min_confidence=0.0)
    # keys: "ab" (word), " " typed (consumes the ghost's space), "x" typed, then "y" typed
    assert tally.keys == 4 and tally.accepted == 1 and tally.shown == 2
    assert len(tally.keystroke_ms) == 1  # a new suggestion after "x"; none after " " (consumed)


def test_writer_sees_the_ghost_a_beam_swapped_in_while_the_editor_was_idle(tiny_checkpoint):
    """The idle moment after each suggestion is simulated as the editor has it (`Engine.refine`):
    greedy decoding offers "ac " where the beam's "b " is both likelier and what the text says."""
    ck = checkpoint.load(tiny_checkpoint)
    text = "b b b b "
    refined, greedy = Tally(), Tally()
    simulate(tabled(ck), text, refined)
    simulate(tabled(ck, refine=False), text, greedy)
    assert refined.keys == 4 and refined.accepted == refined.shown == 4  # one Tab a word
    assert greedy.keys > refined.keys
    assert refined.bits == greedy.bits  # what the writer is shown never changes the model's bits


def test_percentile():
    assert percentile([], 99) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile(list(range(1, 101)), 99) == 99
    assert percentile([5.0], 99) == 5.0


def test_read_texts_folds_and_caps(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("\u201cHi\u201d\r\n", encoding="utf-8")
    b.write_text("more text", encoding="utf-8")
    texts = read_texts([str(a), str(b)], {"\u201c": '"', "\u201d": '"'}, max_chars=7)
    assert texts == [(str(a), '"Hi"\n'), (str(b), "mo")]
