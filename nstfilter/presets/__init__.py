"""Presets: named, validated TOML files bundling style images and settings.

A preset is found by *name* (never a path) along a search path: the user's preset folder,
``$NSTFILTER_PRESET_PATH``, folders registered by plugins, then the presets bundled with
nstfilter. Files are validated strictly — an unknown key or a wrong type is an error that
names the file, the key and the expected type — because a typo silently ignored would
produce a subtly different picture hours later in a batch.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InputNotFoundError, NstError, OutputError, PresetError
from .imageio import FORMATS, write_atomic
from .params import StyleParams
from .schedules import QUALITY_MODES, apply_quality

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRESET_PATH_ENV = "NSTFILTER_PRESET_PATH"
STYLE_PATH_ENV = "NSTFILTER_STYLE_PATH"


def _bundled_dir() -> Path:
    """``nstfilter/_bundled_presets``: a real folder in the wheel, a symlink to the
    repository's ``presets/`` in a checkout (falls back to ``presets/`` where symlinks are
    not checked out as links, e.g. Git on Windows without ``core.symlinks``)."""
    here = Path(__file__).resolve().parent
    inside = here / "_bundled_presets"
    return inside if inside.is_dir() else here.parent / "presets"


BUNDLED_DIR = _bundled_dir()
PROCEDURAL_PREFIX = "procedural:"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

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


@dataclass(frozen=True)
class Preset:
    """A resolved preset: settings, style images (path, weight) and output choices."""

    name: str
    params: StyleParams
    styles: list[tuple[Path, float]] = field(default_factory=list)
    description: str = ""
    output_format: str | None = None
    quality: int = 92
    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict, compare=False)

    def digest(self) -> str:
        """A hash of everything that changes the result (settings and style image bytes)."""
        h = hashlib.sha256(repr(self.params).encode())
        for path, weight in self.styles:
            h.update(f"{weight}".encode())
            h.update(path.read_bytes() if path.is_file() else str(path).encode())
        return h.hexdigest()[:16]


# --- search paths ----------------------------------------------------------------------


def _env_dirs(variable: str) -> list[Path]:
    return [Path(p) for p in os.environ.get(variable, "").split(os.pathsep) if p]


def user_dir(kind: str) -> Path:
    """The user's folder for ``presets`` or ``styles`` (platformdirs)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("nstfilter")) / kind


def preset_sources() -> list[tuple[str, Path]]:
    """Where presets come from, in search order, as ``(kind, path)``.

    ``kind`` is ``user``, ``env``, ``plugin:<name>`` or ``bundled``; ``path`` is a folder of
    ``*.toml`` files, or a single ``.toml`` file registered by a plugin.
    """
    import logging

    from .plugins import get_plugin_manager

    pm = get_plugin_manager()
    registered: list[tuple[str, Path]] = []
    # pluggy calls the last registered first; walk the implementations in registration order
    for impl in reversed(pm.hook.nstfilter_register_presets.get_hookimpls()):
        found: list[Path] = []
        try:
            impl.function(register=lambda path, _found=found: _found.append(Path(path)))
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide presets
            logging.getLogger(__name__).warning(
                "plugin %s failed to register presets: %s", impl.plugin_name, exc
            )
        registered += [(f"plugin:{impl.plugin_name}", path) for path in found]
    return [
        ("user", user_dir("presets")),
        *(("env", d) for d in _env_dirs(PRESET_PATH_ENV)),
        *registered,
        ("bundled", BUNDLED_DIR),
    ]


def preset_dirs() -> list[Path]:
    """Folders (and plugin-registered files) searched for ``<name>.toml``, in order."""
    return [path for _, path in preset_sources()]


def _candidates(source: Path) -> list[Path]:
    if source.suffix == ".toml":
        return [source] if source.is_file() else []
    return sorted(source.glob("*.toml")) if source.is_dir() else []


def style_dirs() -> list[Path]:
    """Folders searched for style images by name, in order."""
    return [*_env_dirs(STYLE_PATH_ENV), user_dir("styles"), BUNDLED_DIR / "styles"]


def check_name(name: str) -> str:
    """A preset name is a name: no separators, no ``..``, nothing absolute."""
    if not NAME_PATTERN.match(name) or ".." in name:
        raise PresetError(
            f"invalid preset name {name!r}: use letters, digits, '-', '_' and '.', "
            "not a path (put files on NSTFILTER_PRESET_PATH instead)"
        )
    return name


def find_preset_file(name: str) -> Path:
    check_name(name)
    for source in preset_dirs():
        if source.suffix == ".toml":
            if source.stem == name and source.is_file():
                return source
            continue
        candidate = source / f"{name}.toml"
        if candidate.is_file():
            return candidate
    raise PresetError(
        f"unknown preset {name!r}; see 'nstfilter presets list' (searched "
        f"{os.pathsep.join(str(d) for d in preset_dirs())})"
    )


