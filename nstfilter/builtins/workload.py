"""What one neural-style job will allocate, checked before any of it is.

The pixel limit bounds the photo as decoded, but the work follows other sizes: the
paintings are resized to the result's longest side (a 20000x9 photo at ``size = original``
asks for a 20000-pixel-wide painting: 15 GB), and the engine derives scales, a coarse pass
and tiles from the working size (a 9x3000 photo in 64-pixel tiles has a coarse pass 2 pixels
wide, which TensorFlow refuses with an ``InvalidArgumentError`` deep in the network). Every
one of them is checked here by the rule the photo obeys (:func:`~nstfilter.imageio.check_size`:
at least ``MIN_SIDE`` per side, at most the pixel limit), from the same geometry functions
the engine uses, before the backbone is built or a painting resized.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from ..imageio import check_size, fitted_size
from ..params import StyleParams


def style_side(longest: int, params: StyleParams) -> int:
    """The longest side a painting is resized to for a result whose longest side is
    ``longest`` (``style_scale`` times it, at least 16)."""
    return max(16, round(longest * params.style_scale))


def engine_sizes(height: int, width: int, params: StyleParams) -> Iterator[tuple[str, int, int]]:
    """``(what, height, width)`` of every image the engine makes from a working size: the
    scales of the whole pass, or the coarse pass's scales and every tile of every level."""
    from ..engine.objective import FEATURE_STRIDE
    from ..engine.pyramid import bucket_shape, scale_sizes
    from ..engine.tiling import should_tile, tile_boxes, tiled_sizes

    if not should_tile(height, width, params):
        for h, w in scale_sizes(*bucket_shape(height, width), params):
            yield "a scale of the pyramid", h, w
        return
    tile = params.tile_size
    factor = tile / max(height, width)  # as engine.pyramid.fit_longest
    coarse = (max(1, round(height * factor)), max(1, round(width * factor)))
    for h, w in scale_sizes(*bucket_shape(*coarse), params):
        yield f"the coarse pass (tile size {tile})", h, w
    overlap = max(FEATURE_STRIDE, tile // 8)  # as engine.tiling.stylize_tiled
    for level_h, level_w in tiled_sizes(height, width, params):
        for y0, y1, x0, x1 in tile_boxes(level_h, level_w, tile, overlap):
            yield f"a tile (tile size {tile})", y1 - y0, x1 - x0


def check_workload(
    content_size: tuple[int, int],
    style_sizes: Sequence[tuple[int, int]],
    params: StyleParams,
    *,
    name: str | None = None,
) -> None:
    """Refuse, naming the image, a job one of whose derived images breaks the pixel rule:
    the paintings at their working size, then the engine's scales and tiles (sizes are
    (width, height), as PIL gives them)."""
    width, height = content_size
    side = style_side(max(content_size), params)
    for w, h in style_sizes:
        check_size(fitted_size((w, h), side), f"a {w}x{h} painting at longest side {side}",
                   name=name)  # fmt: skip
    seen: set[tuple[int, int]] = set()
    for what, h, w in engine_sizes(height, width, params):
        if (h, w) not in seen:
            seen.add((h, w))
            check_size((w, h), f"for a {width}x{height} result, {what}", name=name)
