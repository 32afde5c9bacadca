"""The local executor: a pool of worker processes on this machine (pebble's ``ProcessPool``).

Each worker is a fresh (``spawn``) process with its own TensorFlow and ``cores // workers``
threads; it ignores Ctrl-C (the parent decides), loads the backbone once, and exits when its
parent is killed (each pebble worker has a pipe of its own to the parent). Unlike the
standard library's pool, which breaks as a whole when a worker dies, pebble fails only
*that job's* future with ``ProcessExpired``: that job alone is retried (``max_attempts``).
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from ..errors import error_line
from ..jobs import Job, JobOutcome, run_worker_job, set_thread_budget
from ..timeouts import timed_out
from . import Executor, thread_budget

log = logging.getLogger(__name__)


def _init_worker(threads: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_thread_budget(threads)


class LocalExecutor(Executor):
    """``workers`` processes, each with ``threads`` TensorFlow threads."""

    def __init__(
        self,
        workers: int = 1,
        *,
        threads: int | None = None,
        plugins_dirs: Sequence[str | Path] = (),
        max_attempts: int = 3,
        window: int | None = None,
        timeout: float | None = None,
    ) -> None:
        self.workers = max(1, int(workers))
        self.threads = threads or thread_budget(self.workers)
        self.plugins_dirs = tuple(str(Path(p).resolve()) for p in plugins_dirs)
        self.max_attempts = max_attempts
        self.timeout = timeout  # seconds per job (pebble stops the worker), None: no limit
        self.window = window or 2 * self.workers
        self.description = (
            f"{self.workers} local worker{'s' if self.workers > 1 else ''} "
            f"x {self.threads} thread{'s' if self.threads > 1 else ''}"
        )
        self._pool: ProcessPool | None = None
        self._deaths: Counter[str] = Counter()

    def close(self) -> None:
        """Stop the workers; jobs still running are abandoned (their results are lost)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.stop()
            pool.join(timeout=10)

    def _start(self, job: Job) -> Future:
        """The future's result is a :class:`JobOutcome`, or ``ProcessExpired`` when its
        worker died (the pool replaces the worker; :meth:`submit` does not retry)."""
        if self._pool is None:
            self._pool = ProcessPool(
                max_workers=self.workers,
                initializer=_init_worker,
                initargs=(self.threads,),
                context=multiprocessing.get_context("spawn"),
            )
        return self._pool.schedule(run_worker_job, (job, self.plugins_dirs), timeout=self.timeout)

    def _first_done(self, futures: list[Future]) -> set[Future]:
        return wait(futures, return_when=FIRST_COMPLETED).done

    def _outcome(self, job: Job, future: Future) -> JobOutcome | None:
        try:
            outcome = future.result()
        except TimeoutError:  # pebble stopped the worker; the pool starts another
            outcome = JobOutcome(key=job.key, ok=False, error=timed_out(self.timeout or 0))
        except ProcessExpired as exc:
            self._deaths[job.key] += 1
            if self._deaths[job.key] < self.max_attempts:
                log.warning("a worker died running %s (%s); retrying", job.key, exc)
                return None
            message = f"worker process died {self.max_attempts} times running this job"
            outcome = JobOutcome(key=job.key, ok=False, error=message)
        except Exception as exc:  # noqa: BLE001 - e.g. a job that cannot be pickled
            outcome = JobOutcome(key=job.key, ok=False, error=error_line(exc))
        self._deaths.pop(job.key, None)
        return outcome
