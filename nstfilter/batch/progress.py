"""Progress over the jobs of a batch: a rich bar on a terminal, log lines otherwise.

The bar shows jobs finished out of all jobs (earlier runs' finished jobs count as done from
the start), how many failed, the rate in jobs per minute over this run, elapsed time and
the ETA. Without a terminal, one log line per finished job carries the same numbers.
"""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("nstfilter.batch")

MODES = ("auto", "bar", "log", "none")


class BatchProgress:
    def __init__(self, total: int, *, mode: str = "auto", skipped: int = 0) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.total = total
        self.skipped = skipped
        self.done = 0
        self.failed = 0
        self._start = time.perf_counter()
        self._bar = None
        self._task = None

    @property
    def rate(self) -> float:
        """Jobs per minute in this run."""
        elapsed = time.perf_counter() - self._start
        return 60.0 * (self.done + self.failed) / elapsed if elapsed > 0 else 0.0

    def _fields(self) -> dict[str, str]:
        return {"ok": str(self.done), "failed": str(self.failed), "rate": f"{self.rate:.1f}"}

    def __enter__(self) -> BatchProgress:
        self._start = time.perf_counter()
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]batch"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("[green]{task.fields[ok]} done[/] [red]{task.fields[failed]} failed"),
                TextColumn("{task.fields[rate]}/min"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
            self._task = self._bar.add_task(
                "batch", total=self.total, completed=self.skipped, **self._fields()
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def advance(self, key: str, ok: bool, seconds: float, error: str | None = None) -> None:
        if ok:
            self.done += 1
        else:
            self.failed += 1
        finished = self.skipped + self.done + self.failed
        if self._bar is not None:
            self._bar.update(self._task, completed=finished, **self._fields())
        elif self.mode == "log":
            remaining = self.total - finished
            eta = remaining / self.rate * 60 if self.rate > 0 else float("nan")
            if ok:
                log.info(
                    "[%d/%d] %s done in %.1f s (%d failed, %.1f/min, ETA %.0f s)",
                    finished, self.total, key, seconds, self.failed, self.rate, eta,
                )  # fmt: skip
            else:
                log.warning(
                    "[%d/%d] %s FAILED: %s (%.1f/min, ETA %.0f s)",
                    finished, self.total, key, error, self.rate, eta,
                )  # fmt: skip
