"""Atomic writes: a failure leaves the old file or folder exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from webzine.files import atomic_writer, replace_dir


def test_atomic_writer_replaces_on_success_and_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "list.csv"
    with atomic_writer(target, encoding="utf-8-sig", newline="") as handle:
        handle.write("email\r\nkim@example.com\r\n")
    assert target.read_bytes() == b"\xef\xbb\xbfemail\r\nkim@example.com\r\n"
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write("half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == b"\xef\xbb\xbfemail\r\nkim@example.com\r\n"
    assert [p.name for p in target.parent.iterdir()] == ["list.csv"], "no temporary file left behind"


def test_replace_dir_swaps_a_whole_folder(tmp_path: Path) -> None:
    final = tmp_path / "site"
    final.mkdir()
    (final / "old.html").write_text("old")
    staging = tmp_path / ".site.staging"
    staging.mkdir()
    (staging / "index.html").write_text("new")
    replace_dir(staging, final)
    assert [p.name for p in final.iterdir()] == ["index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]
