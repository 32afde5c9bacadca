"""Where presets and style images are found.

Presets by *name* (never a path): the user's preset folder, ``$NSTFILTER_PRESET_PATH``,
plugin-registered folders or files, then the bundled presets. Style images by
``procedural:NAME``, by path relative to the preset file, or by name along
``$NSTFILTER_STYLE_PATH``, the user's ``styles`` folder and the bundled ``styles`` folder.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputNotFoundError, OutputError, PresetError
from ..imageio import write_atomic

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins

PRESET_PATH_ENV = "NSTFILTER_PRESET_PATH"
STYLE_PATH_ENV = "NSTFILTER_STYLE_PATH"
_PACKAGE = Path(__file__).resolve().parents[1]
#: ``nstfilter/_bundled_presets``: a real folder in the wheel, a symlink to ``presets/`` in a
#: checkout, or ``presets/`` itself where Git did not check the link out (Windows).
BUNDLED_DIR = _PACKAGE / "_bundled_presets"
if not BUNDLED_DIR.is_dir():  # pragma: no cover
    BUNDLED_DIR = _PACKAGE.parent / "presets"
PROCEDURAL_PREFIX = "procedural:"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _env_dirs(variable: str) -> list[Path]:
    return [Path(p) for p in os.environ.get(variable, "").split(os.pathsep) if p]


def user_dir(kind: str) -> Path:
    """The user's folder for ``presets`` or ``styles`` (platformdirs)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("nstfilter")) / kind


def preset_sources(plugins: Plugins | None = None) -> list[tuple[str, Path]]:
    """Where presets come from, in search order: ``(kind, path)``, ``kind`` one of ``user``,
    ``env``, ``plugin:<name>``, ``bundled``; ``path`` a folder, or a plugin's ``.toml`` file."""
    if plugins is None:
        from ..plugins import Plugins

        plugins = Plugins.load()
    return [
        ("user", user_dir("presets")),
        *(("env", d) for d in _env_dirs(PRESET_PATH_ENV)),
        *((f"plugin:{name}", path) for name, path in plugins.presets()),
        ("bundled", BUNDLED_DIR),
    ]


def _candidates(source: Path) -> list[Path]:
    """A search path entry's preset files: itself, or the ``*.toml`` files of a folder
    (whatever its name: ``x.toml/`` is a folder, not a preset)."""
    if source.is_dir():
        return sorted(p for p in source.glob("*.toml") if p.is_file())
    return [source] if source.suffix == ".toml" and source.is_file() else []


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


def find_preset_file(name: str, plugins: Plugins | None = None) -> Path:
    check_name(name)
    dirs = [path for _, path in preset_sources(plugins)]
    for source in dirs:
        candidate = source / f"{name}.toml" if source.is_dir() else source
        if candidate.stem == name and candidate.suffix == ".toml" and candidate.is_file():
            return candidate
    raise PresetError(
        f"unknown preset {name!r}; see 'nstfilter presets list' (searched "
        f"{os.pathsep.join(str(d) for d in dirs)})"
    )


def list_presets(plugins: Plugins | None = None) -> list[tuple[str, Path]]:
    """Every preset name visible on the search path (first one wins), with its file."""
    return [(name, path) for name, (_, path) in list_preset_sources(plugins).items()]


def list_preset_sources(plugins: Plugins | None = None) -> dict[str, tuple[str, Path]]:
    """Preset name -> (source kind, file), sorted by name; earlier sources shadow later."""
    seen: dict[str, tuple[str, Path]] = {}
    for kind, source in preset_sources(plugins):
        for path in _candidates(source):
            if NAME_PATTERN.match(path.stem):
                seen.setdefault(path.stem, (kind, path))
    return dict(sorted(seen.items()))


def procedural_style(name: str) -> Path:
    """The cached file of a procedural style image, generated on first use."""
    from platformdirs import user_cache_dir

    from ..procedural import GENERATORS
    from ..safepaths import private_temp_dir

    if name not in GENERATORS:
        available = ", ".join(GENERATORS)
        raise InputNotFoundError(f"unknown procedural style {name!r}; available: {available}")
    version, generate = GENERATORS[name]
    filename = f"{name}-v{version}.png"
    private = private_temp_dir("nstfilter-procedural")  # a read-only home (sandboxes)
    folders = [Path(user_cache_dir("nstfilter")) / "procedural", *([private] if private else [])]
    for folder in folders:
        if (folder / filename).is_file():
            return folder / filename
    buffer = io.BytesIO()
    generate().save(buffer, "PNG")
    for folder in folders:
        with contextlib.suppress(OutputError):
            return write_atomic(buffer.getvalue(), folder / filename)
    raise OutputError(f"cannot cache procedural style {name!r} in {' or '.join(map(str, folders))}")


def _allowed(image: Path, preset_folder: Path) -> bool:
    """Whether a preset's style image is in the preset's folder, on the style path or in the
    preset folders nstfilter searches. A preset is data from anywhere (shared, downloaded),
    so ``image = "/etc/hostname"`` or ``"../../../etc/passwd"`` must not read what it names.
    Checked lexically (``..`` removed, links not followed: a link inside a trusted folder
    was put there by its owner)."""
    roots = [preset_folder, *style_dirs(), user_dir("presets"), *_env_dirs(PRESET_PATH_ENV),
             BUNDLED_DIR]  # fmt: skip
    return any(Path(os.path.abspath(image)).is_relative_to(os.path.abspath(r)) for r in roots)


def find_style(name: str, relative_to: Path | None = None) -> Path:
    """A style image by ``procedural:NAME``, by path, or by name on the style path.
    ``relative_to`` (a preset's folder) also limits where it may be (:func:`_allowed`)."""
    if name.startswith(PROCEDURAL_PREFIX):
        return procedural_style(name[len(PROCEDURAL_PREFIX) :])
    candidates = [] if relative_to is None else [relative_to / name]
    if os.sep in name or Path(name).is_absolute():
        candidates.append(Path(name))
    candidates += [folder / name for folder in style_dirs()]
    for candidate in candidates:
        if candidate.is_file():
            if relative_to is not None and not _allowed(candidate, relative_to):
                raise PresetError(
                    f"style image {name!r} is outside the preset's folder, the style path and "
                    "the preset path; refused (see docs/presets.md)"
                )
            return candidate
    raise InputNotFoundError(
        f"style image {name!r} not found; put it on {STYLE_PATH_ENV} or in {user_dir('styles')}"
    )
