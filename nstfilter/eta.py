"""Time left in one run, from its :class:`~nstfilter.events.Progress` events.

Counting steps as equal is wrong for a coarse-to-fine run: a step costs about its pixel
count (height x width), so a 512 px step costs ~16x a 128 px one, and at step 120 of 180
an equal-steps ETA said 1:15 where 6 minutes remained. :class:`CostEta` weights every step
by its pixels instead. Events name each step's scale and size but not the sizes still to
come, so the rest of the plan is inferred from what was seen:

* steps per scale: every coarser scale runs the same number (the first scale's, known once
  the second starts), the finest gets the rest of ``total``; until then an even split;
* sizes ahead: the pixel growth between the last two scales seen; until a second scale is
  seen, 4x per scale (the side doubles between scales in every quality mode);
* speed: seconds per pixel-step measured on the current scale (between its own events, so
  the set-up of a new scale does not count), else on the scale before, else overall.

Free of TensorFlow (front-ends import it): the CLI's bar and log lines, the watcher's
periodic log line.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .events import Progress

#: Pixel growth per scale assumed before two scales have been seen (the side doubles).
DEFAULT_GROWTH = 4.0


@dataclass
class _Scale:
    first_step: int
    first_seconds: float
    pixels: int
    last_step: int
    last_seconds: float


class CostEta:
    """Feed it every event of one run (:meth:`update`); it says how many seconds remain."""

    def __init__(self) -> None:
        self._scales: dict[int, _Scale] = {}
        self._last: Progress | None = None
        self._done = 0.0  # pixel-steps done

    def update(self, event: Progress) -> float | None:
        """Record ``event``; the estimated seconds left (``None`` until it can tell)."""
        pixels = event.height * event.width
        seen = self._scales.get(event.scale)
        if seen is None:
            self._scales[event.scale] = _Scale(
                event.step, event.seconds, pixels, event.step, event.seconds
            )
        else:
            seen.last_step, seen.last_seconds = event.step, event.seconds
        previous = self._last.step if self._last is not None else 0
        self._done += max(0, event.step - previous) * pixels
        self._last = event
        return self.remaining()

    def _rate(self) -> float | None:
        """Seconds per pixel-step: the latest scale with two events, else the average."""
        for scale in sorted(self._scales, reverse=True):
            s = self._scales[scale]
            if s.last_step > s.first_step:
                steps = s.last_step - s.first_step
                return (s.last_seconds - s.first_seconds) / (steps * s.pixels)
        if self._last is None or self._done <= 0:
            return None
        return self._last.seconds / self._done

    def _plan(self) -> list[tuple[float, float]]:
        """``(steps, pixels)`` of every scale, as far as the events so far tell."""
        e = self._last
        assert e is not None
        n = max(1, e.scales)
        if n > 1 and 1 in self._scales and 2 in self._scales:
            coarse = float(self._scales[2].first_step - self._scales[1].first_step)
        else:
            coarse = e.total / n
        steps = [coarse] * (n - 1) + [max(0.0, e.total - coarse * (n - 1))]
        current = self._scales[e.scale].pixels
        below = self._scales.get(e.scale - 1)
        growth = current / below.pixels if below is not None and below.pixels else DEFAULT_GROWTH
        pixels = [
            self._scales[k].pixels if k in self._scales else current * growth ** (k - e.scale)
            for k in range(1, n + 1)
        ]
        return list(zip(steps, pixels))

    def remaining_cost(self) -> float:
        """Pixel-steps still to run."""
        e = self._last
        if e is None:
            return 0.0
        plan = self._plan()
        end_of_scale = sum(steps for steps, _ in plan[: e.scale])
        left_here = min(max(0.0, end_of_scale - e.step), max(0, e.total - e.step))
        cost = left_here * e.height * e.width
        return cost + sum(steps * pixels for steps, pixels in plan[e.scale :])

    def remaining(self) -> float | None:
        """Estimated seconds left (``None`` before the first event)."""
        rate = self._rate()
        if self._last is None or rate is None:
            return None
        if self._last.step >= self._last.total:
            return 0.0
        return rate * self.remaining_cost()

    def fraction(self) -> float:
        """The share of the run's pixel-steps done, 0..1."""
        total = self._done + self.remaining_cost()
        return self._done / total if total > 0 else 0.0


def format_seconds(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour on); ``-:--`` when unknown."""
    if seconds is None:
        return "-:--"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class PeriodicLog:
    """A ``callback`` for one job that logs a progress line every ``every`` seconds.

    For long unattended jobs (the drop folder): ``photo.jpg: scale 2/3, step 40/180, ETA
    1:20``. Jobs shorter than ``every`` log nothing, so a busy folder's log stays short.
    """

    def __init__(
        self,
        label: str,
        logger: logging.Logger,
        every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.logger = logger
        self.every = every
        self.clock = clock
        self.eta = CostEta()
        self._next = clock() + every

    def __call__(self, event: Progress) -> None:
        left = self.eta.update(event)
        now = self.clock()
        if now >= self._next and event.step < event.total:
            while self.every > 0 and self._next <= now:  # on the marks, however far apart
                self._next += self.every  # events are
            self.logger.info(
                "%s: scale %d/%d, step %d/%d, ETA %s",
                self.label, event.scale, event.scales, event.step, event.total,
                format_seconds(left),
            )  # fmt: skip
