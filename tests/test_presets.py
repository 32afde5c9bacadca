"""Presets: schema, search path, extends, bundled presets (end to end), the CLI."""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import REPO, SHARED_DATA, STUB_PLUGINS, run_cli
from PIL import Image

from nstfilter.errors import InputNotFoundError, PresetError
from nstfilter.hookspecs import hookimpl
from nstfilter.params import StyleParams
from nstfilter.plugins import Plugins
from nstfilter.presets import (
    BUNDLED_DIR,
    Preset,
    dump_toml,
    find_style,
    list_preset_sources,
    list_presets,
    load_preset,
    preset_sources,
    read_preset_file,
    resolved_data,
    style_dirs,
    user_dir,
)
from nstfilter.schedules import apply_quality

BUNDLED = sorted(p.stem for p in (REPO / "presets").glob("*.toml"))
PAINTINGS = ["starry_night.jpg", "the_scream.jpg", "shipwreck.jpg", "woman-with-hat-matisse.jpg"]


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Private user config and cache folders; no stray preset path; the default manager."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NSTFILTER_PRESET_PATH", raising=False)
    monkeypatch.delenv("NSTFILTER_PLUGINS_DIR", raising=False)
    monkeypatch.delenv("NSTFILTER_DISABLE_PLUGINS", raising=False)


@pytest.fixture
def preset_dir(tmp_path, monkeypatch) -> Path:
    """A folder on NSTFILTER_PRESET_PATH for test presets."""
    folder = tmp_path / "presets"
    folder.mkdir()
    monkeypatch.setenv("NSTFILTER_PRESET_PATH", str(folder))
    return folder


@pytest.fixture
def styles_on_path():
    if not (SHARED_DATA / "styles" / "starry_night.jpg").is_file():
        pytest.skip("../shared/data/styles not found")
    return SHARED_DATA / "styles"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


SWIRL = '[[style]]\nimage = "procedural:swirl"\n'


# --- bundled presets -------------------------------------------------------------------


def test_bundled_presets_are_at_least_six_and_include_preview():
    assert len(BUNDLED) >= 6
    assert "preview" in BUNDLED
    assert BUNDLED_DIR.resolve() == (REPO / "presets").resolve()


def test_every_bundled_preset_loads_and_they_are_distinct(styles_on_path):
    seen = {}
    for name in BUNDLED:
        preset = load_preset(name)
        assert isinstance(preset, Preset) and preset.name == name
        assert preset.description and preset.path is not None
        assert all(path.is_file() and weight > 0 for path, weight in preset.styles)
        key = (preset.params, tuple(preset.styles), preset.output_format)
        assert key not in seen, f"{name} is the same as {seen.get(key)}"
        seen[key] = name


def test_bundled_presets_cover_the_promised_kinds(styles_on_path):
    loaded = {name: load_preset(name) for name in BUNDLED}
    default = StyleParams()
    procedural = {
        p.data["style"][0]["image"]
        for p in loaded.values()
        if p.data["style"][0]["image"].startswith("procedural:")
    }
    assert len(procedural) >= 2  # two different generated images
    assert any(p.params.preserve_color for p in loaded.values())
    assert any(p.params.strength == 0.5 for p in loaded.values())
    assert any(p.params.size > default.size for p in loaded.values())  # high resolution
    gatys = loaded["starry-night"].params
    assert gatys.content_layers == ("block4_conv2",)  # the paper's conv4_2
    assert gatys.style_layers == default.style_layers and gatys.optimizer == "lbfgs"
    assert gatys.style_layer_weights is None  # equal weights
    assert {Path(path).name for p in loaded.values() for path, _ in p.styles} >= set(PAINTINGS)


def test_famous_painting_presets_name_the_painting():
    for name in BUNDLED:
        for entry in read_preset_file(REPO / "presets" / f"{name}.toml").get("style", []):
            if entry["image"].startswith("procedural:"):
                continue
            assert {"title", "artist", "year"} <= set(entry), f"{name}: {entry['image']}"
            if "source" not in entry:  # repeated image: the source is named elsewhere
                assert any(
                    e.get("source") and e["image"] == entry["image"]
                    for n in BUNDLED
                    for e in read_preset_file(REPO / "presets" / f"{n}.toml").get("style", [])
                ), f"{name}: no public-domain source for {entry['image']}"


