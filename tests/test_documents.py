"""Opening and saving documents: what the person's file looks like after a save."""

from __future__ import annotations

import os
import stat

import pytest

from tuiwriter.text.documents import (
    Document,
    DocumentError,
    open_document,
    save_document,
)


def test_missing_file_is_a_new_empty_document(tmp_path):
    doc = open_document(tmp_path / "new.md")
    assert doc.text == "" and not doc.exists and doc.name == "new.md"


def test_round_trip_keeps_crlf_and_bom(tmp_path):
    path = tmp_path / "win.txt"
    path.write_bytes("\ufeffone\r\ntwo\r\n".encode())
    doc = open_document(path)
    assert doc.text == "one\ntwo\n"  # the editor and the model see plain newlines
    save_document(doc, doc.text + "three\n")
    assert path.read_bytes() == "\ufeffone\r\ntwo\r\nthree\r\n".encode()


@pytest.mark.parametrize("content, reason", [
    (b"abc\x00def", "binary"),
    (b"\xff\xfe\xfa bad", "not UTF-8"),
])
def test_binary_and_non_utf8_files_are_refused(tmp_path, content, reason):
    path = tmp_path / "file"
    path.write_bytes(content)
    with pytest.raises(DocumentError, match=reason) as info:
        open_document(path)
    assert "\n" not in str(info.value)


def test_files_over_the_size_cap_are_refused(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("x" * 2000)
    with pytest.raises(DocumentError, match="opens files up to"):
        open_document(path, max_bytes=1000)


def test_folder_and_missing_parent_are_refused(tmp_path):
    with pytest.raises(DocumentError, match="folder"):
        open_document(tmp_path)
    with pytest.raises(DocumentError, match="does not exist"):
        open_document(tmp_path / "nope" / "x.md")


def test_save_keeps_permissions_and_writes_through_symlinks(tmp_path):
    real = tmp_path / "real.md"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.md"
    link.symlink_to(real)
    doc = open_document(link)
    save_document(doc, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_new_file_gets_ordinary_permissions(tmp_path):
    path = tmp_path / "fresh.md"
    save_document(Document(path=None), "hello", path)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_save_into_a_missing_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(DocumentError, match="cannot save"):
        save_document(Document(path=None), "x", tmp_path / "missing" / "a.md")
