"""A JSON-lines job log for the watcher and batch front-ends.

Enabled by setting ``NSTFILTER_JOB_LOG`` to a file path (front-ends set it to their state
folder). One line per finished or failed job, appended and flushed, so ``tail -f`` and log
shippers can follow it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

from ..hookspecs import hookimpl

JOB_LOG_ENV = "NSTFILTER_JOB_LOG"
_lock = threading.Lock()


def _append(record: dict[str, Any]) -> None:
    path = os.environ.get(JOB_LOG_ENV)
    if not path:
        return
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **record}
    line = json.dumps(record, default=str)
    with _lock, open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


@hookimpl
def nstfilter_job_done(job: dict[str, Any], result: dict[str, Any]) -> None:
    _append({"status": "done", **job, **result})


@hookimpl
def nstfilter_job_failed(job: dict[str, Any], error: str) -> None:
    _append({"status": "failed", **job, "error": error})
