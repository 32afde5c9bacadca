"""The built-in ``fast`` filter: Magenta's arbitrary-style network (``nstfilter.fast``), a
painted photo in well under a second, without TensorFlow.

It takes what the engine takes: several paintings by weight (their style vectors mixed),
``strength`` as a mix of the painting's vector with the photo's own (the network's own
interpolation, not a pixel fade: the colour plugin leaves strength to this filter), and
``style_scale`` as the size the network paints at (larger: finer strokes). Colour
preservation, alpha and the pixel limit are handled around it like for any filter.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from ..errors import UsageError
from ..events import Progress
from ..fast import FastStylizer, blend_vectors, default_work_size, mix_strength
from ..fast.stylizer import TILE
from ..filters import FilterOutput, ProgressSink
from ..hookspecs import hookimpl
from ..imageio import from_array, to_array
from ..palette import finish_palette
from ..params import MAX_SIDE, StyleParams

log = logging.getLogger(__name__)

NAME = "fast"
#: The palette finish's share of the painting's lightness (``palette_lightness`` unset): the
#: network's strokes live in the lightness, so moving all of it costs the texture (0.05 ->
#: 2.3 on tubingen + Starry Night); 0.15 keeps it (0.05) for palette 0.67 -> 0.37.
LIGHTNESS = 0.15
#: The process's ``--device`` for the fast filter (set by the CLI, :func:`use_device`).
_device = {"requested": "auto"}


def use_device(requested: str) -> str:
    """Apply ``--device`` to this process's fast filter; ``"cpu"`` or ``"gpu"``, as chosen."""
    from ..fast.networks import CUDA, providers

    chosen = providers(requested)  # refuses gpu without CUDA, before any work
    _device["requested"] = requested
    return "gpu" if chosen[0] == CUDA else "cpu"


def work_size(longest: int, params: StyleParams) -> int:
    """The network's working side for a result ``longest`` px long: the default for the
    size times ``style_scale`` (2: strokes half as large), within 16 px and MAX_SIDE."""
    return max(16, min(MAX_SIDE, round(default_work_size(longest) * params.style_scale)))


class FastFilter:
    """One :class:`FastStylizer` per (device, threads) and the last paintings' vectors, so
    a watcher or a batch worker pays the networks' loading and a painting's vector once."""

    def __init__(self) -> None:
        self._stylizers: dict[tuple[str, int | None], FastStylizer] = {}
        self._paintings: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def stylizer(self) -> FastStylizer:
        from ..fast.networks import thread_budget

        key = (_device["requested"], thread_budget())
        with self._lock:
            if key not in self._stylizers:
                self._stylizers[key] = FastStylizer(threads=key[1], device=key[0])
            return self._stylizers[key]

    def painting(self, stylizer: FastStylizer, image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
        """A painting's style vector and its colours (at most 256 px, what the palette finish
        samples), remembered by its pixels (the last 8 paintings)."""
        pixels = np.asarray(image.convert("RGB"))
        key = hashlib.sha1(pixels.tobytes() + str(pixels.shape).encode()).hexdigest()
        with self._lock:
            if key in self._paintings:
                self._paintings.move_to_end(key)
                return self._paintings[key]
        vector = stylizer.style_vector(pixels.astype(np.float32) / 255.0)
        small = image.convert("RGB")
        small.thumbnail((256, 256), Image.Resampling.BOX)
        found = (vector, to_array(small))
        with self._lock:
            self._paintings[key] = found
            while len(self._paintings) > 8:
                self._paintings.popitem(last=False)
        return found

    def vector(
        self, stylizer: FastStylizer, photo: np.ndarray,
        styles: Sequence[tuple[Image.Image, float]], strength: float,
    ) -> np.ndarray:  # fmt: skip
        """The paintings' vectors mixed by weight, then with the photo's by ``strength``."""
        if not styles:
            raise UsageError("at least one style image is needed")
        weights = [w for _, w in styles]
        if any(not w >= 0 for w in weights) or sum(weights) <= 0:  # before any network runs
            raise UsageError("style image weights must be >= 0 and not all zero")
        vectors = [(self.painting(stylizer, img)[0], w) for img, w in styles if w > 0]
        painting = blend_vectors(vectors)
        if strength >= 1.0:
            return painting
        return mix_strength(painting, stylizer.style_vector(photo), strength)

    def paint(
        self, photo: np.ndarray, styles: Sequence[tuple[Image.Image, float]],
        params: StyleParams, *, side: int | None = None,
    ) -> np.ndarray:  # fmt: skip
        """``photo`` (H, W, 3) in [0, 1] painted with ``styles`` under ``params`` (strength
        as a vector mix), the network at ``side`` px (default :func:`work_size`)."""
        if params.strength <= 0.0:  # strength 0 is the photo, exactly
            return photo
        stylizer = self.stylizer()
        vector = self.vector(stylizer, photo, styles, params.strength)
        side = side or work_size(max(photo.shape[:2]), params)
        painted = stylizer.transform(photo, vector, work_size=side)
        # the painting's palette, as the engine finishes (the network's own colours stay
        # far from it: palette 0.67 on tubingen + Starry Night), scaled by the strength
        paintings = [(self.painting(stylizer, img)[1], w) for img, w in styles if w > 0]
        amount = params.palette * params.strength
        return finish_palette(
            painted, paintings, params.replace(palette=amount), quick=True, lightness=LIGHTNESS
        )

    def apply(
        self,
        content: Image.Image,
        styles: Sequence[tuple[Image.Image, float]],
        params: StyleParams,
        progress: ProgressSink,
        should_stop: Callable[[], bool] | None = None,
        on_snapshot: Callable[..., None] | None = None,
        snapshot_every: int = 0,
    ) -> FilterOutput:
        """One step: the network's painting. ``on_snapshot`` (the CLI's Ctrl-C keeper,
        ``--save-every 1``) hears of it like of an optimisation's step 1."""
        start = time.perf_counter()
        side = work_size(max(content.size), params)
        image = self.paint(to_array(content), styles, params, side=side)
        seconds = time.perf_counter() - start
        nan = float("nan")
        event = Progress(1, 1, 1, 1, content.height, content.width, nan, nan, nan, nan, seconds)
        progress(event)
        if on_snapshot is not None and snapshot_every == 1:
            on_snapshot(image, event)
        tiles = "tiled" if side > TILE else "whole"
        metrics = {"work_size": side, "work": tiles, "filter_seconds": round(seconds, 3)}
        return FilterOutput(from_array(image), metrics)


@functools.cache
def shared_filter() -> FastFilter:
    """The process's one fast filter: every facade and the engine's ``init = "fast"`` share
    its sessions and remembered vectors (the networks hold no per-facade state)."""
    return FastFilter()


class FastPlugin:
    """The built-in plugin object: registers the process's ``fast`` filter."""

    def __init__(self, plugins=None) -> None:  # noqa: ARG002 - the factory's signature
        self.filter = shared_filter()

    @hookimpl
    def nstfilter_register_filters(self, register) -> None:
        register(NAME, self.filter)


make_plugin = FastPlugin
