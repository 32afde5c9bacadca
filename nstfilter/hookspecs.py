"""The hooks nstfilter calls; plugins implement them with ``@nstfilter.hookimpl``.

Every hook is named ``nstfilter_*``. Registration hooks receive a ``register`` callback
rather than returning lists, so a plugin can register any number of things, or none,
without the manager having to flatten results (the habit of ``llm``).

nstfilter calls these only through :class:`nstfilter.plugins.Plugins`: an implementation may
declare fewer arguments than its spec, and whatever it raises (``SystemExit`` included)
becomes a one-line ``PluginError`` naming it. In the hooks of a job (filters, pre- and
postprocess, progress) that fails the job; in the others it is logged and skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click
    from PIL import Image

    from .engine.backbones import Backbone
    from .events import Progress
    from .filters import Filter
    from .jobspec import JobReport
    from .params import StyleParams

PROJECT = "nstfilter"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def nstfilter_register_filters(register: Callable[[str, Filter], None]) -> None:
    """Register image filters by name: ``register("neural-style", filter_object)``.

    Fires whenever a run looks up its filter (once per job, so keep it cheap: create filter
    objects at import time, not inside the hook). A filter object has
    ``apply(content, styles, params, progress, should_stop=None) -> FilterOutput`` (see
    ``nstfilter.filters``); ``params.filter`` (a preset's ``filter = "..."``) selects it.
    The built-in ``neural-style`` filter is registered this way; a plugin may add e.g. a
    colour-transfer-only filter. Not ``firstresult``: every plugin is called.
    """


@hookspec
def nstfilter_register_presets(register: Callable[[str | Path], None]) -> None:
    """Register preset folders (or single ``.toml`` preset files) to search for presets.

    Fires each time presets are listed or resolved. ``register(path)`` adds a folder of
    ``*.toml`` presets (or one file, named by its stem), searched after the user directory
    and ``NSTFILTER_PRESET_PATH`` and before the bundled presets; plugins' folders are
    searched in registration order (entry points before plugin files). A plugin that
    raises here is logged and skipped. Not ``firstresult``.
    """


@hookspec
def nstfilter_register_backbones(register: Callable[[Backbone], None]) -> None:
    """Register feature networks: ``register(Backbone(...))``.

    Fires once when the backbone registry is first needed. The built-in ``vgg19`` and
    ``vgg16-hed`` backbones are registered this way. Not ``firstresult``.
    """


@hookspec
def nstfilter_preprocess(image: Image.Image, params: StyleParams) -> Image.Image | None:
    """Change the content image before the filter runs; return a new image or ``None``.

    Fires once per job, after the content is loaded and resized, before the filter. Results
    chain: each plugin receives the previous plugin's output. Not ``firstresult``.
    """


@hookspec
def nstfilter_postprocess(
    image: Image.Image, original: Image.Image, params: StyleParams
) -> Image.Image | None:
    """Change the filter's result; ``original`` is the (resized) content image.

    Fires once per job, after the filter, before saving. Results chain like
    ``nstfilter_preprocess``. Colour preservation and strength are built-ins written as this
    hook. Not ``firstresult``.
    """


@hookspec
def nstfilter_progress(event: Progress) -> None:
    """Receive one event per optimisation step (step, scale, loss terms, seconds).

    Fires in the thread running the job, so implementations must be quick. Raise
    ``nstfilter.errors.Cancelled`` to stop the run. The CLI's progress bar is a plugin on
    this hook. Not ``firstresult``.
    """


@hookspec
def nstfilter_job_done(job: JobReport) -> None:
    """A watcher or batch job finished: ``job`` is a frozen :class:`~nstfilter.jobspec.JobReport`
    (``front_end``, ``id``, ``input``, ``preset``, ``output``, ``seconds``, the final
    ``losses`` under the same names from every front-end, and ``details``).

    Fires once per job, after its output is written, in the front-end's process. A plugin
    that raises here is logged in one line; the job stays done. The JSON-lines job log is a
    plugin object on this hook that the watcher registers. Not ``firstresult``.
    """


@hookspec
def nstfilter_job_failed(job: JobReport) -> None:
    """A watcher or batch job failed: ``job.error`` is the one-line reason.

    Fires once per failed job (the job is not retried by the hook); guarded like
    ``nstfilter_job_done``. Not ``firstresult``.
    """


@hookspec
def nstfilter_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``nstfilter`` command line: ``cli.add_command(...)``.

    Fires once when ``nstfilter.cli`` is imported, before arguments are parsed, so it sees
    entry-point plugins and ``NSTFILTER_PLUGINS_DIR`` but not ``--plugins-dir`` (parsed
    later). A plugin that raises here is reported on stderr and the CLI still starts. Not
    ``firstresult``.
    """
