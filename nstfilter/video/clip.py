"""The clip job: style every frame, resumable, then encode once.

Styled frames are kept as lossless PNGs in a work folder beside the result
(``<result>.parts/``), each written atomically, with a small ``state.json`` naming the job
(source, settings, paintings, frame range). Ctrl-C, ``kill -9`` or a crash lose at most the
frame being styled: the same command finds the folder, checks that it is the same job, and
continues after the last finished frame. Frame t depends only on the source and the PNG of
frame t-1 (the chain is kept in 8 bits in every run), so a resumed clip is the same clip.
When all frames are styled, one pass over the source writes the result (audio copied), and
the folder is removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from ..durable import failing_as, write_atomic
from ..errors import Cancelled, OutputError, UsageError
from ..events import Listeners, Progress
from ..imageio import from_array
from ..params import StyleParams
from . import require_cv2, work_folder
from .flow import FlowEstimator, warp
from .io import ClipInfo, Frame, check_target, encode_clip, probe, read_frames
from .temporal import FrameStylist, stylist_for

if TYPE_CHECKING:  # pragma: no cover
    from ..jobspec import Job
    from ..plugins import Plugins

log = logging.getLogger(__name__)

#: Bumped when a change makes old work folders unusable.
STATE_VERSION = 1
STATE = "state.json"


@dataclass(frozen=True)
class ClipProgress:
    """A clip's progress in frames, for bars and log lines."""

    done: int  # frames styled so far (resumed ones included)
    total: int
    seconds: float  # since this run started
    cut: bool = False  # the frame just styled followed a cut
    size: tuple[int, int] = (0, 0)  # (height, width) of the styled frames

    def event(self) -> Progress:
        """The frame as a :class:`~nstfilter.events.Progress` event (``unit`` ``frame``, no
        losses), for the displays and ETAs that photos use."""
        nan = float("nan")
        return Progress(self.done, self.total, 1, 1, *self.size, nan, nan, nan, nan,
                        self.seconds, unit="frame")  # fmt: skip


@dataclass
class ClipResult:
    """What a clip job did."""

    output: Path
    frames: int
    styled: int  # frames styled by this run (the rest were resumed)
    cuts: list[int]
    seconds: float
    size: tuple[int, int]

    @property
    def metrics(self) -> dict[str, Any]:
        return {
            "output": str(self.output), "frames": self.frames, "styled": self.styled,
            "cuts": self.cuts, "seconds": round(self.seconds, 3), "size": list(self.size),
        }  # fmt: skip


def parse_frames(spec: str | None, count: int) -> range:
    """``A:B`` (either side may be empty) as a range within a clip of ``count`` frames."""
    if not spec:
        return range(count)
    head, sep, tail = spec.partition(":")
    try:
        start = int(head) if head.strip() else 0
        stop = int(tail) if sep and tail.strip() else (count if sep else start + 1)
    except ValueError:
        raise UsageError(f"--frames must be A:B (frame numbers from 0), got {spec!r}") from None
    if start < 0 or stop <= start:
        raise UsageError(f"--frames {spec!r} selects no frames (need 0 <= A < B)")
    if start >= count:
        raise UsageError(f"--frames {spec!r} starts after the clip's last frame ({count - 1})")
    return range(start, min(stop, count))


def frame_size(info: ClipInfo, params: StyleParams) -> tuple[int, int]:
    """(height, width) the frames are styled and written at: the result's longest side as
    for photos (``--size``; ``original`` keeps the clip's), both sides even for 4:2:0."""
    longest = params.working_size(max(info.width, info.height))
    factor = longest / max(info.width, info.height)
    height, width = (max(2, round(side * factor / 2) * 2) for side in (info.height, info.width))
    return height, width


