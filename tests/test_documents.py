"""Opening and saving documents: what the person's file looks like after a save."""

from __future__ import annotations

import os
import stat

import pytest

from tuiwriter.text.documents import (
    ChangedOnDisk,
    Document,
    DocumentError,
    disk_change,
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


def test_disk_change_tells_a_touch_from_a_change_and_a_deletion(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("mine")
    doc = open_document(path)
    assert disk_change(doc).change == "same"
    os.utime(path, ns=(1, 1))  # a sync tool touched it: same bytes
    touched = disk_change(doc)
    assert touched.change == "same" and touched.state.mtime_ns == 1
    path.write_text("them")  # same size, other bytes
    os.utime(path, ns=(2, 2))
    assert disk_change(doc).change == "changed"
    path.unlink()
    assert disk_change(doc).change == "deleted"
    fresh = open_document(tmp_path / "new.md")
    (tmp_path / "new.md").write_text("someone else's")
    assert disk_change(fresh).change == "created"


def test_save_refuses_to_overwrite_a_file_changed_on_disk_unless_told(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("original")
    doc = open_document(path)
    path.write_text("another program's text")
    with pytest.raises(ChangedOnDisk, match="changed on disk"):
        save_document(doc, "mine")
    assert path.read_text() == "another program's text"
    save_document(doc, "mine", tmp_path / "copy.md")  # another name: no question
    assert path.read_text() == "another program's text"
    doc = open_document(path)
    save_document(doc, "mine")  # read again, then saved: nothing to ask
    path.write_text("theirs again")
    save_document(doc, "mine again", overwrite=True)
    assert path.read_text() == "mine again" and disk_change(doc).change == "same"


def test_a_deleted_file_is_written_again(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("old")
    doc = open_document(path)
    path.unlink()
    save_document(doc, "still here")
    assert path.read_text() == "still here"
