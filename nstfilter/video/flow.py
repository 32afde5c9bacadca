"""Optical flow between input frames and what it is trusted with.

DIS (Kroeger et al. 2016, OpenCV's ``DISOpticalFlow``) runs in milliseconds on a CPU where
the peers' DeepFlow took minutes per frame. The flow is computed both ways; a pixel is
*reliable* when the two agree (Ruder et al. 2016, eq. 7: occluded and disoccluded pixels
fail it) and it is not on a motion boundary (eq. 8). The previous styled frame is warped
along the backward flow; unreliable pixels are styled afresh. A cut makes most pixels
unreliable at once, which is how cuts are found: the chain restarts there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import require_cv2

#: A frame whose reliable share falls below this follows a cut (or motion too fast to
#: follow): its chain restarts. Panning and zooming keep > 0.8; a cut gives < 0.2.
CUT_RELIABLE = 0.3
#: The flow's longest side (0: the frames' own): flow and mask cost a quarter at half size.
FLOW_SIDE = 0


@dataclass(frozen=True)
class Motion:
    """The flow from frame t back to frame t-1 and where it can be trusted.

    ``backward[y, x]`` is where pixel (x, y) of frame t was in frame t-1 (as an offset);
    ``mask`` is 1 where reliable, 0 where not, (H, W) float32."""

    backward: np.ndarray
    mask: np.ndarray

    @property
    def reliable(self) -> float:
        return float(self.mask.mean())

    @property
    def cut(self) -> bool:
        return self.reliable < CUT_RELIABLE


class FlowEstimator:
    """DIS flow at OpenCV's ``MEDIUM`` preset (``FAST`` misses fine texture at 512 px and
    the mask then rejects it), one instance per clip: it keeps no state between pairs."""

    def __init__(self, preset: str = "medium", side: int | None = None) -> None:
        side = FLOW_SIDE if side is None else side
        cv2 = require_cv2()
        presets = {
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
        }
        self._dis = cv2.DISOpticalFlow_create(presets[preset])
        self._cv2 = cv2
        self.side = side  # the flow's longest side (0: the frames' own)

    def grey(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W) uint8 luminance, what DIS reads."""
        if rgb.dtype != np.uint8:
            rgb = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
        return self._cv2.cvtColor(np.ascontiguousarray(rgb), self._cv2.COLOR_RGB2GRAY)

    def flow(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """(H, W, 2) offsets taking each pixel of grey ``source`` to grey ``target``."""
        return self._dis.calc(source, target, None)

    def motion(self, previous: np.ndarray, current: np.ndarray) -> Motion:
        """Between two grey frames (t-1, t): backward flow and its reliability mask (at
        ``side`` px, then scaled back to the frames' size)."""
        cv2 = self._cv2
        height, width = current.shape[:2]
        factor = 1.0 if not self.side else min(1.0, self.side / max(height, width))
        if factor < 1.0:
            size = (max(8, round(width * factor)), max(8, round(height * factor)))
            previous = cv2.resize(previous, size, interpolation=cv2.INTER_AREA)
            current = cv2.resize(current, size, interpolation=cv2.INTER_AREA)
        backward = self.flow(current, previous)
        mask = consistency_mask(backward, self.flow(previous, current))
        if factor < 1.0:
            scale = np.array([width / size[0], height / size[1]], np.float32)
            backward = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
            backward *= scale
            mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
        return Motion(backward, mask)


def _sample(image: np.ndarray, flow: np.ndarray, border: int) -> np.ndarray:
    """``image`` read at each pixel + ``flow`` (bilinear)."""
    cv2 = require_cv2()
    height, width = flow.shape[:2]
    columns, rows = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    grid_x, grid_y = np.meshgrid(columns, rows)
    map_x = (grid_x + flow[..., 0]).astype(np.float32)
    map_y = (grid_y + flow[..., 1]).astype(np.float32)
    return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=border)


def consistency_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Ruder et al.'s reliability, (H, W) float32 in {0, 1}: following the backward flow and
    then the forward flow must come home (``|w + w~|^2 <= 0.01 (|w|^2 + |w~|^2) + 0.5``),
    the pixel must land inside frame t-1, and not sit on a motion boundary
    (``|grad u|^2 + |grad v|^2 <= 0.01 |w|^2 + 0.002``)."""
    cv2 = require_cv2()
    height, width = backward.shape[:2]
    returned = _sample(forward, backward, cv2.BORDER_REPLICATE)
    round_trip = np.sum((backward + returned) ** 2, axis=-1)
    lengths = np.sum(backward**2, axis=-1) + np.sum(returned**2, axis=-1)
    consistent = round_trip <= 0.01 * lengths + 0.5
    gy_u, gx_u = np.gradient(backward[..., 0])
    gy_v, gx_v = np.gradient(backward[..., 1])
    gradient = gx_u**2 + gy_u**2 + gx_v**2 + gy_v**2
    smooth = gradient <= 0.01 * np.sum(backward**2, axis=-1) + 0.002
    grid_x, grid_y = np.meshgrid(np.arange(width), np.arange(height))
    x, y = grid_x + backward[..., 0], grid_y + backward[..., 1]
    inside = (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)
    return (consistent & smooth & inside).astype(np.float32)


def warp(image: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Frame t-1's ``image`` (H, W, C) carried into frame t along the backward flow."""
    cv2 = require_cv2()
    return _sample(np.ascontiguousarray(image), backward, cv2.BORDER_REFLECT)


def temporal_error(previous: np.ndarray, current: np.ndarray, motion: Motion) -> float | None:
    """Mean absolute difference (in [0, 1] units) between styled frame t and styled frame
    t-1 warped by the *input* frames' flow, over the reliable pixels: the flicker measure of
    benchmarks/video.py (``None`` when no pixel is reliable)."""
    if motion.mask.sum() < 1:
        return None
    warped = warp(np.asarray(previous, np.float32), motion.backward)
    diff = np.abs(np.asarray(current, np.float32) - warped).mean(axis=-1)
    return float((diff * motion.mask).sum() / motion.mask.sum())
