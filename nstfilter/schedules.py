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
    # What the editors show while a slider moves: the fast filter at the standard size,
    # painting at 256 px like the standard run's coarse scale (strokes of the same size) and
    # finishing on the painting's whole palette as the standard run does, so its palette is
    # within 0.02-0.09 of the standard result's (the fast default's: 0.11-0.31; see
    # benchmarks/fast.py). Its texture reads higher than fast's: a preview, not a result.
    "preview": dict(filter="fast", size=512, style_scale=0.5, palette_lightness=1.0),
    # Measured with benchmarks/look.py (issue 18). The fast filter's result is the start: its
    # strokes and their layout are there at once, so the optimisation spends its steps at the
    # full size, fitting the painting's own texture where the photo's detail is (the old
    # 256 px layout melted windows and cables into blobs).
    "standard": {},  # StyleParams' defaults: fast start, 20 L-BFGS steps at 512 px
    # the fast start painted at 1024 px, 20 steps there (512 px x 20 then 1024 px x 10 left a
    # worm-like ripple: texture 0.51/0.37 against 0.10/0.09 on the shared pairs)
    "high": dict(size=1024, scales=1, iterations=20),
}


def apply_quality(params: StyleParams, mode: str | None) -> StyleParams:
    """``params`` with the schedule of quality ``mode`` (``None`` leaves them unchanged)."""
    if mode is None:
        return params
    if mode not in QUALITY_MODES:
        raise UsageError(f"unknown quality {mode!r}; choose from {', '.join(QUALITY_MODES)}")
    return params.replace(**QUALITY_MODES[mode])