def test_preview_is_the_fast_filter_and_offline(monkeypatch):
    """--preset preview and --quality preview mean one thing: the instant filter with a
    painting shipped in the package (no style path, no download)."""
    monkeypatch.setenv("NSTFILTER_STYLE_PATH", "")
    preview = load_preset("preview")
    assert preview.params.filter == "fast" and preview.params.size == StyleParams().size
    assert preview.params == apply_quality(load_preset("starry-night").params, "preview")
    bundled = files("nstfilter") / "_bundled_presets" / "styles"
    assert [p.name for p, _ in preview.styles] == ["starry_night.jpg"]
    assert all(Path(p).parent.resolve() == Path(str(bundled)).resolve() for p, _ in preview.styles)


def test_presets_ship_inside_the_package():
    bundled = files("nstfilter") / "_bundled_presets"
    names = {p.name for p in bundled.iterdir() if p.name.endswith(".toml")}
    assert names == {f"{n}.toml" for n in BUNDLED}


# the wheel's contents: tests/test_packaging.py


# --- schema ----------------------------------------------------------------------------


def test_defaults_come_from_style_params(preset_dir):
    write(preset_dir, "bare", SWIRL)
    preset = load_preset("bare")
    assert preset.params == StyleParams()
    assert preset.name == "bare" and preset.output_format is None
    assert preset.styles[0][1] == 1.0


def test_every_section_maps_onto_params(preset_dir):
    write(preset_dir, "full", f'''
name = "full"
description = "all keys"
filter = "stub"
{SWIRL}weight = 2.5
title = "t"
artist = "a"
year = 2024
source = "s"
[objective]
content_layers = ["block4_conv2"]
style_layers = ["block1_conv1", "block2_conv1"]
style_layer_weights = [2, 0.5]
content_weight = 10
style_weight = 0.5
tv_weight = 1e-3
backbone = "vgg16-hed"
[schedule]
quality = "high"
size = 300
iterations = 7
scales = 2
min_size = 100
coarse_iterations = 9
optimizer = "adam"
learning_rate = 0.05
init = "noise"
seed = 42
[color]
preserve_color = true
strength = 0.25
[output]
format = "JPG"
quality = 80
''')  # fmt: skip
    preset = load_preset("full")
    p = preset.params
    assert p.filter == "stub" and p.content_layers == ("block4_conv2",)
    assert p.style_layers == ("block1_conv1", "block2_conv1") and p.style_layer_weights == (2, 0.5)
    assert (p.content_weight, p.style_weight, p.tv_weight) == (10, 0.5, 1e-3)
    assert (p.size, p.iterations, p.scales, p.min_size, p.coarse_iterations) == (300, 7, 2, 100, 9)
    assert (p.optimizer, p.learning_rate, p.init, p.seed) == ("adam", 0.05, "noise", 42)
    assert p.preserve_color is True and p.strength == 0.25 and p.backbone == "vgg16-hed"
    assert preset.output_format == "jpg" and preset.quality == 80
    assert preset.styles[0][1] == 2.5 and preset.description == "all keys"


def test_quality_mode_is_a_base_that_explicit_keys_override(preset_dir):
    write(preset_dir, "q", SWIRL + '[schedule]\nquality = "preview"\niterations = 3\n')
    p = load_preset("q").params
    assert p.iterations == 3 and p.size == 512 and p.filter == "fast"  # the rest: preview mode


