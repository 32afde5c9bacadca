"""Turning ``INPUTS...`` (files, folders, ``@list.txt``) into input files with relative paths.

The relative path decides where the result goes, so the output folder mirrors the input
tree: a folder contributes its images relative to itself (``photos/a/b.jpg`` given as
``photos`` is ``a/b.jpg``; subfolders only with ``recursive``); a file its path as given
when that is relative and stays below the current folder, else its bare name;
``@list.txt`` each non-empty line (``#`` starts a comment), as if given on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import InputNotFoundError
from ..imageio import IMAGE_SUFFIXES
from ..video import CLIP_SUFFIXES


@dataclass(frozen=True)
class InputFile:
    path: Path  # where to read it
    relative: PurePosixPath  # where its results go, relative to the output folder


def read_list(spec: str) -> list[str]:
    path = Path(spec[1:])
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputNotFoundError(f"cannot read list: {exc.strerror or exc}", path=path) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def collect_inputs(
    specs: list[str] | tuple[str, ...], *, recursive: bool = False, exclude: Path | None = None
) -> list[InputFile]:
    """Every input file, in the order given (folders sorted), duplicates dropped; the
    output folder (``exclude``) inside an input folder is skipped: a re-run never styles its
    own results."""
    excluded = exclude.resolve() if exclude is not None else None
    found: dict[Path, InputFile] = {}  # by resolved path: the first mention wins

    def add(path: Path, relative: PurePosixPath) -> None:
        found.setdefault(
            path.resolve() if path.exists() else path.absolute(), InputFile(path, relative)
        )

    expanded: list[str] = []
    for spec in specs:
        expanded += read_list(spec) if spec.startswith("@") and len(spec) > 1 else [spec]
    for spec in expanded:
        path = Path(spec)
        if path.is_dir():
            walker = path.rglob("*") if recursive else path.iterdir()
            for item in sorted(walker):
                relative = item.relative_to(path)  # no hidden file, nor one in a hidden folder
                if (
                    item.suffix.lower() in IMAGE_SUFFIXES | CLIP_SUFFIXES
                    and not any(part.startswith(".") for part in relative.parts)
                    and not (excluded and item.resolve().is_relative_to(excluded))
                    and item.is_file()
                ):
                    add(item, PurePosixPath(relative.as_posix()))
        else:
            below = not path.is_absolute() and ".." not in path.parts  # else its bare name
            add(path, PurePosixPath(path.as_posix() if below else path.name))
    return list(found.values())
