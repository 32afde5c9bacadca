"""The preset file format: a strict TOML schema mapped onto :class:`StyleParams`.

Validation is strict -- an unknown key, a wrong type or a value out of range is an error
naming the file, the key and what was expected -- because a typo silently ignored would
produce a subtly different picture hours later in a batch. Every settings key is generated
from the table in :mod:`nstfilter.params` (section, kind, range), so a preset can set
exactly what the CLI and the Python API can; only the keys that are not settings (name,
``[[style]]``, ``[output]``, the quality mode) are written out here. Values a preset leaves
out come from ``StyleParams()``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ..errors import NstError, PresetError
from ..params import SETTINGS, STYLE_WEIGHT, Setting, StyleParams, check_settings
from ..schedules import QUALITY_MODES, apply_quality
from .search import check_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: JPEG/WebP quality of ``[output] quality`` (and ``--jpeg-quality``).
OUTPUT_QUALITY = Setting(section="output", kind=int, low=1, high=100, help="JPEG/WebP quality.")

_BASE_TYPES: dict[type, tuple[type, ...]] = {
    bool: (bool,), int: (int,), float: (int, float), str: (str,)
}  # fmt: skip
_NUM = _BASE_TYPES[float]


def _entry(name: str, spec: Setting) -> tuple[tuple[type, ...], str, str]:
    """A settings key's (accepted TOML types, type name for messages, field)."""
    if spec.many:
        return (list,), spec.kind_name, name
    types = _BASE_TYPES[spec.kind]
    extra = [a for a in spec.also if not isinstance(a, types)]
    names = " or ".join([spec.kind_name, *(repr(a) for a in extra)])
    return types + tuple(type(a) for a in extra), names, name


# section -> key -> (accepted Python types, type name for messages, StyleParams field or None)
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], str, str | None]]] = {
    "": {
        "name": ((str,), "string", None),
        "description": ((str,), "string", None),
        "extends": ((str,), "string", None),
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
    "objective": {},
    "schedule": {"quality": ((str,), "string", None)},
    "color": {},
    "output": {
        "format": ((str,), "string", None),
        "quality": ((int,), "integer", None),
    },
}
for _name, _spec in SETTINGS.items():
    SCHEMA[_spec.section][_name] = _entry(_name, _spec)

#: The tables that hold settings (each key is a :class:`StyleParams` field).
SETTINGS_SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(s.section for s in SETTINGS.values()))


def _is_a(value: Any, types: tuple[type, ...]) -> bool:
    """``isinstance`` that does not let TOML booleans pass as numbers."""
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def _toml_type(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    return "table" if isinstance(value, dict) else names.get(type(value), type(value).__name__)


def _label(section: str, key: str) -> str:
    return f"[{section}] {key!r}" if section else repr(key)


def _check_table(data: dict[str, Any], section: str, path: Path) -> None:
    schema = SCHEMA[section]
    where = f"[{section}] " if section else ""
    for key, value in data.items():
        if key not in schema:
            raise PresetError(
                f"unknown key {where}{key!r}; allowed: {', '.join(schema)}", path=path
            )
        types, type_name, target = schema[key]
        if not _is_a(value, types):
            raise PresetError(
                f"key {where}{key!r} must be a {type_name}, got {_toml_type(value)}",
                path=path,
            )
        spec = SETTINGS.get(target) if target else None
        if spec is not None and spec.many:
            element = _BASE_TYPES[spec.kind]
            if not all(_is_a(v, element) for v in value):
                raise PresetError(f"key {where}{key!r} must be a {type_name}", path=path)


def _check_value(spec: Setting, value: Any, label: str, path: Path) -> Any:
    try:
        return spec.check(value, label)
    except NstError as exc:
        raise PresetError(str(exc), path=path) from None


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
        if "weight" in entry:
            _check_value(STYLE_WEIGHT, entry["weight"], "[[style]] 'weight'", path)
    if "quality" in data.get("output", {}):
        _check_value(OUTPUT_QUALITY, data["output"]["quality"], "[output] 'quality'", path)
    return data


def params_from(data: dict[str, Any], path: Path) -> StyleParams:
    """The settings of a (merged) preset: each key checked by the table, named by its key."""
    values = {
        key: value
        for section in SETTINGS_SECTIONS
        for key, value in (data if section == "" else data.get(section, {})).items()
        if key in SETTINGS and SETTINGS[key].section == section
    }
    quality = data.get("schedule", {}).get("quality")
    if quality is not None and quality not in QUALITY_MODES:
        raise PresetError(
            f"[schedule] 'quality' must be one of {', '.join(QUALITY_MODES)}", path=path
        )
    try:
        checked = check_settings(values, lambda key: _label(SETTINGS[key].section, key))
        return apply_quality(StyleParams(), quality).replace(**checked)
    except NstError as exc:
        raise PresetError(str(exc), path=path) from None
