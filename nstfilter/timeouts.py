"""The per-job time limit of batch and watch (``--job-timeout``, off by default).

Plugins are trusted code, but a stuck one (or a filter that never ends) must not hold a
batch or a service hostage: a job past its limit fails alone, with this line, and the
worker process running it is stopped and replaced (pebble's per-task timeout). Only a
process can be stopped mid-job, so the limit needs ``--executor local``: a thread cannot be
killed, and a Dask task cannot be interrupted once it runs.
"""

from __future__ import annotations

from .errors import UsageError
from .params import Setting

#: ``--job-timeout SECONDS``: finite, above zero, at most 30 days.
JOB_TIMEOUT = Setting(
    section="", kind=float, low=0.0, low_open=True, high=30 * 86400.0,
    help="seconds one job may take",
)  # fmt: skip


def check_executor(executor: str, seconds: float | None) -> None:
    """Refuse a time limit the executor cannot enforce, before any job starts."""
    if seconds and executor != "local":
        raise UsageError(
            f"--job-timeout needs --executor local: a job on {executor} cannot be stopped "
            "once it runs"
        )


def timed_out(seconds: float) -> str:
    """The one-line error of a job stopped at its limit."""
    return (
        f"stopped after {seconds:g} s, the job time limit (--job-timeout): a slow image, or "
        "a filter or plugin stuck"
    )
