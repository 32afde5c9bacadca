"""``nstfilter apply clip.mp4``: clips given to apply go here (the front-end of
:func:`nstfilter.video.style_clip`: names, checks before any work, progress lines, metrics).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click_option_group import optgroup

from ..durable import STDOUT, write_output
from ..errors import UsageError
from ..eta import format_seconds
from ..imageio import load_image
from ..jobspec import result_ext, result_name
from ..safepaths import check_plan

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins
    from ..presets import Preset

log = logging.getLogger("nstfilter.apply")

#: ``--frames A:B`` and ``--max-frames N`` (apply, watch, batch)
frames_option = optgroup.option(
    "--frames", "frame_range", metavar="A:B",
    help="Clips: style only frames A to B-1 (numbered from 0; either side may be left out).",
)  # fmt: skip
max_frames_option = optgroup.option(
    "--max-frames", type=click.IntRange(1), metavar="N",
    help="Clips: refuse a clip of more than N frames, before any work.",
)  # fmt: skip


def clip_targets(clips: list[Path], output: str | None, tag: str) -> list[Path]:
    """One result per clip: ``-o FILE`` for one clip, else ``<stem>.<tag><suffix>`` in the
    ``-o`` folder (or the current one): a clip keeps its own type unless ``-o`` says."""
    if output == STDOUT:
        raise UsageError("clips cannot go to standard output (-o -): give a file or a folder")
    if output and not (output.endswith(("/", "\\")) or Path(output).is_dir()):
        if len(clips) == 1:
            return [Path(output)]
        raise UsageError(f"{len(clips)} clips need a folder for -o, not {output!r}")
    folder = Path(output or ".")
    return [folder / result_name(c.stem, tag, result_ext(c, None)) for c in clips]


def apply_clips(
    clips: list[Path], output: str | None, styling: Preset, *, plugins: Plugins,
    max_pixels: int | None, frame_range: str | None, max_frames: int | None,
    metrics: str | None, device: str, progress_mode: str,
) -> None:  # fmt: skip
    """Style each clip into its result; every clip is probed (frames, size, audio, target
    type) before the first is styled, so a bad one fails before hours of work."""
    from ..video import clip as clip_job
    from ..video.io import check_target, probe

    targets = clip_targets(clips, output, styling.name)
    check_plan(
        [*((f"result of {c}", t) for c, t in zip(clips, targets)),
         *((f"work folder of {t}", clip_job.work_folder(t)) for t in targets),
         *([("metrics", metrics)] if metrics and metrics != STDOUT else [])],
        [*(("clip", c) for c in clips), *(("style image", p) for p, _ in styling.styles),
         *(("preset", f) for f in styling.files)],
    )  # fmt: skip
    for clip, target in zip(clips, targets):
        info = probe(clip, max_pixels=max_pixels, max_frames=max_frames)
        check_target(target, info)
        clip_job.parse_frames(frame_range, info.frames)
    styles = [(load_image(p, max_pixels=max_pixels).rgb, w) for p, w in styling.styles]
    records = []
    try:
        for clip, target in zip(clips, targets):
            result = clip_job.style_clip(
                clip, target, styles, styling.params, plugins=plugins, frames=frame_range,
                max_frames=max_frames, max_pixels=max_pixels,
                progress=ProgressLines(clip.name, progress_mode),
            )  # fmt: skip
            record = {"input": str(clip), **result.metrics, "device": device}
            records.append(record)
            log.info(
                "%s -> %s (%d frames, %.1f s, %.2f frames/s on %s)",
                clip, target, result.frames, result.seconds,
                result.frames / max(result.seconds, 1e-9), device,
            )  # fmt: skip
    finally:
        if metrics and records:
            data = records[0] if len(records) == 1 else records
            write_output(json.dumps(data, indent=2).encode(), metrics)


class ProgressLines:
    """A clip's progress in frames: a log line every few seconds (and the last), or a JSON
    line per frame for programs; nothing with ``--progress none``."""

    def __init__(self, label: str, mode: str, every: float = 5.0) -> None:
        self.label, self.mode, self.every = label, mode, every
        self._next = time.monotonic()

    def __call__(self, event) -> None:
        if self.mode == "none":
            return
        if self.mode == "json":
            eta = None if event.eta is None else round(event.eta, 1)
            record = {"event": "clip", "frame": event.done, "frames": event.total,
                      "seconds": round(event.seconds, 2), "eta_seconds": eta}  # fmt: skip
            click.echo(json.dumps(record), err=True)
            return
        now = time.monotonic()
        if now >= self._next or event.done == event.total:
            self._next = now + self.every
            rate = event.done / max(event.seconds, 1e-9)
            log.info(
                "%s: frame %d/%d, %.2f frames/s, ETA %s",
                self.label, event.done, event.total, rate, format_seconds(event.eta),
            )  # fmt: skip
