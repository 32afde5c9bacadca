"""The engine as the built-in ``neural-style`` filter.

TensorFlow is imported on first use, so listing plugins or presets never pays for it.
Compiled objectives are cached per (backbone, layers), which is what makes a watcher or a
batch worker fast after its first image.
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

if TYPE_CHECKING:  # pragma: no cover
    from ..engine.backbones import Backbone, BackboneRegistry
    from ..engine.optimize import Stylizer

log = logging.getLogger(__name__)


def backbone_registry() -> BackboneRegistry:
    """All backbones registered by plugins (built-ins included)."""
    from ..engine.backbones import BackboneRegistry
    from ..plugins import collect, get_plugin_manager

    registry = BackboneRegistry()
    for backbone in collect(get_plugin_manager().hook.nstfilter_register_backbones):
        registry.register(backbone)
    return registry


@functools.lru_cache(maxsize=16)
def _stylizer(backbone: Backbone, content_layers: tuple[str, ...], style_layers: tuple[str, ...]):
    from ..engine.optimize import Stylizer

    return Stylizer(backbone, content_layers, style_layers)


class NeuralStyleFilter:
    """Gatys et al.'s optimisation, through the TensorFlow engine."""

    def __init__(self, backbones: Callable[[], BackboneRegistry] = backbone_registry) -> None:
        self._backbones = backbones
        self._lock = threading.Lock()

    @functools.cached_property
    def registry(self) -> BackboneRegistry:
        return self._backbones()

    def stylizer(self, params: StyleParams) -> Stylizer:
        """A compiled objective for the params' backbone and layers, cached per process."""
        backbone = self.registry.get(params.backbone)
        with self._lock:
            return _stylizer(backbone, tuple(params.content_layers), tuple(params.style_layers))

    def apply(
        self,
        content: Image.Image,
        styles: Sequence[tuple[Image.Image, float]],
        params: StyleParams,
        progress: ProgressSink,
        should_stop: Callable[[], bool] | None = None,
    ) -> FilterOutput:
        from ..engine.optimize import stylize_tensor

        stylizer = self.stylizer(params)
        log.info("backbone: %s", stylizer.backbone.name)
        longest = max(content.size)
        style_arrays = [
            (to_array(fit_longest(img, max(16, round(longest * params.style_scale)))), w)
            for img, w in styles
        ]
        result = stylize_tensor(
            stylizer,
            to_array(content),
            style_arrays,
            params,
            callback=progress,
            should_stop=should_stop,
        )
        metrics = {
            "backbone": result.backbone,
            "iterations": result.iterations,
            "engine_seconds": round(result.seconds, 3),
            "scales": [list(s) for s in result.sizes],
            "content_weight": result.content_weight,
            "style_weight": result.style_weight,
            "initial": vars(result.initial),
            "final": vars(result.final),
        }
        return FilterOutput(from_array(result.image), metrics)


NEURAL_STYLE = NeuralStyleFilter()


@hookimpl
def nstfilter_register_filters(register) -> None:
    register("neural-style", NEURAL_STYLE)
