"""Which files in the inbox are candidates, and what their results are called.

Pure functions on paths: no IO beyond ``os.lstat``/``realpath`` for symlinks, so the rules
are easy to test and the same for the observer, the backlog sweep and recovery.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from ..imageio import FORMATS

#: Names never taken: hidden files, editors' and browsers' partial downloads, temp files.
IGNORED_PATTERNS: tuple[str, ...] = (".*", "*.tmp", "*.part", "*.crdownload", "~*")
#: The state folder inside the inbox (hidden, so ignored by the rules above).
STATE_DIRNAME = ".nstfilter"


def is_ignored_name(name: str) -> bool:
    """True for names matching :data:`IGNORED_PATTERNS` (case-insensitive)."""
    lowered = name.lower()
    return any(fnmatch.fnmatchcase(lowered, pattern) for pattern in IGNORED_PATTERNS)


def relative_parts(path: Path, inbox: Path) -> tuple[str, ...] | None:
    """The parts of ``path`` below ``inbox``, or ``None`` when it is not inside."""
    try:
        return path.relative_to(inbox).parts
    except ValueError:
        return None


def is_candidate_path(path: Path, inbox: Path) -> bool:
    """A path the watcher may take: inside the inbox, no ignored component on the way."""
    parts = relative_parts(path, inbox)
    if not parts:
        return False
    return not any(is_ignored_name(part) for part in parts)


def escapes_inbox(path: Path, inbox_real: str) -> bool:
    """True when ``path`` is (or passes through) a symlink resolving outside the inbox.

    ``inbox_real`` is ``os.path.realpath(inbox)``. Links inside the inbox that stay inside
    are fine; anything else is not followed, so a link cannot make the watcher read (and
    then move) files the user never put in the inbox.
    """
    real = os.path.realpath(path)
    return not (real == inbox_real or real.startswith(inbox_real + os.sep))


def output_extension(source: Path, preset_format: str | None) -> str:
    """The result's extension: the preset's ``[output] format``, else the input's own
    format when nstfilter can write it (a JPEG stays a JPEG), else PNG."""
    if preset_format:
        return f".{preset_format.lower().lstrip('.')}"
    suffix = source.suffix.lower()
    return suffix if suffix in FORMATS else ".png"


def output_name(source: Path, preset: str, ext: str) -> tuple[str, str]:
    """``(<name>, .<preset>.<ext>)``: the result is ``<name>.<preset>.<ext>``, split so a
    clash suffix can go between the two parts (see :func:`numbered`)."""
    return source.stem, f".{preset}{ext}"


def split_name(name: str) -> tuple[str, str]:
    """``photo.jpg`` -> ``("photo", ".jpg")``; ``README`` -> ``("README", "")``."""
    path = Path(name)
    return path.stem, path.suffix


def numbered(stem: str, rest: str, number: int) -> str:
    """``photo`` + ``.starry.png``: 0 -> ``photo.starry.png``, 2 -> ``photo-2.starry.png``.

    The number goes right after the original name, before the preset and extension, so
    sorted listings keep a photo's results together."""
    return f"{stem}{rest}" if number <= 0 else f"{stem}-{number}{rest}"
