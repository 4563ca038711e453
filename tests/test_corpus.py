import os

import numpy as np
import pytest

from tests.secret_notes import make_secret_notes
from tuiwriter.text.corpus import JOIN, CorpusError, collect, encode, split
from tuiwriter.text.vocab import Vocab

TEXT = "Some notes about writing every day. " * 60


def _texts(corpus) -> list[str]:
    return [text for _, text in corpus.iter_texts()]


def test_keeps_text_and_says_what_it_skipped_and_excluded(tmp_path):
    (tmp_path / "a.md").write_text(TEXT)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text(TEXT)
    (tmp_path / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1") * 10)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text(TEXT)
    (tmp_path / ".draft.md").write_text(TEXT)
    corpus = collect([tmp_path])
    assert sorted(f.path.name for f in corpus.files) == ["a.md", "b.txt"]
    assert {p.name: why for p, why in corpus.skipped} == {"img.png": "binary", "latin1.txt": "not valid UTF-8"}
    assert {p.name: why for p, why in corpus.excluded} == {".git": "hidden folder", ".draft.md": "hidden file"}
    summary = corpus.summary()
    assert "2 file(s) kept" in summary and "1 binary" in summary
    assert "excluded 1 hidden file, 1 hidden folder" in summary


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


def test_a_folder_of_secrets_only_is_an_error_that_says_why(tmp_path):
    (tmp_path / ".env").write_text("TOKEN=abc\n")
    (tmp_path / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")
    with pytest.raises(CorpusError, match="no text files found.*excluded: secret file name"):
        collect([tmp_path])
    with pytest.raises(CorpusError, match="secret file name"):
        collect([tmp_path / "id_rsa"])  # named on the command line: still never read


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


def test_secrets_are_excluded_by_name_and_removed_from_text_and_the_report_says_why(tmp_path):
    notes = tmp_path / "notes"
    secrets = make_secret_notes(notes)
    corpus = collect([notes])
    assert sorted(f.path.name for f in corpus.files) == ["aws.md", "errands.md", "garden.md", "id_rsa.pub",
                                                        "journal.md", "server.md"]
    lines = corpus.report(name=lambda p: p.relative_to(tmp_path).as_posix())
    for line in ("excluded notes/.env (secret file name)", "excluded notes/id_rsa (secret file name)",
                 "excluded notes/private/ (.tuiwriterignore)", "excluded notes/build/ (.gitignore)",
                 "removed 4 secret-looking span(s) from notes/aws.md "
                 "(AWS access key, AWS secret key, GitHub token, password assignment)",
                 "removed 1 secret-looking span(s) from notes/server.md (private key)"):
        assert line in lines
    assert "5 secret-looking span(s) removed from 2 file(s)" in corpus.summary()
    texts = "".join(_texts(corpus))
    assert "Rotate it next week." in texts and "password: \n" in texts  # the rest of the note stays
    for name, secret in secrets.items():
        assert secret not in texts, name
    counted = "".join(c * n for c, n in corpus.char_counts.items())
    assert sorted(counted) == sorted(texts)  # the histogram counts the cleaned text only


def test_a_file_that_is_nothing_but_secrets_is_excluded_whatever_its_name(tmp_path):
    (tmp_path / "a.md").write_text(TEXT)
    (tmp_path / "deploy-key.txt").write_text("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n")
    corpus = collect([tmp_path])
    assert [f.path.name for f in corpus.files] == ["a.md"]
    assert (tmp_path / "deploy-key.txt", "nothing but secrets") in corpus.excluded


def test_the_report_lists_a_few_files_per_reason_then_counts(tmp_path):
    for i in range(14):
        (tmp_path / f"k{i:02d}.pem").write_text("x")
    (tmp_path / "a.md").write_text(TEXT)
    lines = collect([tmp_path]).report(limit=10)
    assert sum(line.startswith("excluded ") for line in lines) == 10
    assert "… and 4 more excluded (secret file name)" in lines


def test_a_file_changed_after_collect_is_read_and_scrubbed_afresh(tmp_path):
    (tmp_path / "a.md").write_text(TEXT)
    (tmp_path / "b.md").write_text(TEXT + "\ntoken: first-secret-1\n")
    corpus = collect([tmp_path])
    (tmp_path / "b.md").write_text("Rewritten elsewhere.\npassword: second-secret-2\n")
    texts = _texts(corpus)
    assert texts[1] == "Rewritten elsewhere.\npassword: \n"
    (tmp_path / "b.md").unlink()
    assert _texts(corpus) == [TEXT]  # a file gone since is left out


def test_crlf_and_a_byte_order_mark_are_read_as_plain_newlines(tmp_path):
    (tmp_path / "win.md").write_bytes(b"\xef\xbb\xbf" + TEXT.replace(". ", ".\r\n").encode())
    corpus = collect([tmp_path])
    assert _texts(corpus) == [TEXT.replace(". ", ".\n")] and corpus.chars == len(TEXT)


def _notes(folder, n=12):
    folder.mkdir(exist_ok=True)
    for i in range(n):
        (folder / f"n{i:02d}.md").write_text(f"note {i} " + TEXT * (1 + i % 4))
    return collect([folder])


def test_split_holds_out_whole_files_and_keeps_its_choices(tmp_path):
    corpus = _notes(tmp_path)
    # The files the earlier, string-based split held out for this corpus and these seeds.
    assert {seed: [p.name for p in split(corpus, seed=seed).held_paths(corpus)] for seed in (0, 1, 5)} == {
        0: ["n01.md"], 1: ["n07.md"], 5: ["n10.md"]}
    vocab = Vocab.build([TEXT])
    plan = split(corpus, seed=1)
    train, val = encode(corpus, vocab, plan)
    texts = _texts(corpus)
    assert vocab.decode(val.tolist()) == texts[7]
    assert vocab.decode(train.tolist()) == JOIN.join(t for i, t in enumerate(texts) if i != 7)
    assert len(train) == 56_259 and len(val) == 8_647  # the earlier split's train and validation lengths


def test_split_holds_out_the_tail_of_a_single_file(tmp_path):
    (tmp_path / "one.md").write_text(TEXT)
    corpus = collect([tmp_path / "one.md"])
    plan = split(corpus, val_fraction=0.1)
    assert plan.held_paths(corpus) == []
    train, val = encode(corpus, Vocab.build([TEXT]), plan)
    assert abs(len(val) - len(TEXT) * 0.1) <= 1 and len(train) + len(val) == len(TEXT)


def test_encoding_matches_the_vocabulary_character_for_character(tmp_path):
    (tmp_path / "a.md").write_text("\u201cQuoted\u201d \u2014 caf\u00e9 \u2603 na\u00efve\ttab\n" * 80)
    (tmp_path / "b.md").write_text("plain ascii only\n" * 80)
    (tmp_path / "c.md").write_text("emoji \U0001f600 and \u00a0nbsp\n" * 80)
    corpus = collect([tmp_path])
    texts = _texts(corpus)
    vocab = Vocab.from_counts(corpus.char_counts)
    assert vocab == Vocab.build(texts)  # the histogram builds the vocabulary the texts would
    train, val = encode(corpus, vocab, split(corpus))
    assert train.dtype == np.uint8
    assert np.concatenate([train, val]).tolist() == vocab.encode(JOIN.join(texts))
    wide = Vocab("\ufffd" + "".join(chr(c) for c in range(32, 400)))  # over 256 symbols: two bytes an id
    train, val = encode(corpus, wide, split(corpus))
    assert train.dtype == np.int16
    assert np.concatenate([train, val]).tolist() == wide.encode(JOIN.join(texts))
