"""The batch manifest: ``OUTDIR/manifest.jsonl``, append-only, one JSON object per line.

Each finished job appends one record (``key``, ``input``, ``input_hash``, ``preset``,
``preset_hash``, ``output``, ``status``, ``seconds``, ``error``, final losses...) *after*
its output file is durable, with ``flush`` + ``fsync``, so killing a batch at any moment
loses at most the jobs in flight: a result without a record is simply redone. The last
record of a key wins; a torn last line (the kill came mid-write) is ignored. Each run
starts with a ``{"run": ...}`` line, which makes the history of runs readable.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import OutputError
from ..jsonlines import read_records

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
DONE = "done"
FAILED = "failed"


class Manifest:
    """Read the state of earlier runs and append this run's records."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / MANIFEST_NAME
        self.records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._handle = None
        self._load()

    def _load(self) -> None:
        for record in read_records(self.path):
            if "key" in record:
                self.records[record["key"]] = record

    def is_done(self, key: str, input_hash: str, preset_hash: str, output: Path) -> bool:
        """Finished earlier with the same input and preset, and the output still exists."""
        record = self.records.get(key)
        return (
            record is not None
            and record.get("status") == DONE
            and record.get("input_hash") == input_hash
            and record.get("preset_hash") == preset_hash
            and output.is_file()
        )

    def _open(self):
        if self._handle is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise OutputError(f"cannot write: {exc.strerror or exc}", path=self.path) from None
            if self._handle.tell() > 0:
                self._repair_tail()
        return self._handle

    def _repair_tail(self) -> None:
        """Start on a fresh line if the last run was killed in the middle of one."""
        with open(self.path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                self._handle.write("\n")

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps({**record, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}, default=str)
        with self._lock:
            handle = self._open()
            handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            if "key" in record:
                self.records[record["key"]] = record

    def start_run(self, **info: Any) -> None:
        self.append({"run": time.strftime("%Y-%m-%dT%H:%M:%S"), **info})

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None
