"""Fixtures for batch tests: 20 small photos, test presets, the stub engine in workers."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.batch import PRESETS, STUB_PLUGINS, make_photos


@pytest.fixture(autouse=True)
def _batch_env(monkeypatch: pytest.MonkeyPatch):
    """Stub engine and test presets, visible here and in every worker we start."""
    monkeypatch.setenv("NSTFILTER_PLUGINS_DIR", str(STUB_PLUGINS))
    monkeypatch.setenv("NSTFILTER_PRESET_PATH", str(PRESETS))
    monkeypatch.delenv("NSTFILTER_STUB_DELAY", raising=False)
    monkeypatch.delenv("NSTFILTER_STUB_FAIL", raising=False)
    yield


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    make_photos(folder)
    return folder
