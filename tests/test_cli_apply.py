"""``nstfilter apply`` end to end in a subprocess, and every bad input it must refuse."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image
from test_imageio import png_header_only

FAST = ["--size", "64", "--iterations", "4", "--scales", "1", "-q"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def photo(tmp_path, content_path) -> Path:
    """A small copy of the content photo in tmp (never the shared file itself)."""
    path = tmp_path / "photo.jpg"
    Image.open(content_path).convert("RGB").resize((96, 72)).save(path, quality=95)
    return path


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
        (["--content-weight", "-1"], 2, "content_weight must be >= 0"),
        (["--strength", "1.5"], 2, "strength must be between 0 and 1"),
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
    assert proc.returncode == 2 and "style weight must be >= 0" in proc.stderr
    proc = run_cli("apply", str(photo), "--style", str(tmp_path / "nope.jpg"), *FAST)
    assert proc.returncode == 3 and "nope.jpg" in proc.stderr


def test_never_overwrites_the_input(tmp_path, photo, style_path):
    png = tmp_path / "photo.png"
    Image.open(photo).save(png)
    before = digest(png)
    proc = run_cli("apply", str(png), "--style", str(style_path), "-o", str(png), *FAST)
    assert proc.returncode == 10 and "overwrite an input" in proc.stderr
    assert digest(png) == before


def test_unknown_output_extension(tmp_path, photo, style_path):
    proc = run_cli("apply", str(photo), "--style", str(style_path), "-o",
                   str(tmp_path / "out.xyz"), *FAST)  # fmt: skip
    assert proc.returncode == 2 and "unsupported output extension" in proc.stderr
