"""The background training job: runs, cancels, refuses a second run, and fails cleanly."""

from __future__ import annotations

import errno
import shutil
import threading
from pathlib import Path

import pytest
import torch
from conftest import tiny_text

from tuiwriter.lm import checkpoint, names
from tuiwriter.paths import models_dir
from tuiwriter.training.job import (
    JobError,
    JobSnapshot,
    TrainingJob,
    TrainRequest,
    _Thinned,
    describe_error,
)

WAIT_S = 60  # generous upper bound for a run of a second or two on a loaded 2-core machine


def write_notes(folder: Path) -> Path:
    """Three small notes (a few KB of text in all)."""
    folder.mkdir()
    for i in range(3):
        (folder / f"note{i}.md").write_text(tiny_text(12 + 3 * i))
    return folder


@pytest.fixture
def notes(tmp_path) -> Path:
    return write_notes(tmp_path / "notes")


class Recorder:
    """Collects the job's events and signals the first one that shows training progress."""

    def __init__(self) -> None:
        self.events: list[JobSnapshot] = []
        self.threads_seen: set[int] = set()
        self.progressed = threading.Event()

    def __call__(self, snap: JobSnapshot) -> None:
        self.events.append(snap)
        if snap.state == "training" and snap.chars_seen > 0:
            self.threads_seen.add(torch.get_num_threads())
            self.progressed.set()

    @property
    def states(self) -> list[str]:
        return [e.state for e in self.events]


def run(job: TrainingJob, request: TrainRequest) -> JobSnapshot:
    job.start(request)
    assert job.wait(WAIT_S), "the run did not end"
    return job.snapshot()


def test_new_model_trains_in_the_background_and_is_saved_under_its_name(notes):
    rec = Recorder()
    job = TrainingJob(threads=1, on_event=rec)
    snap = run(job, TrainRequest([notes], "mynotes", minutes=0.02, size="tiny"))
    assert snap.state == "finished", snap.message
    assert snap.path == models_dir() / "mynotes" / "model.safetensors"
    ck = checkpoint.load(snap.path)
    assert ck.training["corpus_file_count"] == 3
    assert ck.training["size"] == "tiny"
    assert ck.training["threads"] == 1
    assert snap.best_val_bpc == pytest.approx(ck.training["val_bpc"], abs=1e-3)
    assert rec.states[0] == "preparing" and rec.states[-1] == "finished"
    assert "training" in rec.states
    assert snap.train_history and snap.val_history
    assert snap.corpus_line.startswith("3 file(s) kept")


def test_fine_tune_keeps_the_base_vocabulary_and_leaves_the_base_untouched(notes, tiny_checkpoint):
    before = tiny_checkpoint.read_bytes()
    job = TrainingJob(threads=1)
    snap = run(job, TrainRequest([notes], "tuned", minutes=0.02, base=str(tiny_checkpoint)))
    assert snap.state == "finished", snap.message
    tuned, base = checkpoint.load(snap.path), checkpoint.load(tiny_checkpoint)
    assert tuned.vocab.chars == base.vocab.chars
    assert tuned.config == base.config
    assert tuned.training["from"] == str(tiny_checkpoint)
    assert tiny_checkpoint.read_bytes() == before


def test_cancel_stops_early_and_keeps_the_best_checkpoint(notes):
    rec = Recorder()
    job = TrainingJob(threads=1, on_event=rec)
    job.start(TrainRequest([notes], "stopped", minutes=5, size="tiny"))
    assert rec.progressed.wait(WAIT_S)
    assert job.cancel()
    assert job.wait(WAIT_S)
    snap = job.snapshot()
    assert snap.state == "cancelled"
    assert "stopping" in rec.states
    assert snap.path is not None and checkpoint.load(snap.path).training["chars_seen"] > 0
    assert not job.cancel()  # nothing left to cancel


def test_only_one_run_at_a_time(notes):
    rec = Recorder()
    job = TrainingJob(threads=1, on_event=rec)
    job.start(TrainRequest([notes], "first", minutes=5, size="tiny"))
    try:
        with pytest.raises(JobError, match="already training 'first'"):
            job.start(TrainRequest([notes], "second", minutes=0.02, size="tiny"))
    finally:
        job.cancel()
        job.wait(WAIT_S)
    assert not (models_dir() / "second").exists()


def test_training_threads_stay_in_the_training_thread(notes):
    """The job's torch thread limit must not leak to the UI thread or threads started later."""
    torch.set_num_threads(2)
    try:
        rec = Recorder()
        snap = run(TrainingJob(threads=1, on_event=rec), TrainRequest([notes], "one-thread", 0.02, size="tiny"))
        later: list[int] = []
        probe = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        probe.start()
        probe.join()
        assert snap.state == "finished"
        assert rec.threads_seen == {1}
        assert torch.get_num_threads() == 2
        assert later == [2]
    finally:
        torch.set_num_threads(1)


