"""A fast stand-in for the neural engine, for testing the plumbing around it.

Registers a filter named ``stub`` that does a cheap, deterministic, visible change (the
photo posterised and tinted towards the mean colour of the style images), honouring
``params.size`` and emitting progress events. Load it with
``NSTFILTER_PLUGINS_DIR=tests/plugins`` and select it with ``filter = "stub"`` in a preset
or ``StyleParams(filter="stub")``. ``NSTFILTER_STUB_DELAY`` (seconds) makes each job slow,
so tests can kill a process mid-job; ``NSTFILTER_STUB_FAIL`` makes every job raise.
"""

from __future__ import annotations

import os
import time

import numpy as np
from PIL import Image, ImageOps

from nstfilter import hookimpl
from nstfilter.events import Progress
from nstfilter.filters import FilterOutput


class StubFilter:
    def apply(self, content, styles, params, progress, should_stop=None, on_snapshot=None,
              snapshot_every=0):  # fmt: skip
        delay = float(os.environ.get("NSTFILTER_STUB_DELAY", "0"))
        if os.environ.get("NSTFILTER_STUB_FAIL"):
            raise RuntimeError("stub engine asked to fail")
        steps = 4
        for step in range(1, steps + 1):
            if delay:
                time.sleep(delay / steps)
            if should_stop is not None and should_stop():
                from nstfilter.errors import Cancelled

                raise Cancelled("cancelled")
            event = Progress(step, steps, 1, 1, content.size[1], content.size[0],
                             float(steps - step), 0.0, float(steps - step), 0.0, 0.0)  # fmt: skip
            progress(event)
            if on_snapshot is not None and step % snapshot_every == 0:
                on_snapshot(np.asarray(content.convert("RGB"), np.float32) / 255.0, event)
        tint = np.mean(
            [np.asarray(s.convert("RGB"), np.float32).mean((0, 1)) for s, _ in styles], 0
        )
        poster = np.asarray(ImageOps.posterize(content.convert("RGB"), 3), np.float32)
        mixed = np.clip(0.6 * poster + 0.4 * tint, 0, 255).astype(np.uint8)
        return FilterOutput(
            Image.fromarray(mixed, "RGB"), {"backbone": "stub", "iterations": steps}
        )


@hookimpl
def nstfilter_register_filters(register):
    register("stub", StubFilter())