def one_line_error(name: str, *fragments: str) -> str:
    with pytest.raises(PresetError) as info:
        load_preset(name)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('colour = "red"\n' + SWIRL, ["'colour'", "allowed"]),
        (SWIRL + "[schedule]\nsizee = 3\n", ["[schedule] 'sizee'"]),
        (SWIRL + "painter = 'x'\n", ["[style] 'painter'"]),
        (SWIRL + '[schedule]\nsize = "big"\n', ["'size'", "integer", "got 'big'"]),
        (SWIRL + "[schedule]\nsize = 1.5\n", ["'size'", "integer", "got number"]),
        (SWIRL + "[color]\npreserve_color = 1\n", ["'preserve_color'", "boolean"]),
        (SWIRL + "[color]\nstrength = true\n", ["'strength'", "number", "boolean"]),
        (SWIRL + "[objective]\nstyle_layers = [1, 2]\n", ["'style_layers'", "array of strings"]),
        (SWIRL + "[objective]\nstyle_layers = 'block1_conv1'\n", ["'style_layers'", "array"]),
        (SWIRL + "weight = '1'\n", ["'weight'", "number"]),
        ("schedule = 3\n" + SWIRL, ["'schedule'", "table"]),
        ("[[style]]\nweight = 1\n", ["'image'"]),
        ("description = 'no style'\n", ["no [[style]]"]),
        (SWIRL + "[color]\nstrength = 1.5\n", ["'strength' must be a finite number between 0"]),
        (SWIRL + '[schedule]\noptimizer = "sgd"\n', ["'optimizer' must be one of"]),
        (SWIRL + '[schedule]\nquality = "ultra"\n', ["'quality' must be one of"]),
        (SWIRL + '[output]\nformat = "gif"\n', ["'format' must be one of"]),
        (SWIRL + "[output]\nquality = 0\n", ["'quality' must be an integer between 1 and 100"]),
        (SWIRL + "weight = -1\n", ["'weight' must be a finite number >= 0, got -1"]),
        ('name = "../evil"\n' + SWIRL, ["'name'", "invalid preset name"]),
        ("this is = not toml [", ["not valid TOML"]),
    ],
)
def test_bad_preset_files_give_one_line_errors_naming_the_file(preset_dir, text, fragments):
    path = write(preset_dir, "bad", text)
    message = one_line_error("bad", *fragments)
    assert message.startswith(f"{path}: "), message


def test_missing_style_image_is_named(preset_dir, monkeypatch):
    monkeypatch.setenv("NSTFILTER_STYLE_PATH", str(preset_dir))
    path = write(preset_dir, "nostyle", '[[style]]\nimage = "no_such_painting.jpg"\n')
    message = one_line_error("nostyle", "no_such_painting.jpg", "not found")
    assert message.startswith(str(path))


@pytest.mark.parametrize(
    "name", ["../preview", "/etc/passwd", "a/b", "a\\b", "..", "", ".x", "x y"]
)
def test_path_like_names_are_refused(name):
    one_line_error(name, "invalid preset name")


def test_unknown_preset_says_how_to_list():
    one_line_error("no-such-preset", "unknown preset 'no-such-preset'", "presets list")


