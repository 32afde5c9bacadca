"""Every conversion between files, PIL images and arrays lives here.

Photos arrive in every shape a camera or editor makes (EXIF rotation, CMYK, 16-bit, palette,
alpha, grey, ICC profiles); the engine only ever sees (H, W, 3) float arrays in [0, 1].
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from .durable import write_atomic
from .errors import (
    ImageError,
    ImageTooLargeError,
    ImageTooSmallError,
    InputNotFoundError,
    UsageError,
)
from .params import Setting

log = logging.getLogger(__name__)

#: Default decompression-bomb guard: 100 megapixels (a 12,000 x 8,000 photo fits).
DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_ENV = "NSTFILTER_MAX_PIXELS"
#: JPEG/WebP quality when nobody says otherwise (presets' ``[output] quality``, CLI, jobs).
DEFAULT_QUALITY = 92
#: Below this side length the network sees no structure at all.
MIN_SIDE = 8

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
FORMATS |= {".tif": "TIFF", ".tiff": "TIFF"}
#: File endings taken as images when a folder is given (read, not necessarily written).
IMAGE_SUFFIXES = frozenset(FORMATS) | {".bmp", ".gif", ".tga", ".ppm", ".pgm"}
#: The pixel limit's rule (``--max-pixels``, ``$NSTFILTER_MAX_PIXELS``): the table's checks.
MAX_PIXELS = Setting(section="", kind=int, low=1, help="Refuse images larger than this.")


def pixel_limit(max_pixels: int | None) -> int:
    """The limit in force (``max_pixels``, else ``$NSTFILTER_MAX_PIXELS``, else the default),
    also made Pillow's own (``Image.MAX_IMAGE_PIXELS``), so raising it lets a large photo
    through and lowering it refuses one: one documented number, not ours plus Pillow's."""
    value: object = max_pixels
    label = "max_pixels"
    if max_pixels is None:
        value, label = os.environ.get(MAX_PIXELS_ENV) or DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV
        with contextlib.suppress(ValueError):  # else refused below, naming the variable
            number = float(value)
            value = int(number) if number.is_integer() else number
    Image.MAX_IMAGE_PIXELS = limit = MAX_PIXELS.check(value, label)
    global _limit_in_force
    _limit_in_force = limit
    return limit


_limit_in_force: int | None = None  # the last limit resolved by pixel_limit() in this process


def limit_in_force() -> int:
    """The pixel limit the photo was decoded under (else the environment's or the default),
    which also bounds every image derived from it: the result's working size, the paintings
    resized to it, the engine's scales and tiles (one small file must not claim a host)."""
    return _limit_in_force if _limit_in_force is not None else pixel_limit(None)


def check_size(
    size: tuple[int, int], what: str, *, name: str | None = None, limit: int | None = None
) -> None:
    """Refuse a derived image of ``size`` (width, height) thinner than :data:`MIN_SIDE`
    (:class:`ImageTooSmallError`) or larger than the pixel limit (:class:`ImageTooLargeError`),
    before anything of that size is allocated; ``what`` says which image it is."""
    width, height = size
    if min(size) < MIN_SIDE:
        raise ImageTooSmallError(
            f"{what} would be {width}x{height} pixels; at least {MIN_SIDE} per side are "
            "needed (raise the size or crop it)",
            path=name,
        )
    limit = limit_in_force() if limit is None else limit
    if width * height > limit:
        raise ImageTooLargeError(
            f"{what} would be {width}x{height} = {width * height:,} pixels, over the limit "
            f"of {limit:,} (lower the size or set {MAX_PIXELS_ENV} to raise the limit)",
            path=name,
        )


