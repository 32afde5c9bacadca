"""Issue 11 in the watcher: untrusted names in logs and notes, inputs the inbox would eat."""

from __future__ import annotations

import os

from helpers.watcher import DropFolder, make_jpeg, write_preset


def test_a_newline_in_a_name_cannot_forge_log_lines_or_note_fields(drop: DropFolder):
    forged = "a.jpg\nnstfilter: done evil.jpg\x1b[2J"
    make_jpeg(drop.inbox / f"{forged}.jpg")
    result = drop.once(env={"NSTFILTER_STUB_FAIL": "1"})
    assert result.returncode == 0, result.stderr
    log = result.stdout + result.stderr
    assert "\x1b" not in log
    assert not any(line.startswith("nstfilter: done evil") for line in log.splitlines())
    assert "a.jpg\\nnstfilter: done evil.jpg\\x1b[2J" in log
    [note] = list(drop.failed.glob("*.error.txt"))
    fields = [line.split(":", 1)[0] for line in note.read_text().splitlines()]
    assert fields == ["file", "from", "preset", "time", "error"]  # no forged field


def test_a_style_image_inside_the_inbox_is_refused_before_watching(drop: DropFolder):
    """The inbox is emptied by the watcher: a preset whose style image lives there would
    lose it to processed/ (and be styled as a photo)."""
    style = make_jpeg(drop.inbox / "style.jpg")
    write_preset(drop.root, "inboxed")
    preset = drop.root / "inboxed.toml"
    preset.write_text(preset.read_text().replace('"starry_night.jpg"', '"inbox/style.jpg"'))
    env = {"NSTFILTER_PRESET_PATH": f"{drop.root}{os.pathsep}{drop.env['NSTFILTER_PRESET_PATH']}"}
    result = drop.once(preset="inboxed", env=env)
    assert result.returncode == 10, result.stdout + result.stderr
    assert "inside the inbox" in result.stderr
    assert style.is_file()


def test_a_job_log_inside_the_inbox_is_refused(drop: DropFolder):
    make_jpeg(drop.inbox / "a.jpg")
    result = drop.once(env={"NSTFILTER_JOB_LOG": str(drop.inbox / "log.jpg")})
    assert result.returncode == 10 and "job log is inside the inbox" in result.stderr
