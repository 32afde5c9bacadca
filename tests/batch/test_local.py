"""``nstfilter batch`` on the local executor, with the stub engine (fast)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers.batch import (
    BATCH_PLUGINS,
    STUB_PLUGINS,
    STUB_PRESETS,
    cli_env,
    final_states,
    outputs,
    read_manifest,
)
from pebble import ProcessExpired

from nstfilter.batch import collect_inputs, run_batch
from nstfilter.batch.inputs import InputFile
from nstfilter.executors.local import LocalExecutor
from nstfilter.jobs import Job, read_styles, run_job
from nstfilter.params import StyleParams
from nstfilter.plugins import Plugins
from nstfilter.presets import load_preset


def _batch(photos: Path, outdir: Path, *, workers: int = 2, force: bool = False, calls=None):
    presets = [load_preset(name) for name in STUB_PRESETS]

    def factory():
        if calls is not None:
            calls.append(1)
        return LocalExecutor(workers=workers)

    inputs = collect_inputs([str(photos)], recursive=True, exclude=outdir)
    plugins = Plugins.load()
    return run_batch(
        inputs, presets, outdir, factory, plugins=plugins, force=force, progress="none"
    )


def test_twenty_photos_two_presets_then_resume_and_force(photos: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = _batch(photos, out)
    assert (result.done, result.failed, result.skipped) == (40, 0, 0)
    files = outputs(out)
    assert len(files) == 40
    # the tree is mirrored and names are <stem>.<preset>.<ext> (the preset decides the ext)
    assert "photo00.stub-starry.png" in files and "photo00.stub-scream.jpg" in files
    assert "sub/photo01.stub-starry.png" in files and "sub/photo01.stub-scream.jpg" in files
    states = final_states(out)
    assert len(states) == 40 and {s["status"] for s in states.values()} == {"done"}
    record = states["sub/photo01.jpg::stub-scream"]
    assert record["output"] == "sub/photo01.stub-scream.jpg"
    assert len(record["input_hash"]) == 64 and record["preset_hash"]
    assert record["seconds"] >= 0 and record["error"] is None
    report = (out / "report.html").read_text()
    assert report.count('alt="result"') == 40 and "Failures" not in report
    assert all((out / s["thumb_out"]).is_file() for s in states.values())

    # a re-run finds everything done: no executor is even started
    calls: list[int] = []
    again = _batch(photos, out, calls=calls)
    assert (again.done, again.skipped, calls) == (0, 40, [])
    assert outputs(out) == files

    # --force redoes all, with identical results (the stub is deterministic)
    forced = _batch(photos, out, force=True)
    assert (forced.done, forced.skipped) == (40, 0)
    assert outputs(out) == files


def test_changed_input_or_preset_redoes_only_those_jobs(photos: Path, tmp_path: Path):
    out = tmp_path / "out"
    _batch(photos, out, workers=1)
    changed = photos / "photo00.png"
    from PIL import Image

    Image.new("RGB", (40, 30), (200, 10, 10)).save(changed)
    lines_before = len(read_manifest(out))
    result = _batch(photos, out, workers=1)
    assert (result.done, result.skipped) == (2, 38)
    redone = {r["key"] for r in read_manifest(out)[lines_before:] if "key" in r}
    assert redone == {"photo00.png::stub-starry", "photo00.png::stub-scream"}


def test_corrupt_files_fail_alone_and_are_reported(photos: Path, tmp_path: Path):
    (photos / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    (photos / "empty.png").write_bytes(b"")
    (photos / "sub" / "truncated.png").write_bytes((photos / "photo00.png").read_bytes()[:60])
    out = tmp_path / "out"
    runner = CliRunner()
    from nstfilter.cli import main

    args = ["batch", str(photos), "-r", "-o", str(out), "--progress", "none", "-j", "2"]
    args += [a for name in STUB_PRESETS for a in ("-p", name)]
    result = runner.invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "6 of 46 jobs failed" in result.output
    states = final_states(out)
    failed = {k: s for k, s in states.items() if s["status"] == "failed"}
    assert set(failed) == {
        f"{name}::{preset}"
        for name in ("corrupt.jpg", "empty.png", "sub/truncated.png")
        for preset in STUB_PRESETS
    }
    for record in failed.values():
        assert record["error"] and "\n" not in record["error"]
        assert record["input_rel"] in record["error"]  # the message names the file
    assert "empty file" in failed["empty.png::stub-starry"]["error"]
    assert sum(s["status"] == "done" for s in states.values()) == 40
    report = (out / "report.html").read_text()
    assert "Failures (6)" in report and "corrupt.jpg" in report

    # fixing a file and re-running redoes only the failed jobs
    (photos / "corrupt.jpg").unlink()
    (photos / "empty.png").unlink()
    (photos / "sub" / "truncated.png").unlink()
    again = runner.invoke(main, args)
    assert again.exit_code == 0, again.output


def test_kill_in_the_middle_then_resume(photos: Path, tmp_path: Path):
    """SIGKILL the whole batch (client and workers) mid-run: a re-run finishes the rest,
    redoes nothing that had finished, and loses no job."""
    out = tmp_path / "out"
    args = [sys.executable, "-m", "nstfilter", "batch", str(photos), "-r", "-o", str(out)]
    args += ["-j", "2", "--progress", "log"]
    args += [a for name in STUB_PRESETS for a in ("-p", name)]
    env = {**os.environ, **cli_env(NSTFILTER_STUB_DELAY="0.4")}
    process = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (out / "manifest.jsonl").exists() and len(final_states(out)) >= 8:
                break
            assert process.poll() is None, process.stderr.read().decode()
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    first = final_states(out)
    assert 8 <= len(first) < 40, "the kill should land mid-batch"
    mtimes = {k: (out / r["output"]).stat().st_mtime_ns for k, r in first.items()}

    env["NSTFILTER_STUB_DELAY"] = "0"
    finished = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    records = read_manifest(out)
    runs = [i for i, r in enumerate(records) if "run" in r]
    assert len(runs) == 2
    second = {r["key"] for r in records[runs[1] :] if "key" in r}
    assert not second & set(first), "a job finished before the kill was redone"
    assert second | set(first) == set(final_states(out)) and len(final_states(out)) == 40
    assert all(r["status"] == "done" for r in final_states(out).values())
    assert len(outputs(out)) == 40
    for key, mtime in mtimes.items():
        assert (out / first[key]["output"]).stat().st_mtime_ns == mtime


def test_dead_worker_is_replaced_and_its_job_retried(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NSTFILTER_KILL_DIR", str(tmp_path))
    photos = tmp_path / "p"
    from helpers.batch import make_photos

    paths = make_photos(photos, 4)
    style = paths[0]

    def jobs(filter_name: str):
        params = StyleParams(filter=filter_name, size=32)
        styles = read_styles([(style, 1.0)])
        return [Job(p.name, p.name, p.read_bytes(), params, styles) for p in paths]

    dirs = [STUB_PLUGINS, BATCH_PLUGINS]
    with LocalExecutor(workers=2, plugins_dirs=dirs) as executor:
        results = dict(
            (job.key, outcome) for job, outcome in executor.map_unordered(jobs("kill-once"))
        )
        assert len(results) == 4 and all(o.ok for o in results.values()), results
        # a job that always kills its worker fails alone; jobs in flight with it finish
        mixed = jobs("kill-always")[:1] + jobs("stub")[1:]
        results = dict((job.key, o) for job, o in executor.map_unordered(mixed))
    assert len(results) == 4 and not results["photo00.png"].ok
    assert "worker process died 3 times" in results["photo00.png"].error
    assert all(results[p.name].ok for p in paths[1:])


def test_run_job_turns_every_failure_into_an_outcome(style_path: Path, monkeypatch):
    params = StyleParams(filter="stub", size=32)
    styles = ((style_path.read_bytes(), 1.0),)
    plugins = Plugins.load()
    bad = run_job(Job("k", "x.jpg", b"not an image", params, styles), plugins=plugins)
    assert not bad.ok and bad.error == "x.jpg: not an image file (unrecognised format)"
    unknown = run_job(
        Job("k", "x.jpg", style_path.read_bytes(), params.replace(filter="nope"), styles),
        plugins=plugins,
    )
    assert not unknown.ok and "unknown filter 'nope'" in unknown.error
    monkeypatch.setenv("NSTFILTER_STUB_FAIL", "1")
    crashed = run_job(Job("k", "x.jpg", style_path.read_bytes(), params, styles), plugins=plugins)
    assert crashed.error == "filter stub failed in apply: RuntimeError: stub engine asked to fail"


def test_inputs_lists_mirroring_and_collisions(tmp_path: Path, monkeypatch):
    from helpers.batch import make_photos

    from nstfilter.batch.manifest import Manifest
    from nstfilter.batch.run import plan_batch
    from nstfilter.errors import OutputError

    monkeypatch.chdir(tmp_path)
    make_photos(Path("a"), 4)
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "list.txt").write_text("# photos\na/photo00.png\n\na/sub\n")
    found = collect_inputs(["@list.txt"])
    assert [f.relative.as_posix() for f in found] == ["a/photo00.png", "photo01.jpg", "photo03.png"]
    flat = collect_inputs(["a"])  # not recursive: sub/ is left out, notes.txt too
    assert [f.relative.as_posix() for f in flat] == ["photo00.png", "photo02.jpg"]
    # the output folder inside an input folder is never an input
    (tmp_path / "a" / "out").mkdir()
    (tmp_path / "a" / "out" / "x.stub-starry.png").write_bytes(b"")
    assert len(collect_inputs(["a"], recursive=True, exclude=Path("a/out"))) == 4
    clash = [
        InputFile(Path("a/photo00.png"), Path("x.png")),
        InputFile(Path("a/photo02.jpg"), Path("x.jpg")),
    ]
    with pytest.raises(OutputError, match="would be the same file"):
        plan_batch(clash, [load_preset("stub-starry")], tmp_path / "o", Manifest(tmp_path / "o"))


def test_help_documents_exit_status():
    result = CliRunner().invoke(
        __import__("nstfilter.cli", fromlist=["main"]).main, ["batch", "--help"]
    )
    assert result.exit_code == 0
    assert "1 when any job failed" in result.output and "--scheduler" in result.output


def test_submit_after_a_worker_death_blames_that_job_and_goes_on(tmp_path: Path, monkeypatch):
    """The watcher submits one job at a time: a crash must not fail every later file."""
    monkeypatch.setenv("NSTFILTER_KILL_DIR", str(tmp_path))
    from helpers.batch import make_photos

    paths = make_photos(tmp_path / "p", 2)

    def job(filter_name: str, path: Path) -> Job:
        params = StyleParams(filter=filter_name, size=32)
        return Job(path.name, path.name, path.read_bytes(), params, read_styles([(paths[0], 1.0)]))

    with LocalExecutor(workers=1, plugins_dirs=[STUB_PLUGINS, BATCH_PLUGINS]) as executor:
        crashed = executor.submit(job("kill-always", paths[0]))
        with pytest.raises(ProcessExpired):
            crashed.result(timeout=120)
        outcome = executor.submit(job("stub", paths[1])).result(timeout=120)
    assert outcome.ok, outcome.error


def test_workers_exit_when_the_batch_is_killed_alone(photos: Path, tmp_path: Path):
    """``kill -9`` of the batch process only (not its group): no worker is left behind."""
    import psutil

    out = str(tmp_path / "out")
    args = [sys.executable, "-m", "nstfilter", "batch", str(photos), "-r", "-o", out,
            "-j", "2", "-p", STUB_PRESETS[0], "--progress", "none",
            "--executor", "local"]  # fmt: skip
    env = {**os.environ, **cli_env(NSTFILTER_STUB_DELAY="2")}
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        parent = psutil.Process(process.pid)
        workers: list[psutil.Process] = []
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline:
            workers = [c for c in parent.children(recursive=True) if "python" in c.name()]
            time.sleep(0.2)
        assert len(workers) >= 2, "the batch never started its workers"
        process.kill()
        process.wait(timeout=30)
        _, alive = psutil.wait_procs(workers, timeout=60)
        assert alive == [], f"workers outlived their batch: {alive}"
    finally:
        if process.poll() is None:
            process.kill()


def test_style_images_are_read_once_per_preset_and_a_vanished_one_is_one_line(
    photos: Path, tmp_path: Path
):
    import dataclasses
    import shutil

    from nstfilter.batch.run import PlannedJob, _jobs
    from nstfilter.errors import InputNotFoundError

    preset = load_preset(STUB_PRESETS[0])
    style = tmp_path / "style.png"
    shutil.copyfile(preset.styles[0][0], style)
    preset = dataclasses.replace(preset, styles=[(style, 1.0)])
    sources = sorted(photos.glob("*.jpg"))[:3]
    todo = [
        PlannedJob(p.name, InputFile(p, Path(p.name)), preset, "", Path(p.name), tmp_path / p.name)
        for p in sources
    ]
    jobs = _jobs(todo, None)
    first = next(jobs)
    style.unlink()  # a long batch is not stopped by a style image removed after its start
    rest = list(jobs)
    assert [j.styles for j in rest] == [first.styles] * 2 and first.styles[0][0]
    with pytest.raises(InputNotFoundError, match="cannot read style image") as caught:
        read_styles([(style, 1.0)])
    assert str(style) in str(caught.value) and caught.value.exit_code == 3


def test_a_malformed_thread_budget_fails_the_job_in_one_line(tmp_path: Path, monkeypatch):
    from nstfilter.errors import UsageError
    from nstfilter.jobs import THREADS_ENV, run_worker_job

    monkeypatch.setenv(THREADS_ENV, "lots")
    monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    job = Job("a.jpg::x", "a.jpg", b"", StyleParams(), ())
    with pytest.raises(UsageError, match=r"\$NSTFILTER_THREADS must be a number of threads"):
        run_worker_job(job)
