"""``nstfilter apply``: style one or more photos and write the results.

A thin driver of the job pipeline: a source (files, folders, standard input), every check
that needs no network before TensorFlow is imported, then each photo or clip a job run
inline (:func:`nstfilter.jobs.execute`) into its sink (a file, standard output; a clip's
job encodes into its file itself). Ctrl-C keeps the image so far as
``<result>.partial.<ext>``, a clip's frames in ``<result>.parts/`` (the same command resumes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import signal
import sys
import threading
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..durable import STDOUT, check_stdout, write_atomic, write_output, write_stdout
from ..errors import Cancelled, UsageError
from ..imageio import FORMATS, IMAGE_SUFFIXES, format_for, from_array, probe_image, save_image
from ..jobspec import Job, file_sha256, read_styles, result_ext, result_name, sha256
from ..params import Setting
from ..safepaths import Plan, check_plan, snapshot_path, snapshot_series
from ..video import CLIP_SUFFIXES, is_clip, work_folder
from .common import (
    SettingType,
    command_options,
    facade,
    metrics_option,
    option,
    output_option,
    progress_option,
)
from .progress import progress_shown

if TYPE_CHECKING:  # pragma: no cover
    from ..presets import Preset

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
  nstfilter apply photo2.jpg --like run.json -o styled2.png

\b
-o: a file for one photo; a folder (an existing one, or any path ending in /, created
if missing) gets <stem>.<preset>.<ext>; - writes the result to standard output (--format,
PNG by default). Logs and progress always go to standard error. Ctrl-C writes the image
so far as <result>.partial.<ext>.
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


def output_paths(
    contents: list[Path], output: str | None, tag: str, fmt: str | None = None
) -> list[Path | None]:
    """One output per input (``None`` = standard output).

    One input and a file ``-o``: that file. ``-o -``: standard output (one photo only).
    Otherwise ``-o`` (or the current folder) is a folder (an existing one, or a path ending
    with a separator) and results are named by :func:`~nstfilter.jobspec.result_name`.
    """
    if output == STDIO:
        if any(map(is_clip, contents)):
            raise UsageError("clips cannot go to standard output (-o -): give a file or a folder")
        if len(contents) != 1:
            raise UsageError("-o - (standard output) takes exactly one photo")
        return [None]
    if output and not (output.endswith(("/", "\\")) or Path(output).is_dir()):
        if len(contents) == 1:
            return [Path(output)]
        if Path(output).suffix.lower() in {*FORMATS, *CLIP_SUFFIXES}:
            raise UsageError(f"{len(contents)} inputs need a folder for -o, not {output!r}")
    folder = Path(output or ".")
    return [
        folder / result_name("stdin" if str(c) == STDIO else c.stem, tag, result_ext(c, fmt))
        for c in contents
    ]


def check_clips(
    clips: list[Path], targets: list[Path], styling: Preset, *, metrics: str | None,
    max_pixels: int | None, frame_range: str | None, max_frames: int | None,
) -> Plan:  # fmt: skip
    """Every check before the first clip is styled, so a bad one fails before hours of work:
    the output plan (results, their ``.parts/`` work folders, metrics) and each clip probed
    (frames, size, audio, the target's type, ``--frames``)."""
    from ..video.clip import parse_frames
    from ..video.io import check_target, probe

    plan = check_plan(
        [*((f"result of {c}", t) for c, t in zip(clips, targets)),
         *((f"work folder of {t}", work_folder(t)) for t in targets),
         *([("metrics", metrics)] if metrics and metrics != STDOUT else [])],
        [*(("clip", c) for c in clips), *(("style image", p) for p, _ in styling.styles),
         *(("preset", f) for f in styling.files)],
    )  # fmt: skip
    for clip, target in zip(clips, targets):
        info = probe(clip, max_pixels=max_pixels, max_frames=max_frames)
        check_target(target, info)
        parse_frames(frame_range, info.frames)
    for path, _ in styling.styles:
        probe_image(path, max_pixels=max_pixels)
    return plan


def partial_path(target: Path) -> Path:
    """``styled.png`` -> ``styled.partial.png``: where Ctrl-C leaves the image so far."""
    return target.with_name(f"{target.stem}.partial{target.suffix}")


class Keeper:
    """``on_snapshot`` of every step: keeps the latest image (Ctrl-C writes it) and writes
    ``--save-every``'s ``<stem>.step-NNNN.<ext>`` beside ``target``, each name checked
    against the plan's inputs again when written."""

    def __init__(self, target: Path | None, quality: int, plan: Plan, every: int) -> None:
        self.target, self.quality, self.plan, self.every = target, quality, plan, every
        self.latest: Any = None

    def __call__(self, image, event) -> None:
        self.latest = image
        if self.target is not None and self.every and event.step % self.every == 0:
            path = snapshot_path(self.target, event.step)
            self.plan.check_output("intermediate result", path)
            save_image(from_array(image), path, quality=self.quality)
            log.debug("intermediate result %s", path)

    def keep(self) -> Path | None:
        """The image so far as ``<result>.partial.<ext>`` (``None``: nothing to keep)."""
        if self.target is None or self.latest is None:
            return None
        path = partial_path(self.target)
        self.plan.check_output("partial result", path)
        save_image(from_array(self.latest), path, quality=self.quality)
        return path


@contextlib.contextmanager
def first_ctrl_c_stops():
    """The first Ctrl-C asks the job to stop after its current step (the event is set); a
    second one interrupts at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):  # noqa: ARG001
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        log.warning("stopping after this step, keeping the image so far (Ctrl-C again: now)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def kept_so_far(job: Job, keeper: Keeper) -> str:
    """What Ctrl-C kept, for the closing line: a photo's image so far, a clip's frames."""
    if job.clip and job.target:
        return f"; the frames so far are in {work_folder(Path(job.target))}: run it again"
    kept = keeper.keep()
    return f"; the image so far is in {kept}" if kept else ""


def summary(record: dict[str, Any], device: str) -> str:
    """The closing line's figures: the time and device, then a clip's frames per second or
    a photo's loss (a filter without an objective, the fast one, has none to report)."""
    text = f"{record['seconds']:.1f} s on {device}"
    if "frames" in record:
        rate = record["frames"] / max(record["seconds"], 1e-9)
        return f"{record['frames']} frames, {text}, {rate:.2f} frames/s"
    final = record.get("final", {})
    if final:
        text += ", loss {:.4g}: content {:.4g}, style {:.4g}".format(
            *(final.get(k, float("nan")) for k in ("loss", "content", "style"))
        )
    return text


def versions() -> dict[str, str]:
    """The versions that decide a result: nstfilter, Python, and the numerics loaded."""
    found = {"python": platform.python_version()}
    for name in ("nstfilter", "numpy", "pillow", "tensorflow", "onnxruntime"):
        loaded = name in ("nstfilter", "numpy", "pillow") or name in sys.modules
        with contextlib.suppress(PackageNotFoundError):
            if loaded:
                found[name] = version(name)
    return found


def run_record(job: Job, source: str, styles, params, device: str) -> dict[str, Any]:
    """What reproduces a job: the photo and the paintings with their sha256 and weights,
    every setting, device and versions (``apply --like`` reads it back)."""
    return {
        "input": source,
        "input_sha256": file_sha256(job.path) if job.path else sha256(job.image),
        "preset": job.preset,
        "styles": [{"path": str(p), "weight": w, "sha256": sha256(data)}
                   for (p, _), (data, w) in zip(styles, job.styles)],
        "settings": asdict(params), "device": device, "versions": versions(),
    }  # fmt: skip


@click.command(epilog=EPILOG)
@click.argument("contents", nargs=-1, required=True, metavar="PHOTO...")
@command_options(
    io=[
        output_option(
            "Result file (one photo), folder, or - for standard output [default: the current "
            "folder, <stem>.<preset>.<ext>].",
            metavar="FILE|FOLDER/|-",
        ),
        option(
            "--save-every", type=SettingType(SAVE_EVERY), metavar="N",
            help="Also write the image being optimised every N steps, as "
            "<result>.step-NNNN.<ext> beside the result (not with -o -).",
        ),
        metrics_option("run"),
        progress_option("Progress of each photo"),
        option("--force", is_flag=True, help="With -o -: write image data even to a terminal."),
        option(
            "--frames", "frame_range", metavar="A:B",
            help="Clips: style only frames A to B-1 (numbered from 0; either side may be left "
            "out).",
        ),
        option(
            "--max-frames", type=click.IntRange(1), metavar="N",
            help="Clips: refuse a clip of more than N frames, before any work.",
        ),
    ],
    style=[
        option("-p", "--preset", help="A preset name (see 'nstfilter presets list')."),
        option(
            "--like", type=click.Path(exists=True, dir_okay=False), metavar="RUN.JSON",
            help="Re-use the settings and style images of an earlier run's --metrics file "
            "(options given here still win).",
        ),
    ],
)  # fmt: skip
def apply(
    contents, output, preset, like, styling, max_pixels, device, save_every, metrics,
    progress_mode, force, frame_range, max_frames,
):  # fmt: skip
    """Style PHOTO(s) (files, folders, or - for standard input) with --style image(s) or a
    --preset; every setting below overrides the preset's."""
    from ..jobs import TF_FILTERS, Listeners, execute, use_device
    from ..pretrained import preflight

    plugins = facade()
    styling = styling(preset, like=like)
    inputs = expand_inputs(contents)
    if not inputs:
        raise UsageError(f"no images found in {', '.join(contents)}")
    if sum(str(p) == STDIO for p in inputs) > 1:
        raise UsageError("standard input (-) can be read only once")
    clips = [p for p in inputs if is_clip(p)]  # videos, animated GIF/WebP: a clip job each
    if clips and len(clips) != len(inputs):
        raise UsageError("style clips and photos in separate commands")
    check_stdout(image=output == STDIO and not clips, text=metrics == STDOUT, force=force)
    if clips:
        if save_every:
            raise UsageError("--save-every is for photos: a clip keeps its styled frames in "
                             "<result>.parts/ until it is encoded")  # fmt: skip
        targets = output_paths(inputs, output, styling.name)
        plan = check_clips(
            clips, targets, styling, metrics=metrics, max_pixels=max_pixels,
            frame_range=frame_range, max_frames=max_frames,
        )  # fmt: skip
    else:
        targets = output_paths(inputs, output, styling.name, styling.output_format)
        if save_every and targets == [None]:
            raise UsageError(
                "--save-every writes files beside the result: it needs a file -o, not -"
            )
        for target in filter(None, targets):
            format_for(target)
        plan = check_plan(  # before any work: no output over an input or another, writable
            [*((f"result of {s}", t) for s, t in zip(inputs, targets) if t is not None),
             *([("metrics", metrics)] if metrics and metrics != STDOUT else [])],
            [*(("photo", s) for s in inputs if str(s) != STDIO),
             *(("style image", p) for p, _ in styling.styles),
             *(("preset", f) for f in styling.files)],
            series=[snapshot_series(t) for t in targets if t is not None and save_every],
        )  # fmt: skip
        # every check that needs no network, before TensorFlow: a wrong path fails at once
        for path in [*(s for s in inputs if str(s) != STDIO), *(p for p, _ in styling.styles)]:
            probe_image(path, max_pixels=max_pixels)
    if styling.params.filter in TF_FILTERS:
        preflight(styling.params)
    styles = read_styles(styling.styles)
    device = use_device(device, styling.params.filter)

    all_metrics = []
    try:
        for source, target in zip(inputs, targets):
            stdin = str(source) == STDIO
            ext = styling.output_ext if target is None else target.suffix.lower()
            job = Job.from_files(
                source, preset=styling, input_name="<stdin>" if stdin else None, styles=styles,
                output_ext=ext, max_pixels=max_pixels, by_path=not stdin,
                image=sys.stdin.buffer.read() if stdin else None, frames=frame_range,
                max_frames=max_frames, target=str(target) if clips else None,
            )  # fmt: skip
            keeper = Keeper(target, styling.quality, plan, save_every or 0)
            with first_ctrl_c_stops() as stop, progress_shown(
                plugins, progress_mode, "stdin" if stdin else source.name
            ):  # fmt: skip
                listen = Listeners(should_stop=stop.is_set, on_snapshot=keeper, snapshot_every=1)
                try:
                    data, result = execute(job, plugins, listen)
                except Cancelled:
                    raise Cancelled(f"interrupted{kept_so_far(job, keeper)}") from None
            if target is None:
                write_stdout(data)
            elif data is not None:  # None: a clip, encoded into its target by the job
                write_atomic(data, target)
            shown = "<stdout>" if target is None else str(target)
            record = {**run_record(job, str(source), styling.styles, styling.params, device),
                      "output": shown, **result}  # fmt: skip
            all_metrics.append(record)
            log.info("%s -> %s (%s)", source, shown, summary(record, device))
    finally:
        if metrics and all_metrics:
            doc = all_metrics[0] if len(all_metrics) == 1 else all_metrics
            write_output(json.dumps(doc, indent=2).encode(), metrics)
