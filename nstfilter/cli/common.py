"""Pieces shared by the subcommands: logging set-up, the -v/-q options (before or after the
subcommand: users type both) and the options from the settings table (:func:`settings_options`)
that apply, batch and watch share."""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click_option_group import optgroup

from ..errors import UsageError
from ..imageio import DEFAULT_MAX_PIXELS, DEFAULT_QUALITY, FORMATS, MAX_PIXELS, MAX_PIXELS_ENV
from ..params import SETTINGS, STYLE_WEIGHT, Setting, StyleParams, default_text
from ..presets.schema import OUTPUT_QUALITY
from ..printable import PrintableFormatter, printable
from ..schedules import QUALITY_MODES, apply_quality

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins
    from ..presets import Preset

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]
_levels = {"verbose": 0, "quiet": 0}


def facade() -> Plugins:
    """The run's plugin facade, built once by the main command (``ctx.obj["plugins"]``);
    a subcommand invoked on its own (``CliRunner().invoke(apply, ...)``) gets one built here
    and kept for the rest of that invocation."""
    from ..plugins import Plugins

    obj = click.get_current_context().find_root().ensure_object(dict)
    if "plugins" not in obj:
        obj["plugins"] = Plugins.load()
    return obj["plugins"]


def configure_logging(verbose: int = 0, quiet: int = 0) -> None:
    """Plain ``nstfilter: message`` lines on stderr; -v adds debug, -q keeps warnings."""
    _levels["verbose"] += verbose
    _levels["quiet"] += quiet
    level = logging.INFO - 10 * _levels["verbose"] + 10 * _levels["quiet"]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrintableFormatter("nstfilter: %(message)s"))  # names may hold \n
    root = logging.getLogger("nstfilter")
    root.handlers[:] = [handler]
    root.setLevel(max(logging.DEBUG, min(level, logging.ERROR)))
    root.propagate = False


def reset_logging() -> None:
    _levels.update(verbose=0, quiet=0)


def stack(*decorators: Decorator) -> Decorator:
    """Several click decorators as one; their options show in this order in --help."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        return functools.reduce(lambda c, d: d(c), reversed(decorators), command)

    return decorate


def _count(short: str, kind: str, more: str) -> Decorator:
    def callback(ctx: click.Context, param: click.Parameter, value: int) -> None:
        if value:
            configure_logging(**{kind: value})

    return click.option(
        short, f"--{kind}", count=True, expose_value=False, callback=callback,
        help=f"{more} log output (repeatable).",
    )  # fmt: skip


#: ``-v/--verbose`` and ``-q/--quiet`` (not passed to the command).
verbosity_options = stack(_count("-v", "verbose", "More"), _count("-q", "quiet", "Less"))


class SettingType(click.ParamType):
    """A value of one :class:`~nstfilter.params.Setting`: parsed from text, then checked by
    the table (:meth:`Setting.check`), so a bad number is refused with one line naming the
    option -- the same rule a preset key or the Python API meets."""

    def __init__(self, spec: Setting) -> None:
        self.spec = spec
        kinds = {int: "INTEGER", float: "NUMBER", str: "NAME"}
        self.name = "|".join(spec.choices) if spec.choices else kinds[spec.kind]
        self.name += ",..." if spec.many else ""
        self.name += "".join(f"|{a}" for a in spec.also if isinstance(a, str))

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return f"[{self.name}]" if self.spec.choices else self.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if not isinstance(value, str):
            return value
        spec = self.spec
        option = param.opts[-1] if param else self.name
        parsed = []
        for text in [v.strip() for v in value.split(",") if v.strip()] if spec.many else [value]:
            try:
                number = spec.kind in (int, float) and text not in spec.also
                parsed.append(spec.kind(text) if number else text)
            except ValueError:
                raise UsageError(f"{option} must be {spec.rule()}, got {text!r}") from None
        return spec.check(parsed if spec.many else parsed[0], option)

    def shell_complete(self, ctx, param, incomplete):  # noqa: ARG002
        from click.shell_completion import CompletionItem

        words = [*self.spec.choices, *(a for a in self.spec.also if isinstance(a, str))]
        return [CompletionItem(w) for w in words if w.startswith(incomplete)]


#: ``--help`` groups (click-option-group), in their order.
IO, STYLE, LOOK, SCHEDULE, OPTIMISER, RESOURCES = (
    "Input and output", "Style", "Look", "Schedule", "Optimiser", "Resources",
)  # fmt: skip
#: Settings shown under Optimiser (the table files them under schedule).
_OPTIMISER = frozenset({"optimizer", "learning_rate", "beta_1", "epsilon"})
_SECTIONS = {"": STYLE, "objective": LOOK, "color": LOOK, "schedule": SCHEDULE}
option = optgroup.option  # every option of apply, batch and watch sits in a group


def group(title: str, *options: Decorator) -> Decorator:
    """A titled group of options in ``--help``."""
    return stack(optgroup.group(title), *options)


def _total_steps() -> str:
    """What ``--iterations`` gives in all (the schedule of engine/pyramid.py)."""
    p = StyleParams()
    total = (p.scales - 1) * p.coarse_iterations + p.iterations
    return (
        "; a run takes (--scales - 1) x --coarse-iterations + --iterations steps in all "
        f"(default {total}), --coarse-iterations + --iterations when --scales > 1 but the "
        "photo is no larger than --min-size"
    )


def _setting_option(name: str, spec: Setting) -> Decorator:
    text = f"{spec.help.rstrip('.')}{_total_steps()}." if name == "iterations" else spec.help
    option_name, help_text = spec.option(name), f"{text} [default: {default_text(name)}]"
    if spec.kind is bool:
        flag = f"{option_name}/--no-{option_name[2:]}"
        return option(flag, name, default=None, help=help_text)
    return option(option_name, name, type=SettingType(spec), help=help_text)


def _settings(title: str) -> list[Decorator]:
    """The table's options that ``--help`` shows under ``title``."""
    return [
        _setting_option(name, spec)
        for name, spec in SETTINGS.items()
        if (OPTIMISER if name in _OPTIMISER else _SECTIONS.get(spec.section, LOOK)) == title
    ]


