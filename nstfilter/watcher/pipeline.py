"""One file through the filter: the steps a worker takes, each one journalled first.

::

    reserve names -> journal start -> load -> run_filter -> write result (durable)
    -> journal output -> move original to processed/ -> journal done -> job_done hook

A failure anywhere before ``output`` sends the original to ``failed/`` beside an
``.error.txt`` note; a shutdown request leaves it in the inbox (``requeued``). Nothing is
deleted and nothing is overwritten. :meth:`Runner.resume` finishes a job from the journal
(after ``kill -9``, or when a move failed earlier in this run) from the last step it can
prove happened, which is what makes every file end up done exactly once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..durable import move_new, remove_temps, write_atomic
from ..errors import Cancelled, NstError, OutputError, error_line
from ..jobs import JobReport
from ..printable import printable
from .compute import Compute, InProcess
from .folders import Layout, Reservations, same_file
from .journal import Journal, JournalJob
from .names import output_extension, output_name, split_name
from .presetcache import PresetCache

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins

log = logging.getLogger("nstfilter.watch")

DONE, FAILED, REQUEUED, SKIPPED, RETRY = "done", "failed", "requeued", "skipped", "retry"
#: Metrics passed on to job hooks in ``JobReport.details``.
DETAILS = ("filter", "backbone", "worker", "iterations")


@dataclass
class Outcome:
    status: str
    source: Path
    seconds: float = 0.0
    output: Path | None = None
    error: str | None = None


def identity(path: Path) -> list[int] | None:
    """``[size, mtime_ns, inode]``: the same bytes at the same path, as far as a cheap
    check can tell (a file replaced under the same name after a crash is a new job)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def describe(error: BaseException, source: Path | None = None) -> str:
    """A one-line reason: nstfilter errors as they are (without the input's path, which the
    log line and the note already name), anything else with its type."""
    text = error_line(error)
    prefix = f"{source}: "
    if isinstance(error, NstError) and source is not None and text.startswith(prefix):
        return text[len(prefix) :]
    return text


