"""The preset file format: a strict TOML schema (the settings keys generated from
:mod:`nstfilter.params`) mapped onto :class:`StyleParams`. Strict because a typo silently
ignored would give a subtly different picture hours later in a batch."""

from __future__ import annotations

import codecs
import sys
from pathlib import Path
from typing import Any

from ..errors import NstError, PresetError
from ..params import SETTINGS, STYLE_WEIGHT, Setting, StyleParams
from ..schedules import QUALITY_MODES, apply_quality
from .search import check_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: JPEG/WebP quality of ``[output] quality`` (and ``--jpeg-quality``).
OUTPUT_QUALITY = Setting(section="output", kind=int, low=1, high=100, help="JPEG/WebP quality.")

_BASE_TYPES = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
_NAMES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
_STRING, _TABLE = ((str,), "string"), ((dict,), "table")
_TABLES = ("objective", "schedule", "color", "output")

# Presets get shared and downloaded: they are untrusted input, so what one can make the
# program allocate is bounded (1000 [[style]] entries of one image once took 2.6 GB, 20,000
# took 21.7 GB). The bounds are far above any real preset (the bundled ones: < 1.3 KB, one
# or two styles, at most 5 layers per list); image sizes are bounded by the settings' ranges
# and the pixel limit. docs/security.md lists them.
#: Bytes of one preset file.
MAX_PRESET_BYTES = 64 * 1024
#: ``[[style]]`` entries of one preset (each is a painting decoded, resized and measured).
MAX_STYLES = 16
#: Names (or weights) in one layer list (each a Gram matrix per step).
MAX_LAYERS = 32
#: Characters of any string (names, paths, descriptions).
MAX_STRING = 2048
#: Files in one ``extends`` chain.
MAX_EXTENDS = 16


def _entry(spec: Setting) -> tuple[tuple[type, ...], str]:
    """A settings key's accepted TOML types and their name for messages."""
    if spec.many:
        return (list,), f"array of {_NAMES[spec.kind]}s"
    types = _BASE_TYPES[spec.kind]
    extra = [a for a in spec.also if not isinstance(a, types)]
    names = " or ".join([_NAMES[spec.kind], *(repr(a) for a in extra)])
    return types + tuple(type(a) for a in extra), names


#: The tables that hold settings (each key is a :class:`StyleParams` field).
SETTINGS_SECTIONS: tuple[str, ...] = tuple(dict.fromkeys(s.section for s in SETTINGS.values()))

# section -> key -> (accepted Python types, type name for messages); settings keys last
SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], str]]] = {
    "": {"name": _STRING, "description": _STRING, "extends": _STRING,
         "style": ((list,), "array of tables"),
         **dict.fromkeys(_TABLES, _TABLE)},
    "style": {"image": _STRING, "weight": (_BASE_TYPES[float], "number"), "title": _STRING,
              "artist": _STRING, "year": ((int, str), "integer or string"), "source": _STRING,
              "license": _STRING},
    "objective": {}, "schedule": {"quality": _STRING}, "color": {},
    "output": {"format": _STRING, "quality": ((int,), "integer")},
}  # fmt: skip
for _name, _spec in SETTINGS.items():
    SCHEMA[_spec.section][_name] = _entry(_spec)


def _is_a(value: Any, types: tuple[type, ...]) -> bool:
    """``isinstance`` that does not let TOML booleans pass as numbers."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _check_table(data: dict[str, Any], section: str, path: Path) -> None:
    schema = SCHEMA[section]
    where = f"[{section}] " if section else ""
    for key, value in data.items():
        if key not in schema:
            raise PresetError(
                f"unknown key {where}{key!r}; allowed: {', '.join(schema)}", path=path
            )
        types, type_name = schema[key]
        if not _is_a(value, types):
            got = "table" if isinstance(value, dict) else _NAMES.get(type(value))
            raise PresetError(
                f"key {where}{key!r} must be a {type_name}, got {got or type(value).__name__}",
                path=path,
            )
        spec = SETTINGS.get(key)
        if spec and spec.many and not all(_is_a(v, _BASE_TYPES[spec.kind]) for v in value):
            raise PresetError(f"key {where}{key!r} must be a {type_name}", path=path)
        _check_bounds(value, f"{where}{key!r}", path)


def _check_bounds(value: Any, key: str, path: Path) -> None:
    """Refuse a value larger than a preset may ask for (the bounds above), naming the key."""
    items = value if isinstance(value, list) else [value]
    most = MAX_STYLES if key == "'style'" else MAX_LAYERS  # [[style]] tables, else layer lists
    if len(items) > most:
        raise PresetError(f"key {key} has {len(items)} entries; at most {most}", path=path)
    for item in items:
        if isinstance(item, str) and len(item) > MAX_STRING:
            raise PresetError(
                f"key {key} is {len(item)} characters long; at most {MAX_STRING}", path=path
            )


def _check(spec: Setting, value: Any, label: str, path: Path) -> Any:
    try:
        return spec.check(value, label)
    except NstError as exc:
        raise PresetError(str(exc), path=path) from None


def read_preset_file(path: Path) -> dict[str, Any]:
    """Parse and validate one TOML file (without following ``extends``), within the bounds."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_PRESET_BYTES + 1)
    except OSError as exc:
        raise PresetError(f"cannot read: {exc.strerror or exc}", path=path) from None
    if len(raw) > MAX_PRESET_BYTES:
        raise PresetError(
            f"larger than {MAX_PRESET_BYTES // 1024} KiB, the most a preset file may be", path=path
        )
    if raw.startswith(codecs.BOM_UTF8):
        raise PresetError(
            "starts with a UTF-8 byte order mark (BOM), which TOML does not allow; "
            "save it as UTF-8 without BOM",
            path=path,
        )
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PresetError(f"not valid TOML: {exc}", path=path) from None
    except RecursionError:
        raise PresetError("not valid TOML: arrays or tables nested too deeply", path=path) from None
    _check_table(data, "", path)
    if "name" in data:
        try:
            check_name(data["name"])
        except PresetError as exc:
            raise PresetError(f"key 'name': {exc}", path=path) from None
    for section in _TABLES:
        _check_table(data.get(section, {}), section, path)
    for entry in data.get("style", []):
        if not isinstance(entry, dict):
            raise PresetError("each [[style]] must be a table", path=path)
        _check_table(entry, "style", path)
        if "image" not in entry:
            raise PresetError("a [[style]] entry needs an 'image' key", path=path)
        if "weight" in entry:
            _check(STYLE_WEIGHT, entry["weight"], "[[style]] 'weight'", path)
    if "quality" in data.get("output", {}):
        _check(OUTPUT_QUALITY, data["output"]["quality"], "[output] 'quality'", path)
    return data


def params_from(data: dict[str, Any], path: Path) -> StyleParams:
    """The settings of a (merged) preset: each key checked by the table, named by its key."""
    quality = data.get("schedule", {}).get("quality")
    if quality is not None and quality not in QUALITY_MODES:
        raise PresetError(
            f"[schedule] 'quality' must be one of {', '.join(QUALITY_MODES)}", path=path
        )
    values = {}
    for section in SETTINGS_SECTIONS:
        label = f"[{section}] " if section else ""
        for key, value in (data.get(section, {}) if section else data).items():
            if key in SETTINGS and SETTINGS[key].section == section:
                values[key] = _check(SETTINGS[key], value, f"{label}{key!r}", path)
    try:
        return apply_quality(StyleParams(), quality).replace(**values)
    except NstError as exc:
        raise PresetError(str(exc), path=path) from None
