"""The editor front-ends without the editors: fast checks that run everywhere.

The GIMP plug-in's non-GIMP half (finding the CLI, building its arguments, following its
progress, surviving its failures, not outliving GIMP's Cancel) is imported here with a
stand-in ``gi`` module; the real GIMP runs are in test_gimp.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import REPO

from nstfilter.cli import editors

PLUGIN = REPO / "editors" / "gimp" / "nstfilter" / "nstfilter.py"
GMIC = REPO / "editors" / "gmic" / "nstfilter.gmic"


@pytest.fixture(scope="module")
def plugin() -> types.ModuleType:
    """The plug-in module, with a stub ``gi`` (GIMP's typelibs are not installed here)."""

    class _Anything:
        def __getattr__(self, name):
            return _Anything()

        def __call__(self, *args, **kwargs):
            return _Anything()

        def __mro_entries__(self, bases):
            return (object,)

    gi = types.ModuleType("gi")
    gi.require_version = lambda *args: None
    repository = types.ModuleType("gi.repository")
    for name in ("Gimp", "Gio", "GLib", "GObject"):
        setattr(repository, name, _Anything())
    gi.repository = repository
    saved = {k: sys.modules.get(k) for k in ("gi", "gi.repository")}
    sys.modules.update({"gi": gi, "gi.repository": repository})
    try:
        spec = importlib.util.spec_from_file_location("nstfilter_gimp_plugin", PLUGIN)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        for key, value in saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value
    return module


def fake_cli(folder: Path, body: str, name: str = "nstfilter") -> Path:
    """A stand-in CLI: a Python script with ``body``."""
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport sys, json, time\n{textwrap.dedent(body)}")
    path.chmod(0o755)
    return path


# --- the packaged copies and the install commands ----------------------------------------


@pytest.mark.parametrize("kind", ["gimp", "gmic"])
def test_packaged_copy_is_identical(kind: str) -> None:
    """nstfilter/_data/ ships the editor files in the wheel; plugins/ is canonical."""
    canonical, packaged_dir = editors.SOURCES[kind]
    packaged = packaged_dir / canonical.name
    assert packaged.read_bytes() == canonical.read_bytes(), (
        f"{packaged} is stale: cp {canonical.relative_to(REPO)} {packaged.relative_to(REPO)}"
    )


def test_install_gimp_plugin(tmp_path: Path) -> None:
    result = CliRunner().invoke(editors.install_gimp_plugin, ["--dest", str(tmp_path)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "nstfilter" / "nstfilter.py"
    assert target.read_bytes() == PLUGIN.read_bytes()
    assert target.stat().st_mode & stat.S_IXUSR
    assert str(target) in result.output
    command = json.loads((tmp_path / "nstfilter" / "nstfilter.json").read_text())["command"]
    assert Path(command[0]).exists()  # this environment's nstfilter (or its python)


def test_install_gimp_plugin_default_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("GIMP3_DIRECTORY", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    result = CliRunner().invoke(editors.install_gimp_plugin, ["--no-config"])
    assert result.exit_code == 0, result.output
    if sys.platform.startswith("linux"):
        expected = tmp_path / ".config/GIMP/3.0/plug-ins/nstfilter/nstfilter.py"
        assert expected.is_file()
        assert not (expected.parent / "nstfilter.json").exists()


def test_install_gimp_plugin_unwritable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(editors.install_gimp_plugin, ["--dest", str(blocker)])
    assert result.exit_code != 0


def test_install_gmic_filter_keeps_user_commands(tmp_path: Path) -> None:
    user_file = tmp_path / "user.gmic"
    user_file.write_text("mine :\n  echo mine\n")
    for _ in range(3):
        result = CliRunner().invoke(editors.install_gmic_filter, ["--user-file", str(user_file)])
        assert result.exit_code == 0, result.output
    text = user_file.read_text()
    assert text.startswith("mine :\n  echo mine\n")
    assert text.count(editors.BLOCK_BEGIN) == 1 and text.count(editors.BLOCK_END) == 1
    assert "\nnstfilter :" in text and "fx_nstfilter :" in text


# --- the GIMP plug-in's CLI side ----------------------------------------------------------


def test_find_cli_precedence(plugin, tmp_path: Path, monkeypatch) -> None:
    env = shutil.which("env")
    exe = fake_cli(tmp_path, "pass")
    on_path = tmp_path / "path"
    on_path.mkdir()
    fake_cli(on_path, "pass")
    monkeypatch.setenv("PATH", str(on_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(plugin, "__file__", str(tmp_path / "plug-in" / "nstfilter.py"))
    monkeypatch.delenv("NSTFILTER_BIN", raising=False)
    assert plugin.find_cli() == [str(on_path / "nstfilter")]  # 3. PATH
    config = tmp_path / "plug-in" / "nstfilter.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"command": [str(exe)]}))
    assert plugin.find_cli() == [str(exe)]  # 2. the config file beats PATH
    monkeypatch.setenv("NSTFILTER_BIN", f"{env} {exe}")
    assert plugin.find_cli() == [env, str(exe)]  # 1. a wrapper command line
    spaced = tmp_path / "with space"
    spaced.mkdir()
    monkeypatch.setenv("NSTFILTER_BIN", str(fake_cli(spaced, "pass")))
    assert plugin.find_cli() == [str(spaced / "nstfilter")]  # a path is never split


def test_find_cli_failures_say_what_to_do(plugin, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(plugin, "__file__", str(tmp_path / "nstfilter.py"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("NSTFILTER_BIN", raising=False)
    with pytest.raises(plugin.NstFailure, match="install-gimp-plugin.*NSTFILTER_BIN"):
        plugin.find_cli()
    monkeypatch.setenv("NSTFILTER_BIN", "/no/such/nstfilter")
    with pytest.raises(plugin.NstFailure, match="NSTFILTER_BIN is set"):
        plugin.find_cli()
    monkeypatch.delenv("NSTFILTER_BIN")
    (tmp_path / "nstfilter.json").write_text("{not json")
    with pytest.raises(plugin.NstFailure, match="cannot read"):
        plugin.find_cli()


def test_cli_arguments_leave_defaults_to_the_preset(plugin) -> None:
    base = {"preset": "swirl", "style": None, "strength": -1.0, "preserve_colors": "preset"}
    args = plugin.cli_arguments({**base, "size": 0, "iterations": 0}, "in.png", "out.png")
    head = ["apply", "in.png", "-o", "out.png", "--progress", "json", "-q"]
    assert args == [*head, "--preset", "swirl"]
    args = plugin.cli_arguments(
        {**base, "style": "/s.jpg", "strength": 0.5, "preserve_colors": "no", "size": 64}
        | {"iterations": 7},
        "in.png",
        "out.png",
    )
    expected = ["--style", "/s.jpg", "--strength", "0.5", "--no-preserve-color"]
    assert args[9:] == [*expected, "--size", "64", "--iterations", "7"]


def test_run_cli_reports_progress_and_errors(plugin, tmp_path: Path) -> None:
    cli = fake_cli(
        tmp_path,
        """
        for step in range(1, 5):
            print(json.dumps({"event": "progress", "step": step, "total": 4,
                              "scale": 1 + step // 3, "scales": 2, "loss": 1.0}),
                  file=sys.stderr, flush=True)
        print("nstfilter: some log line", file=sys.stderr)
        if "fail" in sys.argv:
            print("nstfilter: error: style.png: not an image", file=sys.stderr)
            sys.exit(4)
        """,
    )
    seen: list[tuple[float, str]] = []
    plugin.run_cli([str(cli)], ["apply"], lambda f, t: seen.append((f, t)))
    assert [round(f, 2) for f, _ in seen] == [0.25, 0.5, 0.75, 1.0]
    assert seen[-1][1].endswith("scale 2/2, step 4/4")
    with pytest.raises(plugin.NstFailure) as failure:
        plugin.run_cli([str(cli)], ["apply", "fail"], lambda f, t: None)
    assert str(failure.value) == "style.png: not an image"


def test_run_cli_without_error_line(plugin, tmp_path: Path) -> None:
    cli = fake_cli(tmp_path, "print('Killed', file=sys.stderr); sys.exit(137)")
    with pytest.raises(plugin.NstFailure, match=r"exit code 137\): Killed"):
        plugin.run_cli([str(cli)], [], lambda f, t: None)


def test_run_cli_does_not_pass_gimps_python(plugin, tmp_path: Path, monkeypatch) -> None:
    """GIMP's embedded Python may set PYTHONHOME/PYTHONPATH; the CLI's Python must not see
    them."""
    cli = fake_cli(
        tmp_path,
        "import os; sys.exit(3 if os.environ.get('PYTHONHOME') or os.environ.get('PYTHONPATH') "
        "else 0)",
    )
    monkeypatch.setenv("PYTHONPATH", "/gimp/lib/python3")
    plugin.run_cli([str(cli)], [], lambda f, t: None)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux")
def test_cli_dies_with_the_plugin(tmp_path: Path) -> None:
    """GIMP's Cancel SIGKILLs the plug-in: the CLI it started must stop too."""
    pidfile = tmp_path / "cli.pid"
    cli = fake_cli(
        tmp_path,
        f"import os\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\ntime.sleep(120)\n",
    )
    driver = tmp_path / "driver.py"
    driver.write_text(
        textwrap.dedent(
            f"""
            import sys, types
            sys.modules['gi'] = gi = types.ModuleType('gi')
            gi.require_version = lambda *a: None
            class A:
                def __getattr__(self, n): return A()
                def __call__(self, *a, **k): return A()
                def __mro_entries__(self, b): return (object,)
            sys.modules['gi.repository'] = repo = types.ModuleType('gi.repository')
            for n in ('Gimp', 'Gio', 'GLib', 'GObject'): setattr(repo, n, A())
            import importlib.util
            spec = importlib.util.spec_from_file_location('p', {str(PLUGIN)!r})
            p = importlib.util.module_from_spec(spec); spec.loader.exec_module(p)
            p.run_cli([{str(cli)!r}], [], lambda f, t: None)
            """
        )
    )
    parent = subprocess.Popen([sys.executable, str(driver)])
    try:
        deadline = time.monotonic() + 30
        while not pidfile.exists() or not pidfile.read_text():
            assert time.monotonic() < deadline, "the CLI never started"
            time.sleep(0.05)
        child = int(pidfile.read_text())
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, "the CLI outlived the killed plug-in"
            time.sleep(0.05)
    finally:
        if parent.poll() is None:
            parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:
        return os.path.exists(f"/proc/{pid}")


# --- arguments into shells (issue 11) ----------------------------------------------------


def gmic_commands() -> dict[str, list[str]]:
    """The G'MIC file's custom commands: name -> body lines (comments dropped)."""
    commands: dict[str, list[str]] = {}
    current = None
    for line in GMIC.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            current = line.split(":", 1)[0].strip()
            commands[current] = [line.split(":", 1)[1]]
        elif current is not None:
            commands[current].append(line)
    return commands


@pytest.mark.parametrize("command", ["nstfilter", "fx_nstfilter", "fx_nstfilter_preview"])
def test_gmic_arguments_are_never_pasted_into_a_command_line(command: str) -> None:
    """A '$1' in a G'MIC line is pasted in as source (a space starts a new command), so the
    user-facing commands capture their arguments with '$=' and use only checked copies."""
    body = "\n".join(gmic_commands()[command])
    assert "$=" in body
    pasted = re.findall(r"\$(?:[0-9*#]|\{[0-9*])", body)
    assert pasted == [], f"{command} pastes its arguments: {pasted}"


def test_gmic_shell_words_are_single_quoted() -> None:
    """Every variable in a shell command is a single-quoted word (or the documented
    NSTFILTER_BIN command line, which the user's environment sets)."""
    body = "\n".join(gmic_commands()["nstfilter"])
    shell_lines = [line for line in body.splitlines() if re.match(r"\s*(x 0,|cmd=|opts=)", line)]
    assert shell_lines
    for line in (line.replace("\\$", "") for line in shell_lines):  # \$: the shell's own
        for match in re.finditer(r"\$(\w+|\{\w+\})", line):
            name = match.group(1).strip("{}")
            if name in {"bin", "opts", "cmd"}:
                continue
            before, after = line[: match.start()], line[match.end() :]
            assert before.endswith("'\"") and after.startswith("\"'"), (name, line)


def test_gmic_temporary_files_live_in_a_private_folder() -> None:
    body = "\n".join(gmic_commands()["nstfilter"])
    assert "mkdir -m 700" in body and "umask 077" in body
    assert "_pid}_$>" not in body and "nstfilter_${_pid}" not in body  # no shared names


def test_gimp_plugin_runs_the_cli_from_an_argv_list(plugin) -> None:
    """No shell between GIMP and the CLI: a hostile preset name stays one argument."""
    hostile = "x'; touch /tmp/pwned; echo '"
    args = plugin.cli_arguments({"preset": hostile, "style": "/a b/$(id).jpg"}, "in", "out")
    assert args[args.index("--preset") + 1] == hostile
    assert args[args.index("--style") + 1] == "/a b/$(id).jpg"
    source = PLUGIN.read_text(encoding="utf-8")
    assert "shell=True" not in source and "os.system" not in source
    assert "tempfile.mkdtemp" in source


def test_install_gmic_filter_does_not_follow_a_planted_temp_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    user_file = tmp_path / "user.gmic"
    (tmp_path / "user.gmic.nstfilter-tmp").symlink_to(victim)  # the old fixed temp name
    result = CliRunner().invoke(editors.install_gmic_filter, ["--user-file", str(user_file)])
    assert result.exit_code == 0, result.output
    assert victim.read_text() == "precious"
    assert "fx_nstfilter :" in user_file.read_text()


# --- the fast filter in the GIMP dialog ---------------------------------------------------


def test_fast_quality_and_the_preview_settings(plugin) -> None:
    base = {"preset": "starry-night", "style": None, "strength": 0.4, "size": 0}
    fast = plugin.cli_arguments({**base, "quality": "fast", "iterations": 7}, "in", "out")
    assert fast[fast.index("--quality") + 1] == "fast" and "--iterations" not in fast
    painted = plugin.cli_arguments({**base, "quality": "painted", "iterations": 7}, "in", "out")
    assert "--quality" not in painted and painted[-2:] == ["--iterations", "7"]
    shown = plugin.preview_settings({**base, "quality": "painted"})
    assert shown["quality"] == "fast" and shown["size"] == plugin.PREVIEW_SIZE
    assert shown["strength"] == 0.4  # the slider's value is what the preview shows
    assert plugin.preview_settings({**base, "size": 100})["size"] == 100
    one_step = {"step": 1, "total": 1, "scale": 1, "scales": 1}
    assert plugin.progress_text(one_step).endswith("fast filter")


def test_live_preview_leaves_no_history_and_no_layer(plugin, monkeypatch) -> None:
    """The toggle's layer is made and removed with undo frozen; a failure is reported once."""
    calls: list[str] = []

    class Image:
        def undo_freeze(self):
            calls.append("freeze")

        def undo_thaw(self):
            calls.append("thaw")

        def remove_layer(self, layer):
            calls.append(f"remove {layer}")

    class Config:
        preview = True

        def get_property(self, name):
            return self.preview if name == "preview" else None

    config = Config()
    monkeypatch.setattr(plugin, "_settings", lambda cfg: {"preset": "p", "size": 0})
    runs: list[dict] = []

    def styled(image, drawable, settings, progress):
        runs.append(settings)
        if settings.get("fail"):
            raise plugin.NstFailure("bad")
        return "layer1"

    monkeypatch.setattr(plugin, "style_transfer", styled)
    preview = plugin.LivePreview(Image(), "drawable", config)
    preview.refresh()
    assert preview.layer == "layer1" and runs[-1]["quality"] == "fast"
    assert calls == ["freeze", "thaw"]
    config.preview = False
    preview.refresh()  # the toggle off: the layer goes, nothing new is made
    assert preview.layer is None and calls == ["freeze", "thaw", "freeze", "remove layer1", "thaw"]
    assert len(runs) == 1
    messages: list[str] = []
    monkeypatch.setattr(plugin.Gimp, "message", messages.append, raising=False)
    monkeypatch.setattr(plugin, "_settings", lambda cfg: {"preset": "p", "size": 0, "fail": 1})
    config.preview = True
    preview.refresh()
    preview.refresh()
    assert preview.layer is None and messages == ["nstfilter preview: bad"]


def test_gmic_preview_pane_runs_the_fast_filter() -> None:
    """G'MIC-Qt's preview command is the filter with the fast quality forced; the full filter
    runs the chosen quality (Painted: the preset's)."""
    text = GMIC.read_text(encoding="utf-8")
    assert "#@gui Neural Style Transfer : fx_nstfilter, fx_nstfilter_preview" in text
    commands = gmic_commands()
    assert "_nst_fast=1" in "\n".join(commands["fx_nstfilter_preview"])
    assert "_nst_fast=0" in "\n".join(commands["fx_nstfilter"])
    body = "\n".join(commands["_fx_nstfilter"])
    assert "quality=fast" in body and "$quality" in body
    assert "--quality '\"$quality\"'" in "\n".join(commands["nstfilter"])
