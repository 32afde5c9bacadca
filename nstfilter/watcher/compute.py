"""Where the styling of one file runs: ``compute(path, resolved, ext) -> (bytes, metrics)``.

:class:`InProcess` (``--executor threads``): the worker threads run the filter, the
engine's compiled objectives cached once per process. :class:`OnExecutor` (``local`` /
``dask``): each file a picklable :class:`~nstfilter.jobs.Job` for a process pool or a Dask
cluster (other cores or machines, no shared folder); ``--workers N`` keeps N in flight.
Journal, durable writes and moves stay in the watcher process: crash safety is the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Cancelled, JobError, UsageError
from ..eta import PeriodicLog
from ..imageio import FORMATS, encode_image, load_image
from ..timeouts import timed_out
from .presetcache import Resolved

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins
    from .service import WatchOptions

Compute = Callable[[Path, Resolved, str], tuple[bytes, dict[str, Any]]]

log = logging.getLogger("nstfilter.watch")

#: Seconds between progress lines of one in-process job (shorter jobs log none).
PROGRESS_EVERY = 30.0


@dataclass
class InProcess:
    plugins: Plugins
    max_pixels: int | None
    should_stop: Callable[[], bool]
    description = "in-process threads"

    def __call__(self, path: Path, resolved: Resolved, ext: str) -> tuple[bytes, dict[str, Any]]:
        from ..api import run_filter  # late: keeps `watch --help` free of TensorFlow
        from ..video import is_clip

        if is_clip(path):  # a video or an animated GIF/WebP: the clip job, resumable
            from ..video.job import style_clip_data

            styles = [(loaded.rgb, weight) for loaded, weight in resolved.styles]
            return style_clip_data(
                path, path.name, styles, resolved.preset.params, ext=ext,
                plugins=self.plugins, max_pixels=self.max_pixels, should_stop=self.should_stop,
            )  # fmt: skip
        result = run_filter(
            load_image(path, max_pixels=self.max_pixels),
            resolved.styles,
            resolved.preset.params,
            plugins=self.plugins,
            should_stop=self.should_stop,
            # a long job says how far it is (every 30 s: "photo.jpg: scale 2/3, ..., ETA")
            callback=PeriodicLog(path.name, log, every=PROGRESS_EVERY),
        )
        data = encode_image(result.image, FORMATS[ext], quality=resolved.preset.quality)
        return data, dict(result.metrics)

    def close(self) -> None:
        pass


@dataclass
class OnExecutor:
    executor: Any
    max_pixels: int | None
    should_stop: Callable[[], bool]

    @property
    def description(self) -> str:
        return self.executor.description

    def __call__(self, path: Path, resolved: Resolved, ext: str) -> tuple[bytes, dict[str, Any]]:
        from ..jobs import Job

        job = Job.from_files(path, preset=resolved.preset, input_name=path.name,
                             output_ext=ext, max_pixels=self.max_pixels)  # fmt: skip
        future = self.executor.submit(job)
        while not future.done():
            if self.should_stop():
                future.cancel()
                raise Cancelled("shutting down")
            time.sleep(0.05)
        try:
            outcome = future.result()
        except TimeoutError:  # --job-timeout: the worker was stopped and replaced
            raise JobError(timed_out(self.executor.timeout)) from None
        if not outcome.ok:
            raise JobError(outcome.error or "failed on the executor")
        return outcome.output, {**outcome.metrics, "worker": outcome.worker}

    def close(self) -> None:
        self.executor.close()


def make_compute(
    options: WatchOptions, plugins: Plugins, should_stop: Callable[[], bool]
) -> InProcess | OnExecutor:
    """In-process threads, or an executor from ``nstfilter.executors`` (issue 6)."""
    if options.executor == "threads":
        if options.scheduler:
            raise UsageError("--scheduler needs --executor dask")
        return InProcess(plugins, options.max_pixels, should_stop)
    from ..executors import make_executor

    executor = make_executor(
        options.executor, workers=options.workers, scheduler=options.scheduler,
        plugins_dirs=options.plugins_dirs, job_timeout=options.job_timeout,
    )  # fmt: skip
    return OnExecutor(executor, options.max_pixels, should_stop)
