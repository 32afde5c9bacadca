"""Reading the append-only JSON-lines files (batch manifest, watcher journal).

Both are appended record by record and may end in a line torn by a crash or ``kill -9``;
such a line is skipped with a warning rather than failing the resume it exists to serve.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of ``path``, one per line, skipping blank and unreadable lines."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                log.warning("%s:%d: unreadable record (torn write?); skipped", path, number)
                continue
            if isinstance(record, dict):
                yield record
