"""Helpers for the batch tests: small photos, manifest readers, the CLI's environment."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

from . import REPO, SHARED_STYLES, STUB_PLUGINS

BATCH_DIR = REPO / "tests" / "batch"
BATCH_PLUGINS = BATCH_DIR / "plugins"
PRESETS = BATCH_DIR / "presets"
STYLES = SHARED_STYLES
STUB_PRESETS = ("stub-starry", "stub-scream")
__all__ = ["STUB_PLUGINS"]


def make_photos(folder: Path, count: int = 20, seed: int = 0) -> list[Path]:
    """``count`` small, distinct photos: half at the top, half in ``sub/``, jpg and png."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        sub = folder / "sub" if i % 2 else folder
        sub.mkdir(parents=True, exist_ok=True)
        h, w = 32 + (i % 5) * 4, 40 + (i % 3) * 6
        base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]
        pixels = base * rng.uniform(0.3, 1.0, (1, 1, 3)) + rng.normal(0, 20, (h, w, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")
        path = sub / f"photo{i:02d}.{'jpg' if i % 3 else 'png'}"
        image.save(path)
        paths.append(path)
    return paths


def read_manifest(outdir: Path) -> list[dict]:
    """Every complete record line of the manifest, in order (run markers included)."""
    lines = (outdir / "manifest.jsonl").read_text().splitlines()
    records = []
    for line in lines:
        with contextlib.suppress(json.JSONDecodeError):
            records.append(json.loads(line))
    return records


def final_states(outdir: Path) -> dict[str, dict]:
    return {r["key"]: r for r in read_manifest(outdir) if "key" in r}


def outputs(outdir: Path) -> dict[str, bytes]:
    """Result files (relative path -> bytes), report and manifest excluded."""
    return {
        p.relative_to(outdir).as_posix(): p.read_bytes()
        for p in sorted(outdir.rglob("*"))
        if p.is_file() and any(f".{name}." in p.name for name in STUB_PRESETS + ("real-tiny",))
    }


def cli_env(**extra: str) -> dict[str, str]:
    return {
        "NSTFILTER_PLUGINS_DIR": str(STUB_PLUGINS),
        "NSTFILTER_PRESET_PATH": str(PRESETS),
        "NSTFILTER_STYLE_PATH": str(STYLES),
        **extra,
    }
