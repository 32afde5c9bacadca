"""What a batch plans (:class:`PlannedJob`) and what it did (:class:`BatchResult`): read by
the runner (:mod:`.run`) and the report (:mod:`.report`), so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .inputs import InputFile

if TYPE_CHECKING:  # pragma: no cover
    from ..presets import Preset


@dataclass
class PlannedJob:
    key: str
    source: InputFile
    preset: Preset
    preset_hash: str
    output_rel: PurePosixPath
    output: Path
    input_hash: str | None = None
    error: str | None = None  # known before running (unreadable input)
    skip: bool = False  # finished in an earlier run, input and preset unchanged


@dataclass
class BatchResult:
    planned: list[PlannedJob]
    done: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0  # wall time of this run
    job_seconds: float = 0.0  # sum of the jobs' own times
    executor: str = ""
    report: Path | None = None
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, error)
    interrupted: bool = False

    @property
    def per_minute(self) -> float:
        return 60.0 * self.done / self.seconds if self.seconds > 0 else 0.0
