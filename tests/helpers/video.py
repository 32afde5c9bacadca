"""Clips made on the fly for the video tests and benchmarks/video.py: a photo panned (and
zoomed) with known motion, an object moving over a still background, a cut, an optional sine
audio track. Written with PyAV directly, independent of ``nstfilter.video.io``."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from . import SHARED_DATA

CONTENT = SHARED_DATA / "content"


def photo(name: str = "tubingen.jpg", longest: int = 256) -> np.ndarray:
    """A shared photo as RGB uint8, its longest side ``longest``."""
    with Image.open(CONTENT / name) as image:
        image = image.convert("RGB")
        factor = longest / max(image.size)
        size = (round(image.width * factor), round(image.height * factor))
        return np.asarray(image.resize(size, Image.Resampling.LANCZOS))


def pan_frames(
    image: np.ndarray, size: tuple[int, int], count: int, step: tuple[float, float] = (2, 1),
    zoom: float = 1.0, origin: tuple[float, float] = (4, 4),
) -> Iterator[np.ndarray]:  # fmt: skip
    """``count`` (height, width) windows of ``image`` from ``origin`` (x, y) moving ``step``
    = (dx, dy) px per frame, each scaled by ``zoom`` per frame (1: none): the true flow is
    known."""
    height, width = size
    for i in range(count):
        scale = zoom**i
        win_w, win_h = width / scale, height / scale
        x0 = origin[0] + max(0.0, -step[0]) * count + step[0] * i
        y0 = origin[1] + max(0.0, -step[1]) * count + step[1] * i
        box = (x0, y0, x0 + win_w, y0 + win_h)
        crop = Image.fromarray(image).resize((width, height), Image.Resampling.BILINEAR, box=box)
        yield np.asarray(crop)


def moving_object_frames(
    background: np.ndarray, size: tuple[int, int], count: int, side: int = 12, cell: int = 1
) -> Iterator[np.ndarray]:
    """A still background with a checkered square (``cell`` px checks) crossing it (3 px
    per frame)."""
    height, width = size
    still = np.asarray(Image.fromarray(background).resize((width, height)))
    texture = (np.indices((side, side)) // cell).sum(axis=0) % 4 * 60
    for i in range(count):
        frame = still.copy()
        x, y = 2 + 3 * i, height // 2 - side // 2
        frame[y : y + side, x : x + side] = texture[:, : max(0, min(side, width - x))][..., None]
        yield frame


def write_clip(
    path: Path, frames: Iterator[np.ndarray] | list[np.ndarray], *, rate: int = 12,
    audio: bool = False, pts: list[int] | None = None, time_base: Fraction | None = None,
    rotation: int = 0, bt709: bool = False,
) -> Path:  # fmt: skip
    """Encode RGB ``frames`` into ``path`` (H.264 for .mp4/.mov/.mkv, VP9 for .webm), at
    ``rate`` or at explicit ``pts`` in ``time_base``; ``audio`` adds a 440 Hz sine (AAC,
    Opus in .webm) as long as the video."""
    import av

    frames = list(frames)
    height, width = frames[0].shape[:2]
    webm = path.suffix == ".webm"
    with av.open(str(path), "w") as out:
        video = out.add_stream("libvpx-vp9" if webm else "libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if time_base is not None:
            video.time_base = time_base
            video.codec_context.time_base = time_base
        if rotation:
            video.set_display_rotation(rotation)
        if bt709:  # tagged BT.709 (HD) rather than unspecified
            ctx = video.codec_context
            ctx.color_primaries = ctx.color_trc = ctx.colorspace = 1
        sound = None
        if audio:
            sound = out.add_stream("libopus" if webm else "aac", rate=48000 if webm else 16000)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            if bt709:
                frame = frame.reformat(format="yuv420p", dst_colorspace=1)
            frame.pts = pts[i] if pts is not None else i
            if time_base is not None:
                frame.time_base = time_base
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            rate_hz = sound.codec_context.sample_rate
            samples = int(len(frames) / rate * rate_hz)
            chunk = 960 if webm else 1024
            for start in range(0, samples, chunk):
                t = np.arange(start, start + chunk) / rate_hz
                wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
                frame = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = rate_hz, start
                for packet in sound.encode(frame):
                    out.mux(packet)
            for packet in sound.encode():
                out.mux(packet)
    return path


def read_clip(path: Path) -> tuple[list[np.ndarray], list[int], dict]:
    """Decoded RGB frames, their pts and a few stream facts of a clip."""
    import av

    with av.open(str(path)) as clip:
        stream = clip.streams.video[0]
        facts = {
            "audio": [s.codec_context.name for s in clip.streams.audio],
            "time_base": stream.time_base,
            "size": (stream.codec_context.height, stream.codec_context.width),
            "colour": tuple(
                int(getattr(stream.codec_context, k))
                for k in ("color_primaries", "color_trc", "colorspace")
            ),
        }
        frames, stamps, rotation = [], [], 0
        for frame in clip.decode(video=0):
            frames.append(frame.to_ndarray(format="rgb24"))
            stamps.append(frame.pts)
            rotation = frame.rotation
        facts["rotation"] = rotation
    return frames, stamps, facts
