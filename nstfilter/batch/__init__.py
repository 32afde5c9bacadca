"""Batch styling: many photos x one or more presets, resumable, on any executor.

- :mod:`.inputs` turns files, folders and ``@list.txt`` into inputs with relative paths
  (the output folder mirrors the input tree);
- :mod:`.manifest` is the append-only record that makes a batch resumable;
- :mod:`.run` plans jobs, skips finished ones, runs the rest on an executor
  (:mod:`nstfilter.executors`) and writes results;
- :mod:`.report` writes ``report.html`` and prints the summary table;
- :mod:`.progress` is the progress bar over jobs.

The command is ``nstfilter batch`` (:mod:`nstfilter.cli.batch`).
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
