"""A JSON-lines job log: a plugin object (so two watchers in one process each log to their
own file) that the watcher and, with ``$NSTFILTER_JOB_LOG``, batch register. One whole line
per finished or failed job, so ``tail -f`` and log shippers can follow it."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from ..durable import append_line
from ..hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from ..jobspec import JobReport
    from ..plugins import Plugins

JOB_LOG_ENV = "NSTFILTER_JOB_LOG"
NAME = "joblog"  # its plugin name: NSTFILTER_DISABLE_PLUGINS=joblog turns it off


def chosen_path() -> Path | None:
    """The file the user chose with ``$NSTFILTER_JOB_LOG``, if any."""
    value = os.environ.get(JOB_LOG_ENV)
    return Path(value) if value else None


@contextlib.contextmanager
def logging_jobs(plugins: Plugins, front_end: str, default: Path | None = None) -> Iterator[None]:
    """A job log on ``plugins`` for one run of a front-end: ``$NSTFILTER_JOB_LOG``, else
    ``default`` (``None``: no log); removed when the run ends."""
    path = chosen_path() or default
    if path is not None:
        plugins.register(JobLog(path), NAME, source=f"{front_end} job log")
    try:
        yield
    finally:
        if path is not None and plugins.pm.has_plugin(NAME):
            plugins.unregister(NAME)


class JobLog:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _append(self, status: str, job: JobReport) -> None:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "status": status, **job.as_dict()}
        append_line(self.path, record, sync=False)

    @hookimpl
    def nstfilter_job_done(self, job: JobReport) -> None:
        self._append("done", job)

    @hookimpl
    def nstfilter_job_failed(self, job: JobReport) -> None:
        self._append("failed", job)
