"""The engine's entry point: ``stylize_tensor`` picks the whole-image or the tiled path."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import UsageError
from ..params import StyleParams
from .objective import Stylizer
from .schedule import (
    EngineResult,
    Listeners,
    ProgressCallback,
    ShouldStop,
    SnapshotCallback,
    stylize_whole,
)
from .tiling import stylize_tiled


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
    steps (at the current scale's size). Images whose longest side exceeds
    ``params.tile_size`` go through :func:`~nstfilter.engine.tiling.stylize_tiled`
    (bounded memory at any size).
    """
    if not styles:
        raise UsageError("at least one style image is needed")
    if any(not w >= 0 for _, w in styles) or sum(w for _, w in styles) <= 0:
        raise UsageError("style image weights must be >= 0 and not all zero")
    listeners = Listeners(callback, should_stop, on_snapshot, snapshot_every)
    if should_tile(content.shape[0], content.shape[1], params):
        return stylize_tiled(stylizer, content, styles, params, listeners)
    return stylize_whole(stylizer, content, styles, params, listeners)
