"""Batch with the real engine at 64 px: a local worker and a Dask worker agree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from helpers.batch import final_states, outputs
from PIL import Image

from nstfilter.batch import collect_inputs, run_batch
from nstfilter.executors.dask_cluster import DaskExecutor
from nstfilter.executors.local import LocalExecutor
from nstfilter.plugins import Plugins
from nstfilter.presets import load_preset

pytestmark = pytest.mark.slow


def test_real_engine_batch_local_and_dask_agree(shared_data: Path, tmp_path: Path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("tubingen.jpg", "golden_gate.jpg"):
        shutil.copy(shared_data / "content" / name, photos / name)
    preset = load_preset("real-tiny")
    inputs = collect_inputs([str(photos)])

    def run(name: str, factory):
        return run_batch(
            inputs, [preset], tmp_path / name, factory, plugins=Plugins.load(), progress="none"
        )

    local = run("local", lambda: LocalExecutor(workers=1))
    assert (local.done, local.failed) == (2, 0)
    states = final_states(tmp_path / "local")
    for record in states.values():
        assert record["backbone"] in ("vgg19", "vgg16-hed")
        assert record["final"]["style"] > 0 and record["final"]["content"] >= 0
    with Image.open(tmp_path / "local" / "tubingen.real-tiny.png") as image:
        assert max(image.size) == 64
    report = (tmp_path / "local" / "report.html").read_text()
    assert "style " in report and "tubingen.jpg" in report

    dask = run("dask", lambda: DaskExecutor(workers=1))
    assert (dask.done, dask.failed) == (2, 0)
    assert outputs(tmp_path / "dask") == outputs(tmp_path / "local")  # same seed, same bytes
