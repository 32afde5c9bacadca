"""Batch styling (``nstfilter batch``): many photos x presets, resumable, on any executor.

:mod:`.inputs` finds the photos, :mod:`.run` plans and runs the jobs, :mod:`.manifest`
makes a batch resumable, :mod:`.report` and :mod:`.progress` show it.
"""

from __future__ import annotations

from ..errors import BatchFailedError
from .inputs import InputFile, collect_inputs
from .manifest import Manifest
from .run import BatchResult, run_batch

__all__ = [
    "BatchFailedError",
    "BatchResult",
    "InputFile",
    "Manifest",
    "collect_inputs",
    "run_batch",
]
