"""``nstfilter apply``: style one or more photos and write the results."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from ..errors import UsageError
from ..imageio import FORMATS, format_for, load_image, save_image, write_atomic
from ..params import BACKBONES_BUILTIN, INITS, OPTIMIZERS, StyleParams
from ..safepaths import check_plan
from ..schedules import QUALITY_MODES, apply_quality
from .common import verbosity_options
from .progress import MODES, ProgressPlugin

log = logging.getLogger("nstfilter.apply")

IMAGE_SUFFIXES = set(FORMATS) | {".bmp", ".gif", ".tga", ".ppm", ".pgm"}


def parse_style(spec: str) -> tuple[str, float]:
    """``IMG`` or ``IMG:WEIGHT`` (the weight is whatever follows the last colon, if numeric)."""
    head, sep, tail = spec.rpartition(":")
    if sep and head:
        try:
            weight = float(tail)
        except ValueError:
            return spec, 1.0
        if weight < 0:
            raise UsageError(f"style weight must be >= 0, got {weight}", path=head)
        return head, weight
    return spec, 1.0


def parse_list(value: str | None, kind: type = str) -> tuple | None:
    if value is None:
        return None
    try:
        return tuple(kind(v.strip()) for v in value.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"cannot read {value!r} as a comma-separated list") from None


def expand_inputs(inputs: tuple[str, ...]) -> list[Path]:
    """Files as given; folders contribute their image files (sorted, not recursive)."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            paths += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(path)
    return paths


def output_paths(contents: list[Path], output: str | None, tag: str, ext: str | None) -> list[Path]:
    """One output per input. One input: ``-o`` is a file (or a folder if it is one).

    Several inputs: ``-o`` is a folder and results are ``<stem>.<tag>.<ext>`` inside it.
    """
    if len(contents) == 1 and output and not Path(output).is_dir():
        return [Path(output)]
    folder = Path(output) if output else Path(".")
    suffix = ext or ".png"
    return [folder / f"{c.stem}.{tag}{suffix}" for c in contents]


def resolve_style(spec: str) -> Path:
    """A style image by path, or by name on the style path (presets' search rules)."""
    path = Path(spec)
    if path.exists():
        return path
    try:
        from ..presets import find_style
    except ImportError:  # pragma: no cover - presets module without style lookup
        return path
    return find_style(spec)


@click.command()
@click.argument("contents", nargs=-1, required=True)
@click.option("-o", "--output", help="Output file (one input) or folder (several inputs).")
@click.option("-s", "--style", "styles", multiple=True, help="Style image IMG[:WEIGHT].")
@click.option("-p", "--preset", help="A preset name (see 'nstfilter presets list').")
@click.option(
    "--quality",
    type=click.Choice(list(QUALITY_MODES)),
    help="Schedule preset: preview (fast), standard, high. Explicit options win.",
)
@click.option("--size", type=int, help="Longest side of the result in pixels.")
@click.option("--iterations", type=int, help="Optimiser steps at the final scale.")
@click.option("--scales", type=int, help="Coarse-to-fine levels (1 = single scale).")
@click.option("--optimizer", type=click.Choice(OPTIMIZERS))
@click.option("--content-weight", type=float)
@click.option("--style-weight", type=float)
@click.option("--tv-weight", type=float)
@click.option("--content-layers", help="Comma-separated layer names.")
@click.option("--style-layers", help="Comma-separated layer names.")
@click.option("--style-layer-weights", help="Comma-separated weights, one per style layer.")
@click.option("--backbone", help=f"Feature network: {', '.join(BACKBONES_BUILTIN)}.")
@click.option("--init", type=click.Choice(INITS), help="Initial image.")
@click.option("--seed", type=int)
@click.option("--preserve-color/--no-preserve-color", default=None, help="Keep photo colours.")
@click.option("--strength", type=float, help="Blend with the photo: 0..1.")
@click.option("--jpeg-quality", type=click.IntRange(1, 100), help="JPEG/WebP quality.")
@click.option("--max-pixels", type=int, help="Refuse inputs larger than this many pixels.")
@click.option("--metrics", type=click.Path(dir_okay=False), help="Write run metrics as JSON.")
@click.option("--progress", "progress_mode", type=click.Choice(MODES), default="auto")
@verbosity_options
def apply(contents, output, styles, preset, quality, progress_mode, metrics, max_pixels, **options):
    """Style CONTENT image(s) with --style image(s) or a --preset."""
    from ..api import run_filter

    base = StyleParams()
    style_specs: list[tuple[Path, float]] = []
    jpeg_quality = options.pop("jpeg_quality")
    file_quality = jpeg_quality or 92
    out_ext = None
    tag = "styled"
    if preset:
        from ..presets import load_preset

        resolved = load_preset(preset)
        base, tag = resolved.params, resolved.name
        style_specs = list(resolved.styles)
        file_quality = jpeg_quality or resolved.quality
        out_ext = f".{resolved.output_format}" if resolved.output_format else None
    if styles:
        style_specs = [(resolve_style(p), w) for p, w in map(parse_style, styles)]
    if not style_specs:
        raise UsageError("no style image: pass --style IMG or --preset NAME")
    options["content_layers"] = parse_list(options["content_layers"])
    options["style_layers"] = parse_list(options["style_layers"])
    options["style_layer_weights"] = parse_list(options["style_layer_weights"], float)
    params = apply_quality(base, quality).replace(**options)

    inputs = expand_inputs(contents)
    if not inputs:
        raise UsageError(f"no images found in {', '.join(contents)}")
    targets = output_paths(inputs, output, tag, out_ext)
    for target in targets:
        format_for(target)
    check_plan(  # before any work: no output over an input or another output, folders writable
        [*((f"result of {s}", t) for s, t in zip(inputs, targets)),
         *([("metrics", metrics)] if metrics else [])],
        [*(("photo", s) for s in inputs), *(("style image", p) for p, _ in style_specs),
         *(("preset", f) for f in (resolved.files if preset else ()))],
    )  # fmt: skip
    style_images = [(load_image(p, max_pixels=max_pixels), w) for p, w in style_specs]

    from ..plugins import get_plugin_manager

    pm = get_plugin_manager()
    reporter = ProgressPlugin(progress_mode)
    pm.register(reporter, name="cli-progress")
    all_metrics = []
    try:
        for source, target in zip(inputs, targets):
            content = load_image(source, max_pixels=max_pixels)
            reporter.start(source.name)
            try:
                result = run_filter(content, style_images, params, plugin_manager=pm)
            finally:
                reporter.stop()
            save_image(result.image, target, quality=file_quality)
            record = {"input": str(source), "output": str(target), **result.metrics}
            all_metrics.append(record)
            log.info(
                "%s -> %s (%.1f s, style loss %.4g -> %.4g)",
                source, target, record["seconds"],
                record.get("initial", {}).get("style", float("nan")),
                record.get("final", {}).get("style", float("nan")),
            )  # fmt: skip
    finally:
        pm.unregister(name="cli-progress")
        if metrics and all_metrics:
            data = all_metrics[0] if len(all_metrics) == 1 else all_metrics
            write_atomic(json.dumps(data, indent=2).encode(), metrics)
