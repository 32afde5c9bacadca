"""Files that survive a crash, for image output, the watcher, its journal, the batch
manifest and the job log, so each guarantee is written (and fixed) once: a reader or a
crash never sees half a file, a move never overwrites and is durable before it returns, and
a JSON line torn by ``kill -9`` is skipped when reading and never glued to the next record.
Every failure is one :class:`~nstfilter.errors.OutputError` naming the file; files get the
usual mode (0666 minus the umask), not ``mkstemp``'s private 0600.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import NoSpaceError, OutputError, UsageError

log = logging.getLogger(__name__)

#: errno values meaning "this file system cannot hard-link (here)": fall back to rename/copy
_NO_LINK = (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP)
#: errno values meaning "no room": a full disk or quota, its own exit code (NoSpaceError)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
#: The longest file name, in bytes, of the usual file systems (ext4, XFS, btrfs, APFS, NTFS).
NAME_MAX = 255
#: Above this many bytes a temp file is named by a hash of its target (see _temp_prefix).
_TEMP_NAME_MAX = NAME_MAX - 32


def fit_stem(stem: str, tail: str) -> str:
    """``stem`` such that ``stem + tail`` fits :data:`NAME_MAX` bytes: unchanged when it
    does, else its longest prefix that fits plus ``~`` and 8 hex digits of the whole stem's
    hash, so two long names sharing a prefix still get two names (a 255-byte photo name
    cannot make its result's or its note's name impossible)."""
    encoded, room = os.fsencode(stem), NAME_MAX - len(os.fsencode(tail))
    if len(encoded) <= room:
        return stem
    digest = hashlib.sha256(encoded).hexdigest()[:8]
    prefix = encoded[: max(0, room - 9)].decode("utf-8", "ignore")  # no half character
    return f"{prefix}~{digest}"


#: ``-`` as an output file: standard output (``-o -``, ``--metrics -``).
STDOUT = "-"
_STDOUT_LABEL = "<stdout>"


def check_stdout(*, image: bool, text: bool = False, force: bool = False) -> None:
    """Before any work, for a command that will write ``image`` bytes or ``text`` (metrics)
    to standard output: not both, not to a closed one (``>&-``), and image bytes not to a
    terminal unless ``force`` (binary on a screen is noise and can reprogram it)."""
    if image and text:
        raise UsageError("image data and metrics cannot both go to standard output (-)")
    if not (image or text):
        return
    if sys.stdout is None:
        raise OutputError("standard output is closed", path=_STDOUT_LABEL)
    if image and not force and sys.stdout.isatty():
        raise OutputError(
            "refusing to write image data to a terminal: redirect or pipe it, or add --force",
            path=_STDOUT_LABEL,
        )


def write_stdout(data: bytes) -> None:
    """All of ``data`` to standard output, flushed: a short or failed write (the reader
    left, ``| head -c 10``; a full disk, ``> /dev/full``) is one ``OutputError``, never a
    success. After one, standard output points at ``/dev/null``, so Python's own flush at
    exit cannot print a second error."""
    try:
        if sys.stdout is None:
            raise OSError("standard output is closed")
        sys.stdout.flush()  # text written earlier stays in order
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except (OSError, ValueError) as exc:  # ValueError: a closed stream
        raise stdout_failed(exc) from None


def stdout_failed(exc: OSError | ValueError) -> OutputError:
    """The one-line error of a failed write to standard output (also for text a command
    printed, ``presets list | head -1``); standard output then points at ``/dev/null``, so
    Python's own flush at exit cannot print a second error."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    why = getattr(exc, "strerror", None) or exc
    return OutputError(f"cannot write: {why}", path=_STDOUT_LABEL)


def write_output(data: bytes, path: str | Path) -> None:
    """:func:`write_atomic`, or :func:`write_stdout` for ``-``."""
    if str(path) == STDOUT:
        write_stdout(data)
    else:
        write_atomic(data, path)


def fsync_dir(folder: Path) -> None:
    """Make a rename or link in ``folder`` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _temp_prefix(target: Path) -> str:
    """``.<name>.`` for the temp files of ``target``; for a long name a hash of it, so the
    temp name (14 bytes longer) still fits where the target's does."""
    name = target.name
    if len(os.fsencode(name)) > _TEMP_NAME_MAX:
        name = hashlib.sha256(os.fsencode(name)).hexdigest()[:20]
    return f".{name}."


