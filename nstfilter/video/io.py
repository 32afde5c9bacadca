"""Clips in and out, one frame at a time: PyAV (FFmpeg's codecs inside its wheel) for
.mp4/.mov/.mkv/.webm and for writing animated .gif/.webp; Pillow for reading animated
.gif/.webp (FFmpeg cannot decode animated WebP).

A styled clip must play like its source: the same frames at the same timestamps (variable
frame rates too, so each frame keeps its own ``pts`` in the source's time base), the same
display rotation and colour tags, and the audio packets copied untouched. Nothing here holds
more than one decoded frame.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ..durable import failing_as, fsync_dir
from ..errors import ImageTooLargeError, InputNotFoundError, OutputError
from ..imageio import pixel_limit
from . import CLIP_SUFFIXES, ClipError, ClipTooLongError, require_av

log = logging.getLogger(__name__)

#: Animated image formats: read by Pillow (frame durations in milliseconds).
ANIMATED = frozenset({".gif", ".webp"})
_MS = Fraction(1, 1000)

#: suffix -> (container format, video codec, pixel format, codec options)
ENCODERS: dict[str, tuple[str, str, str, dict[str, str]]] = {
    ".mp4": ("mp4", "libx264", "yuv420p", {"crf": "17", "preset": "medium"}),
    ".mov": ("mov", "libx264", "yuv420p", {"crf": "17", "preset": "medium"}),
    ".mkv": ("matroska", "libx264", "yuv420p", {"crf": "17", "preset": "medium"}),
    ".webm": ("webm", "libvpx-vp9", "yuv420p", {"crf": "30", "b": "0", "cpu-used": "4"}),
    ".gif": ("gif", "gif", "pal8", {}),
    ".webp": ("webp", "libwebp_anim", "yuv420p", {"quality": "90", "loop": "0"}),
}


@dataclass(frozen=True)
class ClipInfo:
    """What the styled clip must keep of its source, read before any work."""

    path: Path
    width: int
    height: int
    frames: int
    time_base: Fraction
    rate: Fraction | None  # average frame rate (None: unknown)
    rotation: int = 0  # display rotation in degrees (counter-clockwise)
    audio_codec: str | None = None
    colour: dict[str, int] = field(default_factory=dict)  # primaries, trc, colorspace, range

    @property
    def animated(self) -> bool:
        return self.path.suffix.lower() in ANIMATED


@dataclass(frozen=True)
class Frame:
    """One decoded frame: RGB pixels (H, W, 3) uint8 and its timestamp in the clip's base."""

    index: int
    rgb: np.ndarray
    pts: int
    duration: int = 0  # in the clip's time base; 0: unknown


def probe(
    path: str | Path, *, max_pixels: int | None = None, max_frames: int | None = None
) -> ClipInfo:
    """Open ``path`` and check it before any work: a video stream, at least one frame, within
    the pixel limit per frame and ``max_frames`` (counted by demuxing, no decoding)."""
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError("no such file", path=path)
    if path.is_dir() or path.stat().st_size == 0:
        raise ClipError("not a clip (a folder or an empty file)", path=path)
    if path.suffix.lower() not in CLIP_SUFFIXES:
        raise ClipError(
            f"unknown clip type {path.suffix or '(none)'!r}; use one of "
            f"{', '.join(sorted(CLIP_SUFFIXES))}",
            path=path,
        )
    info = _probe_animated(path) if path.suffix.lower() in ANIMATED else _probe_av(path)
    limit = pixel_limit(max_pixels)
    if info.width * info.height > limit:
        raise ImageTooLargeError(
            f"frames of {info.width}x{info.height} = {info.width * info.height:,} pixels exceed "
            f"the limit of {limit:,} (--max-pixels)",
            path=path,
        )
    if max_frames is not None and info.frames > max_frames:
        raise ClipTooLongError(
            f"{info.frames} frames exceed the limit of {max_frames} (--max-frames)", path=path
        )
    return info


