"""Progress display for the CLI, an ``nstfilter_progress`` plugin: a rich bar with the loss
on a terminal, log lines (every few steps) otherwise, JSON lines for programs (the editor
plug-ins), nothing with ``none``; a clip's frames the same way (``unit`` ``frame``). The ETA
and the bar's fill weight every step by its pixel cost (:class:`nstfilter.eta.CostEta`): a
coarse-to-fine run's last scale is most of the work.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sys
from typing import TYPE_CHECKING

from ..eta import CostEta, JsonLines, format_seconds, where
from ..hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from ..events import Progress
    from ..plugins import Plugins

log = logging.getLogger("nstfilter.progress")

MODES = ("auto", "bar", "log", "json", "none")


class ProgressPlugin:
    """Shows progress for one job at a time; ``start``/``stop`` bracket each job."""

    def __init__(self, mode: str = "auto", log_every: int = 10) -> None:
        self.mode = ("bar" if sys.stderr.isatty() else "log") if mode == "auto" else mode
        self.log_every = log_every
        self._bar = self._task = None
        self.label = ""
        self._eta = CostEta()

    def start(self, label: str) -> None:
        self.label = label
        self._eta = CostEta()
        self._json = JsonLines()
        if self.mode == "bar":
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),  # filled by pixel cost, not by steps
                TextColumn("step {task.fields[step]}"),
                TextColumn("loss {task.fields[loss]}"),
                TimeElapsedColumn(),
                TextColumn("ETA {task.fields[eta]}"),
                console=Console(stderr=True),  # stdout may be the result (apply -o -)
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=None, loss="-", step="-", eta="-:--")

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    @hookimpl
    def nstfilter_progress(self, event: Progress) -> None:
        if self.mode == "json":
            self._json(event)
            return
        left = self._eta.update(event)
        if self.mode == "bar" and self._bar is not None:
            place = f"{event.width}x{event.height}" if event.unit == "frame" else (
                f"scale {event.scale}/{event.scales} {event.width}x{event.height}"
            )  # fmt: skip
            loss = "-" if math.isnan(event.loss) else f"{event.loss:.4g}"
            self._bar.update(
                self._task, completed=round(1000 * self._eta.fraction()), total=1000,
                step=f"{event.step}/{event.total}", loss=loss, eta=format_seconds(left),
                description=f"{self.label} {place}",
            )  # fmt: skip
        elif self.mode == "log":
            every = event.step % self.log_every == 0 or event.step == event.total
            if event.unit == "frame":  # a clip: frames, the time left
                if every:
                    log.info("%s %s, %.1fs ETA %s", self.label, where(event), event.seconds,
                             format_seconds(left))  # fmt: skip
            elif math.isnan(event.loss):  # a filter without losses (the fast filter)
                log.info("%s %dx%d done in %.1fs", self.label, event.width, event.height,
                         event.seconds)  # fmt: skip
            elif every:
                log.info(
                    "%s step %d/%d scale %d/%d %dx%d loss %.4g (content %.4g, style %.4g) "
                    "%.1fs ETA %s",
                    self.label, event.step, event.total, event.scale, event.scales,
                    event.width, event.height, event.loss, event.content_loss,
                    event.style_loss, event.seconds, format_seconds(left),
                )  # fmt: skip


@contextlib.contextmanager
def progress_shown(plugins: Plugins, mode: str, label: str):
    """Progress of one job (``label``), by a :class:`ProgressPlugin` registered for it."""
    reporter = ProgressPlugin(mode)
    plugins.register(reporter, "cli-progress")
    try:
        reporter.start(label)
        yield
    finally:
        reporter.stop()
        plugins.unregister("cli-progress")
