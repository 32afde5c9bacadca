"""Every bundled preset works offline right after install: an empty home, no style path.

The paintings ship in ``presets/styles`` (``nstfilter/_bundled_presets/styles`` in the
wheel) with their provenance; these tests never read ``../shared/data``.
"""

from __future__ import annotations

import hashlib
import json
import sys

import pytest
from click.testing import CliRunner
from helpers import REPO, run_cli
from PIL import Image

from nstfilter.presets import BUNDLED_DIR, load_preset, read_preset_file, user_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BUNDLED = sorted(p.stem for p in (REPO / "presets").glob("*.toml"))
STYLES = BUNDLED_DIR / "styles"
PROVENANCE = tomllib.loads((STYLES / "PROVENANCE.toml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def empty_home(tmp_path, monkeypatch):
    """A new user's machine: nothing in the home folder, no nstfilter variables set."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in ("NSTFILTER_STYLE_PATH", "NSTFILTER_PRESET_PATH", "NSTFILTER_PLUGINS_DIR",
                 "NSTFILTER_VGG19_WEIGHTS", "KERAS_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                 "XDG_DATA_HOME"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return home


def invoke(*args: str):
    from nstfilter.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_preset_finds_its_images(name, empty_home):
    preset = load_preset(name)
    assert preset.styles and not preset.missing
    for path, _ in preset.styles:
        assert path.is_file()
        # a bundled painting, or a procedural image generated into the (empty) home's cache
        assert path.parent == STYLES or empty_home in path.parents, path


def test_bundled_paintings_match_their_provenance():
    images = {p.name for p in STYLES.iterdir() if p.suffix == ".jpg"}
    assert images == set(PROVENANCE)
    for image, record in PROVENANCE.items():
        for key in ("title", "artist", "year", "source", "license", "sha256"):
            assert record.get(key), f"{image}: no {key}"
        assert "public domain" in record["license"]
        assert hashlib.sha256((STYLES / image).read_bytes()).hexdigest() == record["sha256"]
        with Image.open(STYLES / image) as im:
            assert im.format == "JPEG" and max(im.size) <= 1024


def test_presets_name_the_provenance_of_each_painting():
    used = set()
    for name in BUNDLED:
        for entry in read_preset_file(REPO / "presets" / f"{name}.toml").get("style", []):
            if entry["image"].startswith("procedural:"):
                continue
            used.add(entry["image"])
            record = PROVENANCE[entry["image"]]
            for key in ("title", "artist", "year", "source"):
                assert entry[key] == record[key], f"{name}: {entry['image']} {key}"
    assert used == set(PROVENANCE)  # no painting shipped that no preset uses


def test_list_show_and_copy_with_an_empty_home():
    listed = invoke("presets", "list")
    assert listed.exit_code == 0, listed.output
    rows = [line.split()[:3] for line in listed.output.splitlines()[1:] if line.strip()]
    assert rows == [[name, "bundled", "yes"] for name in BUNDLED]
    for name in BUNDLED:
        shown = invoke("presets", "show", name)
        assert shown.exit_code == 0, shown.output
        assert tomllib.loads(shown.output)["style"]
        copied = invoke("presets", "copy", name, f"my-{name}")
        assert copied.exit_code == 0, copied.output
        assert (user_dir("presets") / f"my-{name}.toml").is_file()
        assert load_preset(f"my-{name}").styles == load_preset(name).styles


@pytest.mark.slow  # the real engine
def test_a_painting_preset_runs_for_real_offline(tmp_path):
    photo, out, metrics = tmp_path / "photo.png", tmp_path / "out.png", tmp_path / "m.json"
    Image.radial_gradient("L").convert("RGB").resize((64, 48)).save(photo)
    proc = run_cli("apply", str(photo), "--preset", "scream-light", "--size", "48",
                   "--iterations", "2", "--scales", "1", "-o", str(out),
                   "--metrics", str(metrics))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with Image.open(out) as im:
        assert max(im.size) == 48
    assert json.loads(metrics.read_text())["backbone"] == "vgg16-hed"  # no weights in home
