"""The preset file format: a strict TOML schema mapped onto :class:`StyleParams`.

Validation is strict -- an unknown key or a wrong type is an error naming the file, the key
and the expected type -- because a typo silently ignored would produce a subtly different
picture hours later in a batch. Values a preset leaves out come from ``StyleParams()``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..errors import NstError, PresetError
from ..params import StyleParams
from ..schedules import QUALITY_MODES, apply_quality
from .search import check_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# key -> (accepted Python types, type name for messages, StyleParams field or None)
_NUM = (int, float)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], str, str | None]]] = {
    "": {
        "name": ((str,), "string", None),
        "description": ((str,), "string", None),
        "extends": ((str,), "string", None),
        "filter": ((str,), "string", "filter"),
        "style": ((list,), "array of tables", None),
        "objective": ((dict,), "table", None),
        "schedule": ((dict,), "table", None),
        "color": ((dict,), "table", None),
        "output": ((dict,), "table", None),
    },
    "style": {
        "image": ((str,), "string", None),
        "weight": (_NUM, "number", None),
        "title": ((str,), "string", None),
        "artist": ((str,), "string", None),
        "year": ((int, str), "integer or string", None),
        "source": ((str,), "string", None),
        "license": ((str,), "string", None),
    },
    "objective": {
        "content_layers": ((list,), "array of strings", "content_layers"),
        "style_layers": ((list,), "array of strings", "style_layers"),
        "style_layer_weights": ((list,), "array of numbers", "style_layer_weights"),
        "content_weight": (_NUM, "number", "content_weight"),
        "style_weight": (_NUM, "number", "style_weight"),
        "tv_weight": (_NUM, "number", "tv_weight"),
        "backbone": ((str,), "string", "backbone"),
    },
    "schedule": {
        "quality": ((str,), "string", None),
        "size": ((int,), "integer", "size"),
        "iterations": ((int,), "integer", "iterations"),
        "scales": ((int,), "integer", "scales"),
        "min_size": ((int,), "integer", "min_size"),
        "coarse_iterations": ((int,), "integer", "coarse_iterations"),
        "optimizer": ((str,), "string", "optimizer"),
        "learning_rate": (_NUM, "number", "learning_rate"),
        "init": ((str,), "string", "init"),
        "seed": ((int,), "integer", "seed"),
        "style_scale": (_NUM, "number", "style_scale"),
        "tile_size": ((int,), "integer", "tile_size"),
    },
    "color": {
        "preserve_color": ((bool,), "boolean", "preserve_color"),
        "strength": (_NUM, "number", "strength"),
    },
    "output": {
        "format": ((str,), "string", None),
        "quality": ((int,), "integer", None),
    },
}

_ELEMENTS: dict[str, tuple[tuple[type, ...], str]] = {
    "content_layers": ((str,), "string"),
    "style_layers": ((str,), "string"),
    "style_layer_weights": (_NUM, "number"),
}


def _is_a(value: Any, types: tuple[type, ...]) -> bool:
    """``isinstance`` that does not let TOML booleans pass as numbers."""
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def _toml_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return "table" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


def _check_table(data: dict[str, Any], section: str, path: Path) -> None:
    schema = SCHEMA[section]
    where = f"[{section}] " if section else ""
    for key, value in data.items():
        if key not in schema:
            raise PresetError(
                f"unknown key {where}{key!r}; allowed: {', '.join(schema)}", path=path
            )
        types, type_name, _ = schema[key]
        if not _is_a(value, types):
            raise PresetError(
                f"key {where}{key!r} must be a {type_name}, got {_toml_type(value)}",
                path=path,
            )
        element = _ELEMENTS.get(key)
        if element is not None and not all(_is_a(v, element[0]) for v in value):
            raise PresetError(f"key {where}{key!r} must be a {type_name}", path=path)


def read_preset_file(path: Path) -> dict[str, Any]:
    """Parse and validate one TOML file (without following ``extends``)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PresetError(f"not valid TOML: {exc}", path=path) from None
    _check_table(data, "", path)
    if "name" in data:
        try:
            check_name(data["name"])
        except PresetError as exc:
            raise PresetError(f"key 'name': {exc}", path=path) from None
    for section in ("objective", "schedule", "color", "output"):
        _check_table(data.get(section, {}), section, path)
    for entry in data.get("style", []):
        if not isinstance(entry, dict):
            raise PresetError("each [[style]] must be a table", path=path)
        _check_table(entry, "style", path)
        if "image" not in entry:
            raise PresetError("a [[style]] entry needs an 'image' key", path=path)
    return data


def params_from(data: dict[str, Any], path: Path) -> StyleParams:
    values: dict[str, Any] = {}
    for section in ("objective", "schedule", "color"):
        for key, value in data.get(section, {}).items():
            target = SCHEMA[section][key][2]
            if target is not None:
                values[target] = tuple(value) if isinstance(value, list) else value
    if "filter" in data:
        values["filter"] = data["filter"]
    quality = data.get("schedule", {}).get("quality")
    if quality is not None and quality not in QUALITY_MODES:
        raise PresetError(
            f"[schedule] 'quality' must be one of {', '.join(QUALITY_MODES)}", path=path
        )
    try:
        return apply_quality(StyleParams(), quality).replace(**values)
    except (NstError, TypeError) as exc:
        raise PresetError(str(exc), path=path) from None
