"""The look (issues 10, 18): palette start and finish, layer balance, pooling, real runs.

The fast tests check the mechanisms on synthetic arrays; the slow one runs the real
backbone on a small pair and checks the property users see: the result carries the
painting's colours and texture while the photo's layout is still there.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nstfilter.engine import default_registry, palette_transfer
from nstfilter.engine.objective import layer_weights
from nstfilter.imageio import fit_longest, to_array
from nstfilter.palette import finish_palette
from nstfilter.params import StyleParams


def sliced_w1(a: np.ndarray, b: np.ndarray, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance between two (N, 3) colour clouds."""
    dirs = np.random.default_rng(seed).normal(size=(64, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    levels = np.linspace(0.0, 1.0, 129)[1:-1]
    pa = np.quantile(a.reshape(-1, 3) @ dirs.T, levels, axis=0)
    pb = np.quantile(b.reshape(-1, 3) @ dirs.T, levels, axis=0)
    return float(np.mean(np.abs(pa - pb)))


@pytest.fixture()
def photo_and_painting():
    rng = np.random.default_rng(1)
    ramp = np.linspace(0.0, 1.0, 64, dtype=np.float32)
    photo = np.stack([np.tile(ramp, (48, 1))] * 3, axis=-1) * [0.9, 0.6, 0.3]  # warm ramp
    painting = rng.uniform(0, 1, (40, 40, 3)).astype(np.float32) * [0.2, 0.4, 1.0]  # blues
    return photo.astype(np.float32), painting.astype(np.float32)


def test_palette_transfer_takes_the_paintings_colours_and_keeps_the_shading(
    photo_and_painting,
):
    photo, painting = photo_and_painting
    moved = palette_transfer(photo, [(painting, 1.0)])
    assert moved.shape == photo.shape and moved.dtype == np.float32
    assert sliced_w1(moved, painting) < 0.2 * sliced_w1(photo, painting)
    # light and shade keep their order along the ramp (the photo stays readable)
    brightness = moved.mean(axis=(0, 2))
    assert np.corrcoef(brightness, np.arange(brightness.size))[0, 1] > 0.85


def test_palette_transfer_blends_several_paintings_by_weight(photo_and_painting):
    photo, blue = photo_and_painting
    red = blue[..., ::-1].copy()
    mostly_red = palette_transfer(photo, [(blue, 1.0), (red, 9.0)])
    assert sliced_w1(mostly_red, red) < sliced_w1(mostly_red, blue)


def test_finish_palette_strength_zero_is_a_no_op_and_one_matches(photo_and_painting):
    photo, painting = photo_and_painting
    unchanged = finish_palette(photo, [(painting, 1.0)], StyleParams(palette=0.0))
    assert np.array_equal(unchanged, photo)
    half = finish_palette(photo, [(painting, 1.0)], StyleParams(palette=0.5))
    full = finish_palette(photo, [(painting, 1.0)], StyleParams(palette=1.0))
    assert sliced_w1(full, painting) < sliced_w1(half, painting) < sliced_w1(photo, painting)


def test_normalised_balance_makes_every_layer_count_and_emphasis_scales_it():
    backbone = default_registry().get("vgg16-hed")
    layers = ("block1_conv1", "block2_conv1")
    grams = {layers[0]: tf.fill([1, 4, 4], 100.0), layers[1]: tf.fill([1, 4, 4], 0.1)}
    two = StyleParams(style_layers=layers)
    weights = layer_weights(two, backbone, grams, layers)
    # each weight is 1 / mean(G^2): a target-sized error costs the same in both layers
    assert weights == pytest.approx([1e-4, 100.0])
    emphasised = layer_weights(two.replace(style_layer_weights=(1.0, 0.5)), backbone, grams, layers)
    assert emphasised == pytest.approx([1e-4, 50.0])
    tutorial = dataclasses.replace(backbone, style_balance="equal")
    assert layer_weights(two, tutorial, grams, layers) == [1.0, 1.0]


def test_vgg16_hed_pools_by_average_and_max_stays_available():
    from nstfilter.engine.backbones import extractor

    backbone = default_registry().get("vgg16-hed")
    assert backbone.pooling == "avg"
    avg = extractor(backbone, ("block2_conv1",))
    classic = extractor(dataclasses.replace(backbone, pooling="max"), ("block2_conv1",))
    kinds = {type(layer).__name__ for layer in avg.layers}
    assert "AveragePooling2D" in kinds and "MaxPooling2D" not in kinds
    assert "MaxPooling2D" in {type(layer).__name__ for layer in classic.layers}


def _layout(image: np.ndarray) -> np.ndarray:
    grey = Image.fromarray((image * 255).astype(np.uint8)).convert("L").resize((24, 18))
    return np.asarray(grey, np.float64).ravel()


@pytest.mark.slow
def test_default_result_has_the_paintings_palette_and_the_photos_layout(content_path, style_path):
    """The default path as users get it (issue 18): the fast filter's start, then L-BFGS at
    the full size on the real backbone: the painting's palette and a lower style loss, the
    photo's layout, and the metrics name the precision that ran."""
    from nstfilter.api import run_filter

    photo = to_array(fit_longest(Image.open(content_path).convert("RGB"), 96))
    painting = to_array(fit_longest(Image.open(style_path).convert("RGB"), 96))
    assert StyleParams().init == "fast" and StyleParams().scales == 1
    result = run_filter(str(content_path), [str(style_path)], StyleParams(size=96))
    image = to_array(result.image.convert("RGB"))
    assert sliced_w1(image, painting) < 0.35 * sliced_w1(photo, painting)
    assert result.metrics["final"]["style"] < result.metrics["initial"]["style"]
    assert result.metrics["precision"] in ("float32", "bfloat16")
    # still the photo: its coarse light-dark layout correlates with the result's
    assert np.corrcoef(_layout(photo), _layout(image))[0, 1] > 0.3


@pytest.mark.slow
def test_default_start_falls_back_to_the_palette_without_the_fast_network(
    content_path, style_path, monkeypatch, caplog
):
    """The fast filter's network missing: one warning, and the run starts from the photo in
    the painting's palette, as ``init = "palette"`` does (up to the palette's sampling)."""
    from nstfilter.api import run_filter
    from nstfilter.builtins import fast
    from nstfilter.errors import ModelFileError

    def missing(*args, **kwargs):
        raise ModelFileError("fast filter network missing; reinstall it")

    monkeypatch.setattr(fast.FastFilter, "paint", missing)
    params = StyleParams(size=48, iterations=0)  # the result is the start
    with caplog.at_level("WARNING"):
        fell_back = run_filter(str(content_path), [str(style_path)], params).image
    assert "starting from the photo in the painting's palette" in caplog.text
    palette = run_filter(str(content_path), [str(style_path)], params.replace(init="palette"))
    assert np.abs(to_array(fell_back) - to_array(palette.image)).mean() < 0.03


@pytest.mark.slow
def test_demo_runs_offline_with_a_bundled_painting(tmp_path):
    from helpers import run_cli

    home = tmp_path / "home"
    home.mkdir()
    done = run_cli(
        "demo", "-o", str(tmp_path / "out"), "--size", "64", "--progress", "none",
        env={"HOME": str(home), "NSTFILTER_STYLE_PATH": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = Image.open(tmp_path / "out" / "demo.png")
    assert max(result.size) == 64
    # the sheet: content | style | fast | painted, and the fast result beside the painted one
    sheet = Image.open(tmp_path / "out" / "demo-sheet.png")
    assert sheet.width > 3.5 * sheet.height
    assert max(Image.open(tmp_path / "out" / "demo-fast.png").size) == 64
    # the painting's palette: far more blue than the photo's orange suit and white backdrop
    pixels = np.asarray(result.convert("RGB"), np.float32)
    assert pixels[..., 2].mean() > pixels[..., 0].mean()
