"""Pieces shared by the subcommands: logging set-up, the -v/-q options, and the options
generated from the settings table (:func:`settings_options`) that apply, batch and watch share.

``-v``/``-q`` work both before the subcommand (``nstfilter -q apply``) and after it
(``nstfilter apply -q``), because users type both.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..device import DEVICES
from ..errors import UsageError
from ..imageio import DEFAULT_MAX_PIXELS, DEFAULT_QUALITY, FORMATS, MAX_PIXELS, MAX_PIXELS_ENV
from ..params import SETTINGS, STYLE_WEIGHT, Setting, StyleParams, default_text
from ..presets.schema import OUTPUT_QUALITY
from ..printable import PrintableFormatter
from ..schedules import QUALITY_MODES, apply_quality

if TYPE_CHECKING:  # pragma: no cover
    from ..presets import Preset

_levels = {"verbose": 0, "quiet": 0}


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


def _adjust(kind: str) -> Callable[[click.Context, click.Parameter, int], int]:
    def callback(ctx: click.Context, param: click.Parameter, value: int) -> int:
        if value:
            configure_logging(**{kind: value})
        return value

    return callback


def verbosity_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-v/--verbose`` and ``-q/--quiet`` to a subcommand (not passed to it)."""
    command = click.option(
        "-q", "--quiet", count=True, expose_value=False, callback=_adjust("quiet"),
        help="Less log output (repeatable).",
    )(command)  # fmt: skip
    return click.option(
        "-v", "--verbose", count=True, expose_value=False, callback=_adjust("verbose"),
        help="More log output (repeatable).",
    )(command)  # fmt: skip


class SettingType(click.ParamType):
    """A value of one :class:`~nstfilter.params.Setting`: parsed from text, then checked by
    the table (:meth:`Setting.check`), so a bad number is refused with one line naming the
    option -- the same rule a preset key or the Python API meets."""

    def __init__(self, option: str, spec: Setting) -> None:
        self.option, self.spec = option, spec
        kinds = {int: "INTEGER", float: "NUMBER", str: "TEXT"}
        self.name = "|".join(spec.choices) if spec.choices else kinds[spec.kind]
        if spec.many:
            self.name += ",..."
        self.name += "".join(f"|{a}" for a in spec.also if isinstance(a, str))
        self.name = self.name if spec.choices else self.name.replace("TEXT", "NAME")

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return f"[{self.name}]" if self.spec.choices else self.name

    def _parse(self, text: str) -> Any:
        if text in self.spec.also:
            return text
        try:
            return self.spec.kind(text) if self.spec.kind in (int, float) else text
        except ValueError:
            raise UsageError(f"{self.option} must be {self.spec.rule()}, got {text!r}") from None

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        if not isinstance(value, str):
            return value
        if self.spec.many:
            parsed: Any = [self._parse(v.strip()) for v in value.split(",") if v.strip()]
        else:
            parsed = self._parse(value)
        return self.spec.check(parsed, self.option)

    def shell_complete(self, ctx, param, incomplete):  # noqa: ARG002
        from click.shell_completion import CompletionItem

        words = [*self.spec.choices, *(a for a in self.spec.also if isinstance(a, str))]
        return [CompletionItem(w) for w in words if w.startswith(incomplete)]


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add one option per :class:`~nstfilter.params.StyleParams` field (spelling, help,
    default and range from the table) and ``--quality``; the command receives only what was
    given, as ``settings`` (field -> checked value) and ``quality_mode``.

    Used by ``apply``, ``batch`` and ``watch``, so the three accept the same settings.
    """

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in SETTINGS}
        kwargs["settings"] = {k: v for k, v in given.items() if v is not None}
        return command(*args, **kwargs)

    for name, spec in reversed(SETTINGS.items()):
        option = spec.option(name)
        help_text = f"{spec.help} [default: {default_text(name)}]"
        if spec.kind is bool:
            decls = [f"{option}/--no-{option[2:]}", name]
            wrapper = click.option(*decls, default=None, help=help_text)(wrapper)
        else:
            kind = SettingType(option, spec)
            wrapper = click.option(option, name, type=kind, help=help_text)(wrapper)
    return click.option(
        "--quality", "quality_mode", type=click.Choice(list(QUALITY_MODES)),
        help="Schedule preset: preview (fast), standard, high; explicit settings win.",
    )(wrapper)  # fmt: skip


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


def style_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``-s/--style IMG[:WEIGHT]`` (repeatable), shared by apply, batch and watch."""
    return click.option(
        "-s", "--style", "styles", multiple=True, metavar="IMG[:WEIGHT]",
        help="Style image (a path or a name on the style path), optionally weighted; "
        "repeatable. Replaces the preset's style images.",
    )(command)  # fmt: skip


