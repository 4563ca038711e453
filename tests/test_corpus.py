import os

import pytest

from tuiwriter.text.corpus import CorpusError, collect, split

TEXT = "Some notes about writing every day. " * 60


def test_keeps_text_and_says_what_it_skipped(tmp_path):
    (tmp_path / "a.md").write_text(TEXT)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text(TEXT)
    (tmp_path / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1") * 10)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text(TEXT)
    corpus = collect([tmp_path])
    assert sorted(f.path.name for f in corpus.files) == ["a.md", "b.txt"]
    reasons = {p.name: why for p, why in corpus.skipped}
    assert reasons == {"img.png": "binary", "latin1.txt": "not valid UTF-8", ".git": "hidden folder"}
    assert "2 file(s) kept" in corpus.summary() and "1 binary" in corpus.summary()


def test_missing_path_is_an_error(tmp_path):
    with pytest.raises(CorpusError, match="no such file or folder"):
        collect([tmp_path / "nope"])


def test_empty_folder_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="empty folder"):
        collect([tmp_path / "empty"])


def test_folder_of_binaries_is_an_error(tmp_path):
    (tmp_path / "a.bin").write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(CorpusError, match="no text files found.*binary"):
        collect([tmp_path])


def test_symlink_loops_are_skipped_or_reported(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.md").write_text(TEXT)
    os.symlink(tmp_path / "notes", tmp_path / "notes" / "loop")
    corpus = collect([tmp_path / "notes"])
    assert [f.path.name for f in corpus.files] == ["a.md"]
    assert any(why == "symlink loop" for _, why in corpus.skipped)
    os.symlink(tmp_path / "self", tmp_path / "self")
    with pytest.raises(CorpusError, match="symlink loop"):
        collect([tmp_path / "self"])


def test_too_small_corpus_is_an_error(tmp_path):
    (tmp_path / "a.md").write_text("tiny")
    with pytest.raises(CorpusError, match="too small"):
        collect([tmp_path / "a.md"])


def test_oversized_files_are_skipped(tmp_path):
    (tmp_path / "a.md").write_text(TEXT)
    (tmp_path / "big.md").write_text(TEXT * 10)
    corpus = collect([tmp_path], max_file_bytes=len(TEXT) + 10)
    assert [f.path.name for f in corpus.files] == ["a.md"]
    assert (tmp_path / "big.md", "over the size cap") in corpus.skipped


def test_split_holds_out_whole_files_when_there_are_several(tmp_path):
    for i in range(10):
        (tmp_path / f"n{i}.md").write_text(f"note {i} " + TEXT)
    train, val, held = split(collect([tmp_path]))
    assert held and all(p.name.startswith("n") for p in held)
    for p in held:
        assert p.read_text() in val and p.read_text() not in train


def test_split_holds_out_the_tail_of_a_single_file(tmp_path):
    (tmp_path / "one.md").write_text(TEXT)
    train, val, held = split(collect([tmp_path / "one.md"]), val_fraction=0.1)
    assert held == [] and train + val == TEXT
    assert abs(len(val) - len(TEXT) * 0.1) <= 1