class Runner:
    """Runs jobs for one watcher; safe to call from several worker threads."""

    def __init__(
        self,
        layout: Layout,
        journal: Journal,
        presets: PresetCache,
        plugins: Plugins,
        *,
        max_pixels: int | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        compute: Compute | None = None,
    ) -> None:
        self.layout = layout
        self.journal = journal
        self.presets = presets
        self.plugins = plugins
        self.max_pixels = max_pixels
        self.should_stop = should_stop
        self.compute = compute or InProcess(plugins, max_pixels=max_pixels, should_stop=should_stop)
        self.names = Reservations()
        self._open_lock = threading.Lock()

    # --- the normal path ---------------------------------------------------------------

    def process(self, path: Path) -> Outcome:
        """Take ``path`` (a complete file in the inbox) to done, failed or requeued."""
        started = time.perf_counter()
        ident = identity(path)
        if ident is None:
            return Outcome(SKIPPED, path)
        relative = path.relative_to(self.layout.inbox)
        earlier = self._open_job_for(relative.as_posix(), ident)
        if earlier is not None:  # a move failed earlier in this run: finish it, do not redo
            return self.resume(earlier)
        preset_name = self.presets.name_for(relative.parts)
        # reserve the result's and the original's final names before anything is written
        try:
            fmt = self.presets.get(preset_name).preset.output_format
        except Exception:  # noqa: BLE001 - reported below, when the job fails
            fmt = None
        ext = output_extension(path, fmt)
        out_stem, out_rest = output_name(path, preset_name, ext)
        output = self.names.reserve(self.layout.outbox, out_stem, out_rest)
        processed = self.names.reserve(
            self.layout.processed / relative.parent, *split_name(path.name)
        )
        job_id = self.journal.new_id()
        try:
            self.journal.record(
                "start",
                job_id,
                source=relative.as_posix(),
                preset=preset_name,
                output=str(output),
                processed=str(processed),
                identity=ident,
            )
        except BaseException:  # e.g. disk full: nothing started, the file stays (retried)
            self.names.release(output, processed)
            raise
        log.info("received %s (preset %s)", relative, preset_name)
        try:
            resolved = self.presets.get(preset_name)
            data, metrics = self.compute(path, resolved, ext)
            write_atomic(data, output, overwrite=False)
        except Cancelled as exc:
            remove_temps(output)
            self.names.release(output, processed)
            if self.should_stop():
                self.journal.record("requeued", job_id, reason="shutdown")
                log.info("requeued %s (shutting down; it stays in the inbox)", relative)
                return Outcome(REQUEUED, path)
            return self._fail(job_id, path, relative, preset_name, describe(exc, path), started)
        except Exception as exc:  # noqa: BLE001 - every failure is reported, none is fatal
            remove_temps(output)
            self.names.release(output, processed)
            return self._fail(job_id, path, relative, preset_name, describe(exc, path), started)
        # not fsync'd: recovery also treats a result present at its reserved name as written
        self.journal.record("output", job_id, sync=False)
        self.names.release(output)
        metrics["filter_seconds"] = metrics.pop("seconds", None)  # run_filter's own time
        return self._finish(
            job_id, path, relative, processed, output, preset_name, metrics, started
        )

    def _finish(
        self,
        job_id: str,
        path: Path,
        relative: Path,
        processed: Path,
        output: Path,
        preset: str,
        metrics: dict[str, Any],
        started: float,
    ) -> Outcome:
        try:
            move_new(path, processed)
        except (OutputError, OSError) as exc:
            self.names.release(processed)
            message = (
                f"the original could not be moved to {self.layout.processed} ({exc}), so its "
                f"result {output.name} was removed from the outbox; put the photo back in the "
                "inbox to redo it"
            )
            return self._fail(job_id, path, relative, preset, message, started, discard=output)
        self.names.release(processed)
        seconds = time.perf_counter() - started
        self.journal.record("done", job_id, processed=str(processed))
        log.info("done %s -> %s in %.1f s", relative, output.name, seconds)
        self.plugins.job_done(
            JobReport(
                "watch", job_id, str(path), preset, str(output), round(seconds, 3),
                losses=metrics.get("final") or {},
                details={"processed": str(processed),
                         **{k: metrics[k] for k in DETAILS if k in metrics}},
            )
        )  # fmt: skip
        return Outcome(DONE, path, seconds, output)

    # --- failures ----------------------------------------------------------------------

    def _fail(
        self,
        job_id: str,
        path: Path,
        relative: Path,
        preset: str,
        message: str,
        started: float,
        *,
        discard: Path | None = None,
    ) -> Outcome:
        """The original to failed/ with its note. ``discard``: a result already written, which
        is removed first: a file in failed/ never has a result in the outbox (docs/watch.md),
        so putting it back in the inbox cannot make a second one."""
        stem, suffix = split_name(path.name)
        dest, note = self.names.reserve_group(
            self.layout.failed / relative.parent, stem, [suffix, ".error.txt"]
        )
        extra = {"discard": str(discard)} if discard is not None else {}
        self.journal.record("failing", job_id, error=message, dest=str(dest), note=str(note),
                            **extra)  # fmt: skip
        if discard is not None:
            discard.unlink(missing_ok=True)
        try:
            self._write_note(note, relative, preset, message)
            move_new(path, dest)
        except (OutputError, OSError) as exc:
            self.names.release(dest, note)
            note.unlink(missing_ok=True)
            self.journal.record("requeued", job_id, reason=f"cannot move to failed: {exc}")
            log.error(
                "failed %s: %s; and it cannot be moved to %s (%s): it stays in the inbox "
                "and will be retried",
                relative, message, self.layout.failed, describe(exc),
            )  # fmt: skip
            return Outcome(RETRY, path, time.perf_counter() - started, error=message)
        self.names.release(dest, note)
        self.journal.record("failed", job_id, failed=str(dest))
        log.warning("failed %s: %s", relative, message)
        seconds = round(time.perf_counter() - started, 3)
        self.plugins.job_failed(
            JobReport("watch", job_id, str(path), preset, seconds=seconds, error=message,
                      details={"failed": str(dest)})
        )  # fmt: skip
        return Outcome(FAILED, path, time.perf_counter() - started, error=message)

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

    # --- recovery ----------------------------------------------------------------------

    def _open_job_for(self, source: str, ident: list[int]) -> JournalJob | None:
        for job in self.journal.open_jobs():
            if job.source == source and list(job.identity) == list(ident):
                return job
        return None

    def resume(self, job: JournalJob) -> Outcome:
        """Finish a journalled job from the last step that provably happened."""
        with self._open_lock:
            return self._resume(job)

    def _resume(self, job: JournalJob) -> Outcome:
        source = self.layout.inbox / job.source
        relative = Path(job.source)
        output, processed = Path(job.output), Path(job.processed)
        present = os.path.lexists(source) and identity(source) == list(job.identity)
        if job.failing:
            dest, note = Path(job.data["dest"]), Path(job.data["note"])
            message = job.data.get("error", "unknown error")
            if job.data.get("discard"):  # killed between the "failing" record and the removal
                Path(job.data["discard"]).unlink(missing_ok=True)
            if present:
                try:
                    self._write_note(note, relative, job.preset, message)
                    if os.path.lexists(dest) and same_file(source, dest):
                        source.unlink()
                    else:
                        move_new(source, dest)
                except (OutputError, OSError) as exc:
                    log.error("cannot finish moving %s to failed/: %s", relative, describe(exc))
                    return Outcome(RETRY, source, error=message)
            self.journal.record("failed", job.id, failed=str(dest), recovered=True)
            log.warning("failed %s: %s (finished after a restart)", relative, message)
            return Outcome(FAILED, source, error=message)
        written = job.output_written or (output.is_file() and not output.is_symlink())
        if not written:
            removed = remove_temps(output)
            self.journal.record("requeued", job.id, reason="interrupted", temps=removed)
            if present:
                log.info("requeued %s (interrupted before its result was written)", relative)
            return Outcome(REQUEUED, source)
        if present:
            try:
                if os.path.lexists(processed):  # killed between link and unlink
                    source.unlink()
                else:
                    move_new(source, processed)
            except (OutputError, OSError) as exc:
                log.error("cannot move %s to processed/: %s", relative, describe(exc))
                return Outcome(RETRY, source, error=describe(exc))
        elif not os.path.lexists(processed):
            log.warning(
                "%s: its result %s exists but the original is gone from the inbox",
                relative, output.name,
            )  # fmt: skip
        self.journal.record("done", job.id, processed=str(processed), recovered=True)
        log.info("done %s -> %s (finished after a restart)", relative, output.name)
        return Outcome(DONE, source, output=output)
