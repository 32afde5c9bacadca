"""Video (issue 19): flicker and speed of styled clips, one table.

A clip is made from the shared photos: Tübingen panned and slowly zoomed (known motion), a
textured square crossing the frame, and a cut to the Golden Gate halfway. Each path styles
it twice through the real product function (``nstfilter.video.style_clip``): with the
default ``--temporal-weight`` and with 0 (independent frames).

* **temporal error**: mean |styled t - styled t-1 warped by the input frames' flow| over
  the reliable pixels (``nstfilter.video.flow.temporal_error``, on the lossless parts),
  averaged over the frames (the frame after the cut excluded), as a ratio to the
  independent frames' on the same clip. Target <= 0.4 for fast and standard.
* **speed**: fast: frames per second of the styling loop (decode, resize, flow both ways,
  mask, warp, network, blend, PNG part), with ``NSTFILTER_THREADS`` threads, beside the
  independent frames' loop and the network alone in the same run. Target >= 4 at 512 px on
  2 cores. Standard: each later frame's time over the first frame's. Target <= 1/3.
* **detail kept**: the consistent frames' fine detail (|Laplacian|) over the independent
  frames': the smear measure (a moving average of differing strokes is a grey blur).

    python benchmarks/video.py                 # all: fast 100 frames + standard 6, at 512 px
    python benchmarks/video.py --skip-standard # fast only (~3 min on 2 quiet cores)
    python benchmarks/video.py --skip-fast     # standard only (~8 min)
    python benchmarks/video.py --skip-standard --strip docs/video-strip.jpg
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from helpers.video import moving_object_frames, pan_frames, photo, write_clip  # noqa: E402

from nstfilter.params import StyleParams  # noqa: E402
from nstfilter.plugins import Plugins  # noqa: E402
from nstfilter.video.clip import style_clip, work_folder  # noqa: E402
from nstfilter.video.flow import FlowEstimator, temporal_error  # noqa: E402

STYLE = REPO.parent / "shared" / "data" / "styles" / "starry_night.jpg"


def make_clip(path: Path, size: int, count: int) -> Path:
    """Pan + zoom over Tübingen with a square crossing it, then a cut to a panned Golden Gate."""
    height, width = round(size * 2 / 3 / 2) * 2, size
    half = count // 2
    pan = list(pan_frames(photo("tubingen.jpg", size * 2), (height, width), half, (1.5, 0.5),
                          zoom=1.002, origin=(size * 0.4, size * 0.5)))  # fmt: skip
    square = list(moving_object_frames(pan[0], (height, width), half, side=size // 8,
                                       cell=max(1, size // 64)))  # fmt: skip
    first = [np.where(np.all(sq == pan[0], axis=-1, keepdims=True), p, sq)
             for p, sq in zip(pan, square)]  # fmt: skip
    second = pan_frames(photo("golden_gate.jpg", size * 2), (height, width), count - half, (-1, 0))
    return write_clip(path, [*first, *second], rate=25)


def run(clip: Path, out: Path, params: StyleParams, plugins: Plugins) -> dict:
    times: list[float] = []
    last = [0.0]

    def progress(event) -> None:
        times.append(event.seconds - last[0])
        last[0] = event.seconds

    start = time.perf_counter()
    result = style_clip(clip, out, [(Image.open(STYLE), 1.0)], params, plugins=plugins,
                        progress=progress, keep_parts=True)  # fmt: skip
    total = time.perf_counter() - start
    return {"result": result, "times": times, "total": total}


def flicker(clip_out: Path, source_frames: list[np.ndarray], cuts: set[int]) -> float:
    """The mean temporal error over the clip's frames (not across a cut)."""
    folder = work_folder(clip_out)
    flow = FlowEstimator(side=0)  # the measure: full-size flow whatever the styling used
    errors = []
    prev = None
    for i, frame in enumerate(source_frames):
        with Image.open(folder / f"{i:06d}.png") as image:
            styled = np.asarray(image.convert("RGB"), np.float32) / 255.0
        if prev is not None and i not in cuts:
            motion = flow.motion(flow.grey(source_frames[i - 1]), flow.grey(frame))
            error = temporal_error(prev, styled, motion)
            if error is not None:
                errors.append(error)
        prev = styled
    return float(np.mean(errors))


