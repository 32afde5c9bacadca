"""The GIMP 3 plug-in, run by real GIMP 3 (batch mode) in the editors chroot.

Success cases compare the plug-in's new layer with the CLI alone on the same image and
arguments: the plug-in must be a faithful front-end, not a second implementation. Bad cases
check GIMP's error carries a clear message and that the image has not changed.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from helpers.editors import assert_styled_like, pixels, run_reference
from PIL import Image

pytestmark = pytest.mark.editors


def assert_unchanged(result: dict, content: Path) -> None:
    """Only the original layer, with the original pixels, and no unsaved changes."""
    assert len(result["layers"]) == 1, result["layers"]
    assert not result["dirty"]
    assert np.array_equal(pixels(Path(result["layers"][0]["png"])), pixels(content))


def test_install_and_registration(gimp, content_png: Path) -> None:
    """install-gimp-plugin put an executable plug-in where GIMP found it, with all presets."""
    plugin = gimp.plugin_dir / "nstfilter.py"
    assert plugin.is_file() and os.access(plugin, os.X_OK)
    assert str(plugin) in gimp.installed_output
    first = gimp.first
    assert first["registered"], first["log"]
    assert first["menu_paths"] == ["<Image>/Filters/Artistic"]
    for name in ("preset", "preset-name", "style", "strength", "preserve-colors", "size"):
        assert name in first["arguments"]
    # The list came from 'nstfilter presets list', not the plug-in's fallback.
    assert {"preview", "swirl", "starry-night"} <= set(first["preset_choices"])


def test_styles_rgb_layer_like_the_cli(gimp, content_png: Path, reference_png: Path) -> None:
    result = gimp.run(
        {"input": str(content_png), "props": {"preset": "preview", "size": 80}},
        label="preview, 80 px",
    )
    assert result["status"] == "success", result["error"] + result["log"]
    assert len(result["layers"]) == 2
    styled, original = result["layers"]  # the new layer is above the original
    assert styled["name"] == "preview"
    assert (styled["width"], styled["height"], styled["offsets"]) == (80, 60, [0, 0])
    assert not styled["mask"]
    assert_styled_like(pixels(Path(styled["png"])), pixels(reference_png), pixels(content_png))
    # ...and the photo stays untouched underneath.
    assert np.array_equal(pixels(Path(original["png"])), pixels(content_png))


def test_selection_and_alpha(gimp, editors_workdir: Path, content_png: Path) -> None:
    """With a selection only its bounding box is styled, masked by the selection; a
    transparent part stays transparent."""
    photo = editors_workdir / "content-rgba.png"
    with Image.open(content_png) as image:
        rgba = image.convert("RGBA")
    alpha = np.full((rgba.height, rgba.width), 255, np.uint8)
    alpha[:, rgba.width // 2 :] = 96
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(photo)
    x, y, w, h = 8, 6, 48, 36
    crop = editors_workdir / "crop.png"
    rgba.crop((x, y, x + w, y + h)).save(crop)
    reference = editors_workdir / "crop-reference.png"
    run_reference(["--preset", "preview", "--size", "48", "--strength", "0.7"], crop, reference)

    result = gimp.run(
        {
            "input": str(photo),
            "select": [x, y, w, h],
            "props": {"preset": "preview", "size": 48, "strength": 0.7},
        },
        label="selection, RGBA, strength 0.7",
    )
    assert result["status"] == "success", result["error"] + result["log"]
    styled = result["layers"][0]
    assert styled["name"] == "preview"
    assert (styled["width"], styled["height"], styled["offsets"]) == (w, h, [x, y])
    assert styled["mask"] and styled["alpha"]
    got, want = pixels(Path(styled["png"])), pixels(reference)
    assert got.shape == (h, w, 4)
    assert_styled_like(got, want, pixels(crop))
    assert got[:, -1, 3].max() <= 97  # the transparent half stays so


def test_grey_image(gimp, content_png: Path) -> None:
    result = gimp.run(
        {"input": str(content_png), "mode": "gray", "props": {"preset": "preview", "size": 40}},
        label="grey image, 40 px",
    )
    assert result["status"] == "success", result["error"] + result["log"]
    styled, original = result["layers"]
    assert styled["gray"] and (styled["width"], styled["height"]) == (80, 60)  # scaled back
    assert np.abs(pixels(Path(styled["png"])) - pixels(Path(original["png"]))).mean() > 2


def test_no_cli_found(gimp, content_png: Path) -> None:
    """No NSTFILTER_BIN, no config file, nothing on PATH: say how to fix it."""
    config = gimp.plugin_dir / "nstfilter.json"
    saved = config.read_text()
    config.unlink()
    try:
        result = gimp.run(
            {"input": str(content_png), "props": {"preset": "preview"}},
            nstfilter_bin=None,
            label="no CLI",
        )
    finally:
        config.write_text(saved)
    assert result["status"] == "execution-error"
    assert "nstfilter command was not found" in result["error"]
    assert "NSTFILTER_BIN" in result["error"]
    assert_unchanged(result, content_png)


def test_config_file_names_the_cli(gimp, nstfilter_bin: str, content_png: Path) -> None:
    """Without NSTFILTER_BIN the command recorded by install-gimp-plugin is used; a stale
    one is reported as such."""
    config = gimp.plugin_dir / "nstfilter.json"
    saved = config.read_text()
    assert json.loads(saved)["command"][0].endswith("nstfilter")  # recorded at install
    try:
        config.write_text(json.dumps({"command": ["/nonexistent/nstfilter"]}))
        stale = gimp.run(
            {"input": str(content_png), "props": {"preset-name": "no-such-preset"}},
            nstfilter_bin=None,
            label="stale config",
        )
        config.write_text(json.dumps({"command": nstfilter_bin.split()}))
        used = gimp.run(
            {"input": str(content_png), "props": {"preset-name": "no-such-preset"}},
            nstfilter_bin=None,
            label="config file, unknown preset",
        )
    finally:
        config.write_text(saved)
    assert stale["status"] == "execution-error"
    assert "/nonexistent/nstfilter" in stale["error"] and "install-gimp-plugin" in stale["error"]
    assert_unchanged(stale, content_png)
    # The configured CLI ran: its own one-line error about the preset comes back.
    assert used["status"] == "execution-error"
    assert "unknown preset 'no-such-preset'" in used["error"], used["error"]
    assert "Traceback" not in used["error"]
    assert_unchanged(used, content_png)


def test_cli_error_is_shown(gimp, editors_workdir: Path, content_png: Path) -> None:
    """A style file that is not an image: the CLI's one-line error, image unchanged."""
    bad = editors_workdir / "not-an-image.png"
    bad.write_text("this is not a PNG")
    result = gimp.run(
        {"input": str(content_png), "props": {"preset": "preview", "style": str(bad)}},
        label="CLI error (bad style file)",
    )
    assert result["status"] == "execution-error"
    assert result["error"].startswith("nstfilter: ")
    assert "not-an-image.png" in result["error"]
    assert_unchanged(result, content_png)


