"""Presets for the watcher: the default one and the ones named by inbox subfolders.

``inbox/starry-night/photo.jpg`` uses the preset ``starry-night``; files anywhere else use
``--preset``. Resolved presets and their loaded style images are cached per name (bounded
by the number of presets) and reloaded when the preset file changes, so an edited preset
takes effect without restarting the watcher.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..imageio import LoadedImage, load_image
from ..presets import Preset, list_presets, load_preset
from .names import stat_of

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins

log = logging.getLogger("nstfilter.watch")

NAMES_TTL = 5.0  # seconds between rescans of the preset search path


@dataclass
class Resolved:
    preset: Preset
    styles: list[tuple[LoadedImage, float]]
    stamp: tuple[int, int] | None


def _stamp(path: Path | None) -> tuple[int, int] | None:
    st = stat_of(path) if path else None
    return None if st is None else (st.st_mtime_ns, st.st_size)


@dataclass
class PresetCache:
    default: str
    plugins: Plugins
    #: resolves a name (the CLI's ``--style`` and settings applied); None: as the file says
    load: Callable[[str], Preset] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _resolved: dict[str, Resolved] = field(default_factory=dict)
    _names: set[str] = field(default_factory=set)
    _names_at: float = float("-inf")

    def name_for(self, relative: tuple[str, ...]) -> str:
        """The preset for a file at ``relative`` (parts below the inbox)."""
        if len(relative) < 2:
            return self.default
        with self._lock:
            if time.monotonic() - self._names_at > NAMES_TTL:
                try:
                    self._names = {name for name, _ in list_presets(self.plugins)}
                except Exception as exc:  # noqa: BLE001 - a broken search path entry
                    log.warning("cannot list presets: %s", exc)
                self._names_at = time.monotonic()
            return relative[0] if relative[0] in self._names else self.default

    def get(self, name: str) -> Resolved:
        """The resolved preset with its style images loaded (raises ``PresetError``)."""
        with self._lock:
            cached = self._resolved.get(name)
            if cached is not None and _stamp(cached.preset.path) == cached.stamp:
                return cached
        preset = self.load(name) if self.load else load_preset(name, plugins=self.plugins)
        styles = [(load_image(path), weight) for path, weight in preset.styles]
        resolved = Resolved(preset, styles, _stamp(preset.path))
        with self._lock:
            self._resolved[name] = resolved
        return resolved
