"""Outputs against inputs: the one check every front-end makes before any work starts.

A filter must never cost its user a file: :func:`check_plan` refuses an output that *is* an
input or another output (through symlinks, ``..``, hard links, bind mounts), and proves each
output's folder writable, so a read-only folder fails in a second, not after minutes.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .builtins.joblog import JOB_LOG_ENV
from .durable import failing_as
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


@dataclass(frozen=True)
class Series:
    """Outputs whose exact names are known only while running (``--save-every``'s
    ``r.step-0001.png``, ``r.step-0003.png``...): a folder and a pattern their names match.
    Every existing file there that matches counts as one of them in :func:`check_plan`."""

    label: str
    folder: Path
    pattern: re.Pattern[str]

    def matches(self, path: str) -> bool:
        """Whether ``path``, as written or with links resolved, is one of these names."""
        folder = os.path.realpath(self.folder)
        for where in (os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path)),
                      os.path.realpath(path)):  # fmt: skip
            if os.path.dirname(where) == folder and self.pattern.fullmatch(os.path.basename(where)):
                return True
        return False


def snapshot_path(target: Path, step: int) -> Path:
    """``--save-every``'s intermediate result of ``step``: ``<stem>.step-NNNN<suffix>``."""
    return target.with_name(f"{target.stem}.step-{step:04d}{target.suffix}")


def snapshot_series(target: Path) -> Series:
    """Every name :func:`snapshot_path` can give beside ``target`` (4 digits or more)."""
    name = re.escape(target.stem) + r"\.step-\d{4,}" + re.escape(target.suffix)
    return Series("intermediate results", target.parent, re.compile(name))


@dataclass(frozen=True)
class Plan:
    """A checked plan; :meth:`check_output` checks a name decided later (a snapshot) at
    write time against the same inputs, so the pattern and the write agree."""

    read: dict[object, str]

    def check_output(self, label: str, path: str | os.PathLike[str]) -> None:
        for key in _identities(os.fspath(path)):
            if key in self.read:
                raise OutputError(f"refusing to write the {label} over the {self.read[key]}",
                                  path=path)  # fmt: skip


def check_plan(
    outputs: Iterable[Entry],
    inputs: Iterable[Entry],
    *,
    consumed: Iterable[Entry] = (),
    writable: bool = True,
    series: Iterable[Series] = (),
) -> Plan:
    """Refuse a plan in which an output would replace an input or another output, an
    existing input or output matches a ``series`` of outputs, or any file lives in a
    ``consumed`` folder (the watcher's inbox, emptied); probe the folders."""
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
    for family in series:
        for label, path in [*inputs, *outputs]:
            if family.matches(path):
                raise OutputError(
                    f"refusing to plan the {family.label} ({family.pattern.pattern} in "
                    f"{family.folder}): the {label} has one of their names",
                    path=path,
                )
    for folder_label, folder in consumed:
        root = os.path.realpath(folder)
        for label, path in [*inputs, *outputs]:
            if Path(os.path.realpath(path)).is_relative_to(root):
                raise OutputError(
                    f"the {label} is inside the {folder_label}, which nstfilter empties", path=path
                )
    if not writable:
        return Plan(read)
    # a real write (``os.access`` is wrong for root, ACLs and read-only mounts), once per
    # folder: a batch has thousands of outputs in a few folders
    for path in {os.path.dirname(os.path.abspath(p)): p for _, p in outputs}.values():
        with failing_as("cannot write here", path):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=Path(path).parent, prefix=".nstfilter-probe-"):
                pass
    return Plan(read)


def private_temp_dir(name: str) -> Path | None:
    """``<tmp>/<name>-<uid>``, this user's only (0700), or ``None``: another user may have
    planted that name, so it is made by ``mkdir`` (never follows a link) and used only if it
    is a real folder owned by us that nobody else may enter."""
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
