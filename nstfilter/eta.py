"""Time left in one run, from its :class:`~nstfilter.events.Progress` events.

A step costs about its pixel count (a 512 px step ~16x a 128 px one): counting steps as
equal said 1:15 at step 120 of 180 where 6 minutes remained. :class:`CostEta` infers the
plan from what it has seen: coarser scales run the first scale's steps (the finest gets the
rest), sizes grow as between the last two scales, and a step's seconds, timed per scale
(a new scale's set-up does not count), fit ``fixed + per_pixel * pixels`` (small steps
carry a fixed overhead), or proportional pixels when that fit is implausible (a busy
machine). Before the second of several scales there is no estimate rather than a wrong one.
Free of TensorFlow: the CLI and the watcher import it.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .events import Progress


@dataclass
class _Scale:
    first_step: int
    first_seconds: float
    pixels: int
    last_step: int = 0
    last_seconds: float = 0.0

    def step_seconds(self) -> float | None:
        """Seconds per step at this scale, between its own events (``None``: one event)."""
        if self.last_step <= self.first_step:
            return None
        return (self.last_seconds - self.first_seconds) / (self.last_step - self.first_step)


class CostEta:
    """Feed it every event of one run (:meth:`update`); it says how many seconds remain."""

    def __init__(self) -> None:
        self._scales: dict[int, _Scale] = {}
        self._last: Progress | None = None
        self._done = 0.0  # pixel-steps done

    def update(self, event: Progress) -> float | None:
        """Record ``event``; the estimated seconds left (``None`` until it can tell)."""
        pixels = event.height * event.width
        seen = self._scales.setdefault(event.scale, _Scale(event.step, event.seconds, pixels))
        seen.last_step, seen.last_seconds = event.step, event.seconds
        previous = self._last.step if self._last is not None else 0
        self._done += max(0, event.step - previous) * pixels
        self._last = event
        return self.remaining()

    def _step_cost(self) -> Callable[[float], float] | None:
        """Seconds of one step at a given pixel count, from the scales timed so far."""
        timed = [(s.pixels, s.step_seconds()) for _, s in sorted(self._scales.items())]
        timed = [(p, t) for p, t in timed if t is not None and p > 0]
        if not timed:
            return None
        (p1, t1), (p2, t2) = timed[-2:] if len(timed) > 1 else (timed[-1], timed[-1])
        if p2 > p1 and t2 > t1:
            per_pixel = (t2 - t1) / (p2 - p1)
            fixed = t2 - per_pixel * p2
            # a fixed part that is most of a step means the two timings are noise (a busy
            # machine), not a cost model: then the pixels alone are the safer guess
            if 0 <= fixed <= t2 / 2:
                return lambda pixels: fixed + per_pixel * pixels
        return lambda pixels: t2 * pixels / p2  # proportional to the latest scale's

    def _left(self) -> list[tuple[float, float]] | None:
        """``(steps, pixels)`` still to run: the rest of this scale, then each scale ahead,
        as far as the events so far tell."""
        e = self._last
        if e is None:
            return None
        n = max(1, e.scales)
        if n == 1:
            plan = [(float(e.total), float(e.height * e.width))]
        elif 1 not in self._scales or 2 not in self._scales or e.scale < 2:
            return None  # the sizes and the split show only once the second scale starts
        else:
            coarse = float(self._scales[2].first_step - self._scales[1].first_step)
            steps = [coarse] * (n - 1) + [max(0.0, e.total - coarse * (n - 1))]
            current = self._scales[e.scale].pixels
            below = self._scales.get(e.scale - 1)
            growth = current / below.pixels if below is not None and below.pixels else 1.0
            pixels = [
                self._scales[k].pixels if k in self._scales else current * growth ** (k - e.scale)
                for k in range(1, n + 1)
            ]
            plan = list(zip(steps, pixels))
        end_of_scale = sum(steps for steps, _ in plan[: e.scale])
        here = min(max(0.0, end_of_scale - e.step), max(0, e.total - e.step))
        return [(here, float(e.height * e.width)), *plan[e.scale :]]

    def remaining(self) -> float | None:
        """Estimated seconds left (``None`` while it cannot tell yet)."""
        e = self._last
        if e is not None and e.step >= e.total:
            return 0.0
        left, cost = self._left(), self._step_cost()
        if left is None or cost is None:
            return None
        current = self._scales[e.scale].step_seconds()  # this scale's own pace, when timed
        here_steps, here_pixels = left[0]
        here = here_steps * (current if current is not None else cost(here_pixels))
        return here + sum(steps * cost(pixels) for steps, pixels in left[1:])

    def fraction(self) -> float:
        """The share of the run's pixel-steps done, 0..1 (of steps, until the plan is known)."""
        e, left = self._last, self._left()
        if e is None:
            return 0.0
        if left is None:
            return e.step / e.total if e.total else 0.0
        total = self._done + sum(steps * pixels for steps, pixels in left)
        return self._done / total if total > 0 else 0.0


