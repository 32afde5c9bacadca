"""Writing presets back as TOML: ``presets show`` (resolved) and ``presets copy``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputNotFoundError
from .schema import SCHEMA
from .search import PROCEDURAL_PREFIX, find_style

if TYPE_CHECKING:  # pragma: no cover
    from . import Preset


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def dump_toml(data: dict[str, Any]) -> str:
    """Write a preset's data (the schema's shapes only) as TOML, top-level keys first."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, (dict, list))]
    lines += [
        f"{k} = {_toml_value(v)}" for k, v in data.items() if isinstance(v, list) and k != "style"
    ]
    for entry in data.get("style", []):
        lines += ["", "[[style]]", *(f"{k} = {_toml_value(v)}" for k, v in entry.items())]
    for key, table in data.items():
        if isinstance(table, dict) and table:
            lines += ["", f"[{key}]", *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


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
        if not image.startswith(PROCEDURAL_PREFIX) and not _on_style_path(image, path):
            image = str(path.resolve())  # found beside the preset file: keep it found
        styles.append({**entry, "image": image, "weight": weight})
    p = preset.params
    sections: dict[str, dict[str, Any]] = {"objective": {}, "schedule": {}, "color": {}}
    for section in sections:
        for key, (_, _, target) in SCHEMA[section].items():
            value = getattr(p, target) if target else None
            if value is not None:
                sections[section][key] = list(value) if isinstance(value, tuple) else value
    out: dict[str, Any] = {"name": preset.name}
    if preset.description:
        out["description"] = preset.description
    out["filter"] = p.filter
    out["style"] = styles
    out.update(sections)
    output = {"quality": preset.quality}
    if preset.output_format:
        output = {"format": preset.output_format, **output}
    out["output"] = output
    return out
