"""Any image size: a coarse pass over the whole image, then overlapping tiles.

Memory of an optimisation step grows with the pixels it sees (VGG's first block alone holds
64 channels per pixel, several times over for the gradient), so a 4096 px photo cannot be
optimised in one piece. Tiling keeps every step at most ``tile_size`` square:

1. **Coarse pass.** The whole image, downscaled so its longest side is ``tile_size``, runs
   through the normal coarse-to-fine schedule. This decides the global composition, so the
   tiles agree with each other from the start.
2. **Tiled passes.** The result is upsampled (doubling the longest side per level, ending at
   the full size) and refined tile by tile. Tiles overlap by ``overlap`` pixels and are
   processed in raster order, each starting from the current canvas, so a tile begins from
   its already-refined neighbours in the overlaps.
3. **Shared statistics.** Every tile is steered to the same style targets: the Gram
   matrices of the style image at the size of the *whole* image (measured tile by tile when
   that is large, see :func:`tiled_grams`), not of a per-tile crop. Content targets are the
   tile's own (content loss is local).
4. **Feathered blending.** A tile is written back with a weight that ramps linearly from 0
   at its inner edges to 1 over the overlap, so the pixels nearest a tile's border (where
   the network's zero padding distorts the gradient) never reach the result unblended.

Peak memory is a tile's optimisation plus a few full-size float32 copies of the image
(content, canvas): it grows at most linearly with pixels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from ..params import StyleParams
from .objective import FEATURE_STRIDE, LossTerms, Stylizer, resolve_weights, tiled_grams
from .optimizers import optimize_image
from .pyramid import fit_longest, resize, scale_sizes, scale_steps
from .schedule import (
    EngineResult,
    Listeners,
    finish_palette,
    initial_image,
    make_reporter,
    stylize_whole,
)

__all__ = ["FEATURE_STRIDE", "axis_spans", "feather_mask", "stylize_tiled", "tile_boxes",
           "tiled_grams", "tiled_sizes"]  # fmt: skip


def axis_spans(length: int, tile: int, overlap: int) -> list[tuple[int, int]]:
    """Evenly spaced ``(start, stop)`` windows of ``tile`` covering ``length`` with at least
    ``overlap`` pixels shared by neighbours."""
    if length <= tile:
        return [(0, length)]
    count = math.ceil((length - overlap) / (tile - overlap))
    starts = [round(i * (length - tile) / (count - 1)) for i in range(count)]
    return [(s, s + tile) for s in starts]


def tile_boxes(height: int, width: int, tile: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """``(y0, y1, x0, x1)`` of the tiles, in raster order."""
    return [
        (y0, y1, x0, x1)
        for y0, y1 in axis_spans(height, tile, overlap)
        for x0, x1 in axis_spans(width, tile, overlap)
    ]


def _ramp(length: int, ramp: int, low_edge: bool, high_edge: bool) -> np.ndarray:
    """1-D weights: 1 inside, rising linearly from ~0 over ``ramp`` pixels at inner edges."""
    weights = np.ones(length, np.float32)
    ramp = max(1, min(ramp, length // 2))
    rise = (np.arange(ramp, dtype=np.float32) + 0.5) / ramp
    if not low_edge:
        weights[:ramp] = np.minimum(weights[:ramp], rise)
    if not high_edge:
        weights[-ramp:] = np.minimum(weights[-ramp:], rise[::-1])
    return weights


def feather_mask(box: tuple[int, int, int, int], height: int, width: int, ramp: int) -> np.ndarray:
    """(h, w, 1) blending weights of a tile; sides on the image border are not feathered."""
    y0, y1, x0, x1 = box
    rows = _ramp(y1 - y0, ramp, y0 == 0, y1 == height)
    cols = _ramp(x1 - x0, ramp, x0 == 0, x1 == width)
    return (rows[:, None] * cols[None, :])[..., None]


def tiled_sizes(height: int, width: int, params: StyleParams) -> list[tuple[int, int]]:
    """Sizes of the tiled levels after the coarse pass: doubling up to the full size."""
    longest = max(height, width)
    sizes = []
    side = params.tile_size * 2
    while side < longest:
        factor = side / longest
        sizes.append((round(height * factor), round(width * factor)))
        side *= 2
    sizes.append((height, width))
    return sizes


def stylize_tiled(
    stylizer: Stylizer,
    content: np.ndarray,
    styles: Sequence[tuple[np.ndarray, float]],
    params: StyleParams,
    listeners: Listeners,
) -> EngineResult:
    """:func:`~nstfilter.engine.run.stylize_tensor` for images larger than a tile."""
    start = time.perf_counter()
    tile = params.tile_size
    overlap = max(FEATURE_STRIDE, tile // 8)
    height, width = content.shape[:2]
    style_ts = [(tf.convert_to_tensor(s[None], tf.float32), float(w)) for s, w in styles if w > 0]

    # 1. coarse pass over the whole image, at most one tile large
    coarse_full = tf.convert_to_tensor(content[None], tf.float32)
    coarse_content = fit_longest(coarse_full, tile)[0].numpy()
    levels = tiled_sizes(height, width, params)
    boxes_per_level = [tile_boxes(h, w, tile, overlap) for h, w in levels]
    coarse_steps = sum(scale_steps(scale_sizes(*coarse_content.shape[:2], params), params))
    level_steps = [params.coarse_iterations] * (len(levels) - 1) + [params.iterations]
    total = coarse_steps + sum(n * len(b) for n, b in zip(level_steps, boxes_per_level))
    start_image = None
    if params.init != "content":
        start_image = initial_image(tf.convert_to_tensor(coarse_content[None]), style_ts, params)[
            0
        ].numpy()
    coarse = stylize_whole(
        stylizer, coarse_content, styles, params, listeners,
        start_image=start_image, total_steps=total,
    )  # fmt: skip
    del coarse_full

    # 2. tiled refinement, level by level
    canvas = coarse.image
    done = coarse_steps
    scales = len(coarse.sizes) + len(levels)
    initial_terms: list[LossTerms] = []
    final_terms: list[LossTerms] = []
    areas: list[int] = []
    for level, ((h, w), n_steps, boxes) in enumerate(
        zip(levels, level_steps, boxes_per_level), start=len(coarse.sizes) + 1
    ):
        level_content = _level_image(content, (h, w))
        canvas = _level_image(canvas, (h, w))
        style_t = stylizer.style_targets(style_ts, max(h, w), params, tile=tile)
        weights, layer_w = stylizer.weights(params, style_t)
        last_level = (h, w) == (height, width)
        for box in boxes:
            y0, y1, x0, x1 = box
            tile_content = tf.convert_to_tensor(level_content[None, y0:y1, x0:x1], tf.float32)
            targets = (stylizer.content_targets(tile_content), style_t, weights, layer_w)
            tile_image = tf.convert_to_tensor(canvas[None, y0:y1, x0:x1], tf.float32)
            if last_level:
                terms = stylizer.loss_terms(tile_image, targets)
                initial_terms.append(LossTerms.from_tensors(terms))
            inner = make_reporter(listeners, start, total, level, scales, (y1 - y0, x1 - x0))
            seen: list = []

            def report(terms, step, image, _inner=inner, _seen=seen) -> None:
                _seen[:] = [terms]
                _inner(terms, step, image)

            result = optimize_image(stylizer, tile_image, targets, n_steps, params, report, done)
            done += n_steps
            if last_level:
                if seen:
                    final_terms.append(LossTerms.from_tensors(seen[0]))
                else:
                    final_terms.append(initial_terms[-1])
                areas.append((y1 - y0) * (x1 - x0))
            mask = feather_mask(box, h, w, overlap)
            region = canvas[y0:y1, x0:x1]
            region += mask * (result[0].numpy() - region)
            np.clip(region, 0.0, 1.0, out=region)
        del level_content

    canvas = finish_palette(canvas, styles, params)
    content_w, style_w = resolve_weights(params, stylizer.backbone)
    return EngineResult(
        image=canvas,
        initial=_area_mean(initial_terms, areas) if initial_terms else coarse.initial,
        final=_area_mean(final_terms, areas) if final_terms else coarse.final,
        iterations=total,
        seconds=time.perf_counter() - start,
        backbone=stylizer.backbone.name,
        sizes=[*coarse.sizes, *levels],
        content_weight=content_w,
        style_weight=style_w,
    )


def _level_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A writable float32 copy of ``image`` (H, W, 3) at ``size`` (bilinear)."""
    if image.shape[:2] == tuple(size):
        return np.array(image, np.float32, copy=True)
    resized = resize(tf.convert_to_tensor(image[None], tf.float32), size)
    return np.array(resized[0].numpy(), np.float32, copy=True)


def _area_mean(terms: list[LossTerms], areas: list[int]) -> LossTerms:
    """Tile losses averaged by tile area: the loss terms reported for a tiled run.

    (The exact whole-image loss would need the whole image's activations, which is what
    tiling avoids; each tile's terms are means, so the area-weighted mean is comparable.)
    """
    total = float(sum(areas))
    fields = ("loss", "content", "style", "tv")
    return LossTerms(
        *(sum(getattr(t, f) * a for t, a in zip(terms, areas)) / total for f in fields)
    )
