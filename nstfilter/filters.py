"""The filter protocol and the built-in neural style filter.

A *filter* turns a content image plus style images into a new image. The engine is one
filter among possible others (a plugin may register a colour-transfer-only filter, and the
test suite registers a fast stub), which is what lets the watcher and batch front-ends be
tested without running a neural network.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image

from .engine.backbones import BackboneRegistry
from .engine.optimize import Progress, Stylizer, stylize_tensor
from .imageio import fit_longest, from_array, to_array
from .params import StyleParams

log = logging.getLogger(__name__)

ProgressSink = Callable[[Progress], None]


@dataclass
class FilterOutput:
    """A filter's result: the image and metrics worth recording (losses, backbone...)."""

    image: Image.Image
    metrics: dict[str, Any] = field(default_factory=dict)


class Filter(Protocol):
    """What ``nstfilter_register_filters`` registers."""

    def apply(
        self,
        content: Image.Image,
        styles: Sequence[tuple[Image.Image, float]],
        params: StyleParams,
        progress: ProgressSink,
        should_stop: Callable[[], bool] | None = None,
    ) -> FilterOutput: ...


class NeuralStyleFilter:
    """Gatys et al.'s optimisation, through the TensorFlow engine."""

    def __init__(self, backbones: Callable[[], BackboneRegistry]) -> None:
        self._backbones = backbones
        self._lock = threading.Lock()

    @functools.cached_property
    def registry(self) -> BackboneRegistry:
        return self._backbones()

    def stylizer(self, params: StyleParams) -> Stylizer:
        """A compiled objective for the params' backbone and layers, cached per process."""
        backbone = self.registry.get(params.backbone)
        with self._lock:
            return _stylizer(backbone, params.content_layers, params.style_layers)

    def apply(
        self,
        content: Image.Image,
        styles: Sequence[tuple[Image.Image, float]],
        params: StyleParams,
        progress: ProgressSink,
        should_stop: Callable[[], bool] | None = None,
    ) -> FilterOutput:
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


@functools.lru_cache(maxsize=16)
def _stylizer(backbone, content_layers: tuple[str, ...], style_layers: tuple[str, ...]):
    return Stylizer(backbone, content_layers, style_layers)
