"""The filter API: ``stylize``/``run_filter`` through the plugin pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from nstfilter import StyleParams, hookimpl, run_filter, stylize
from nstfilter.builtins.color import blend_strength, preserve_color
from nstfilter.errors import UsageError
from nstfilter.plugins import Plugins

STUB = StyleParams(filter="stub", size=48)


@pytest.fixture
def pm(stub_plugins: Plugins) -> Plugins:
    return stub_plugins


@pytest.fixture
def photo():
    rng = np.random.default_rng(3)
    return Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8), "RGB")


def test_pre_and_postprocess_hooks_chain_in_order(pm, photo):
    calls = []

    class Plugin:
        @hookimpl
        def nstfilter_preprocess(self, image, params):
            calls.append(("pre", image.size))
            return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

        @hookimpl
        def nstfilter_postprocess(self, image, original, params):
            calls.append(("post", original.size))
            return image.convert("L").convert("RGB")

        @hookimpl
        def nstfilter_progress(self, event):
            calls.append(("progress", event.step))

    pm.register(Plugin(), name="recorder")
    result = run_filter(photo, [photo], STUB, plugins=pm)
    assert calls[0] == ("pre", (48, 36))
    assert ("progress", 4) in calls and calls[-1] == ("post", (48, 36))
    r, g, b = result.image.split()
    assert r.tobytes() == g.tobytes() == b.tobytes()  # the greyscale postprocess ran
    pm.unregister("recorder")
    assert "recorder" not in pm.names()


def test_strength_and_colour_builtins():
    rng = np.random.default_rng(4)  # moderate colours: no clipping when chroma moves
    photo = Image.fromarray(rng.integers(100, 160, (60, 80, 3), dtype=np.uint8), "RGB")
    red = Image.new("RGB", photo.size, (160, 110, 100))
    assert blend_strength(red, photo, 0.0).tobytes() == photo.tobytes()
    half = np.asarray(blend_strength(red, photo, 0.5), np.float32)
    expected = (np.asarray(red, np.float32) + np.asarray(photo, np.float32)) / 2
    assert np.abs(half - expected).max() <= 1.0
    kept = preserve_color(red, photo).convert("YCbCr")
    y_red = np.asarray(red.convert("YCbCr"))[..., 0].astype(int)
    cbcr_photo = np.asarray(photo.convert("YCbCr"))[..., 1:].astype(int)
    assert np.abs(np.asarray(kept)[..., 0].astype(int) - y_red).max() <= 2
    assert np.abs(np.asarray(kept)[..., 1:].astype(int) - cbcr_photo).max() <= 2


def test_unknown_filter_is_a_usage_error(pm, photo):
    with pytest.raises(UsageError, match="unknown filter 'nope'.*stub"):
        run_filter(photo, [photo], STUB.replace(filter="nope"), plugins=pm)


@pytest.mark.slow  # the real engine
def test_stylize_with_the_real_engine(content_path, style_path):
    events = []
    image = stylize(
        content_path, [(style_path, 1.0)], size=48, iterations=3, scales=1,
        init="style", callback=events.append,
    )  # fmt: skip
    assert image.size == (48, 36) and image.mode == "RGB"
    assert len(events) == 3 and events[-1].loss < events[0].loss * 1.5