def test_extends_merges_tables_and_inherits_styles(preset_dir, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    Image.new("RGB", (32, 32), "red").save(other / "red.png")
    write(other, "base", '''
name = "base"
description = "base"
[[style]]
image = "red.png"
weight = 2
[schedule]
size = 300
iterations = 7
[color]
strength = 0.5
''')  # fmt: skip
    write(preset_dir, "child", 'extends = "base"\n[schedule]\niterations = 9\n')
    import os

    os.environ["NSTFILTER_PRESET_PATH"] += os.pathsep + str(other)
    child = load_preset("child")
    assert child.params.size == 300 and child.params.iterations == 9
    assert child.params.strength == 0.5 and child.description == "base"
    assert child.name == "child"  # the name is never inherited
    assert child.files == (preset_dir / "child.toml", other / "base.toml")
    # the style image is found relative to the parent's file, not the child's
    assert child.styles == [(other / "red.png", 2.0)]
    write(preset_dir, "grandchild", 'extends = "child"\n' + SWIRL)
    grandchild = load_preset("grandchild")
    assert "swirl" in grandchild.styles[0][0].name and grandchild.params.iterations == 9


def test_extends_cycle_is_detected(preset_dir):
    write(preset_dir, "a", 'extends = "b"\n' + SWIRL)
    write(preset_dir, "b", 'extends = "c"\n')
    write(preset_dir, "c", 'extends = "a"\n')
    one_line_error("a", "cycle", "a -> b -> c -> a")
    write(preset_dir, "self", 'extends = "self"\n' + SWIRL)
    one_line_error("self", "cycle")


def test_extends_of_a_missing_or_path_like_parent_names_the_child(preset_dir):
    path = write(preset_dir, "orphan", 'extends = "nobody"\n' + SWIRL)
    assert one_line_error("orphan", "'extends'", "unknown preset 'nobody'").startswith(str(path))
    write(preset_dir, "sneaky", 'extends = "../preview"\n' + SWIRL)
    one_line_error("sneaky", "'extends'", "invalid preset name")


# --- search paths ----------------------------------------------------------------------


def test_search_order_user_then_env_then_plugin_then_bundled(preset_dir, tmp_path):
    user = user_dir("presets")
    user.mkdir(parents=True)
    plugin_dir = tmp_path / "plugin-presets"
    plugin_dir.mkdir()
    single = tmp_path / "single" / "lonely.toml"
    single.parent.mkdir()
    single.write_text('description = "single file"\n' + SWIRL)

    class PresetPlugin:
        @hookimpl
        def nstfilter_register_presets(self, register):
            register(plugin_dir)
            register(str(single))

    plugins = Plugins.load()
    plugins.register(PresetPlugin(), "preset-plugin")
    kinds = [kind for kind, _ in preset_sources(plugins)]
    assert kinds == ["user", "env", "plugin:preset-plugin", "plugin:preset-plugin", "bundled"]

    for folder, label in [(plugin_dir, "plugin"), (preset_dir, "env"), (user, "user")]:
        write(folder, "preview", f'description = "{label}"\n' + SWIRL)
        assert load_preset("preview", plugins=plugins).description == label
        assert list_preset_sources(plugins)["preview"][0].startswith(label)
    assert load_preset("lonely", plugins=plugins).description == "single file"
    assert dict(list_presets(plugins))["lonely"] == single
    plugins.unregister("preset-plugin")
    assert "lonely" not in dict(list_presets(plugins))


def test_a_plugin_failing_to_register_presets_is_skipped(caplog):
    class Broken:
        @hookimpl
        def nstfilter_register_presets(self, register):
            raise RuntimeError("boom")

    plugins = Plugins.load()
    plugins.register(Broken(), "broken-presets")
    assert "preview" in dict(list_presets(plugins))
    assert "broken-presets" in caplog.text and "boom" in caplog.text


def test_style_path_env_user_dir_then_bundled(tmp_path, monkeypatch):
    first, second = tmp_path / "s1", tmp_path / "s2"
    for folder, colour in [(first, "red"), (second, "blue")]:
        folder.mkdir()
        Image.new("RGB", (8, 8), colour).save(folder / "paint.png")
    monkeypatch.setenv("NSTFILTER_STYLE_PATH", f"{first}{__import__('os').pathsep}{second}")
    assert style_dirs()[:3] == [first, second, user_dir("styles")]
    assert find_style("paint.png") == first / "paint.png"
    (first / "paint.png").unlink()
    assert find_style("paint.png") == second / "paint.png"
    with pytest.raises(InputNotFoundError, match="'missing.png' not found"):
        find_style("missing.png")


# --- show / copy -----------------------------------------------------------------------


def test_resolved_data_round_trips_through_toml(preset_dir, styles_on_path):
    import tomllib

    for name in BUNDLED:
        preset = load_preset(name)
        text = dump_toml(resolved_data(preset))
        data = tomllib.loads(text)
        write(preset_dir, f"copy-{name}", text.replace(f'name = "{name}"', f'name = "copy-{name}"'))
        again = load_preset(f"copy-{name}")
        assert again.params == preset.params, name
        assert again.styles == preset.styles and again.output_format == preset.output_format
        assert data["schedule"]["size"] == preset.params.size


def invoke(*args: str):
    from nstfilter.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_list_and_names():
    result = invoke("presets", "list")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["NAME", "SOURCE", "USABLE", "DESCRIPTION"]
    assert any(
        line.startswith("preview ") and line.split()[1:3] == ["bundled", "yes"]
        for line in result.output.splitlines()
    )
    names = invoke("presets", "list", "--names").output.split()
    assert names == BUNDLED


def test_cli_show_prints_resolved_toml_and_source(styles_on_path):
    import tomllib

    result = invoke("presets", "show", "starry-night-colour")
    assert result.exit_code == 0, result.output
    assert "# source: " in result.output and "starry-night-colour.toml" in result.output
    assert "# extends: starry-night" in result.output
    data = tomllib.loads(result.output)
    assert data["color"]["preserve_color"] is True  # its own
    assert data["objective"]["content_layers"] == ["block4_conv2"]  # inherited
    assert data["style"][0]["title"] == "The Starry Night"
    raw = invoke("presets", "show", "--raw", "starry-night-colour").output
    assert 'extends = "starry-night"' in raw and "[objective]" not in raw


def test_cli_copy_into_user_dir_and_refuse_overwrite(styles_on_path):
    result = invoke("presets", "copy", "scream-light", "my-scream")
    assert result.exit_code == 0, result.output
    target = user_dir("presets") / "my-scream.toml"
    assert result.output.strip() == str(target) and target.is_file()
    copied = load_preset("my-scream")
    assert copied.params == load_preset("scream-light").params
    assert list_preset_sources()["my-scream"][0] == "user"
    before = target.read_bytes()
    again = invoke("presets", "copy", "preview", "my-scream")
    assert again.exit_code != 0 and "already exists" in again.output
    assert target.read_bytes() == before
    bad = invoke("presets", "copy", "preview", "../escape")
    assert bad.exit_code == PresetError.exit_code and "invalid preset name" in bad.output


def test_cli_copy_keeps_relative_style_images_working(preset_dir, tmp_path):
    Image.new("RGB", (16, 16), "green").save(preset_dir / "green.png")
    write(preset_dir, "local", '[[style]]\nimage = "green.png"\n')
    assert invoke("presets", "copy", "local", "local-copy").exit_code == 0
    assert load_preset("local-copy").styles == [((preset_dir / "green.png").resolve(), 1.0)]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("colour = 1\n" + SWIRL, "unknown key 'colour'"),
        (SWIRL + '[schedule]\nsize = "big"\n', "'size' must be an integer"),
        ('extends = "bad"\n' + SWIRL, "cycle"),
    ],
)
def test_cli_bad_presets_exit_non_zero_with_one_line(preset_dir, tmp_path, text, fragment):
    write(preset_dir, "bad", text)
    for args in (["presets", "show", "bad"], ["apply", "x.jpg", "--preset", "bad", "-o", "o.png"]):
        result = invoke(*args)
        assert result.exit_code == PresetError.exit_code, result.output
        lines = result.output.strip().splitlines()
        assert (
            len(lines) == 1 and lines[0].startswith("nstfilter: error: ") and fragment in lines[0]
        )


