"""An example single-file plugin: log how long each scale of the pyramid took.

Drop this file into a folder and point nstfilter at it::

    nstfilter --plugins-dir plugins/examples apply photo.jpg --preset preview -o out.png
    NSTFILTER_PLUGINS_DIR=plugins/examples nstfilter plugins list

The plugin's name is the file's stem (``scale_timer``), which is also what
``NSTFILTER_DISABLE_PLUGINS=scale_timer`` blocks. Module-level ``@hookimpl`` functions are
the hooks.
"""

from __future__ import annotations

import logging

from nstfilter import hookimpl

log = logging.getLogger("nstfilter.scale_timer")
_state = {"scale": 0, "started": 0.0, "seconds": 0.0, "size": ""}


def _finish_scale() -> None:
    log.info(
        "scale_timer: scale %d (%s) took %.2f s",
        _state["scale"], _state["size"], _state["seconds"] - _state["started"],
    )  # fmt: skip


@hookimpl
def nstfilter_progress(event) -> None:
    """Fires once per optimisation step; a new scale number means the last one finished."""
    if event.scale != _state["scale"]:
        if _state["scale"] and event.scale > _state["scale"]:
            _finish_scale()
        _state["started"] = _state["seconds"] if event.scale > _state["scale"] else 0.0
        _state["scale"] = event.scale
    _state["seconds"] = event.seconds
    _state["size"] = f"{event.width}x{event.height}"
    if event.step == event.total:
        _finish_scale()
        _state["scale"] = 0


@hookimpl
def nstfilter_job_done(job) -> None:
    """Fires after a watcher or batch job (``job`` is a ``nstfilter.jobspec.JobReport``)."""
    log.info("scale_timer: %s took %s s", job.input, job.seconds)
