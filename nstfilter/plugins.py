"""The one place that builds nstfilter's plugin manager.

Order: built-in plugins, then the ``nstfilter`` entry-point group, then ``*.py`` files from
the plugins directory (``--plugins-dir`` / ``NSTFILTER_PLUGINS_DIR``), then
``check_pending()``. ``NSTFILTER_DISABLE_PLUGINS=a,b`` blocks plugins by name. A plugin that
raises while loading is logged with its name and skipped: one broken plugin must not take
the whole tool down.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "nstfilter"
PLUGINS_DIR_ENV = "NSTFILTER_PLUGINS_DIR"
DISABLE_ENV = "NSTFILTER_DISABLE_PLUGINS"

#: Built-in plugins, registered under these names (so they can be disabled too).
BUILTIN_PLUGINS: dict[str, str] = {
    "neural-style": "nstfilter.builtins.neural_style",
    "backbones": "nstfilter.builtins.backbones",
    "color": "nstfilter.builtins.color",
    "joblog": "nstfilter.builtins.joblog",
}

_manager: pluggy.PluginManager | None = None
#: Errors met while loading plugins, as (name, one-line message); shown by ``plugins list``.
load_errors: list[tuple[str, str]] = []
#: Entry-point plugins by name: "distribution version", for ``plugins list``.
_entry_point_sources: dict[str, str] = {}


def disabled_names() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def _register(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not fatal
        load_errors.append((name, f"{type(exc).__name__}: {exc}"))
        log.warning("plugin %s failed to register: %s", name, exc)


def _load_file(path: Path) -> ModuleType:
    name = f"nstfilter_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise PluginError("cannot load plugin file", path=path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def plugin_dirs(extra: Iterable[str | Path] = ()) -> list[Path]:
    """Plugin folders: explicit ones first, then ``$NSTFILTER_PLUGINS_DIR`` (os.pathsep list)."""
    dirs = [Path(p) for p in extra]
    env = os.environ.get(PLUGINS_DIR_ENV)
    if env:
        dirs += [Path(p) for p in env.split(os.pathsep) if p]
    return dirs


def build_plugin_manager(plugins_dirs: Iterable[str | Path] = ()) -> pluggy.PluginManager:
    """A fresh, fully loaded manager (tests use this to avoid the process-wide one).

    ``load_errors`` is reset: it describes the most recent build.
    """
    load_errors.clear()
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    blocked = disabled_names()
    for name in blocked:
        pm.set_blocked(name)
    for name, module_name in BUILTIN_PLUGINS.items():
        if name not in blocked:
            _register(pm, importlib.import_module(module_name), name)
    _load_entry_points(pm, blocked)
    for folder in plugin_dirs(plugins_dirs):
        if not folder.is_dir():
            load_errors.append((str(folder), "plugins directory does not exist"))
            continue
        for path in sorted(folder.glob("*.py")):
            if path.stem in blocked or path.name.startswith("_"):
                continue
            try:
                module = _load_file(path)
            except Exception as exc:  # noqa: BLE001
                load_errors.append((path.stem, f"{type(exc).__name__}: {exc}"))
                log.warning("plugin %s (%s) failed to load: %s", path.stem, path, exc)
                continue
            _register(pm, module, path.stem)
    _check_pending(pm)
    return pm


def _check_pending(pm: pluggy.PluginManager) -> None:
    """``check_pending()``, but a plugin with a misspelt hook is reported and unregistered
    (its hook would never fire) instead of stopping the whole tool."""
    for _ in range(len(pm.get_plugins()) + 1):
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or "?"
            load_errors.append((name, f"PluginValidationError: {exc}"))
            log.warning("plugin %s skipped: %s", name, exc)
            pm.unregister(exc.plugin)


def _load_entry_points(pm: pluggy.PluginManager, blocked: set[str]) -> None:
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in blocked or pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001
            load_errors.append((ep.name, f"{type(exc).__name__}: {exc}"))
            log.warning("plugin %s (%s) failed to load: %s", ep.name, ep.value, exc)
            continue
        _register(pm, plugin, ep.name)
        dist = ep.dist
        _entry_point_sources[ep.name] = f"{dist.name} {dist.version}" if dist else ep.value


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, built on first use."""
    global _manager
    if _manager is None:
        _manager = build_plugin_manager()
    return _manager


def set_plugin_manager(pm: pluggy.PluginManager | None) -> None:
    """Replace the process-wide manager (the CLI does this for ``--plugins-dir``)."""
    global _manager
    _manager = pm


def collect(hook: Callable[..., Any], **kwargs: Any) -> list[Any]:
    """Call a registration hook and return what its ``register`` callback received."""
    items: list[Any] = []

    def register(*args: Any) -> None:
        items.append(args[0] if len(args) == 1 else args)

    hook(register=register, **kwargs)
    return items


def plugin_source(pm: pluggy.PluginManager, plugin: Any) -> str:
    """Where a plugin came from: built-in, an entry point's distribution, or a file."""
    name = pm.get_name(plugin) or "?"
    if name in BUILTIN_PLUGINS:
        return "built-in"
    if name in _entry_point_sources:
        return f"entry point ({_entry_point_sources[name]})"
    return getattr(plugin, "__file__", None) or "registered at run time"
