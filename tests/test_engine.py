"""The engine on the real ``vgg16-hed`` backbone, at small sizes."""

from __future__ import annotations

import gc

import numpy as np
import psutil
import pytest
from PIL import Image

from nstfilter.engine import Stylizer, bucket_shape, default_registry, scale_sizes, stylize_tensor
from nstfilter.errors import Cancelled, LayerError, UsageError
from nstfilter.imageio import fit_longest, from_array, to_array
from nstfilter.params import StyleParams

#: real TensorFlow runs: `pytest -m "not slow"` skips them for a fast loop
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backbone():
    return default_registry().get("vgg16-hed")


@pytest.fixture(scope="module")
def stylizer(backbone):
    params = StyleParams()
    return Stylizer(backbone, params.content_layers, params.style_layers)


@pytest.fixture(scope="module")
def images(content_path, style_path):
    content = to_array(fit_longest(Image.open(content_path).convert("RGB"), 64))
    style = to_array(fit_longest(Image.open(style_path).convert("RGB"), 64))
    return content, style


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_optimizers_reduce_the_loss(stylizer, images, optimizer):
    content, style = images
    params = StyleParams(
        size=64, scales=1, iterations=15, optimizer=optimizer, seed=1, init="palette"
    )
    events = []
    result = stylize_tensor(stylizer, content, [(style, 1.0)], params, callback=events.append)
    assert result.image.shape == content.shape
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0
    assert result.final.loss < 0.5 * result.initial.loss
    assert result.final.style < 0.5 * result.initial.style
    assert [e.step for e in events] == list(range(1, 16))
    assert events[-1].total == 15
    assert not np.allclose(result.image, content)


def test_multi_scale_runs_every_scale(stylizer, images):
    content, style = images
    params = StyleParams(
        size=64, scales=2, min_size=32, coarse_iterations=3, iterations=3, init="palette"
    )
    assert scale_sizes(48, 64, params) == [(24, 32), (48, 64)]
    events = []
    stylize_tensor(stylizer, content, [(style, 1.0)], params, callback=events.append)
    assert [e.scale for e in events] == [1, 1, 1, 2, 2, 2]
    assert (events[0].height, events[0].width) == (24, 32)


def test_seed_makes_noise_init_reproducible(stylizer, images):
    content, style = images
    params = StyleParams(size=64, scales=1, iterations=3, init="noise", seed=7)
    first = stylize_tensor(stylizer, content, [(style, 1.0)], params).image
    again = stylize_tensor(stylizer, content, [(style, 1.0)], params).image
    other = stylize_tensor(stylizer, content, [(style, 1.0)], params.replace(seed=8)).image
    np.testing.assert_allclose(first, again, atol=1e-5)
    assert np.abs(first - other).mean() > 0.01


def test_blended_styles_pull_between_their_colours(stylizer, images):
    content, _ = images
    red = np.zeros((64, 64, 3), np.float32)
    red[..., 0] = 0.9
    blue = np.zeros((64, 64, 3), np.float32)
    blue[..., 2] = 0.9
    params = StyleParams(size=64, scales=1, iterations=20, init="noise")
    only_red = stylize_tensor(stylizer, content, [(red, 1.0)], params).image
    mixed = stylize_tensor(stylizer, content, [(red, 1.0), (blue, 1.0)], params).image
    red_bias = lambda img: img[..., 0].mean() - img[..., 2].mean()  # noqa: E731
    assert red_bias(only_red) > red_bias(mixed)


def test_cancel_stops_the_run(stylizer, images):
    content, style = images
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) >= 3

    params = StyleParams(size=64, scales=1, iterations=50, optimizer="adam", init="palette")
    with pytest.raises(Cancelled):
        stylize_tensor(stylizer, content, [(style, 1.0)], params, should_stop=stop)
    assert len(calls) == 3


def test_unknown_layer_lists_the_valid_ones(backbone):
    with pytest.raises(LayerError, match="block5_conv2"):
        Stylizer(backbone, ("block9_conv9",), StyleParams().style_layers)


def test_extractor_stops_at_the_deepest_layer(backbone):
    shallow = Stylizer(backbone, ("block2_conv1",), ("block1_conv1", "block2_conv1"))
    names = [layer.name for layer in shallow.model.vgg.layers]
    assert names[-1] == "block2_conv1"
    assert not any(name.startswith("block3") for name in names)


def test_negative_or_zero_style_weights_are_refused(stylizer, images):
    content, style = images
    with pytest.raises(UsageError):
        stylize_tensor(stylizer, content, [(style, -1.0)], StyleParams(iterations=1))
    with pytest.raises(UsageError):
        StyleParams(style_weight=-1.0)


def test_array_round_trip_never_negates_pixels():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (9, 7, 3), dtype=np.uint8)
    image = Image.fromarray(pixels, "RGB")
    np.testing.assert_array_equal(np.asarray(from_array(to_array(image))), pixels)


def test_memory_and_traces_stay_flat_over_varied_sizes(stylizer, images):
    """A watcher feeds many sizes: one compiled graph serves them all, and the working sizes
    fall into a few shape buckets, so per-shape kernel caches cannot grow memory with every
    new photo (see ``bucket_shape``)."""
    _, style = images
    params = StyleParams(size=64, scales=1, iterations=2, init="palette")
    rng = np.random.default_rng(0)
    process = psutil.Process()

    def run(h: int, w: int) -> None:
        content = rng.random((h, w, 3), dtype=np.float32)
        result = stylize_tensor(stylizer, content, [(style, 1.0)], params)
        assert result.image.shape == (h, w, 3)

    # photos fitted to a 64 px preset: short sides from 40 to 63, both orientations
    warm_up = [(side, 64) for side in range(40, 65, 4)] + [(64, s) for s in range(40, 64, 4)]
    shorts = [side for side in range(41, 64) if side % 4]
    sizes = [(side, 64) for side in shorts] + [(64, side) for side in shorts]
    assert len(set(sizes)) >= 20 and not set(sizes) & set(warm_up)
    for h, w in warm_up:  # first traces, allocator pools, one photo per shape bucket
        run(h, w)
    gc.collect()
    graphs = (stylizer.loss_terms, stylizer.loss_and_grads, stylizer.train_step, stylizer.features)

    def tracing_count() -> int:
        return sum(graph.experimental_get_tracing_count() for graph in graphs)

    traces_before = tracing_count()
    rss_before = process.memory_info().rss
    assert {bucket_shape(h, w) for h, w in sizes} <= {bucket_shape(h, w) for h, w in warm_up}
    for h, w in sizes:
        run(h, w)
    gc.collect()
    growth_mb = (process.memory_info().rss - rss_before) / 2**20
    assert tracing_count() - traces_before <= 2, "graphs retraced per size"
    assert growth_mb < 40, f"RSS grew {growth_mb:.0f} MB over {len(sizes)} new sizes"


def test_bucket_shape_pads_by_less_than_one_bucket():
    assert bucket_shape(384, 512) == (384, 512)
    assert bucket_shape(383, 512) == (384, 512)
    assert bucket_shape(341, 512) == (352, 512)
    assert bucket_shape(20, 33) == (20, 34)  # small images: finer steps (33 // 16 = 2)
    for h, w in [(1, 1), (17, 900), (777, 1001)]:
        bh, bw = bucket_shape(h, w)
        assert h <= bh < h + 16 and w <= bw < w + 16