def network_alone(frames: list[np.ndarray], plugins: Plugins) -> float:
    """Seconds per frame of the fast network alone (no flow, palette or files), the
    baseline the loop's speed is compared with in the same run."""
    chosen = plugins.filters()["fast"]
    stylizer = chosen.stylizer()
    vector = chosen.vector(stylizer, frames[0] / 255.0, [(Image.open(STYLE), 1.0)], 1.0)
    stylizer.transform(frames[0] / 255.0, vector)  # warm
    start = time.perf_counter()
    for frame in frames:
        stylizer.transform(frame / 255.0, vector)
    return (time.perf_counter() - start) / len(frames)


def source_frames(clip: Path, size: tuple[int, int]) -> list[np.ndarray]:
    from nstfilter.video.clip import resize_frame
    from nstfilter.video.io import probe, read_frames

    return [resize_frame(f.rgb, size) for f in read_frames(probe(clip))]


def detail_kept(out: Path, reference: Path, count: int, cuts: set[int]) -> float:
    """The consistent frames' fine detail (mean |Laplacian| of the luminance) over the
    independent frames', frame by frame, from frame 10 of each chain on: the smear measure
    (a moving average of differing strokes is a grey blur; 1 = as crisp)."""
    import cv2

    def energy(folder: Path, i: int) -> float:
        with Image.open(folder / f"{i:06d}.png") as image:
            grey = np.asarray(image.convert("L"), np.float32) / 255.0
        return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())

    starts = sorted({0, *cuts})
    picks = [i for i in range(count) if min(i - s for s in starts if s <= i) >= 10]
    ours, theirs = work_folder(out), work_folder(reference)
    return float(np.mean([energy(ours, i) / energy(theirs, i) for i in picks]))


