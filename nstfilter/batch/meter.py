"""Progress over the jobs of a batch: a rich bar on a terminal, log lines otherwise, a JSON
line per finished job for programs (``--progress json``, on standard error).

All show jobs finished out of all (earlier runs' finished jobs count as done from the
start), how many failed, the rate in jobs per minute over this run and the ETA.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time

log = logging.getLogger("nstfilter.batch")


class BatchProgress:
    def __init__(self, total: int, *, mode: str = "auto", skipped: int = 0) -> None:
        self.mode = ("bar" if sys.stderr.isatty() else "log") if mode == "auto" else mode
        self.total = total
        self.skipped = skipped
        self.done = self.failed = 0
        self._start = time.perf_counter()
        self._bar = None

    def __enter__(self) -> BatchProgress:
        self._start = time.perf_counter()
        if self.mode == "bar":
            from rich import progress
            from rich.console import Console

            self._bar = progress.Progress(
                "[bold]batch", progress.BarColumn(), progress.MofNCompleteColumn(),
                "[green]{task.fields[ok]} done[/] [red]{task.fields[failed]} failed",
                "{task.fields[rate]:.1f}/min", progress.TimeElapsedColumn(), "ETA",
                progress.TimeRemainingColumn(), console=Console(stderr=True),
            )  # fmt: skip
            self._bar.start()
            self._task = self._bar.add_task(
                "batch", total=self.total, completed=self.skipped, ok=0, failed=0, rate=0.0
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
        elapsed = time.perf_counter() - self._start
        rate = 60.0 * (self.done + self.failed) / elapsed if elapsed > 0 else 0.0  # per minute
        if self._bar is not None:
            self._bar.update(
                self._task, completed=finished, ok=self.done, failed=self.failed, rate=rate
            )
            return
        eta = (self.total - finished) / rate * 60 if rate > 0 else float("nan")
        if self.mode == "json":  # apply's shape: "event", counts, "seconds", "eta_seconds"
            record = {
                "event": "job", "key": key, "status": "done" if ok else "failed",
                "error": error, "seconds": round(seconds, 3), "step": finished,
                "total": self.total, "failed": self.failed, "unit": "job",
                "eta_seconds": None if math.isnan(eta) else round(eta, 1),
            }  # fmt: skip
            print(json.dumps(record), file=sys.stderr, flush=True)
        elif self.mode == "log":
            if ok:
                log.info(
                    "[%d/%d] %s done in %.1f s (%d failed, %.1f/min, ETA %.0f s)",
                    finished, self.total, key, seconds, self.failed, rate, eta,
                )  # fmt: skip
            else:
                log.warning(
                    "[%d/%d] %s FAILED: %s (%.1f/min, ETA %.0f s)",
                    finished, self.total, key, error, rate, eta,
                )  # fmt: skip
