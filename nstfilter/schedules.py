"""Quality modes: named schedules (size, scales, iterations) over ``StyleParams``.

A mode changes only the schedule, never the objective, so ``preview`` shows what
``high`` will give, only coarser.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError
from .params import StyleParams

QUALITY_MODES: dict[str, dict[str, Any]] = {
    # Measured (benchmarks/time_to_quality.py): the finest scale costs ~4x the one below it,
    # so a preview does its work at 256 px and spends only a few iterations re-sharpening
    # at 512 px (the content's detail band is added when moving up a scale).
    "preview": {
        "size": 512,
        "scales": 2,
        "min_size": 256,
        "coarse_iterations": 15,
        "iterations": 3,
    },
    "standard": {},  # StyleParams' defaults
    "high": {"size": 1024, "scales": 4, "iterations": 150, "coarse_iterations": 100},
}


def apply_quality(params: StyleParams, mode: str | None) -> StyleParams:
    """``params`` with the schedule of quality ``mode`` (``None`` leaves them unchanged)."""
    if mode is None:
        return params
    try:
        return params.replace(**QUALITY_MODES[mode])
    except KeyError:
        raise UsageError(
            f"unknown quality {mode!r}; choose from {', '.join(QUALITY_MODES)}"
        ) from None
