"""The one table of settings (``nstfilter.params``) and everything generated from it.

The drift tests fail when the preset schema, the CLI options of apply/batch/watch or the
docs/presets.md table stop matching ``StyleParams``' fields; the number tests prove that a
NaN, an infinity or an absurd size is refused at every door (Python API, preset, CLI,
environment) by the table's one check.
"""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import helpers
import pytest
from helpers import png_header_only
from PIL import Image

from nstfilter.errors import ImageError, ImageTooSmallError, PresetError, UsageError
from nstfilter.imageio import MAX_PIXELS_ENV, fit_longest, load_image
from nstfilter.params import SETTINGS, STYLE_WEIGHT, StyleParams, settings_markdown
from nstfilter.presets.schema import SCHEMA, params_from, read_preset_file

DOCS = helpers.DOCS / "presets.md"
FLOATS = [name for name, spec in SETTINGS.items() if spec.kind is float and not spec.many]
NOT_NUMBERS = [float("nan"), float("inf"), float("-inf"), float("1e309")]


def test_every_field_is_a_row_of_the_table():
    names = [f.name for f in dataclasses.fields(StyleParams)]
    assert names == list(SETTINGS)
    for name, spec in SETTINGS.items():
        assert spec.help and spec.section in SCHEMA, name
        if spec.kind in (int, float) and not spec.many:
            assert spec.low is not None, f"{name} has no lower bound"


def test_preset_schema_is_the_table():
    for section in ("", "objective", "schedule", "color"):
        keys = {k for k in SCHEMA[section] if k in SETTINGS}
        assert keys == {n for n, s in SETTINGS.items() if s.section == section}, section
    assert {"beta_1", "epsilon", "min_size", "tile_size"} <= set(SCHEMA["schedule"])


@pytest.mark.parametrize("command", ["apply", "batch", "watch"])
def test_cli_options_are_the_table(command):
    import importlib

    cmd = getattr(importlib.import_module(f"nstfilter.cli.{command}"), command)
    options = {opt for p in cmd.params for opt in p.opts}
    missing = [spec.option(n) for n, spec in SETTINGS.items() if spec.option(n) not in options]
    assert not missing, f"{command} lacks {missing}"


def test_docs_table_is_the_table():
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- settings-table[^>]*-->\n(.*?)<!-- /settings-table -->", text, re.S)
    assert found, "docs/presets.md lost its settings table markers"
    assert found.group(1) == settings_markdown(), (
        "docs/presets.md's settings table drifted from StyleParams: paste the output of "
        "python -c 'from nstfilter.params import settings_markdown as m; print(m(), end=\"\")' "
        "between its settings-table markers"
    )


def test_replace_none_resets_to_the_calibrated_default():
    p = StyleParams(content_weight=5.0, style_weight=2.0)
    q = p.replace(content_weight=None)
    assert q.content_weight is None and q.style_weight == 2.0


def test_python_api_stylize_checks_overrides_and_style_weights(tmp_path):
    from nstfilter import stylize

    photo = Image.new("RGB", (32, 32), "red")
    with pytest.raises(UsageError, match="^style_weight must be a finite number"):
        stylize(photo, [photo], style_weight=float("nan"))
    with pytest.raises(UsageError, match="^style weight must be a finite number"):
        stylize(photo, [(photo, float("inf"))])
    with pytest.raises(UsageError, match="unknown setting sizee"):
        stylize(photo, [photo], sizee=64)


@pytest.mark.parametrize("name", FLOATS)
@pytest.mark.parametrize("value", NOT_NUMBERS, ids=["nan", "inf", "-inf", "1e309"])
def test_python_api_refuses_non_finite_floats(name, value):
    with pytest.raises(UsageError, match=rf"^{name} must be a finite number"):
        StyleParams(**{name: value})


@pytest.mark.parametrize(
    "changes, fragment",
    [
        ({"size": 100_000}, "size must be an integer between 16 and 16384"),
        ({"size": 99999999999999999}, "size must be"),
        ({"size": 512.0}, "size must be an integer"),
        ({"size": True}, "size must be an integer"),
        ({"tile_size": 10}, "tile_size must be"),
        ({"min_size": 10**9}, "min_size must be"),
        ({"iterations": -1}, "iterations must be"),
        ({"beta_1": 1.0}, "beta_1 must be a finite number >= 0 and < 1"),
        ({"style_layer_weights": (1.0, math.nan)}, "style_layer_weights must be"),
        ({"style_layers": ()}, "style_layers needs at least one"),
        ({"optimizer": "sgd"}, "optimizer must be one of lbfgs, adam"),
    ],
)
def test_python_api_refuses_out_of_range(changes, fragment):
    with pytest.raises(UsageError, match=re.escape(fragment)):
        StyleParams(**changes)


