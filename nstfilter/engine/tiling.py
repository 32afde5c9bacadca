"""Any image size: the whole image at once, or a coarse pass and then overlapping tiles.

A step's memory grows with its pixels (VGG's first block alone holds 64 channels per pixel,
several times over for the gradient), so a 4096 px photo cannot be optimised in one piece.
Tiling keeps every step at most ``tile_size`` square:

1. **Coarse pass**: the whole image, its longest side downscaled to ``tile_size``, runs the
   normal schedule; it decides the composition, so the tiles agree from the start.
2. **Tiled passes**: the result is upsampled (doubling the longest side per level up to the
   full size) and refined tile by tile in raster order, each tile starting from the current
   canvas, so it begins from its already-refined neighbours in the overlaps.
3. **Shared statistics**: every tile is steered to the Gram matrices of the style at the
   *whole* image's size (:func:`~.objective.tiled_grams` when that is large), not a crop's;
   content targets are the tile's own (content loss is local).
4. **Feathered blending**: a tile's weight ramps from 0 at its inner edges to 1 over the
   overlap, so pixels next to a border (where zero padding distorts the gradient) never
   reach the result unblended.

Peak memory is one tile's optimisation plus a few full-size copies: at most linear in pixels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from ..errors import UsageError
from ..params import StyleParams
from .objective import FEATURE_STRIDE, LossTerms, Stylizer
from .optimizers import optimize_image
from .pyramid import fit_longest, resize, scale_sizes, scale_steps
from .schedule import (
    EngineResult,
    Listeners,
    ProgressCallback,
    Reporter,
    ShouldStop,
    SnapshotCallback,
    engine_result,
    finish_palette,
    initial_image,
    style_tensors,
    stylize_whole,
)


def should_tile(height: int, width: int, params: StyleParams) -> bool:
    """Whether an image of this size is stylised in tiles (``params.tile_size``, 0 = never)."""
    return params.tile_size > 0 and max(height, width) > params.tile_size


def stylize_tensor(
    stylizer: Stylizer,
    content: np.ndarray,
    styles: Sequence[tuple[np.ndarray, float]],
    params: StyleParams,
    *,
    callback: ProgressCallback | None = None,
    should_stop: ShouldStop | None = None,
    on_snapshot: SnapshotCallback | None = None,
    snapshot_every: int = 0,
) -> EngineResult:
    """Optimise an image that has ``content``'s features and ``styles``' statistics.

    ``content`` is (H, W, 3) float32 in [0, 1] at the final size; style images likewise at
    any size. ``callback`` receives a :class:`~nstfilter.events.Progress` per step and may
    raise :class:`~nstfilter.errors.Cancelled`; ``should_stop`` returning True cancels too.
    ``on_snapshot(image, progress)`` receives the current image every ``snapshot_every``
    steps (at the current scale's size). Images larger than ``params.tile_size`` go in tiles.
    """
    if not styles:
        raise UsageError("at least one style image is needed")
    if any(not w >= 0 for _, w in styles) or sum(w for _, w in styles) <= 0:
        raise UsageError("style image weights must be >= 0 and not all zero")
    listeners = Listeners(callback, should_stop, on_snapshot, snapshot_every)
    if should_tile(content.shape[0], content.shape[1], params):
        return stylize_tiled(stylizer, content, styles, params, listeners)
    return stylize_whole(stylizer, content, styles, params, listeners)


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
    """:func:`stylize_tensor` for images larger than a tile."""
    start = time.perf_counter()
    tile = params.tile_size
    overlap = max(FEATURE_STRIDE, tile // 8)
    height, width = content.shape[:2]
    style_ts = style_tensors(styles)

    # 1. coarse pass over the whole image, at most one tile large
    coarse_content = fit_longest(tf.convert_to_tensor(content[None], tf.float32), tile)[0]
    levels = tiled_sizes(height, width, params)
    boxes_per_level = [tile_boxes(h, w, tile, overlap) for h, w in levels]
    coarse_steps = sum(scale_steps(scale_sizes(*coarse_content.shape[:2], params), params))
    level_steps = [params.coarse_iterations] * (len(levels) - 1) + [params.iterations]
    total = coarse_steps + sum(n * len(b) for n, b in zip(level_steps, boxes_per_level))
    start_image = initial_image(coarse_content[None], style_ts, params)[0].numpy()
    coarse = stylize_whole(
        stylizer, coarse_content.numpy(), styles, params, listeners,
        start_image=start_image, total_steps=total,
    )  # fmt: skip

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
                initial_terms.append(
                    LossTerms.from_tensors(stylizer.loss_terms(tile_image, targets))
                )
            report = Reporter(listeners, start, total, level, scales, (y1 - y0, x1 - x0))
            result = optimize_image(stylizer, tile_image, targets, n_steps, params, report, done)
            done += n_steps
            if last_level:
                seen = report.last
                final_terms.append(
                    initial_terms[-1] if seen is None else LossTerms.from_tensors(seen)
                )
                areas.append((y1 - y0) * (x1 - x0))
            region = canvas[y0:y1, x0:x1]
            region += feather_mask(box, h, w, overlap) * (result[0].numpy() - region)
            np.clip(region, 0.0, 1.0, out=region)
        del level_content

    return engine_result(
        stylizer, params, start,
        image=finish_palette(canvas, styles, params),
        initial=_area_mean(initial_terms, areas) if initial_terms else coarse.initial,
        final=_area_mean(final_terms, areas) if final_terms else coarse.final,
        iterations=total, sizes=[*coarse.sizes, *levels],
    )  # fmt: skip


def _level_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A writable float32 copy of ``image`` (H, W, 3) at ``size`` (bilinear)."""
    if image.shape[:2] != tuple(size):
        image = resize(tf.convert_to_tensor(image[None], tf.float32), size)[0].numpy()
    return np.array(image, np.float32, copy=True)


def _area_mean(terms: list[LossTerms], areas: list[int]) -> LossTerms:
    """Tile losses averaged by tile area, the terms reported for a tiled run: each tile's
    terms are means, and the exact whole-image loss needs what tiling avoids."""
    total = float(sum(areas))
    fields = ("loss", "content", "style", "tv")
    return LossTerms(
        *(sum(getattr(t, f) * a for t, a in zip(terms, areas)) / total for f in fields)
    )
