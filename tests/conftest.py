"""Shared fixtures: the test images in ../shared/data and a quiet TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
STUB_PLUGINS = REPO / "tests" / "plugins"


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


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600, cwd=None):
    """Run the real ``nstfilter`` CLI in a subprocess; returns the CompletedProcess."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nstfilter", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=cwd,
    )
