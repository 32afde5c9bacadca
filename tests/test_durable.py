"""nstfilter.durable: the one module for crash-safe files (outputs, moves, JSON lines)."""

from __future__ import annotations

import json

import pytest

from nstfilter.durable import JsonLines, move_new, read_records, remove_temps, write_atomic
from nstfilter.errors import OutputError


def test_write_atomic_replaces_or_refuses_and_leaves_no_temp(tmp_path):
    target = tmp_path / "sub" / "out.bin"
    write_atomic(b"one", target)
    write_atomic(b"two", target)  # the default replaces
    assert target.read_bytes() == b"two"
    with pytest.raises(OutputError, match="refusing to overwrite"):
        write_atomic(b"three", target, overwrite=False)
    assert target.read_bytes() == b"two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]  # no temp left
    assert remove_temps(target) == 0


def test_move_new_never_overwrites(tmp_path):
    source, target = tmp_path / "a.jpg", tmp_path / "done" / "a.jpg"
    source.write_bytes(b"photo")
    move_new(source, target)
    assert not source.exists() and target.read_bytes() == b"photo"
    source.write_bytes(b"other")
    with pytest.raises(OutputError, match="refusing to overwrite"):
        move_new(source, target)
    assert source.read_bytes() == b"other" and target.read_bytes() == b"photo"


def test_a_torn_last_line_is_skipped_and_never_glued_to_the_next_record(tmp_path, caplog):
    path = tmp_path / "log.jsonl"
    path.write_text(json.dumps({"n": 1}) + "\n" + '{"n": 2, "tor')  # killed mid-write
    lines = JsonLines(path)
    lines.append({"n": 3})
    lines.close()
    assert [r["n"] for r in read_records(path)] == [1, 3]
    assert "unreadable record" in caplog.text


def test_without_hard_links_moves_copy_and_writes_rename_never_overwriting(tmp_path, monkeypatch):
    import errno
    import os

    def no_link(*args, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)  # another file system: copy, then rename
    source, target = tmp_path / "a.jpg", tmp_path / "done" / "a.jpg"
    source.write_bytes(b"photo")
    os.utime(source, (1_000_000, 1_000_000))
    move_new(source, target)
    assert not source.exists() and target.read_bytes() == b"photo"
    assert target.stat().st_mtime == 1_000_000  # copied with its metadata
    link = tmp_path / "b.jpg"
    link.symlink_to("elsewhere.jpg")
    move_new(link, tmp_path / "done" / "b.jpg")
    assert os.readlink(tmp_path / "done" / "b.jpg") == "elsewhere.jpg"
    for name in ("a.jpg", "b.jpg"):
        (tmp_path / name).write_bytes(b"other")
        with pytest.raises(OutputError, match="refusing to overwrite"):
            move_new(tmp_path / name, tmp_path / "done" / name)
        assert (tmp_path / name).read_bytes() == b"other"
    with pytest.raises(OutputError, match="refusing to overwrite"):
        write_atomic(b"new", target, overwrite=False)
    assert target.read_bytes() == b"photo"
    assert sorted(p.name for p in target.parent.iterdir()) == ["a.jpg", "b.jpg"]  # no temps
