"""Issue 11: no input overwritten, no code run from a name, no failure that hides.

Every front-end runs on the stub engine here (``tests/plugins/stub_engine.py``): the cases
are about plumbing, and without the fixes they would run to the end (and do the damage)
in a second instead of minutes.
"""

from __future__ import annotations

import hashlib
import os
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from helpers import REPO, STUB_PLUGINS, run_cli
from PIL import Image

from nstfilter.errors import OutputError
from nstfilter.safepaths import check_plan

STUB_PRESETS = REPO / "tests" / "batch" / "presets"
STUB_ENV = {"NSTFILTER_PLUGINS_DIR": str(STUB_PLUGINS), "NSTFILTER_PRESET_PATH": str(STUB_PRESETS)}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_photo(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8), "RGB").save(path)
    return path


def stub_apply(*args: str, env: dict[str, str] | None = None):
    return run_cli("apply", "--preset", "stub-starry", "-q", *args, env={**STUB_ENV, **(env or {})})


# --- outputs vs inputs ---------------------------------------------------------------------


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    return make_photo(tmp_path / "in" / "victim.jpg")


def test_metrics_over_the_photo_is_refused(tmp_path, victim):
    before = digest(victim)
    proc = stub_apply(str(victim), "-o", str(tmp_path / "out" / "m.png"), "--metrics", str(victim))
    assert proc.returncode == 10, proc.stderr
    assert "metrics" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert digest(victim) == before
    assert not (tmp_path / "out" / "m.png").exists()  # refused before any work


def test_metrics_over_the_style_image_through_dotdot_is_refused(tmp_path, victim, style_path):
    style = tmp_path / "styles" / "s.jpg"
    style.parent.mkdir()
    style.write_bytes(style_path.read_bytes())
    sneaky = tmp_path / "out" / ".." / "styles" / "s.jpg"
    proc = stub_apply(str(victim), "--style", str(style), "-o", str(tmp_path / "r.png"),
                      "--metrics", str(sneaky))  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert digest(style) == hashlib.sha256(style_path.read_bytes()).hexdigest()


def test_result_over_the_style_image_through_a_symlink_is_refused(tmp_path, victim, style_path):
    photo = make_photo(tmp_path / "ok.png", seed=1)
    style = tmp_path / "in" / "style.jpg"
    style.write_bytes(style_path.read_bytes())
    link = tmp_path / "link.jpg"
    link.symlink_to(style)
    before = digest(style)
    proc = stub_apply(str(photo), "--style", str(style), "-o", str(link))
    assert proc.returncode == 10, proc.stderr
    assert "style image" in proc.stderr
    assert digest(style) == before


def test_same_stem_outputs_are_refused(tmp_path):
    a = make_photo(tmp_path / "a.jpg", seed=1)
    b = make_photo(tmp_path / "a.png", seed=2)
    out = tmp_path / "out"
    out.mkdir()
    proc = stub_apply(str(a), str(b), "-o", str(out))
    assert proc.returncode == 10, proc.stderr
    assert "same file" in proc.stderr
    assert list(out.iterdir()) == []


def test_job_log_over_an_input_is_refused(tmp_path, victim):
    before = digest(victim)
    proc = stub_apply(str(victim), "-o", str(tmp_path / "r.png"),
                      env={"NSTFILTER_JOB_LOG": str(victim)})  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert "job log" in proc.stderr
    assert digest(victim) == before


def test_unwritable_output_is_refused_before_styling(tmp_path, victim):
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    # the stub fails every job it runs: without the early check the error would be its own
    proc = stub_apply(str(victim), "-o", str(blocker / "r.png"), env={"NSTFILTER_STUB_FAIL": "1"})
    assert proc.returncode == 10, proc.stderr
    assert "cannot write" in proc.stderr and "stub engine" not in proc.stderr


def test_check_plan_accepts_distinct_files_and_sees_hard_links(tmp_path):
    photo = make_photo(tmp_path / "p.png")
    check_plan([("result", tmp_path / "r.png")], [("photo", photo)])
    hard = tmp_path / "hard.png"
    os.link(photo, hard)
    with pytest.raises(OutputError, match="over the photo"):
        check_plan([("result", hard)], [("photo", photo)], writable=False)


