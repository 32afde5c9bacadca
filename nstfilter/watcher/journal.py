"""The job journal (``.nstfilter/journal.jsonl``): what the watcher was doing when killed.

Each step of a job is appended and ``fsync``'d *before* the step it announces is relied on:

``start``    the input, its identity (size, mtime, inode) and the names reserved for it
``output``   the result is durable in the outbox
``failing``  the job failed; the error and where the original will go
``done`` / ``failed`` / ``requeued``   the job is closed

Jobs never closed are finished on start-up (:meth:`.pipeline.Runner.resume`). Compaction
on start-up and every few thousand lines keeps only open jobs, so the file stays small.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..durable import JsonLines, read_records

CLOSING = ("done", "failed", "requeued")
COMPACT_EVERY = 5000


@dataclass
class JournalJob:
    """An open job: its steps so far and their records' fields merged (``source``,
    ``preset``, ``output``, ``processed``, ``identity``, then e.g. ``error``, ``dest``)."""

    id: str
    data: dict[str, Any]
    steps: list[str] = field(default_factory=lambda: ["start"])


class Journal:
    """Thread-safe: the workers record, recovery and ``process`` read the open jobs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = JsonLines(path)
        self._lock = self._file.lock
        self._open: dict[str, JournalJob] = {}
        self._lines = 0

    def load(self) -> list[JournalJob]:
        """Read the journal (tolerating a torn last line) and return the open jobs."""
        self._open.clear()
        for record in read_records(self.path):
            self._apply(record)
        return list(self._open.values())

    def _apply(self, record: dict[str, Any]) -> None:
        op, job_id = record.get("op"), record.get("id")
        if not job_id:
            return
        if op == "start":
            self._open[job_id] = JournalJob(job_id, dict(record))
        elif op in CLOSING:
            self._open.pop(job_id, None)
        elif job_id in self._open:
            self._open[job_id].steps.append(op)
            self._open[job_id].data.update({k: v for k, v in record.items() if k != "op"})

    def open_jobs(self) -> list[JournalJob]:
        with self._lock:
            return list(self._open.values())

    def start(self) -> None:
        """Compact, after :meth:`load` and recovery; appending opens the file again."""
        with self._lock:
            self._compact_locked()

    def close(self) -> None:
        self._file.close()

    def record(self, op: str, job_id: str, *, sync: bool = True, **fields: Any) -> None:
        """Append one step and ``fsync`` it; returns once it is on disk.

        ``sync=False`` only for records recovery can do without (the next synced record
        makes it durable anyway): it saves one ``fsync`` per job."""
        entry = {"op": op, "id": job_id, "t": round(time.time(), 3), **fields}
        with self._lock:
            self._apply(entry)
            self._file.append_locked(entry, sync=sync)
            self._lines += 1
            if self._lines >= COMPACT_EVERY:
                self._compact_locked()

    def _compact_locked(self) -> None:
        """Rewrite the journal with only the open jobs' records (atomic replace)."""
        lines = []
        for job in self._open.values():
            lines.append({**job.data, "op": "start", "id": job.id})
            lines += [{"op": step, "id": job.id} for step in job.steps[1:]]
        self._lines = self._file.rewrite_locked(lines)
