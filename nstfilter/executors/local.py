"""The local executor: a pool of worker processes on this machine (pebble's ``ProcessPool``).

Each worker is a fresh (``spawn``) Python process with its own TensorFlow, started with a
thread budget of ``cores // workers`` so the pool as a whole uses the machine's cores once.
Workers ignore Ctrl-C (the parent decides what happens to a batch) and live as long as the
pool, so each loads the backbone once; a worker whose parent was killed (``kill -9``) exits
on its own, as each pebble worker talks to the parent over a pipe of its own.

Why pebble: when a worker dies (killed, out of memory), the standard library's pool breaks
as a whole and cannot say which job killed it. Pebble replaces the dead worker and fails
*that job's* future with ``ProcessExpired``, so the job is retried alone, up to
``max_attempts`` times, and every other job is unaffected.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from ..errors import error_line
from ..jobs import Job, JobOutcome, run_worker_job, set_thread_budget
from . import thread_budget

log = logging.getLogger(__name__)


def _init_worker(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_thread_budget(threads)


class LocalExecutor:
    """``workers`` processes, each with ``threads`` TensorFlow threads."""

    def __init__(
        self,
        workers: int = 1,
        *,
        threads: int | None = None,
        plugins_dirs: Sequence[str | Path] = (),
        max_attempts: int = 3,
        window: int | None = None,
    ) -> None:
        self.workers = max(1, int(workers))
        self.threads = threads or thread_budget(self.workers)
        self.plugins_dirs = tuple(str(Path(p).resolve()) for p in plugins_dirs)
        self.max_attempts = max_attempts
        self.window = window or 2 * self.workers
        self.description = (
            f"{self.workers} local worker{'s' if self.workers > 1 else ''} "
            f"x {self.threads} thread{'s' if self.threads > 1 else ''}"
        )
        self._pool: ProcessPool | None = None

    @property
    def pool(self) -> ProcessPool:
        if self._pool is None:
            self._pool = ProcessPool(
                max_workers=self.workers,
                initializer=_init_worker,
                initargs=(self.threads,),
                context=multiprocessing.get_context("spawn"),
            )
        return self._pool

    def close(self) -> None:
        """Stop the workers; jobs still running are abandoned (their results are lost)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=10)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, job: Job) -> Future:
        """One job; the future's result is a :class:`JobOutcome`, or ``ProcessExpired``
        when its worker died (the pool replaces the worker; no retry here)."""
        return self.pool.schedule(run_worker_job, (job, self.plugins_dirs))

    def map_unordered(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, JobOutcome]]:
        """Outcomes as jobs finish; at most ``window`` jobs are read ahead and in flight.

        A job whose worker died is resubmitted; the ``max_attempts``-th death is reported
        as that job's failure, the others are unaffected.
        """
        source = iter(jobs)
        pending: dict[Future, Job] = {}
        deaths: dict[str, int] = {}
        while True:
            while len(pending) < self.window:
                job = next(source, None)
                if job is None:
                    break
                pending[self.submit(job)] = job
            if not pending:
                return
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    outcome = future.result()
                except ProcessExpired as exc:
                    deaths[job.key] = deaths.get(job.key, 0) + 1
                    if deaths[job.key] < self.max_attempts:
                        log.warning("a worker died running %s (%s); retrying", job.key, exc)
                        pending[self.submit(job)] = job
                        continue
                    message = f"worker process died {self.max_attempts} times running this job"
                    outcome = JobOutcome(key=job.key, ok=False, error=message)
                except Exception as exc:  # noqa: BLE001 - e.g. a job that cannot be pickled
                    outcome = JobOutcome(key=job.key, ok=False, error=error_line(exc))
                deaths.pop(job.key, None)
                yield job, outcome
