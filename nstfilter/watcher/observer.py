"""watchdog glue: turn file-system events into :class:`~.stability.Tracker` calls.

The handler runs on watchdog's threads and does nothing slow: it only tells the tracker
that a path was seen, closed, moved or deleted. ``IN_CLOSE_WRITE`` arrives as
``FileClosedEvent`` (Linux inotify); a file renamed into the inbox is complete by
definition (that is how careful programs publish a file) and counts as closed. A folder
created or moved in is swept, because files inside a moved folder raise no events.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from .stability import Tracker

log = logging.getLogger("nstfilter.watch")


def _path(raw: str | bytes) -> Path:
    return Path(os.fsdecode(raw))


class InboxHandler(FileSystemEventHandler):
    def __init__(self, tracker: Tracker, inbox: Path, sweep: Callable[[Path], int]) -> None:
        self.tracker = tracker
        self.inbox = inbox
        self.sweep = sweep

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._dispatch(event)
        except Exception:  # noqa: BLE001 - an observer thread must never die
            log.exception("error handling %s", event)

    def _dispatch(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if event.is_directory:
            if kind in ("created", "moved"):
                folder = _path(event.dest_path if kind == "moved" else event.src_path)
                if folder != self.inbox and self.inbox in folder.parents:
                    self.sweep(folder)
            return
        if kind in ("created", "modified"):
            self.tracker.seen(_path(event.src_path))
        elif kind == "closed":
            self.tracker.closed(_path(event.src_path))
        elif kind == "moved":
            self.tracker.gone(_path(event.src_path))
            dest = _path(event.dest_path)
            if self.inbox in dest.parents:
                self.tracker.closed(dest)
        elif kind == "deleted":
            self.tracker.gone(_path(event.src_path))
        # opened, closed_no_write, attrib: nothing to do


def start_observer(
    handler: InboxHandler, inbox: Path, polling: bool, poll_interval: float
) -> BaseObserver:
    """Start a recursive observer on ``inbox`` (inotify, or polling for network mounts)."""
    observer = PollingObserver(timeout=poll_interval) if polling else Observer()
    observer.schedule(handler, str(inbox), recursive=True)
    observer.daemon = True
    observer.start()
    return observer
