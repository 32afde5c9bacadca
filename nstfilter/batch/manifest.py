"""The batch manifest: ``OUTDIR/manifest.jsonl``, append-only, one JSON object per line.

Each finished job appends one record (``key``, ``input``, ``input_hash``, ``preset``,
``preset_hash``, ``output``, ``status``, ``seconds``, ``error``, final losses...) *after*
its output file is durable, with ``flush`` + ``fsync``, so killing a batch at any moment
loses at most the jobs in flight: a result without a record is simply redone. The last
record of a key wins; a torn last line (the kill came mid-write) is ignored. Each run
starts with a ``{"run": ...}`` line, which makes the history of runs readable.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from ..durable import JsonLines, read_records

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
DONE = "done"
FAILED = "failed"


class Manifest:
    """Read the state of earlier runs and append this run's records."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / MANIFEST_NAME
        self.records: dict[str, dict[str, Any]] = {}
        self._file = JsonLines(self.path)
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

    def append(self, record: dict[str, Any]) -> None:
        with self._file.lock:
            self._file.append_locked({**record, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
            if "key" in record:
                self.records[record["key"]] = record

    def start_run(self, **info: Any) -> None:
        self.append({"run": time.strftime("%Y-%m-%dT%H:%M:%S"), **info})

    def close(self) -> None:
        self._file.close()
