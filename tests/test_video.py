"""Clips (issue 19): made on the fly with PyAV (tiny: 64x48, a dozen frames), styled through
``nstfilter.video.style_clip`` and ``nstfilter apply``. The fast filter's real network
styles them (a second for a clip); one test runs the real engine with its temporal term."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers import run_cli
from helpers.video import moving_object_frames, pan_frames, photo, read_clip, write_clip
from PIL import Image

from nstfilter.errors import Cancelled, ClipError, ClipTooLongError, ImageTooLargeError
from nstfilter.params import StyleParams
from nstfilter.plugins import Plugins

pytest.importorskip("av")
pytest.importorskip("cv2")

from nstfilter.video.clip import style_clip, work_folder  # noqa: E402
from nstfilter.video.flow import FlowEstimator, temporal_error  # noqa: E402

SIZE = (48, 64)
FAST = StyleParams(filter="fast", size=64)


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins.load()


@pytest.fixture(scope="module")
def painting(shared_data) -> Image.Image:
    with Image.open(shared_data / "styles" / "starry_night.jpg") as image:
        return image.convert("RGB").resize((128, 101))


@pytest.fixture(scope="module")
def pan(shared_data) -> list[np.ndarray]:
    return list(pan_frames(photo(longest=160), SIZE, 10, (2, 1)))


def parts(target: Path, count: int) -> list[np.ndarray]:
    folder = work_folder(target)
    return [np.asarray(Image.open(folder / f"{i:06d}.png"), np.float32) / 255 for i in range(count)]


def mean_error(styled: list[np.ndarray], source: list[np.ndarray]) -> float:
    flow = FlowEstimator()
    errors = [
        temporal_error(styled[i - 1], styled[i], flow.motion(flow.grey(source[i - 1]),
                                                             flow.grey(source[i])))
        for i in range(1, len(styled))
    ]  # fmt: skip
    return float(np.mean([e for e in errors if e is not None]))


def test_fast_clip_keeps_frames_timestamps_rotation_and_audio(tmp_path, pan, painting, plugins):
    # variable frame rate: irregular timestamps in milliseconds, a 90 degree display
    # rotation and an AAC sine track
    stamps = [0, 40, 80, 160, 200, 240, 330, 370, 410, 450]
    source = write_clip(tmp_path / "vfr.mp4", pan, pts=stamps, time_base=Fraction(1, 1000),
                        audio=True, rotation=90, bt709=True)  # fmt: skip
    _, in_pts, in_facts = read_clip(source)
    target = tmp_path / "vfr.styled.mp4"
    result = style_clip(source, target, [(painting, 1.0)], FAST, plugins=plugins)
    frames, out_pts, facts = read_clip(target)
    assert result.frames == len(frames) == 10 and result.cuts == []
    assert [float(p * facts["time_base"]) for p in out_pts] == pytest.approx(
        [float(p * in_facts["time_base"]) for p in in_pts]
    )
    assert facts["rotation"] == in_facts["rotation"] == 90
    assert facts["colour"] == in_facts["colour"] == (1, 1, 1)  # BT.709 tags kept
    assert facts["audio"] == ["aac"]
    assert audio_packets(target) == audio_packets(source)  # copied, not re-encoded
    assert not work_folder(target).exists()  # cleaned up after the encode
    # styled: far from the input frames
    assert np.abs(frames[3].astype(float) - pan[3].astype(float)).mean() > 20


def audio_packets(path: Path) -> list[tuple[int, bytes]]:
    import av

    with av.open(str(path)) as clip:
        return [(p.pts, bytes(p)) for p in clip.demux(audio=0) if p.size]


def test_consistency_lowers_the_temporal_error(tmp_path, painting, plugins, shared_data):
    # an object crossing a still background: the background must stay still
    still = photo("golden_gate.jpg", 160)
    frames = list(moving_object_frames(still, SIZE, 12, side=10))
    source = write_clip(tmp_path / "object.mp4", frames)
    styled = {}
    for weight in (0.0, 0.8):
        target = tmp_path / f"w{weight}.mkv"
        style_clip(source, target, [(painting, 1.0)], FAST.replace(temporal_weight=weight),
                   plugins=plugins, keep_parts=True)  # fmt: skip
        styled[weight] = parts(target, 12)
    decoded = [np.asarray(Image.fromarray(f)) for f in read_clip(source)[0]]
    independent, consistent = mean_error(styled[0.0], decoded), mean_error(styled[0.8], decoded)
    assert consistent < 0.5 * independent, (consistent, independent)
    # the still left third (the object starts at x=2 and moves 3 px a frame: right half
    # by then): frame to frame it changes far less with consistency
    left = np.s_[:, :16]
    jitter = {w: np.mean([np.abs(s[i][left] - s[i - 1][left]).mean() for i in range(8, 12)])
              for w, s in styled.items()}  # fmt: skip
    assert jitter[0.8] < 0.5 * jitter[0.0], jitter


def test_a_cut_restarts_the_chain(tmp_path, pan, painting, plugins):
    other = list(pan_frames(photo("golden_gate.jpg", 160), SIZE, 6, (1, 0)))
    source = write_clip(tmp_path / "cut.mp4", [*pan[:6], *other])
    result = style_clip(source, tmp_path / "cut.styled.mp4", [(painting, 1.0)], FAST,
                        plugins=plugins)  # fmt: skip
    assert result.cuts == [6]


def test_resume_after_a_stop_gives_the_same_frames(tmp_path, pan, painting, plugins):
    source = write_clip(tmp_path / "pan.mp4", pan)
    whole = tmp_path / "whole.mp4"
    style_clip(source, whole, [(painting, 1.0)], FAST, plugins=plugins, keep_parts=True)
    target = tmp_path / "stopped.mp4"
    seen = []

    def stop_after_four():
        return len(seen) >= 4

    with pytest.raises(Cancelled):
        style_clip(source, target, [(painting, 1.0)], FAST, plugins=plugins,
                   progress=seen.append, should_stop=stop_after_four)  # fmt: skip
    assert not target.exists()
    assert sorted(p.name for p in work_folder(target).glob("*.png"))[-1] == "000003.png"
    result = style_clip(source, target, [(painting, 1.0)], FAST, plugins=plugins,
                        keep_parts=True)  # fmt: skip
    assert result.styled == 6 and result.frames == 10
    for a, b in zip(parts(whole, 10), parts(target, 10)):
        assert np.array_equal(a, b)
    # changed settings: the old parts are not reused
    again = style_clip(source, target, [(painting, 1.0)], FAST.replace(temporal_weight=0.5),
                       plugins=plugins)  # fmt: skip
    assert again.styled == 10


def test_a_part_and_an_animated_gif(tmp_path, pan, painting, plugins):
    gif = tmp_path / "anim.gif"
    images = [Image.fromarray(f) for f in pan]
    images[0].save(gif, save_all=True, append_images=images[1:], duration=[80, 120] * 5, loop=0)
    target = tmp_path / "anim.styled.gif"
    result = style_clip(gif, target, [(painting, 1.0)], FAST, plugins=plugins, frames="2:7")
    assert result.frames == 5
    with Image.open(target) as out:
        assert out.n_frames == 5
        durations = []
        for i in range(5):
            out.seek(i)
            durations.append(out.info["duration"])
    assert durations == [80, 120, 80, 120, 80]


def test_limits_are_refused_before_any_work(tmp_path, pan, painting, plugins):
    source = write_clip(tmp_path / "pan.mp4", pan)
    with pytest.raises(ClipTooLongError):
        style_clip(source, tmp_path / "a.mp4", [(painting, 1.0)], FAST, max_frames=9)
    with pytest.raises(ImageTooLargeError):
        style_clip(source, tmp_path / "b.mp4", [(painting, 1.0)], FAST, max_pixels=64 * 47)
    assert not work_folder(tmp_path / "a.mp4").exists()
    assert not work_folder(tmp_path / "b.mp4").exists()


def bad_clips(tmp: Path, pan: list[np.ndarray]) -> dict[str, tuple[Path, int]]:
    import av

    good = write_clip(tmp / "good.mp4", pan, audio=True)
    data = good.read_bytes()
    (truncated := tmp / "truncated.mp4").write_bytes(data[: len(data) // 3])
    (empty := tmp / "empty.mp4").write_bytes(b"")
    (garbage := tmp / "garbage.webm").write_bytes(b"not a clip at all" * 100)
    sound = tmp / "sound.mp4"
    with av.open(str(sound), "w") as out:
        stream = out.add_stream("aac", rate=16000)
        for start in range(0, 16000, 1024):
            wave = np.zeros((1, 1024), np.float32)
            frame = av.AudioFrame.from_ndarray(wave, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return {
        "truncated": (truncated, ClipError.exit_code),
        "empty": (empty, ClipError.exit_code),
        "garbage": (garbage, ClipError.exit_code),
        "audio only": (sound, ClipError.exit_code),
    }


def test_bad_clips_fail_in_one_line(tmp_path, pan, style_path):
    cases = bad_clips(tmp_path, pan)
    good = tmp_path / "good.mp4"
    before = good.read_bytes()
    more = {
        "output is the input": (["-o", str(good)], good, 10),
        "too many frames": (["--max-frames", "3"], good, ClipTooLongError.exit_code),
        "too many pixels": (["--max-pixels", "100"], good, ImageTooLargeError.exit_code),
        "audio a .webm cannot hold": (["-o", str(tmp_path / "x.webm")], good, 13),
    }
    runs = {name: ([], path, code) for name, (path, code) in cases.items()} | more
    for name, (extra, path, code) in runs.items():
        out = tmp_path / f"{name.replace(' ', '_')}.out.mp4"
        args = ["apply", str(path), "--style", str(style_path), "--quality", "fast"]
        proc = run_cli(*args, *(extra or ["-o", str(out)]), timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == code, (name, proc.stderr)
        assert len(lines) == 1 and "Traceback" not in proc.stderr, (name, proc.stderr)
        named = "x.webm" if "webm" in name else path.name  # the file at fault
        assert named in lines[0], (name, lines[0])
        assert not out.exists() and not work_folder(out).exists(), name
    assert good.read_bytes() == before


def test_apply_styles_a_clip_from_the_command_line(tmp_path, pan, style_path):
    source = write_clip(tmp_path / "pan.mov", pan, audio=True)
    proc = run_cli("apply", str(source), "--style", str(style_path), "--quality", "fast",
                   "--size", "64", "-o", str(tmp_path) + "/", timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    frames, _, facts = read_clip(tmp_path / "pan.styled.mov")
    assert len(frames) == 10 and facts["audio"] == ["aac"] and facts["size"] == SIZE
    assert "frame 10/10" in proc.stderr


def test_the_temporal_term_has_a_gradient():
    tf = pytest.importorskip("tensorflow")
    from nstfilter.engine.losses import temporal_loss

    image = tf.Variable(tf.fill([1, 4, 4, 3], 0.5))
    target = tf.zeros([1, 4, 4, 3])
    mask = tf.concat([tf.ones([1, 4, 2, 1]), tf.zeros([1, 4, 2, 1])], axis=2)
    with tf.GradientTape() as tape:
        loss = temporal_loss(image, (target, mask, tf.constant(2.0)))
    grad = tape.gradient(loss, image).numpy()
    assert float(loss) == pytest.approx(2.0 * 0.25 * 0.5)  # half the pixels masked out
    assert np.allclose(grad[:, :, :2], 2.0 * 2 * 0.5 / 48) and np.allclose(grad[:, :, 2:], 0)


@pytest.mark.slow  # the real backbone
def test_the_engine_follows_the_warped_frame(tmp_path, pan, painting, plugins):
    source = write_clip(tmp_path / "pan.mp4", pan[:4])
    params = StyleParams(size=64, scales=1, iterations=12, min_size=64)
    styled, seconds = {}, {}
    for weight in (0.0, 0.8):
        target = tmp_path / f"engine{weight}.mp4"
        times = []
        style_clip(source, target, [(painting, 1.0)], params.replace(temporal_weight=weight),
                   plugins=plugins, keep_parts=True, progress=times.append)  # fmt: skip
        styled[weight] = parts(target, 4)
        seconds[weight] = times
    decoded = [np.asarray(f) for f in read_clip(source)[0]]
    independent, consistent = mean_error(styled[0.0], decoded), mean_error(styled[0.8], decoded)
    assert consistent < 0.6 * independent, (consistent, independent)


def test_kill_9_then_the_same_command_continues_to_the_same_clip(tmp_path, pan, style_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from helpers import STUB_PLUGINS

    source = write_clip(tmp_path / "pan.mkv", pan)
    env = {**os.environ, "NSTFILTER_PLUGINS_DIR": str(STUB_PLUGINS), "TF_CPP_MIN_LOG_LEVEL": "3"}
    args = ["apply", str(source), "--style", str(style_path), "--filter", "stub", "--size", "64"]
    whole = tmp_path / "whole.mkv"
    assert run_cli(*args, "-o", str(whole), env=env).returncode == 0
    target = tmp_path / "killed.mkv"
    slow = {**env, "NSTFILTER_STUB_DELAY": "0.4"}  # each frame 0.4 s
    command = [sys.executable, "-m", "nstfilter", *args, "-o", str(target)]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    proc = subprocess.Popen(command, env=slow, **quiet)
    try:
        deadline = time.monotonic() + 60
        while len(list(work_folder(target).glob("*.png"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    kept = len(list(work_folder(target).glob("*.png")))
    assert 3 <= kept < 10 and not target.exists()
    again = run_cli(*args, "-o", str(target), "-v", env=env)
    assert again.returncode == 0, again.stderr
    assert "resuming after frame" in again.stderr
    for a, b in zip(read_clip(whole)[0], read_clip(target)[0], strict=True):
        assert np.array_equal(a, b)


def test_the_colour_table_is_read_trilinearly():
    # the flat-planes remap against SciPy's trilinear read of the same (n, n, n, 3) table
    from scipy.ndimage import map_coordinates

    from nstfilter.video.temporal import apply_table

    grid = np.linspace(0.0, 1.0, 9)
    cube = np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1)
    table = np.stack([np.sin(3 * cube[..., 0] + cube[..., 2]), cube[..., 1] ** 2,
                      1 - cube[..., 2] * cube[..., 0]], -1).astype(np.float32)  # fmt: skip
    image = np.random.default_rng(0).random((20, 30, 3), dtype=np.float32)
    image[0, :3] = [[0, 0, 0], [1, 1, 1], [1, 0, 1]]  # the table's corners
    coords = image.reshape(-1, 3).T * 8
    expected = np.stack([map_coordinates(table[..., c], coords, order=1) for c in range(3)], -1)
    got = apply_table(table, image)
    assert got.shape == image.shape and got.dtype == np.float32
    assert np.abs(got.reshape(-1, 3) - expected).max() < 1e-4
    assert np.allclose(got[0, 1], table[-1, -1, -1]) and np.allclose(got[0, 2], table[-1, 0, -1])


def test_flow_at_half_size_keeps_the_unreliable_band():
    # flow at 96 px for 192x144 frames: vectors scaled back to the frames' pixels, a {0, 1}
    # mask, and the pixels the full-size flow distrusts round the moving square stay
    # distrusted (a half-trusted pixel there would drag a ghost of the square along)
    from nstfilter.video.flow import flow_side

    assert (flow_side(512), flow_side(1024), flow_side(400), flow_side(64)) == (320, 640, 320, 64)
    background = photo("golden_gate.jpg", 400)
    square = list(moving_object_frames(background, (144, 192), 8, side=24, cell=3))
    pans = list(pan_frames(background, (144, 192), 8, (2, 0)))
    frames = [np.where(np.all(s == square[0], -1, keepdims=True), p, s)
              for p, s in zip(pans, square)]  # fmt: skip
    full, small = FlowEstimator(side=0), FlowEstimator(side=96)
    a, b = full.grey(frames[5]), full.grey(frames[6])
    reference, scaled = full.motion(a, b), small.motion(a, b)
    assert scaled.backward.shape == (144, 192, 2) and set(np.unique(scaled.mask)) <= {0.0, 1.0}
    sky = np.s_[10:40, 60:150]  # the window pans 2 px a frame to the right
    assert np.median(scaled.backward[sky][..., 0]) == pytest.approx(2.0, abs=0.5)
    around = np.s_[56:88, 12:52]  # the square (x 20-44, y 60-84 in frame 6) and its wake
    distrusted = reference.mask[around] < 0.5
    assert distrusted.sum() > 50
    assert (scaled.mask[around][distrusted] > 0.5).mean() < 0.1
    # where the half-size flow trusts the square, it follows it (3 px a frame)
    trusted = scaled.mask[60:84, 20:44] > 0.5
    assert np.all(np.abs(scaled.backward[60:84, 20:44][trusted][:, 0] + 3) < 1.0)


def test_the_blend_keeps_the_strokes_of_the_warped_frame_at_the_paintings_crispness():
    # a still shot whose painting gets new strokes over the same colours every frame: a
    # plain moving average smears them (its fine detail fades frame by frame); the follow
    # blend keeps the previous frame's strokes at the fresh painting's strength, and leaves
    # unreliable pixels fresh
    import cv2

    from nstfilter.video.temporal import blend, follow_blend

    rng = np.random.default_rng(1)
    base = np.full((64, 64, 3), 0.5, np.float32)
    paintings = [
        np.clip(base + 0.2 * rng.standard_normal((64, 64, 3)), 0, 1).astype(np.float32)
        for _ in range(8)
    ]
    mask = np.ones((64, 64), np.float32)
    mask[:, :16] = 0.0

    def detail(image: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(image[:, 24:], cv2.CV_32F)).mean())

    plain = kept = paintings[0]
    for fresh in paintings[1:]:
        previous = kept
        plain, kept = blend(fresh, plain, mask, 0.8), follow_blend(fresh, kept, mask, 0.8)
    assert detail(plain) < 0.5 * detail(fresh)
    assert detail(kept) > 0.9 * detail(fresh)
    corr = [np.corrcoef((kept - base)[:, 24:].ravel(), (x - base)[:, 24:].ravel())[0, 1]
            for x in (previous, fresh)]  # fmt: skip
    assert corr[0] > 2 * corr[1], corr
    assert np.allclose(kept[:, :10], fresh[:, :10], atol=1e-6)


@pytest.mark.slow  # builds the engine's stylizer
def test_a_later_frame_starts_from_the_warp_with_a_fifth_of_its_own_painting(
    monkeypatch, pan, painting, plugins
):
    # where the warp is reliable the start (and the temporal target) is the warped frame
    # with FOLLOW_PULL of the frame's fast painting, so the steps of all earlier frames do
    # not pile up; where it is not, the fast painting alone
    import nstfilter.engine as engine
    import nstfilter.palette as palette
    from nstfilter.video import temporal

    seen = {}

    def fake_stylize(stylizer, frame, styles, params, *, init_image=None, temporal=None, **_):
        seen.update(start=init_image, temporal=temporal, params=params)
        return type("Result", (), {"image": init_image})()

    monkeypatch.setattr(engine, "stylize_tensor", fake_stylize)
    monkeypatch.setattr(palette, "finish_palette", lambda image, *a, **k: image)
    frame = pan[0].astype(np.float32) / 255
    frames = temporal.EngineFrames(plugins, [(painting, 1.0)], StyleParams(size=64),
                                   frame.shape[:2])  # fmt: skip
    warped = np.full_like(frame, 0.5)
    mask = np.zeros(frame.shape[:2], np.float32)
    mask[:, 32:] = 1.0
    out = frames.follow(frame, warped, mask)
    painted = frames._fast(frame).paint(frame)
    start = seen["start"]
    assert np.allclose(start[:, :20], painted[:, :20], atol=1e-5)
    expected = 0.5 + temporal.FOLLOW_PULL * (painted - 0.5)
    assert np.abs(start[:, 44:] - expected[:, 44:]).mean() < 0.02  # (plus detail raised)
    assert np.abs(start[:, 44:] - 0.5).mean() > 0.01  # not the warped frame alone
    assert seen["temporal"].target is start and np.array_equal(seen["temporal"].mask, mask)
    assert seen["params"].iterations == 4 and seen["params"].scales == 1
    assert out is start
