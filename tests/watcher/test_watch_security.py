"""Issue 11 in the watcher: untrusted names in logs and notes, inputs the inbox would eat."""

from __future__ import annotations

import os
import signal

import pytest
from helpers.watcher import DropFolder, files, make_jpeg, write_preset


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


# --- issue 20 ---------------------------------------------------------------------------------

HANG = """\
import time

from nstfilter import hookimpl


@hookimpl
def nstfilter_preprocess(image):
    time.sleep(3600)
"""
WRONG = """\
from nstfilter import hookimpl


@hookimpl
def nstfilter_preprocess(image):
    return 42
"""


def _with_plugin(drop: DropFolder, name: str, source: str) -> dict[str, str]:
    folder = drop.root.parent / "more-plugins"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(source)
    return {"NSTFILTER_PLUGINS_DIR": f"{drop.env['NSTFILTER_PLUGINS_DIR']}{os.pathsep}{folder}"}


def test_a_hook_returning_the_wrong_thing_is_named_in_the_note(drop: DropFolder):
    make_jpeg(drop.inbox / "a.jpg")
    result = drop.once(env=_with_plugin(drop, "wrong", WRONG))
    assert result.returncode == 0, result.stderr
    [note] = list(drop.failed.glob("*.error.txt"))
    assert "plugin wrong returned a int from nstfilter_preprocess" in note.read_text()


@pytest.mark.slow
def test_sigterm_stops_the_watcher_while_a_hook_hangs(drop: DropFolder):
    proc = drop.start(env=_with_plugin(drop, "hang", HANG))
    make_jpeg(drop.inbox / "a.jpg")
    drop.wait_for_log(proc, "received a.jpg")
    code, output = drop.stop(proc, sig=signal.SIGTERM, timeout=60)
    assert code == 0, output
    assert "did not stop within" in output
    assert (drop.inbox / "a.jpg").is_file() and files(drop.outbox) == []


@pytest.mark.slow
def test_a_job_past_its_time_limit_goes_to_failed(drop: DropFolder):
    make_jpeg(drop.inbox / "a.jpg")
    result = drop.once("--executor", "local", "--job-timeout", "3",
                       env=_with_plugin(drop, "hang", HANG))  # fmt: skip
    assert result.returncode == 0, result.stderr
    [note] = list(drop.failed.glob("*.error.txt"))
    assert "job time limit (--job-timeout)" in note.read_text()
    assert files(drop.inbox) == []


def test_a_time_limit_with_threads_is_refused(drop: DropFolder):
    result = drop.once("--job-timeout", "3")
    assert result.returncode == 2 and "--job-timeout needs --executor local" in result.stderr


@pytest.mark.slow
def test_one_small_thin_file_cannot_claim_the_host(drop: DropFolder):
    """20000x9 at size original once took 15.5 GB in the drop folder: every image the job
    decodes or derives obeys the pixel limit (a 400x9 photo, a 20,000 limit): here the
    painting itself is refused, naming it, as apply and batch refuse it."""
    make_jpeg(drop.inbox / "thin.jpg", size=(400, 9))
    result = drop.once("--size", "original", "--max-pixels", "20000", preset="real")
    assert result.returncode == 0, result.stderr
    [note] = list(drop.failed.glob("*.error.txt"))
    assert "starry_night.jpg: exceeds twice the limit of 20,000 pixels" in note.read_text()


@pytest.mark.parametrize("fail", [False, True])
def test_a_255_byte_name_gets_results_and_notes_that_fit(drop: DropFolder, fail):
    """Derived names (``<stem>.<preset>.png``, ``<stem>.error.txt``) would exceed the file
    system's 255 bytes: the stem is shortened with a hash, the file is handled, once."""
    name = "é" * 123 + "xxxxx.jpg"  # 255 bytes in UTF-8
    assert len(os.fsencode(name)) == 255
    make_jpeg(drop.inbox / name)
    result = drop.once(env={"NSTFILTER_STUB_FAIL": "1"} if fail else {})
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert files(drop.inbox) == []
    made = files(drop.failed) if fail else files(drop.outbox) + files(drop.processed)
    assert len(made) == 2 and all(len(os.fsencode(n)) <= 255 for n in made), made
    if fail:
        [note] = list(drop.failed.glob("*.error.txt"))
        assert note.name.startswith("é" * 50) and "stub engine asked to fail" in note.read_text()
        assert f"file:    {name}" in note.read_text()  # the original's full name, kept here
    else:
        [out] = files(drop.outbox)
        assert out.endswith(".stubby.png") and "~" in out


def test_an_inbox_on_a_full_disk_is_one_line_and_its_own_exit_code(drop, monkeypatch):
    """The first write at start-up (the lock's pid) fails with ENOSPC: one line, exit 16."""
    import errno

    from click.testing import CliRunner

    from nstfilter.cli import main

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    for key, value in drop.env.items():
        if key.startswith("NSTFILTER_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(os, "pwrite", full)
    result = CliRunner().invoke(main, ["watch", str(drop.inbox), "-p", "stubby", "--once"])
    assert result.exit_code == 16, (result.output, result.exception)
    lines = [line for line in result.output.splitlines() if "error" in line]
    assert len(lines) == 1 and "No space left on device" in lines[0], result.output


def test_a_file_that_cannot_even_be_failed_is_not_retried_for_ever(tmp_path, stub_plugins):
    """A file the watcher can neither style nor move to failed/ (RETRY) is given up after
    MAX_TRIES, until it changes: no endless loop of tracebacks in the log."""
    from nstfilter.watcher import Layout, Watcher, WatchOptions
    from nstfilter.watcher.pipeline import RETRY
    from nstfilter.watcher.service import MAX_TRIES

    photo = make_jpeg(tmp_path / "inbox" / "a.jpg")
    watcher = Watcher(Layout.build(tmp_path / "inbox"), WatchOptions("stubby"), stub_plugins)
    tries = []
    watcher.runner.process = lambda path: tries.append(path) or RETRY
    watcher.tracker.unchanged = lambda path: True
    for _ in range(MAX_TRIES):
        assert watcher.accept(photo)
        watcher.work.put(photo)
    watcher.work.put(None)
    watcher._worker()
    assert len(tries) == MAX_TRIES and not watcher.accept(photo)
    photo.write_bytes(photo.read_bytes() + b"\0")  # changed: a new chance
    assert watcher.accept(photo)
