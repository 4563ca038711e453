"""The command line as a person meets it: one-line errors, training, generation, listing."""

import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tuiwriter
from tests.conftest import rewrite_metadata, tiny_text
from tuiwriter.cli import main
from tuiwriter.lm import checkpoint


def _one_line_error(capsys, argv, code=None):
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc != 0 if code is None else rc == code
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tuiwriter: error:"), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def notes(tmp_path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text(tiny_text(20))
    return folder


def _install(ck: Path, name: str) -> None:
    folder = Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / name
    folder.mkdir(parents=True)
    shutil.copy(ck, folder / "model.safetensors")


def test_bad_input_gives_one_line_errors(capsys, tmp_path, notes):
    (tmp_path / "empty").mkdir()
    (tmp_path / "bins").mkdir()
    (tmp_path / "bins" / "x.bin").write_bytes(b"\x00\xff" * 500)
    (tmp_path / "small.md").write_text("too short")
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    assert "no such file" in _one_line_error(capsys, ["train", str(tmp_path / "missing")])
    assert "empty folder" in _one_line_error(capsys, ["train", str(tmp_path / "empty")])
    assert "binary" in _one_line_error(capsys, ["train", str(tmp_path / "bins")])
    assert "symlink loop" in _one_line_error(capsys, ["train", str(tmp_path / "loop")])
    assert "too small" in _one_line_error(capsys, ["train", str(tmp_path / "small.md")])
    assert "--minutes" in _one_line_error(capsys, ["train", str(notes), "--minutes", "-1"], code=2)
    assert "invalid choice" in _one_line_error(capsys, ["train", str(notes), "--size", "huge"], code=2)
    assert "between 0 and 2" in _one_line_error(capsys, ["generate", "--temperature", "9"], code=2)
    assert "leave out --from" in _one_line_error(capsys, ["train", str(notes), "--resume", "--from", "x"], code=2)
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / "notes").exists()


def test_broken_checkpoints_give_one_line_errors(capsys, tmp_path, tiny_checkpoint):
    truncated = tmp_path / "cut.safetensors"
    truncated.write_bytes(tiny_checkpoint.read_bytes()[:300])
    assert "not a tuiwriter checkpoint" in _one_line_error(capsys, ["generate", "--model", str(truncated)])
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(Evil()))
    assert "not a tuiwriter checkpoint" in _one_line_error(capsys, ["generate", "--model", str(evil)])
    assert "not a tuiwriter checkpoint" in _one_line_error(capsys, ["eval", str(evil), "--model", str(evil)])
    assert not marker.exists()
    assert "no model named" in _one_line_error(capsys, ["generate", "--model", "nosuchmodel"])


