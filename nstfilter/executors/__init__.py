"""Executors: where jobs run. ``inline``: in the caller's thread; ``threads``: a pool of
threads in this process (:class:`InProcess`, the front-end's own plugin facade); ``local``:
worker processes (:mod:`.local`); ``dask``: a Dask cluster (:mod:`.dask_cluster`). All run
the one pipeline, :func:`nstfilter.jobs.run_job`; :func:`make_executor` makes any of them.

An executor takes :class:`~nstfilter.jobspec.Job` objects and gives back
:class:`~nstfilter.jobspec.JobOutcome` objects; it never touches the output folder (the caller
writes results, so remote workers need no shared filesystem). ``submit(job)`` gives a
future, for the watcher; ``map_unordered(jobs)``, for batch, reads ``jobs`` lazily and keeps
a small window in flight, so memory stays flat for any batch size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UsageError
from ..jobspec import Job, JobOutcome

if TYPE_CHECKING:  # pragma: no cover
    from ..events import Progress
    from ..plugins import Plugins

#: Where jobs run: in the caller (apply), threads here, processes here, a Dask cluster.
EXECUTORS = ("inline", "threads", "local", "dask")
#: What ``--executor`` offers (inline is what apply does; batch and watch default to threads).
CHOICES = EXECUTORS[1:]
DEFAULT = "threads"


class Executor(Protocol):
    """Runs jobs somewhere; the built-in ones subclass it for ``map_unordered`` and ``with``."""

    description: str
    window: int  # jobs read ahead and in flight

    def _start(self, job: Job) -> Any: ...  # a future of the job

    def _first_done(self, futures: list[Any]) -> Iterable[Any]: ...  # waits for one at least

    def _outcome(self, job: Job, future: Any) -> JobOutcome | None: ...  # None: run it again

    def submit(self, job: Job) -> Any:
        return self._start(job)

    def map_unordered(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, JobOutcome]]:
        source = iter(jobs)
        pending: dict[Any, Job] = {}
        while True:
            for job in islice(source, self.window - len(pending)):
                pending[self._start(job)] = job
            if not pending:
                return
            for future in self._first_done(list(pending)):
                job = pending.pop(future)
                outcome = self._outcome(job, future)
                if outcome is None:
                    pending[self._start(job)] = job
                else:
                    yield job, outcome

    def close(self) -> None: ...

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cpu_count() -> int:
    """Cores this process may use (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def thread_budget(workers: int, cores: int | None = None) -> int:
    """Threads per worker so that ``workers`` workers fill ``cores`` without oversubscribing."""
    return max(1, (cores or cpu_count()) // max(1, workers))


class InProcess(Executor):
    """``inline`` (``workers=0``: each job runs when submitted, in the caller's thread) or
    ``threads``: jobs run in this process with the front-end's facade, so its compiled models
    serve every job, progress reaches its plugins and a stop request ends a job at once."""

    def __init__(
        self,
        plugins: Plugins,
        workers: int = 0,
        *,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[Job], Callable[[Progress], None] | None] | None = None,
    ) -> None:
        self.plugins, self.should_stop, self.progress = plugins, should_stop, progress
        self.window = max(1, workers)
        self._pool = ThreadPoolExecutor(workers, "nstfilter-job") if workers else None
        self.description = (
            f"{workers} thread{'s' if workers > 1 else ''} in this process" if workers else "inline"
        )

    def run(self, job: Job) -> JobOutcome:
        from ..jobs import Listeners, run_job

        callback = self.progress(job) if self.progress else None
        return run_job(job, plugins=self.plugins, listen=Listeners(callback, self.should_stop))

    def _start(self, job: Job) -> Future:
        if self._pool is not None:
            return self._pool.submit(self.run, job)
        future: Future = Future()
        future.set_result(self.run(job))
        return future

    def _first_done(self, futures: list[Future]) -> set[Future]:
        return wait(futures, return_when=FIRST_COMPLETED).done

    def _outcome(self, job: Job, future: Future) -> JobOutcome:
        return future.result()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def check_options(kind: str, *, scheduler: str | None, job_timeout: float | None) -> None:
    """Refuse options the executor ``kind`` cannot honour, before any work (front-ends call
    it up front; :func:`make_executor` again)."""
    from ..timeouts import check_executor

    if scheduler and kind != "dask":
        raise UsageError("--scheduler needs --executor dask")
    check_executor(kind, job_timeout)


def make_executor(
    kind: str = DEFAULT,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    plugins_dirs: Sequence[str | Path] = (),
    security: Any = None,
    job_timeout: float | None = None,
    plugins: Plugins | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[Job], Callable[[Progress], None] | None] | None = None,
) -> Executor:
    """The executor named ``kind`` (:data:`EXECUTORS`), the one place its options are
    checked; ``job_timeout`` seconds fail a job that runs longer (local only:
    :mod:`nstfilter.timeouts`). ``plugins``, ``should_stop`` and ``progress`` (a callback per
    job) serve the in-process kinds; process workers load their own plugins."""
    check_options(kind, scheduler=scheduler, job_timeout=job_timeout)
    if kind in ("inline", "threads"):
        if plugins is None:
            from ..jobs import worker_plugins

            plugins = worker_plugins(tuple(map(str, plugins_dirs)))
        count = 0 if kind == "inline" else 1 if workers is None else workers  # 0: inline
        return InProcess(plugins, count, should_stop=should_stop, progress=progress)
    if kind == "local":
        from .local import LocalExecutor

        return LocalExecutor(workers=workers or 1, plugins_dirs=plugins_dirs, timeout=job_timeout)
    if kind == "dask":
        from .dask_cluster import DaskExecutor

        return DaskExecutor(
            scheduler=scheduler, workers=workers, plugins_dirs=plugins_dirs, security=security
        )
    raise UsageError(f"unknown executor {kind!r}; choose from {', '.join(EXECUTORS)}")


__all__ = [
    "CHOICES", "DEFAULT", "EXECUTORS", "Executor", "InProcess", "check_options", "cpu_count",
    "make_executor",
    "thread_budget",
]  # fmt: skip
