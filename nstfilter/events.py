"""Events that leave the engine: small and picklable, so plugins, the watcher and batch
workers can handle progress without importing TensorFlow."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One optimisation step, as reported to the ``callback``; a clip reports each finished
    frame the same way (``unit`` ``"frame"``, one scale, losses NaN), so one progress display
    and one ETA serve photos and clips."""

    step: int  # 1-based, over all scales
    total: int  # total steps over all scales
    scale: int  # 1-based pyramid level
    scales: int
    height: int
    width: int
    loss: float
    content_loss: float
    style_loss: float
    tv_loss: float
    seconds: float  # since the run started
    unit: str = "step"  # what ``step`` and ``total`` count: optimiser steps, or clip frames

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class Listeners:
    """Who hears about a run, all optional: progress, a stop request, and the image being
    optimised ((H, W, 3) floats in [0, 1]) every ``snapshot_every`` steps. The engine and
    the job runner take the same object."""

    callback: Callable[[Progress], None] | None = None
    should_stop: Callable[[], bool] | None = None
    on_snapshot: Callable[[Any, Progress], None] | None = None
    snapshot_every: int = 0
