"""Magenta's arbitrary-style network as arrays in, arrays out: a painting becomes a style
vector of 100 numbers (:meth:`FastStylizer.style_vector`), a photo is painted with a vector
(:meth:`FastStylizer.transform`). Vectors mix linearly, which gives blends of paintings
(:func:`blend_vectors`) and a strength that moves between the photo's own style and the
painting's (:func:`mix_strength`), as in Ghiasi et al. 2017.

No files, no PIL images, no TensorFlow: pixels are (H, W, 3) float32 arrays in [0, 1].
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

import numpy as np
from PIL import Image

from ..errors import UsageError
from .networks import PREDICT, TRANSFORM, open_session

#: The style predictor's input side (fixed by the network).
STYLE_SIDE = 256
#: The transformer halves the image twice: its sides must be multiples of this.
MULTIPLE = 4
#: Largest side run in one piece; larger working sizes run in overlapping tiles, so memory
#: stays bounded (a 1024 px tile needs about 0.5 GB; a 4096 px image whole would need 8).
TILE = 1024
#: Overlap between neighbouring tiles, blended linearly (the network normalises each tile
#: by its own statistics, so tiles must fade into each other, not butt).
OVERLAP = 192
#: Vector dimension.
VECTOR = 100


def default_work_size(longest: int) -> int:
    """The longest side the network paints at for a result ``longest`` px long: the result's
    own up to :data:`TILE`, then :data:`TILE` (and the result resized up).

    The network's strokes have a fixed size in *its* pixels. Measured on the shared pairs
    (docs/fast.md): at 512 and 1024 px the native run is the crispest and the most painted
    (texture 0.05-0.06 at 512, 0.21-0.28 at 1024; 384-and-upscale 0.12-0.14 and 0.8-1.0,
    visibly blurred); at 2048 px native strokes turn to confetti and the tiles, each
    normalised alone, tint the sky (texture 0.41, palette 0.80), where painting at 1024 and
    resizing keeps painting-sized strokes (0.29, 0.67). ``style_scale`` multiplies it."""
    return min(longest, TILE)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, C) float32 to ``size`` = (height, width): Lanczos per channel in float (no 8-bit
    rounding), the resampling imageio uses for photos."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    channels = [
        np.asarray(Image.fromarray(np.ascontiguousarray(image[..., c])).resize(
            (width, height), Image.Resampling.LANCZOS))
        for c in range(image.shape[2])
    ]  # fmt: skip
    return np.stack(channels, axis=-1).astype(np.float32)


def _check_image(image: np.ndarray, what: str) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim != 3 or array.shape[2] != 3 or min(array.shape[:2]) < 1:
        raise UsageError(f"{what} must be an (H, W, 3) array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise UsageError(f"{what} has NaN or infinite pixels")
    return np.clip(array, 0.0, 1.0)


def square_crops(image: np.ndarray) -> list[np.ndarray]:
    """Evenly spaced square crops covering the whole image (one for a near-square painting,
    two for Starry Night's 1.6:1): the predictor sees every part of the painting at its own
    aspect, instead of a squashed whole or only the centre."""
    height, width = image.shape[:2]
    side = min(height, width)
    count = max(1, round(max(height, width) / side))
    offsets = np.linspace(0, max(height, width) - side, count).round().astype(int)
    if height >= width:
        return [image[o : o + side] for o in offsets]
    return [image[:, o : o + side] for o in offsets]


def blend_vectors(vectors: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """The weighted mean of style vectors (weights >= 0, not all 0): several paintings at once."""
    weights = np.array([float(w) for _, w in vectors], dtype=np.float64)
    if not len(weights) or not np.isfinite(weights).all() or (weights < 0).any():
        raise UsageError("style weights must be finite numbers >= 0")
    if weights.sum() <= 0:
        raise UsageError("style image weights must be >= 0 and not all zero")
    stacked = np.stack([np.asarray(v, np.float64).reshape(VECTOR) for v, _ in vectors])
    return (weights @ stacked / weights.sum()).astype(np.float32)


def mix_strength(painting: np.ndarray, photo: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` 1: the painting's vector; 0: the photo's own (the photo "painted in its own
    style", close to the photo); between: a linear mix, Magenta's interpolation weight."""
    if not 0.0 <= strength <= 1.0:  # NaN fails too
        raise UsageError(f"strength must be between 0 and 1, got {strength!r}")
    return (strength * painting + (1.0 - strength) * photo).astype(np.float32)


def spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """``(start, stop)`` windows of ``tile`` covering ``length``, neighbours sharing at least
    ``overlap``, starts on multiples of :data:`MULTIPLE`."""
    if length <= tile:
        return [(0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    starts = [round(i * (length - tile) / (count - 1) / MULTIPLE) * MULTIPLE for i in range(count)]
    starts[-1] = length - tile
    return [(s, s + tile) for s in starts]


def _ramp(start: int, stop: int, length: int, overlap: int) -> np.ndarray:
    """1-D blending weight of a tile: 1 inside, a linear rise over ``overlap`` at inner edges."""
    weights = np.ones(stop - start, np.float32)
    rise = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    if start > 0:
        weights[:overlap] = np.minimum(weights[:overlap], rise)
    if stop < length:
        weights[-overlap:] = np.minimum(weights[-overlap:], rise[::-1])
    return weights


class FastStylizer:
    """The two networks behind one object; sessions open on first use and are kept.

    ``threads``: onnxruntime's intra-op threads (``None``: ``$NSTFILTER_THREADS``, else all
    cores); ``device``: ``auto`` (CUDA when onnxruntime has it), ``cpu`` or ``gpu``. Safe to
    share between threads (onnxruntime sessions are)."""

    def __init__(self, threads: int | None = None, device: str = "auto") -> None:
        self.threads, self.device = threads, device
        self._sessions: dict[str, object] = {}
        self._lock = threading.Lock()

    def _session(self, name: str):
        with self._lock:
            if name not in self._sessions:
                self._sessions[name] = open_session(name, self.device, self.threads)
            return self._sessions[name]

    @property
    def provider(self) -> str:
        """The provider the transformer runs on (opens it)."""
        return self._session(TRANSFORM).get_providers()[0]

    def style_vector(self, style: np.ndarray) -> np.ndarray:
        """(H, W, 3) float32 in [0, 1] -> (100,) float32: the mean of the predictor's vectors
        of :func:`square_crops`, each at 256x256."""
        image = _check_image(style, "style image")
        session = self._session(PREDICT)
        name = session.get_inputs()[0].name
        vectors = [
            session.run(None, {name: resize(crop, (STYLE_SIDE, STYLE_SIDE))[None]})[0]
            for crop in square_crops(image)
        ]
        return np.mean(vectors, axis=0).reshape(VECTOR).astype(np.float32)

    def transform(
        self, content: np.ndarray, vector: np.ndarray, *, work_size: int | None = None
    ) -> np.ndarray:
        """(H, W, 3) float32 in [0, 1] painted with ``vector``, at the content's own H, W.

        The network runs at ``work_size`` px longest side (default
        :func:`default_work_size`), in overlapping :data:`TILE` px tiles above that, padded
        to multiples of 4 and cropped back; the result is resized back (Lanczos)."""
        image = _check_image(content, "photo")
        style = np.asarray(vector, np.float32).reshape(1, 1, 1, VECTOR)
        if not np.isfinite(style).all():
            raise UsageError("style vector has NaN or infinite values")
        height, width = image.shape[:2]
        side = work_size or default_work_size(max(height, width))
        if side < 1:
            raise UsageError(f"work size must be at least 1 px, got {side}")
        factor = side / max(height, width)
        small = resize(image, (max(1, round(height * factor)), max(1, round(width * factor))))
        painted = self._tiled(small, style)
        return np.clip(resize(painted, (height, width)), 0.0, 1.0)

    def _tiled(self, image: np.ndarray, style: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        if max(height, width) <= TILE:
            return self._run(image, style)
        out = np.zeros((height, width, 3), np.float32)
        total = np.zeros((height, width, 1), np.float32)
        for y0, y1 in spans(height, TILE, OVERLAP):
            for x0, x1 in spans(width, TILE, OVERLAP):
                weight = (
                    _ramp(y0, y1, height, OVERLAP)[:, None] * _ramp(x0, x1, width, OVERLAP)[None]
                )[..., None]
                out[y0:y1, x0:x1] += weight * self._run(image[y0:y1, x0:x1], style)
                total[y0:y1, x0:x1] += weight
        return out / total

    def _run(self, image: np.ndarray, style: np.ndarray) -> np.ndarray:
        """One piece through the transformer: mirrored to multiples of 4, cropped back."""
        height, width = image.shape[:2]
        pad_h, pad_w = -height % MULTIPLE, -width % MULTIPLE
        padded = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
        session = self._session(TRANSFORM)
        photo_in, style_in = (i.name for i in session.get_inputs())
        out = session.run(None, {photo_in: padded[None], style_in: style})[0]
        return out[0, :height, :width]
