""".gitignore and .tuiwriterignore decide what a folder walk reads, as git would decide it."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from tuiwriter.text.corpus import CorpusError, collect

TEXT = "A plain note about the garden and the weather this week. " * 30


def _tree(root, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def _kept(root) -> list[str]:
    return sorted(f.path.relative_to(root).as_posix() for f in collect([root]).files)


def _excluded(root) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): why for p, why in collect([root]).excluded}


def test_a_gitignore_excludes_files_and_folders_and_says_so(tmp_path):
    _tree(tmp_path, {".gitignore": "*.log\nbuild/\n", "a.md": TEXT, "run.log": TEXT, "build/out.md": TEXT,
                     "sub/deep.log": TEXT, "sub/b.md": TEXT})
    assert _kept(tmp_path) == ["a.md", "sub/b.md"]
    excluded = _excluded(tmp_path)
    assert excluded["run.log"] == excluded["build"] == excluded["sub/deep.log"] == ".gitignore"


def test_negation_takes_a_file_back(tmp_path):
    _tree(tmp_path, {".gitignore": "*.md\n!keep.md\n", "keep.md": TEXT, "drop.md": TEXT, "sub/keep.md": TEXT})
    assert _kept(tmp_path) == ["keep.md", "sub/keep.md"]


def test_a_directory_pattern_excludes_folders_only(tmp_path):
    _tree(tmp_path, {".tuiwriterignore": "drafts/\n", "drafts/a.md": TEXT, "sub/drafts/b.md": TEXT,
                     "notes/drafts": TEXT})  # a file called drafts is not a folder
    assert _kept(tmp_path) == ["notes/drafts"]


def test_an_anchored_pattern_matches_at_its_own_folder_only(tmp_path):
    _tree(tmp_path, {".gitignore": "/top.md\n", "top.md": TEXT, "sub/top.md": TEXT,
                     "sub/.gitignore": "/inner.md\n", "sub/inner.md": TEXT, "inner.md": TEXT})
    assert _kept(tmp_path) == ["inner.md", "sub/top.md"]


def test_a_deeper_ignore_file_overrides_its_parents(tmp_path):
    _tree(tmp_path, {".gitignore": "*.txt\n", "a.txt": TEXT, "sub/.gitignore": "!keep.txt\n", "sub/keep.txt": TEXT,
                     "sub/other.txt": TEXT, "b.md": TEXT})
    assert _kept(tmp_path) == ["b.md", "sub/keep.txt"]


def test_a_file_in_an_excluded_folder_cannot_be_taken_back(tmp_path):
    _tree(tmp_path, {".gitignore": "private/\n!private/ok.md\n", "private/ok.md": TEXT, "a.md": TEXT})
    assert _kept(tmp_path) == ["a.md"]


def test_tuiwriterignore_is_read_after_gitignore_in_the_same_folder(tmp_path):
    _tree(tmp_path, {".gitignore": "*.md\n", ".tuiwriterignore": "!journal.md\nsecret-plans.txt\n",
                     "journal.md": TEXT, "todo.md": TEXT, "secret-plans.txt": TEXT, "ideas.txt": TEXT})
    assert _kept(tmp_path) == ["ideas.txt", "journal.md"]
    excluded = _excluded(tmp_path)
    assert excluded["todo.md"] == ".gitignore" and excluded["secret-plans.txt"] == ".tuiwriterignore"


def test_double_star_patterns(tmp_path):
    _tree(tmp_path, {".tuiwriterignore": "**/tmp/**\nlogs/**/*.md\n", "a/tmp/x.md": TEXT, "tmp/y.md": TEXT,
                     "logs/2024/jan.md": TEXT, "logs/readme.txt": TEXT, "a/b.md": TEXT})
    assert _kept(tmp_path) == ["a/b.md", "logs/readme.txt"]


def test_a_file_named_on_the_command_line_is_read_even_if_ignored(tmp_path):
    _tree(tmp_path, {".tuiwriterignore": "private/\n", "private/diary.md": TEXT, "a.md": TEXT})
    assert _kept(tmp_path) == ["a.md"]
    corpus = collect([tmp_path / "private" / "diary.md"])
    assert [f.path.name for f in corpus.files] == ["diary.md"]


def test_a_line_git_would_not_understand_is_skipped_and_the_rest_applies(tmp_path):
    _tree(tmp_path, {".gitignore": "!\nbuild/\n", "build/a.md": TEXT, "b.md": TEXT})
    assert _kept(tmp_path) == ["b.md"]


def test_an_unreadable_ignore_file_stops_training_rather_than_guess(tmp_path, monkeypatch):
    _tree(tmp_path, {".tuiwriterignore": "private/\n", "private/a.md": TEXT, "b.md": TEXT})
    read_bytes = Path.read_bytes

    def denied(self):
        if self.name == ".tuiwriterignore":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", denied)  # as chmod 0 would, for a user who is not root
    with pytest.raises(CorpusError, match="cannot read .*\\.tuiwriterignore: Permission denied"):
        collect([tmp_path])
