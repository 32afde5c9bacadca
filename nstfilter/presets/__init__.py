"""Presets: named, validated TOML files bundling style images and settings.

``search`` finds files and style images, ``schema`` validates a file; this module follows
``extends``, returns a :class:`Preset` and writes one back as TOML (``presets show/copy``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tomli_w import dumps as dump_toml

from ..errors import InputNotFoundError, PresetError
from ..imageio import DEFAULT_QUALITY, FORMATS
from ..params import SETTINGS, StyleParams
from .schema import MAX_EXTENDS, SETTINGS_SECTIONS, params_from, read_preset_file
from .search import (
    BUNDLED_DIR,
    PROCEDURAL_PREFIX,
    STYLE_PATH_ENV,
    check_name,
    find_preset_file,
    find_style,
    list_preset_sources,
    list_presets,
    preset_sources,
    style_dirs,
    user_dir,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins

__all__ = [
    "BUNDLED_DIR", "STYLE_PATH_ENV", "Preset", "check_name", "dump_toml", "find_preset_file",
    "find_style", "list_preset_sources", "list_presets", "load_preset", "preset_sources",
    "read_preset_file", "resolved_data", "style_dirs", "user_dir",
]  # fmt: skip


@dataclass(frozen=True)
class Preset:
    """A resolved preset: settings, style images (path, weight) and output choices."""

    name: str
    params: StyleParams
    styles: list[tuple[Path, float]] = field(default_factory=list)
    description: str = ""
    output_format: str | None = None
    quality: int = DEFAULT_QUALITY
    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict, compare=False)
    #: The preset's file and every file it ``extends``: a watcher reloads when one changes.
    files: tuple[Path, ...] = ()
    #: Style images not found (only with ``load_preset(..., require_images=False)``): their
    #: entries in ``styles`` hold the name as written, not a file.
    missing: tuple[str, ...] = ()

    @property
    def output_ext(self) -> str:
        """The result's extension, wherever it is written: ``[output] format``, else PNG."""
        return f".{self.output_format or 'png'}"

    def digest(self) -> str:
        """A hash of everything that changes the result (settings and style image bytes)."""
        h = hashlib.sha256(repr(self.params).encode())
        for path, weight in self.styles:
            h.update(f"{weight}".encode())
            h.update(path.read_bytes() if path.is_file() else str(path).encode())
        return h.hexdigest()[:16]


def _resolve_data(
    name: str, plugins: Plugins, chain: tuple[str, ...] = (), child: Path | None = None
) -> tuple[dict[str, Any], Path]:
    if name in chain:
        raise PresetError(f"'extends' cycle: {' -> '.join((*chain, name))}", path=child)
    if len(chain) >= MAX_EXTENDS:
        raise PresetError(f"key 'extends': a chain of more than {MAX_EXTENDS} presets", path=child)
    try:
        path = find_preset_file(name, plugins)
    except PresetError as exc:
        if child is None:
            raise
        raise PresetError(f"key 'extends': {exc}", path=child) from None
    data = read_preset_file(path)
    data["_style_base"] = str(path.parent)
    data["_files"] = [path]
    if data.get("extends"):
        parent, _ = _resolve_data(data["extends"], plugins, (*chain, name), path)
        if "style" not in data:  # inherited styles resolve relative to the parent's file
            data["_style_base"] = parent["_style_base"]
        data["_files"] += parent["_files"]
        # child values win, tables merge key by key, a name is not inherited
        data = {**parent, "name": name, **data}
        for key, value in parent.items():
            if isinstance(value, dict) and isinstance(data[key], dict):
                data[key] = {**value, **data[key]}
    return data, path


def load_preset(
    name: str, *, require_images: bool = True, plugins: Plugins | None = None
) -> Preset:
    """Resolve a preset by name: search, validate, follow ``extends``, find its images.

    ``require_images=False`` is for reading a preset (``presets show``, ``copy``, ``list``):
    a style image not found is listed in :attr:`Preset.missing` instead of raising.
    ``plugins``: the caller's facade, for plugin-registered presets (else a fresh one).
    """
    if plugins is None:
        from ..plugins import Plugins

        plugins = Plugins.load()
    data, path = _resolve_data(name, plugins)
    params = params_from(data, path)
    if not data.get("style"):
        raise PresetError("no [[style]] image", path=path)
    base = Path(data["_style_base"])
    styles, missing = [], []
    for entry in data["style"]:
        weight = float(entry.get("weight", 1.0))  # checked by read_preset_file
        try:
            styles.append((find_style(entry["image"], relative_to=base), weight))
        except (PresetError, InputNotFoundError) as exc:
            # an image outside the allowed folders (PresetError) is always refused
            if require_images or isinstance(exc, PresetError):
                raise PresetError(f"{exc}", path=path) from None
            missing.append(entry["image"])
            styles.append((Path(entry["image"]), weight))
    fmt = data.get("output", {}).get("format")
    if fmt is not None and f".{fmt.lower()}" not in FORMATS:
        raise PresetError(
            f"[output] 'format' must be one of {', '.join(s[1:] for s in FORMATS)}", path=path
        )
    return Preset(
        name=data.get("name", name), params=params, styles=styles, path=path,
        description=data.get("description", ""), output_format=fmt.lower() if fmt else None,
        quality=data.get("output", {}).get("quality", DEFAULT_QUALITY),  # checked when read
        data={k: v for k, v in data.items() if not k.startswith("_")},
        files=tuple(data["_files"]), missing=tuple(missing),
    )  # fmt: skip


def _on_style_path(image: str, found: Path) -> bool:
    try:
        return find_style(image).resolve() == found.resolve()
    except InputNotFoundError:
        return False


def resolved_data(preset: Preset) -> dict[str, Any]:
    """Everything a preset decides, ``extends`` followed and defaults filled in, its style
    images as found (absolute paths, or ``procedural:NAME``): a self-contained preset."""
    styles = []
    for entry, (path, weight) in zip(preset.data.get("style", []), preset.styles):
        image = entry["image"]
        if image in preset.missing:
            pass  # not found here: keep the name, so it resolves where the image is
        elif not image.startswith(PROCEDURAL_PREFIX) and not _on_style_path(image, path):
            image = str(path.resolve())  # found beside the preset file: keep it found
        styles.append({**entry, "image": image, "weight": weight})
    out: dict[str, Any] = {"name": preset.name}
    if preset.description:
        out["description"] = preset.description
    sections: dict[str, dict[str, Any]] = {s: {} for s in SETTINGS_SECTIONS if s}
    for key, spec in SETTINGS.items():
        value = getattr(preset.params, key)
        if value is not None:  # None (automatic) is left out: TOML has no null
            table = sections[spec.section] if spec.section else out
            table[key] = list(value) if isinstance(value, tuple) else value
    output = {"format": preset.output_format} if preset.output_format else {}
    return {**out, "style": styles, **sections, "output": {**output, "quality": preset.quality}}
