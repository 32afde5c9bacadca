"""Quality modes: named schedules (size, scales, iterations) over ``StyleParams``.

A mode changes only the schedule, never the objective, so ``preview`` shows what
``high`` will give, only coarser.
"""

from __future__ import annotations

from typing import Any

from .errors import UsageError
from .params import StyleParams

QUALITY_MODES: dict[str, dict[str, Any]] = {
    "preview": {
        "size": 512,
        "scales": 2,
        "min_size": 192,
        "coarse_iterations": 20,
        "iterations": 5,
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
