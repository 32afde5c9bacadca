"""Turning ``INPUTS...`` (files, folders, ``@list.txt``) into input files with relative paths.

The relative path decides where the result goes, so the input tree is mirrored in the
output folder:

- a folder contributes its images relative to itself (``photos/a/b.jpg`` given as
  ``photos`` is ``a/b.jpg``; subfolders only with ``recursive``);
- a file contributes its path as given when that is relative and stays below the current
  folder (``trip/x.jpg`` stays ``trip/x.jpg``), else its bare name;
- ``@list.txt`` contributes each non-empty line (``#`` starts a comment), read as if given
  on the command line; relative lines are relative to the current folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InputNotFoundError
from ..imageio import IMAGE_SUFFIXES


@dataclass(frozen=True)
class InputFile:
    path: Path  # where to read it
    relative: PurePosixPath  # where its results go, relative to the output folder


def _is_image_name(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        path.resolve().relative_to(folder)
    except ValueError:
        return False
    return True


def _relative_of_file(path: Path) -> PurePosixPath:
    if not path.is_absolute() and ".." not in path.parts:
        return PurePosixPath(path.as_posix())
    return PurePosixPath(path.name)


def read_list(spec: str) -> list[str]:
    """The entries of ``@list.txt``."""
    path = Path(spec[1:])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputNotFoundError(f"cannot read list: {exc.strerror or exc}", path=path) from None
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(line)
    return entries


def collect_inputs(
    specs: list[str] | tuple[str, ...], *, recursive: bool = False, exclude: Path | None = None
) -> list[InputFile]:
    """Every input file, in the order given (folders sorted), duplicates dropped.

    ``exclude`` (the output folder) is skipped when it lies inside an input folder, so a
    re-run never styles its own results.
    """
    excluded = exclude.resolve() if exclude is not None else None
    found: list[InputFile] = []
    seen: set[Path] = set()

    def add(path: Path, relative: PurePosixPath) -> None:
        key = path.resolve() if path.exists() else path.absolute()
        if key not in seen:
            seen.add(key)
            found.append(InputFile(path, relative))

    expanded: list[str] = []
    for spec in specs:
        expanded += read_list(spec) if spec.startswith("@") and len(spec) > 1 else [spec]
    for spec in expanded:
        path = Path(spec)
        if path.is_dir():
            walker = path.rglob("*") if recursive else path.iterdir()
            for item in sorted(walker):
                if _inside(item, excluded) or not item.is_file() or not _is_image_name(item):
                    continue
                relative = item.relative_to(path)
                if any(part.startswith(".") for part in relative.parts):
                    continue
                add(item, PurePosixPath(relative.as_posix()))
        else:
            add(path, _relative_of_file(path))
    return found


def output_relative(relative: PurePosixPath, preset: str, ext: str) -> PurePosixPath:
    """``a/b.jpg`` with preset ``starry`` and ``.png`` is ``a/b.starry.png``."""
    return relative.parent / f"{relative.stem}.{preset}{ext}"
