"""Presets: named, validated TOML files bundling style images and settings.

(Minimal placeholder; the full schema, search path and validation are issue #3.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .errors import PresetError
from .params import StyleParams


@dataclass(frozen=True)
class Preset:
    name: str
    params: StyleParams
    styles: list[tuple[Path, float]] = field(default_factory=list)
    description: str = ""
    output_format: str | None = None
    quality: int = 92
    path: Path | None = None


def load_preset(name: str) -> Preset:
    raise PresetError(f"unknown preset {name!r}")