_QUALITY = option(
    "--quality", "quality_mode", type=click.Choice(list(QUALITY_MODES)),
    help="fast (the instant feed-forward filter, no TensorFlow), preview (fast at 512 px), "
    "standard, high (the optimisation's schedules); explicit settings win.",
)  # fmt: skip
_FORMATS = (
    option(
        "--format", "out_format", type=click.Choice(sorted({s[1:] for s in FORMATS})),
        help="Result format [default: the preset's, else png; a file -o's own extension; a "
        "clip keeps its type].",
    ),
    option(
        "--jpeg-quality", type=SettingType(OUTPUT_QUALITY), metavar="1-100",
        help=f"JPEG/WebP quality [default: the preset's, else {DEFAULT_QUALITY}].",
    ),
    option(
        "--max-pixels", type=SettingType(MAX_PIXELS), metavar="N",
        help=f"Refuse images (photos and paintings) larger than N pixels [default: "
        f"${MAX_PIXELS_ENV} or {DEFAULT_MAX_PIXELS:,}].",
    ),
)  # fmt: skip


def metrics_option(per: str) -> Decorator:
    """``--metrics FILE``: one JSON record per ``per`` (``run``: one document)."""
    what = "as JSON to this file (- for standard output)" if per == "run" else (
        "to this file, one JSON line per job (appended)"
    )  # fmt: skip
    return option(
        "--metrics", type=click.Path(dir_okay=False),
        help=f"Write what is needed to reproduce the run (files with sha256, every setting, "
        f"backbone, device, versions, losses) {what}.",
    )  # fmt: skip


def progress_option(what: str) -> Decorator:
    """``--progress``, the same modes everywhere."""
    from .progress import MODES

    return option(
        "--progress", "progress_mode", type=click.Choice(MODES), default="auto",
        show_default=True,
        help=f"{what}: auto (a bar on a terminal, log lines otherwise), bar, log, json (for "
        "programs, on standard error), none.",
    )  # fmt: skip


def output_option(help_text: str, *more: str, **kwargs: Any) -> Decorator:
    """``-o/--output``, spelt the same in apply, batch and watch."""
    dest = kwargs.pop("dest", "output")
    return option("-o", "--output", *more, dest, help=help_text, **kwargs)


def _device_option() -> Decorator:
    from ..device import DEVICES

    return option(
        "--device", type=click.Choice(DEVICES), default="auto", show_default=True,
        help="Where the filter runs (TensorFlow, or onnxruntime for --quality fast): auto (a "
        "GPU when there is one), cpu, or gpu (refuse to run without one). Logged and written "
        "in the metrics.",
    )  # fmt: skip


def executor_options(workers_help: str) -> list[Decorator]:
    """``--executor``, ``--workers``, ``--scheduler``, ``--job-timeout`` (batch and watch)."""
    from ..executors import CHOICES, DEFAULT
    from ..timeouts import JOB_TIMEOUT

    return [
        option(
            "--executor", type=click.Choice(CHOICES), default=DEFAULT, show_default=True,
            help="threads: in this process; local: worker processes here (a crash takes one "
            "job, not the run); dask: a Dask cluster (--scheduler) or a LocalCluster.",
        ),
        option(
            "-j", "--workers", type=click.IntRange(1, 64), default=1, show_default=True,
            metavar="N", help=workers_help,
        ),
        option("--scheduler", metavar="ADDR", help="Dask scheduler address, e.g. tcp://HOST:8786."),
        option(
            "--job-timeout", type=SettingType(JOB_TIMEOUT), metavar="SECONDS",
            help="Fail a job that takes longer than this, stopping its worker (needs --executor "
            "local) [default: no limit].",
        ),
    ]  # fmt: skip