def procedural_style(name: str) -> Path:
    """The cached file of a procedural style image, generated on first use."""
    from platformdirs import user_cache_dir

    from .procedural import GENERATORS

    try:
        version, generate = GENERATORS[name]
    except KeyError:
        raise InputNotFoundError(
            f"unknown procedural style {name!r}; available: {', '.join(GENERATORS)}"
        ) from None
    import tempfile

    filename = f"{name}-v{version}.png"
    folders = [
        Path(user_cache_dir("nstfilter")) / "procedural",
        Path(tempfile.gettempdir()) / "nstfilter-procedural",  # a read-only home (sandboxes)
    ]
    for folder in folders:
        if (folder / filename).is_file():
            return folder / filename
    import io

    buffer = io.BytesIO()
    generate().save(buffer, "PNG")
    for folder in folders:
        try:
            return write_atomic(buffer.getvalue(), folder / filename)
        except OutputError:
            continue
    raise OutputError(f"cannot cache procedural style {name!r} in {folders[0]} or {folders[1]}")


def find_style(name: str, relative_to: Path | None = None) -> Path:
    """A style image by ``procedural:NAME``, by path, or by name on the style path."""
    if name.startswith(PROCEDURAL_PREFIX):
        return procedural_style(name[len(PROCEDURAL_PREFIX) :])
    candidates = []
    if relative_to is not None:
        candidates.append(relative_to / name)
    if os.sep in name or Path(name).is_absolute():
        candidates.append(Path(name))
    candidates += [folder / name for folder in style_dirs()]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise InputNotFoundError(
        f"style image {name!r} not found; put it on {STYLE_PATH_ENV} or in {user_dir('styles')}"
    )


# --- parsing and validation ------------------------------------------------------------


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


def _merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child values win; tables merge key by key; the style list is replaced whole."""
    merged = dict(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(parent.get(key), dict):
            merged[key] = {**parent[key], **value}
        else:
            merged[key] = value
    return merged


def _resolve_data(
    name: str, chain: tuple[str, ...] = (), child: Path | None = None
) -> tuple[dict[str, Any], Path]:
    if name in chain:
        raise PresetError(f"'extends' cycle: {' -> '.join((*chain, name))}", path=child)
    try:
        path = find_preset_file(name)
    except PresetError as exc:
        if child is None:
            raise
        raise PresetError(f"key 'extends': {exc}", path=child) from None
    data = read_preset_file(path)
    data.setdefault("_style_base", str(path.parent))
    parent_name = data.get("extends")
    if parent_name:
        parent, _ = _resolve_data(parent_name, (*chain, name), path)
        if "style" not in data:  # inherited styles resolve relative to the parent's file
            data["_style_base"] = parent["_style_base"]
        data = _merge(parent, {"name": data.get("name", name), **data})  # a name is not inherited
    return data, path


def _params(data: dict[str, Any], path: Path) -> StyleParams:
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


def load_preset(name: str) -> Preset:
    """Resolve a preset by name: search, validate, follow ``extends``, find its images."""
    data, path = _resolve_data(name)
    params = _params(data, path)
    if not data.get("style"):
        raise PresetError("no [[style]] image", path=path)
    base = Path(data["_style_base"])
    styles = []
    for entry in data["style"]:
        weight = float(entry.get("weight", 1.0))
        if weight < 0:
            raise PresetError(f"style weight must be >= 0, got {weight}", path=path)
        try:
            styles.append((find_style(entry["image"], relative_to=base), weight))
        except InputNotFoundError as exc:
            raise PresetError(f"{exc}", path=path) from None
    output = data.get("output", {})
    fmt = output.get("format")
    if fmt is not None and f".{fmt.lower()}" not in FORMATS:
        raise PresetError(
            f"[output] 'format' must be one of {', '.join(s[1:] for s in FORMATS)}", path=path
        )
    quality = output.get("quality", 92)
    if not 1 <= quality <= 100:
        raise PresetError("[output] 'quality' must be between 1 and 100", path=path)
    return Preset(
        name=data.get("name", name),
        params=params,
        styles=styles,
        description=data.get("description", ""),
        output_format=fmt.lower() if fmt else None,
        quality=quality,
        path=path,
        data={k: v for k, v in data.items() if not k.startswith("_")},
    )


def list_presets() -> list[tuple[str, Path]]:
    """Every preset name visible on the search path (first one wins), with its file."""
    return [(name, path) for name, (_, path) in list_preset_sources().items()]


def list_preset_sources() -> dict[str, tuple[str, Path]]:
    """Preset name -> (source kind, file), sorted by name; earlier sources shadow later."""
    seen: dict[str, tuple[str, Path]] = {}
    for kind, source in preset_sources():
        for path in _candidates(source):
            if NAME_PATTERN.match(path.stem):
                seen.setdefault(path.stem, (kind, path))
    return dict(sorted(seen.items()))


# --- writing TOML (for 'presets show' and 'presets copy') --------------------------------


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
