"""The plugin layer: one manager, built-ins as plugins, entry points, plugin files,
NSTFILTER_DISABLE_PLUGINS, broken plugins skipped, and `nstfilter plugins list`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import REPO, STUB_PLUGINS, run_cli
from PIL import Image

from nstfilter.api import run_filter
from nstfilter.errors import PluginError
from nstfilter.hookspecs import hookimpl
from nstfilter.params import StyleParams
from nstfilter.plugins import Plugins

EXAMPLE_PACKAGE = REPO / "plugins" / "example-colour-transfer"
EXAMPLE_FILES = REPO / "plugins" / "examples"
BUILTINS = {"neural-style", "backbones", "color"}
STUB = StyleParams(filter="stub", size=32)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("NSTFILTER_PLUGINS_DIR", "NSTFILTER_DISABLE_PLUGINS", "NSTFILTER_PRESET_PATH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def photo() -> Image.Image:
    return Image.linear_gradient("L").convert("RGB").resize((48, 32))


def names(plugins: Plugins) -> set[str]:
    return set(plugins.names())


def write_plugin(folder: Path, name: str, code: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text("from nstfilter import hookimpl\n" + code, encoding="utf-8")
    return path


# --- the manager -----------------------------------------------------------------------


def test_fresh_manager_has_the_builtins_and_every_hookspec():
    pm = Plugins.load()
    assert names(pm) >= BUILTINS
    for name in BUILTINS:
        assert pm.source(name) == "built-in"
    hooks = set(pm.hook_names())
    assert {"nstfilter_register_filters", "nstfilter_register_presets",
            "nstfilter_register_backbones", "nstfilter_preprocess", "nstfilter_postprocess",
            "nstfilter_progress", "nstfilter_job_done", "nstfilter_job_failed",
            "nstfilter_register_commands"} <= hooks  # fmt: skip


def test_register_and_unregister_a_plugin_on_a_fresh_manager(photo):
    calls: list[str] = []

    class Recorder:
        @hookimpl
        def nstfilter_preprocess(self, image, params):
            calls.append("pre")
            return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)

        @hookimpl
        def nstfilter_postprocess(self, image, original, params):
            calls.append("post")

        @hookimpl
        def nstfilter_progress(self, event):
            calls.append("progress")

    pm = Plugins.load([STUB_PLUGINS])
    other = Plugins.load([STUB_PLUGINS])
    pm.register(Recorder(), "recorder")
    assert "recorder" in names(pm) and "recorder" not in names(other)
    run_filter(photo, [(photo, 1.0)], STUB, plugins=pm)
    assert calls[0] == "pre" and calls[-1] == "post" and calls.count("progress") == 4
    calls.clear()
    pm.unregister("recorder")
    run_filter(photo, [(photo, 1.0)], STUB, plugins=pm)
    assert calls == []


def test_a_plugin_filter_is_selected_by_name(photo):
    from nstfilter.filters import FilterOutput

    class Flat:
        def apply(self, content, styles, params, progress, should_stop=None):
            return FilterOutput(Image.new("RGB", content.size, (1, 2, 3)), {"backbone": "none"})

    class FlatPlugin:
        @hookimpl
        def nstfilter_register_filters(self, register):
            register("flat", Flat())

    pm = Plugins.load()
    pm.register(FlatPlugin(), "flat-plugin")
    result = run_filter(photo, [(photo, 1.0)], StyleParams(filter="flat", size=32), plugins=pm)
    assert result.image.getpixel((0, 0)) == (1, 2, 3) and result.metrics["filter"] == "flat"


def test_broken_plugins_are_reported_by_name_and_skipped(tmp_path, caplog):
    folder = tmp_path / "plugins"
    write_plugin(folder, "raises_on_import", "raise RuntimeError('kaboom at import')\n")
    write_plugin(folder, "bad_signature", "@hookimpl\ndef nstfilter_progress(evnt):\n    pass\n")
    write_plugin(folder, "fine", "@hookimpl\ndef nstfilter_progress(event):\n    pass\n")
    pm = Plugins.load([folder])
    assert "fine" in names(pm) and names(pm) >= BUILTINS
    errors = dict(pm.load_errors)
    assert set(errors) == {"raises_on_import", "bad_signature"}
    assert "kaboom at import" in errors["raises_on_import"]
    assert "evnt" in errors["bad_signature"]
    assert not {"raises_on_import", "bad_signature"} & names(pm)
    assert "raises_on_import" in caplog.text


def test_a_misspelt_hook_stops_with_one_line_naming_it(tmp_path):
    """docs/plugins.md: a hook that matches no hookspec stops the run (it would never fire)."""
    folder = tmp_path / "plugins"
    write_plugin(folder, "typo_hook", "@hookimpl\ndef nstfilter_postprocesss(image):\n    pass\n")
    with pytest.raises(PluginError, match="typo_hook.*nstfilter_postprocesss"):
        Plugins.load([folder])
    proc = run_cli("--plugins-dir", str(folder), "plugins", "list")
    assert proc.returncode == 11
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nstfilter: error: plugin typo_hook"), lines
    assert "nstfilter_postprocesss" in lines[0]


def test_disable_plugins_blocks_builtins_and_files(tmp_path, monkeypatch, photo):
    folder = tmp_path / "plugins"
    write_plugin(folder, "grey", "@hookimpl\ndef nstfilter_postprocess(image):\n"
                 "    return image.convert('L').convert('RGB')\n")  # fmt: skip
    monkeypatch.setenv("NSTFILTER_DISABLE_PLUGINS", "color, grey")
    pm = Plugins.load([folder, STUB_PLUGINS])
    assert "color" not in names(pm) and "grey" not in names(pm) and "stub_engine" in names(pm)
    assert pm.pm.is_blocked("color")
    # strength 0 would return the photo; with the colour built-in blocked it does nothing
    result = run_filter(photo, [(photo, 1.0)], STUB.replace(strength=0.0), plugins=pm)
    assert result.image.tobytes() != photo.tobytes()
    monkeypatch.setenv("NSTFILTER_DISABLE_PLUGINS", "")
    pm = Plugins.load([folder, STUB_PLUGINS])
    assert {"color", "grey"} <= names(pm)


def test_missing_plugins_dir_is_reported_not_fatal(tmp_path):
    pm = Plugins.load([tmp_path / "nope"])
    assert names(pm) >= BUILTINS
    assert any("does not exist" in message for _, message in pm.load_errors)


def test_plugins_dir_from_the_environment(monkeypatch):
    monkeypatch.setenv("NSTFILTER_PLUGINS_DIR", str(EXAMPLE_FILES))
    pm = Plugins.load()
    assert "scale_timer" in names(pm)
    assert pm.source("scale_timer").endswith("scale_timer.py")


# --- the CLI ---------------------------------------------------------------------------


def invoke(*args: str):
    from nstfilter.cli import main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def table(output: str) -> dict[str, list[str]]:
    rows = {}
    for line in output.splitlines()[1:]:
        parts = line.split("  ")
        rows[parts[0].strip()] = [p.strip() for p in parts[1:] if p.strip()]
    return rows


def test_cli_plugins_list_shows_source_and_hooks():
    result = invoke("--plugins-dir", str(STUB_PLUGINS), "plugins", "list")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].split() == ["NAME", "SOURCE", "HOOKS"]
    rows = table(result.output)
    assert rows["color"] == ["built-in", "postprocess"]
    assert rows["stub_engine"][0].endswith("stub_engine.py")
    assert rows["stub_engine"][1] == "register_filters"


def test_cli_plugins_list_filters_by_hook_and_rejects_unknown_hooks():
    for hook in ("postprocess", "nstfilter_postprocess"):
        result = invoke("plugins", "list", "--hook", hook)
        assert set(table(result.output)) == {"color"}, result.output
    bad = invoke("plugins", "list", "--hook", "nstfilter_nothing")
    assert bad.exit_code == 2 and "unknown hook" in bad.output


def test_cli_plugins_list_shows_load_errors_and_disabled(tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    write_plugin(folder, "broken", "import not_a_module_anywhere\n")
    monkeypatch.setenv("NSTFILTER_DISABLE_PLUGINS", "color")
    result = invoke("--plugins-dir", str(folder), "plugins", "list")
    assert result.exit_code == 0
    assert "color" not in table(result.output.split("disabled")[0])
    assert "disabled by NSTFILTER_DISABLE_PLUGINS: color" in result.output
    assert "failed to load broken: ModuleNotFoundError" in result.output


def test_file_plugin_adds_a_command_and_a_broken_one_does_not_break_the_cli(tmp_path):
    folder = tmp_path / "plugins"
    write_plugin(folder, "hello", "import click\n@hookimpl\ndef nstfilter_register_commands(cli):\n"
                 "    @cli.command()\n    @click.argument('who')\n    def hello(who):\n"
                 "        click.echo(f'hello {who}')\n")  # fmt: skip
    write_plugin(folder, "badcmd", "@hookimpl\ndef nstfilter_register_commands(cli):\n"
                 "    raise RuntimeError('no commands today')\n")  # fmt: skip
    proc = run_cli("hello", "world", env={"NSTFILTER_PLUGINS_DIR": str(folder)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "hello world"
    assert "no commands today" in proc.stderr


def test_single_file_example_plugin_fires_during_apply(tmp_path, content_path):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "stubby.toml").write_text('filter = "stub"\n[[style]]\nimage = "procedural:swirl"\n')
    out = tmp_path / "out.png"
    proc = run_cli(
        "--plugins-dir", str(EXAMPLE_FILES), "--plugins-dir", str(STUB_PLUGINS),
        "apply", str(content_path), "--preset", "stubby", "--size", "64", "-o", str(out),
        env={"NSTFILTER_PRESET_PATH": str(presets)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "scale_timer: scale 1 (64x48) took" in proc.stderr
    assert Image.open(out).size == (64, 48)


# --- a real third-party package through the entry-point machinery ----------------------


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory) -> Path:
    """`pip install` plugins/example-colour-transfer into a folder put on PYTHONPATH.

    pip builds the package and writes its ``.dist-info`` with ``entry_points.txt``; the
    nstfilter subprocesses find it through ``importlib.metadata`` like any installed plugin,
    without touching the shared virtual environment other tests run in.
    """
    root = tmp_path_factory.mktemp("example-plugin")
    source, target = root / "src", root / "site"
    shutil.copytree(EXAMPLE_PACKAGE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert list(target.glob("nstfilter_colour_transfer-*.dist-info/entry_points.txt"))
    return target


def test_installed_plugin_is_listed_with_its_distribution(installed_example):
    proc = run_cli("plugins", "list", env={"PYTHONPATH": str(installed_example)})
    assert proc.returncode == 0, proc.stderr
    rows = table(proc.stdout)
    source, hooks = rows["colour-transfer"]
    assert source == "entry point (nstfilter-colour-transfer 0.1.0)"
    assert hooks == "postprocess, register_commands, register_filters, register_presets"
    presets = run_cli("presets", "list", env={"PYTHONPATH": str(installed_example)})
    assert table(presets.stdout)["colour-transfer-swirl"][0] == "plugin:colour-transfer"


def test_installed_plugin_hooks_fire_during_apply(installed_example, tmp_path, content_path):
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    proc = run_cli(
        "apply", str(content_path), "--preset", "colour-transfer-swirl", "--size", "96",
        "-o", str(out), "--metrics", str(metrics), "--progress", "log",
        env={"PYTHONPATH": str(installed_example)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(metrics.read_text())
    assert data["filter"] == "colour-transfer" and data["backbone"] == "none"
    assert "colour-transfer plugin: postprocess after filter colour-transfer" in proc.stderr
    assert "step 1/1" in proc.stderr  # its progress event reached the CLI's progress plugin
    result = Image.open(out)
    assert result.size == (96, 72)
    # the swirl's blue night: the photo took on the style's colours
    r, g, b = np.asarray(result.convert("RGB"), np.float32).mean((0, 1))
    assert b > r + 10


def test_installed_plugin_command_and_disabling_it(installed_example, tmp_path, content_path):
    env = {"PYTHONPATH": str(installed_example)}
    style = tmp_path / "red.png"
    Image.new("RGB", (16, 16), (200, 30, 30)).save(style)
    out = tmp_path / "ct.png"
    proc = run_cli("colour-transfer", str(content_path), str(style), "-o", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size == Image.open(content_path).size
    env["NSTFILTER_DISABLE_PLUGINS"] = "colour-transfer"
    listed = run_cli("plugins", "list", env=env)
    assert "colour-transfer" not in table(listed.stdout.split("disabled")[0])
    assert run_cli("colour-transfer", "--help", env=env).returncode != 0


def test_image_hooks_chain_latest_registered_first_and_colour_last(photo):
    """The order docs/plugins.md promises: later plugins first, the colour built-in last."""
    seen: list[str] = []

    def tagger(tag):
        class Tagger:
            @hookimpl
            def nstfilter_postprocess(self, image, original, params):
                seen.append(tag)
                return image

        return Tagger()

    pm = Plugins.load([STUB_PLUGINS])
    pm.register(tagger("early"), "early")
    pm.register(tagger("late"), "late")
    result = run_filter(photo, [(photo, 1.0)], STUB.replace(strength=0.0), plugins=pm)
    assert seen == ["late", "early"]
    # strength 0 (the colour built-in, trylast) gives back the photo whatever ran before it
    assert result.image.tobytes() == photo.resize(result.image.size).tobytes()


# --- one third-party plugin through every front-end (issue 12) -------------------------

#: A one-argument hookimpl (fewer arguments than the spec) that records each call and,
#: with ``raise_stmt``, fails for dark photos only, so exactly one job of two fails.
THIRD_PARTY = """
import os, uuid
from pathlib import Path
from PIL import ImageStat

