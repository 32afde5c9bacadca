"""The one job pipeline: :func:`run_job` takes a :class:`~nstfilter.jobspec.Job` through
read inputs -> plugins -> filter -> encode, whoever asks: ``apply`` inline, the watcher's
threads, and every executor worker (local processes, Dask). The sink (a file, standard
output, a batch folder, an outbox) writes the bytes durably; a worker never touches it.

The runner dispatches on the job's ``kind`` through :data:`RUNNERS` (a still photo, a clip),
so a new kind of input plugs in with :func:`runner`. Failures come back as outcomes with a
one-line error, so one broken photo cannot stop a batch. Workers keep their plugin facade
and decoded styles between jobs: only the first loads the backbone.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import Cancelled, UsageError, error_line
from .events import Listeners
from .jobspec import CLIP, STILL, Job, JobOutcome, JobReport, read_styles, sha256

if TYPE_CHECKING:  # pragma: no cover
    from .imageio import LoadedImage
    from .plugins import Plugins

__all__ = [
    "RUNNERS", "THREADS_ENV", "TF_FILTERS", "Job", "JobOutcome", "JobReport", "Listeners",
    "execute", "read_styles", "run_job", "run_worker_job", "runner", "set_thread_budget",
    "sha256", "use_device",
]  # fmt: skip

#: Worker thread budget for TensorFlow (intra-op threads); set by the executors.
THREADS_ENV = "NSTFILTER_THREADS"
#: Filters that run TensorFlow.
TF_FILTERS = {"neural-style"}


#: A job kind's runner: the job's result encoded as ``job.output_ext`` (``None``: written at
#: ``job.target``), and its metrics.
Runner = Callable[[Job, "Plugins", Listeners], tuple[bytes | None, dict[str, Any]]]
#: Job kind -> runner (``nstfilter.jobspec.STILL``, ``CLIP``; see :func:`runner`).
RUNNERS: dict[str, Runner] = {}


def runner(kind: str) -> Callable[[Runner], Runner]:
    """Register the runner of a job ``kind`` (a decorator)."""

    def register(function: Runner) -> Runner:
        RUNNERS[kind] = function
        return function

    return register


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
        if loaded is None:  # decoded under the job's pixel limit, named as the user knows it
            names = job.style_names
            name = names[index] if index < len(names) else f"style image {index + 1} of {job.key}"
            loaded = load_image_bytes(data, name=name, max_pixels=job.max_pixels)
        with _lock:
            _style_cache[digest] = loaded  # now the most recently used
            while len(_style_cache) > _STYLE_CACHE_SIZE:
                del _style_cache[next(iter(_style_cache))]
        out.append((loaded, weight))
    return out


@runner(STILL)
def _still(job: Job, plugins: Plugins, listen: Listeners) -> tuple[bytes, dict[str, Any]]:
    from .api import run_filter
    from .imageio import encode_image, format_for, load_image, load_image_bytes

    fmt = format_for(f"x{job.output_ext}")
    if job.path is not None:
        content = load_image(job.path, max_pixels=job.max_pixels)
    else:
        content = load_image_bytes(job.image, name=job.input_name, max_pixels=job.max_pixels)
    result = run_filter(
        content, _styles(job), job.params, callback=listen.callback,
        should_stop=listen.should_stop, plugins=plugins, on_snapshot=listen.on_snapshot,
        snapshot_every=listen.snapshot_every,
    )  # fmt: skip
    return encode_image(result.image, fmt, quality=job.quality), result.metrics


@runner(CLIP)
def _clip(job: Job, plugins: Plugins, listen: Listeners) -> tuple[bytes | None, dict[str, Any]]:
    from .video.clip import style_clip_job

    styles = [(loaded.rgb, weight) for loaded, weight in _styles(job)]
    return style_clip_job(job, styles, plugins=plugins, listen=listen)


def execute(
    job: Job, plugins: Plugins, listen: Listeners | None = None
) -> tuple[bytes | None, dict[str, Any]]:
    """The job's result, encoded (``None`` when the runner wrote it at ``job.target``), and
    its metrics; raises what went wrong (``apply`` keeps each error's exit code;
    :func:`run_job` turns it into an outcome)."""
    if job.kind not in RUNNERS:
        raise UsageError(f"no runner for {job.kind} jobs; known: {', '.join(RUNNERS)}")
    output, metrics = RUNNERS[job.kind](job, plugins, listen or Listeners())
    return output, dict(metrics)


def use_device(requested: str, filter_name: str) -> str:
    """``--device`` applied to this process for ``filter_name``: TensorFlow's for the engine,
    onnxruntime's for the fast filter; another filter takes it as asked."""
    if filter_name in TF_FILTERS:
        from .device import use_device as use_tf_device

        return use_tf_device(requested)
    if filter_name == "fast":
        from .builtins.fast import use_device as use_fast_device

        return use_fast_device(requested)
    return requested


def run_job(job: Job, *, plugins: Plugins, listen: Listeners | None = None) -> JobOutcome:
    """:func:`execute`, its failures coming back as outcomes, never raised (a stop request
    too: ``stopped`` set). Ctrl-C (``KeyboardInterrupt``) passes through."""
    start = time.perf_counter()
    outcome = JobOutcome(key=job.key, ok=False, worker=f"{socket.gethostname()}:{os.getpid()}")
    try:
        outcome.output, outcome.metrics = execute(job, plugins, listen)
        outcome.ok = True
    except Exception as exc:  # noqa: BLE001 - every failure is an outcome
        outcome.error = error_line(exc)
        outcome.stopped = isinstance(exc, Cancelled)
    outcome.seconds = round(time.perf_counter() - start, 3)
    return outcome


@functools.cache
def worker_plugins(plugins_dirs: tuple[str, ...] = ()) -> Plugins:
    """The plugin facade of a worker process, built on its first job and kept, so its
    compiled models serve every later job (a worker is its own front-end)."""
    from .plugins import Plugins

    return Plugins.load(plugins_dirs)


def run_worker_job(job: Job, plugins_dirs: tuple[str, ...] = ()) -> JobOutcome:
    """What process executors run in a worker: :func:`run_job` with the worker's facade."""
    budget = os.environ.get(THREADS_ENV)  # e.g. given to a Dask worker by its user
    if budget and "tensorflow" not in sys.modules:
        if not budget.strip().isdigit():
            raise UsageError(f"${THREADS_ENV} must be a number of threads, got {budget!r}")
        set_thread_budget(int(budget))
    try:
        _worker_device(job.device, job.params.filter)
    except Exception as exc:  # noqa: BLE001 - e.g. --device gpu on a worker without one
        return JobOutcome(job.key, False, error=error_line(exc))
    return run_job(job, plugins=worker_plugins(plugins_dirs))


@functools.cache
def _worker_device(requested: str, filter_name: str) -> str:
    """``--device`` in a worker process, applied once (before its first job builds a model)."""
    return use_device(requested, filter_name)
