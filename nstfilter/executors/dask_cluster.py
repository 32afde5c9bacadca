"""The Dask executor: jobs on an existing Dask scheduler, or on a ``LocalCluster`` here.

Jobs travel as bytes inside the task and outcomes come back as bytes for the client to
write, so workers need nstfilter but no shared filesystem, presets or style folder. Dask
reschedules a dead worker's tasks on the others (``distributed.scheduler.allowed-failures``
times); ``retries`` catches only infrastructure errors, as ``run_job`` returns its own. A
worker without ``NSTFILTER_THREADS`` gets its host's cores divided by the worker threads on
that host, so ``dask worker --nworkers 2 --nthreads 1`` on 2 cores runs two 1-thread TFs.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError, error_line
from ..jobs import THREADS_ENV, Job, JobOutcome, run_worker_job, set_thread_budget, sha256
from . import Executor, thread_budget

log = logging.getLogger(__name__)


def _budget_if_unset(threads_by_worker: dict[str, int], dask_worker: Any) -> None:
    """Runs on each worker (before TensorFlow starts): its share of its host's cores."""
    if not os.environ.get(THREADS_ENV) and "tensorflow" not in sys.modules:
        set_thread_budget(thread_budget(threads_by_worker[dask_worker.address]))


def task_key(job: Job) -> str:
    """``nstfilter-<hash of the job key>-<unique>``: readable on the dashboard, unique
    per submission (a job submitted twice is two tasks), traceable to its job."""
    return f"nstfilter-{sha256(job.key.encode())[:16]}-{uuid.uuid4().hex[:8]}"


def dask_security(ca_file: str | None, cert: str | None, key: str | None) -> Any:
    """The client's TLS settings (``distributed.Security``) from ``--tls-ca-file/--tls-cert/
    --tls-key``, or ``None``: then Dask's own config, ``distributed.comm.tls.*``, applies."""
    given = {"tls_ca_file": ca_file, "tls_client_cert": cert, "tls_client_key": key}
    if not any(given.values()):
        return None
    for option, path in zip(("--tls-ca-file", "--tls-cert", "--tls-key"), given.values()):
        if path is not None and not Path(path).is_file():
            raise UsageError(f"{option}: no such file", path=path)
    if not (ca_file and cert):
        raise UsageError(
            "TLS needs --tls-ca-file and --tls-cert (and --tls-key unless in the cert)"
        )
    from distributed import Security

    return Security(**{k: v for k, v in given.items() if v}, require_encryption=True)


def checked(outcome: object, job: Job) -> JobOutcome:
    """``outcome`` if it is this job's :class:`JobOutcome`, else a failed one.

    Whoever can reach the scheduler can replace what a task returns; before the client
    writes anything it makes sure it got an outcome of the job it sent (the documented
    defence is a scheduler only trusted machines can reach, see docs/batch.md)."""
    if (
        isinstance(outcome, JobOutcome)
        and outcome.key == job.key
        and isinstance(outcome.output, (bytes, type(None)))
    ):
        return outcome
    kind = type(outcome).__name__
    log.warning("job %s: the cluster returned a %s, not its outcome", job.key, kind)
    why = "is the scheduler reachable by untrusted machines?"
    error = f"the Dask cluster returned a {kind}, not this job's outcome ({why})"
    return JobOutcome(key=job.key, ok=False, error=error)


class CheckedFuture:
    """A Dask future whose ``result()`` goes through :func:`checked` (the watcher's path)."""

    def __init__(self, future: Any, job: Job) -> None:
        self.future, self.job = future, job

    def __getattr__(self, name: str) -> Any:  # done, cancel, release, key...
        return getattr(self.future, name)

    def add_done_callback(self, fn: Any) -> None:
        self.future.add_done_callback(lambda _: fn(self))

    def result(self, timeout: float | None = None) -> JobOutcome:
        return checked(self.future.result(timeout), self.job)


class DaskExecutor(Executor):
    """Jobs as Dask tasks on an existing scheduler, or on a LocalCluster started here."""

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        workers: int | None = None,
        plugins_dirs: Sequence[str | Path] = (),
        retries: int = 2,
        window: int | None = None,
        timeout: float = 30,
        security: Any = None,
    ) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # an extra: most users never run a cluster
            raise UsageError("--executor dask needs Dask: pip install 'nstfilter[dask]'") from None
        self.retries = retries
        self._cluster = None
        self._plugins_dirs: tuple[str, ...] = ()  # a cluster's workers have their own
        if scheduler:
            try:  # security=None: Dask's own config (distributed.comm.tls.*) decides
                self.client = Client(scheduler, timeout=timeout, security=security)
            except (OSError, TimeoutError, TypeError, ValueError) as exc:  # TypeError: no TLS
                hint = (
                    " (a tls:// scheduler needs --tls-ca-file/--tls-cert or Dask's TLS config)"
                    if scheduler.startswith("tls://") and security is None
                    else ""
                )
                raise UsageError(
                    f"cannot reach the Dask scheduler at {scheduler}: {exc}{hint}"
                ) from None
            if workers:
                log.info("--workers is ignored with --scheduler: the cluster has its own workers")
        else:
            if security is not None:
                raise UsageError(
                    "the TLS options are for --scheduler (a LocalCluster is loopback only)"
                )
            self._plugins_dirs = tuple(str(Path(p).resolve()) for p in plugins_dirs)
            import dask

            # the statistical profiler samples every running thread's stack every 10 ms;
            # jobs are long and opaque to it, so it would only take the GIL from L-BFGS
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = LocalCluster(
                    host="127.0.0.1",  # never reachable from another machine, and
                    security=True,  # TLS with throw-away certificates: nor by other local users
                    n_workers=workers or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    env={THREADS_ENV: str(thread_budget(workers or 1))},
                )
            self.client = Client(self._cluster)
        nthreads = self.client.nthreads()
        hosts = self.client.run(socket.gethostname)
        per_host = Counter()
        for address, host in hosts.items():
            per_host[host] += nthreads.get(address, 1)
        self.client.run(_budget_if_unset, {a: per_host[h] for a, h in hosts.items()})
        threads = sum(nthreads.values())
        self.window = window or max(4, 2 * threads)
        where = scheduler or "LocalCluster"
        self.description = f"dask {where} ({len(nthreads)} workers, {threads} threads)"

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()

    def submit(self, job: Job) -> CheckedFuture:
        """One job as a Dask task; the future's ``result()`` is a checked :class:`JobOutcome`."""
        return CheckedFuture(self._start(job), job)

    def _start(self, job: Job) -> Any:
        return self.client.submit(
            run_worker_job, job, self._plugins_dirs, key=task_key(job), pure=False,
            retries=self.retries,
        )  # fmt: skip

    def _first_done(self, futures: list[Any]) -> Any:
        from concurrent.futures import CancelledError

        from distributed import wait

        try:
            return wait(futures, return_when="FIRST_COMPLETED").done
        except CancelledError:  # wait() raises for a cancelled task: that job fails alone
            return [future for future in futures if future.done()]

    def _outcome(self, job: Job, future: Any) -> JobOutcome:
        try:
            outcome = checked(future.result(), job)
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after many deaths
            outcome = JobOutcome(key=job.key, ok=False, error=error_line(exc))
        future.release()
        return outcome
