"""The Dask executor: jobs on a Dask distributed cluster.

``DaskExecutor(scheduler="tcp://HOST:PORT")`` connects to a running cluster (``dask
scheduler`` + ``dask worker`` on any number of machines); without a scheduler it starts a
``LocalCluster`` of ``workers`` single-threaded worker processes on this machine. Jobs
travel as bytes inside the task, outcomes come back as bytes, and the client writes them,
so workers need nstfilter installed but no shared filesystem, presets or style folder.

Fault tolerance is Dask's: when a worker dies, the scheduler reschedules the tasks it held
on the surviving workers (up to ``distributed.scheduler.allowed-failures`` times per task);
``retries`` covers exceptions raised in a task, which ``run_job`` already turns into failed
outcomes, so in practice it catches only infrastructure errors.

Thread budget: each worker process gets ``NSTFILTER_THREADS`` = cores on its host divided
by the worker threads on that host, unless the worker's environment already sets it, so a
``dask worker --nworkers 2 --nthreads 1`` on a 2-core box runs two 1-thread TensorFlows.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError, error_line
from ..jobs import THREADS_ENV, Job, JobOutcome, run_worker_job, set_thread_budget, sha256
from . import cpu_count, thread_budget

log = logging.getLogger(__name__)


def _worker_facts() -> dict[str, Any]:
    """Runs on a worker: its host, cores and whether a thread budget is already set."""
    import socket

    return {
        "host": socket.gethostname(),
        "cores": cpu_count(),
        "budget": os.environ.get(THREADS_ENV),
    }


def _set_budget_if_unset(threads: int) -> bool:
    """Runs on a worker: apply a thread budget unless one is set (or TF already started)."""
    import sys

    if os.environ.get(THREADS_ENV) or "tensorflow" in sys.modules:
        return False
    set_thread_budget(threads)
    return True


def task_key(job: Job) -> str:
    """``nstfilter-<hash of the job key>-<unique>``: readable on the dashboard, unique
    per submission (a job submitted twice is two tasks), traceable to its job."""
    return f"nstfilter-{sha256(job.key.encode())[:16]}-{uuid.uuid4().hex[:8]}"


def dask_security(
    ca_file: str | None, cert: str | None, key: str | None
) -> Any:  # distributed.Security | None
    """The client's TLS settings from ``--tls-ca-file/--tls-cert/--tls-key``, or ``None``
    (then Dask's own config, ``distributed.comm.tls.*``, applies as usual)."""
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
    return JobOutcome(
        key=job.key,
        ok=False,
        error=f"the Dask cluster returned a {kind}, not this job's outcome "
        "(is the scheduler reachable by untrusted machines?)",
    )


class CheckedFuture:
    """A Dask future whose ``result()`` goes through :func:`checked` (the watcher's path)."""

    def __init__(self, future: Any, job: Job) -> None:
        self.future, self.job = future, job

    @property
    def key(self) -> str:
        return self.future.key

    def done(self) -> bool:
        return self.future.done()

    def cancel(self) -> Any:
        return self.future.cancel()

    def release(self) -> None:
        self.future.release()

    def add_done_callback(self, fn: Any) -> None:
        self.future.add_done_callback(lambda _: fn(self))

    def result(self, timeout: float | None = None) -> JobOutcome:
        return checked(self.future.result(timeout), self.job)


class DaskExecutor:
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
        if scheduler:
            try:
                # security=None: Dask's own config (distributed.comm.tls.*) decides
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
            where = scheduler
        else:
            if security is not None:
                raise UsageError(
                    "the TLS options are for --scheduler (a LocalCluster is loopback only)"
                )
            n = workers or 1
            env = {THREADS_ENV: str(thread_budget(n))}
            if plugins_dirs:
                env["NSTFILTER_PLUGINS_DIR"] = os.pathsep.join(
                    str(Path(p).resolve()) for p in plugins_dirs
                )
            import dask

            # the statistical profiler samples every running thread's stack every 10 ms;
            # jobs are long and opaque to it, so it would only take the GIL from L-BFGS
            with dask.config.set({"distributed.worker.profile.enabled": False}):
                self._cluster = LocalCluster(
                    host="127.0.0.1",  # never reachable from another machine, and
                    security=True,  # TLS with throw-away certificates: nor by other local users
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                    env=env,
                )
            self.client = Client(self._cluster)
            where = "LocalCluster"
        self._budget_workers()
        threads = sum(self.client.nthreads().values())
        self.window = window or max(4, 2 * threads)
        self.description = (
            f"dask {where} ({len(self.client.nthreads())} workers, {threads} threads)"
        )

    def _budget_workers(self) -> None:
        """Give workers that have no ``NSTFILTER_THREADS`` a budget for their host."""
        facts = self.client.run(_worker_facts)
        nthreads = self.client.nthreads()
        per_host: dict[str, int] = {}
        for address, fact in facts.items():
            per_host[fact["host"]] = per_host.get(fact["host"], 0) + nthreads.get(address, 1)
        for address, fact in facts.items():
            if fact["budget"]:
                continue
            budget = thread_budget(per_host[fact["host"]], fact["cores"])
            self.client.run(_set_budget_if_unset, budget, workers=[address])

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, job: Job) -> CheckedFuture:
        """One job as a Dask task; the future's ``result()`` is a checked :class:`JobOutcome`."""
        return CheckedFuture(self._submit(job), job)

    def _submit(self, job: Job) -> Any:
        return self.client.submit(
            run_worker_job,  # the worker's own plugin facade (NSTFILTER_PLUGINS_DIR there)
            job,
            key=task_key(job),
            pure=False,
            retries=self.retries,
        )

    def map_unordered(self, jobs: Iterable[Job]) -> Iterator[tuple[Job, JobOutcome]]:
        """Outcomes as tasks finish, keeping ``window`` tasks on the cluster at a time."""
        from distributed import as_completed

        source = iter(jobs)
        pending: dict[str, Job] = {}
        queue = as_completed()
        for job in source:
            future = self._submit(job)
            pending[future.key] = job
            queue.add(future)
            if len(pending) >= self.window:
                break
        for future in queue:
            job = pending.pop(future.key)
            try:
                outcome = checked(future.result(), job)
            except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker after many deaths
                outcome = JobOutcome(key=job.key, ok=False, error=error_line(exc))
            future.release()
            yield job, outcome
            following = next(source, None)
            if following is not None:
                nxt = self._submit(following)
                pending[nxt.key] = following
                queue.add(nxt)
