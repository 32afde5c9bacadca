"""Which files in the inbox are candidates, what they look like on disk, what results are
called: the same rules for the observer, the backlog sweep, the pipeline and recovery."""

from __future__ import annotations

import fnmatch
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path

from ..durable import fit_stem

#: Names never taken: hidden files, editors' and browsers' partial downloads, temp files.
IGNORED_PATTERNS: tuple[str, ...] = (".*", "*.tmp", "*.part", "*.crdownload", "~*")
#: The state folder inside the inbox (hidden, so ignored by the rules above).
STATE_DIRNAME = ".nstfilter"


def is_ignored_name(name: str) -> bool:
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in IGNORED_PATTERNS)


def is_candidate_path(path: Path, inbox: Path) -> bool:
    """A path the watcher may take: inside the inbox, no ignored component on the way."""
    try:
        parts = path.relative_to(inbox).parts
    except ValueError:
        return False
    return bool(parts) and not any(is_ignored_name(part) for part in parts)


def escapes_inbox(path: Path, inbox_real: str) -> bool:
    """True when ``path`` is (or passes through) a symlink resolving outside the inbox
    (``inbox_real``, its realpath), so a link cannot make the watcher read (and then move)
    files the user never put in the inbox."""
    real = os.path.realpath(path)
    return not (real == inbox_real or real.startswith(inbox_real + os.sep))


def stat_of(path: Path, kind: Callable[[int], bool] = stat.S_ISREG) -> os.stat_result | None:
    """``os.stat`` (following links) when ``path`` is of that kind, else ``None``."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st if kind(st.st_mode) else None


def file_state(path: Path) -> list[int] | None:
    """``[size, mtime_ns, inode]`` of a regular file: the same bytes at the same path, as
    far as a cheap check can tell (a file replaced under its name is a new job)."""
    st = stat_of(path)
    return None if st is None else [st.st_size, st.st_mtime_ns, st.st_ino]


def numbered(stem: str, rest: str, number: int, group: Iterable[str] = ()) -> str:
    """``photo`` + ``.starry.png``: 0 -> ``photo.starry.png``, 2 -> ``photo-2.starry.png``:
    right after the original name, so sorted listings keep a photo's results together. A
    name too long for the file system gets a shortened stem (:func:`~nstfilter.durable.
    fit_stem`), the same for every rest of its ``group`` (a file and its ``.error.txt``)."""
    suffix = f"-{number}" if number > 0 else ""
    longest = max([rest, *group], key=lambda r: len(os.fsencode(r)))
    return f"{fit_stem(stem, suffix + longest)}{suffix}{rest}"