def remove_temps(target: Path) -> int:
    """Delete leftover temp files of an interrupted write of ``target``; how many."""
    count = 0
    for leftover in target.parent.glob(f"{glob.escape(_temp_prefix(target))}*.tmp"):
        with contextlib.suppress(OSError):
            leftover.unlink()
            count += 1
    return count


@contextlib.contextmanager
def failing_as(doing: str, path: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` inside into one ``OutputError`` line: ``<path>: <doing>: <why>``."""
    try:
        yield
    except OSError as exc:
        kind = NoSpaceError if exc.errno in NO_SPACE else OutputError
        raise kind(f"{doing}: {exc.strerror or exc}", path=path) from None


def _link_new(source: Path, target: Path, fallback: Callable[[], object]) -> None:
    """Hard-link ``source`` to the free name ``target``, never overwriting; ``fallback()``
    where the file system cannot link."""
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, *_NO_LINK):
            raise
        if os.path.lexists(target):  # taken (or taken before the fallback could run)
            raise OutputError("refusing to overwrite an existing file", path=target) from None
        fallback()


def _place(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to the free name ``target``: without hard links a rename (it was free)."""
    _link_new(tmp, target, lambda: os.rename(tmp, target))


@contextlib.contextmanager
def _durable_temp(target: Path, fill: Callable[[IO[bytes]], object]) -> Iterator[Path]:
    """A temp file beside ``target`` written by ``fill(handle)`` and fsync'd, removed on exit
    unless it was moved into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=_temp_prefix(target), suffix=".tmp", dir=target.parent)
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
    with failing_as("cannot write", path), _durable_temp(path, lambda f: f.write(data)) as tmp:
        if overwrite:
            os.replace(tmp, path)
        else:
            _place(tmp, path)
    fsync_dir(path.parent)
    return path


def move_new(source: Path, target: Path) -> Path:
    """Move ``source`` to the free name ``target`` durably: hard link + unlink (killed in
    between, the file is in both places: the watcher's recovery removes the inbox copy), or
    across file systems a durable copy linked into place, then unlink."""
    with failing_as("cannot create folder", target):
        target.parent.mkdir(parents=True, exist_ok=True)
    with failing_as("cannot move", target):
        _link_new(source, target, lambda: _copy(source, target))
    fsync_dir(target.parent)
    with failing_as(f"copied to {target} but cannot remove the original", source):
        source.unlink(missing_ok=True)
    fsync_dir(source.parent)
    return target


def _copy(source: Path, target: Path) -> None:
    if source.is_symlink():
        os.symlink(os.readlink(source), target)
        return
    with (
        open(source, "rb") as src,
        _durable_temp(target, lambda out: shutil.copyfileobj(src, out, 1 << 20)) as tmp,
    ):
        shutil.copystat(source, tmp)
        _place(tmp, target)


@contextlib.contextmanager
def held_lock(path: Path, refusal: Callable[[str], Exception]) -> Iterator[None]:
    """One process at a time: an exclusive ``flock`` on ``path`` holding the holder's pid,
    which the kernel drops when the process dies (even by ``kill -9``), so a stale lock
    never blocks a restart; a second process gets ``refusal(holder pid)`` raised."""
    import fcntl

    with failing_as("cannot create the lock file", path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise refusal(holder) from None
        with failing_as("cannot write the lock file", path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


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


class JsonLines:
    """An append-only JSON-lines file, thread-safe, opened on the first append; a torn last
    line gets a newline first, so it stays one unreadable line, not part of the next record."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self._handle: IO[str] | None = None

    def _open(self) -> IO[str]:
        if self._handle is None:
            with failing_as("cannot write", self.path):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
                if self._handle.tell() > 0:
                    with open(self.path, "rb") as tail:
                        tail.seek(-1, os.SEEK_END)
                        if tail.read(1) != b"\n":
                            self._handle.write("\n")
        return self._handle

    def append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        with self.lock:
            self.append_locked(record, sync=sync)

    def append_locked(self, record: dict[str, Any], *, sync: bool = True) -> None:
        """:meth:`append` for a caller already holding :attr:`lock`: one flushed write."""
        handle = self._open()
        handle.write(json.dumps(record, default=str) + "\n")
        handle.flush()
        if sync:
            os.fsync(handle.fileno())

    def rewrite_locked(self, records: Iterable[dict[str, Any]]) -> int:
        """Replace the whole file atomically with ``records`` (compaction); holds the lock."""
        self.close_locked()
        lines = [json.dumps(r, default=str) + "\n" for r in records]
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