def format_seconds(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour on); ``-:--`` when unknown."""
    if seconds is None:
        return "-:--"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@dataclass(eq=False)  # a callback: compared and hashed by identity
class PeriodicLog:
    """A job's ``callback`` logging ``photo.jpg: scale 2/3, step 40/180, ETA 1:20`` every
    ``every`` seconds, for long unattended jobs (the drop folder); shorter jobs log nothing,
    so a busy folder's log stays short."""

    label: str
    logger: logging.Logger
    every: float = 30.0
    clock: Callable[[], float] = time.monotonic
    eta: CostEta = field(default_factory=CostEta, init=False)

    def __post_init__(self) -> None:
        self._next = self.clock() + self.every

    def __call__(self, event: Progress) -> None:
        left = self.eta.update(event)
        now = self.clock()
        if now >= self._next and event.step < event.total:
            while self.every > 0 and self._next <= now:  # on the marks, however far apart
                self._next += self.every  # events are
            self.logger.info("%s: %s, ETA %s", self.label, where(event), format_seconds(left))


def where(event: Progress) -> str:
    """``frame 3/40`` of a clip, ``scale 2/3, step 40/180`` of a photo."""
    if event.unit == "frame":
        return f"frame {event.step}/{event.total}"
    return f"scale {event.scale}/{event.scales}, step {event.step}/{event.total}"


def progress_record(event: Progress, left: float | None, **extra: Any) -> dict[str, Any]:
    """``--progress json``'s line for ``event`` (apply, batch and watch alike): the event's
    fields, ``extra`` (batch and watch name the ``input``) and ``eta_seconds``; a loss a
    filter does not have (the fast filter, a clip's frame) is null, not NaN (not JSON)."""
    record = {"event": "progress", **extra, **event.as_dict()}
    record["eta_seconds"] = None if left is None else round(left, 1)
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in record.items()}


@dataclass(eq=False)
class JsonLines:
    """A job's ``callback`` writing :func:`progress_record` lines to standard error (the
    result may be standard output); ``input`` names the job's file, where jobs interleave."""

    input: str | None = None
    eta: CostEta = field(default_factory=CostEta, init=False)

    def __call__(self, event: Progress) -> None:
        extra = {} if self.input is None else {"input": self.input}
        line = json.dumps(progress_record(event, self.eta.update(event), **extra))
        print(line, file=sys.stderr, flush=True)


def job_progress(
    mode: str, logger: logging.Logger, every: float = 30.0
) -> Callable[[Any], Callable[[Progress], None] | None]:
    """``--progress`` of jobs running side by side in this process (batch, watch): a
    :class:`PeriodicLog` (a bar cannot share the terminal), :class:`JsonLines` or nothing,
    made per job from its ``input_name``."""
    if mode == "none":
        return lambda job: None
    if mode == "json":
        return lambda job: JsonLines(job.input_name)
    return lambda job: PeriodicLog(job.input_name, logger, every=every)
