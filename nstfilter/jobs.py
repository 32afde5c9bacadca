"""Self-contained styling jobs: what the batch and watcher executors send to their workers.

A :class:`Job` holds the photo and the style images as bytes beside a frozen
:class:`~nstfilter.params.StyleParams`, so it runs in a local process or on a remote Dask
worker without a shared filesystem; :func:`run_job` turns every failure into a
:class:`JobOutcome` with a one-line error, so one broken photo cannot stop a batch. Workers
keep their plugin facade and decoded styles between jobs: only the first loads the backbone.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import InputNotFoundError, UsageError, error_line
from .imageio import DEFAULT_QUALITY
from .params import StyleParams
from .video import is_clip

if TYPE_CHECKING:  # pragma: no cover
    from .events import Progress
    from .imageio import LoadedImage
    from .plugins import Plugins
    from .presets import Preset

#: Worker thread budget for TensorFlow (intra-op threads); set by the executors.
THREADS_ENV = "NSTFILTER_THREADS"
#: Filters that run TensorFlow.
TF_FILTERS = {"neural-style"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_photo(path: Path) -> bytes:
    """A photo's bytes; one that cannot be read is empty, which :func:`run_job` reports."""
    try:
        return path.read_bytes()
    except OSError:
        return b""


def read_styles(styles: Sequence[tuple[str | Path, float]]) -> tuple[tuple[bytes, float], ...]:
    """The style images' bytes; one gone since the preset was loaded is a one-line error."""
    try:
        return tuple((Path(p).read_bytes(), float(w)) for p, w in styles)
    except OSError as exc:
        raise InputNotFoundError(
            f"cannot read style image: {exc.strerror or exc}", path=exc.filename
        ) from exc


@dataclass(frozen=True)
class Job:
    """One photo styled with one preset, picklable; ``key`` names it within a batch (the
    manifest's key), ``input_name`` labels its errors."""

    key: str
    input_name: str
    image: bytes
    params: StyleParams
    styles: tuple[tuple[bytes, float], ...]
    output_ext: str = ".png"
    quality: int = DEFAULT_QUALITY
    preset: str | None = None
    max_pixels: int | None = None
    clip: bool = False  # a video or an animated GIF/WebP: the clip job (nstfilter.video)

    @classmethod
    def from_files(
        cls, input_path: str | Path, *, preset: Preset, input_name: str | None = None,
        output_ext: str | None = None, max_pixels: int | None = None,
        styles: tuple[tuple[bytes, float], ...] | None = None,
    ) -> Job:  # fmt: skip
        """The photo at ``input_path`` and the style images of ``preset`` (or ``styles``,
        already read by :func:`read_styles`), read into a job."""
        path = Path(input_path)
        name = input_name or path.name
        ext = output_ext or preset.output_ext
        return cls(
            key=f"{name}::{preset.name}", input_name=name, image=read_photo(path),
            params=preset.params, styles=styles or read_styles(preset.styles),
            output_ext=ext.lower(), quality=preset.quality, preset=preset.name,
            max_pixels=max_pixels, clip=is_clip(path),
        )  # fmt: skip


@dataclass
class JobOutcome:
    """What came back from a worker: the encoded result or a one-line error."""

    key: str
    ok: bool
    output: bytes | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    worker: str = ""  # "host:pid" of the process that ran the job


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


_style_cache: dict[str, LoadedImage] = {}  # a worker's; in order of last use, oldest first
_STYLE_CACHE_SIZE = 8
_lock = threading.Lock()


def set_thread_budget(threads: int) -> None:
    """``threads`` threads for this process's TensorFlow (read when it starts) and OpenMP/BLAS:
    N workers on C cores then use about C threads in all instead of N x C."""
    threads = max(1, int(threads))
    names = (THREADS_ENV, "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
    os.environ.update(dict.fromkeys((*names, "TF_NUM_INTRAOP_THREADS"), str(threads)))
    os.environ["TF_NUM_INTEROP_THREADS"] = str(min(2, threads))


def _styles(job: Job) -> list[tuple[LoadedImage, float]]:
    from .imageio import load_image_bytes

    out = []
    for index, (data, weight) in enumerate(job.styles):
        digest = sha256(data)
        with _lock:
            loaded = _style_cache.pop(digest, None)
        if loaded is None:
            name = f"style image {index + 1} of {job.key}"  # under the job's pixel limit
            loaded = load_image_bytes(data, name=name, max_pixels=job.max_pixels)
        with _lock:
            _style_cache[digest] = loaded  # now the most recently used
            while len(_style_cache) > _STYLE_CACHE_SIZE:
                del _style_cache[next(iter(_style_cache))]
        out.append((loaded, weight))
    return out


@functools.cache
def worker_plugins(plugins_dirs: tuple[str, ...] = ()) -> Plugins:
    """The plugin facade of a worker process, built on its first job and kept, so its
    compiled models serve every later job (a worker is its own front-end)."""
    from .plugins import Plugins

    return Plugins.load(plugins_dirs)


def run_worker_job(job: Job, plugins_dirs: tuple[str, ...] = ()) -> JobOutcome:
    """What executors run in a worker: :func:`run_job` with the worker's facade."""
    budget = os.environ.get(THREADS_ENV)  # e.g. given to a Dask worker by its user
    if budget and "tensorflow" not in sys.modules:
        if not budget.strip().isdigit():
            raise UsageError(f"${THREADS_ENV} must be a number of threads, got {budget!r}")
        set_thread_budget(int(budget))
    return run_job(job, plugins=worker_plugins(plugins_dirs))


def run_job(
    job: Job,
    *,
    plugins: Plugins,
    callback: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> JobOutcome:
    """Decode, style and encode one job; failures come back as outcomes, never raised."""
    start = time.perf_counter()
    outcome = JobOutcome(key=job.key, ok=False, worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        from .api import run_filter
        from .imageio import encode_image, format_for, load_image_bytes

        if job.clip:
            from .video.job import style_clip_data

            styles = [(loaded.rgb, weight) for loaded, weight in _styles(job)]
            outcome.output, outcome.metrics = style_clip_data(
                job.image, job.input_name, styles, job.params, ext=job.output_ext,
                plugins=plugins, max_pixels=job.max_pixels, should_stop=should_stop,
            )  # fmt: skip
            outcome.ok = True
            outcome.seconds = round(time.perf_counter() - start, 3)
            return outcome
        fmt = format_for(f"x{job.output_ext}")
        content = load_image_bytes(job.image, name=job.input_name, max_pixels=job.max_pixels)
        result = run_filter(
            content, _styles(job), job.params, callback=callback, should_stop=should_stop,
            plugins=plugins,
        )  # fmt: skip
        outcome.output = encode_image(result.image, fmt, quality=job.quality)
        outcome.ok, outcome.metrics = True, result.metrics
    except Exception as exc:  # noqa: BLE001 - every failure is an outcome
        outcome.error = error_line(exc)
    outcome.seconds = round(time.perf_counter() - start, 3)
    return outcome