def fitted_size(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """(width, height) ``size`` scaled so its longest side is ``longest`` (aspect kept)."""
    factor = longest / max(size)
    return round(size[0] * factor), round(size[1] * factor)


@dataclass
class LoadedImage:
    """An image normalised for the engine: 8-bit sRGB pixels plus optional alpha."""

    rgb: Image.Image  # mode "RGB"
    alpha: Image.Image | None  # mode "L", same size, or None when fully opaque
    source_mode: str
    path: str | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.size


def _to_srgb(image: Image.Image) -> Image.Image:
    """Convert through the embedded ICC profile (if any) to sRGB, else plainly to RGB."""
    icc = image.info.get("icc_profile")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.createProfile("sRGB")
            return ImageCms.profileToProfile(image, src, srgb, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile is not worth refusing the photo for
    return image.convert("RGB")


def normalize(image: Image.Image, path: str | None = None) -> LoadedImage:
    """Any PIL image to :class:`LoadedImage` (rotation applied, sRGB, alpha split off)."""
    source_mode = image.mode
    image = ImageOps.exif_transpose(image) or image
    alpha = None
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        alpha = image.getchannel("A")
        image = image.convert("RGB" if image.mode in ("RGBA", "RGBa", "PA") else "L")
    if image.mode.startswith(("I", "F")):  # 16/32-bit and float grey: scaled by their range
        arr = np.asarray(image, dtype=np.float32)
        peak = arr.max(initial=0)
        if image.mode == "F":
            arr = arr * 255.0 if peak <= 1.0 else arr
        elif image.mode != "I" or peak > 255:  # 16-bit, or 32-bit holding more than 8-bit values
            arr = arr / 257.0
        image = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    if image.mode == "1":
        image = image.convert("L")
    rgb = _to_srgb(image) if image.mode != "RGB" or image.info.get("icc_profile") else image
    if alpha is not None and alpha.getextrema() == (255, 255):
        alpha = None
    return LoadedImage(rgb=rgb, alpha=alpha, source_mode=source_mode, path=path)


def load_image(
    path: str | Path, *, max_pixels: int | None = None, warn_frames: bool = True
) -> LoadedImage:
    """Open, validate and normalise an image file; errors name the file and the problem.
    Only the first frame of an animated GIF or a multi-page TIFF is read: ``warn_frames``
    says so in one warning (a caller that styles every frame turns it off)."""
    return _decode(_existing(path), path, pixel_limit(max_pixels), warn_frames)


def probe_image(path: str | Path, *, max_pixels: int | None = None) -> None:
    """:func:`load_image`'s checks that need no decoding (a file, an image format, within the
    pixel limit): a front-end checks every input before the filter starts."""
    _decode(_existing(path), path, pixel_limit(max_pixels), warn_frames=False, header=True)


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError("no such file", path=path)
    if path.is_dir():
        raise ImageError("is a folder, not an image", path=path)
    if path.stat().st_size == 0:
        raise ImageError("empty file (0 bytes)", path=path)
    return path


def load_image_bytes(
    data: bytes, *, name: str | None = None, max_pixels: int | None = None, warn_frames=True
) -> LoadedImage:
    """:func:`load_image` for an image held in memory (batch jobs travel as bytes);
    ``name`` labels error messages the way a path would."""
    if not data:
        raise ImageError("empty file (0 bytes)", path=name)
    return _decode(io.BytesIO(data), name, pixel_limit(max_pixels), warn_frames)


def _decode(
    source: Path | io.BytesIO, path: str | Path | None, limit: int, warn_frames: bool = True,
    header: bool = False,
) -> LoadedImage:  # fmt: skip
    try:
        with warnings.catch_warnings():
            # checked just below with our message; Pillow itself refuses beyond twice it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source) as opened:
                width, height = opened.size
                if width * height > limit:
                    raise ImageTooLargeError(
                        f"{width}x{height} = {width * height:,} pixels exceeds the limit of "
                        f"{limit:,} (set {MAX_PIXELS_ENV} to raise it)",
                        path=path,
                    )
                if header:  # probe_image: the header said enough
                    return None  # type: ignore[return-value]
                if warn_frames and getattr(opened, "is_animated", False):  # cheap: no count
                    log.warning("%s: animated or multi-page; only the first frame is styled", path)
                image = opened.copy()  # loaded, with its info (EXIF, ICC profile)
    except Image.DecompressionBombError:
        raise ImageTooLargeError(
            f"exceeds twice the limit of {limit:,} pixels: decompression bomb refused "
            f"(set {MAX_PIXELS_ENV} to raise the limit)",
            path=path,
        ) from None
    except UnidentifiedImageError:
        raise ImageError("not an image file (unrecognised format)", path=path) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"corrupt or truncated image: {exc}", path=path) from None
    if min(image.size) < MIN_SIDE:
        raise ImageTooSmallError(
            f"image is {image.size[0]}x{image.size[1]} pixels; at least {MIN_SIDE} pixels "
            "per side are needed",
            path=path,
        )
    return normalize(image, str(path) if path is not None else None)


def fit_longest(
    image: Image.Image, longest: int, *, name: str | None = None, what: str = "image"
) -> Image.Image:
    """Resize so the longest side is ``longest`` (Lanczos), refusing, before resizing, a
    result thinner than :data:`MIN_SIDE` (a 4000x8 photo at 64 px: a 64x1 sliver no network
    can style) or larger than the pixel limit (:func:`check_size`)."""
    width, height = image.size
    size = fitted_size(image.size, longest)
    check_size(size, f"a {width}x{height} {what} at longest side {longest}", name=name)
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def to_array(image: Image.Image) -> np.ndarray:
    """RGB PIL image to (H, W, 3) float32 in [0, 1]."""
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def from_array(array: np.ndarray) -> Image.Image:
    """(H, W, 3) floats in [0, 1] to an 8-bit RGB image (clipped and rounded, never negated)."""
    pixels = np.clip(np.rint(np.asarray(array, dtype=np.float32) * 255.0), 0, 255)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def format_for(path: str | Path) -> str:
    """The PIL format name for a path's extension; unknown extensions are an error."""
    suffix = Path(path).suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    raise UsageError(
        f"unsupported output extension {suffix or '(none)'!r}; use one of "
        f"{', '.join(sorted(FORMATS))}",
        path=path,
    )


def encode_image(image: Image.Image, fmt: str, *, quality: int = DEFAULT_QUALITY) -> bytes:
    """Encode to bytes in ``fmt`` (alpha dropped for JPEG, which cannot hold it)."""
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    options: dict[str, object] = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if fmt == "JPEG":
        options["subsampling"] = 0 if quality >= 90 else 2
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def save_image(
    image: Image.Image,
    path: str | Path,
    *,
    quality: int = DEFAULT_QUALITY,
    alpha: Image.Image | None = None,
) -> Path:
    """Save atomically in the format named by the extension, re-attaching ``alpha``."""
    fmt = format_for(path)
    if alpha is not None and fmt != "JPEG":
        image = image.convert("RGB")
        image.putalpha(alpha.resize(image.size, Image.Resampling.LANCZOS))
    return write_atomic(encode_image(image, fmt, quality=quality), path)