def test_batch_refuses_a_job_log_over_a_photo_before_any_job(tmp_path):
    photo = make_photo(tmp_path / "photos" / "a.png")
    before = digest(photo)
    proc = run_cli("batch", str(tmp_path / "photos"), "-p", "stub-starry", "-o",
                   str(tmp_path / "out"), "--progress", "none",
                   env={**STUB_ENV, "NSTFILTER_JOB_LOG": str(photo)})  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert "job log" in proc.stderr and digest(photo) == before
    assert not (tmp_path / "out" / "manifest.jsonl").exists()


# --- names in HTML and in logs ---------------------------------------------------------------

HOSTILE_NAMES = [
    "javascript:document.body.innerHTML='X';x.jpg",
    "a#b.jpg",
    "c?d=1.jpg",
    "e<script>alert(1)<!--.jpg",
    'f"onerror="alert(1).jpg',
    "g&amp;h 100%.jpg",
]


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []
        self.tags: list[str] = []
        self.csp: str | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        self.links += [v for k, v in attrs if k in ("href", "src") and v is not None]
        if values.get("http-equiv") == "Content-Security-Policy":
            self.csp = values.get("content")
        assert not any(k.startswith("on") for k, _ in attrs), attrs

    def handle_data(self, data):
        self.text.append(data)