def resize_frame(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB uint8 frame to (height, width): area averaging down, Lanczos up."""
    if rgb.shape[:2] == tuple(size):
        return rgb
    cv2 = require_cv2()
    shrink = size[0] * size[1] < rgb.shape[0] * rgb.shape[1]
    method = cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4
    return cv2.resize(rgb, (size[1], size[0]), interpolation=method)


def _fingerprint(
    info: ClipInfo, styles: Sequence[tuple[Image.Image, float]], params: StyleParams,
    frames: range,
) -> str:  # fmt: skip
    """What makes two runs the same job: the source (path, size, mtime), the settings, the
    paintings' pixels and the frame range."""
    digest = hashlib.sha256()
    stat = info.path.stat()
    job = {
        "version": STATE_VERSION, "source": str(info.path.resolve()), "bytes": stat.st_size,
        "mtime_ns": stat.st_mtime_ns, "params": dataclasses.asdict(params),
        "frames": [frames.start, frames.stop],
    }  # fmt: skip
    digest.update(json.dumps(job, sort_keys=True, default=str).encode())
    for image, weight in styles:
        rgb = image.convert("RGB")
        digest.update(f"{rgb.size}:{weight}".encode())
        digest.update(rgb.tobytes())
    return digest.hexdigest()


def _part(folder: Path, index: int) -> Path:
    return folder / f"{index:06d}.png"


def _open_folder(folder: Path, fingerprint: str, info: ClipInfo, frames: range) -> int:
    """Prepare the work folder; how many frames of ``frames`` are already styled."""
    state = folder / STATE
    previous = None
    if state.is_file():
        try:
            previous = json.loads(state.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            previous = None
    if folder.exists() and not (isinstance(previous, dict) and previous.get("job") == fingerprint):
        if folder.exists() and not state.is_file() and any(folder.iterdir()):
            raise OutputError(
                "exists and is not a clip job's work folder; move it away", path=folder
            )
        log.info("%s: settings or source changed since the last run: starting over", folder)
        with failing_as("cannot clear the work folder", folder):
            shutil.rmtree(folder)
    with failing_as("cannot create the work folder", folder):
        folder.mkdir(parents=True, exist_ok=True)
    record = {"job": fingerprint, "source": str(info.path), "frames": [frames.start, frames.stop]}
    write_atomic(json.dumps(record, indent=1).encode(), state)
    done = 0
    for index in frames:
        if not _part(folder, index).is_file():
            break
        done += 1
    return done


class PartWriter:
    """Writes the parts in order on one background thread, so PNG compression and fsync
    overlap the next frame's styling; a write error surfaces at the next :meth:`save`.
    Resume counts only the parts written from the start without a gap, so a part written
    before a crash of the process is either whole (atomic) or absent."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nstfilter-parts")
        self._pending = None

    def save(self, path: Path, rgb: np.ndarray) -> None:
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(_save_part, path, rgb)

    def close(self) -> None:
        """Wait for the last part (its error, if any, raised)."""
        try:
            if self._pending is not None:
                self._pending.result()
        finally:
            self._pool.shutdown(wait=True)
            self._pending = None


def _save_part(path: Path, rgb: np.ndarray) -> None:
    import io

    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, "PNG", compress_level=1)
    write_atomic(buffer.getvalue(), path)


def _start(folder: Path, index: int) -> Path:
    """The marker of a frame that starts a chain (the first, or the first after a cut)."""
    return folder / f"{index:06d}.start"


def _preprocessed(plugins: Plugins, rgb: np.ndarray, params: StyleParams) -> np.ndarray:
    """The ``nstfilter_preprocess`` hooks on one frame, as a photo gets them (same size)."""
    image = plugins.preprocess(Image.fromarray(rgb, "RGB"), params).convert("RGB")
    if image.size != (rgb.shape[1], rgb.shape[0]):
        image = image.resize((rgb.shape[1], rgb.shape[0]), Image.Resampling.LANCZOS)
    return np.asarray(image)


def _load_part(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.asarray(from_array(image))


def style_clip(
    source: str | Path,
    target: str | Path,
    styles: Sequence[tuple[Image.Image, float]],
    params: StyleParams,
    *,
    plugins: Plugins | None = None,
    progress: Callable[[ClipProgress], None] | None = None,
    frames: str | range | None = None,
    max_frames: int | None = None,
    max_pixels: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    engine_callback: Callable[[Any], None] | None = None,
    keep_parts: bool = False,
) -> ClipResult:
    """Style the clip ``source`` into ``target`` (type by suffix) with ``styles`` (PIL
    images with weights) under ``params``; ``frames`` ``"A:B"`` styles a part. Resumes from
    ``<target>.parts/`` when a previous run of the same job left one."""
    from ..plugins import Plugins

    start = time.perf_counter()
    source, target = Path(source), Path(target)
    info = probe(source, max_pixels=max_pixels, max_frames=max_frames)
    check_target(target, info)
    if target.exists() and target.resolve() == source.resolve():
        raise OutputError("refusing to overwrite the input clip", path=target)
    span = frames if isinstance(frames, range) else parse_frames(frames, info.frames)
    plugins = plugins or Plugins.load()
    size = frame_size(info, params)
    folder = work_folder(target)
    done = _open_folder(folder, _fingerprint(info, styles, params, span), info, span)
    if done:
        log.info("%s: resuming after frame %d of %d", source.name, span.start + done - 1, len(span))

    chain = _Chain(plugins, styles, params, folder, engine_callback, should_stop)
    pace = _Pace(len(span), done, start, size)
    with contextlib.closing(PartWriter()) as writer:
        for frame in read_frames(info):
            if frame.index >= span.stop:
                break
            if frame.index < span.start:
                continue
            if should_stop is not None and should_stop():
                raise Cancelled("cancelled")
            rgb = _preprocessed(plugins, resize_frame(frame.rgb, size), params)
            if frame.index - span.start < done:  # styled by an earlier run
                chain.skip(frame.index, rgb)
                continue
            styled_rgb, cut = chain.style(frame.index, rgb)
            if cut:
                log.info("%s: cut before frame %d: the chain restarts", source.name, frame.index)
            writer.save(_part(folder, frame.index), styled_rgb)
            event = pace.frame_done(cut)
            if progress is not None:
                progress(event)

    def paint(frame: Frame) -> np.ndarray:
        styled_rgb = _load_part(_part(folder, frame.index))
        original = Image.fromarray(resize_frame(frame.rgb, size), "RGB")
        result = plugins.postprocess(Image.fromarray(styled_rgb, "RGB"), original, params)
        return np.asarray(result.convert("RGB"))

    cuts = [i for i in span[1:] if _start(folder, i).exists()]
    missing = [i for i in span if not _part(folder, i).is_file()]
    if missing:  # the source had fewer frames than its container said
        raise_truncated(info, missing[0])
    output = encode_clip(info, target, size, paint, span)
    if not keep_parts:
        shutil.rmtree(folder, ignore_errors=True)
    seconds = time.perf_counter() - start
    return ClipResult(output, len(span), pace.styled, cuts, seconds, size)


class _Chain:
    """The chain of styled frames: each frame is styled from its predecessor warped along
    the input frames' flow, unless it starts a chain (the first, or after a cut)."""

    def __init__(
        self, plugins: Plugins, styles, params: StyleParams, folder: Path, callback, should_stop
    ) -> None:
        self.plugins, self.styles, self.params, self.folder = plugins, styles, params, folder
        self.callback, self.should_stop = callback, should_stop
        self.flow = FlowEstimator() if params.temporal_weight > 0 else None
        self.stylist: FrameStylist | None = None
        self.grey: np.ndarray | None = None
        self.styled: np.ndarray | Path | None = None  # the previous styled frame (or its part)
        self.start_rgb: np.ndarray | None = None  # the current chain's first frame

    def skip(self, index: int, rgb: np.ndarray) -> None:
        """A frame styled by an earlier run: remembered for the flow and the chain."""
        self.grey = self.flow.grey(rgb) if self.flow is not None else None
        self.styled = _part(self.folder, index)
        if _start(self.folder, index).exists():
            self.start_rgb = rgb

    def style(self, index: int, rgb: np.ndarray) -> tuple[np.ndarray, bool]:
        """The styled frame (RGB uint8) and whether a cut came before it."""
        pixels = rgb.astype(np.float32) / 255.0
        if self.stylist is None:
            self.stylist = stylist_for(
                self.plugins, self.styles, self.params, pixels, callback=self.callback,
                should_stop=self.should_stop,
            )  # fmt: skip
            if self.start_rgb is not None and self.styled is not None:  # resumed mid-chain:
                self.stylist.prime(self.start_rgb.astype(np.float32) / 255.0)  # its state
        if isinstance(self.styled, Path):
            self.styled = _load_part(self.styled)
        grey = self.flow.grey(rgb) if self.flow is not None else None
        motion = None
        if self.flow is not None and self.styled is not None and self.grey is not None:
            motion = self.flow.motion(self.grey, grey)
        cut = motion is not None and motion.cut
        if motion is None or cut:  # a chain starts: marked before its frame is kept
            write_atomic(b"", _start(self.folder, index))
            image = self.stylist.first(pixels)
        else:
            warped = warp(self.styled.astype(np.float32) / 255.0, motion.backward)
            image = self.stylist.follow(pixels, warped, motion.mask)
        self.grey, self.styled = grey, _to_uint8(image)
        return self.styled, cut


@dataclass
class _Pace:
    """Frames done (resumed ones included) and styled by this run; the time left is the
    displays' (:class:`nstfilter.eta.CostEta` times the later frames, which cost less than
    a chain's first)."""

    total: int
    done: int
    start: float
    size: tuple[int, int]
    styled: int = 0

    def frame_done(self, cut: bool) -> ClipProgress:
        self.styled += 1
        self.done += 1
        seconds = time.perf_counter() - self.start
        return ClipProgress(self.done, self.total, seconds, cut, self.size)


def raise_truncated(info: ClipInfo, index: int) -> None:
    from . import ClipError

    raise ClipError(f"the clip ends at frame {index}, before its stated length", path=info.path)


def style_clip_job(
    job: Job, styles: Sequence[tuple[Image.Image, float]], *, plugins: Plugins,
    listen: Listeners,
) -> tuple[bytes | None, dict[str, Any]]:  # fmt: skip
    """The clip runner of the job pipeline (:data:`nstfilter.jobs.RUNNERS`): every frame
    reaches ``listen.callback`` and the progress hooks as a ``frame`` event.

    With ``job.target`` (a sink beside the runner: apply, batch and the drop folder on
    threads) the clip is read from ``job.path`` and encoded straight into the target,
    resumable from ``<target>.parts/``; nothing is returned but the metrics, and memory holds
    a few frames whatever the clip's length. Otherwise (a process or cluster worker, which
    gets the clip as bytes) the work happens in a folder under the system's temporary one,
    named after the clip's bytes (or file) and type, so a job stopped with its worker
    resumes when run again on the same machine, and the result comes back as bytes."""
    import tempfile

    def report(progress: ClipProgress) -> None:
        event = progress.event()
        plugins.progress(event)
        if listen.callback is not None:
            listen.callback(event)

    path = Path(job.path) if job.path is not None else None
    folder = None
    if job.target is None or path is None:  # a worker's folder, kept for a resumed job
        stat = path.stat() if path is not None else None
        key = hashlib.sha256(job.image if stat is None else f"{path}:{stat.st_mtime_ns}".encode())
        name = f"{key.hexdigest()[:24]}{job.output_ext}"
        folder = Path(tempfile.gettempdir()) / "nstfilter-clips" / name
        with failing_as("cannot create a work folder", folder):
            folder.mkdir(parents=True, exist_ok=True)
        if path is None:
            path = folder / f"source{Path(job.input_name).suffix.lower()}"
            if not path.is_file() or path.stat().st_size != len(job.image):
                write_atomic(job.image, path)
    target = Path(job.target) if job.target else folder / f"result{job.output_ext}"
    try:
        result = style_clip(
            path, target, styles, job.params, plugins=plugins, max_pixels=job.max_pixels,
            max_frames=job.max_frames, frames=job.frames, should_stop=listen.should_stop,
            progress=report,
        )  # fmt: skip
    except Exception as exc:
        if not isinstance(exc, Cancelled):  # only a stopped job is worth resuming
            shutil.rmtree(work_folder(target), ignore_errors=True)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        if job.target is not None:  # the user's own names
            raise
        raise _naming(exc, job.input_name) from None
    metrics = {"filter": job.params.filter, **result.metrics}
    if job.target is not None:
        return None, metrics
    data = target.read_bytes()  # a worker hands the result back as bytes
    shutil.rmtree(target.parent, ignore_errors=True)
    return data, {k: v for k, v in metrics.items() if k != "output"}  # a temporary name


def _naming(exc: Exception, name: str) -> Exception:
    """``exc`` naming the clip as the user knows it (the temporary names mean nothing)."""
    from ..errors import NstError

    if isinstance(exc, NstError) and exc.path is not None:
        return type(exc)(str(exc).removeprefix(f"{exc.path}: "), path=name)
    return exc