def test_invalid_utf8_file_is_skipped_with_a_note_when_others_remain(capsys, notes):
    (notes / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    rc = main(["train", str(notes), "--model", "n", "--size", "tiny", "--minutes", "0.05", "--threads", "1"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "latin1.txt (not valid UTF-8)" in captured.err
    assert "saved n" in captured.out


def test_generate_is_repeatable_with_a_seed(capsys, tiny_checkpoint):
    _install(tiny_checkpoint, "tiny")
    outs = []
    for _ in range(2):
        assert main(["generate", "--model", "tiny", "--prompt", "The cat", "--length", "80", "--seed", "3",
                     "--temperature", "0.8"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0].startswith("The cat") and len(outs[0]) >= 80
    assert main(["generate", "--model", "tiny", "--prompt", "The cat", "--temperature", "0", "--length", "20"]) == 0
    assert capsys.readouterr().out.startswith("The cat sat on the ")


def test_models_lists_and_marks_the_active_model(capsys, tiny_checkpoint):
    _install(tiny_checkpoint, "mine")
    assert main(["models", "--use", "mine"]) == 0
    capsys.readouterr()
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if " mine " in line + " ")
    assert row.startswith("*") and "tiny test text" in row
    assert main(["models", "--delete", "mine"]) == 2  # the active one is kept
    capsys.readouterr()


def test_models_use_keeps_the_rest_of_config_and_an_absolute_path(capsys, tiny_checkpoint, tmp_path,
                                                                   monkeypatch):
    from tuiwriter import settings

    config = settings.config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('temperature = 0.7\n\n[keys]\nresample = "ctrl+r"\n')
    shutil.copy(tiny_checkpoint, tmp_path / "mine.safetensors")
    monkeypatch.chdir(tmp_path)
    assert main(["models", "--use", "mine.safetensors"]) == 0
    capsys.readouterr()
    current, warning = settings.load()
    assert warning is None and current.model == str(tmp_path / "mine.safetensors")  # works from anywhere
    assert current.temperature == 0.7 and current.keys["resample"] == "ctrl+r"


def test_a_broken_config_is_never_replaced_by_defaults(capsys, tiny_checkpoint):
    from tuiwriter import settings

    _install(tiny_checkpoint, "mine")
    config = settings.config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text('temperature = 0.7\n[keys\nresample = "ctrl+r"\n')
    line = _one_line_error(capsys, ["models", "--use", "mine"])
    assert "config.toml has an error" in line
    assert config.read_text() == 'temperature = 0.7\n[keys\nresample = "ctrl+r"\n'


def test_an_existing_model_is_not_overwritten_by_accident(capsys, notes, tiny_checkpoint):
    _install(tiny_checkpoint, "keep")
    before = (Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter/models/keep/model.safetensors").read_bytes()
    assert "exists" in _one_line_error(capsys, ["train", str(notes), "--model", "keep"])
    after = (Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter/models/keep/model.safetensors").read_bytes()
    assert before == after


def _start_training(notes, name, *extra):
    return subprocess.Popen(
        [sys.executable, "-m", "tuiwriter", "train", str(notes), "--model", name, "--size", "tiny",
         "--threads", "1", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))


def _wait_for(path: Path, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.2)


def test_ctrl_c_stops_cleanly_and_keeps_the_best_model(notes):
    ck = Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter/models/run/model.safetensors"
    proc = _start_training(notes, "run", "--minutes", "3")
    _wait_for(ck)  # the first validation (10 s in) saved a model
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopping" in err and "saved run" in out and "Traceback" not in err
    assert checkpoint.load(ck).training["val_loss"] > 0


def test_kill_9_leaves_the_previous_best_checkpoint_loadable(notes):
    ck = Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter/models/run/model.safetensors"
    proc = _start_training(notes, "run", "--minutes", "3")
    _wait_for(ck)
    first = checkpoint.load(ck).training
    time.sleep(1.0)
    proc.kill()
    proc.wait(timeout=30)
    assert checkpoint.load(ck).training["val_loss"] <= first["val_loss"]
    leftovers = [p.name for p in ck.parent.iterdir() if p.name.endswith(".tmp")]
    # a temp file from an interrupted write may remain, but never in place of the model
    assert all(name.startswith(".") for name in leftovers)
    # and the run can be resumed from there
    proc = _start_training(notes, "run", "--minutes", "0.05", "--resume")
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err


def test_python_dash_m_and_help_work():
    out = subprocess.run([sys.executable, "-m", "tuiwriter", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "train" in out.stdout and "generate" in out.stdout
    assert "tuiwriter [FILE] [--model M]" in out.stdout  # the editor is the main command
    assert "lsp" in out.stdout and "--version" in out.stdout


def test_version_prints_the_version_instead_of_opening_the_editor():
    out = subprocess.run([sys.executable, "-m", "tuiwriter", "--version"], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, f"tuiwriter {tuiwriter.__version__}\n", "")


def test_lsp_without_pygls_names_what_to_install(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pygls" else real(name, *a))
    assert "pip install 'pygls" in _one_line_error(capsys, ["lsp"], code=1)


def test_a_resumed_run_that_does_not_improve_keeps_the_earlier_model(capsys, notes):
    assert main(["train", str(notes), "--model", "r", "--size", "tiny", "--minutes", "0.02"]) == 0
    folder = Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / "r"
    before = (folder / "model.safetensors").read_bytes()
    rewrite_metadata(folder / "resume.safetensors", "info", lambda info: {**info, "best_val_loss": 1e-6})  # unbeatable
    capsys.readouterr()
    assert main(["train", str(notes), "--model", "r", "--minutes", "0.02", "--resume"]) == 0
    assert "kept r" in capsys.readouterr().out
    assert (folder / "model.safetensors").read_bytes() == before


def _checkpoint_text_bytes(path: Path) -> tuple[bytes, bytes]:
    """A checkpoint's JSON header, and every byte of the memory file beside it (the remembered
    text and its index): all a model stores but its weights, which are floats."""
    import json

    data = path.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = data[8:8 + n]
    memory = json.loads(json.loads(header)["__metadata__"]["memory"])["file"]
    return header, (path.parent / memory).read_bytes()


def test_training_on_a_folder_with_secrets_reports_each_exclusion_and_stores_none(capsys, tmp_path, tiny_checkpoint):
    from tests.secret_notes import make_secret_notes

    notes = tmp_path / "notes"
    secrets = make_secret_notes(notes)
    rc = main(["train", str(notes), "--from", str(tiny_checkpoint), "--model", "private-notes", "--minutes", "0.05",
               "--threads", "1"])
    err = capsys.readouterr().err
    assert rc == 0, err
    for line in (f"excluded {notes}/.env (secret file name)", f"excluded {notes}/id_rsa (secret file name)",
                 f"excluded {notes}/private/ (.tuiwriterignore)", f"excluded {notes}/build/ (.gitignore)",
                 f"removed 4 secret-looking span(s) from {notes}/aws.md "
                 "(AWS access key, AWS secret key, GitHub token, password assignment)",
                 f"removed 1 secret-looking span(s) from {notes}/server.md (private key)"):
        assert line in err
    saved = Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / "private-notes" / "model.safetensors"
    header, memory = _checkpoint_text_bytes(saved)
    assert b"Remember to call the library" in memory and b"Rotate it next week." in memory  # the notes are there
    for name, secret in secrets.items():
        assert secret.encode() not in header and secret.encode() not in memory, name


def test_a_device_that_is_not_here_is_a_one_line_error(capsys, notes):
    import torch

    if not torch.cuda.is_available():
        assert "device 'cuda' is not available" in _one_line_error(capsys, ["train", str(notes), "--device", "cuda"])
        assert "device 'cuda:1' is not available" in _one_line_error(capsys, ["train", str(notes), "--device",
                                                                              "cuda:1"])
    if not torch.backends.mps.is_available():
        assert "device 'mps' is not available" in _one_line_error(capsys, ["train", str(notes), "--device", "mps"])
    assert "unknown device 'gpu'" in _one_line_error(capsys, ["train", str(notes), "--device", "gpu"], code=2)
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / "notes").exists()


def test_device_cpu_trains_and_records_where(capsys, notes):
    assert main(["train", str(notes), "--model", "c", "--size", "tiny", "--minutes", "0.02", "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "on cpu," in captured.err and "saved c" in captured.out
    ck = Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / "c" / "model.safetensors"
    assert checkpoint.load(ck).training["device"] == "cpu"


def test_precision_bfloat16_on_the_cpu_is_said_at_the_start_and_recorded(capsys, notes):
    import torch

    assert main(["train", str(notes), "--model", "b", "--size", "tiny", "--minutes", "0.02", "--device", "cpu",
                 "--precision", "bfloat16"]) == 0
    captured = capsys.readouterr()
    assert "on cpu (bfloat16 mixed precision)," in captured.err and "saved b" in captured.out
    ck = checkpoint.load(Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / "b" / "model.safetensors")
    assert ck.training["device"] == "cpu (bfloat16 mixed precision)"
    assert all(w.dtype == torch.float32 for w in ck.weights.values())  # the file is float32 as ever
    assert "invalid choice" in _one_line_error(capsys, ["train", str(notes), "--precision", "half"], code=2)


# -- word-level models ---------------------------------------------------------------------------

@pytest.fixture
def word_model(capsys, notes) -> str:
    """A tiny word-level model trained from the command line, installed as "w"."""
    rc = main(["train", str(notes), "--level", "word", "--model", "w", "--size", "tiny",
               "--minutes", "0.03", "--threads", "1"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "word level:" in captured.err and "bits/char" in captured.out
    return "w"


def test_a_word_model_trains_lists_generates_and_evaluates(capsys, word_model, tmp_path):
    import json

    assert main(["models"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.split()[:2] == ["w", "word"])
    assert "0.0" in row  # parameters, val bits/char
    outs = []
    for _ in range(2):
        assert main(["generate", "--model", "w", "--prompt", "The cat", "--length", "12",
                     "--temperature", "0.7", "--seed", "1"]) == 0
        outs.append(capsys.readouterr().out)
    assert outs[0] == outs[1] and outs[0].startswith("The cat") and len(outs[0]) > 20
    text = tmp_path / "held.txt"
    text.write_text(tiny_text(3))
    assert main(["eval", str(text), "--model", "w", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["chars"] == len(tiny_text(3)) and 0 < result["bpc"] < 8 and result["ksr"] > 0


def test_unknown_prompt_words_are_read_as_the_unknown_token_and_said(capsys, word_model):
    assert main(["generate", "--model", "w", "--prompt", "The zyzzyva", "--length", "5", "--seed", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("The zyzzyva")
    assert "1 prompt word(s) outside the vocabulary" in captured.err and "'zyzzyva'" in captured.err
    assert "no word of the prompt" in _one_line_error(capsys, ["generate", "--model", "w", "--prompt", "Qwxz vbnm!"])


def test_a_word_model_does_not_train_as_a_char_model_or_back(capsys, word_model, notes, tiny_checkpoint):
    _install(tiny_checkpoint, "c")
    line = _one_line_error(capsys, ["train", str(notes), "--from", "w", "--level", "char", "--model", "x"])
    assert "w is a word-level model" in line and "--level word" in line
    line = _one_line_error(capsys, ["train", str(notes), "--from", "c", "--level", "word", "--model", "y"])
    assert "c is a char-level model" in line
    for name in ("x", "y"):
        assert not (Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / name).exists()


def test_too_few_distinct_words_for_a_word_model(capsys, tmp_path):
    few = tmp_path / "few.txt"
    few.write_text("the cat sat on the mat. " * 100)
    assert main(["train", str(few), "--level", "word", "--model", "few", "--size", "tiny"]) == 1
    err = capsys.readouterr().err.strip().splitlines()  # what the corpus holds, then the error
    assert err[0].startswith("corpus:") and len(err) == 2 and "Traceback" not in err[-1]
    assert err[-1].startswith("tuiwriter: error: too few distinct words") and "--level char" in err[-1]
    assert not (Path(os.environ["XDG_DATA_HOME"]) / "tuiwriter" / "models" / "few").exists()


def test_eval_mixes_a_word_model_in_as_a_voice(capsys, word_model, tiny_checkpoint, tmp_path):
    import json

    _install(tiny_checkpoint, "c")
    text = tmp_path / "held.txt"
    text.write_text(tiny_text(2))
    assert main(["eval", str(text), "--model", "c", "--voice", "w", "--voice-weight", "0.3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model"] == "c+0.3*w" and result["chars"] == len(tiny_text(2)) and result["bpc"] > 0
    assert "word-level model into a char-level one" in _one_line_error(
        capsys, ["eval", str(text), "--model", "w", "--voice", "c"])
    assert "between 0 and 1" in _one_line_error(capsys, ["eval", str(text), "--voice", "w", "--voice-weight", "2"],
                                                code=2)
