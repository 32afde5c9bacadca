"""Helpers shared by the test modules, imported as ``helpers`` (``pythonpath = ["tests"]``
in pyproject.toml): test modules never import each other or a ``conftest``.

Repository paths are computed here, once.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO.parent / "shared" / "data"
SHARED_STYLES = SHARED_DATA / "styles"
STUB_PLUGINS = REPO / "tests" / "plugins"
DOCS = REPO / "docs"


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


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims huge dimensions (a decompression bomb) with no real pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