def test_report_links_are_relative_encoded_paths_and_scripts_are_forbidden(tmp_path):
    photos = tmp_path / "photos"
    for i, name in enumerate(HOSTILE_NAMES):
        make_photo(photos / name, seed=i)
    out = tmp_path / "out"
    proc = run_cli("batch", str(photos), "-p", "stub-starry", "-o", str(out), "--progress",
                   "none", env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    parser = _Attributes()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    assert "script" not in parser.tags
    assert parser.csp is not None and "default-src 'none'" in parser.csp
    assert "script-src" not in parser.csp  # falls back to default-src 'none'
    results = {unquote(link[2:]) for link in parser.links if not link.startswith("./report_files")}
    assert results == {f"{Path(n).stem}.stub-starry.png" for n in HOSTILE_NAMES}
    for link in parser.links:
        assert link.startswith("./") and not set(link[2:]) & set("#?\"<>:' "), link
        assert (out / unquote(link[2:])).is_file()  # the link opens the file it names
    text = "".join(parser.text)
    assert all(name in text for name in HOSTILE_NAMES)  # shown as they are, as text


def test_batch_summary_shows_names_as_text_not_markup():
    from io import StringIO

    from rich.console import Console

    from nstfilter.batch.report import print_summary
    from nstfilter.batch.run import BatchResult

    result = BatchResult(planned=[], failed=1)
    result.failures = [("[bold red]x[/]\n\x1b[2Jforged.jpg::p", "bad\rline")]
    buffer = StringIO()
    print_summary(result, Console(file=buffer, width=200, color_system=None))
    shown = buffer.getvalue()
    assert "[bold red]x[/]" in shown and "\\n" in shown and "\\x1b" in shown
    assert "\x1b" not in shown and "\r" not in shown


def test_log_lines_escape_newlines_and_escapes_in_names(tmp_path):
    """A photo whose name forges a log line: the log keeps it on one escaped line."""
    photo = make_photo(tmp_path / "in" / "x.png")
    forged = tmp_path / "in" / "a.png\nnstfilter: error: forged\x1b[2J.png"
    forged.write_bytes(photo.read_bytes())
    proc = run_cli("apply", "--preset", "stub-starry", str(forged), "-o",
                   str(tmp_path / "r.png"), env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stderr
    assert not any(line.startswith("nstfilter: error: forged") for line in proc.stderr.splitlines())
    assert "\\nnstfilter: error: forged\\x1b[2J" in proc.stderr


# --- failures that hide ----------------------------------------------------------------------


def test_presets_list_with_a_folder_named_like_a_preset(tmp_path):
    presets = tmp_path / "presets"
    (presets / "x.toml").mkdir(parents=True)
    (presets / "x.toml" / "inner.toml").write_text((STUB_PRESETS / "stub-starry.toml").read_text())
    (presets / "real.toml").write_text((STUB_PRESETS / "stub-starry.toml").read_text())
    proc = run_cli("presets", "list", "--names", env={"NSTFILTER_PRESET_PATH": str(presets)})
    assert proc.returncode == 0, proc.stderr
    names = proc.stdout.split()
    assert "real" in names and "x" not in names
    # a folder called x.toml given as a search path entry is searched like any folder
    proc = run_cli("presets", "list", "--names",
                   env={"NSTFILTER_PRESET_PATH": str(presets / "x.toml")})  # fmt: skip
    assert proc.returncode == 0 and "inner" in proc.stdout.split(), proc.stderr


def _preset_with_image(folder: Path, image: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (STUB_PRESETS / "stub-starry.toml").read_text()
    text = text.replace('"starry_night.jpg"', repr(image))
    (folder / "probe.toml").write_text(text.replace('name = "stub-starry"', 'name = "probe"'))
    return folder


OUTSIDE = ["../../../etc/passwd", "/etc/hostname", "sub/../../../outside.png"]


@pytest.mark.parametrize("image", OUTSIDE)
def test_preset_style_images_outside_the_allowed_folders_are_refused(tmp_path, image):
    make_photo(tmp_path / "outside.png")
    folder = _preset_with_image(tmp_path / "deep" / "presets", image)
    (folder / "sub").mkdir()
    proc = run_cli("presets", "show", "probe", env={"NSTFILTER_PRESET_PATH": str(folder)})
    assert proc.returncode == 7, proc.stderr
    assert "outside the preset's folder" in proc.stderr and "probe.toml" in proc.stderr


@pytest.mark.parametrize("image", ["starry_night.jpg", "sub/mine.png", "procedural:swirl"])
def test_preset_style_images_on_the_style_path_or_beside_the_preset_are_fine(tmp_path, image):
    folder = _preset_with_image(tmp_path / "presets", image)
    make_photo(folder / "sub" / "mine.png")
    proc = run_cli("presets", "show", "probe", env={"NSTFILTER_PRESET_PATH": str(folder)})
    assert proc.returncode == 0, proc.stderr


def test_batch_names_the_error_of_a_missing_list_entry_on_the_terminal(tmp_path):
    make_photo(tmp_path / "a.png")
    (tmp_path / "list.txt").write_text("a.png\nmissing.png\n")
    proc = run_cli("batch", "@list.txt", "-p", "stub-starry", "-o", "out", "--progress", "log",
                   env=STUB_ENV, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "FAILED: None" not in proc.stderr
    assert "missing.png: no such file" in proc.stderr


def test_a_torn_manifest_line_is_warned_about_once_then_compacted(tmp_path):
    make_photo(tmp_path / "photos" / "a.png")
    out = tmp_path / "out"
    args = ("batch", str(tmp_path / "photos"), "-p", "stub-starry", "-o", str(out),
            "--progress", "none")  # fmt: skip
    assert run_cli(*args, env=STUB_ENV).returncode == 0
    manifest = out / "manifest.jsonl"
    good = manifest.read_text()
    manifest.write_text(good + '{"key": "torn-by-kill", "sta')
    first = run_cli(*args, "--force", env=STUB_ENV)
    assert first.returncode == 0 and "unreadable record" in first.stderr
    second = run_cli(*args, "--force", env=STUB_ENV)
    assert second.returncode == 0 and "unreadable record" not in second.stderr, second.stderr
    lines = manifest.read_text().splitlines()
    assert "torn-by-kill" not in manifest.read_text()
    assert lines[: len(good.splitlines())] == good.splitlines()  # the history is kept


def _vgg19_like(path: Path) -> Path:
    """A small HDF5 file laid out like Keras' VGG19 weights (layer names, one kernel and
    bias per convolution): what the availability check looks at, without 80 MB."""
    import h5py

    from nstfilter.pretrained import VGG19_LAYERS

    convs = [n for n in VGG19_LAYERS if "pool" not in n]
    with h5py.File(path, "w") as h5:
        h5.attrs["layer_names"] = [n.encode() for n in convs]
        for name in convs:
            group = h5.create_group(name)
            group.create_dataset(f"{name}_W_1:0", data=np.ones((3, 3, 3, 8), np.float32))
            group.create_dataset(f"{name}_b_1:0", data=np.zeros(8, np.float32))
    return path


def test_corrupt_vgg19_weights_are_not_chosen_by_auto_and_named_when_asked_for(
    tmp_path, monkeypatch, caplog
):
    from nstfilter.engine.backbones import default_registry
    from nstfilter.errors import WeightsError

    good = _vgg19_like(tmp_path / "good.h5")
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    garbage = tmp_path / "garbage.h5"
    garbage.write_bytes(b"<html>rate limited</html>" * 100)
    registry = default_registry()
    monkeypatch.setenv("NSTFILTER_VGG19_WEIGHTS", str(good))
    assert registry.get("auto").name == "vgg19"
    for bad in (truncated, garbage):
        monkeypatch.setenv("NSTFILTER_VGG19_WEIGHTS", str(bad))
        with caplog.at_level("WARNING"):
            assert registry.get("auto").name == "vgg16-hed"
        assert str(bad) in caplog.text
        with pytest.raises(WeightsError, match="nstfilter weights fetch vgg19") as info:
            registry.get("vgg19")
        assert str(bad) in str(info.value) and "unusable" in str(info.value)


def test_contact_sheet_over_the_photo_is_refused(tmp_path):
    photo = make_photo(tmp_path / "p.png")
    before = digest(photo)
    proc = run_cli("presets", "preview", "stub-starry", str(photo), "-o", str(photo),
                   env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert "contact sheet" in proc.stderr and digest(photo) == before


def test_procedural_cache_in_the_shared_temp_folder_is_private(tmp_path, monkeypatch):
    """With no usable user cache, the fallback in the shared temporary folder is a 0700
    folder of this user's; what another user planted there is never used."""
    import tempfile

    from nstfilter.presets.search import procedural_style
    from nstfilter.procedural import GENERATORS
    from nstfilter.safepaths import private_temp_dir

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the user cache cannot be created
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    version, _ = GENERATORS["swirl"]
    planted = shared / "nstfilter-procedural" / f"swirl-v{version}.png"  # the old fixed name
    planted.parent.mkdir()
    make_photo(planted)
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir()
    (shared / f"nstfilter-procedural-{os.getuid()}").symlink_to(elsewhere)
    assert private_temp_dir("nstfilter-procedural") is None  # a link: not ours
    (shared / f"nstfilter-procedural-{os.getuid()}").unlink()
    found = procedural_style("swirl")
    assert found != planted and found.parent == shared / f"nstfilter-procedural-{os.getuid()}"
    assert found.parent.stat().st_mode & 0o777 == 0o700
    assert list(elsewhere.iterdir()) == []


def test_batch_refuses_an_unwritable_output_folder_before_any_job(tmp_path):
    make_photo(tmp_path / "photos" / "a.png")
    blocker = tmp_path / "afile"
    blocker.write_text("")
    proc = run_cli("batch", str(tmp_path / "photos"), "-p", "stub-starry", "-o",
                   str(blocker / "out"), "--progress", "none",
                   env={**STUB_ENV, "NSTFILTER_STUB_FAIL": "1"})  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert "cannot write" in proc.stderr and "stub engine" not in proc.stderr


# --- issue 20: resources an input can claim, output streams, plugins ------------------------


def test_snapshots_never_overwrite_inputs_named_like_them(tmp_path):
    """``--save-every`` names are known only while running: an input whose name matches
    ``<stem>.step-NNNN<suffix>`` beside the result is refused up front."""
    photo = make_photo(tmp_path / "r.step-0001.png", seed=1)
    style = make_photo(tmp_path / "r.step-0003.png", seed=2)
    before = digest(photo), digest(style)
    proc = stub_apply(str(photo), "--style", str(style), "--save-every", "1",
                      "-o", str(tmp_path / "r.png"))  # fmt: skip
    assert proc.returncode == 10, proc.stderr
    assert "intermediate results" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert (digest(photo), digest(style)) == before
    assert not (tmp_path / "r.png").exists()


def test_snapshot_names_are_checked_again_when_written(tmp_path):
    from nstfilter.safepaths import snapshot_path, snapshot_series

    photo = make_photo(tmp_path / "p.png")
    target = tmp_path / "r.png"
    plan = check_plan([("result", target)], [("photo", photo)],
                      series=[snapshot_series(target)], writable=False)  # fmt: skip
    plan.check_output("intermediate result", snapshot_path(target, 12345))  # a free name
    link = snapshot_path(target, 7)
    link.symlink_to(photo)  # planted after the check
    with pytest.raises(OutputError, match="over the photo"):
        plan.check_output("intermediate result", link)
    with pytest.raises(OutputError, match="intermediate results"):  # planted before the plan
        check_plan([("result", target)], [("photo", link)], series=[snapshot_series(target)])
    assert snapshot_series(target).matches(str(tmp_path / "r.step-123456.png"))
    assert not snapshot_series(target).matches(str(tmp_path / "r.step-12.png"))


def _apply_to(stdout, *args: str, **kwargs) -> tuple[int, str]:
    """``apply -o -`` (stub engine) with standard output given; (exit code, stderr)."""
    import subprocess
    import sys

    env = {**os.environ, **STUB_ENV, "TF_CPP_MIN_LOG_LEVEL": "3"}
    command = [sys.executable, "-m", "nstfilter", "apply", "--preset", "stub-starry", *args]
    proc = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, env=env, **kwargs)
    if stdout == subprocess.PIPE:
        proc.stdout.close()  # the reader is gone before the result comes: `| head -c 0`
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr and "Exception" not in stderr, stderr
    return lines[0]


def test_a_broken_pipe_is_an_output_error_not_a_success(tmp_path):
    import subprocess

    photo = make_photo(tmp_path / "p.png")
    code, err = _apply_to(subprocess.PIPE, str(photo), "-o", "-", "-q")
    assert code == 10, err
    assert "<stdout>: cannot write: Broken pipe" in _one_error_line(err)


def test_a_full_or_closed_standard_output_is_one_line_and_exit_10(tmp_path):
    photo = make_photo(tmp_path / "p.png")
    with open("/dev/full", "wb") as full:
        code, err = _apply_to(full, str(photo), "-o", "-", "-q")
    assert code == 10 and "No space left" in _one_error_line(err), err
    code, err = _apply_to(
        None, str(photo), "-o", "-", "-q", pass_fds=(), preexec_fn=lambda: os.close(1)
    )
    assert code == 10 and "standard output is closed" in _one_error_line(err), err
    result = tmp_path / "r.png"  # to a file, a closed stdout is no problem, nor is it reused
    code, err = _apply_to(None, str(photo), "-o", str(result), "-q", preexec_fn=lambda: os.close(1))
    assert code == 0 and Image.open(result).size == (64, 53), err


def test_image_data_to_a_terminal_needs_force(tmp_path):
    import pty

    photo = make_photo(tmp_path / "p.png")
    leader, follower = pty.openpty()
    try:
        code, err = _apply_to(follower, str(photo), "-o", "-", "-q")
        assert code == 10 and "terminal" in _one_error_line(err) and "--force" in err
        code, err = _apply_to(follower, str(photo), "-o", "-", "-q", "--force")
        assert code == 0, err
    finally:
        os.close(leader)
        os.close(follower)


def test_metrics_dash_is_standard_output(tmp_path):
    import json

    photo = make_photo(tmp_path / "p.png")
    proc = stub_apply(str(photo), "-o", str(tmp_path / "r.png"), "--metrics", "-")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["filter"] == "stub" and not (Path.cwd() / "-").exists()
    proc = stub_apply(str(photo), "-o", "-", "--metrics", "-")
    assert proc.returncode == 2 and "both" in proc.stderr


_PROBE = (STUB_PRESETS / "stub-starry.toml").read_text().replace("stub-starry", "probe")
_STYLE = '\n[[style]]\nimage = "starry_night.jpg"\n'
HUGE_PRESETS = {
    "'style'": _PROBE + _STYLE * 40,  # 40 paintings decoded, resized, measured
    "[objective] 'style_layers'": _PROBE
    + "[objective]\nstyle_layers = ["
    + '"block1_conv1", ' * 100
    + "]\n",
    "'description'": _PROBE.replace("Batch tests", "x" * 5000),
    "KiB": _PROBE + ("# padding\n" * 10_000),
    "nested too deeply": _PROBE.replace(
        "[schedule]", "x = " + "[" * 3000 + "]" * 3000 + "\n[schedule]"
    ),
    "BOM": "\ufeff" + _PROBE,
}


@pytest.mark.parametrize("key", list(HUGE_PRESETS))
def test_a_preset_cannot_claim_unbounded_resources(tmp_path, key):
    """A preset is untrusted input: beyond the bounds it is refused in one line naming the
    file and the key, before any image is read."""
    (tmp_path / "probe.toml").write_text(HUGE_PRESETS[key], encoding="utf-8")
    proc = run_cli("presets", "show", "probe", env={"NSTFILTER_PRESET_PATH": str(tmp_path)})
    assert proc.returncode == 7, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "probe.toml" in line and key in line


def test_an_endless_extends_chain_is_refused(tmp_path):
    for i in range(30):
        text = _PROBE.replace('name = "probe"', f'name = "p{i}"\nextends = "p{i + 1}"')
        (tmp_path / f"p{i}.toml").write_text(text)
    (tmp_path / "p30.toml").write_text(_PROBE.replace('name = "probe"', 'name = "p30"'))
    proc = run_cli("presets", "show", "p0", env={"NSTFILTER_PRESET_PATH": str(tmp_path)})
    assert proc.returncode == 7 and "'extends'" in _one_error_line(proc.stderr), proc.stderr


def test_the_result_size_is_bounded_by_the_pixel_limit(tmp_path):
    """A small photo asking for a large result: the working size obeys the pixel limit."""
    photo = make_photo(tmp_path / "p.png")
    style = make_photo(tmp_path / "s.png", seed=3)
    proc = stub_apply(str(photo), "--style", str(style), "--size", "1024",
                      "-o", str(tmp_path / "r.png"), "--max-pixels", "100000")  # fmt: skip
    assert proc.returncode == 5, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "p.png" in line and "1024x853" in line and "100,000" in line
    assert not (tmp_path / "r.png").exists()


def _thin(path: Path, size: tuple[int, int]) -> Path:
    Image.fromarray(np.full((size[1], size[0], 3), 128, np.uint8), "RGB").save(path)
    return path


@pytest.mark.slow
def test_a_thin_photo_cannot_make_a_huge_painting(tmp_path):
    """``--size original`` on a thin photo: the painting is resized to the photo's long
    side; the pixel limit holds for it too (20000x9 once took 15.5 GB; here 400x9 under a
    limit of 20,000 pixels, refused before the backbone is built)."""
    photo = _thin(tmp_path / "thin.png", (400, 9))
    style = make_photo(tmp_path / "s.png", seed=3)  # 48x40
    proc = run_cli("apply", str(photo), "--style", str(style), "--size", "original",
                   "--max-pixels", "20000", "-o", str(tmp_path / "r.png"))  # fmt: skip
    assert proc.returncode == 5, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "thin.png" in line and "painting at longest side 400" in line and "20,000" in line


@pytest.mark.slow
def test_a_thin_photo_in_small_tiles_is_too_small_not_a_tensorflow_error(tmp_path, style_path):
    photo = _thin(tmp_path / "thin.png", (9, 300))
    proc = run_cli("apply", str(photo), "--style", str(style_path), "--size", "original",
                   "--tile-size", "64", "-o", str(tmp_path / "r.png"))  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "thin.png" in line and "coarse pass" in line and "InvalidArgument" not in line


def test_engine_sizes_follow_the_engine(tmp_path):
    """The check's geometry is the engine's: every size it lists for a tiled run is one
    the tiles really have (a 9x300 photo in 64-pixel tiles has a 2-pixel coarse pass)."""
    from nstfilter.builtins.workload import engine_sizes
    from nstfilter.params import StyleParams

    params = StyleParams(size="original", tile_size=64)
    sizes = list(engine_sizes(300, 9, params))
    assert ("the coarse pass (tile size 64)", 64, 4) in sizes  # 2 wide, bucketed to 4
    assert all(h <= 64 and w <= 64 for what, h, w in sizes if what.startswith("a tile"))


BAD_HOOKS = {
    "post_text": ("nstfilter_postprocess(image)", '"not an image"', "returned a str"),
    "post_array": ("nstfilter_postprocess(image)", "np.zeros((3, 4))", "of shape (3, 4)"),
    "pre_number": ("nstfilter_preprocess(image)", "42", "returned a int"),
    "post_empty": ("nstfilter_postprocess(image)", 'Image.new("RGB", (0, 0))', "0x0 RGB image"),
}


def bad_plugin(folder: Path, name: str) -> Path:
    """A plugin file ``<name>.py`` whose hook returns the wrong thing."""
    signature, value, _ = BAD_HOOKS[name]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(
        "import numpy as np\nfrom PIL import Image\nfrom nstfilter import hookimpl\n\n\n"
        f"@hookimpl\ndef {signature}:\n    return {value}\n"
    )
    return folder


@pytest.mark.parametrize("name", list(BAD_HOOKS))
def test_a_hook_returning_the_wrong_thing_is_that_plugins_error(tmp_path, name):
    photo = make_photo(tmp_path / "p.png")
    folder = bad_plugin(tmp_path / "plugins", name)
    plugins = {"NSTFILTER_PLUGINS_DIR": f"{STUB_PLUGINS}{os.pathsep}{folder}"}
    proc = stub_apply(str(photo), "-o", str(tmp_path / "r.png"), env=plugins)
    assert proc.returncode == 11, proc.stderr
    line = _one_error_line(proc.stderr)
    assert f"plugin {name} returned" in line and BAD_HOOKS[name][2] in line
    assert not (tmp_path / "r.png").exists()


def test_batch_names_the_plugin_whose_hook_returned_the_wrong_thing(tmp_path):
    make_photo(tmp_path / "photos" / "a.png")
    folder = bad_plugin(tmp_path / "plugins", "pre_number")
    plugins = {"NSTFILTER_PLUGINS_DIR": f"{STUB_PLUGINS}{os.pathsep}{folder}"}
    proc = run_cli("batch", str(tmp_path / "photos"), "-p", "stub-starry", "-o",
                   str(tmp_path / "out"), "--progress", "none",
                   env={**STUB_ENV, **plugins})  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "plugin pre_number returned" in proc.stdout  # the summary's table
    assert "Traceback" not in proc.stdout + proc.stderr
    records = (tmp_path / "out" / "manifest.jsonl").read_text()
    assert "plugin pre_number returned a int from nstfilter_preprocess" in records


def test_presets_list_escapes_a_bidi_override_in_a_description(tmp_path):
    text = _PROBE.replace("Batch tests", "innocent \u202egpj.exe")
    (tmp_path / "probe.toml").write_text(text, encoding="utf-8")
    proc = run_cli("presets", "list", env={"NSTFILTER_PRESET_PATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    assert "\u202e" not in proc.stdout and "innocent \\u202egpj.exe" in proc.stdout


@pytest.mark.parametrize("fmt", ["GIF", "TIFF"])
def test_only_the_first_frame_of_a_multi_frame_input_is_styled_and_said(tmp_path, fmt, caplog):
    """Read as a photo, an animated GIF or a multi-page TIFF loses its other frames: one
    warning says so (a front-end that styles every frame passes ``warn_frames=False``)."""
    from nstfilter.imageio import load_image, load_image_bytes

    frames = [Image.new("RGB", (48, 40), colour) for colour in ("red", "green", "blue")]
    photo = tmp_path / f"anim.{fmt.lower()}"
    frames[0].save(photo, fmt, save_all=True, append_images=frames[1:])
    with caplog.at_level("WARNING", logger="nstfilter"):
        assert load_image(photo).rgb.getpixel((0, 0)) == (255, 0, 0)
        load_image_bytes(photo.read_bytes(), name="bytes.gif", warn_frames=False)
    warnings = [r.getMessage() for r in caplog.records if "only the first frame" in r.getMessage()]
    assert warnings == [f"{photo}: animated or multi-page; only the first frame is styled"]


def test_any_command_whose_reader_left_is_one_line_not_a_traceback():
    import subprocess
    import sys

    env = {**os.environ, **STUB_ENV}
    command = [sys.executable, "-m", "nstfilter", "presets", "list", "--names"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    proc.stdout.close()  # `| head -0`: gone before the first line
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 10, err
    assert "<stdout>: cannot write: Broken pipe" in _one_error_line(err.decode())
