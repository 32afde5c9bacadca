"""Issue 20 in batch: a per-job time limit, one batch per output folder, a manifest that
cannot point outside the output folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import run_cli
from helpers.batch import STUB_PLUGINS, cli_env, final_states

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
                 "--job-timeout", "3", env=env, timeout=120)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    [record] = final_states(out).values()
    assert record["status"] == "failed" and "job time limit (--job-timeout)" in record["error"]


def test_a_time_limit_needs_an_executor_that_can_stop_a_job(tmp_path, photos):
    proc = batch(str(photos), "-p", "stub-starry", "-o", str(tmp_path / "out"),
                 "--job-timeout", "3", "--executor", "dask")  # fmt: skip
    assert proc.returncode == 2 and "--job-timeout needs --executor local" in proc.stderr
