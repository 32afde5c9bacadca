"""batch and watch take apply's options: --style IMG[:W], every setting, -j/--workers.

All three get their settings from one decorator generated from the settings table, so the
checks here are about the plumbing (a setting given on batch/watch reaches the result) and
the shared spelling; the stub engine keeps each run to a second or two.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import STUB_PLUGINS, run_cli
from PIL import Image

ENV = {"NSTFILTER_PLUGINS_DIR": str(STUB_PLUGINS)}


@pytest.fixture
def photos(tmp_path, content_path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.jpg"):
        Image.open(content_path).convert("RGB").resize((96, 72)).save(folder / name)
    return folder


def test_batch_with_a_style_image_and_settings(tmp_path, photos, style_path):
    out = tmp_path / "out"
    proc = run_cli("batch", str(photos), "--style", f"{style_path}:2", "--filter", "stub",
                   "--size", "64", "-o", str(out), "-j", "1", "--progress", "none",
                   env=ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    results = sorted(p.name for p in out.glob("*.png"))
    assert results == ["a.styled.png", "b.styled.png"]
    assert Image.open(out / "a.styled.png").size == (64, 48)  # --size reached the job


def test_watch_with_a_style_image_and_settings(tmp_path, content_path, style_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    Image.open(content_path).convert("RGB").resize((96, 72)).save(inbox / "c.png")
    proc = run_cli("watch", str(inbox), "--style", str(style_path), "--filter", "stub",
                   "--size", "80", "--once", "--settle", "0", "-j", "1", env=ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "outbox" / "c.styled.png").size == (80, 60)


@pytest.mark.parametrize(
    "args",
    [["--size", "99999"], ["--style-weight", "nan"], ["--max-pixels", "0"], ["--settle", "nan"]],
)
def test_watch_refuses_bad_numbers_in_one_line(tmp_path, style_path, args):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    proc = run_cli("watch", str(inbox), "--style", str(style_path), "--once", *args)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and args[0] in proc.stderr


def test_batch_refuses_bad_numbers_and_needs_a_style(tmp_path, photos, style_path):
    proc = run_cli("batch", str(photos), "--style", f"{style_path}:inf", "-o", str(tmp_path / "o"))
    assert proc.returncode == 2 and "style weight" in proc.stderr, proc.stderr
    proc = run_cli("batch", str(photos), "-o", str(tmp_path / "o"))
    assert proc.returncode == 2 and "no style image" in proc.stderr, proc.stderr


@pytest.mark.parametrize("command", ["batch", "watch"])
def test_workers_share_their_spelling(command):
    import importlib

    cmd = getattr(importlib.import_module(f"nstfilter.cli.{command}"), command)
    workers = next(p for p in cmd.params if p.name == "workers")
    assert workers.opts == ["-j", "--workers"]


def test_watch_preset_with_a_nan_weight_fails_its_file_in_one_line(tmp_path, content_path,
                                                                   style_path):  # fmt: skip
    """Issue 11: a preset's ``weight = nan`` used to put a TensorFlow dump in .error.txt."""
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "bad.toml").write_text(f'[[style]]\nimage = "{style_path}"\nweight = nan\n')
    inbox = tmp_path / "inbox"
    (inbox / "bad").mkdir(parents=True)
    Image.open(content_path).convert("RGB").resize((96, 72)).save(inbox / "bad" / "c.png")
    proc = run_cli("watch", str(inbox), "--style", str(style_path), "--filter", "stub",
                   "--once", "--settle", "0",
                   env={**ENV, "NSTFILTER_PRESET_PATH": str(presets)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    note = (tmp_path / "failed" / "bad" / "c.error.txt").read_text()
    error = [line for line in note.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "[[style]] 'weight' must be a finite number >= 0" in error[0]
    assert len(note) < 1000


def test_verbosity_counts_on_both_sides_of_the_subcommand_and_per_run():
    """-v/-q before and after the subcommand add up; every run starts again from INFO."""
    import logging

    from click.testing import CliRunner

    from nstfilter.cli import main

    logger = logging.getLogger("nstfilter")
    saved = logger.handlers[:], logger.level, logger.propagate
    runs = [(["-v", "plugins", "list"], logging.DEBUG), (["plugins", "list"], logging.INFO),
            (["-q", "plugins", "list", "-q"], logging.ERROR)]  # fmt: skip
    try:
        for args, level in runs:
            assert CliRunner().invoke(main, args).exit_code == 0, args
            assert logger.level == level, args
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
