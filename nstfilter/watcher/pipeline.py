"""One file through the filter, each step journalled first::

    reserve names -> journal start -> load -> run_filter -> write result (durable)
    -> journal output -> move original to processed/ -> journal done -> job_done hook

A failure before ``output`` sends the original to ``failed/`` beside an ``.error.txt``
note; a shutdown leaves it in the inbox (``requeued``); nothing is deleted or overwritten.
:meth:`Runner.resume` finishes a job from the last step the journal proves (after
``kill -9``, or a move that failed earlier in this run): every file ends up done once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..durable import append_line, move_new, remove_temps, write_atomic
from ..errors import Cancelled, OutputError, error_line
from ..jobspec import JobReport, result_ext
from ..printable import printable
from .compute import Compute
from .folders import Layout, Reservations
from .journal import Journal, JournalJob
from .names import file_state
from .presetcache import PresetCache

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins

log = logging.getLogger("nstfilter.watch")

#: What became of a file (the watcher counts them): "retry" keeps it in the inbox for later.
DONE, FAILED, REQUEUED, SKIPPED, RETRY = "done", "failed", "requeued", "skipped", "retry"
#: Metrics passed on to job hooks in ``JobReport.details``.
DETAILS = ("filter", "backbone", "worker", "iterations")


@dataclass
class _Job:
    id: str
    source: Path  # in the inbox
    relative: Path  # below the inbox
    preset: str
    started: float  # perf_counter()


def describe(error: BaseException, source: Path | None = None) -> str:
    """A one-line reason (:func:`~nstfilter.errors.error_line`) without the input's path,
    which the log line and the note already name."""
    text = error_line(error)
    return text if source is None else text.removeprefix(f"{source}: ")


@dataclass(eq=False)
class Runner:
    """Runs jobs for one watcher; safe to call from several worker threads."""

    layout: Layout
    journal: Journal
    presets: PresetCache
    plugins: Plugins
    compute: Compute
    should_stop: Callable[[], bool]
    names: Reservations = field(default_factory=Reservations)
    metrics: Path | None = None  # --metrics: one JSON line per finished job
    _open_lock: threading.Lock = field(default_factory=threading.Lock)

    def process(self, path: Path) -> str:
        """Take ``path`` (a complete file in the inbox) to done, failed or requeued."""
        started = time.perf_counter()
        ident = file_state(path)
        if ident is None:
            return SKIPPED
        relative = path.relative_to(self.layout.inbox)
        source = relative.as_posix()
        for earlier in self.journal.open_jobs():
            if earlier.data["source"] == source and earlier.data.get("identity") == ident:
                return self.resume(earlier)  # a move failed earlier in this run: finish it
        preset = self.presets.name_for(relative.parts)
        job = _Job(uuid.uuid4().hex[:12], path, relative, preset, started)
        # reserve the result's and the original's final names before anything is written
        try:
            fmt = self.presets.get(preset).preset.output_format
        except Exception:  # noqa: BLE001 - reported below, when the job fails
            fmt = None
        ext = result_ext(path, fmt)
        # <name>.<preset>.<ext>, a clash number going after <name> (see names.numbered)
        [output] = self.names.reserve(self.layout.outbox, path.stem, f".{preset}{ext}")
        [processed] = self.names.reserve(
            self.layout.processed / relative.parent, path.stem, path.suffix
        )
        try:
            self.journal.record(
                "start", job.id, source=source, preset=preset,
                output=str(output), processed=str(processed), identity=ident,
            )  # fmt: skip
        except BaseException:  # e.g. disk full: nothing started, the file stays (retried)
            self.names.release(output, processed)
            raise
        log.info("received %s (preset %s)", relative, preset)
        try:
            data, metrics = self.compute(path, self.presets.get(preset), output)
            if data is not None:  # None: the job wrote it (a clip, encoded in place)
                write_atomic(data, output, overwrite=False)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal
            remove_temps(output)
            self.names.release(output, processed)
            if isinstance(exc, Cancelled) and self.should_stop():
                self.journal.record("requeued", job.id, reason="shutdown")
                log.info("requeued %s (shutting down; it stays in the inbox)", relative)
                return REQUEUED
            return self._fail(job, describe(exc, path))
        # not fsync'd: recovery also treats a result present at its reserved name as written
        self.journal.record("output", job.id, sync=False)
        self.names.release(output)
        return self._finish(job, processed, output, metrics)

    def _finish(self, job: _Job, processed: Path, output: Path, metrics: dict[str, Any]) -> str:
        try:
            move_new(job.source, processed)
        except (OutputError, OSError) as exc:
            message = (
                f"the original could not be moved to {self.layout.processed} ({exc}), so its "
                f"result {output.name} was removed from the outbox; put the photo back in the "
                "inbox to redo it"
            )
            return self._fail(job, message, discard=output)
        finally:
            self.names.release(processed)
        seconds = time.perf_counter() - job.started
        self.journal.record("done", job.id, processed=str(processed))
        log.info("done %s -> %s in %.1f s", job.relative, output.name, seconds)
        if self.metrics is not None:
            record = {"id": job.id, "input": str(job.source), "output": str(output),
                      "preset": job.preset, **metrics}  # fmt: skip
            append_line(self.metrics, record, sync=False)
        self.plugins.job_done(
            JobReport(
                "watch", job.id, str(job.source), job.preset, str(output), round(seconds, 3),
                losses=metrics.get("final") or {},
                details={"processed": str(processed), "filter_seconds": metrics.get("seconds"),
                         **{k: metrics[k] for k in DETAILS if k in metrics}},
            )
        )  # fmt: skip
        return DONE

    def _fail(self, job: _Job, message: str, *, discard: Path | None = None) -> str:
        """The original to failed/ with its note. ``discard``: a result already written, which
        is removed first: a file in failed/ never has a result in the outbox (docs/watch.md),
        so putting it back in the inbox cannot make a second one."""
        folder = self.layout.failed / job.relative.parent
        dest, note = self.names.reserve(folder, job.source.stem, job.source.suffix, ".error.txt")
        extra = {"discard": str(discard)} if discard is not None else {}
        self.journal.record("failing", job.id, error=message, dest=str(dest), note=str(note),
                            **extra)  # fmt: skip
        if discard is not None:
            discard.unlink(missing_ok=True)
        try:
            self._write_note(note, job.relative, job.preset, message)
            move_new(job.source, dest)
        except (OutputError, OSError) as exc:
            note.unlink(missing_ok=True)
            self.journal.record("requeued", job.id, reason=f"cannot move to failed: {exc}")
            log.error(
                "failed %s: %s; and it cannot be moved to %s (%s): it stays in the inbox "
                "and will be retried",
                job.relative, message, self.layout.failed, describe(exc),
            )  # fmt: skip
            return RETRY
        finally:
            self.names.release(dest, note)
        self.journal.record("failed", job.id, failed=str(dest))
        log.warning("failed %s: %s", job.relative, message)
        seconds = time.perf_counter() - job.started
        self.plugins.job_failed(
            JobReport("watch", job.id, str(job.source), job.preset, seconds=round(seconds, 3),
                      error=message, details={"failed": str(dest)})
        )  # fmt: skip
        return FAILED

    def _write_note(self, note: Path, relative: Path, preset: str, message: str) -> None:
        if note.exists():
            return
        text = (
            f"file:    {printable(relative.name)}\n"  # a name may hold a newline (a forged field)
            f"from:    {printable(self.layout.inbox / relative)}\n"
            f"preset:  {preset}\n"
            f"time:    {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
            f"error:   {message}\n"
        )
        write_atomic(text.encode("utf-8"), note, overwrite=False)

    def resume(self, job: JournalJob) -> str:
        """Finish a journalled job from the last step that provably happened."""
        with self._open_lock:
            return self._resume(job)

    def _resume(self, job: JournalJob) -> str:
        data = job.data
        relative = Path(data["source"])
        source = self.layout.inbox / relative
        output, processed = Path(data["output"]), Path(data["processed"])
        present = file_state(source) == data.get("identity", [])
        if "failing" in job.steps:
            dest, message = Path(data["dest"]), data.get("error", "unknown error")
            if data.get("discard"):  # killed between the "failing" record and the removal
                Path(data["discard"]).unlink(missing_ok=True)
            try:
                linked = os.path.samefile(source, dest)  # killed between link and unlink
            except OSError:
                linked = False
        elif "output" in job.steps or (output.is_file() and not output.is_symlink()):
            dest, message = processed, None
            linked = os.path.lexists(processed)  # killed between link (or copy) and unlink
        else:
            removed = remove_temps(output)
            self.journal.record("requeued", job.id, reason="interrupted", temps=removed)
            if present:
                log.info("requeued %s (interrupted before its result was written)", relative)
            return REQUEUED
        if present:
            try:
                if message is not None:
                    self._write_note(Path(data["note"]), relative, data["preset"], message)
                if linked:
                    source.unlink()
                else:
                    move_new(source, dest)
            except (OutputError, OSError) as exc:
                log.error("cannot finish moving %s to %s: %s", relative, dest.parent, describe(exc))
                return RETRY
        elif message is None and not linked:
            log.warning(
                "%s: its result %s exists but the original is gone from the inbox",
                relative, output.name,
            )  # fmt: skip
        if message is not None:
            self.journal.record("failed", job.id, failed=str(dest), recovered=True)
            log.warning("failed %s: %s (finished after a restart)", relative, message)
            return FAILED
        self.journal.record("done", job.id, processed=str(processed), recovered=True)
        log.info("done %s -> %s (finished after a restart)", relative, output.name)
        return DONE
