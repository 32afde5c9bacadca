"""Shared fixtures: the test images in ../shared/data and a quiet TensorFlow."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from helpers import SHARED_DATA, STUB_PLUGINS

from nstfilter.plugins import Plugins

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the repository (skips when it is absent)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"test images not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def content_path(shared_data: Path) -> Path:
    return shared_data / "content" / "tubingen.jpg"


@pytest.fixture(scope="session")
def style_path(shared_data: Path) -> Path:
    return shared_data / "styles" / "starry_night.jpg"


@pytest.fixture(autouse=True)
def _style_path_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Famous-painting presets find their images in ../shared/data/styles."""
    if SHARED_DATA.is_dir():
        monkeypatch.setenv("NSTFILTER_STYLE_PATH", str(SHARED_DATA / "styles"))


@pytest.fixture
def stub_plugins(monkeypatch: pytest.MonkeyPatch) -> Plugins:
    """A fresh plugin facade with the stub engine (``filter="stub"``) loaded."""
    monkeypatch.delenv("NSTFILTER_PLUGINS_DIR", raising=False)
    return Plugins.load([STUB_PLUGINS])
