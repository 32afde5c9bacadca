"""Deciding when a file in the inbox is complete, and handing each one out exactly once.

The observer threads and the backlog sweep only call :meth:`Tracker.seen` /
:meth:`Tracker.closed`; they never process anything. A single settle thread (``run``)
looks at the candidates a few times a second and hands ready ones to the work queue. A
file is *ready* when

* it was closed after writing (inotify ``IN_CLOSE_WRITE``) or renamed into the inbox, and
  nothing touched it for ``close_grace`` seconds since (programs that open, append and close
  once per chunk close many times); or
* its size and mtime stayed unchanged for ``settle`` seconds (polling mode, network mounts,
  files already present at start, writers that never close).

A path is in exactly one place at a time: a candidate here, queued, or in work (``claimed``)
until the worker calls :meth:`release`. Events for a claimed path are ignored, which is
what makes the observer/sweep overlap harmless: a file is never processed twice. Nothing
is kept per file once it is released, so memory stays flat over days.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .names import file_state

log = logging.getLogger("nstfilter.watch")

TICK = 0.1  # seconds between passes of the settle thread


@dataclass
class Candidate:
    state: list[int]  # file_state() when last looked at
    changed_at: float  # monotonic time of the last observed change
    closed_at: float | None = None  # monotonic time of the last close-after-write
    not_before: float = 0.0  # retry back-off

    def changed(self, state: list[int], now: float) -> None:
        """Written to (or a modify event with no visible change yet): settle again."""
        self.state, self.changed_at, self.closed_at = state, now, None


class Tracker:
    """Candidates waiting to settle, plus the set of paths already handed out."""

    def __init__(
        self,
        work: queue.Queue[Path | None],  # None: the workers' stop sentinel, not ours
        *,
        settle: float = 2.0,
        close_grace: float = 0.5,
        accept: Callable[[Path], bool] = lambda path: True,
    ) -> None:
        self.work = work
        self.settle = settle
        self.close_grace = min(close_grace, settle)
        self.accept = accept
        self._lock = threading.Lock()
        self._candidates: dict[Path, Candidate] = {}
        self._claimed: dict[Path, list[int]] = {}  # path -> state when handed out

    # --- called from observer threads and the sweep ------------------------------------

    def seen(self, path: Path, *, closed: bool = False, found: bool = False) -> None:
        """A file was created, modified or moved in; ``found``: seen by a sweep (which
        says nothing new about a file already waiting to settle)."""
        if not self.accept(path):
            return
        now = time.monotonic()
        with self._lock:
            if path in self._claimed:
                return
            state = file_state(path)
            if state is None:
                self._candidates.pop(path, None)
                return
            cand = self._candidates.get(path)
            if found and cand is not None:
                return
            if cand is None:
                cand = self._candidates[path] = Candidate(state, now)
            elif cand.state != state or not closed:
                cand.changed(state, now)
            if closed:
                cand.closed_at = now

    def closed(self, path: Path) -> None:
        """Close-after-write (or rename into the inbox): complete unless touched again."""
        self.seen(path, closed=True)

    def gone(self, path: Path) -> None:
        with self._lock:
            self._candidates.pop(path, None)

    # --- the settle loop -----------------------------------------------------------------

    def _due(self, cand: Candidate) -> float:
        """When a candidate could next be ready (nothing needs looking at before)."""
        due = cand.changed_at + self.settle
        if cand.closed_at is not None:
            due = min(due, cand.closed_at + self.close_grace)
        return max(due, cand.not_before)

    def check(self) -> int:
        """One pass: hand out every ready candidate; returns how many were handed out.

        Only candidates whose settle or grace time has passed are looked at (a change
        before then shows at that point as a different state), and ``stat`` runs outside
        the lock, so a slow network mount never blocks the observer threads."""
        now = time.monotonic()
        with self._lock:
            due = [(p, c) for p, c in self._candidates.items() if self._due(c) <= now]
        states = [(path, cand, file_state(path)) for path, cand in due]
        ready: list[Path] = []
        now = time.monotonic()
        with self._lock:
            for path, cand, state in states:
                if self._candidates.get(path) is not cand or self._due(cand) > now:
                    continue  # replaced or touched again meanwhile
                if state is None:
                    del self._candidates[path]
                elif cand.state != state:
                    cand.changed(state, now)
                else:
                    del self._candidates[path]
                    self._claimed[path] = state
                    ready.append(path)
        for path in sorted(ready):
            self.work.put(path)
        return len(ready)

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(TICK):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - never let the settle thread die
                log.exception("settle check failed")

    # --- called by workers --------------------------------------------------------------

    def release(self, path: Path, *, retry_after: float | None = None) -> None:
        """The worker is finished with ``path``; with ``retry_after`` it is watched again
        (the file is still in the inbox and will be retried after that many seconds)."""
        with self._lock:
            self._claimed.pop(path, None)
            state = file_state(path) if retry_after is not None else None
            if state is not None:
                now = time.monotonic()
                self._candidates[path] = Candidate(state, now, not_before=now + retry_after)

    def unchanged(self, path: Path) -> bool:
        """True when ``path`` is as it was when handed out (it may have waited in the queue
        for a long time; a file written to again meanwhile must settle again)."""
        with self._lock:
            return self._claimed.get(path) == file_state(path)

    def pending(self) -> int:
        """Candidates plus paths handed out and not yet released."""
        with self._lock:
            return len(self._candidates) + len(self._claimed)
