"""Files that survive a crash: atomic writes, durable moves, append-only JSON lines.

One module for what image output, the watcher, its journal, the batch manifest and the
job log all need, so each guarantee is written (and fixed) once:

* :func:`write_atomic` -- temp file beside the target + ``fsync`` + rename or link into
  place + ``fsync`` of the folder: a reader or a crash never sees half a file.
* :func:`move_new` -- a move that never overwrites and is durable before it returns.
* :class:`JsonLines` / :func:`read_records` -- one JSON object per line, each write flushed
  (and ``fsync``'d unless told otherwise); a line torn by ``kill -9`` is skipped with a
  warning when reading and never glued to the next record when appending.

Every failure is an :class:`~nstfilter.errors.OutputError` naming the file. Files get the
usual mode (0666 minus the umask), not ``mkstemp``'s private 0600.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

log = logging.getLogger(__name__)

#: errno values meaning "this file system cannot hard-link (here)": fall back to rename/copy
_NO_LINK = (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP)


def fsync_dir(folder: Path) -> None:
    """Make a rename or link in ``folder`` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_temps(target: Path) -> int:
    """Delete leftover temp files of an interrupted write of ``target``; how many."""
    count = 0
    for leftover in target.parent.glob(f".{target.name}.*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()
            count += 1
    return count


def _refuse(target: Path) -> OutputError:
    return OutputError("refusing to overwrite an existing file", path=target)


def _place(tmp: Path, target: Path) -> None:
    """Link ``tmp`` to the free name ``target``, never overwriting (the caller drops ``tmp``)."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise _refuse(target) from None
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
        if os.path.lexists(target):
            raise _refuse(target) from None
        os.rename(tmp, target)  # no hard links here: the name was free a moment ago


@contextlib.contextmanager
def _durable_temp(target: Path, fill: Callable[[IO[bytes]], object]) -> Iterator[Path]:
    """A temp file beside ``target`` written by ``fill(handle)`` and fsync'd, removed on exit
    unless it was moved into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            mask = os.umask(0)  # reading the umask means setting it
            os.umask(mask)
            os.fchmod(handle.fileno(), 0o666 & ~mask)
            os.fsync(handle.fileno())
        yield tmp
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(data: bytes, path: str | Path, *, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically and durably; ``overwrite=False`` never replaces
    a file (the watcher's outputs and notes, whose names someone else may take)."""
    path = Path(path)
    try:
        with _durable_temp(path, lambda handle: handle.write(data)) as tmp:
            (os.replace if overwrite else _place)(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        raise OutputError(f"cannot write: {exc.strerror or exc}", path=path) from None
    return path


def move_new(source: Path, target: Path) -> Path:
    """Move ``source`` to ``target`` (a free name) durably, never overwriting.

    Same file system: hard link + unlink (killed in between, the file exists in both
    places; the watcher's recovery removes the inbox copy). Across file systems: a copy to
    a temp file beside the target, ``fsync``, link into place, then unlink the source.
    """
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder: {exc.strerror or exc}", path=target) from None
    try:
        _link_or_copy(source, target)
    except FileExistsError:
        raise _refuse(target) from None
    except OSError as exc:
        raise OutputError(f"cannot move: {exc.strerror or exc}", path=target) from None
    fsync_dir(target.parent)
    try:
        source.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(
            f"copied to {target} but cannot remove the original: {exc.strerror or exc}", path=source
        ) from None
    fsync_dir(source.parent)
    return target


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
        return
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
    if source.is_symlink():
        os.symlink(os.readlink(source), target)  # never replaces: FileExistsError
        return
    with (
        open(source, "rb") as src,
        _durable_temp(target, lambda out: shutil.copyfileobj(src, out, 1 << 20)) as tmp,
    ):
        shutil.copystat(source, tmp)
        _place(tmp, target)


# --- JSON lines -------------------------------------------------------------------------


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of ``path``, one per line, skipping blank and unreadable (torn)
    lines with a warning rather than failing the resume they exist to serve."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            try:
                record = json.loads(line) if line.strip() else None
            except json.JSONDecodeError:
                log.warning("%s:%d: unreadable record (torn write?); skipped", path, number)
                continue
            if isinstance(record, dict):
                yield record


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, default=str) + "\n"


class JsonLines:
    """An append-only JSON-lines file, thread-safe, opened on the first append.

    A file whose last line was torn by a crash gets a newline first, so the torn line stays
    one unreadable line instead of corrupting the next record.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._handle: IO[str] | None = None

    def _open(self) -> IO[str]:
        if self._handle is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                if self._handle.tell() > 0:
                    with open(self.path, "rb") as tail:
                        tail.seek(-1, os.SEEK_END)
                        if tail.read(1) != b"\n":
                            self._handle.write("\n")
            except OSError as exc:
                raise OutputError(f"cannot write: {exc.strerror or exc}", path=self.path) from None
        return self._handle

    def append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        with self.lock:
            self.append_locked(record, sync=sync)

    def append_locked(self, record: dict[str, Any], *, sync: bool = True) -> None:
        """:meth:`append` for a caller already holding :attr:`lock`: one flushed write."""
        handle = self._open()
        handle.write(_line(record))
        handle.flush()
        if sync:
            os.fsync(handle.fileno())

    def rewrite_locked(self, records: Iterable[dict[str, Any]]) -> int:
        """Replace the whole file atomically with ``records`` (compaction); holds the lock."""
        self.close_locked()
        lines = [_line(r) for r in records]
        write_atomic("".join(lines).encode("utf-8"), self.path)
        return len(lines)

    def close_locked(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def close(self) -> None:
        with self.lock:
            self.close_locked()


def append_line(path: Path, record: dict[str, Any], *, sync: bool = True) -> None:
    """Append one record to ``path`` and close it (files written once in a while)."""
    with contextlib.closing(JsonLines(path)) as log_file:
        log_file.append(record, sync=sync)
