"""``nstfilter apply``: style one or more photos and write the results."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from ..errors import UsageError
from ..imageio import (
    FORMATS,
    IMAGE_SUFFIXES,
    encode_image,
    format_for,
    from_array,
    load_image,
    load_image_bytes,
    save_image,
    write_atomic,
)
from ..params import Setting
from ..safepaths import check_plan
from .common import (
    SettingType,
    device_option,
    job_options,
    resolve_styling,
    settings_options,
    style_option,
    verbosity_options,
)
from .plugins import facade
from .progress import MODES, ProgressPlugin

log = logging.getLogger("nstfilter.apply")

#: ``-`` as a photo reads standard input; as ``-o`` writes standard output.
STDIO = "-"
#: ``--save-every N``: steps between intermediate results.
SAVE_EVERY = Setting(section="", kind=int, low=1, high=100_000, help="steps between snapshots")

EPILOG = """\b
Examples:
  nstfilter apply photo.jpg --style painting.jpg -o styled.png
  nstfilter apply photos/ --preset starry-night --size 1024 -o out/
  nstfilter apply - --style painting.jpg -o - < photo.jpg > styled.png

\b
-o: a file for one photo; a folder (an existing one, or any path ending in /, created
if missing) gets <stem>.<preset>.<ext>; - writes the result to standard output (--format,
PNG by default). Logs and progress always go to standard error.
"""


def expand_inputs(inputs: tuple[str, ...]) -> list[Path]:
    """Files as given; folders contribute their image files (sorted, not recursive)."""
    paths: list[Path] = []
    for item in inputs:
        path = Path(item)
        if item != STDIO and path.is_dir():
            paths += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            paths.append(path)
    return paths


def is_folder(output: str) -> bool:
    """``-o`` names a folder: it is one, or it ends with a path separator."""
    return output.endswith(("/", "\\")) or Path(output).is_dir()


def output_paths(
    contents: list[Path], output: str | None, tag: str, ext: str | None
) -> list[Path | None]:
    """One output per input (``None`` = standard output): the one place results are named.

    One input and a file ``-o``: that file. ``-o -``: standard output (one input only).
    Otherwise ``-o`` (or the current folder) is a folder and results are
    ``<stem>.<tag>.<ext>`` in it.
    """
    if output == STDIO:
        if len(contents) != 1:
            raise UsageError("-o - (standard output) takes exactly one photo")
        return [None]
    if output and not is_folder(output):
        if len(contents) == 1:
            return [Path(output)]
        if Path(output).suffix.lower() in FORMATS:
            raise UsageError(f"{len(contents)} photos need a folder for -o, not {output!r}")
    folder = Path(output) if output else Path(".")
    suffix = ext or ".png"
    return [folder / f"{'stdin' if str(c) == STDIO else c.stem}.{tag}{suffix}" for c in contents]


def _load(source: Path, max_pixels: int | None):
    if str(source) == STDIO:
        return load_image_bytes(sys.stdin.buffer.read(), name="<stdin>", max_pixels=max_pixels)
    return load_image(source, max_pixels=max_pixels)


def _write(image, target: Path | None, fmt: str, quality: int) -> None:
    if target is None:
        sys.stdout.buffer.write(encode_image(image, fmt, quality=quality))
        sys.stdout.buffer.flush()
    else:
        save_image(image, target, quality=quality)


def snapshot_writer(target: Path | None, quality: int):
    """``on_snapshot`` for ``--save-every``: ``<stem>.step-NNNN.<ext>`` beside ``target``."""
    if target is None:
        return None

    def write(image, event) -> None:
        path = target.with_name(f"{target.stem}.step-{event.step:04d}{target.suffix}")
        save_image(from_array(image), path, quality=quality)
        log.debug("intermediate result %s", path)

    return write


@click.command(epilog=EPILOG)
@click.argument("contents", nargs=-1, required=True, metavar="PHOTO...")
@click.option(
    "-o", "--output", metavar="FILE|FOLDER/|-",
    help="Result file (one photo), folder, or - for standard output [default: the current "
    "folder, <stem>.<preset>.<ext>].",
)  # fmt: skip
@style_option
@click.option("-p", "--preset", help="A preset name (see 'nstfilter presets list').")
@settings_options
@job_options
@device_option
@click.option(
    "--save-every", type=SettingType("--save-every", SAVE_EVERY), metavar="N",
    help="Also write the image being optimised every N steps, as <result>.step-NNNN.<ext> "
    "beside the result (not with -o -).",
)  # fmt: skip
@click.option(
    "--metrics", type=click.Path(dir_okay=False), help="Write run metrics as JSON to this file."
)
@click.option(
    "--progress", "progress_mode", type=click.Choice(MODES), default="auto", show_default=True,
    help="auto: a bar on a terminal, log lines otherwise; json for programs.",
)  # fmt: skip
@verbosity_options
def apply(
    contents, output, styles, preset, settings, quality_mode, out_format, jpeg_quality,
    max_pixels, device, save_every, metrics, progress_mode,
):  # fmt: skip
    """Style PHOTO(s) (files, folders, or - for standard input) with --style image(s) or a
    --preset; every setting below overrides the preset's."""
    from ..api import run_filter
    from ..jobs import TF_FILTERS

    plugins = facade()
    styling = resolve_styling(
        preset, styles, settings, quality_mode, plugins=plugins,
        jpeg_quality=jpeg_quality, out_format=out_format,
    )  # fmt: skip
    inputs = expand_inputs(contents)
    if not inputs:
        raise UsageError(f"no images found in {', '.join(contents)}")
    if sum(str(p) == STDIO for p in inputs) > 1:
        raise UsageError("standard input (-) can be read only once")
    ext = f".{styling.output_format}" if styling.output_format else None
    targets = output_paths(inputs, output, styling.name, ext)
    if save_every and targets == [None]:
        raise UsageError("--save-every writes files beside the result: it needs a file -o, not -")
    fmt = FORMATS[ext or ".png"]
    for target in targets:
        if target is not None:
            format_for(target)
    check_plan(  # before any work: no output over an input or another output, folders writable
        [*((f"result of {s}", t) for s, t in zip(inputs, targets) if t is not None),
         *([("metrics", metrics)] if metrics else [])],
        [*(("photo", s) for s in inputs if str(s) != STDIO),
         *(("style image", p) for p, _ in styling.styles),
         *(("preset", f) for f in styling.files)],
    )  # fmt: skip
    style_images = [(load_image(p, max_pixels=max_pixels), w) for p, w in styling.styles]
    params = styling.params
    if params.filter in TF_FILTERS:
        from ..device import use_device

        device = use_device(device)

    reporter = ProgressPlugin(progress_mode)
    plugins.register(reporter, "cli-progress")
    all_metrics = []
    try:
        for source, target in zip(inputs, targets):
            content = _load(source, max_pixels)
            reporter.start("stdin" if str(source) == STDIO else source.name)
            try:
                result = run_filter(
                    content, style_images, params, plugins=plugins, snapshot_every=save_every or 0,
                    on_snapshot=snapshot_writer(target, styling.quality),
                )  # fmt: skip
            finally:
                reporter.stop()
            _write(result.image, target, fmt if target is None else "", styling.quality)
            shown = "<stdout>" if target is None else str(target)
            record = {"input": str(source), "output": shown, **result.metrics, "device": device}
            all_metrics.append(record)
            log.info(
                "%s -> %s (%.1f s on %s, style loss %.4g -> %.4g)",
                source, shown, record["seconds"], device,
                record.get("initial", {}).get("style", float("nan")),
                record.get("final", {}).get("style", float("nan")),
            )  # fmt: skip
    finally:
        plugins.unregister("cli-progress")
        if metrics and all_metrics:
            data = all_metrics[0] if len(all_metrics) == 1 else all_metrics
            write_atomic(json.dumps(data, indent=2).encode(), metrics)
