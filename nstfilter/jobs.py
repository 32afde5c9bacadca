"""Self-contained styling jobs: what batch and watcher executors send to their workers.

A :class:`Job` carries everything a worker needs as plain bytes and a frozen
:class:`~nstfilter.params.StyleParams`: the photo, the style images and the output format.
A worker therefore needs no shared filesystem, no preset search path and no style folder,
which is what lets the same job run in this process, in a local process pool or on a remote
Dask worker. :func:`run_job` never raises for a bad image or a failing filter: every
failure becomes a :class:`JobOutcome` with a one-line error, so one broken photo cannot stop
a batch of thousands.

Workers keep state between jobs on purpose: the engine caches its compiled objective per
process (see ``builtins.neural_style``), and decoded style images are cached here, so only
a worker's first job pays for loading the backbone.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import NstError
from .imageio import DEFAULT_QUALITY
from .params import StyleParams

if TYPE_CHECKING:  # pragma: no cover
    import pluggy

    from .events import Progress
    from .imageio import LoadedImage
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


def error_line(error: BaseException) -> str:
    """One line for a failure: nstfilter errors as they are, others with their type."""
    text = str(error) if isinstance(error, NstError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split()) or type(error).__name__


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


def run_job(
    job: Job,
    *,
    callback: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
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
            plugin_manager=plugin_manager,
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
