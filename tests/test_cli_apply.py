"""``nstfilter apply`` end to end in a subprocess, and every bad input it must refuse."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from helpers import STUB_PLUGINS, png_header_only, run_cli
from PIL import Image

FAST = ["--size", "64", "--iterations", "4", "--scales", "1", "-q"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def photo(tmp_path, content_path) -> Path:
    """A small copy of the content photo in tmp (never the shared file itself)."""
    path = tmp_path / "photo.jpg"
    Image.open(content_path).convert("RGB").resize((96, 72)).save(path, quality=95)
    return path


@pytest.mark.slow  # the real engine
def test_apply_writes_a_styled_image_and_metrics(tmp_path, photo, style_path):
    out, metrics = tmp_path / "out.png", tmp_path / "m.json"
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o", str(out),
                   "--metrics", str(metrics), "--size", "64", "--iterations", "6",
                   "--scales", "1", "--progress", "log")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = Image.open(out)
    assert result.size == (64, 48) and result.mode == "RGB"
    data = json.loads(metrics.read_text())
    assert data["backbone"] == "vgg16-hed"
    assert data["final"]["style"] < 0.5 * data["initial"]["style"]
    assert data["iterations"] == 6 and data["size"] == [64, 48]
    assert "step 6/6" in proc.stderr  # plain log progress when not a terminal
    original = np.asarray(Image.open(photo).resize((64, 48)), np.float32)
    assert np.abs(np.asarray(result, np.float32) - original).mean() > 3


@pytest.mark.slow  # the real engine
def test_strength_zero_returns_the_photo_and_alpha_survives(tmp_path, style_path):
    rgba = Image.new("RGBA", (64, 64), (200, 100, 50, 255))
    rgba.putalpha(Image.linear_gradient("L").resize((64, 64)))
    src = tmp_path / "alpha.png"
    rgba.save(src)
    out = tmp_path / "out.png"
    proc = run_cli("apply", str(src), "--style", str(style_path), "-o", str(out),
                   "--strength", "0", *FAST)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = Image.open(out)
    assert result.mode == "RGBA"
    assert np.abs(np.asarray(result)[..., :3].astype(int) - (200, 100, 50)).max() <= 2
    assert np.abs(np.asarray(result)[..., 3].astype(int) - np.asarray(rgba)[..., 3]).max() <= 2


@pytest.mark.slow  # the real engine
def test_several_inputs_write_one_output_each(tmp_path, photo, style_path):
    second = tmp_path / "second.png"
    Image.open(photo).rotate(90, expand=True).save(second)
    outdir = tmp_path / "results"
    outdir.mkdir()
    proc = run_cli("apply", str(photo), str(second), "--style", f"{style_path}:2",
                   "-o", str(outdir), *FAST)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in outdir.iterdir()) == ["photo.styled.png", "second.styled.png"]
    assert Image.open(outdir / "second.styled.png").size == (48, 64)


def _bad(tmp_path: Path, name: str, data: bytes | None) -> Path:
    path = tmp_path / name
    if data is not None:
        path.write_bytes(data)
    return path


BAD_CONTENT = {
    "missing": ("missing.jpg", None, 3, "no such file"),
    "zero bytes": ("empty.jpg", b"", 4, "empty file"),
    "text named .jpg": ("notes.jpg", b"shopping list: eggs\n", 4, "not an image"),
    "corrupt": ("corrupt.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 4, "corrupt|not an image"),
    "bomb": ("bomb.png", png_header_only(60_000, 60_000), 5, "exceeds"),
}


@pytest.mark.parametrize("case", list(BAD_CONTENT))
def test_bad_content_gives_one_line_and_exit_code(tmp_path, style_path, case):
    name, data, code, message = BAD_CONTENT[case]
    path = _bad(tmp_path, name, data)
    before = digest(path) if path.exists() else None
    out = tmp_path / "out.png"
    proc = run_cli("apply", str(path), "--style", str(style_path), "-o", str(out), *FAST)
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("nstfilter: error: ") and name in lines[0]
    assert __import__("re").search(message, lines[0])
    assert not out.exists()
    assert (digest(path) if path.exists() else None) == before


@pytest.mark.slow  # the real engine
def test_truncated_and_one_pixel_images(tmp_path, photo, style_path):
    data = photo.read_bytes()
    cut = _bad(tmp_path, "cut.jpg", data[: len(data) // 2])
    dot = tmp_path / "dot.png"
    Image.new("RGB", (1, 1)).save(dot)
    for path, code in [(cut, 4), (dot, 6)]:
        proc = run_cli("apply", str(path), "--style", str(style_path), "-o",
                       str(tmp_path / "o.png"), *FAST)  # fmt: skip
        assert proc.returncode == code and len(proc.stderr.strip().splitlines()) == 1


def test_pixel_limit_option(tmp_path, photo):
    small_style = tmp_path / "style.png"
    Image.new("RGB", (40, 40), (10, 60, 200)).save(small_style)
    proc = run_cli("apply", str(photo), "--style", str(small_style), "-o",
                   str(tmp_path / "o.png"), "--max-pixels", "5000", *FAST)  # fmt: skip
    assert proc.returncode == 5, proc.stderr
    assert "photo.jpg" in proc.stderr and "5,000" in proc.stderr


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--content-weight", "-1"], 2, "--content-weight must be a finite number >= 0"),
        (["--strength", "1.5"], 2, "--strength must be a finite number between 0 and 1"),
        (["--style-layers", "block1_conv1,block9_conv9"], 8, "unknown layer 'block9_conv9'"),
        (["--backbone", "resnet"], 2, "unknown backbone 'resnet'"),
        (["--preset", "no-such-preset"], 7, "no-such-preset"),
    ],
)
def test_bad_options_give_one_line(tmp_path, photo, style_path, args, code, message):
    out = tmp_path / "out.png"
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o", str(out),
                   *FAST, *args)  # fmt: skip
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists()


def test_negative_style_weight_and_missing_style(tmp_path, photo, style_path):
    proc = run_cli("apply", str(photo), "--style", f"{style_path}:-2", *FAST)
    assert proc.returncode == 2 and "must be a finite number >= 0, got -2" in proc.stderr
    proc = run_cli("apply", str(photo), "--style", str(tmp_path / "nope.jpg"), *FAST)
    assert proc.returncode == 3 and "nope.jpg" in proc.stderr


def test_never_overwrites_the_input(tmp_path, photo, style_path):
    png = tmp_path / "photo.png"
    Image.open(photo).save(png)
    before = digest(png)
    proc = run_cli("apply", str(png), "--style", str(style_path), "-o", str(png), *FAST)
    assert proc.returncode == 10 and "refusing to write" in proc.stderr
    assert digest(png) == before


def test_unknown_output_extension(tmp_path, photo, style_path):
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o",
                   str(tmp_path / "out.xyz"), *FAST)  # fmt: skip
    assert proc.returncode == 2 and "unsupported output extension" in proc.stderr


# --- issue 11: numbers that are not numbers; issue 13: the CLI a newcomer meets ----------

STUB = ["--filter", "stub", "--size", "64", "-q"]
STUB_ENV = {"NSTFILTER_PLUGINS_DIR": str(STUB_PLUGINS)}


@pytest.mark.parametrize(
    "args, option",
    [
        (["--style-weight", "inf"], "--style-weight"),
        (["--content-weight", "inf"], "--content-weight"),
        (["--tv-weight", "inf"], "--tv-weight"),
        (["--tv-weight", "nan"], "--tv-weight"),
        (["--strength", "1e309"], "--strength"),
        (["--learning-rate", "nan"], "--learning-rate"),
        (["--size", "100000"], "--size"),
        (["--size", "99999999999999999"], "--size"),
        (["--tile-size", "big"], "--tile-size"),
        (["--max-pixels", "-5"], "--max-pixels"),
        (["--max-pixels", "0"], "--max-pixels"),
        (["--jpeg-quality", "101"], "--jpeg-quality"),
    ],
)
def test_bad_numbers_are_one_line_naming_the_option(tmp_path, photo, style_path, args, option):
    out = tmp_path / "out.png"
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o", str(out), *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"nstfilter: error: {option} must be"), lines
    assert not out.exists()


@pytest.mark.parametrize("weight", ["nan", "inf", "1e309"])
def test_style_weight_that_is_not_a_number_is_refused(tmp_path, photo, style_path, weight):
    proc = run_cli("apply", str(photo), "--style", f"{style_path}:{weight}", "-o",
                   str(tmp_path / "o.png"), *STUB, env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "style weight" in proc.stderr


def test_output_folder_with_trailing_slash_is_created(tmp_path, photo, style_path):
    target = tmp_path / "new" / "dir"
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o", f"{target}/",
                   *STUB, env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in target.iterdir()] == ["photo.styled.png"]


def test_stdin_to_stdout_pipe(tmp_path, photo, style_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "nstfilter", "apply", "-", "--style", str(style_path),
         "-o", "-", "--progress", "log", "--filter", "stub", "--size", "64"],
        input=photo.read_bytes(), capture_output=True, timeout=300,
        env={**__import__("os").environ, **STUB_ENV},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"\x89PNG")  # PNG by default, nothing else on stdout
    out = tmp_path / "piped.png"
    out.write_bytes(proc.stdout)
    assert Image.open(out).size == (64, 48)
    assert b"step 4/4" in proc.stderr  # progress went to stderr


def test_stdout_format_option(tmp_path, photo, style_path):
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "nstfilter", "apply", "-", "--style", str(style_path),
         "-o", "-", "--format", "jpg", *STUB],
        input=photo.read_bytes(), capture_output=True, timeout=300,
        env={**__import__("os").environ, **STUB_ENV},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout[:3] == b"\xff\xd8\xff"


def test_size_original_keeps_the_photos_size(tmp_path, style_path):
    src = tmp_path / "wide.png"
    Image.new("RGB", (760, 400), (30, 90, 160)).save(src)
    out, metrics = tmp_path / "o.png", tmp_path / "m.json"
    proc = run_cli("apply", str(src), "--style", str(style_path), "-o", str(out), "--metrics",
                   str(metrics), *STUB, "--size", "original", env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert Image.open(out).size == (760, 400)
    assert json.loads(metrics.read_text())["device"] == "auto"  # stub: no TensorFlow asked


def test_a_sliver_photo_is_refused_with_one_line(tmp_path, style_path):
    src = tmp_path / "thin.png"
    Image.new("RGB", (4000, 8)).save(src)
    out = tmp_path / "o.png"
    proc = run_cli("apply", str(src), "--style", str(style_path), "-o", str(out), *STUB,
                   env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 6, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "64x0" in proc.stderr
    assert not out.exists()


def test_max_pixels_option_is_the_limit_in_force(tmp_path, style_path):
    """A photo above Pillow's 89,478,485 but under --max-pixels gets past the limit: the
    header-only file then fails as truncated (exit 4), not as a bomb (exit 5)."""
    big = tmp_path / "big.png"
    big.write_bytes(png_header_only(10_000, 9_500))
    proc = run_cli("apply", str(big), "--style", str(style_path), "-o", str(tmp_path / "o.png"),
                   "--max-pixels", "200000000", *STUB, env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 4 and "89,478,485" not in proc.stderr, proc.stderr


def test_help_shows_every_default_and_examples():
    proc = run_cli("apply", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    from nstfilter.params import SETTINGS, default_text

    squeezed = text.replace(" ", "")  # click wraps long defaults anywhere
    for name in SETTINGS:
        assert f"[default:{default_text(name).replace(' ', '')}]" in squeezed, name
    assert text.count("nstfilter apply ") >= 2 and "Examples:" in text


def test_device_choice():
    from nstfilter.device import choose_device
    from nstfilter.errors import UsageError

    assert choose_device("auto", []) == "cpu"
    assert choose_device("auto", ["/physical_device:GPU:0"]) == "gpu"
    assert choose_device("cpu", ["/physical_device:GPU:0"]) == "cpu"
    assert choose_device("gpu", ["/physical_device:GPU:0"]) == "gpu"
    with pytest.raises(UsageError, match="sees no GPU"):
        choose_device("gpu", [])


@pytest.mark.slow
def test_device_gpu_without_a_gpu_is_one_line(tmp_path, photo, style_path):
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o",
                   str(tmp_path / "o.png"), "--device", "gpu", *FAST)  # fmt: skip
    assert proc.returncode == 2 and "sees no GPU" in proc.stderr, proc.stderr


def test_save_every_writes_intermediate_results(tmp_path, photo, style_path):
    out = tmp_path / "r" / "out.jpg"
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o", str(out),
                   "--save-every", "2", *STUB, env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in out.parent.iterdir())
    assert names == ["out.jpg", "out.step-0002.jpg", "out.step-0004.jpg"]  # the stub: 4 steps
    assert Image.open(out.parent / "out.step-0002.jpg").size == (64, 48)
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o", "-",
                   "--save-every", "2", *STUB, env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 2 and "--save-every" in proc.stderr


def test_several_photos_and_a_file_output_is_refused(tmp_path, photo, style_path):
    proc = run_cli("apply", str(photo), str(photo), "--style", str(style_path), "-o",
                   str(tmp_path / "one.png"), *STUB, env=STUB_ENV)  # fmt: skip
    assert proc.returncode == 2 and "need a folder for -o" in proc.stderr, proc.stderr


@pytest.mark.slow
def test_save_every_with_the_real_engine(tmp_path, photo, style_path):
    out = tmp_path / "r.png"
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o", str(out),
                   "--save-every", "2", *FAST)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.glob("r.step-*.png")) == [
        "r.step-0002.png",
        "r.step-0004.png",
    ]
    assert Image.open(tmp_path / "r.step-0004.png").size == Image.open(out).size