def test_cli_missing_style_image_stops_a_run_but_not_reading(preset_dir):
    write(preset_dir, "lost", '[[style]]\nimage = "nowhere.jpg"\n')
    run = invoke("apply", "x.jpg", "--preset", "lost", "-o", "o.png")
    assert run.exit_code == PresetError.exit_code
    assert len(run.output.strip().splitlines()) == 1 and "'nowhere.jpg' not found" in run.output
    shown = invoke("presets", "show", "lost")
    assert shown.exit_code == 0, shown.output
    assert "# not found here (needed to run it): nowhere.jpg" in shown.output
    assert invoke("presets", "copy", "lost", "lost-copy").exit_code == 0
    copied = (user_dir("presets") / "lost-copy.toml").read_text()
    assert 'image = "nowhere.jpg"' in copied  # the name kept, not a made-up path
    listed = invoke("presets", "list").output
    row = next(line for line in listed.splitlines() if line.startswith("lost "))
    assert row.split()[1:3] == ["env", "no"]
    assert "lost: style image 'nowhere.jpg' not found on the style path" in listed


def test_cli_path_like_and_unknown_names_exit_non_zero():
    for name in ["../preview", "/abs", "no-such"]:
        result = invoke("presets", "show", name)
        assert result.exit_code == PresetError.exit_code
        assert len(result.output.strip().splitlines()) == 1