def command_options(
    *, io: Sequence[Decorator] = (), style: Sequence[Decorator] = (),
    resources: Sequence[Decorator] = (),
) -> Decorator:  # fmt: skip
    """Every option of apply, batch or watch, in ``--help``'s groups: the command's own
    (``io``, ``style``, ``resources``) beside the shared ones, generated here once: --style,
    --quality, one option per :class:`~nstfilter.params.StyleParams` field (spelling, help,
    default and range from the table), --format, --jpeg-quality, --max-pixels, --device,
    -v/-q. The command gets ``styling`` (see :func:`settings_options`) and ``max_pixels``."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        return stack(
            group(IO, *io, *_FORMATS),
            group(STYLE, style_option, *style, _QUALITY, *_settings(STYLE)),
            *(group(title, *_settings(title)) for title in (LOOK, SCHEDULE, OPTIMISER)),
            group(RESOURCES, _device_option(), *resources),
            verbosity_options,
        )(settings_options(command))

    return decorate


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The settings of :func:`command_options` (with --style's images) reach ``command`` as
    one ``styling(preset)``: the :class:`Preset` they ask for."""

    @functools.wraps(command)
    def wrapper(*args: Any, styles, quality_mode, out_format, jpeg_quality, **kwargs: Any):
        from ..presets import Preset, find_style, load_preset

        # the facade taken now: a watcher loads presets outside click's context
        load = functools.partial(load_preset, plugins=facade())
        given = {name: kwargs.pop(name) for name in SETTINGS}
        settings = {k: v for k, v in given.items() if v is not None}

        def styling(
            preset: str | None, styles: tuple[str, ...] = styles, like: str | None = None
        ) -> Preset:
            # the preset (or an earlier run's settings, or the defaults, named "styled"),
            # --style images (paths or names on the style path) replacing its own, the
            # quality mode's schedule, then the explicit settings: the order a user expects
            base = load(preset) if preset else Preset("styled", StyleParams())
            if like:
                base = like_run(like, base)
            if styles:
                pairs = map(parse_style, styles)
                chosen = [(Path(s) if Path(s).exists() else find_style(s), w) for s, w in pairs]
                base = dataclasses.replace(base, styles=chosen)
            if not base.styles:
                raise UsageError("no style image: pass --style IMG or --preset NAME")
            return dataclasses.replace(
                base,
                params=apply_quality(base.params, quality_mode).replace(**settings),
                quality=jpeg_quality or base.quality,
                output_format=out_format or base.output_format,
            )

        return command(*args, styling=styling, **kwargs)

    return wrapper


def like_run(path: str, base: Preset) -> Preset:
    """``apply --like run.json``: ``base`` with the settings and style images of an earlier
    run's metrics (the first job's, when the file holds several)."""
    import json

    try:
        run = json.loads(Path(path).read_text(encoding="utf-8"))
        run = run[0] if isinstance(run, list) else run
        settings = dict(run["settings"])
        styles = [(Path(s["path"]), float(s["weight"])) for s in run["styles"]]
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise UsageError(f"{path}: not the --metrics of an nstfilter run ({exc})") from None
    fields = {f.name: f.default for f in dataclasses.fields(StyleParams)}
    settings = {k: tuple(v) if isinstance(fields.get(k), tuple) and isinstance(v, list) else v
                for k, v in settings.items() if k in fields}  # fmt: skip
    return dataclasses.replace(
        base, name=run.get("preset") or base.name, styles=styles,
        params=StyleParams().replace(**settings),
    )  # fmt: skip


def parse_style(spec: str) -> tuple[str, float]:
    """``IMG`` or ``IMG:WEIGHT`` (the weight is whatever follows the last colon, if it reads
    as a number); the weight is checked by the table's rule for style weights."""
    head, sep, tail = spec.rpartition(":")
    if sep and head:
        try:
            weight = float(tail)
        except ValueError:
            return spec, 1.0
        return head, STYLE_WEIGHT.check(weight, f"style weight in --style {spec!r}")
    return spec, 1.0


#: ``-s/--style IMG[:WEIGHT]`` (repeatable), shared by apply, batch and watch.
style_option = option(
    "-s", "--style", "styles", multiple=True, metavar="IMG[:WEIGHT]",
    help="Style image (a path or a name on the style path), optionally weighted; "
    "repeatable. Replaces the preset's style images.",
)  # fmt: skip


def plugins_dirs() -> tuple[str, ...]:
    """The main command's ``--plugins-dir``, so worker processes load the same plugins."""
    return tuple(click.get_current_context().find_root().params.get("plugins_dir") or ())


def echo_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, but the last (a free-length text); every cell
    printable (a preset's description or a plugin's name is data: no U+202E, no escapes)."""
    rows = [tuple(map(printable, row)) for row in rows]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        click.echo("  ".join(f"{c:<{w}}" for c, w in zip(row, widths)) + f"  {row[-1]}")
