"""Outputs against inputs: the one check every front-end makes before any work starts.

A filter must never cost its user a file. Each front-end (apply, batch, watch) lists every
file it will write and every file it reads, and :func:`check_plan` refuses (one line, exit
code 10) an output that *is* an input or two outputs that are one file, then proves each
output's folder writable, so a read-only folder fails in a second, not after minutes of
styling. ``os.path.realpath`` compares files that do not exist yet (through symlinks and
``..``); for existing files the inode does (hard links, bind mounts, case-insensitive file
systems).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .builtins.joblog import JOB_LOG_ENV
from .errors import OutputError

#: An entry of a plan: ``(what it is, path)``, e.g. ``("metrics", Path("m.json"))``.
Entry = tuple[str, "str | os.PathLike[str]"]


def _identities(path: str) -> list[object]:
    """What makes two paths one file: the real path, and for an existing file its inode."""
    try:
        st = os.stat(path)
    except OSError:  # does not exist (yet): the real path decides
        return [os.path.realpath(path)]
    return [os.path.realpath(path), (st.st_dev, st.st_ino)]


def _inside(path: str, folder: str) -> bool:
    real, root = os.path.realpath(path), os.path.realpath(folder)
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


def check_writable(path: str | os.PathLike[str]) -> None:
    """Create ``path``'s folder and a throw-away file in it, or raise :class:`OutputError`
    (a real write: ``os.access`` is wrong for root, ACLs and read-only mounts)."""
    folder = Path(path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder, prefix=".nstfilter-probe-"):
            pass
    except OSError as exc:
        raise OutputError(f"cannot write here: {exc.strerror or exc}", path=path) from None


def check_plan(
    outputs: Iterable[Entry],
    inputs: Iterable[Entry],
    *,
    consumed: Iterable[Entry] = (),
    writable: bool = True,
) -> None:
    """Refuse a plan in which an output would replace an input or another output.

    ``consumed`` are folders whose files nstfilter moves away (the watcher's inbox): no
    input or output may live there. With ``writable`` each output's folder is probed.
    """
    if job_log := os.environ.get(JOB_LOG_ENV):  # an output of every run
        outputs = [*outputs, ("job log", job_log)]
    outputs = [(label, os.fspath(path)) for label, path in outputs]
    inputs = [(label, os.fspath(path)) for label, path in inputs]
    # reversed: the first input to claim a file names it
    read = {key: label for label, path in reversed(inputs) for key in _identities(path)}
    written: dict[object, str] = {}
    for label, path in outputs:  # dictionaries, not pairs: a batch has thousands of files
        for key in _identities(path):
            if key in read:
                raise OutputError(f"refusing to write the {label} over the {read[key]}", path=path)
            if key in written:
                raise OutputError(
                    f"the {written[key]} and the {label} would be the same file "
                    "(rename the inputs or give separate outputs)",
                    path=path,
                )
        for key in _identities(path):
            written[key] = label
    for folder_label, folder in consumed:
        for label, path in [*inputs, *outputs]:
            if _inside(path, os.fspath(folder)):
                raise OutputError(
                    f"the {label} is inside the {folder_label}, which nstfilter empties", path=path
                )
    if writable:  # one probe per folder: a batch has thousands of outputs in a few folders
        for path in {os.path.dirname(os.path.abspath(p)): p for _, p in outputs}.values():
            check_writable(path)


def private_temp_dir(name: str) -> Path | None:
    """``<tmp>/<name>-<uid>``, a folder of this user's only (0700), or ``None``.

    A fixed name in the shared temporary folder could be a folder or link another user
    planted, so it is made by ``mkdir`` (which never follows a link) and used only if it is
    a real folder owned by us that nobody else may enter.
    """
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"{name}-{uid}"
    try:
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        st = os.lstat(folder)
    except OSError:
        return None
    private = stat.S_ISDIR(st.st_mode) and st.st_uid == uid and not st.st_mode & 0o077
    return folder if private else None