@hookimpl
def nstfilter_postprocess(image):
    marks = Path(os.environ["MARKS"])
    marks.mkdir(exist_ok=True)
    (marks / uuid.uuid4().hex).touch()
    if ImageStat.Stat(image.convert("L")).mean[0] < 100:
        {raise_stmt}
"""


def third_party(tmp_path: Path, raise_stmt: str = "pass") -> tuple[Path, dict[str, str]]:
    """The plugin folder, and an environment with the stub engine and its presets."""
    from helpers.batch import PRESETS

    folder = tmp_path / "third"
    write_plugin(folder, "third", THIRD_PARTY.format(raise_stmt=raise_stmt))
    marks = tmp_path / "marks"
    env = {"NSTFILTER_PRESET_PATH": str(PRESETS), "MARKS": str(marks),
           "NSTFILTER_PLUGINS_DIR": f"{folder}:{STUB_PLUGINS}"}  # fmt: skip
    return marks, env


def two_photos(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "dark.png", folder / "light.png"]
    Image.new("RGB", (48, 32), (5, 5, 5)).save(paths[0])
    Image.new("RGB", (48, 32), (250, 250, 250)).save(paths[1])
    return paths


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "failed in nstfilter_postprocess" in line]


def test_one_argument_hookimpl_fires_in_apply_batch_and_watch(tmp_path):
    marks, env = third_party(tmp_path)
    dark, light = two_photos(tmp_path / "in")
    applied = run_cli("apply", str(light), "-p", "stub-starry", "-o", str(tmp_path / "a.png"),
                      env=env)  # fmt: skip
    assert applied.returncode == 0, applied.stderr
    assert len(list(marks.iterdir())) == 1
    batch = run_cli("batch", str(tmp_path / "in"), "-p", "stub-starry", "-o",
                    str(tmp_path / "out"), "--progress", "none", env=env)  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    assert len(list(marks.iterdir())) == 3  # in the batch's worker processes too
    inbox = tmp_path / "drop" / "inbox"
    two_photos(inbox)
    watch = run_cli("watch", str(inbox), "-p", "stub-starry", "--once", "--settle", "0.2",
                    env=env, timeout=120)  # fmt: skip
    assert watch.returncode == 0, watch.stderr
    assert len(list(marks.iterdir())) == 5
    assert sorted(p.name for p in (tmp_path / "drop" / "outbox").iterdir()) == [
        "dark.stub-starry.png", "light.stub-starry.png"]  # fmt: skip


@pytest.mark.parametrize("raise_stmt", ["raise RuntimeError('too dark')", "raise SystemExit(3)"])
def test_a_raising_plugin_is_named_fails_apply_with_11_and_only_its_job_elsewhere(
    tmp_path, raise_stmt
):
    marks, env = third_party(tmp_path, raise_stmt)
    dark, light = two_photos(tmp_path / "in")
    applied = run_cli("apply", str(dark), "-p", "stub-starry", "-o", str(tmp_path / "a.png"),
                      env=env)  # fmt: skip
    assert applied.returncode == 11, applied.stderr
    assert applied.stderr.strip().splitlines()[-1] == (
        "nstfilter: error: plugin third failed in nstfilter_postprocess: "
        + ("RuntimeError: too dark" if "Runtime" in raise_stmt else "SystemExit: 3")
    )
    assert "Traceback" not in applied.stderr and not (tmp_path / "a.png").exists()
    verbose = run_cli("-v", "apply", str(dark), "-p", "stub-starry", "-o",
                      str(tmp_path / "a.png"), env=env)  # fmt: skip
    assert "Traceback" in verbose.stderr  # -v shows where it came from

    out = tmp_path / "out"
    batch = run_cli("batch", str(tmp_path / "in"), "-p", "stub-starry", "-o", str(out),
                    "--progress", "none", env=env)  # fmt: skip
    assert batch.returncode == 1, batch.stderr  # some jobs failed; the others finished
    assert (out / "light.stub-starry.png").is_file() and not (out / "dark.stub-starry.png").exists()
    manifest = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    failed = [r for r in manifest if r.get("status") == "failed"]
    assert [r["input_rel"] for r in failed] == ["dark.png"]
    assert "plugin third failed in nstfilter_postprocess" in failed[0]["error"]

    inbox = tmp_path / "drop" / "inbox"
    two_photos(inbox)
    watch = run_cli("watch", str(inbox), "-p", "stub-starry", "--once", "--settle", "0.2",
                    env=env, timeout=120)  # fmt: skip
    assert watch.returncode == 0, watch.stderr  # --once finishes: no stall, no hang
    drop = tmp_path / "drop"
    assert [p.name for p in (drop / "outbox").iterdir()] == ["light.stub-starry.png"]
    assert sorted(p.name for p in (drop / "failed").iterdir()) == ["dark.error.txt", "dark.png"]
    note = (drop / "failed" / "dark.error.txt").read_text()
    assert "plugin third failed in nstfilter_postprocess" in note


def test_job_hooks_get_the_same_frozen_report_from_batch_and_watch(tmp_path):
    from dataclasses import FrozenInstanceError

    from nstfilter.jobs import JobReport

    report = JobReport("batch", "k", "in.png", "p", losses={"style": 1.0})
    with pytest.raises(FrozenInstanceError):
        report.seconds = 2.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        report.losses["style"] = 0.0  # type: ignore[index]
    _, env = third_party(tmp_path)
    two_photos(tmp_path / "in")
    log_file = tmp_path / "jobs.jsonl"
    env["NSTFILTER_JOB_LOG"] = str(log_file)
    run_cli("batch", str(tmp_path / "in"), "-p", "stub-starry", "-o", str(tmp_path / "out"),
            "--progress", "none", env=env)  # fmt: skip
    inbox = tmp_path / "drop" / "inbox"
    two_photos(inbox)
    run_cli("watch", str(inbox), "-p", "stub-starry", "--once", "--settle", "0.2", env=env,
            timeout=120)  # fmt: skip
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert sorted(r["front_end"] for r in records) == ["batch", "batch", "watch", "watch"]
    keys = {frozenset(r) for r in records}
    assert len(keys) == 1  # the same fields from both front-ends
    assert all(r["status"] == "done" and r["output"] for r in records)
