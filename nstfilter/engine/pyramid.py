"""Image sizes and resampling: scale pyramid, shape buckets, resizes. Pure geometry, so the
optimisers, the schedule and tiling share it without importing each other."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ..params import StyleParams

#: Working sizes are padded up to a multiple of this many pixels (fewer at small sizes).
SHAPE_BUCKET = 16


def scale_sizes(height: int, width: int, params: StyleParams) -> list[tuple[int, int]]:
    """The coarse-to-fine pyramid ending at (height, width): longest sides grow geometrically
    from ``min_size``; a target at or below ``min_size`` runs at a single scale."""
    longest = max(height, width)
    if params.scales == 1 or longest <= params.min_size:
        return [(height, width)]
    sizes = []
    for i in range(params.scales):
        side = params.min_size * (longest / params.min_size) ** (i / (params.scales - 1))
        factor = side / longest
        sizes.append((max(1, round(height * factor)), max(1, round(width * factor))))
    sizes[-1] = (height, width)
    return sizes


def scale_steps(sizes: list[tuple[int, int]], params: StyleParams) -> list[int]:
    """Steps at each of ``sizes``: ``coarse_iterations``, the last ``iterations``. A pyramid
    collapsed to one level does the coarse work too: the look is painted at the coarse scale,
    and a 256 px demo with only the sharpening steps would come out barely styled."""
    if len(sizes) == 1 and params.scales > 1:
        return [params.coarse_iterations + params.iterations]
    return [params.coarse_iterations] * (len(sizes) - 1) + [params.iterations]


def resize(image: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Resize a (1, H, W, C) tensor; antialiased when shrinking, bilinear when growing."""
    if tuple(image.shape[1:3]) == tuple(size):
        return image
    return tf.image.resize(image, size, method="bilinear", antialias=size[0] < image.shape[1])


def fit_longest(image: tf.Tensor, longest: int) -> tf.Tensor:
    """``image`` (1, H, W, C) resized so its longest side is ``longest``, aspect kept."""
    h, w = int(image.shape[1]), int(image.shape[2])
    factor = longest / max(h, w)
    return resize(image, (max(1, round(h * factor)), max(1, round(w * factor))))


def bucket_shape(height: int, width: int) -> tuple[int, int]:
    """The working size, padded to a multiple of ``SHAPE_BUCKET`` (``longest // 16`` when
    small): oneDNN keeps 1.5-3 MB of compiled kernels per input shape, so a watcher fed every
    aspect ratio would grow with each; buckets cap the shapes for a few mirrored pixels."""
    step = max(1, min(SHAPE_BUCKET, max(height, width) // 16))
    return -(-height // step) * step, -(-width // step) * step


def pad_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W, C) mirrored at the bottom and right edges up to ``shape``."""
    pad_h, pad_w = shape[0] - image.shape[0], shape[1] - image.shape[1]
    if pad_h == 0 and pad_w == 0:
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")
