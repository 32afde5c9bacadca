"""apply, batch and watch as thin drivers of the one job pipeline (issue 21): the same
options mean the same thing, checks that need no network fail before TensorFlow is
imported, Ctrl-C keeps the image so far, the metrics reproduce a run, help is readable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import click
import pytest
from helpers import REPO, STUB_PLUGINS, run_cli
from PIL import Image

from nstfilter.cli import main

ENV = {"NSTFILTER_PLUGINS_DIR": str(STUB_PLUGINS)}

#: Runs the CLI in this interpreter, then says whether TensorFlow was imported by then.
PROBE = """
import sys
from nstfilter.cli import main
try:
    main(sys.argv[1:], prog_name="nstfilter")
except SystemExit as exc:
    print("exit", exc.code, "tensorflow" in sys.modules)
"""


def probe(*args: str, env=None) -> tuple[str, str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)  # fmt: skip
    return proc.stdout.strip(), proc.stderr


@pytest.fixture
def photo(tmp_path, content_path):
    path = tmp_path / "photo.jpg"
    Image.open(content_path).convert("RGB").resize((48, 36)).save(path)
    return path


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.jpg"], 3, "missing.jpg: no such file"),
        (["{photo}", "--style-layers", "block9_conv9"], 8, "unknown layer 'block9_conv9'"),
        (["{photo}", "--backbone", "vgg19"], 9, "VGG19 weights"),
    ],
)
def test_checks_that_need_no_network_fail_before_tensorflow(
    tmp_path, photo, style_path, args, code, message
):
    """A wrong path, layer or missing weights: one line, before TensorFlow is imported."""
    args = [a.format(photo=photo) for a in args]
    env = {"NSTFILTER_VGG19_WEIGHTS": str(tmp_path / "absent.h5")}
    out, err = probe("apply", *args, "--style", str(style_path), "-o", str(tmp_path / "o.png"),
                     env=env)  # fmt: skip
    assert message in err and "Traceback" not in err
    assert out.split()[-1] == "False", "TensorFlow was imported before the check"
    assert out.split()[1] == str(code)


@pytest.mark.slow  # the real engine, a few hundred steps on 48 px
def test_ctrl_c_keeps_the_image_so_far(tmp_path, photo, style_path):
    out = tmp_path / "out.png"
    cmd = [sys.executable, "-m", "nstfilter", "apply", str(photo), "--style", str(style_path),
           "-o", str(out), "--size", "48", "--scales", "1", "--iterations", "100000",
           "--coarse-iterations", "0", "--init", "content", "--progress", "json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait for the optimisation to run
        if '"event": "progress"' in line and json.loads(line)["step"] >= 3:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    partial = tmp_path / "out.partial.png"
    assert proc.returncode == 130, err
    assert f"the image so far is in {partial}" in err
    assert Image.open(partial).size == (48, 36) and not out.exists()


@pytest.mark.slow  # the real engine
def test_metrics_reproduce_a_run_with_like(tmp_path, photo, style_path):
    metrics, out = tmp_path / "run.json", tmp_path / "a.png"
    proc = run_cli("apply", str(photo), "--style", f"{style_path}:2", "--size", "32",
                   "--scales", "1", "--iterations", "2", "--coarse-iterations", "0",
                   "--strength", "0.7", "-o", str(out), "--metrics", str(metrics))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = json.loads(metrics.read_text())
    assert run["input_sha256"] and run["styles"][0]["weight"] == 2.0
    assert len(run["styles"][0]["sha256"]) == 64 and run["settings"]["strength"] == 0.7
    assert run["backbone"] and run["device"] in ("cpu", "gpu") and "nstfilter" in run["versions"]
    again = tmp_path / "again.json"
    proc = run_cli("apply", str(photo), "--like", str(metrics), "--iterations", "3",
                   "-o", str(tmp_path / "b.png"), "--metrics", str(again))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    second = json.loads(again.read_text())
    assert second["styles"] == run["styles"] and second["settings"]["strength"] == 0.7
    assert second["settings"]["iterations"] == 3  # an option given here wins


def test_batch_and_watch_take_the_same_output_metrics_and_executor(tmp_path, photo, style_path):
    """-o on all three (watch keeps --outbox), --metrics one JSON line per job, threads."""
    common = ["--style", str(style_path), "--filter", "stub", "--size", "32",
              "--metrics"]  # fmt: skip
    out = tmp_path / "out"
    proc = run_cli("batch", str(photo), *common, str(tmp_path / "b.jsonl"), "-o", str(out),
                   "--progress", "json", env=ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    [line] = (tmp_path / "b.jsonl").read_text().splitlines()
    assert json.loads(line)["filter"] == "stub" and (out / "photo.styled.png").is_file()
    runs = [json.loads(r) for r in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["metrics"] for r in runs if "run" in r] == [str((tmp_path / "b.jsonl").resolve())]
    assert "on 1 thread in this process" in proc.stderr  # the default executor: threads

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    Image.open(photo).save(inbox / "p.jpg")
    proc = run_cli("watch", str(inbox), "--once", "--settle", "0", *common,
                   str(tmp_path / "w.jsonl"), "-o", str(tmp_path / "results"), env=ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "results" / "p.styled.png").is_file()  # PNG, as apply and batch
    assert json.loads((tmp_path / "w.jsonl").read_text())["filter"] == "stub"


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name)), command


def test_every_option_of_every_command_has_help():
    missing = [
        f"{name} {param.opts[0]}"
        for name, command in _commands(main)
        for param in command.params
        if isinstance(param, click.Option)
        and param.opts
        and not param.hidden
        and not (param.help or "").strip()
    ]
    assert not missing, f"options without help: {missing}"


def test_apply_help_is_grouped_and_says_the_total_steps():
    text = run_cli("apply", "--help").stdout
    heads = ["Input and output:", "Style:", "Look:", "Schedule:", "Optimiser:", "Resources:"]
    assert [text.index(h) for h in heads] == sorted(text.index(h) for h in heads)
    assert text.index("--beta-1") > text.index("Optimiser:") > text.index("--style ")
    assert "steps in all" in " ".join(text.split())
    weights = " ".join(run_cli("weights", "fetch", "--help").stdout.split())
    assert "``" not in weights


def test_the_help_library_is_declared():
    text = (REPO / "pyproject.toml").read_text()
    assert "click-option-group>=" in text


def test_a_cli_run_loads_its_plugins_once():
    code = """
