"""Procedural style images: deterministic, distinct, cached on demand."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from PIL import Image

from nstfilter import presets, procedural
from nstfilter.errors import InputNotFoundError

SMALL = 96


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    """A private platformdirs cache (Linux: XDG_CACHE_HOME)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("name", sorted(procedural.GENERATORS))
def test_generators_are_deterministic_rgb_squares(name):
    generate = getattr(procedural, name)
    first, second = generate(size=SMALL), generate(size=SMALL)
    assert first.mode == "RGB" and first.size == (SMALL, SMALL)
    assert np.array_equal(np.asarray(first), np.asarray(second))
    assert np.asarray(first).std() > 20  # a picture, not a flat colour


def test_the_two_looks_differ():
    swirl = np.asarray(procedural.swirl(size=SMALL), np.float32)
    mosaic = np.asarray(procedural.mosaic(size=SMALL), np.float32)
    # swirl: blue night sky; mosaic: saturated glass of every hue with dark lead lines
    assert swirl[..., 2].mean() > swirl[..., 0].mean() + 20
    assert abs(mosaic[..., 0].mean() - mosaic[..., 2].mean()) < 40
    assert (mosaic.max(-1) < 40).mean() > 0.05  # lead lines
    assert (swirl.max(-1) < 40).mean() < 0.05
    assert np.abs(swirl - mosaic).mean() > 40


def test_mosaic_draws_a_web_of_even_dark_lead_lines_between_the_panes():
    """What the mosaic preset promises (issue 18): the result takes its dark outlines from
    lead lines ~8 px wide around ~90 panes; the first generator's 1-3 px seams around 220
    cells gave patches with dark seams only here and there."""
    from scipy import ndimage

    image = np.asarray(procedural.mosaic(), np.float32)  # 512 px, as the preset uses it
    lead = image.max(-1) < 40
    glass = ndimage.distance_transform_edt(~lead) > 4  # pane interiors
    assert image[lead].mean() < 30 and image[glass].max(-1).mean() > 100  # dark seams
    labels, _ = ndimage.label(lead)
    assert np.bincount(labels.ravel())[1:].max() > 0.99 * lead.sum()  # one connected web
    depth = ndimage.distance_transform_edt(lead)
    assert (depth >= 3).sum() > 0.2 * lead.sum()  # lines >= 6 px wide (v1: none)
    assert 60 <= ndimage.label(~lead)[1] <= 120  # panes


def test_another_seed_gives_another_image():
    a = np.asarray(procedural.mosaic(size=SMALL, seed=1))
    b = np.asarray(procedural.mosaic(size=SMALL, seed=2))
    assert not np.array_equal(a, b)


def test_procedural_style_is_generated_once_into_the_cache(cache_home):
    path = presets.find_style("procedural:mosaic")
    assert path.is_relative_to(cache_home) and path.suffix == ".png"
    version = procedural.GENERATORS["mosaic"][0]
    assert path.name == f"mosaic-v{version}.png"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    mtime = path.stat().st_mtime_ns
    again = presets.find_style("procedural:mosaic")
    assert again == path and again.stat().st_mtime_ns == mtime  # not regenerated
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest
    with Image.open(path) as image:
        assert image.size == (procedural.SIZE, procedural.SIZE)


def test_bumping_a_version_regenerates(cache_home, monkeypatch):
    old = presets.find_style("procedural:swirl")
    version, generate = procedural.GENERATORS["swirl"]
    monkeypatch.setitem(procedural.GENERATORS, "swirl", (version + 1, generate))
    new = presets.find_style("procedural:swirl")
    assert new != old and new.is_file() and new.name == f"swirl-v{version + 1}.png"


def test_unknown_procedural_style_names_it_and_the_choices(cache_home):
    with pytest.raises(InputNotFoundError, match="'nope'.*swirl"):
        presets.find_style("procedural:nope")


def test_unwritable_cache_falls_back_to_the_temp_dir(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    path = presets.find_style("procedural:swirl")
    assert path.is_relative_to(tmp_path / "tmp") and path.is_file()
    assert presets.find_style("procedural:swirl") == path