def strip(
    path: Path, clip: Path, outs: list[Path], size: tuple[int, int], picks: list[int]
) -> None:
    """Input frames above the styled ones of each run in ``outs``, at ``picks``: a small
    JPEG for the README."""
    frames = source_frames(clip, size)
    cells = []
    for i in picks:
        column = [frames[i]]
        for out in outs:
            with Image.open(work_folder(out) / f"{i:06d}.png") as image:
                column.append(np.asarray(image.convert("RGB")))
        cells.append(np.concatenate(column, axis=0))
    image = Image.fromarray(np.concatenate(cells, axis=1))
    image.thumbnail((1400, 700))
    image.save(path, quality=85)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--standard-size", type=int, default=512)
    parser.add_argument("--standard-frames", type=int, default=6)
    parser.add_argument("--skip-standard", action="store_true")
    parser.add_argument("--skip-fast", action="store_true")
    parser.add_argument(
        "--flow-side", type=int, help="the flow's least longest side (default 320; 4096: full)"
    )
    parser.add_argument("--standard-strip", type=Path, help="the standard run's strip")
    parser.add_argument("--strip", type=Path, help="write a strip of frames (JPEG) here")
    args = parser.parse_args()
    os.environ.setdefault("NSTFILTER_THREADS", "2")
    if args.flow_side is not None:
        from nstfilter.video import flow

        flow.FLOW_SIDE = args.flow_side
    plugins = Plugins.load()
    weight = StyleParams().temporal_weight
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if not args.skip_fast:
            clip = make_clip(work / "clip.mp4", args.size, args.frames)
            warm = StyleParams(filter="fast", size=args.size, temporal_weight=weight)
            style_clip(clip, work / "warm.mp4", [(Image.open(STYLE), 1.0)], warm,
                       plugins=plugins, frames="0:3")  # fmt: skip  # load the networks
            fast = {}
            for tw in (0.0, weight):
                params = StyleParams(filter="fast", size=args.size, temporal_weight=tw)
                fast[tw] = run(clip, work / f"fast-{tw}.mp4", params, plugins)
            res = fast[weight]["result"]
            frames = source_frames(clip, res.size)
            cuts = set(res.cuts) | {args.frames // 2}
            errors = {tw: flicker(work / f"fast-{tw}.mp4", frames, cuts) for tw in fast}
            loop = sum(fast[weight]["times"])
            network = network_alone(frames[:20], plugins)
            kept = detail_kept(work / f"fast-{weight}.mp4", work / "fast-0.0.mp4", args.frames,
                               cuts)  # fmt: skip
            ratio, cost = errors[weight] / errors[0.0], loop / args.frames / network
            what = f"fast, {args.frames} frames at {res.size[1]}x{res.size[0]}"
            rows += [
                (f"{what}: temporal error, {weight} / 0",
                 f"{errors[weight]:.4f} / {errors[0.0]:.4f} = **{ratio:.2f}**",
                 "<= 0.4"),
                (f"{what}: frames/s with consistency, flow included",
                 f"**{args.frames / loop:.1f}** ({args.frames / fast[weight]['total']:.1f} "
                 "with the encode)", ">= 4"),
                (f"{what}: frames/s independent (no flow)",
                 f"{args.frames / sum(fast[0.0]['times']):.1f}", ""),
                (f"{what}: the network alone, frames/s (same run)",
                 f"{1 / network:.1f}; the consistent loop costs {cost:.2f}x",
                 ""),
                (f"{what}: fine detail kept vs independent frames", f"{kept:.2f}", "1 = as crisp"),
                (f"{what}: cuts found", f"{res.cuts}", f"[{args.frames // 2}]"),
            ]  # fmt: skip
            if args.strip:
                half = args.frames // 2
                picks = [0, 12, 33, half - 1, half, args.frames - 1]
                outs = [work / "fast-0.0.mp4", work / f"fast-{weight}.mp4"]
                strip(args.strip, clip, outs, res.size, picks)
        if not args.skip_standard:
            small = make_clip(work / "small.mp4", args.standard_size, args.standard_frames)
            std = {}
            for tw in (0.0, weight):
                params = StyleParams(size=args.standard_size, temporal_weight=tw)
                std[tw] = run(small, work / f"std-{tw}.mp4", params, plugins)
            res = std[weight]["result"]
            sframes = source_frames(small, res.size)
            scuts = set(res.cuts) | {args.standard_frames // 2}
            serr = {tw: flicker(work / f"std-{tw}.mp4", sframes, scuts) for tw in std}
            times = std[weight]["times"]
            later = [t / times[0] for i, t in enumerate(times[1:], 1) if i not in scuts]
            what = f"standard, {args.standard_frames} frames at {res.size[1]}x{res.size[0]}"
            rows += [
                (f"{what}: temporal error, {weight} / 0",
                 f"{serr[weight]:.4f} / {serr[0.0]:.4f} = **{serr[weight] / serr[0.0]:.2f}**",
                 "<= 0.4"),
                (f"{what}: a later frame's time / the first's ({times[0]:.1f} s)",
                 f"**{min(later):.2f}-{max(later):.2f}** (median {np.median(later):.2f})",
                 "<= 0.33"),
                (f"{what}: cuts found", f"{res.cuts}", f"[{args.standard_frames // 2}]"),
            ]  # fmt: skip
            if args.standard_strip:
                half = args.standard_frames // 2
                picks = [0, 1, half - 1, half, args.standard_frames - 1]
                outs = [work / "std-0.0.mp4", work / f"std-{weight}.mp4"]
                strip(args.standard_strip, small, outs, res.size, picks)
    print("| measure | value | target |")
    print("|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
