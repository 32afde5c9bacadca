"""Unusual but valid images load correctly; bad files fail with one clear line."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from helpers import png_header_only
from PIL import Image, ImageCms

from nstfilter.errors import (
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    InputNotFoundError,
    OutputError,
)
from nstfilter.imageio import load_image, save_image

ORANGE = (230, 120, 30)


def _save(image: Image.Image, path: Path, **kwargs) -> Path:
    image.save(path, **kwargs)
    return path


def _close(rgb: Image.Image, colour=ORANGE, tol=6) -> bool:
    return np.abs(np.asarray(rgb, np.int32) - np.array(colour)).max() <= tol


def test_cmyk_jpeg_becomes_the_same_colour_in_rgb(tmp_path):
    path = _save(Image.new("RGB", (32, 24), ORANGE).convert("CMYK"), tmp_path / "c.jpg")
    loaded = load_image(path)
    assert loaded.source_mode == "CMYK" and loaded.rgb.mode == "RGB"
    assert _close(loaded.rgb, tol=12)


def test_16_bit_greyscale_scales_to_8_bit(tmp_path):
    ramp = (np.linspace(0, 65535, 64)[None, :] * np.ones((16, 1))).astype(np.uint16)
    path = _save(Image.fromarray(ramp), tmp_path / "g16.png")
    loaded = load_image(path)
    pixels = np.asarray(loaded.rgb)
    assert pixels.shape == (16, 64, 3)
    assert pixels[0, 0, 0] == 0 and pixels[0, -1, 0] == 255  # full range kept, not clipped


def test_palette_with_transparency_keeps_alpha(tmp_path):
    image = Image.new("RGBA", (20, 20), (*ORANGE, 255))
    image.paste((0, 0, 0, 0), (0, 0, 10, 20))
    path = _save(image.convert("P"), tmp_path / "p.png", transparency=0)
    palette = Image.open(path)
    assert palette.mode == "P"
    loaded = load_image(path)
    assert loaded.alpha is not None


def test_rgba_and_la_split_alpha(tmp_path):
    rgba = Image.new("RGBA", (16, 16), (*ORANGE, 128))
    loaded = load_image(_save(rgba, tmp_path / "a.png"))
    assert loaded.alpha is not None and loaded.alpha.getextrema() == (128, 128)
    assert _close(loaded.rgb)
    la = load_image(_save(Image.new("LA", (16, 16), (90, 200)), tmp_path / "la.png"))
    assert la.rgb.getpixel((0, 0)) == (90, 90, 90) and la.alpha.getpixel((0, 0)) == 200


def test_opaque_alpha_is_dropped(tmp_path):
    loaded = load_image(_save(Image.new("RGBA", (16, 16), (*ORANGE, 255)), tmp_path / "o.png"))
    assert loaded.alpha is None


def test_greyscale_and_bilevel(tmp_path):
    assert load_image(_save(Image.new("L", (16, 16), 77), tmp_path / "l.png")).rgb.mode == "RGB"
    assert load_image(_save(Image.new("1", (16, 16), 1), tmp_path / "b.png")).rgb.getpixel(
        (0, 0)
    ) == (255, 255, 255)


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), ORANGE)
    image.paste((0, 0, 255), (0, 0, 10, 20))  # blue on the left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = _save(image, tmp_path / "rot.jpg", exif=exif.tobytes(), quality=95)
    loaded = load_image(path)
    assert loaded.size == (20, 40)
    top = np.asarray(loaded.rgb)[:5].reshape(-1, 3).mean(0)
    assert top[2] > 200 and top[0] < 60  # blue ended up on top


def test_icc_profile_is_converted_to_srgb(tmp_path):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = _save(Image.new("RGB", (16, 16), ORANGE), tmp_path / "icc.png", icc_profile=srgb)
    assert _close(load_image(path).rgb, tol=3)


def test_missing_file(tmp_path):
    with pytest.raises(InputNotFoundError, match="nope.jpg: no such file"):
        load_image(tmp_path / "nope.jpg")


def test_zero_bytes(tmp_path):
    (tmp_path / "z.jpg").write_bytes(b"")
    with pytest.raises(ImageError, match=r"z\.jpg: empty file"):
        load_image(tmp_path / "z.jpg")


def test_text_named_jpg(tmp_path):
    (tmp_path / "t.jpg").write_text("hello, I am not a photo\n")
    with pytest.raises(ImageError, match="not an image"):
        load_image(tmp_path / "t.jpg")


def test_truncated_jpeg(tmp_path):
    buffer = io.BytesIO()
    Image.effect_noise((64, 64), 50).convert("RGB").save(buffer, "JPEG")
    (tmp_path / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="corrupt or truncated"):
        load_image(tmp_path / "cut.jpg")


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    (tmp_path / "bomb.png").write_bytes(png_header_only(100_000, 100_000))
    with pytest.raises(ImageTooLargeError, match=r"bomb\.png: .*exceeds"):
        load_image(tmp_path / "bomb.png")


def test_configurable_pixel_limit(tmp_path):
    path = _save(Image.new("RGB", (100, 100)), tmp_path / "big.png")
    with pytest.raises(ImageTooLargeError):
        load_image(path, max_pixels=5_000)
    assert load_image(path, max_pixels=10_000).size == (100, 100)


def test_one_pixel_is_too_small(tmp_path):
    path = _save(Image.new("RGB", (1, 1)), tmp_path / "dot.png")
    with pytest.raises(ImageTooSmallError, match="1x1"):
        load_image(path)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".webp", ".tif"])
def test_save_formats_by_extension_with_alpha(tmp_path, ext):
    image = Image.new("RGB", (16, 12), ORANGE)
    alpha = Image.new("L", (16, 12), 100)
    path = save_image(image, tmp_path / f"out{ext}", alpha=alpha, quality=95)
    reread = Image.open(path)
    assert reread.size == (16, 12)
    assert ("A" in reread.getbands()) == (ext != ".jpg")
    assert not list(tmp_path.glob("*.tmp"))


def test_save_to_unwritable_place_is_an_output_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot write"):
        save_image(Image.new("RGB", (8, 8)), blocker / "out.png")


def test_outputs_get_normal_permissions_not_private_temp_ones(tmp_path):
    import os
    import stat

    path = save_image(Image.new("RGB", (8, 8)), tmp_path / "shared.png")
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