def job_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--format``, ``--jpeg-quality`` and ``--max-pixels``: how results are written and
    how large an input may be, shared by apply, batch and watch (checked by the table's
    rules, so ``--max-pixels 0`` is one line like any bad setting)."""
    command = click.option(
        "--max-pixels", type=SettingType("--max-pixels", MAX_PIXELS), metavar="N",
        help=f"Refuse images larger than N pixels [default: ${MAX_PIXELS_ENV} or "
        f"{DEFAULT_MAX_PIXELS:,}].",
    )(command)  # fmt: skip
    command = click.option(
        "--jpeg-quality", type=SettingType("--jpeg-quality", OUTPUT_QUALITY), metavar="1-100",
        help=f"JPEG/WebP quality [default: the preset's, else {DEFAULT_QUALITY}].",
    )(command)  # fmt: skip
    return click.option(
        "--format", "out_format", type=click.Choice(sorted({s[1:] for s in FORMATS})),
        help="Result format [default: the preset's, else png; a file -o's own extension].",
    )(command)  # fmt: skip


def device_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--device auto|cpu|gpu`` (see :mod:`nstfilter.device`)."""
    return click.option(
        "--device", type=click.Choice(DEVICES), default="auto", show_default=True,
        help="Where TensorFlow runs: auto (a GPU when there is one), cpu, or gpu (refuse "
        "to run without one). Logged and written in the metrics.",
    )(command)  # fmt: skip


def resolve_style(spec: str) -> Path:
    """A style image by path, or by name on the style path (presets' search rules)."""
    from ..presets import find_style

    path = Path(spec)
    return path if path.exists() else find_style(spec)


def resolve_styling(
    preset: str | None,
    styles: tuple[str, ...],
    settings: dict[str, Any],
    quality_mode: str | None,
    *,
    plugins: Any = None,
    jpeg_quality: int | None = None,
    out_format: str | None = None,
) -> Preset:
    """What the options of apply/batch/watch ask for, as one :class:`Preset`: the preset
    (or the defaults, named ``styled``), ``--style`` images replacing its own, then the
    quality mode's schedule, then the explicit settings (the order a user expects)."""
    from ..presets import Preset, load_preset

    base = load_preset(preset, plugins=plugins) if preset else Preset("styled", StyleParams())
    if styles:
        chosen = [(resolve_style(p), w) for p, w in map(parse_style, styles)]
        base = dataclasses.replace(base, styles=chosen)
    if not base.styles:
        raise UsageError("no style image: pass --style IMG or --preset NAME")
    return dataclasses.replace(
        base,
        params=apply_quality(base.params, quality_mode).replace(**settings),
        quality=jpeg_quality or base.quality,
        output_format=out_format or base.output_format,
    )


def workers_option(help_text: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``-j/--workers N``, spelt the same in batch and watch."""
    return click.option(
        "-j", "--workers", type=click.IntRange(1, 64), default=1, show_default=True, metavar="N",
        help=help_text,
    )  # fmt: skip
