"""The watcher's folders, the names reserved in them, and the one-watcher-per-inbox lock.

Nothing is ever overwritten: a taken name gets a ``-N`` suffix. Names are *reserved* under
a lock before they are written, so two workers finishing ``photo.jpg`` and ``photo.png`` at
once still end up with two results.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..durable import held_lock
from ..errors import InputNotFoundError, OutputError, UsageError
from .names import STATE_DIRNAME, numbered

DESTINATIONS = ("outbox", "processed", "failed")


@dataclass(frozen=True)
class Layout:
    """Resolved, absolute folders of one watcher."""

    inbox: Path
    outbox: Path
    processed: Path
    failed: Path

    @property
    def state(self) -> Path:
        """``journal.jsonl``, ``jobs.jsonl`` and ``watcher.lock`` live here."""
        return self.inbox / STATE_DIRNAME

    @classmethod
    def build(
        cls,
        inbox: str | Path,
        outbox: str | Path | None = None,
        processed: str | Path | None = None,
        failed: str | Path | None = None,
    ) -> Layout:
        """Defaults are siblings of the inbox; refuses what would loop or cannot work."""
        raw = Path(inbox).expanduser()
        if not raw.exists():
            raise InputNotFoundError("inbox folder does not exist", path=raw)
        if not raw.is_dir():
            raise UsageError("inbox is not a folder", path=raw)
        root = raw.resolve()
        folders = {}
        for label, value in zip(DESTINATIONS, (outbox, processed, failed), strict=True):
            # resolve() on a path that does not exist yet still makes it absolute and normalised
            folder = Path(root.parent / label if value is None else value).expanduser().resolve()
            if folder == root or root in folder.parents:
                raise UsageError(
                    f"the {label} folder is inside the inbox {root}; results would be "
                    "picked up again (a loop); put it beside the inbox",
                    path=folder,
                )
            if folder in root.parents:
                raise UsageError(f"the {label} folder contains the inbox", path=folder)
            if folder.exists() and not folder.is_dir():
                raise UsageError(f"the {label} path exists and is not a folder", path=folder)
            folders[label] = folder
        return cls(root, **folders)

    def create(self) -> None:
        for label in (*DESTINATIONS, "state"):
            folder = getattr(self, label)
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(
                    f"cannot create the {label} folder: {exc.strerror or exc}", path=folder
                ) from None


class Reservations:
    """Names promised to running jobs, so concurrent jobs never pick the same one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._taken: set[Path] = set()

    def reserve(self, folder: Path, stem: str, *rests: str) -> list[Path]:
        """The smallest N for which every ``stem[-N]rest`` in ``folder`` is free, now promised
        to the caller (a file and its ``.error.txt`` note keep matching names)."""
        with self._lock:
            number = 0
            while True:
                group = [folder / numbered(stem, rest, number, rests) for rest in rests]
                if all(p not in self._taken and not os.path.lexists(p) for p in group):
                    self._taken.update(group)
                    return group
                number += 1

    def release(self, *paths: Path) -> None:
        with self._lock:
            self._taken.difference_update(paths)

    def __len__(self) -> int:
        return len(self._taken)


@contextmanager
def inbox_lock(path: Path) -> Iterator[None]:
    """One watcher per inbox (:func:`~nstfilter.durable.held_lock` on ``path``)."""

    def refusal(holder: str) -> UsageError:
        message = f"another watcher (pid {holder}) is already watching this inbox"
        return UsageError(message, path=path.parent.parent)

    with held_lock(path, refusal):
        yield
