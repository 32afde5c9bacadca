"""``nstfilter apply``: style one or more photos and write the results."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from ..device import DEVICES
from ..durable import STDOUT, check_stdout, write_output, write_stdout
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
)
from ..params import Setting
from ..safepaths import Plan, check_plan, snapshot_path, snapshot_series
from ..video import is_clip
from .clips import apply_clips, clip_device, frames_option, max_frames_option
from .common import SettingType, facade, settings_options, style_option, verbosity_options
from .progress import MODES, progress_shown

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
  nstfilter apply clip.mp4 --style painting.jpg -o clip.starry.mp4

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


def output_paths(contents: list[Path], output: str | None, tag: str, ext: str) -> list[Path | None]:
    """One output per input (``None`` = standard output): the one place results are named.

    One input and a file ``-o``: that file. ``-o -``: standard output (one input only).
    Otherwise ``-o`` (or the current folder) is a folder (an existing one, or a path ending
    with a separator) and results are ``<stem>.<tag>.<ext>`` in it.
    """
    if output == STDIO:
        if len(contents) != 1:
            raise UsageError("-o - (standard output) takes exactly one photo")
        return [None]
    if output and not (output.endswith(("/", "\\")) or Path(output).is_dir()):
        if len(contents) == 1:
            return [Path(output)]
        if Path(output).suffix.lower() in FORMATS:
            raise UsageError(f"{len(contents)} photos need a folder for -o, not {output!r}")
    folder = Path(output or ".")
    return [folder / f"{'stdin' if str(c) == STDIO else c.stem}.{tag}{ext}" for c in contents]


def _load(source: Path, max_pixels: int | None):
    if str(source) == STDIO:
        return load_image_bytes(sys.stdin.buffer.read(), name="<stdin>", max_pixels=max_pixels)
    return load_image(source, max_pixels=max_pixels)


def snapshot_writer(target: Path | None, quality: int, plan: Plan):
    """``on_snapshot`` for ``--save-every``: ``<stem>.step-NNNN.<ext>`` beside ``target``,
    each name checked against the plan's inputs again when written."""
    if target is None:
        return None

    def write(image, event) -> None:
        path = snapshot_path(target, event.step)
        plan.check_output("intermediate result", path)
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
@click.option(
    "--device", type=click.Choice(DEVICES), default="auto", show_default=True,
    help="Where the filter runs (TensorFlow, or onnxruntime for --quality fast): auto (a "
    "GPU when there is one), cpu, or gpu (refuse "
    "to run without one). Logged and written in the metrics.",
)  # fmt: skip
@click.option(
    "--save-every", type=SettingType(SAVE_EVERY), metavar="N",
    help="Also write the image being optimised every N steps, as <result>.step-NNNN.<ext> "
    "beside the result (not with -o -).",
)  # fmt: skip
@click.option(
    "--metrics", type=click.Path(dir_okay=False),
    help="Write run metrics as JSON to this file (- for standard output).",
)  # fmt: skip
@click.option(
    "--progress", "progress_mode", type=click.Choice(MODES), default="auto", show_default=True,
    help="auto: a bar on a terminal, log lines otherwise; json for programs.",
)  # fmt: skip
@click.option("--force", is_flag=True, help="With -o -: write image data even to a terminal.")
@frames_option
@max_frames_option
@verbosity_options
def apply(
    contents, output, preset, styling, max_pixels, device, save_every, metrics, progress_mode,
    force, frame_range, max_frames,
):  # fmt: skip
    """Style PHOTO(s) (files, folders, or - for standard input) with --style image(s) or a
    --preset; every setting below overrides the preset's."""
    from ..api import run_filter
    from ..jobs import TF_FILTERS

    plugins = facade()
    styling = styling(preset)
    inputs = expand_inputs(contents)
    if not inputs:
        raise UsageError(f"no images found in {', '.join(contents)}")
    if sum(str(p) == STDIO for p in inputs) > 1:
        raise UsageError("standard input (-) can be read only once")
    if clips := [p for p in inputs if is_clip(p)]:  # videos, animated GIF/WebP: the clip job
        if len(clips) != len(inputs):
            raise UsageError("style clips and photos in separate commands")
        return apply_clips(
            clips, output, styling, plugins=plugins, max_pixels=max_pixels,
            frame_range=frame_range, max_frames=max_frames, metrics=metrics,
            device=clip_device(styling.params.filter, device), progress_mode=progress_mode,
        )  # fmt: skip
    ext = styling.output_ext
    targets = output_paths(inputs, output, styling.name, ext)
    if save_every and targets == [None]:
        raise UsageError("--save-every writes files beside the result: it needs a file -o, not -")
    for target in filter(None, targets):
        format_for(target)
    check_stdout(image=targets == [None], text=metrics == STDOUT, force=force)
    plan = check_plan(  # before any work: no output over an input or another, folders writable
        [*((f"result of {s}", t) for s, t in zip(inputs, targets) if t is not None),
         *([("metrics", metrics)] if metrics and metrics != STDOUT else [])],
        [*(("photo", s) for s in inputs if str(s) != STDIO),
         *(("style image", p) for p, _ in styling.styles),
         *(("preset", f) for f in styling.files)],
        series=[snapshot_series(t) for t in targets if t is not None and save_every],
    )  # fmt: skip
    style_images = [(load_image(p, max_pixels=max_pixels), w) for p, w in styling.styles]
    if styling.params.filter in TF_FILTERS:
        from ..device import use_device

        device = use_device(device)
    elif styling.params.filter == "fast":  # onnxruntime's providers; no TensorFlow
        from ..builtins.fast import use_device as use_fast_device

        device = use_fast_device(device)

    all_metrics = []
    try:
        for source, target in zip(inputs, targets):
            content = _load(source, max_pixels)
            label = "stdin" if str(source) == STDIO else source.name
            with progress_shown(plugins, progress_mode, label):
                result = run_filter(
                    content, style_images, styling.params, plugins=plugins,
                    snapshot_every=save_every or 0,
                    on_snapshot=snapshot_writer(target, styling.quality, plan),
                )  # fmt: skip
            if target is None:
                write_stdout(encode_image(result.image, FORMATS[ext], quality=styling.quality))
            else:
                save_image(result.image, target, quality=styling.quality)
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
        if metrics and all_metrics:
            data = all_metrics[0] if len(all_metrics) == 1 else all_metrics
            write_output(json.dumps(data, indent=2).encode(), metrics)
