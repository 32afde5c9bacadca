"""Quality modes: named schedules over ``StyleParams``. A mode changes only the schedule (or,
for ``fast`` and ``preview``, the filter), never the objective or the paintings, so a
preview shows what ``standard`` and ``high`` will give."""

from __future__ import annotations

from typing import Any

from .errors import UsageError
from .params import StyleParams

QUALITY_MODES: dict[str, dict[str, Any]] = {
    # The instant filter (nstfilter.fast, Magenta's feed-forward network): under a second,
    # no TensorFlow. Only the filter changes; the preset's paintings and colour settings stay.
    "fast": dict(filter="fast"),
    # What the editors show while a slider moves: the fast filter at the standard size (its
    # palette and composition predict the standard result's; see benchmarks/fast.py).
    "preview": dict(filter="fast", size=512),
    # Measured with benchmarks/look.py (issue 10). The look is decided at the coarse scale
    # (256 px: large strokes, the painting's composition, the photo's layout still held by
    # the content layer); the 512 px scale, ~4x dearer per step, only sharpens it.
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
