"""Executors: where jobs run (``local``: :mod:`.local`, ``dask``: :mod:`.dask_cluster`).

An executor takes :class:`~nstfilter.jobs.Job` objects and gives back
:class:`~nstfilter.jobs.JobOutcome` objects; it never touches the output folder (the caller
writes results, so remote workers need no shared filesystem). ``submit(job)`` gives a
future, for the watcher; ``map_unordered(jobs)``, for batch, reads ``jobs`` lazily and keeps
a small window in flight, so memory stays flat for any batch size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

from ..errors import UsageError
from ..jobs import Job, JobOutcome

EXECUTORS = ("local", "dask")


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


def make_executor(
    kind: str = "local",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    plugins_dirs: Sequence[str | Path] = (),
    security: Any = None,
    job_timeout: float | None = None,
) -> Executor:
    """The executor named ``kind`` (``local`` or ``dask``); ``job_timeout`` seconds fail a
    job that runs longer (local only: :mod:`nstfilter.timeouts`)."""
    from ..timeouts import check_executor

    check_executor(kind, job_timeout)
    if kind == "local":
        if scheduler:
            raise UsageError("--scheduler needs --executor dask")
        from .local import LocalExecutor

        return LocalExecutor(workers=workers or 1, plugins_dirs=plugins_dirs, timeout=job_timeout)
    if kind == "dask":
        from .dask_cluster import DaskExecutor

        return DaskExecutor(
            scheduler=scheduler, workers=workers, plugins_dirs=plugins_dirs, security=security
        )
    raise UsageError(f"unknown executor {kind!r}; choose from {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "cpu_count", "make_executor", "thread_budget"]
