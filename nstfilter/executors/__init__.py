"""Executors: where jobs run. Same interface whether on this machine or on a Dask cluster.

An executor takes :class:`~nstfilter.jobs.Job` objects and gives back
:class:`~nstfilter.jobs.JobOutcome` objects; it never touches the output folder (the caller
writes results, so remote workers need no shared filesystem). Two are built in:

- ``local`` (:class:`~nstfilter.executors.local.LocalExecutor`): a pool of worker
  processes on this machine, each with its own TensorFlow and a thread budget so that N
  workers share the cores instead of oversubscribing them; a worker that dies has its jobs
  retried in a fresh pool.
- ``dask`` (:class:`~nstfilter.executors.dask_cluster.DaskExecutor`): an existing Dask
  distributed scheduler (``tcp://HOST:PORT``), or a ``LocalCluster`` started on the spot;
  jobs killed with their worker are rescheduled by Dask on the surviving workers.

Both offer ``submit(job)`` (a future with ``result()`` and ``add_done_callback``), which the
watcher uses, and ``map_unordered(jobs)``, which batch uses: it consumes ``jobs`` lazily and
keeps only a small window in flight, so memory stays flat for any batch size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ..errors import UsageError
from ..jobs import Job, JobOutcome

EXECUTORS = ("local", "dask")


class Executor(Protocol):
    """Runs jobs somewhere and returns their outcomes."""

    description: str

    def submit(self, job: Job) -> Any: ...

    def map_unordered(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, JobOutcome]]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Executor: ...

    def __exit__(self, *exc: object) -> None: ...


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
) -> Executor:
    """The executor named ``kind`` (``local`` or ``dask``)."""
    if kind == "local":
        if scheduler:
            raise UsageError("--scheduler needs --executor dask")
        from .local import LocalExecutor

        return LocalExecutor(workers=workers or 1, plugins_dirs=plugins_dirs)
    if kind == "dask":
        from .dask_cluster import DaskExecutor

        return DaskExecutor(
            scheduler=scheduler, workers=workers, plugins_dirs=plugins_dirs, security=security
        )
    raise UsageError(f"unknown executor {kind!r}; choose from {', '.join(EXECUTORS)}")


__all__ = ["EXECUTORS", "Executor", "cpu_count", "make_executor", "thread_budget"]
