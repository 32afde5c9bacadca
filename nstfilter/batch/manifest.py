"""The batch manifest: ``OUTDIR/manifest.jsonl``, append-only, one JSON object per line.

A job's record is appended *after* its output file is durable, so a kill at any moment
loses at most the jobs in flight (a result without a record is redone). The last record of
a key wins; a line torn by a kill is skipped with a warning and compacted away by the next
run's first write. Each run starts with a ``{"run": ...}`` line.

One batch at a time per output folder: the manifest holds ``.nstfilter-batch.lock`` from
reading the history to :meth:`Manifest.close` (two batches would both redo every job and
write two records for each). A record is data someone could edit: its ``output`` is
trusted only as the name this batch would give the job, inside the output folder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from ..durable import JsonLines, failing_as, held_lock, read_records
from ..errors import OutputError

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.jsonl"
LOCK_NAME = ".nstfilter-batch.lock"
DONE = "done"
FAILED = "failed"


class Manifest:
    """Read the state of earlier runs and append this run's records."""

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / MANIFEST_NAME
        self._locked = contextlib.ExitStack()
        with failing_as("cannot write here", folder):
            Path(folder).mkdir(parents=True, exist_ok=True)

        def refusal(holder: str) -> OutputError:
            return OutputError(
                f"another batch (pid {holder}) is writing to this output folder; wait for it "
                "or choose another -o",
                path=folder,
            )

        self._locked.enter_context(held_lock(Path(folder) / LOCK_NAME, refusal))
        self._file = JsonLines(self.path)
        history = list(read_records(self.path))
        self.records: dict[str, dict[str, Any]] = {r["key"]: r for r in history if "key" in r}
        self._history: list[dict[str, Any]] | None = None  # set when torn lines need compacting
        if self.path.is_file():
            with open(self.path, "rb") as handle:
                if sum(1 for line in handle if line.strip()) > len(history):
                    self._history = history

    def is_done(self, key: str, input_hash: str, preset_hash: str, output: Path) -> bool:
        """Finished earlier with the same input and preset, and the output still exists
        where this batch puts it (a record naming any other file is not trusted)."""
        record = self.records.get(key, {})
        state = (record.get("status"), record.get("input_hash"), record.get("preset_hash"))
        where = self.path.parent / str(record.get("output"))
        return state == (DONE, input_hash, preset_hash) and where == output and output.is_file()

    def append(self, record: dict[str, Any]) -> None:
        with self._file.lock:
            if self._history is not None:  # drop the torn lines: readable records, same order
                self._file.rewrite_locked(self._history)
                log.info("%s: compacted (torn lines removed)", self.path)
                self._history = None
            self._file.append_locked({**record, "time": time.strftime("%Y-%m-%dT%H:%M:%S")})
            if "key" in record:
                self.records[record["key"]] = record

    def start_run(self, **info: Any) -> None:
        self.append({"run": time.strftime("%Y-%m-%dT%H:%M:%S"), **info})

    def close(self) -> None:
        self._file.close()
        self._locked.close()


def inside(folder: Path, relative: str | None) -> str | None:
    """``relative`` when it names a file inside ``folder`` (links resolved), else ``None``:
    paths read from a manifest are data, never a way out of the output folder."""
    if not relative:
        return None
    root = os.path.realpath(folder)
    real = os.path.realpath(folder / relative)
    return relative if real.startswith(root + os.sep) else None
