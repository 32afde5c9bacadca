"""``nstfilter apply clip.mp4``: what apply does before a clip's job (its name, every check
before any work); the job itself runs through :func:`nstfilter.jobs.execute` like a photo's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from click_option_group import optgroup

from ..durable import STDOUT
from ..errors import UsageError
from ..imageio import probe_image
from ..jobspec import result_ext, result_name
from ..safepaths import Plan, check_plan

if TYPE_CHECKING:  # pragma: no cover
    from ..presets import Preset

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


def check_clips(
    clips: list[Path], targets: list[Path], styling: Preset, *, metrics: str | None,
    max_pixels: int | None, frame_range: str | None, max_frames: int | None,
) -> Plan:  # fmt: skip
    """Every check before the first clip is styled, so a bad one fails before hours of work:
    the output plan (results, their ``.parts/`` work folders, metrics) and each clip probed
    (frames, size, audio, the target's type, ``--frames``)."""
    from ..video import work_folder
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