from nstfilter import plugins
calls = []
load = plugins.Plugins.load.__func__
plugins.Plugins.load = classmethod(lambda cls, *a: (calls.append(a), load(cls, *a))[1])
from nstfilter.cli import main
try:
    main(["plugins", "list"], prog_name="nstfilter")
except SystemExit:
    print("loads", len(calls))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert proc.stdout.strip().endswith("loads 1"), proc.stderr


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_batch_progress_json_is_a_line_per_job_and_per_step(tmp_path, photo, style_path):
    """``batch --progress json``: apply's lines for each step of the jobs run here (naming
    the input), and one per finished job, failures included."""
    (tmp_path / "in").mkdir()
    Image.open(photo).save(tmp_path / "in" / "a.png")
    Image.open(photo).save(tmp_path / "in" / "b.png")
    (tmp_path / "in" / "c.png").write_bytes(b"not an image")
    proc = run_cli("batch", str(tmp_path / "in"), "--style", str(style_path), "--filter", "stub",
                   "--size", "32", "-o", str(tmp_path / "out"), "--progress", "json",
                   env=ENV)  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # c.png failed, the others ran
    lines = _json_lines(proc.stderr)
    jobs = [r for r in lines if r["event"] == "job"]
    assert sorted((r["key"], r["status"]) for r in jobs) == [
        ("a.png::styled", "done"), ("b.png::styled", "done"), ("c.png::styled", "failed")
    ]  # fmt: skip
    assert [r["step"] for r in jobs] == [1, 2, 3] and {r["total"] for r in jobs} == {3}
    steps = [r for r in lines if r["event"] == "progress"]
    assert {r["input"] for r in steps} == {"a.png", "b.png"} and {r["unit"] for r in steps} == {
        "step"
    }
    assert all({"step", "total", "loss", "eta_seconds"} <= r.keys() for r in steps)


@pytest.mark.parametrize("command", ["batch", "watch"])
def test_a_metrics_file_is_in_the_output_plan(tmp_path, photo, style_path, command):
    """--metrics of batch and watch is checked with the other outputs, before any job: it
    can never be written over an input, a result or into the emptied inbox."""
    before = photo.read_bytes()
    common = ["--style", str(style_path), "--filter", "stub", "--size", "32"]
    if command == "batch":
        out = tmp_path / "out"
        cases = [(photo, "over the photo"), (out / "photo.styled.png", "would be the same file")]
        for metrics, message in cases:
            proc = run_cli("batch", str(photo), *common, "-o", str(out), "--metrics",
                           str(metrics), env=ENV)  # fmt: skip
            assert proc.returncode == 10 and message in proc.stderr, proc.stderr
        assert not (out / "photo.styled.png").exists()
    else:
        inbox = tmp_path / "inbox"
        inbox.mkdir()
        cases = [(style_path, "over the style image"), (inbox / "m.jsonl", "inside the inbox")]
        for metrics, message in cases:
            proc = run_cli("watch", str(inbox), "--once", *common, "--metrics", str(metrics),
                           env=ENV)  # fmt: skip
            assert proc.returncode == 10 and message in proc.stderr, proc.stderr
    assert photo.read_bytes() == before and "Traceback" not in proc.stderr


@pytest.mark.parametrize("command", ["batch", "watch"])
def test_save_every_is_apply_s_and_the_help_says_why(command):
    text = " ".join(run_cli(command, "--help").stdout.split())
    assert "--save-every is apply's only" in text and "nstfilter apply --save-every" in text
    refused = run_cli(command, "x", "--save-every", "5")
    assert refused.returncode == 2 and "No such option" in refused.stderr


