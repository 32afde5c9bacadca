"""Quality modes: named schedules over ``StyleParams``. A mode changes only the schedule,
never the objective, so ``preview`` shows what ``high`` will give, only coarser."""

from __future__ import annotations

from typing import Any

from .errors import UsageError
from .params import StyleParams

QUALITY_MODES: dict[str, dict[str, Any]] = {
    # Measured with benchmarks/look.py (issue 10). The look is decided at the coarse scale
    # (256 px: large strokes, the painting's composition, the photo's layout still held by
    # the content layer); the 512 px scale, ~4x dearer per step, only sharpens it. A
    # preview is the standard run with fewer coarse steps and two sharpening steps, so its
    # palette and strokes predict the standard result's.
    "preview": dict(size=512, scales=2, min_size=256, coarse_iterations=30, iterations=2),
    "standard": {},  # StyleParams' defaults: 256 px x 100 steps, then 512 px x 15
    # the same pyramid one octave further, converged longer: finer strokes at 1024 px
    "high": dict(size=1024, scales=3, min_size=256, coarse_iterations=100, iterations=30),
}


def apply_quality(params: StyleParams, mode: str | None) -> StyleParams:
    """``params`` with the schedule of quality ``mode`` (``None`` leaves them unchanged)."""
    if mode is None:
        return params
    if mode not in QUALITY_MODES:
        raise UsageError(f"unknown quality {mode!r}; choose from {', '.join(QUALITY_MODES)}")
    return params.replace(**QUALITY_MODES[mode])
