"""Planning and running a batch: inputs x presets -> jobs -> executor -> files + manifest.

The client (this process) does all the file work: it hashes inputs, skips the jobs the
manifest has, reads each photo into a :class:`~nstfilter.jobs.Job` for an executor and
writes each result atomically *before* recording it in the manifest; workers only ever see
bytes. A failing job is recorded and the batch goes on.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..builtins import joblog
from ..durable import append_line, write_atomic
from ..errors import OutputError
from ..imageio import format_for
from ..jobspec import (
    Job,
    JobOutcome,
    JobReport,
    file_sha256,
    read_styles,
    result_ext,
    result_name,
    sha256,
)
from ..safepaths import check_plan
from ..video import is_clip, work_folder
from .inputs import InputFile
from .manifest import DONE, FAILED, Manifest
from .meter import BatchProgress
from .report import REPORT_FILES, REPORT_NAME, make_thumbnail, write_report
from .results import BatchResult, PlannedJob

if TYPE_CHECKING:  # pragma: no cover
    from ..executors import Executor
    from ..plugins import Plugins
    from ..presets import Preset

log = logging.getLogger("nstfilter.batch")


def _read_hash(path: Path) -> tuple[str | None, str | None]:
    try:
        return file_sha256(path), None
    except FileNotFoundError:
        return None, f"{path}: no such file"
    except IsADirectoryError:
        return None, f"{path}: is a folder, not an image"
    except OSError as exc:
        return None, f"{path}: cannot read: {exc.strerror or exc}"


def plan_batch(
    inputs: Sequence[InputFile],
    presets: Sequence[Preset],
    outdir: Path,
    manifest: Manifest,
    *,
    force: bool = False,
    metrics: str | None = None,
) -> list[PlannedJob]:
    """One job per input and preset; marks those an earlier run already finished. The
    output plan (results, a clip's ``.parts/`` work folder, manifest, report, ``--metrics``)
    is checked before any job: nothing written can land on an input or on another output."""
    planned: list[PlannedJob] = []
    read_hash = functools.cache(_read_hash)  # each photo once, whatever the presets
    for preset in presets:
        preset_hash = preset.digest()
        format_for(f"x{preset.output_ext}")  # --format checked before any job
        for source in inputs:
            # a/b.jpg with preset starry is a/b.starry.png (a long b shortened); a clip
            # keeps its type (a/c.mp4 -> a/c.starry.mp4)
            ext = result_ext(source.path, preset.output_format)
            rel = source.relative.parent / result_name(source.relative.stem, preset.name, ext)
            output = outdir / rel
            key = f"{source.relative.as_posix()}::{preset.name}"
            input_hash, error = read_hash(source.path)
            job = PlannedJob(key, source, preset, preset_hash, rel, output, input_hash, error)
            job.skip = (
                not force
                and input_hash is not None
                and manifest.is_done(key, input_hash, preset_hash, output)
            )
            planned.append(job)
    clips = [p for p in planned if is_clip(p.source.path)]
    check_plan(  # no output over an input or another output, folders writable: before any job
        [*((f"result of {p.key}", p.output) for p in planned), ("manifest", manifest.path),
         ("report", outdir / REPORT_NAME),
         *((f"work folder of {p.key}", work_folder(p.output)) for p in clips),
         *([("metrics", metrics)] if metrics else [])],
        [*(("photo", f.path) for f in inputs),
         *((f"style image of {p.name}", s) for p in presets for s, _ in p.styles),
         *((f"preset {p.name}", f) for p in presets for f in p.files)],
    )  # fmt: skip
    return planned


def _jobs(
    todo: Sequence[PlannedJob], max_pixels: int | None, device: str = "auto",
    in_process: bool = False,
) -> Iterator[Job]:  # fmt: skip
    """Each planned job as a :class:`Job`: a photo as bytes; a clip, when the jobs run in this
    process, by path and encoded straight into its result (never whole in memory), else as
    bytes for the worker."""
    styles: dict[str, tuple[tuple[bytes, float], ...]] = {}  # read once per preset
    for planned in todo:  # the key is planned.key: input_rel::preset
        preset = planned.preset
        if preset.name not in styles:
            styles[preset.name] = read_styles(preset.styles)
        here = in_process and is_clip(planned.source.path)
        job = Job.from_files(
            planned.source.path, preset=preset, max_pixels=max_pixels,
            input_name=planned.source.relative.as_posix(), styles=styles[preset.name],
            output_ext=planned.output.suffix, device=device, by_path=here,
            target=str(planned.output) if here else None,
        )  # fmt: skip
        if not here:
            planned.input_hash = sha256(job.image)  # what was actually styled
        yield job


@dataclass
class _Recorder:
    """Writes outcomes: output file, thumbnails, manifest record, plugin hooks."""

    outdir: Path
    manifest: Manifest
    result: BatchResult
    plugins: Plugins
    bar: BatchProgress
    metrics: str | None = None  # --metrics: one JSON line per job

    def __call__(self, planned: PlannedJob, outcome: JobOutcome, image: bytes | None) -> None:
        ok, error = outcome.ok, outcome.error
        if ok and outcome.output is not None:  # None: a clip the job encoded in place
            try:
                write_atomic(outcome.output, planned.output)
            except OutputError as exc:
                ok, error = False, str(exc)
        thumbs = self._thumbnails(planned, image, outcome.output if ok else None)
        final = dict(outcome.metrics.get("final") or {})
        record: dict[str, Any] = {
            "key": planned.key,
            "input": str(planned.source.path),
            "input_rel": planned.source.relative.as_posix(),
            "input_hash": planned.input_hash,
            "preset": planned.preset.name,
            "preset_hash": planned.preset_hash,
            "output": planned.output_rel.as_posix(),
            "status": DONE if ok else FAILED,
            "seconds": outcome.seconds,
            "error": None if ok else error,
            "final": final or None,
            "backbone": outcome.metrics.get("backbone"),
            "worker": outcome.worker,
            **thumbs,
        }
        self.manifest.append(record)
        if self.metrics and ok:
            append_line(Path(self.metrics), {**record, **outcome.metrics}, sync=False)
        report = JobReport(
            "batch", planned.key, record["input"], record["preset"],
            output=str(planned.output) if ok else None, seconds=outcome.seconds,
            losses=final, error=None if ok else error or "failed",
            details={"filter": outcome.metrics.get("filter"), "backbone": record["backbone"],
                     "worker": outcome.worker},
        )  # fmt: skip
        if ok:
            self.result.done += 1
            self.result.job_seconds += outcome.seconds
            self.plugins.job_done(report)
        else:
            self.result.failed += 1
            self.result.failures.append((planned.key, error or "failed"))
            self.plugins.job_failed(report)
        self.bar.advance(planned.key, ok, outcome.seconds, error)

    def _thumbnails(
        self, planned: PlannedJob, image: bytes | None, output: bytes | None
    ) -> dict[str, str]:
        folder = self.outdir / REPORT_FILES
        thumbs: dict[str, str] = {}
        if image and planned.input_hash:
            name = f"in-{planned.input_hash[:20]}.jpg"
            if (folder / name).is_file() or make_thumbnail(image, folder / name):
                thumbs["thumb_in"] = f"{REPORT_FILES}/{name}"
        if output:
            name = f"out-{sha256(planned.key.encode())[:20]}.jpg"
            if make_thumbnail(output, folder / name):
                thumbs["thumb_out"] = f"{REPORT_FILES}/{name}"
        return thumbs


def run_batch(
    inputs: Sequence[InputFile],
    presets: Sequence[Preset],
    outdir: str | Path,
    executor_factory: Callable[[], Executor],
    *,
    plugins: Plugins,
    force: bool = False,
    progress: str = "auto",
    max_pixels: int | None = None,
    metrics: str | None = None,
    device: str = "auto",
    in_process: bool = False,
) -> BatchResult:
    """Run every job not already finished; never raises for a failed job. Job hooks fire on
    the front-end's ``plugins`` (workers style with their own), plus ``$NSTFILTER_JOB_LOG``.
    ``in_process``: the executor runs jobs in this process (threads), so a clip is streamed
    from its file into its result."""
    outdir = Path(outdir)
    start = time.perf_counter()
    manifest = Manifest(outdir)  # holds the output folder's lock until closed
    try:
        planned = plan_batch(inputs, presets, outdir, manifest, force=force, metrics=metrics)
    except BaseException:
        manifest.close()
        raise
    result = BatchResult(planned, skipped=sum(p.skip for p in planned))
    todo = [p for p in planned if not p.skip]
    bar = BatchProgress(len(planned), mode=progress, skipped=result.skipped)
    recorder = _Recorder(outdir, manifest, result, plugins, bar, metrics)
    try:
        with joblog.logging_jobs(plugins, "batch"):
            if todo:
                manifest.start_run(
                    jobs=len(planned), todo=len(todo), force=force,
                    metrics=str(Path(metrics).resolve()) if metrics else None,
                )  # fmt: skip
            for unreadable in (p for p in todo if p.error):
                recorder(
                    unreadable, JobOutcome(unreadable.key, False, error=unreadable.error), None
                )
            by_key = {p.key: p for p in todo if not p.error}
            if by_key:
                with bar, executor_factory() as executor:
                    result.executor = executor.description
                    log.info("%d jobs (%d already done) on %s", len(by_key), result.skipped,
                             executor.description)  # fmt: skip
                    for job, outcome in executor.map_unordered(
                        _jobs([*by_key.values()], max_pixels, device, in_process)
                    ):
                        recorder(by_key[job.key], outcome, job.image)
    except KeyboardInterrupt:
        result.interrupted = True
        raise
    finally:
        manifest.close()
        result.seconds = time.perf_counter() - start
        result.report = write_report(outdir, planned, manifest, result)
    return result
