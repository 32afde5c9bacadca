"""The job pipeline's vocabulary, on the floor beside :mod:`.events`: what a front-end asks
(:class:`Job`), what comes back (:class:`JobOutcome`), what the job hooks see
(:class:`JobReport`) and what a result is called (:func:`result_name`).

Small, picklable and free of plugins and TensorFlow, so ``hookspecs``, ``plugins``, the job
log and the executors import it without reaching up to the runner (:mod:`.jobs`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from .durable import fit_stem
from .errors import InputNotFoundError
from .imageio import DEFAULT_QUALITY
from .params import StyleParams
from .video import is_clip, result_suffix

#: What a job styles: a still photo, or a clip (a video, an animated GIF/WebP) whose runner
#: :mod:`nstfilter.video` registers in :data:`nstfilter.jobs.RUNNERS`.
STILL, CLIP = "still", "clip"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: str | Path) -> str:
    """A file's sha256, read in chunks: a clip is never whole in memory."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def result_name(stem: str, tag: str, ext: str) -> str:
    """``<stem>.<tag><ext>`` (``photo.starry-night.png``), the stem shortened when the name
    would not fit 255 bytes: the one rule every front-end names its results by."""
    tail = f".{tag}{ext}"
    return f"{fit_stem(stem, tail)}{tail}"


def result_ext(source: str | Path, output_format: str | None) -> str:
    """The result's extension, one rule for apply, batch and watch: a clip keeps its type
    (:func:`nstfilter.video.result_suffix`); a photo gets ``output_format`` (``--format``,
    else the preset's ``[output] format``), else PNG: lossless, whatever the photo was."""
    if is_clip(source):
        return result_suffix(Path(source))
    return f".{(output_format or 'png').lower().lstrip('.')}"


def read_styles(styles: Sequence[tuple[str | Path, float]]) -> tuple[tuple[bytes, float], ...]:
    """The style images' bytes; one gone since the preset was loaded is a one-line error."""
    try:
        return tuple((Path(p).read_bytes(), float(w)) for p, w in styles)
    except OSError as exc:
        raise InputNotFoundError(
            f"cannot read style image: {exc.strerror or exc}", path=exc.filename
        ) from exc


class PresetLike(Protocol):
    """What a job takes from a :class:`~nstfilter.presets.Preset`."""

    name: str
    params: StyleParams
    styles: Sequence[tuple[Path, float]]
    quality: int

    @property
    def output_ext(self) -> str: ...


@dataclass(frozen=True)
class Job:
    """One photo (or clip) styled with one preset, picklable, its inputs as bytes so it runs
    in this process, another or on a Dask worker without a shared filesystem; ``key`` names
    it within a run (the manifest's key), ``input_name`` labels its errors."""

    key: str
    input_name: str
    image: bytes
    params: StyleParams
    styles: tuple[tuple[bytes, float], ...]
    output_ext: str = ".png"
    quality: int = DEFAULT_QUALITY
    preset: str | None = None
    max_pixels: int | None = None
    kind: str = STILL
    style_names: tuple[str, ...] = ()  # labels for the style images' errors
    #: the input file, read by the runner, when the job runs where it can (inline, threads;
    #: a clip is then not held in memory); else ``image`` holds its bytes
    path: str | None = None
    device: str = "auto"  # --device, applied by a worker process before its first job
    #: where the sink puts the result, for a job that runs beside it (inline, threads): a
    #: clip's runner encodes straight into it, frame by frame (resumable from
    #: ``<target>.parts/``), and returns no bytes, so no clip is ever whole in memory
    target: str | None = None
    frames: str | None = None  # a clip's ``--frames A:B``
    max_frames: int | None = None  # refuse a clip of more frames, before any work

    @property
    def clip(self) -> bool:
        return self.kind == CLIP

    @classmethod
    def from_files(
        cls, input_path: str | Path, *, preset: PresetLike, input_name: str | None = None,
        output_ext: str | None = None, max_pixels: int | None = None,
        styles: tuple[tuple[bytes, float], ...] | None = None, image: bytes | None = None,
        by_path: bool = False, device: str = "auto", **more: Any,
    ) -> Job:  # fmt: skip
        """The photo at ``input_path`` (or its ``image`` bytes, e.g. standard input; with
        ``by_path``, its path only) and the style images of ``preset`` (or ``styles``, already
        read by :func:`read_styles`). A photo that cannot be read is empty, which the runner
        reports as the job's error. ``more``: the other fields (``target``, ``frames``)."""
        path = Path(input_path)
        name = input_name or path.name
        if by_path and image is None:
            image = b""
        elif image is None:
            try:
                image = path.read_bytes()
            except OSError:
                image = b""
        return cls(
            key=f"{name}::{preset.name}", input_name=name, image=image, params=preset.params,
            styles=styles or read_styles(preset.styles),
            output_ext=(output_ext or preset.output_ext).lower(), quality=preset.quality,
            preset=preset.name, max_pixels=max_pixels, kind=CLIP if is_clip(path) else STILL,
            style_names=tuple(str(p) for p, _ in preset.styles),
            path=str(path) if by_path else None, device=device, **more,
        )  # fmt: skip


@dataclass
class JobOutcome:
    """What came back from a worker: the encoded result (``None`` with ``ok``: the runner
    wrote it at the job's ``target``) or a one-line error."""

    key: str
    ok: bool
    output: bytes | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    worker: str = ""  # "host:pid" of the process that ran the job
    stopped: bool = False  # cancelled (Ctrl-C, should_stop): ``output`` is the partial image


@dataclass(frozen=True)
class JobReport:
    """One finished or failed job as the job hooks see it, whichever front-end ran it:
    ``losses`` are the final loss terms under the same names everywhere, ``details`` what only
    one front-end knows (the watcher's paths, the batch ``worker``). Frozen, mappings
    read-only: one plugin cannot change what the next sees."""

    front_end: str  # "batch" or "watch"
    id: str  # batch: the manifest key; watcher: the journal's job id
    input: str
    preset: str | None
    output: str | None = None  # the result file (done jobs)
    seconds: float = 0.0
    losses: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None  # the one-line reason (failed jobs)
    details: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "losses", MappingProxyType(dict(self.losses)))
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able fields (the job log writes this)."""
        return {**vars(self), "losses": dict(self.losses), "details": dict(self.details)}