def _probe_animated(path: Path) -> ClipInfo:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            width, height = image.size
            count = getattr(image, "n_frames", 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ClipError(f"corrupt or unreadable animation: {exc}", path=path) from None
    return ClipInfo(path, width, height, count, _MS, None)


def _open_input(path: Path) -> Any:
    av = require_av()
    try:
        return av.open(str(path), metadata_errors="replace")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise ClipError(f"not a readable clip: {_why(exc)}", path=path) from None


def _why(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _probe_av(path: Path) -> ClipInfo:
    av = require_av()
    with _open_input(path) as container:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["no streams"]
            raise ClipError(f"no video stream ({', '.join(kinds)} only)", path=path)
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        ctx = video.codec_context
        if video.codec_context.codec is None or not ctx.width or not ctx.height:
            raise ClipError("unknown video codec or frame size", path=path)
        count = 0
        try:
            for packet in container.demux(video):
                if packet.size:
                    count += 1
        except (av.FFmpegError, OSError) as exc:
            raise ClipError(f"corrupt or truncated clip: {_why(exc)}", path=path) from None
        if count == 0:
            raise ClipError("the clip has no frames", path=path)
        colour = {
            "color_primaries": int(ctx.color_primaries), "color_trc": int(ctx.color_trc),
            "colorspace": int(ctx.colorspace), "color_range": int(ctx.color_range),
        }  # fmt: skip
        facts = (
            ctx.width, ctx.height, count, Fraction(video.time_base),
            Fraction(video.average_rate) if video.average_rate else None,
        )  # fmt: skip
        audio_codec = audio.codec_context.name if audio is not None else None
    # the display rotation travels as side data on the frames: decode the first one
    with _open_input(path) as container:
        try:
            first = next(container.decode(video=0), None)
        except (av.FFmpegError, OSError) as exc:
            raise ClipError(f"corrupt or truncated clip: {_why(exc)}", path=path) from None
        if first is None:
            raise ClipError("no frame could be decoded", path=path)
        rotation = int(round(first.rotation or 0))
    return ClipInfo(path, *facts, rotation, audio_codec, colour)


def read_frames(info: ClipInfo) -> Iterator[Frame]:
    """The clip's frames in order, decoded one at a time (RGB, the clip's own size)."""
    if info.animated:
        yield from _read_animated(info)
        return
    av = require_av()
    with _open_input(info.path) as container:
        container.streams.video[0].thread_type = "AUTO"
        index, last_pts = 0, None
        try:
            for frame in container.decode(video=0):
                rgb = frame.to_ndarray(format="rgb24", src_color_range=frame.color_range or None)
                pts = _pts(frame.pts, last_pts, info)
                last_pts = pts
                yield Frame(index, rgb, pts, int(frame.duration or 0))
                index += 1
        except (av.FFmpegError, OSError) as exc:
            raise ClipError(
                f"corrupt or truncated clip at frame {index}: {_why(exc)}", path=info.path
            ) from None


def _pts(pts: int | None, last: int | None, info: ClipInfo) -> int:
    """A frame's timestamp; one missing is the previous plus a frame at the average rate."""
    if pts is not None and (last is None or pts > last):
        return int(pts)
    if last is None:
        return 0
    step = 1 if info.rate is None else max(1, round(1 / (info.rate * info.time_base)))
    return last + step


def _read_animated(info: ClipInfo) -> Iterator[Frame]:
    from PIL import Image

    pts = 0
    try:
        with Image.open(info.path) as image:
            for index in range(info.frames):
                image.seek(index)
                duration = max(1, round(float(image.info.get("duration") or 100)))
                yield Frame(index, np.asarray(image.convert("RGB")), pts, duration)
                pts += duration
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ClipError(f"corrupt or truncated animation: {exc}", path=info.path) from None


class ClipWriter:
    """Encodes RGB frames at their own timestamps into ``target``'s format (by suffix), with
    the source's rotation and colour tags and its audio packets copied untouched. Written to
    a temp file beside ``target`` and moved into place only by :meth:`commit`."""

    def __init__(self, target: Path, info: ClipInfo, size: tuple[int, int]) -> None:
        av = require_av()
        suffix = target.suffix.lower()
        if suffix not in ENCODERS:
            raise ClipError(
                f"cannot write {suffix or '(none)'!r} clips; use one of "
                f"{', '.join(sorted(ENCODERS))}",
                path=target,
            )
        fmt, codec, self.pix_fmt, options = ENCODERS[suffix]
        self.target, self.info = target, info
        with failing_as("cannot create folder", target):
            target.parent.mkdir(parents=True, exist_ok=True)
        with failing_as("cannot write", target):
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            os.close(fd)
        self.tmp = Path(name)
        self.container = av.open(str(self.tmp), "w", format=fmt)
        # GIF counts in centiseconds; every other format keeps the source's time base
        self.time_base = Fraction(1, 100) if suffix == ".gif" else info.time_base
        stream = self.container.add_stream(codec, options=options)
        stream.width, stream.height = size[1], size[0]
        stream.pix_fmt = self.pix_fmt
        stream.time_base = self.time_base
        stream.codec_context.time_base = self.time_base
        if info.rate:
            stream.codec_context.framerate = info.rate
        self.colour: dict[str, Any] = {}
        if self.pix_fmt.startswith("yuv"):
            for key, value in info.colour.items():
                if value not in (0, 2) or key == "color_range" and value:
                    setattr(stream.codec_context, key, value)
            self.colour = {k: v for k, v in info.colour.items() if v}
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        self.video = stream
        self.audio = None
        if info.audio_codec is not None and info.audio_codec not in self.container.supported_codecs:
            self.abort()
            raise ClipError(
                f"its {info.audio_codec} audio cannot be copied into a {suffix} clip "
                "untouched; choose an output type that holds it (.mkv holds any)",
                path=target,
            )
        self._last_pts: int | None = None

    def add_audio_from(self, template: Any) -> None:
        """An output audio stream copying ``template``'s codec parameters (before writing)."""
        self.audio = self.container.add_stream_from_template(template)

    def write(self, rgb: np.ndarray, pts: int, duration: int = 0) -> None:
        """One frame at ``pts`` lasting ``duration`` (the source's time base; 0: unknown)."""
        av = require_av()
        if self.time_base != self.info.time_base:
            pts = round(pts * self.info.time_base / self.time_base)
            duration = round(duration * self.info.time_base / self.time_base)
        if self._last_pts is not None and pts <= self._last_pts:
            pts = self._last_pts + 1  # never two frames at one instant (the muxer drops one)
        self._last_pts = pts
        frame = _to_frame(av, np.ascontiguousarray(rgb), self.pix_fmt, self.colour)
        frame.pts, frame.time_base = pts, self.time_base
        if duration > 0:
            frame.duration = duration
        for packet in self.video.encode(frame):
            if duration > 0 and not packet.duration and packet.pts == pts:
                packet.duration = duration  # the GIF muxer times the last frame by it
            self.container.mux(packet)

    def mux_audio(self, packet: Any, offset: float) -> None:
        """A source audio packet, shifted ``offset`` seconds earlier (a ``--frames`` part)."""
        if self.audio is None or packet.pts is None:
            return
        shift = round(offset / packet.time_base) if offset else 0
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        packet.stream = self.audio
        self.container.mux(packet)

    def _mux(self, packets: Any) -> None:
        for packet in packets:
            self.container.mux(packet)

    def commit(self) -> Path:
        """Flush, close and move the clip into place durably."""
        self._mux(self.video.encode())
        self.container.close()
        with failing_as("cannot write", self.target):
            with open(self.tmp, "rb+") as handle:
                mask = os.umask(0)  # the usual mode (mkstemp's is private), as durable's
                os.umask(mask)
                os.fchmod(handle.fileno(), 0o666 & ~mask)
                os.fsync(handle.fileno())
            os.replace(self.tmp, self.target)
        fsync_dir(self.target.parent)
        return self.target

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()
        self.tmp.unlink(missing_ok=True)


def _to_frame(av: Any, rgb: np.ndarray, pix_fmt: str, colour: dict[str, int]) -> Any:
    if pix_fmt == "pal8":  # GIF: an adaptive palette per frame (swscale's fixed one bands)
        from PIL import Image

        quantised = Image.fromarray(rgb, "RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
        palette = (quantised.getpalette() or [])[:768]
        rgb_table = np.zeros((256, 3), np.uint8)
        rgb_table[: len(palette) // 3] = np.array(palette, np.uint8).reshape(-1, 3)
        argb = np.concatenate([np.full((256, 1), 255, np.uint8), rgb_table], axis=1)
        return av.VideoFrame.from_ndarray((np.asarray(quantised), argb), format="pal8")
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    space = colour.get("colorspace")
    return frame.reformat(
        format=pix_fmt,
        dst_colorspace=space if space in (1, 4, 5, 7, 9) else None,
        dst_color_range=colour.get("color_range") or None,
    )


def check_target(target: Path, info: ClipInfo) -> None:
    """Before any work: ``target``'s type can be written and can hold the source's audio
    untouched (a .webm holds only Opus and Vorbis)."""
    suffix = target.suffix.lower()
    if suffix not in ENCODERS:
        raise ClipError(
            f"cannot write {suffix or '(none)'!r} clips; use one of {', '.join(sorted(ENCODERS))}",
            path=target,
        )
    if info.audio_codec is None:
        return
    import io

    av = require_av()
    with av.open(io.BytesIO(), "w", format=ENCODERS[suffix][0]) as probe_out:
        supported = info.audio_codec in probe_out.supported_codecs
    if not supported:
        raise ClipError(
            f"the source's {info.audio_codec} audio cannot be copied into a {suffix} clip "
            "untouched; choose an output type that holds it (.mkv holds any)",
            path=target,
        )


def clip_writer(target: Path, info: ClipInfo, size: tuple[int, int]) -> ClipWriter:
    """A :class:`ClipWriter`; FFmpeg refusing the settings is one :class:`ClipError` line."""
    av = require_av()
    try:
        return ClipWriter(target, info, size)
    except (av.FFmpegError, ValueError) as exc:
        raise OutputError(f"cannot encode: {_why(exc)}", path=target) from None


def encode_clip(
    info: ClipInfo,
    target: Path,
    size: tuple[int, int],
    paint: Callable[[Frame], np.ndarray],
    frames: range,
) -> Path:
    """Write ``target``: each source frame in ``frames`` becomes ``paint(frame)`` (RGB at
    ``size``), at its own timestamp shifted so the part starts at 0; the source's audio
    packets of that stretch are copied. One pass over the source, so audio and video come
    interleaved as they were."""
    writer = clip_writer(target, info, size)
    try:
        if info.animated:
            offset = None
            for frame in read_frames(info):
                if frame.index in frames:
                    offset = frame.pts if offset is None else offset
                    writer.write(paint(frame), frame.pts - offset, frame.duration)
        else:
            _encode_av(info, writer, paint, frames)
        return writer.commit()
    except BaseException:
        writer.abort()
        raise


def _encode_av(info: ClipInfo, writer: ClipWriter, paint, frames: range) -> None:
    """The source demuxed once: video decoded, painted and encoded; audio packets copied.
    A whole clip keeps its timestamps as they are; a part starts at 0, its audio the
    packets between its first frame and the end of its last."""
    av = require_av()
    whole = frames.start == 0 and frames.stop >= info.frames
    with _open_input(info.path) as container:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        audio = container.streams.audio[0] if info.audio_codec else None
        if audio is not None:
            writer.add_audio_from(audio)
        part = _Part(writer, whole)
        index, last_pts = 0, None
        try:
            for packet in container.demux(*(s for s in (video, audio) if s is not None)):
                if packet.stream.type == "audio":
                    part.audio(packet)
                    continue
                for decoded in packet.decode():
                    pts = _pts(decoded.pts, last_pts, info)
                    last_pts = pts
                    now = float(pts * info.time_base)
                    if index in frames:
                        if part.start is None:
                            part.begin(pts, now)
                        rgb = decoded.to_ndarray(
                            format="rgb24", src_color_range=decoded.color_range or None
                        )
                        duration = int(decoded.duration or 0)
                        frame = Frame(index, rgb, pts, duration)
                        writer.write(paint(frame), pts - part.offset, duration)
                    elif index == frames.stop and part.stop is None:
                        part.stop = now
                    part.advance(now)
                    index += 1
        except (av.FFmpegError, OSError) as exc:
            raise ClipError(
                f"corrupt or truncated clip at frame {index}: {_why(exc)}", path=info.path
            ) from None
        part.finish()


@dataclass
class _Part:
    """Which audio packets go with the styled stretch, decided as the video time advances
    (packets come interleaved by time, so a few are held until their side is known)."""

    writer: ClipWriter
    whole: bool
    offset: int = 0
    start: float | None = None
    stop: float | None = None
    video_time: float = 0.0
    held: list = field(default_factory=list)

    def begin(self, pts: int, seconds: float) -> None:
        if not self.whole:
            self.offset, self.start = pts, seconds
        else:
            self.start = 0.0

    def audio(self, packet: Any) -> None:
        if packet.pts is None:
            return
        if self.whole:
            self.writer.mux_audio(packet, 0.0)
        else:
            self.held.append(packet)
            self._decide()

    def advance(self, seconds: float) -> None:
        self.video_time = seconds
        self._decide()

    def _decide(self, final: bool = False) -> None:
        keep = []
        for packet in self.held:
            at = float(packet.pts * packet.time_base)
            if self.start is None:
                keep.append(packet)  # not started yet: held (dropped if it starts later)
            elif at < self.start - 1e-6 or (self.stop is not None and at >= self.stop):
                continue
            elif self.stop is not None or at <= self.video_time or final:
                self.writer.mux_audio(packet, self.start)
            else:
                keep.append(packet)
        self.held = keep

    def finish(self) -> None:
        self._decide(final=True)
