"""Issue 11: no input overwritten, no code run from a name, no failure that hides.

Every front-end runs on the stub engine here (``tests/plugins/stub_engine.py``): the cases
are about plumbing, and without the fixes they would run to the end (and do the damage)
in a second instead of minutes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import REPO, STUB_PLUGINS, run_cli
from PIL import Image

from nstfilter.errors import OutputError
from nstfilter.safepaths import check_plan

STUB_PRESETS = REPO / "tests" / "batch" / "presets"
STUB_ENV = {"NSTFILTER_PLUGINS_DIR": str(STUB_PLUGINS), "NSTFILTER_PRESET_PATH": str(STUB_PRESETS)}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_photo(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8), "RGB").save(path)
    return path


def stub_apply(*args: str, env: dict[str, str] | None = None):
    return run_cli("apply", "--preset", "stub-starry", "-q", *args, env={**STUB_ENV, **(env or {})})


# --- outputs vs inputs ---------------------------------------------------------------------


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    return make_photo(tmp_path / "in" / "victim.jpg")


def test_metrics_over_the_photo_is_refused(tmp_path, victim):
    before = digest(victim)
    proc = stub_apply(str(victim), "-o", str(tmp_path / "out" / "m.png"), "--metrics", str(victim))
    assert proc.returncode == 10, proc.stderr
    assert "metrics" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert digest(victim) == before
    assert not (tmp_path / "out" / "m.png").exists()  # refused before any work


def test_metrics_over_the_style_image_through_dotdot_is_refused(tmp_path, victim, style_path):
    style = tmp_path / "styles" / "s.jpg"
    style.parent.mkdir()
    style.write_bytes(style_path.read_bytes())
    sneaky = tmp_path / "out" / ".." / "styles" / "s.jpg"
    proc = stub_apply(str(victim), "--style", str(style), "-o", str(tmp_path / "r.png"),
                      "--metrics", str(sneaky))  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert digest(style) == hashlib.sha256(style_path.read_bytes()).hexdigest()


def test_result_over_the_style_image_through_a_symlink_is_refused(tmp_path, victim, style_path):
    photo = make_photo(tmp_path / "ok.png", seed=1)
    style = tmp_path / "in" / "style.jpg"
    style.write_bytes(style_path.read_bytes())
    link = tmp_path / "link.jpg"
    link.symlink_to(style)
    before = digest(style)
    proc = stub_apply(str(photo), "--style", str(style), "-o", str(link))
    assert proc.returncode == 10, proc.stderr
    assert "style image" in proc.stderr
    assert digest(style) == before


def test_same_stem_outputs_are_refused(tmp_path):
    a = make_photo(tmp_path / "a.jpg", seed=1)
    b = make_photo(tmp_path / "a.png", seed=2)
    out = tmp_path / "out"
    out.mkdir()
    proc = stub_apply(str(a), str(b), "-o", str(out))
    assert proc.returncode == 10, proc.stderr
    assert "same file" in proc.stderr
    assert list(out.iterdir()) == []


def test_job_log_over_an_input_is_refused(tmp_path, victim):
    before = digest(victim)
    proc = stub_apply(str(victim), "-o", str(tmp_path / "r.png"),
                      env={"NSTFILTER_JOB_LOG": str(victim)})  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert "job log" in proc.stderr
    assert digest(victim) == before


def test_unwritable_output_is_refused_before_styling(tmp_path, victim):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    # the stub fails every job it runs: without the early check the error would be its own
    proc = stub_apply(str(victim), "-o", str(blocker / "r.png"), env={"NSTFILTER_STUB_FAIL": "1"})
    assert proc.returncode == 10, proc.stderr
    assert "cannot write" in proc.stderr and "stub engine" not in proc.stderr


def test_check_plan_accepts_distinct_files_and_sees_hard_links(tmp_path):
    photo = make_photo(tmp_path / "p.png")
    check_plan([("result", tmp_path / "r.png")], [("photo", photo)])
    hard = tmp_path / "hard.png"
    os.link(photo, hard)
    with pytest.raises(OutputError, match="over the photo"):
        check_plan([("result", hard)], [("photo", photo)], writable=False)


def test_batch_refuses_a_job_log_over_a_photo_before_any_job(tmp_path):
    photo = make_photo(tmp_path / "photos" / "a.png")
    before = digest(photo)
    proc = run_cli("batch", str(tmp_path / "photos"), "-p", "stub-starry", "-o",
                   str(tmp_path / "out"), "--progress", "none",
                   env={**STUB_ENV, "NSTFILTER_JOB_LOG": str(photo)})  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert "job log" in proc.stderr and digest(photo) == before
    assert not (tmp_path / "out" / "manifest.jsonl").exists()
