"""Progress display for the CLI, an ``nstfilter_progress`` plugin: a rich bar with the loss
on a terminal, log lines (every few steps) otherwise, JSON lines for programs (the editor
plug-ins), nothing with ``none``. The ETA and the bar's fill weight every step by its pixel
cost (:class:`nstfilter.eta.CostEta`): a coarse-to-fine run's last scale is most of the work.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import sys
from typing import TYPE_CHECKING

import click

from ..eta import CostEta, format_seconds
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
        left = self._eta.update(event)
        if self.mode == "bar" and self._bar is not None:
            where = f"scale {event.scale}/{event.scales} {event.width}x{event.height}"
            self._bar.update(
                self._task, completed=round(1000 * self._eta.fraction()), total=1000,
                step=f"{event.step}/{event.total}", loss=f"{event.loss:.4g}",
                eta=format_seconds(left), description=f"{self.label} {where}",
            )  # fmt: skip
        elif self.mode == "log":
            if math.isnan(event.loss):  # a filter without losses (the fast filter)
                log.info("%s %dx%d done in %.1fs", self.label, event.width, event.height,
                         event.seconds)  # fmt: skip
            elif event.step % self.log_every == 0 or event.step == event.total:
                log.info(
                    "%s step %d/%d scale %d/%d %dx%d loss %.4g (content %.4g, style %.4g) "
                    "%.1fs ETA %s",
                    self.label, event.step, event.total, event.scale, event.scales,
                    event.width, event.height, event.loss, event.content_loss,
                    event.style_loss, event.seconds, format_seconds(left),
                )  # fmt: skip
        elif self.mode == "json":
            eta = None if left is None else round(left, 1)
            record = {"event": "progress", **event.as_dict(), "eta_seconds": eta}
            # no NaN in the JSON (not JSON): a filter without losses reports null
            record = {k: None if isinstance(v, float) and math.isnan(v) else v
                      for k, v in record.items()}  # fmt: skip
            click.echo(json.dumps(record), err=True)


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
