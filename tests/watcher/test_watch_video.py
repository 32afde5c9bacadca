"""Clips in the drop folder (issue 19): styled with the folder's preset or a preset
subfolder's, kept in their type; a bad clip goes to failed/ with its note."""

from __future__ import annotations

import pytest
from helpers.watcher import DropFolder, files

pytest.importorskip("av")
pytest.importorskip("cv2")

from helpers.video import pan_frames, photo, read_clip, write_clip  # noqa: E402


def test_clips_are_styled_and_a_bad_one_fails_with_its_note(drop: DropFolder):
    frames = list(pan_frames(photo(longest=160), (48, 64), 6, (2, 1)))
    write_clip(drop.inbox / "pan.mp4", frames, audio=True)
    (drop.inbox / "other").mkdir()
    write_clip(drop.inbox / "other" / "pan2.mkv", frames)
    (drop.inbox / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"junk" * 50)
    result = drop.once()
    assert result.returncode == 0, result.stdout + result.stderr
    drop.assert_conserved(3)
    assert files(drop.outbox) == ["pan.stubby.mp4", "pan2.other.mkv"]
    styled, _, facts = read_clip(drop.outbox / "pan.stubby.mp4")
    assert len(styled) == 6 and facts["audio"] == ["aac"]
    assert len(read_clip(drop.outbox / "pan2.other.mkv")[0]) == 6
    [note] = drop.failed.glob("*.error.txt")
    assert "broken.mp4" in note.read_text() and "clip" in note.read_text()