def test_size_original_and_tile_size_zero_are_accepted():
    p = StyleParams(size="original", tile_size=0)
    assert p.working_size(3000) == 3000 and StyleParams(size=256).working_size(3000) == 256


@pytest.mark.parametrize("value", NOT_NUMBERS[:2] + [-1.0], ids=["nan", "inf", "negative"])
def test_style_weight_rule(value):
    with pytest.raises(UsageError, match="weight must be a finite number >= 0"):
        STYLE_WEIGHT.check(value, "weight")


# --- presets ------------------------------------------------------------------------------

SWIRL = '[[style]]\nimage = "procedural:swirl"\n'


def _preset(tmp_path: Path, text: str) -> StyleParams:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return params_from(read_preset_file(path), path)


@pytest.mark.parametrize(
    "text, fragment",
    [
        (SWIRL + "weight = nan\n", "[[style]] 'weight' must be a finite number >= 0, got nan"),
        (SWIRL + "weight = inf\n", "[[style]] 'weight' must be a finite number"),
        (SWIRL + "[objective]\nstyle_weight = 1e309\n", "[objective] 'style_weight' must be"),
        (SWIRL + "[objective]\ntv_weight = nan\n", "[objective] 'tv_weight' must be"),
        (SWIRL + "[schedule]\nsize = 99999999999999999\n", "[schedule] 'size' must be an int"),
        (SWIRL + "[schedule]\nepsilon = -inf\n", "[schedule] 'epsilon' must be"),
        (SWIRL + "[output]\nquality = 101\n", "[output] 'quality' must be an integer between"),
    ],
)
def test_preset_numbers_are_refused_naming_file_and_key(tmp_path, text, fragment):
    with pytest.raises(PresetError) as info:
        _preset(tmp_path, text)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'p.toml'}: ") and fragment in message
    assert "\n" not in message


def test_preset_sets_adam_settings_and_original_size(tmp_path):
    p = _preset(tmp_path, SWIRL + '[schedule]\nbeta_1 = 0.9\nepsilon = 0.5\nsize = "original"\n')
    assert (p.beta_1, p.epsilon, p.size) == (0.9, 0.5, "original")


def test_dumped_preset_reads_back(tmp_path):
    from nstfilter.presets import dump_toml

    data = {
        "name": "x",
        "filter": "neural-style",
        "style": [{"image": "procedural:swirl", "weight": 1.0}],
        "schedule": {"size": "original", "beta_1": 0.5},
        "objective": {"style_layers": ["block1_conv1"]},
    }
    path = tmp_path / "x.toml"
    path.write_text(dump_toml(data))
    assert read_preset_file(path) == data


# --- the pixel limit and the minimum side -------------------------------------------------


def test_raised_limit_is_the_one_in_force(tmp_path, monkeypatch):
    """95 MP under a 200 MP limit passes the size check (then fails only as a header-only
    file), instead of being refused with Pillow's own 89,478,485."""
    path = tmp_path / "big.png"
    path.write_bytes(png_header_only(10_000, 9_500))
    monkeypatch.setenv(MAX_PIXELS_ENV, "200000000")
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert info.value.exit_code == 4 and "89,478,485" not in str(info.value)
    assert Image.MAX_IMAGE_PIXELS == 200_000_000
    with pytest.raises(ImageError) as info:
        load_image(path, max_pixels=50_000_000)
    assert info.value.exit_code == 5 and "50,000,000" in str(info.value)
    assert Image.MAX_IMAGE_PIXELS == 50_000_000


@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "lots"])
def test_bad_pixel_limit_in_the_environment_is_named(tmp_path, monkeypatch, value):
    path = tmp_path / "ok.png"
    Image.new("RGB", (16, 16)).save(path)
    monkeypatch.setenv(MAX_PIXELS_ENV, value)
    with pytest.raises(UsageError, match=f"^{MAX_PIXELS_ENV} must be an integer >= 1"):
        load_image(path)


def test_a_sliver_is_refused_not_made():
    with pytest.raises(ImageTooSmallError, match="4000x8 image at longest side 64"):
        fit_longest(Image.new("RGB", (4000, 8)), 64, name="thin.png")
    assert fit_longest(Image.new("RGB", (4000, 80)), 400).size == (400, 8)
