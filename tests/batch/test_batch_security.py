"""Issue 20 in batch: a per-job time limit, one batch per output folder, a manifest that
cannot point outside the output folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import run_cli
from helpers.batch import STUB_PLUGINS, cli_env, final_states, make_photos, read_manifest

HANG = """\
import time

from nstfilter import hookimpl


@hookimpl
def nstfilter_preprocess(image):
    time.sleep(3600)
"""


def hanging_plugins(folder: Path) -> str:
    """A plugins path: the stub engine and a preprocess hook that never returns."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hang.py").write_text(HANG)
    return f"{STUB_PLUGINS}{os.pathsep}{folder}"


def batch(*args: str, env=None, **kwargs):
    return run_cli("batch", *args, "--progress", "none", env=cli_env(**(env or {})), **kwargs)


@pytest.mark.slow
def test_a_job_past_its_time_limit_fails_alone(tmp_path, photos):
    env = {"NSTFILTER_PLUGINS_DIR": hanging_plugins(tmp_path / "plugins")}
    out = tmp_path / "out"
    proc = batch(str(photos / "photo00.png"), "-p", "stub-starry", "-o", str(out),
                 "--job-timeout", "3", "--executor", "local", env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    [record] = final_states(out).values()
    assert record["status"] == "failed" and "job time limit (--job-timeout)" in record["error"]


def test_a_time_limit_needs_an_executor_that_can_stop_a_job(tmp_path, photos):
    proc = batch(str(photos), "-p", "stub-starry", "-o", str(tmp_path / "out"),
                 "--job-timeout", "3", "--executor", "dask")  # fmt: skip
    assert proc.returncode == 2 and "--job-timeout needs --executor local" in proc.stderr


def test_a_second_batch_into_the_same_folder_is_refused_naming_the_first(tmp_path, photos):
    from nstfilter.batch.manifest import LOCK_NAME
    from nstfilter.durable import held_lock

    out = tmp_path / "out"
    out.mkdir()
    with held_lock(out / LOCK_NAME, RuntimeError):  # a first batch, still running
        proc = batch(str(photos), "-p", "stub-starry", "-o", str(out))
    assert proc.returncode == 10, proc.stderr
    assert f"another batch (pid {os.getpid()}) is writing to this output folder" in proc.stderr
    assert not (out / "manifest.jsonl").exists()
    proc = batch(str(photos), "-p", "stub-starry", "-o", str(out))  # the first one has ended
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("planted", ["../in/photo00.png", "/etc/hostname"])
def test_a_manifest_cannot_point_outside_the_output_folder(tmp_path, planted):
    """A tampered record's ``output`` is not trusted: the job is redone, and the report
    links only files inside the output folder."""
    photos = tmp_path / "in"
    make_photos(photos, count=1)
    out = tmp_path / "out"
    assert batch(str(photos), "-p", "stub-starry", "-o", str(out)).returncode == 0
    manifest = out / "manifest.jsonl"
    records = [json.loads(line) for line in manifest.read_text().splitlines()]
    for record in records:
        if "key" in record:
            record["output"] = planted
            record["thumb_out"] = planted
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records))
    proc = batch(str(photos), "-p", "stub-starry", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    jobs = [r for r in records if "key" in r]
    after = [r for r in read_manifest(out) if "key" in r]
    assert len(jobs) == 1 and len(after) == 2  # the planted record, then the job redone
    assert after[-1]["output"] == "photo00.stub-starry.png"
    report = (out / "report.html").read_text()
    assert "hostname" not in report and "../in" not in report and "..%2Fin" not in report


def test_a_255_byte_photo_name_gets_a_result_name_that_fits(tmp_path):
    photos = tmp_path / "in"
    [made] = make_photos(photos, count=1)
    long_name = photos / ("é" * 123 + "xxxxx.png")
    made.rename(long_name)
    out = tmp_path / "out"
    proc = batch(str(photos), "-p", "stub-starry", "-o", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [result] = [p for p in out.iterdir() if p.name.endswith(".stub-starry.png")]
    assert len(os.fsencode(result.name)) <= 255 and result.name.startswith("é" * 100)
