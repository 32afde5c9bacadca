"""The engine as the built-in ``neural-style`` filter (TensorFlow imported on first use).

Each plugin facade gets its own filter, whose compiled objectives are cached per (backbone,
layers) for as long as the facade lives: a watcher is fast after its first image.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PIL import Image

from ..filters import FilterOutput, ProgressSink
from ..hookspecs import hookimpl
from ..imageio import fit_longest, from_array, to_array
from ..params import StyleParams
from .workload import check_workload, style_side

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..engine import Stylizer
    from ..engine.backbones import BackboneRegistry
    from ..plugins import Plugins

log = logging.getLogger(__name__)


def fast_start(
    content: Image.Image, styles: Sequence[tuple[Image.Image, float]], params: StyleParams
) -> np.ndarray:
    """``init = "fast"``: the fast filter's painting of ``content`` at its size, the network
    working at the coarsest scale's side, where the optimisation decides the look; full
    strength (the engine's result is faded by ``strength`` like any other), recoloured in full
    onto the painting's palette as the palette start is: the fast filter's own lighter finish
    leaves fine statistics the 20 steps do not repair (texture 0.07 -> 0.62 on tubingen +
    Starry Night). The default start (issue 18): where the fast filter's network is missing or
    corrupt, one warning and the photo in the painting's palette (``init = "palette"``)."""
    from ..errors import ModelFileError
    from ..palette import palette_transfer
    from .fast import shared_filter, work_size

    longest = max(content.size)
    coarse = min(longest, params.min_size) if params.scales > 1 else longest
    raw = params.replace(strength=1.0, palette=0.0, preserve_color=False)
    photo = to_array(content)
    try:
        start = shared_filter().paint(photo, styles, raw, side=work_size(coarse, raw))
    except ModelFileError as exc:
        log.warning("init fast: %s; starting from the photo in the painting's palette", exc)
        start = photo
    paintings = [(to_array(image.convert("RGB")), w) for image, w in styles if w > 0]
    return palette_transfer(start, paintings)


class NeuralStyleFilter:
    """Gatys et al.'s optimisation, through the TensorFlow engine."""

    def __init__(self, plugins: Plugins) -> None:
        self._plugins = plugins
        self._lock = threading.Lock()
        self._stylizer = functools.lru_cache(maxsize=16)(self._compile)

    @functools.cached_property
    def registry(self) -> BackboneRegistry:
        """Every backbone the facade's plugins register (built-ins included)."""
        from ..engine.backbones import BackboneRegistry

        registry = BackboneRegistry()
        for backbone in self._plugins.backbones():
            registry.register(backbone)
        return registry

    @staticmethod
    def _compile(backbone, content_layers: tuple[str, ...], style_layers: tuple[str, ...]):
        from ..device import resolve_precision  # the machine's choice, made outside the engine
        from ..engine import Stylizer

        return Stylizer(backbone, content_layers, style_layers, resolve_precision())

    def stylizer(self, params: StyleParams) -> Stylizer:
        """A compiled objective for the params' backbone and layers, cached per filter."""
        backbone = self.registry.get(params.backbone)
        with self._lock:
            return self._stylizer(backbone, params.content_layers, params.style_layers)

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
        # before the backbone is built or a painting resized: what the job will allocate
        check_workload(content.size, [img.size for img, _ in styles], params)
        from ..engine import stylize_tensor

        stylizer = self.stylizer(params)
        log.info("backbone: %s", stylizer.backbone.name)
        side = style_side(max(content.size), params)
        style_arrays = [(to_array(fit_longest(img, side, what="painting")), w) for img, w in styles]
        result = stylize_tensor(
            stylizer, to_array(content), style_arrays, params, callback=progress,
            should_stop=should_stop, on_snapshot=on_snapshot, snapshot_every=snapshot_every,
            init_image=fast_start(content, styles, params) if params.init == "fast" else None,
        )  # fmt: skip
        metrics = {
            "backbone": result.backbone, "precision": result.precision,
            "iterations": result.iterations,
            "engine_seconds": round(result.seconds, 3), "scales": [list(s) for s in result.sizes],
            "content_weight": result.content_weight, "style_weight": result.style_weight,
            "initial": vars(result.initial), "final": vars(result.final),
        }  # fmt: skip
        return FilterOutput(from_array(result.image), metrics)


class NeuralStylePlugin:
    """The built-in plugin object: registers this facade's one ``neural-style`` filter."""

    def __init__(self, plugins: Plugins) -> None:
        self.filter = NeuralStyleFilter(plugins)

    @hookimpl
    def nstfilter_register_filters(self, register) -> None:
        register("neural-style", self.filter)


make_plugin = NeuralStylePlugin
