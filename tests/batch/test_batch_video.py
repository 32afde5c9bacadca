"""Clips in a batch (issue 19): planned beside photos, each kept in its type, run by the
local workers like any job (a Job carries the clip's bytes, so Dask workers can take it)."""

from __future__ import annotations

import json

import pytest
from helpers import run_cli
from helpers.batch import make_photos

pytest.importorskip("av")
pytest.importorskip("cv2")

from helpers.video import pan_frames, photo, read_clip, write_clip  # noqa: E402


def test_a_batch_styles_clips_beside_photos(tmp_path):
    inputs = tmp_path / "in"
    make_photos(inputs, count=2)
    frames = list(pan_frames(photo(longest=160), (48, 64), 5, (2, 1)))
    write_clip(inputs / "a.mp4", frames, audio=True)
    write_clip(inputs / "b.webm", frames)
    out = tmp_path / "out"
    proc = run_cli("batch", str(inputs), "--preset", "stub-starry", "-o", str(out), "-j", "2")
    assert proc.returncode == 0, proc.stderr
    assert len(read_clip(out / "a.stub-starry.mp4")[0]) == 5
    assert read_clip(out / "a.stub-starry.mp4")[2]["audio"] == ["aac"]
    assert len(read_clip(out / "b.stub-starry.webm")[0]) == 5
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sum(r.get("status") == "done" for r in records) == 3  # the photo in sub/: no -r
