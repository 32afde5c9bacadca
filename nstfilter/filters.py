"""The filter protocol: what ``nstfilter_register_filters`` registers (no TensorFlow here).
The engine is one filter among others (a colour-transfer plugin, the tests' fast stub), so
the watcher and batch front-ends can be tested without running a neural network."""

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
