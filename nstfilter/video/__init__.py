"""Clips styled frame by frame without flicker (Ruder et al. 2016, "Artistic style transfer
for videos"): optical flow between the input frames carries the previous styled frame
forward, a forward-backward check masks what the flow cannot be trusted with, and each frame
is pulled towards its warped predecessor where the mask allows.

    io        decoding and encoding, one frame at a time (PyAV, Pillow for animations)
    flow      OpenCV's DIS flow, the consistency mask, warping, cut detection
    temporal  how a frame is styled given its warped predecessor (fast blend, or the
              engine's masked temporal loss)
    clip      the resumable clip job: work folder, state, progress, final encode

PyAV and OpenCV are the ``video`` extra: :func:`require_av` names it when missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ClipError, ClipTooLongError, MissingExtraError

#: Clip types written (and read).
WRITTEN = frozenset({".mp4", ".mov", ".mkv", ".webm", ".gif", ".webp"})
#: Suffixes that are always clips (a .gif or .webp is a clip only when animated): the
#: written video types and other containers FFmpeg reads (their results default to .mp4).
VIDEO_ONLY = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg",
                        ".ts", ".mts", ".m2ts", ".flv", ".wmv", ".3gp", ".ogv"})  # fmt: skip
#: Clip types read.
CLIP_SUFFIXES = VIDEO_ONLY | {".gif", ".webp"}
_EXTRA = "pip install 'nstfilter[video]'"

__all__ = [
    "CLIP_SUFFIXES", "ClipError", "ClipTooLongError", "VIDEO_ONLY", "WRITTEN", "is_clip",
    "require_av", "require_cv2", "result_suffix", "work_folder",
]  # fmt: skip


def require_av() -> Any:
    """PyAV, or one line naming the extra that installs it."""
    try:
        import av
    except ImportError:
        raise MissingExtraError(f"video needs PyAV: {_EXTRA}") from None
    return av


def require_cv2() -> Any:
    """OpenCV, or one line naming the extra that installs it."""
    try:
        import cv2
    except ImportError:
        raise MissingExtraError(f"video needs OpenCV: {_EXTRA}") from None
    return cv2


def result_suffix(source: str | Path) -> str:
    """A clip's result keeps its type where nstfilter writes it, else becomes .mp4."""
    suffix = Path(source).suffix.lower()
    return suffix if suffix in WRITTEN else ".mp4"


def work_folder(target: str | Path) -> Path:
    """Where a clip styled into ``target`` keeps its styled frames until it is encoded
    (``<target>.parts/``): part of every front-end's output plan."""
    target = Path(target)
    return target.with_name(target.name + ".parts")


def is_clip(path: str | Path) -> bool:
    """Whether ``path`` is styled as a clip: a video suffix, or an animated GIF/WebP
    (a still one stays a photo)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in VIDEO_ONLY:
        return True
    if suffix not in CLIP_SUFFIXES or not path.is_file():
        return False
    from PIL import Image

    try:
        with Image.open(path) as image:
            return bool(getattr(image, "is_animated", False))
    except Exception:  # noqa: BLE001 - unreadable: the photo path reports it in one line
        return False