@pytest.fixture
def clip(tmp_path):
    pytest.importorskip("av")
    pytest.importorskip("cv2")
    from helpers.video import pan_frames, photo, write_clip

    path = tmp_path / "pan.mp4"
    write_clip(path, list(pan_frames(photo(longest=160), (48, 64), 5, (2, 1))))
    return path


def test_apply_styles_a_clip_through_the_job_pipeline(tmp_path, clip, style_path, monkeypatch):
    """apply's clip is a job like a photo's (``jobs.execute``, the clip runner), encoded into
    its target; its frames reach the one progress display as ``frame`` events."""
    from click.testing import CliRunner

    from nstfilter import jobs

    seen = []
    runner = jobs.RUNNERS["clip"]
    monkeypatch.setitem(jobs.RUNNERS, "clip", lambda job, *a: seen.append(job) or runner(job, *a))
    monkeypatch.setenv("NSTFILTER_PLUGINS_DIR", str(STUB_PLUGINS))
    out = tmp_path / "styled.mp4"
    args = [
        "apply",
        str(clip),
        "--style",
        str(style_path),
        "--filter",
        "stub",
        "--size",
        "64",
        "-o",
        str(out),
        "--progress",
        "json",
        "--metrics",
        str(tmp_path / "m.json"),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    [job] = seen
    assert job.clip and job.target == str(out) and job.path == str(clip)
    frames = [r for r in _json_lines(result.output) if r.get("unit") == "frame"]
    assert [r["step"] for r in frames] == [1, 2, 3, 4, 5] and frames[-1]["eta_seconds"] == 0.0
    assert out.is_file() and not (tmp_path / "styled.mp4.parts").exists()
    record = json.loads((tmp_path / "m.json").read_text())
    assert record["frames"] == 5 and len(record["input_sha256"]) == 64


def _no_whole_clip(monkeypatch, clip):
    """Reading ``clip`` whole into memory fails the test (frames are decoded one by one)."""
    from pathlib import Path

    read_bytes = Path.read_bytes

    def guarded(self):
        assert self.suffix != clip.suffix, f"{self} read whole into memory"
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", guarded)


def test_the_drop_folder_streams_a_clip_and_logs_its_frames(
    tmp_path, clip, style_path, monkeypatch, caplog
):
    """On threads a clip goes from the inbox to the outbox file to file (never whole in
    memory) and a long one logs ``pan.mp4: frame 2/5, ETA`` as it goes."""
    import logging
    from types import SimpleNamespace

    from nstfilter.params import StyleParams
    from nstfilter.plugins import Plugins
    from nstfilter.presets import Preset
    from nstfilter.watcher import compute

    monkeypatch.setattr(compute, "PROGRESS_EVERY", 0.0)  # every frame instead of every 30 s
    plugins = Plugins.load([str(STUB_PLUGINS)])
    preset = Preset("p", StyleParams(filter="stub", size=64), styles=[(style_path, 1.0)])
    make = compute.make_compute("threads", plugins, lambda: False, workers=1)
    _no_whole_clip(monkeypatch, clip)
    output = tmp_path / "outbox" / "pan.p.mp4"
    output.parent.mkdir()
    with caplog.at_level(logging.INFO, logger="nstfilter.watch"):
        data, metrics = make(clip, SimpleNamespace(styles=[], preset=preset), output)
    assert data is None and output.is_file() and metrics["frames"] == 5
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("pan.mp4:")]
    assert lines[0].startswith("pan.mp4: frame 1/5, ETA") and len(lines) == 4
    assert not (tmp_path / "outbox" / "pan.p.mp4.parts").exists()


def test_a_batch_on_threads_streams_its_clips(tmp_path, clip, style_path, monkeypatch):
    from nstfilter.batch import collect_inputs, run_batch
    from nstfilter.executors import make_executor
    from nstfilter.params import StyleParams
    from nstfilter.plugins import Plugins
    from nstfilter.presets import Preset

    plugins = Plugins.load([str(STUB_PLUGINS)])
    preset = Preset("p", StyleParams(filter="stub", size=64), styles=[(style_path, 1.0)])
    _no_whole_clip(monkeypatch, clip)
    out = tmp_path / "out"
    result = run_batch(collect_inputs([str(clip)], recursive=False, exclude=out), [preset], out,
                       lambda: make_executor("threads", plugins=plugins), plugins=plugins,
                       progress="none", in_process=True)  # fmt: skip
    assert result.done == 1, result.failures
    assert (out / "pan.p.mp4").is_file() and not (out / "pan.p.mp4.parts").exists()


@pytest.mark.slow  # starts a worker process
def test_a_worker_process_gets_a_clip_as_bytes_and_hands_back_bytes(tmp_path, clip, style_path):
    """--executor local: the worker has no target (it may share no folder), so the clip
    travels as bytes both ways and its work folder under the temporary one is removed."""
    out = tmp_path / "out"
    proc = run_cli("batch", str(clip), "--style", str(style_path), "--filter", "stub",
                   "--size", "64", "-o", str(out), "--executor", "local", env=ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (out / "pan.styled.mp4").stat().st_size > 0 and not list(out.glob("*.parts"))
