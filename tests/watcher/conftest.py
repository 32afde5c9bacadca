"""Fixtures for the watcher tests: a drop-folder layout, test presets and the real CLI.

Every test runs ``nstfilter watch`` in a subprocess against a real folder tree with a real
watchdog observer; the ``stub`` filter (tests/plugins/stub_engine.py) keeps jobs fast.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.watcher import SHARED_STYLES, STUB_PLUGINS, DropFolder, write_preset


@pytest.fixture
def drop(tmp_path: Path) -> Iterator[DropFolder]:
    if not SHARED_STYLES.is_dir():
        pytest.skip(f"style images not found at {SHARED_STYLES}")
    root = tmp_path / "drop"
    (root / "inbox").mkdir(parents=True)
    presets = tmp_path / "presets"
    write_preset(presets, "stubby")
    write_preset(presets, "other")
    write_preset(presets, "real", filter="neural-style", size=64,
                 extra="iterations = 4\nscales = 1\ncoarse_iterations = 0\n")  # fmt: skip
    env = {
        **os.environ,
        "NSTFILTER_PLUGINS_DIR": str(STUB_PLUGINS),
        "NSTFILTER_PRESET_PATH": str(presets),
        "NSTFILTER_STYLE_PATH": str(SHARED_STYLES),
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("NSTFILTER_JOB_LOG", None)
    env.pop("NSTFILTER_MAX_PIXELS", None)
    folder = DropFolder(root, env)
    yield folder
    for proc in folder.procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)
