"""Where the styling of one file runs: ``compute(path, resolved, ext) -> (bytes, metrics)``.

Each file becomes a :class:`~nstfilter.jobspec.Job` for the one pipeline
(:func:`nstfilter.jobs.run_job`) on an executor from :func:`nstfilter.executors.
make_executor`: ``threads`` runs it inline in the watcher's own worker threads (by path,
with the watcher's facade; a long job logs how far it is, a clip frame by frame, encoded
straight into the outbox), ``local`` and ``dask`` on other processes or machines (as bytes,
no shared folder); ``--workers N`` keeps N in flight.
Journal, durable writes and moves stay in the watcher process: crash safety is the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Cancelled, JobError
from ..eta import job_progress
from ..jobspec import Job
from ..timeouts import timed_out
from ..video import is_clip
from .presetcache import Resolved

if TYPE_CHECKING:  # pragma: no cover
    from ..executors import Executor
    from ..plugins import Plugins

#: ``compute(photo, preset, result) -> (bytes, metrics)``; ``None`` for bytes: the job wrote
#: ``result`` itself (a clip run in this process, encoded frame by frame into the outbox).
Compute = Callable[[Path, Resolved, Path], tuple[bytes | None, dict[str, Any]]]

log = logging.getLogger("nstfilter.watch")

#: Seconds between progress lines of one in-process job (shorter jobs log none).
PROGRESS_EVERY = 30.0


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

    def __call__(
        self, path: Path, resolved: Resolved, output: Path
    ) -> tuple[bytes | None, dict[str, Any]]:
        clip_here = self.by_path and is_clip(path)  # streamed from the inbox to the outbox
        job = Job.from_files(path, preset=resolved.preset, input_name=path.name,
                             output_ext=output.suffix, max_pixels=self.max_pixels,
                             by_path=self.by_path, device=self.device,
                             target=str(output) if clip_here else None)  # fmt: skip
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

    inline = executor == "threads"  # the watcher's own threads: each job inline in one
    made = make_executor(
        "inline" if inline else executor, workers=workers, plugins=plugins,
        should_stop=should_stop, progress=job_progress(progress, log, PROGRESS_EVERY), **options,
    )  # fmt: skip
    if inline:
        made.description = "in-process threads"
        if device != "auto":  # auto: TensorFlow's own choice, imported with the first job
            from ..jobs import use_device

            use_device(device, "neural-style")
    return OnExecutor(made, max_pixels, should_stop, by_path=inline, device=device)
