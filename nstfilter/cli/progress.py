"""Progress display for the CLI, as an ``nstfilter_progress`` plugin.

A rich progress bar with the loss on a terminal; plain log lines (every few steps) when
stderr is not a terminal; JSON lines for programs that drive the CLI (the editor
plug-ins); nothing at all with ``none``.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import TYPE_CHECKING

import click

from ..hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from ..events import Progress

log = logging.getLogger("nstfilter.progress")

MODES = ("auto", "bar", "log", "json", "none")


class ProgressPlugin:
    """Shows progress for one job at a time; ``start``/``stop`` bracket each job."""

    def __init__(self, mode: str = "auto", log_every: int = 10) -> None:
        if mode == "auto":
            mode = "bar" if sys.stderr.isatty() else "log"
        self.mode = mode
        self.log_every = log_every
        self._bar = None
        self._task = None
        self.label = ""

    def start(self, label: str) -> None:
        self.label = label
        if self.mode == "bar":
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(label, total=None, loss="-")

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    @hookimpl
    def nstfilter_progress(self, event: Progress) -> None:
        if self.mode == "bar" and self._bar is not None:
            self._bar.update(
                self._task,
                completed=event.step,
                total=event.total,
                loss=f"{event.loss:.4g}",
                description=f"{self.label} {event.width}x{event.height}",
            )
        elif self.mode == "log":
            if event.step % self.log_every == 0 or event.step == event.total:
                log.info(
                    "%s step %d/%d scale %d/%d %dx%d loss %.4g (content %.4g, style %.4g) %.1fs",
                    self.label, event.step, event.total, event.scale, event.scales,
                    event.width, event.height, event.loss, event.content_loss,
                    event.style_loss, event.seconds,
                )  # fmt: skip
        elif self.mode == "json":
            record = {"event": "progress", **event.as_dict()}
            click.echo(json.dumps(record), err=True)
