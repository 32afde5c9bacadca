"""Writing presets back as TOML: ``presets show`` (resolved) and ``presets copy``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w

from ..errors import InputNotFoundError
from .schema import SCHEMA, SETTINGS_SECTIONS
from .search import PROCEDURAL_PREFIX, find_style

if TYPE_CHECKING:  # pragma: no cover
    from . import Preset


def dump_toml(data: dict[str, Any]) -> str:
    """Write a preset's data as TOML (top-level keys first, then ``[[style]]`` and tables)."""
    return tomli_w.dumps(data)


def _on_style_path(image: str, found: Path) -> bool:
    try:
        return find_style(image).resolve() == found.resolve()
    except InputNotFoundError:
        return False


def resolved_data(preset: Preset) -> dict[str, Any]:
    """Everything a preset decides, ``extends`` followed and defaults filled in.

    Style images are given as found (absolute paths, or ``procedural:NAME``), so the result
    is a self-contained preset: ``presets copy`` writes exactly this.
    """
    data = preset.data
    styles = []
    for entry, (path, weight) in zip(data.get("style", []), preset.styles):
        image = entry["image"]
        if image in preset.missing:
            pass  # not found here: keep the name, so it resolves where the image is
        elif not image.startswith(PROCEDURAL_PREFIX) and not _on_style_path(image, path):
            image = str(path.resolve())  # found beside the preset file: keep it found
        styles.append({**entry, "image": image, "weight": weight})
    p = preset.params
    sections: dict[str, dict[str, Any]] = {s: {} for s in SETTINGS_SECTIONS if s}
    for section in sections:
        for key, (_, _, target) in SCHEMA[section].items():
            value = getattr(p, target) if target else None
            if value is not None:  # None (automatic) is left out: TOML has no null
                sections[section][key] = list(value) if isinstance(value, tuple) else value
    out: dict[str, Any] = {"name": preset.name}
    if preset.description:
        out["description"] = preset.description
    out.update({key: getattr(p, key) for key, (_, _, t) in SCHEMA[""].items() if t})
    out["style"] = styles
    out.update(sections)
    output = {"quality": preset.quality}
    if preset.output_format:
        output = {"format": preset.output_format, **output}
    out["output"] = output
    return out