def test_cli_crash_without_message(gimp, editors_workdir: Path, content_png: Path) -> None:
    """A CLI that dies without the one-line error: exit code and its last words."""
    fake = editors_workdir / "broken-nstfilter"
    fake.write_text("#!/bin/sh\necho 'Segmentation fault (core dumped)' >&2\nexit 139\n")
    fake.chmod(0o755)
    result = gimp.run(
        {"input": str(content_png), "props": {"preset": "preview"}},
        nstfilter_bin=str(fake),
        label="CLI crash",
    )
    assert result["status"] == "execution-error"
    assert "exit code 139" in result["error"] and "Segmentation fault" in result["error"]
    assert_unchanged(result, content_png)


DIALOG_DRIVER = """
{gimp} >{log} 2>&1 &
gimp=$!
window=
for i in $(seq 1 120); do
  window=$(xdotool search --name 'Neural Style Transfer' 2>/dev/null | head -n 1)
  [ -n "$window" ] && break
  sleep 1
done
if [ -n "$window" ]; then
  sleep 2
  xdotool windowfocus --sync "$window"
  xdotool key --clearmodifiers Return
fi
wait $gimp
"""


def test_interactive_dialog(gimp, content_png: Path, editors_workdir: Path) -> None:
    """Interactive run under Xvfb: the dialog opens with the caller's values, OK styles."""
    if not (gimp.chroot.root / "usr/bin/xdotool").exists():
        pytest.skip("xvfb/xdotool not in the chroot: run .ci/editors-setup.sh again")
    argv, result_path = gimp.spec_args(
        {
            "input": str(content_png),
            "run_mode": "interactive",
            "props": {"preset": "preview", "size": 40},
        }
    )
    log = editors_workdir / "gimp-dialog.log"
    driver = editors_workdir / "dialog-driver.sh"
    driver.write_text(DIALOG_DRIVER.format(gimp=shlex.join(argv), log=log))
    done = gimp.chroot.run(
        ["xvfb-run", "-a", "sh", str(driver)],
        gimp.env(gimp.nstfilter_bin),
        timeout=400,
        label="GIMP: dialog, OK",
    )
    text = log.read_text() if log.exists() else ""
    assert result_path.is_file(), done.stdout + done.stderr + text
    result = json.loads(result_path.read_text())
    assert "exception" not in result, result["exception"]
    assert "duplicate mnemonic" not in text
    assert result["status"] == "success", result["error"] + text
    assert [layer["name"] for layer in result["layers"]][0] == "preview"
    assert len(result["layers"]) == 2


def _find(predicate, timeout: float) -> psutil.Process | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in psutil.process_iter(["cmdline"]):
            try:
                if predicate(" ".join(proc.info["cmdline"] or [])):
                    return proc
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        time.sleep(0.2)
    return None


def test_cancel_stops_the_cli(gimp, content_png: Path, editors_workdir: Path) -> None:
    """GIMP's Cancel kills the plug-in process (SIGKILL, no Python runs): the CLI must not
    outlive it. We do what GIMP does and watch the CLI go."""
    argv, _ = gimp.spec_args(
        # a long optimisation (the preview preset is the fast filter: it ends in a second)
        {"input": str(content_png), "props": {"preset": "starry-night", "iterations": 5000}}
    )
    editor = gimp.chroot.popen(argv, gimp.env(gimp.nstfilter_bin))
    try:
        cli = _find(lambda c: " apply " in c and "nstfilter-gimp-" in c, timeout=120)
        assert cli is not None, "the plug-in never started the CLI"
        plugin = _find(lambda c: "plug-ins/nstfilter/nstfilter.py" in c, timeout=10)
        assert plugin is not None
        plugin.send_signal(signal.SIGKILL)
        gone, alive = psutil.wait_procs([cli], timeout=20)
        assert cli in gone, "the CLI kept running after the plug-in was killed"
    finally:
        try:
            editor.wait(timeout=120)
        except subprocess.TimeoutExpired:
            editor.kill()
            editor.wait()