# --- end to end ------------------------------------------------------------------------


def test_preview_contact_sheet_with_the_stub_filter(
    preset_dir, tmp_path, content_path, monkeypatch
):
    """`presets preview` runs the preset's filter; the stub keeps this test instant."""
    monkeypatch.setenv("NSTFILTER_PLUGINS_DIR", str(REPO / "tests" / "plugins"))
    write(preset_dir, "stubby", 'filter = "stub"\n' + SWIRL)
    sheet = tmp_path / "sheet.png"
    proc = run_cli("presets", "preview", "stubby", str(content_path), "-o", str(sheet))
    assert proc.returncode == 0, proc.stderr
    image = Image.open(sheet)
    assert image.height > 100 and image.width > 2.5 * image.height  # three panels


SMALL = {"size": 64, "iterations": 3, "scales": 1}


@pytest.mark.slow
def test_every_bundled_preset_runs_end_to_end_with_the_real_engine(styles_on_path, content_path):
    from nstfilter.api import run_filter
    from nstfilter.imageio import load_image

    content = load_image(content_path)
    original = np.asarray(content.rgb.resize((64, 48)), np.float32)
    timings = {}
    for name in BUNDLED:
        preset = load_preset(name)
        params = preset.params.replace(**SMALL)
        start = time.perf_counter()
        result = run_filter(content, preset.styles, params)
        timings[name] = round(time.perf_counter() - start, 2)
        image = np.asarray(result.image, np.float32)
        assert result.image.size == (64, 48), name
        assert np.isfinite(image).all() and image.std() > 5, name
        assert np.abs(image - original).mean() > 1, f"{name} did not change the photo"
        if preset.params.filter == "fast":  # preview: the instant filter, no steps
            assert result.metrics["filter"] == "fast" and "work_size" in result.metrics, name
        else:
            assert result.metrics["iterations"] == 3, name
    print("preset end-to-end seconds:", timings)


@pytest.mark.slow
def test_apply_with_a_preset_and_explicit_overrides(tmp_path, content_path):
    """`apply --preset` takes the preset's settings; explicit flags win over them."""
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    proc = run_cli("apply", str(content_path), "--preset", "starry-night", "-o", str(out),
                   "--size", "64", "--iterations", "2", "--scales", "1", "--metrics", str(metrics),
                   "-q")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    import json

    data = json.loads(metrics.read_text())
    assert data["iterations"] == 2 and data["scales"] == [[48, 64]] and data["size"] == [64, 48]
    assert Image.open(out).size == (64, 48)


def test_stylize_with_a_preset_and_overrides(preset_dir):
    """The filter API takes a preset by name; keyword overrides win over it."""
    from nstfilter.api import stylize

    write(preset_dir, "stubby", 'filter = "stub"\n[schedule]\nsize = 40\n' + SWIRL)
    plugins = Plugins.load([STUB_PLUGINS])
    photo = Image.linear_gradient("L").convert("RGB").resize((60, 30))
    assert stylize(photo, preset="stubby", plugins=plugins).size == (40, 20)
    assert stylize(photo, preset="stubby", plugins=plugins, size=20).size == (20, 10)


def test_cli_list_survives_an_invalid_preset(preset_dir):
    write(preset_dir, "broken", "this = = not toml\n")
    result = invoke("presets", "list")
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("broken "))
    assert "env" in line and "(invalid:" in line and "not valid TOML" in line


def test_plugins_preset_folders_are_searched_in_registration_order(tmp_path):
    folders = {}
    for name in ("first", "second"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        write(folders[name], "shared", f'description = "{name}"\n' + SWIRL)

    def plugin(folder):
        class Plugin:
            @hookimpl
            def nstfilter_register_presets(self, register):
                register(folder)

        return Plugin()

    plugins = Plugins.load()
    plugins.register(plugin(folders["first"]), "first")
    plugins.register(plugin(folders["second"]), "second")
    assert [k for k, _ in preset_sources(plugins)][1:3] == ["plugin:first", "plugin:second"]
    assert load_preset("shared", plugins=plugins).description == "first"
