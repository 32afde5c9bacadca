"""The local executor: a pool of worker processes on this machine.

Each worker is a fresh (``spawn``) Python process with its own TensorFlow, started with a
thread budget of ``cores // workers`` so the pool as a whole uses the machine's cores once.
Workers ignore Ctrl-C (the parent decides what happens to a batch) and live as long as the
pool, so each loads the backbone once. If a worker process dies (killed, out of memory),
Python's pool breaks as a whole: the jobs that were in flight are resubmitted to a new pool,
each at most ``max_attempts`` times before it is reported as failed.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..jobs import Job, JobOutcome, error_line, run_job, set_thread_budget
from . import thread_budget

log = logging.getLogger(__name__)


def _exit_with_parent(parent: int) -> None:
    """A worker whose batch was killed (``kill -9``) would wait forever on the job queue,
    whose write end the other workers hold: leave as soon as the parent is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _init_worker(threads: int, plugins_dirs: tuple[str, ...]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True
    ).start()
    set_thread_budget(threads)
    if plugins_dirs:
        from ..plugins import build_plugin_manager, set_plugin_manager

        set_plugin_manager(build_plugin_manager(plugins_dirs))


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
        self._pool: ProcessPoolExecutor | None = None

    # --- pool life cycle ---------------------------------------------------------------

    @property
    def pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self.threads, self.plugins_dirs),
            )
        return self._pool

    def _discard_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            _terminate(pool)

    def close(self) -> None:
        """Stop the workers; jobs still running are abandoned (their results are lost)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
            _terminate(pool)

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- running jobs ------------------------------------------------------------------

    def submit(self, job: Job) -> Future:
        """One job; the future's result is a :class:`JobOutcome` (no retry on a dead pool).

        A pool broken by an earlier worker death (whose job's future already carried the
        error) is replaced first, so one crash does not fail every later job of a
        long-running caller such as the watcher.
        """
        try:
            return self.pool.submit(run_job, job)
        except BrokenProcessPool:
            log.warning("a worker process died earlier; starting a new pool")
            self._discard_pool()
            return self.pool.submit(run_job, job)

    def _submit(self, job: Job) -> Future:
        """Submit to the pool; a pool that broke since the last look (a worker died while
        outcomes were being collected) yields a failed future, so the caller's one recovery
        path handles it instead of an exception escaping mid-loop."""
        try:
            return self.pool.submit(run_job, job)
        except BrokenProcessPool as exc:
            future: Future = Future()
            future.set_exception(exc)
            return future

    def map_unordered(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, JobOutcome]]:
        """Outcomes as jobs finish; at most ``window`` jobs are read ahead and in flight.

        When a worker dies, the pool breaks and every job in flight is lost without saying
        which one was the culprit. Those jobs are then re-run one at a time (*isolated*),
        so a death during an isolated run is blamed on exactly that job; a job blamed
        ``max_attempts`` times is reported as failed, the others are unaffected.
        """
        source = iter(jobs)
        suspects: deque[Job] = deque()
        blame: dict[str, int] = {}
        pending: dict[Future, Job] = {}
        exhausted = False
        while True:
            isolated = False
            if suspects:
                if not pending:
                    job = suspects.popleft()
                    pending[self._submit(job)] = job
                    isolated = True
            else:
                while len(pending) < self.window and not exhausted:
                    job = next(source, None)
                    if job is None:
                        exhausted = True
                        break
                    pending[self._submit(job)] = job
            if not pending:
                return
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            lost: list[Job] = []
            for future in done:
                job = pending.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    lost.append(job)
                    continue
                except Exception as exc:  # noqa: BLE001 - e.g. a job that cannot be pickled
                    outcome = JobOutcome(key=job.key, ok=False, error=error_line(exc))
                blame.pop(job.key, None)
                yield job, outcome
            if not lost:
                continue
            log.warning("a worker process died; restarting the pool and retrying its jobs")
            finished = {f: j for f, j in pending.items() if f.done() and not f.exception()}
            lost += [j for f, j in pending.items() if f not in finished]
            pending = finished  # completed before the pool broke: collected next round
            self._discard_pool()
            if isolated:
                job = lost[0]
                blame[job.key] = blame.get(job.key, 0) + 1
                if blame[job.key] >= self.max_attempts:
                    blame.pop(job.key)
                    yield (
                        job,
                        JobOutcome(
                            key=job.key,
                            ok=False,
                            error=f"worker process died {self.max_attempts} times running this job",
                        ),
                    )
                else:
                    suspects.appendleft(job)
            else:
                suspects.extend(lost)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Kill a pool's worker processes (Python < 3.14 has no public way to do it)."""
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        if process.is_alive():
            process.terminate()
    for process in list(processes.values()):
        process.join(timeout=5)
    pool.shutdown(wait=False, cancel_futures=True)
