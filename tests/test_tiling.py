"""Tiling for large images: geometry, shared Gram statistics, and a seam-free tiled run."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nstfilter.engine import Stylizer, default_registry, gram_matrix, should_tile, stylize_tensor
from nstfilter.engine.objective import tiled_grams
from nstfilter.engine.tiling import axis_spans, feather_mask, tile_boxes, tiled_sizes
from nstfilter.imageio import fit_longest, to_array
from nstfilter.params import StyleParams

#: real TensorFlow runs: `pytest -m "not slow"` skips them for a fast loop
pytestmark = pytest.mark.slow

TILE = 64


@pytest.fixture(scope="module")
def stylizer():
    params = StyleParams()
    return Stylizer(default_registry().get("vgg16-hed"), params.content_layers, params.style_layers)


@pytest.fixture(scope="module")
def images(content_path, style_path):
    content = to_array(fit_longest(Image.open(content_path).convert("RGB"), 160))
    style = to_array(fit_longest(Image.open(style_path).convert("RGB"), 160))
    return content, style


@pytest.mark.parametrize("length", [64, 65, 100, 160, 1000, 4096])
def test_axis_spans_cover_with_overlap(length):
    spans = axis_spans(length, TILE, 16)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(stop - start == min(TILE, length) for start, stop in spans)
    for (_, stop), (start, _) in zip(spans, spans[1:]):
        assert stop - start >= 16, "neighbours must overlap by at least the requested pixels"


def test_feather_mask_ramps_only_at_inner_edges():
    height, width = 120, 160
    boxes = tile_boxes(height, width, TILE, 16)
    coverage = np.zeros((height, width), np.float32)
    for box in boxes:
        y0, y1, x0, x1 = box
        mask = feather_mask(box, height, width, 16)[..., 0]
        assert mask.shape == (y1 - y0, x1 - x0)
        assert mask.max() == 1.0 and mask.min() > 0.0
        coverage[y0:y1, x0:x1] = np.maximum(coverage[y0:y1, x0:x1], mask)
        if x0 > 0:  # an inner left edge starts near 0
            assert mask[:, 0].max() < 0.1
    assert coverage.min() >= 0.5, "every pixel gets a tile that owns it"
    assert coverage[0, 0] == 1.0 and coverage[-1, -1] == 1.0, "image borders are not feathered"


def test_tiled_sizes_double_up_to_the_full_size():
    params = StyleParams(tile_size=1024)
    assert tiled_sizes(3072, 4096, params) == [(1536, 2048), (3072, 4096)]
    assert tiled_sizes(768, 1500, params) == [(768, 1500)]
    assert should_tile(768, 1025, params) and not should_tile(768, 1024, params)
    assert not should_tile(4000, 4000, params.replace(tile_size=0))


def test_tiled_grams_match_the_whole_image(stylizer, images):
    """Style statistics measured tile by tile are the whole image's, not a crop's."""
    _, style = images
    image = tf.constant(style[None])
    whole = stylizer.style_grams(image)
    tiled = tiled_grams(stylizer, image, TILE)
    crop = {n: gram_matrix(f) for n, f in stylizer.features(image[:, :64, :64]).items()}
    for name in stylizer.model.style_layers:
        err = np.linalg.norm(tiled[name] - whole[name]) / np.linalg.norm(whole[name])
        crop_err = np.linalg.norm(crop[name] - whole[name]) / np.linalg.norm(whole[name])
        if not name.startswith("block5"):  # block 5 sees mostly padding in 64 px tiles
            assert err < 0.1, f"{name}: tiled Gram off by {err:.2f}"
        assert err < crop_err, name


def _seam_ratio(image: np.ndarray, edges: set[int], axis: int) -> float:
    """Mean |difference| across the given pixel edges over the median of all edges."""
    diffs = np.abs(np.diff(image, axis=axis)).mean(axis=(1 - axis, 2) if axis == 0 else (0, 2))
    at_edges = max(diffs[e - 1] for e in edges)
    return float(at_edges / np.median(diffs))


def test_seam_metric_sees_a_hard_seam(images):
    content, _ = images
    seamed = content.copy()
    seamed[:, 80:] = np.clip(seamed[:, 80:] + 0.06, 0, 1)
    assert _seam_ratio(seamed, {80}, axis=1) > 1.5


def test_tiled_run_has_the_right_size_and_no_seams(stylizer, images):
    content, style = images
    height, width = content.shape[:2]
    params = StyleParams(
        tile_size=TILE, iterations=4, coarse_iterations=4, scales=1, init="palette"
    )
    events = []
    result = stylize_tensor(stylizer, content, [(style, 1.0)], params, callback=events.append)
    image = result.image
    assert image.shape == content.shape and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0
    assert result.sizes[-1] == (height, width) and len(result.sizes) >= 2
    assert np.abs(image - content).mean() > 0.02, "the tiles were stylised"
    assert result.final.loss < result.initial.loss
    steps = [e.step for e in events]
    assert steps == sorted(steps) and events[-1].step <= events[-1].total
    # Tile borders: every tile edge inside the image, both axes.
    boxes = tile_boxes(height, width, TILE, max(16, TILE // 8))
    cols = {x for _, _, x0, x1 in boxes for x in (x0, x1) if 0 < x < width}
    rows = {y for y0, y1, _, _ in boxes for y in (y0, y1) if 0 < y < height}
    assert cols and rows
    assert _seam_ratio(image, cols, axis=1) < 1.5
    assert _seam_ratio(image, rows, axis=0) < 1.5