def test_no_text_found_fails_with_one_line_and_creates_no_model(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG\x00\x00" * 100)
    rec = Recorder()
    snap = run(TrainingJob(threads=1, on_event=rec), TrainRequest([folder], "pics", minutes=0.02, size="tiny"))
    assert snap.state == "failed"
    assert snap.message.startswith("no text files found") and "\n" not in snap.message
    assert not (models_dir() / "pics").exists()


def test_bad_base_checkpoint_fails_cleanly(notes, tmp_path):
    bogus = tmp_path / "bogus.safetensors"
    bogus.write_bytes(b"not a model at all")
    snap = run(TrainingJob(threads=1), TrainRequest([notes], "tuned", minutes=0.02, base=str(bogus)))
    assert snap.state == "failed"
    assert "not a tuiwriter checkpoint" in snap.message
    assert not (models_dir() / "tuned").exists()


def test_disk_full_fails_cleanly_and_the_model_in_use_is_untouched(notes, tiny_checkpoint, monkeypatch):
    active = models_dir() / "active" / "model.safetensors"
    active.parent.mkdir()
    shutil.copy(tiny_checkpoint, active)
    before = active.read_bytes()

    def full(path, data, mode=0o600):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("tuiwriter.lm.checkpoint.atomic_write", full)
    snap = run(TrainingJob(threads=1), TrainRequest([notes], "tuned", minutes=0.02, base="active",
                                                    active_model="active"))
    assert snap.state == "failed"
    assert snap.message == "disk full: the model could not be saved"
    assert not (models_dir() / "tuned").exists()
    assert active.read_bytes() == before


@pytest.mark.parametrize("request_kwargs, error", [
    (dict(name="default"), "shipped model"),
    (dict(name="bad name!"), "bad model name"),
    (dict(name="taken"), "exists"),
    (dict(minutes=0), "positive number of minutes"),
    (dict(paths=[]), "choose at least one"),
    (dict(size="huge"), "unknown model size"),
])
def test_a_bad_request_is_refused_before_anything_starts(notes, request_kwargs, error, tiny_checkpoint):
    (models_dir() / "taken").mkdir()
    shutil.copy(tiny_checkpoint, models_dir() / "taken" / "model.safetensors")
    job = TrainingJob(threads=1)
    args = dict(paths=[notes], name="fresh", minutes=0.02, size="tiny") | request_kwargs
    with pytest.raises(JobError, match=error):
        job.start(TrainRequest(**args))
    assert job.snapshot().state == "idle"


def test_loss_history_stays_short_and_evenly_spaced_over_a_long_run():
    history = _Thinned(limit=10)
    for i in range(1000):
        history.add(float(i))
    assert 5 <= len(history.points) <= 10
    gaps = {b - a for a, b in zip(history.points, history.points[1:])}
    assert len(gaps) == 1 and history.points[0] == 0.0


def test_errors_read_as_one_line():
    assert describe_error(OSError(errno.ENOSPC, "No space left on device")) == \
        "disk full: the model could not be saved"
    assert describe_error(OSError(errno.EACCES, "Permission denied", "/x")) == "Permission denied: /x"
    assert describe_error(RuntimeError("boom\nstack")) == "training failed: RuntimeError: boom"


def test_status_bar_text_follows_the_run():
    snap = JobSnapshot(state="training", name="notes", elapsed_s=30, budget_s=120)
    assert snap.compact() == "training notes 25% 1:30 left"
    assert JobSnapshot(state="finished", name="notes", best_val_bpc=2.5).compact() == "trained notes (2.50 bpc)"


def test_a_folder_left_by_a_run_that_never_saved_does_not_block_the_name(notes):
    (models_dir() / "notes").mkdir()  # e.g. the app was killed before the first validation
    assert names.from_path(notes, names.taken()) == "notes"
    snap = run(TrainingJob(threads=1), TrainRequest([notes], "notes", minutes=0.02, size="tiny"))
    assert snap.state == "finished", snap.message
    assert "notes" in names.taken()


def _config(text: str) -> None:
    from tuiwriter import settings

    path = settings.config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_device_setting_picks_where_the_editors_runs_train(notes):
    from tuiwriter import settings

    _config('device = "gpu"\n')
    current, warning = settings.load()
    assert current.device == "auto" and "unknown device 'gpu'" in warning  # named, and the default kept
    _config('device = "cpu"\n')
    assert settings.load() == (settings.Settings(device="cpu"), None)
    snap = run(TrainingJob(threads=1), TrainRequest([notes], "on-cpu", minutes=0.02, size="tiny"))
    assert snap.state == "finished", snap.message
    assert checkpoint.load(snap.path).training["device"] == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_a_device_that_is_not_here_fails_the_run_with_one_line(notes):
    _config('device = "cuda"\n')
    snap = run(TrainingJob(threads=1), TrainRequest([notes], "on-gpu", minutes=0.02, size="tiny"))
    assert snap.state == "failed"
    assert snap.message.startswith("config.toml: device 'cuda' is not available") and "\n" not in snap.message
    assert not (models_dir() / "on-gpu").exists()
