"""Where the styling of one file runs: ``compute(path, resolved, ext) -> (bytes, metrics)``.

Each file becomes a :class:`~nstfilter.jobspec.Job` for the one pipeline
(:func:`nstfilter.jobs.run_job`) on an executor from :func:`nstfilter.executors.
make_executor`: ``threads`` runs it inline in the watcher's own worker threads (by path,
with the watcher's facade; a long job logs how far it is), ``local`` and ``dask`` on other
processes or machines (as bytes, no shared folder); ``--workers N`` keeps N in flight.
Journal, durable writes and moves stay in the watcher process: crash safety is the same.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Cancelled, JobError
from ..eta import PeriodicLog
from ..jobspec import Job
from ..timeouts import timed_out
from .presetcache import Resolved

if TYPE_CHECKING:  # pragma: no cover
    from ..events import Progress
    from ..executors import Executor
    from ..plugins import Plugins

Compute = Callable[[Path, Resolved, str], tuple[bytes, dict[str, Any]]]

log = logging.getLogger("nstfilter.watch")

#: Seconds between progress lines of one in-process job (shorter jobs log none).
PROGRESS_EVERY = 30.0


def progress_log(job: Job) -> PeriodicLog:
    """A long job says how far it is (every 30 s: "photo.jpg: scale 2/3, ..., ETA")."""
    return PeriodicLog(job.input_name, log, every=PROGRESS_EVERY)


def progress_json(job: Job) -> Callable[[Progress], None]:
    """``--progress json``: one JSON line per step on standard error, naming the file."""

    def emit(event: Progress) -> None:
        record = {"event": "progress", "input": job.input_name, **event.as_dict()}
        print(json.dumps(record), file=sys.stderr, flush=True)

    return emit


#: ``--progress`` -> the callback of each in-process job (bar: jobs run side by side, so lines)
PROGRESS = {"auto": progress_log, "bar": progress_log, "log": progress_log,
            "json": progress_json, "none": None}  # fmt: skip


@dataclass
class OnExecutor:
    executor: Executor
    max_pixels: int | None
    should_stop: Callable[[], bool]
    by_path: bool = False  # in this process: the runner reads the file itself
    device: str = "auto"

    @property
    def description(self) -> str:
        return self.executor.description

    def __call__(self, path: Path, resolved: Resolved, ext: str) -> tuple[bytes, dict[str, Any]]:
        job = Job.from_files(path, preset=resolved.preset, input_name=path.name,
                             output_ext=ext, max_pixels=self.max_pixels,
                             by_path=self.by_path, device=self.device)  # fmt: skip
        future = self.executor.submit(job)
        while not future.done():
            if self.should_stop():
                future.cancel()
                raise Cancelled("shutting down")
            time.sleep(0.05)
        try:
            outcome = future.result()
        except TimeoutError:  # --job-timeout: the worker was stopped and replaced
            raise JobError(timed_out(getattr(self.executor, "timeout", 0) or 0)) from None
        if outcome.stopped and self.should_stop():
            raise Cancelled("shutting down")
        if not outcome.ok:
            raise JobError(outcome.error or "failed on the executor")
        return outcome.output, {**outcome.metrics, "worker": outcome.worker}

    def close(self) -> None:
        self.executor.close()


def make_compute(
    executor: str, plugins: Plugins, should_stop: Callable[[], bool], *, workers: int,
    max_pixels: int | None = None, progress: str = "auto", device: str = "auto",
    **options: Any,
) -> OnExecutor:  # fmt: skip
    """The watcher's executor (``options``: :func:`~nstfilter.executors.make_executor`'s);
    ``threads`` is the watcher's worker threads running each job inline, on ``device``
    (a worker process applies the job's)."""
    from ..executors import make_executor

    inline = executor == "threads"
    made = make_executor(  # threads with 0 workers: each job in the calling thread
        executor, workers=0 if inline else workers, plugins=plugins,
        should_stop=should_stop, progress=PROGRESS[progress], **options,
    )  # fmt: skip
    if inline:
        made.description = "in-process threads"
        if device != "auto":  # auto: TensorFlow's own choice, imported with the first job
            from ..jobs import use_device

            use_device(device, "neural-style")
    return OnExecutor(made, max_pixels, should_stop, by_path=inline, device=device)
