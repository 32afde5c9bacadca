"""Optical flow between input frames and what it is trusted with.

DIS (Kroeger et al. 2016, OpenCV's ``DISOpticalFlow``) runs in milliseconds on a CPU where
the peers' DeepFlow took minutes per frame. The flow is computed both ways; a pixel is
*reliable* when the two agree (Ruder et al. 2016, eq. 7: occluded and disoccluded pixels
fail it) and it is not on a motion boundary (eq. 8). The previous styled frame is warped
along the backward flow; unreliable pixels are styled afresh. A cut makes most pixels
unreliable at once, which is how cuts are found: the chain restarts there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from . import require_cv2

#: A frame whose reliable share falls below this follows a cut (or motion too fast to
#: follow): its chain restarts. Panning and zooming keep > 0.8; a cut gives < 0.2.
CUT_RELIABLE = 0.3
#: The flow runs at this share of the frames' size, but never below FLOW_SIDE px. Both
#: flows and the mask for a 512 px frame: 28 ms at full size (40-100 ms before the mask was
#: vectorised, more than a third of the fast network's time), 11 ms at 320 px, 8 ms at
#: 256. Measured on the benchmark clip's moving square (3 px a frame, always trusted by
#: the mask): its flow was off by 0.02 px at full size, 0.11 at 320 and 0.35 (up to 0.6) at
#: 256, where the blended square smeared along its motion. At a third of the size DIS lost
#: a 24 px square altogether (flow 0.1 px for 3) and the mask still trusted it.
FLOW_SCALE = 0.625
FLOW_SIDE = 320


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
        cv2 = require_cv2()
        presets = {
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
            "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
        }
        self._dis = cv2.DISOpticalFlow_create(presets[preset])
        self._cv2 = cv2
        self.side = side  # the flow's longest side (0: the frames' own; None: flow_side's)

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
        ``side`` px, then scaled back to the frames' size). The mask is scaled back
        conservatively: a pixel is reliable only when every flow pixel it reads from is, so
        the unreliable band round a moving object never shrinks (a half-trusted pixel
        there would carry a faint ghost of the object's last position)."""
        cv2 = self._cv2
        height, width = current.shape[:2]
        side = flow_side(max(height, width)) if self.side is None else self.side
        factor = 1.0 if not side else min(1.0, side / max(height, width))
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
            mask = (mask >= 1.0 - 1e-3).astype(np.float32)
        return Motion(backward, mask)


def flow_side(longest: int) -> int:
    """The flow's longest side for frames ``longest`` px long: FLOW_SCALE of it, at least
    FLOW_SIDE (and never more than the frames')."""
    return min(longest, max(FLOW_SIDE, round(longest * FLOW_SCALE)))


@functools.lru_cache(maxsize=4)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's own (x, y), float32: the base every flow offset is added to (kept per
    size, read-only: a clip asks for the same one every frame)."""
    columns, rows = np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32)
    grid_x, grid_y = np.meshgrid(columns, rows)
    grid_x.flags.writeable = grid_y.flags.writeable = False
    return grid_x, grid_y


def _sample(image: np.ndarray, flow: np.ndarray, border: int, cubic: bool = False) -> np.ndarray:
    """``image`` read at each pixel + ``flow`` (bilinear, or bicubic)."""
    cv2 = require_cv2()
    grid_x, grid_y = _grid(*flow.shape[:2])
    u, v = cv2.split(np.asarray(flow, np.float32))
    method = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    return cv2.remap(image, grid_x + u, grid_y + v, method, borderMode=border)


def consistency_mask(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Ruder et al.'s reliability, (H, W) float32 in {0, 1}: following the backward flow and
    then the forward flow must come home (``|w + w~|^2 <= 0.01 (|w|^2 + |w~|^2) + 0.5``),
    the pixel must land inside frame t-1, and not sit on a motion boundary
    (``|grad u|^2 + |grad v|^2 <= 0.01 |w|^2 + 0.002``, central differences).

    Written on planes with OpenCV's remap and Sobel: NumPy's ``gradient`` and sums over the
    last axis made this mask cost more than both flows (50-90 ms at 512 px, now ~15)."""
    cv2 = require_cv2()
    height, width = backward.shape[:2]
    grid_x, grid_y = _grid(height, width)
    u, v = cv2.split(np.asarray(backward, np.float32))
    map_x, map_y = grid_x + u, grid_y + v
    returned = cv2.remap(
        np.asarray(forward, np.float32), map_x, map_y, cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    back_u, back_v = cv2.split(returned)
    trip_u, trip_v = u + back_u, v + back_v
    length = u * u + v * v
    consistent = trip_u * trip_u + trip_v * trip_v <= (
        0.01 * (length + back_u * back_u + back_v * back_v) + 0.5
    )
    gradient = np.zeros_like(u)
    for plane in (u, v):
        for dx, dy in ((1, 0), (0, 1)):
            slope = cv2.Sobel(plane, cv2.CV_32F, dx, dy, ksize=1, scale=0.5,
                              borderType=cv2.BORDER_REPLICATE)  # fmt: skip
            gradient += slope * slope
    smooth = gradient <= 0.01 * length + 0.002
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    return (consistent & smooth & inside).astype(np.float32)


def warp(image: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Frame t-1's ``image`` (H, W, C) carried into frame t along the backward flow,
    bicubic: the chain resamples each pixel again every frame, and bilinear's blur builds
    up (on the fast path's 512 px test clip the frames kept 0.42 of the independent
    frames' Laplacian energy with bilinear, 0.53 with bicubic; values may overshoot
    [0, 1] a little, the blend clips)."""
    cv2 = require_cv2()
    return _sample(np.ascontiguousarray(image), backward, cv2.BORDER_REFLECT, cubic=True)


def temporal_error(previous: np.ndarray, current: np.ndarray, motion: Motion) -> float | None:
    """Mean absolute difference (in [0, 1] units) between styled frame t and styled frame
    t-1 warped by the *input* frames' flow, over the reliable pixels: the flicker measure of
    benchmarks/video.py (``None`` when no pixel is reliable)."""
    if motion.mask.sum() < 1:
        return None
    warped = warp(np.asarray(previous, np.float32), motion.backward)
    diff = np.abs(np.asarray(current, np.float32) - warped).mean(axis=-1)
    return float((diff * motion.mask).sum() / motion.mask.sum())
