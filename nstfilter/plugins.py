"""The plugin layer's one door: :class:`Plugins`, a typed facade over pluggy's manager.

Nothing else calls ``pm.hook.*`` (the shape of OCRmyPDF's ``_plugin_manager.py`` and tox's
``plugin/manager.py``); a front-end builds one with :meth:`Plugins.load` and passes it
down. Whatever an implementation raises, ``SystemExit`` included, becomes one
``PluginError`` naming plugin and hook (``Cancelled`` and ``KeyboardInterrupt`` mean "stop"
and pass through): in the hooks of a job (filters, image hooks, progress) it fails the job;
hooks that observe or register (job notifications, presets, commands) log it and go on.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .errors import Cancelled, PluginError, UsageError, error_line
from .printable import printable

if TYPE_CHECKING:  # pragma: no cover
    import click
    from PIL import Image

    from .engine.backbones import Backbone
    from .events import Progress
    from .filters import Filter
    from .jobspec import JobReport
    from .params import StyleParams

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "nstfilter"
PLUGINS_DIR_ENV = "NSTFILTER_PLUGINS_DIR"
DISABLE_ENV = "NSTFILTER_DISABLE_PLUGINS"

#: Built-in plugins: name (to disable it too) -> module of ``nstfilter.builtins``; one with
#: ``make_plugin(plugins)`` registers what it returns (the engine's models: this facade's).
BUILTIN_PLUGINS = {
    "neural-style": "neural_style",
    "fast": "fast",
    "backbones": "vgg",
    "color": "color",
}


def disabled_names() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def _load_file(path: Path) -> ModuleType:
    name = f"nstfilter_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None  # a *.py file always has a loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: Image modes a hook may hand back (what the filters and the encoders take as they are).
IMAGE_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA"})


def checked_image(result: object, who: str, where: str) -> Image.Image:
    """``result`` when it is an image the pipeline can go on with, else one ``PluginError``
    naming ``who`` (``plugin NAME``, ``filter NAME``): a wrong return value would otherwise
    fail later, in the filter or the encoder, blaming them. Within the pixel limit too."""
    from PIL import Image

    from .imageio import limit_in_force

    if not isinstance(result, Image.Image):
        shape = getattr(result, "shape", None)
        got = type(result).__name__ + (f" of shape {tuple(shape)}" if shape is not None else "")
        raise PluginError(f"{who} returned a {got} from {where}; expected a PIL image")
    width, height = result.size
    if result.mode not in IMAGE_MODES or not 0 < width * height <= limit_in_force():
        raise PluginError(
            f"{who} returned a {width}x{height} {result.mode} image from {where}; expected "
            f"{', '.join(sorted(IMAGE_MODES))} within the pixel limit"
        )
    return result


def blame(exc: BaseException, who: str, where: str) -> PluginError:
    """``PluginError("<who> failed in <where>: <one line>")``; the traceback to ``-v``'s log."""
    log.debug("%s failed in %s", who, where, exc_info=exc)
    return PluginError(f"{who} failed in {where}: {error_line(exc)}")


