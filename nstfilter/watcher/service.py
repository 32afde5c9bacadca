"""The watcher: recover open journal jobs -> start observer -> sweep backlog -> settle thread
hands complete files to a queue -> N worker threads run them -> stop on signal (or, with
--once, when nothing is left).

The observer starts *before* the sweep so no file can slip in between; the tracker makes
the overlap harmless (a path is handed out once).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from ..builtins import joblog
from ..errors import NstError
from .compute import make_compute
from .folders import Layout, inbox_lock
from .journal import Journal
from .names import escapes_inbox, file_state, is_candidate_path, is_ignored_name, stat_of
from .pipeline import RETRY, Runner
from .presetcache import PresetCache
from .stability import Tracker

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins
    from ..presets import Preset

log = logging.getLogger("nstfilter.watch")

HEALTH_EVERY = 2.0  # seconds between checks that the inbox and the observer are still there
#: Seconds a stop waits for the jobs running to finish or cancel (the engine checks at every
#: step); a filter or plugin stuck longer is left behind, its file in the inbox (journalled,
#: redone at the next start), so a hung hook cannot keep the service from stopping.
STOP_GRACE = 10.0
#: Tries of one file (unchanged) that could not even be moved to failed/: then it is left in
#: the inbox, untouched until it changes or the watcher restarts, not retried for ever.
MAX_TRIES = 5


@dataclass
class WatchOptions:
    preset: str
    settle: float = 2.0  # seconds of unchanged size+mtime that make a file complete
    close_grace: float = 0.5  # quiet seconds after a close-after-write event
    workers: int = 1
    max_pixels: int | None = None
    polling: bool = False
    poll_interval: float = 1.0
    once: bool = False
    rescan: float = 60.0  # seconds between safety sweeps of the inbox (0: never)
    retry_after: float = 60.0  # a file that cannot even be moved to failed/ waits this long
    executor: str = "threads"  # threads (in this process), local (process pool) or dask
    scheduler: str | None = None  # Dask scheduler address (executor "dask")
    plugins_dirs: tuple[str, ...] = ()  # explicit --plugins-dir, passed on to executors
    job_timeout: float | None = None  # seconds per job (executor "local" only), None: no limit
    metrics: str | None = None  # --metrics: one JSON line per finished job
    progress: str = "auto"  # --progress inside a job: auto/bar/log (a line every 30 s), json, none
    device: str = "auto"  # --device: applied here (threads) or by each worker process
    #: How a preset name becomes a Preset (the CLI's --style and settings); None: load_preset
    load_preset: Callable[[str], Preset] | None = None


@dataclass(eq=False)  # hashable: watchdog keeps handlers in a set
class InboxHandler(FileSystemEventHandler):
    """watchdog events -> tracker calls, on watchdog's threads, so nothing slow: a path was
    seen, closed, moved or deleted. ``IN_CLOSE_WRITE`` arrives as ``closed`` (inotify); a
    file renamed into the inbox is complete by definition (how careful programs publish a
    file) and counts as closed. A folder created or moved in is swept, because files inside
    a moved folder raise no events."""

    tracker: Tracker
    inbox: Path
    sweep: Callable[[Path], int]

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            kind, src = event.event_type, Path(os.fsdecode(event.src_path))
            dest = Path(os.fsdecode(event.dest_path)) if kind == "moved" else src
            if event.is_directory:
                if kind in ("created", "moved") and self.inbox in dest.parents:
                    self.sweep(dest)
                return
            if kind in ("created", "modified"):
                self.tracker.seen(src)
            elif kind in ("moved", "deleted"):
                self.tracker.gone(src)
            if kind in ("closed", "moved"):  # the tracker ignores a dest outside the inbox
                self.tracker.closed(dest)
            # opened, closed_no_write, attrib: nothing to do
        except Exception:  # noqa: BLE001 - an observer thread must never die
            log.exception("error handling %s", event)


class Watcher:
    def __init__(self, layout: Layout, options: WatchOptions, plugins: Plugins) -> None:
        self.layout = layout
        self.options = options
        self.plugins = plugins
        self.stopping = threading.Event()
        self.work: queue.Queue[Path | None] = queue.Queue()
        self.presets = PresetCache(options.preset, plugins, options.load_preset)
        self.journal = Journal(layout.state / "journal.jsonl")
        self.compute = make_compute(
            options.executor, plugins, self.stopping.is_set, workers=options.workers,
            max_pixels=options.max_pixels, scheduler=options.scheduler,
            plugins_dirs=options.plugins_dirs, job_timeout=options.job_timeout,
            progress=options.progress, device=options.device,
        )  # fmt: skip
        self.runner = Runner(
            layout,
            self.journal,
            self.presets,
            plugins,
            self.compute,
            self.stopping.is_set,
            metrics=Path(options.metrics) if options.metrics else None,
        )
        self._inbox_real = os.path.realpath(layout.inbox)
        self._warned_links: set[Path] = set()
        self.tracker = Tracker(
            self.work, settle=options.settle, close_grace=options.close_grace, accept=self.accept
        )
        self.counts: Counter[str] = Counter()
        self._counts_lock = threading.Lock()
        self.observer: BaseObserver | None = None
        self._inbox_ident: tuple[int, int] | None = None
        self._tries: Counter[Path] = Counter()
        self._given_up: dict[Path, list[int] | None] = {}  # path -> its state then

    def accept(self, path: Path) -> bool:
        if not is_candidate_path(path, self.layout.inbox):
            return False
        if path in self._given_up and self._given_up[path] == file_state(path):
            return False  # given up on, unchanged since
        if escapes_inbox(path, self._inbox_real):
            if path not in self._warned_links and len(self._warned_links) < 10_000:
                self._warned_links.add(path)
                log.warning("not following %s: it links outside the inbox", path)
            return False
        return True

    def sweep(self, folder: Path | None = None) -> int:
        """Offer every file under ``folder`` (default: the inbox) to the tracker."""
        count = 0
        for root, dirs, files in os.walk(folder or self.layout.inbox, followlinks=False):
            dirs[:] = sorted(d for d in dirs if not is_ignored_name(d))
            for name in sorted(files):
                if not is_ignored_name(name):
                    self.tracker.seen(Path(root) / name, found=True)
                    count += 1
        return count

    def request_stop(self) -> None:
        self.stopping.set()

    def run(self) -> Counter[str]:
        self.layout.create()
        state = self.layout.state
        # the job log (the state folder unless the user chose a file), for this run only
        with (
            inbox_lock(state / "watcher.lock"),
            joblog.logging_jobs(self.plugins, "watcher", state / "jobs.jsonl"),
        ):
            return self._run()

    def _run(self) -> Counter[str]:
        layout, options = self.layout, self.options
        jobs = self.journal.load()  # left open by a previous run (kill -9, power loss)
        if jobs:
            log.info("recovering %d unfinished job(s) from the journal", len(jobs))
        for job in jobs:
            self._count(self.runner.resume(job))
        self.journal.start()
        workers = [
            threading.Thread(target=self._worker, name=f"nstfilter-worker-{i}", daemon=True)
            for i in range(max(1, options.workers))
        ]
        settler = threading.Thread(
            target=self.tracker.run, args=(self.stopping,), name="nstfilter-settle", daemon=True
        )
        for thread in (*workers, settler):
            thread.start()
        mode = "once" if options.once else "polling" if options.polling else "inotify"
        try:
            if not options.once:
                self._start_observer()
            found = self.sweep()
            log.info(
                "%s %s (preset %s, %s, %s, %d worker%s): %d file(s) waiting; results in %s",
                "processing" if options.once else "watching", layout.inbox, options.preset,
                mode, self.compute.description, options.workers,
                "" if options.workers == 1 else "s", found, layout.outbox,
            )  # fmt: skip
            next_health = time.monotonic() + HEALTH_EVERY
            next_rescan = time.monotonic() + options.rescan
            while not self.stopping.is_set():
                if options.once and self.tracker.pending() == 0:
                    break
                now = time.monotonic()
                if not options.once and now >= next_health:
                    next_health = now + HEALTH_EVERY
                    self._check_health()
                if not options.once and options.rescan and now >= next_rescan:
                    if self._inbox_ident is not None:
                        self.sweep()  # safety net: a lost event (inotify overflow) is found
                    next_rescan = now + options.rescan
                self.stopping.wait(0.1)
        finally:
            self._shutdown(workers, settler)
        return self.counts

    def _start_observer(self) -> None:
        """A recursive observer on the inbox: inotify, or polling for network mounts."""
        inbox, options = self.layout.inbox, self.options
        observer = PollingObserver(timeout=options.poll_interval) if options.polling else Observer()
        observer.schedule(InboxHandler(self.tracker, inbox, self.sweep), str(inbox), recursive=True)
        observer.start()
        self.observer = observer
        self._inbox_ident = _dir_ident(inbox)

    def _check_health(self) -> None:
        """Notice an inbox that vanished (unmounted share, folder moved away) or a dead
        observer, and start watching again when the folder is back."""
        ident = _dir_ident(self.layout.inbox)
        if ident is None:
            if self._inbox_ident is not None:
                log.warning(
                    "the inbox %s is gone (unmounted or moved away?); waiting for it to "
                    "come back", self.layout.inbox,
                )  # fmt: skip
                self._inbox_ident = None
                self._stop_observer()
            return
        observer = self.observer
        threads = [] if observer is None else [observer, *observer.emitters]
        if ident == self._inbox_ident and threads and all(t.is_alive() for t in threads):
            return
        was_gone = self._inbox_ident is None
        self._stop_observer()
        try:
            self.layout.create()
        except NstError as exc:
            log.warning("cannot prepare the inbox again: %s", exc)
            return
        self.journal.close()  # reopened on the next record, in the inbox that is there now
        self._start_observer()
        found = self.sweep()
        log.warning(
            "%s; watching again (%d file(s) waiting)",
            "the inbox is back" if was_gone else "the observer had stopped", found,
        )  # fmt: skip

    def _stop_observer(self) -> None:
        observer, self.observer = self.observer, None
        if observer is not None:
            with contextlib.suppress(Exception):  # a broken one is being replaced anyway
                observer.stop()
                observer.join(timeout=5)

    def _shutdown(self, workers: list[threading.Thread], settler: threading.Thread) -> None:
        """Stop taking files, let the workers finish or requeue theirs, then close. The
        observer is told first and joined last: joined at once, watchdog's inotify thread
        logs a spurious "called when the thread is inactive" error."""
        observer, self.observer = self.observer, None
        if observer is not None:
            observer.stop()
        self.stopping.set()
        for _ in workers:
            self.work.put(None)
        deadline = time.monotonic() + STOP_GRACE
        for thread in workers:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if stuck := sum(thread.is_alive() for thread in workers):
            log.warning(
                "%d job(s) did not stop within %.0f s (a filter or plugin stuck?); left "
                "behind: their files stay in the inbox and are redone at the next start",
                stuck, STOP_GRACE,
            )  # fmt: skip
        settler.join(timeout=5)
        if observer is not None:
            observer.join(timeout=5)
        self.journal.close()
        self.compute.close()
        summary = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items())) or "no files"
        log.info("stopped: %s", summary)

    def _worker(self) -> None:
        while (path := self.work.get()) is not None:
            if self.stopping.is_set():  # queued but not started: it simply stays in the inbox
                self.tracker.release(path)
                self._count("left")
                continue
            if not self.tracker.unchanged(path):  # written to while it waited: settle again
                self.tracker.release(path, retry_after=0.0)
                continue
            try:
                status = self.runner.process(path)
            except Exception:  # noqa: BLE001 - a bug must not kill the worker; file stays
                log.exception("unexpected error processing %s; it stays in the inbox", path)
                status = RETRY
            retry = status == RETRY and not self.options.once and not self.stopping.is_set()
            self._tries[path] = self._tries[path] + 1 if status == RETRY else 0
            if retry and self._tries[path] >= MAX_TRIES:
                log.error(
                    "giving up on %s after %d tries: it stays in the inbox, untouched until "
                    "it changes or the watcher restarts", path, MAX_TRIES,
                )  # fmt: skip
                self._given_up[path], retry = file_state(path), False
            if not self._tries[path]:
                del self._tries[path]
            self.tracker.release(path, retry_after=self.options.retry_after if retry else None)
            self._count(status)

    def _count(self, status: str) -> None:
        with self._counts_lock:
            self.counts[status] += 1


def _dir_ident(folder: Path) -> tuple[int, int] | None:
    st = stat_of(folder, stat.S_ISDIR)
    return None if st is None else (st.st_dev, st.st_ino)
