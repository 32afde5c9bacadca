"""Self-contained styling jobs: what batch and watcher executors send to their workers.

A :class:`Job` carries everything a worker needs as plain bytes and a frozen
:class:`~nstfilter.params.StyleParams`: the photo, the style images and the output format.
A worker therefore needs no shared filesystem, no preset search path and no style folder,
which is what lets the same job run in this process, in a local process pool or on a remote
Dask worker. :func:`run_job` never raises for a bad image or a failing filter: every
failure becomes a :class:`JobOutcome` with a one-line error, so one broken photo cannot stop
a batch of thousands.

Workers keep state between jobs on purpose: a worker process builds one plugin facade
(:func:`worker_plugins`) whose neural-style filter caches its compiled objectives, and
decoded style images are cached here, so only a worker's first job pays for loading the
backbone.

:class:`JobReport` is what the job hooks (``nstfilter_job_done``/``_failed``) receive from
every front-end, batch and watcher alike.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .errors import error_line
from .imageio import DEFAULT_QUALITY
from .params import StyleParams

if TYPE_CHECKING:  # pragma: no cover
    from .events import Progress
    from .imageio import LoadedImage
    from .plugins import Plugins
    from .presets import Preset

#: Worker thread budget for TensorFlow (intra-op threads); set by the executors.
THREADS_ENV = "NSTFILTER_THREADS"
#: Filters that run TensorFlow (their workers get the thread budget before TF starts).
TF_FILTERS = {"neural-style"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Job:
    """One photo styled with one preset (or explicit params and styles), picklable.

    ``key`` names the job uniquely within a batch (the manifest uses it); ``input_name`` is
    the photo's relative path, used to label errors. ``styles`` are ``(image bytes,
    weight)`` pairs; ``output_ext`` (``.png``, ``.jpg``, ...) and ``quality`` decide how the
    result is encoded.
    """

    key: str
    input_name: str
    image: bytes
    params: StyleParams
    styles: tuple[tuple[bytes, float], ...]
    output_ext: str = ".png"
    quality: int = DEFAULT_QUALITY
    preset: str | None = None
    max_pixels: int | None = None

    @property
    def input_hash(self) -> str:
        return sha256(self.image)

    @classmethod
    def from_files(
        cls,
        input_path: str | Path,
        *,
        preset: Preset | None = None,
        params: StyleParams | None = None,
        styles: Sequence[tuple[str | Path, float]] | None = None,
        key: str | None = None,
        input_name: str | None = None,
        output_ext: str | None = None,
        quality: int | None = None,
        max_pixels: int | None = None,
    ) -> Job:
        """Read a photo and its styles (from ``preset`` unless given) into a job.

        A missing input becomes an empty image, which :func:`run_job` reports as a failed
        job rather than an exception here.
        """
        path = Path(input_path)
        if preset is not None:
            params = params or preset.params
            styles = styles if styles is not None else preset.styles
            output_ext = output_ext or (
                f".{preset.output_format}" if preset.output_format else None
            )
            quality = quality or preset.quality
        if params is None or not styles:
            raise ValueError("a job needs a preset, or params and styles")
        try:
            image = path.read_bytes()
        except OSError:
            image = b""
        name = input_name or path.name
        return cls(
            key=key or f"{name}::{preset.name if preset else 'styled'}",
            input_name=name,
            image=image,
            params=params,
            styles=tuple((Path(p).read_bytes(), float(w)) for p, w in styles),
            output_ext=(output_ext or ".png").lower(),
            quality=quality or DEFAULT_QUALITY,
            preset=preset.name if preset else None,
            max_pixels=max_pixels,
        )


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

    @property
    def final_losses(self) -> dict[str, float]:
        return dict(self.metrics.get("final") or {})


@dataclass(frozen=True)
class JobReport:
    """One finished or failed job, as the job hooks see it, whichever front-end ran it.

    ``losses`` are the final loss terms under the same names everywhere (``loss``,
    ``content``, ``style``, ``tv``; empty for a filter that reports none); ``details`` holds
    what only one front-end knows (the watcher's ``processed``/``failed`` paths, the batch
    ``worker``). Frozen, mappings read-only: one plugin cannot change what the next sees.
    """

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
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {**data, "losses": dict(self.losses), "details": dict(self.details)}


# --- worker-side state -----------------------------------------------------------------

_style_cache: OrderedDict[str, LoadedImage] = OrderedDict()
_STYLE_CACHE_SIZE = 8
_lock = threading.Lock()
_runtime_ready = False


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def set_thread_budget(threads: int) -> None:
    """Give this process's TensorFlow (and OpenMP/BLAS) ``threads`` threads.

    Must run before TensorFlow starts: executors call it in each worker's initialiser, so
    N workers on C cores use about C threads in all instead of N x C.
    """
    threads = max(1, int(threads))
    os.environ[THREADS_ENV] = str(threads)
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = str(min(2, threads))


def _prepare_runtime(params: StyleParams) -> None:
    """Start TensorFlow with the thread budget before the first TF job in this process."""
    global _runtime_ready
    if _runtime_ready or params.filter not in TF_FILTERS:
        return
    with _lock:
        if _runtime_ready:
            return
        _runtime_ready = True
        budget = os.environ.get(THREADS_ENV)
        if not budget or "tensorflow" in sys.modules:
            return
        from .tfquiet import import_tensorflow_quietly

        # import TF with its start-up chatter captured, then fix the pools before first use
        saved = os.dup(2)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 2)
                import tensorflow as tf

                tf.config.threading.set_intra_op_parallelism_threads(int(budget))
                tf.config.threading.set_inter_op_parallelism_threads(min(2, int(budget)))
                tf.constant(0.0) + 1.0  # first op: device discovery prints here
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        import_tensorflow_quietly()


def _styles(job: Job) -> list[tuple[LoadedImage, float]]:
    from .imageio import load_image_bytes

    out = []
    for index, (data, weight) in enumerate(job.styles):
        digest = sha256(data)
        with _lock:
            loaded = _style_cache.get(digest)
            if loaded is not None:
                _style_cache.move_to_end(digest)
        if loaded is None:
            loaded = load_image_bytes(data, name=f"style image {index + 1} of {job.key}")
            with _lock:
                _style_cache[digest] = loaded
                while len(_style_cache) > _STYLE_CACHE_SIZE:
                    _style_cache.popitem(last=False)
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
    try:
        from .api import run_filter
        from .imageio import encode_image, format_for, load_image_bytes

        fmt = format_for(f"x{job.output_ext}")
        content = load_image_bytes(job.image, name=job.input_name, max_pixels=job.max_pixels)
        styles = _styles(job)
        _prepare_runtime(job.params)
        result = run_filter(
            content,
            styles,
            job.params,
            callback=callback,
            should_stop=should_stop,
            plugins=plugins,
        )
        data = encode_image(result.image, fmt, quality=job.quality)
    except Exception as exc:  # noqa: BLE001 - every failure is an outcome
        return JobOutcome(
            key=job.key,
            ok=False,
            error=error_line(exc),
            seconds=round(time.perf_counter() - start, 3),
            worker=worker_id(),
        )
    return JobOutcome(
        key=job.key,
        ok=True,
        output=data,
        metrics=result.metrics,
        seconds=round(time.perf_counter() - start, 3),
        worker=worker_id(),
    )
