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
