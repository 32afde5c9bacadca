"""Any image size: the whole image at once, or a coarse pass and then overlapping tiles.

A step's memory grows with its pixels, so tiling keeps every step within ``tile_size``
(peak memory at most linear in pixels). A **coarse pass** over the whole image at one tile's
size decides the composition, so the tiles agree; **tiled passes** refine it level by level
(doubling up to the full size) in raster order, each tile starting from its refined
neighbours. Every tile is steered to the style's Gram matrices at the *whole* image's size,
not a crop's, and is **feathered** in from 0 at inner edges over the overlap, so border
pixels (distorted by zero padding) never land unblended.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from ..errors import UsageError
from ..params import StyleParams
from .objective import (
    FEATURE_STRIDE,
    NO_TEMPORAL,
    LossTerms,
    Stylizer,
    Temporal,
    temporal_weight,
)
from .optimizers import optimize_image
from .pyramid import fit_longest, resize, scale_sizes, scale_steps
from .whole import (
    EngineResult,
    Listeners,
    ProgressCallback,
    Reporter,
    ShouldStop,
    SnapshotCallback,
    Styles,
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
    styles: Styles,
    params: StyleParams,
    *,
    callback: ProgressCallback | None = None,
    should_stop: ShouldStop | None = None,
    on_snapshot: SnapshotCallback | None = None,
    snapshot_every: int = 0,
    init_image: np.ndarray | None = None,
    temporal: Temporal | None = None,
) -> EngineResult:
    """An image with ``content``'s features and ``styles``' statistics, all (H, W, 3) float32
    in [0, 1], ``content`` at the final size. ``callback`` gets a
    :class:`~nstfilter.events.Progress` per step and may raise
    :class:`~nstfilter.errors.Cancelled`, as ``should_stop`` returning True does;
    ``on_snapshot(image, progress)`` gets the image every ``snapshot_every`` steps.
    ``init_image`` (H, W, 3) in [0, 1] at ``content``'s size is where the optimisation starts
    (``init = "fast"``: the caller's fast-filter result; the engine never makes it).
    ``temporal`` (a video frame's warped predecessor, its mask and weight, at ``content``'s
    size) adds Ruder et al.'s temporal term to the objective."""
    if not styles:
        raise UsageError("at least one style image is needed")
    if any(not w >= 0 for _, w in styles) or sum(w for _, w in styles) <= 0:
        raise UsageError("style image weights must be >= 0 and not all zero")
    if init_image is None and params.init == "fast":
        raise UsageError("init = fast needs the fast filter's image (init_image)")
    if init_image is not None and init_image.shape != content.shape:
        raise UsageError(f"init image is {init_image.shape}, the content {content.shape}")
    listeners = Listeners(callback, should_stop, on_snapshot, snapshot_every)
    if should_tile(*content.shape[:2], params):
        return stylize_tiled(
            stylizer, content, styles, params, listeners, init_image=init_image, temporal=temporal
        )
    return stylize_whole(
        stylizer, content, styles, params, listeners, start_image=init_image, temporal=temporal
    )


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
    rows, cols = axis_spans(height, tile, overlap), axis_spans(width, tile, overlap)
    return [(*row, *col) for row in rows for col in cols]


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
    styles: Styles,
    params: StyleParams,
    listeners: Listeners,
    init_image: np.ndarray | None = None,
    temporal: Temporal | None = None,
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
    if init_image is None:
        start_image = initial_image(coarse_content[None], style_ts, params)[0].numpy()
    else:
        start_image = _level_image(init_image, tuple(coarse_content.shape[:2]))
    coarse = stylize_whole(
        stylizer, coarse_content.numpy(), styles, params, listeners,
        start_image=start_image, total_steps=total,
        temporal=None if temporal is None else _temporal_at(temporal, coarse_content.shape[:2]),
    )  # fmt: skip

    # 2. tiled refinement, level by level
    canvas = coarse.image
    done = coarse_steps
    scales = len(coarse.sizes) + len(levels)
    full_size: list[tuple[int, Sequence, Sequence]] = []  # area, initial and final terms
    for level, ((h, w), n_steps, boxes) in enumerate(
        zip(levels, level_steps, boxes_per_level), start=len(coarse.sizes) + 1
    ):
        level_content = _level_image(content, (h, w))
        canvas = _level_image(canvas, (h, w))
        style_t = stylizer.style_targets(style_ts, max(h, w), params, tile=tile)
        weights, layer_w = stylizer.weights(params, style_t)
        last_level = (h, w) == (height, width)
        level_temporal = None if temporal is None else _temporal_at(temporal, (h, w))
        for y0, y1, x0, x1 in boxes:
            tile_content = tf.convert_to_tensor(level_content[None, y0:y1, x0:x1], tf.float32)
            targets = (stylizer.content_targets(tile_content), style_t, weights, layer_w)
            tile_image = tf.convert_to_tensor(canvas[None, y0:y1, x0:x1], tf.float32)
            targets = (*targets, _tile_temporal(stylizer, tile_image, targets, level_temporal,
                                                (y0, y1, x0, x1)))  # fmt: skip
            initial = stylizer.loss_terms(tile_image, targets) if last_level else None
            report = Reporter(listeners, start, total, level, scales, (y1 - y0, x1 - x0))
            result = optimize_image(stylizer, tile_image, targets, n_steps, params, report, done)
            done += n_steps
            if last_level:
                final = initial if report.last is None else report.last
                full_size.append(((y1 - y0) * (x1 - x0), initial, final))
            region = canvas[y0:y1, x0:x1]
            region += feather_mask((y0, y1, x0, x1), h, w, overlap) * (result[0].numpy() - region)
            np.clip(region, 0.0, 1.0, out=region)
        del level_content

    return engine_result(
        stylizer, params, start,
        image=finish_palette(canvas, styles, params),
        initial=_area_mean([(area, terms) for area, terms, _ in full_size]),
        final=_area_mean([(area, terms) for area, _, terms in full_size]),
        iterations=total, sizes=[*coarse.sizes, *levels],
    )  # fmt: skip


def _temporal_at(temporal: Temporal, size: tuple[int, int]) -> Temporal:
    """``temporal`` resized to a level's ``size``."""
    target, mask, _ = temporal.tensors(tuple(size), 0.0)
    return Temporal(target[0].numpy(), mask[0, ..., 0].numpy(), temporal.weight)


def _tile_temporal(
    stylizer: Stylizer, tile_image: tf.Tensor, targets: tuple, temporal: Temporal | None,
    box: tuple[int, int, int, int],
) -> tuple:  # fmt: skip
    """The temporal term of one tile, weighed against the tile's own loss at its start."""
    if temporal is None:
        return NO_TEMPORAL
    y0, y1, x0, x1 = box
    crop = Temporal(temporal.target[y0:y1, x0:x1], temporal.mask[y0:y1, x0:x1], temporal.weight)
    start_loss = float(stylizer.loss_terms(tile_image, (*targets, NO_TEMPORAL))[0])
    return crop.tensors((y1 - y0, x1 - x0), temporal_weight(crop, start_loss))


def _level_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A writable float32 copy of ``image`` (H, W, 3) at ``size`` (bilinear)."""
    if image.shape[:2] != tuple(size):
        image = resize(tf.convert_to_tensor(image[None], tf.float32), size)[0].numpy()
    return np.array(image, np.float32, copy=True)


def _area_mean(tiles: list[tuple[int, Sequence]]) -> LossTerms:
    """Tile losses averaged by tile area, the terms reported for a tiled run: each tile's
    terms are means, and the exact whole-image loss needs what tiling avoids."""
    total = float(sum(area for area, _ in tiles))
    terms = [(area, LossTerms(*map(float, t))) for area, t in tiles]
    fields = ("loss", "content", "style", "tv")
    return LossTerms(*(sum(getattr(t, f) * a for a, t in terms) / total for f in fields))