class Plugins:
    """One loaded plugin manager and a typed, guarded method per hook."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        #: Plugins that failed to load, as (name, one-line message): ``plugins list``.
        self.load_errors: list[tuple[str, str]] = []
        self._sources: dict[str, str] = {}  # plugin name -> where it came from

    @classmethod
    def load(cls, plugins_dirs: Iterable[str | Path] = ()) -> Plugins:
        """A fresh facade with built-ins, entry points, then the ``*.py`` files of
        ``plugins_dirs`` and ``$NSTFILTER_PLUGINS_DIR`` (an os.pathsep list) loaded; a plugin
        that fails to load is recorded in :attr:`load_errors` and skipped."""
        plugins = cls()
        blocked = disabled_names()
        for name in blocked:
            plugins.pm.set_blocked(name)
        for name, module_name in BUILTIN_PLUGINS.items():
            if name not in blocked:  # a built-in that fails to import is a bug: raised
                module = importlib.import_module(f"{__package__}.builtins.{module_name}")
                factory = getattr(module, "make_plugin", None)
                built = factory(plugins) if factory else module
                plugins._add(name, "built-in", lambda built=built: built)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if ep.name not in blocked and plugins.pm.get_plugin(ep.name) is None:
                dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else ep.value
                plugins._add(ep.name, f"entry point ({dist})", ep.load)
        env = os.environ.get(PLUGINS_DIR_ENV, "").split(os.pathsep)
        for folder in [*map(Path, plugins_dirs), *(Path(p) for p in env if p)]:
            if not folder.is_dir():
                plugins.load_errors.append((str(folder), "plugins directory does not exist"))
                continue
            for path in sorted(folder.glob("*.py")):
                if path.stem not in blocked and not path.name.startswith("_"):
                    plugins._add(path.stem, str(path), functools.partial(_load_file, path))
        plugins.check_pending()
        return plugins

    def _add(self, name: str, source: str, load: Callable[[], Any]) -> None:
        """Register ``load()``; a plugin that raises while it is loaded or registered (a
        hookimpl with unknown arguments) is recorded in :attr:`load_errors` and skipped."""
        try:
            self.register(load(), name, source=source)
        except Exception as exc:  # noqa: BLE001 - a broken plugin is reported, not fatal
            self.load_errors.append((name, error_line(exc)))
            log.warning("plugin %s failed to load: %s", name, error_line(exc))

    def check_pending(self) -> None:
        """Stop on a hook implementation whose name matches no hookspec (``nstfilter_
        postprocesss``): it would never fire, and docs/plugins.md promises a stop."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.pm.get_name(exc.plugin) or "?"
            raise PluginError(f"plugin {name}: {exc}") from None

    def register(self, plugin: Any, name: str, *, source: str = "registered at run time") -> None:
        """Add a plugin object or module (tests, front-ends' own plugins such as the job log)."""
        if self.pm.register(plugin, name=name) is not None:
            self._sources[name] = source

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._sources.pop(name, None)

    def names(self) -> list[str]:
        """Registered (not blocked) plugin names."""
        return [name for name, plugin in self.pm.list_name_plugin() if plugin is not None]

    def source(self, name: str) -> str:
        """Where a plugin came from: ``built-in``, ``entry point (dist version)`` or a file."""
        return self._sources.get(name, "registered at run time")

    def hooks_of(self, name: str) -> list[str]:
        """The hooks plugin ``name`` implements."""
        return sorted(c.name for c in self.pm.get_hookcallers(self.pm.get_plugin(name)) or [])

    def hook_names(self) -> list[str]:
        return sorted(n for n in dir(self.pm.hook) if n.startswith("nstfilter_"))

    def _each(
        self, hook: str, kwargs: dict[str, Any], *, skip_failing: bool = False
    ) -> Iterator[tuple[str, Any, bool]]:
        """``(plugin name, result, ok)`` per implementation in pluggy's call order (last
        registered first, ``tryfirst``/``trylast`` respected), each called alone: pluggy then
        passes only the arguments it declares, and a failure is pinned on its plugin, raised
        or with ``skip_failing`` logged (``ok`` false). ``kwargs`` is read at each call, so a
        chain can update it."""
        impls = list(reversed(getattr(self.pm.hook, hook).get_hookimpls()))
        for impl in impls:
            others = [i.plugin for i in impls if i.plugin is not impl.plugin]
            caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
            try:
                returned, ok = caller(**kwargs), True
            except (Cancelled, KeyboardInterrupt):
                raise
            except BaseException as exc:  # noqa: BLE001 - SystemExit from a plugin too
                error = blame(exc, f"plugin {impl.plugin_name}", hook)
                if not skip_failing:
                    raise error from exc
                log.warning("%s", error)
                returned, ok = [], False
            yield impl.plugin_name, returned[0] if returned else None, ok

    def _collect(self, hook: str, *, skip_failing: bool = False) -> list[tuple[str, Any]]:
        """Call a registration hook: ``(plugin name, what it registered)`` in registration
        order (pluggy *calls* the last registered first; reversed back here)."""
        per_plugin: list[list[tuple[str, Any]]] = []
        items: list[Any] = []

        def register(*args: Any) -> None:
            items.append(args[0] if len(args) == 1 else args)

        for name, _, ok in self._each(hook, {"register": register}, skip_failing=skip_failing):
            if ok:  # a plugin that failed registers nothing, not half of its items
                per_plugin.append([(name, item) for item in items])
            items.clear()
        return [entry for entries in reversed(per_plugin) for entry in entries]

    def _chain(self, hook: str, image: Image.Image, **kwargs: Any) -> Image.Image:
        arguments = {"image": image, **kwargs}
        for name, result, _ in self._each(hook, arguments):
            if result is not None:
                arguments["image"] = checked_image(result, f"plugin {name}", hook)
        return arguments["image"]

    def filters(self) -> dict[str, Filter]:
        """``nstfilter_register_filters``: filter name -> filter (a later name wins); a
        registration that is not ``register(name, filter)`` is that plugin's error."""
        found = {}
        for plugin, item in self._collect("nstfilter_register_filters"):
            ok = isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
            if not ok or not callable(getattr(item[1], "apply", None)):
                raise PluginError(
                    f"plugin {plugin} registered {printable(repr(item))[:80]} in "
                    "nstfilter_register_filters; expected register(name, filter with apply())"
                )
            found[item[0]] = item[1]
        return found

    def filter(self, name: str) -> Filter:
        """The filter registered as ``name``, or one line naming those that are."""
        filters = self.filters()
        if name not in filters:
            raise UsageError(f"unknown filter {name!r}; registered: {', '.join(sorted(filters))}")
        return filters[name]

    def presets(self) -> list[tuple[str, Path]]:
        """``nstfilter_register_presets``: ``(plugin name, folder or file)``, entry points
        before plugin files; a plugin that raises is logged and skipped."""
        found = self._collect("nstfilter_register_presets", skip_failing=True)
        return [(name, Path(path)) for name, path in found]

    def backbones(self) -> list[Backbone]:
        """``nstfilter_register_backbones``."""
        return [item for _, item in self._collect("nstfilter_register_backbones")]

    def preprocess(self, image: Image.Image, params: StyleParams) -> Image.Image:
        """``nstfilter_preprocess``, chained: each plugin gets the previous one's image."""
        return self._chain("nstfilter_preprocess", image, params=params)

    def postprocess(
        self, image: Image.Image, original: Image.Image, params: StyleParams
    ) -> Image.Image:
        """``nstfilter_postprocess``, chained like :meth:`preprocess`."""
        return self._chain("nstfilter_postprocess", image, original=original, params=params)

    def progress(self, event: Progress) -> None:
        """``nstfilter_progress``; a failing plugin fails the job (it runs inside it)."""
        list(self._each("nstfilter_progress", {"event": event}))

    def job_done(self, job: JobReport) -> None:
        """``nstfilter_job_done``: logged and skipped if a plugin fails (the output is
        written; a notification cannot undo it)."""
        list(self._each("nstfilter_job_done", {"job": job}, skip_failing=True))

    def job_failed(self, job: JobReport) -> None:
        """``nstfilter_job_failed``, guarded like :meth:`job_done`."""
        list(self._each("nstfilter_job_failed", {"job": job}, skip_failing=True))

    def register_commands(self, cli: click.Group) -> None:
        """``nstfilter_register_commands``: a failing plugin is logged, the CLI starts."""
        list(self._each("nstfilter_register_commands", {"cli": cli}, skip_failing=True))
