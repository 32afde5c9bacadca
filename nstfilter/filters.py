"""The filter protocol: what ``nstfilter_register_filters`` registers.

A *filter* turns a content image plus style images into a new image. The engine is one
filter among possible others (a plugin may register a colour-transfer-only filter, and the
test suite registers a fast stub), which is what lets the watcher and batch front-ends be
tested without running a neural network. This module imports no TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from PIL import Image

from .events import Progress
from .params import StyleParams

ProgressSink = Callable[[Progress], None]


@dataclass
class FilterOutput:
    """A filter's result: the image and metrics worth recording (losses, backbone...)."""

    image: Image.Image
    metrics: dict[str, Any] = field(default_factory=dict)


class Filter(Protocol):
    """A named image filter. ``content`` is already resized to ``params.size``."""

    def apply(
        self,
        content: Image.Image,
        styles: Sequence[tuple[Image.Image, float]],
        params: StyleParams,
        progress: ProgressSink,
        should_stop: Callable[[], bool] | None = None,
    ) -> FilterOutput: ...
