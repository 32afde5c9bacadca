"""The batch report: ``OUTDIR/report.html`` and the summary table printed at the end.

The HTML lists every job of the batch (finished now or in an earlier run), failures first
with their one-line errors; thumbnails are small JPEGs in ``OUTDIR/report_files/``, so it
opens instantly for thousands of jobs and stays valid when the folder is moved.
"""

from __future__ import annotations

import html
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..durable import write_atomic
from ..printable import printable
from .manifest import DONE, Manifest, inside

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from .results import BatchResult, PlannedJob

REPORT_NAME = "report.html"
REPORT_FILES = "report_files"
THUMB_SIZE = 160


def make_thumbnail(data: bytes, dest: Path) -> bool:
    """A small JPEG of an encoded image; ``False`` when it cannot be decoded."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))
            image = ImageOps.exif_transpose(image) or image
            image = image.convert("RGB")
            image.thumbnail((THUMB_SIZE, THUMB_SIZE))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=80)
    except Exception:  # noqa: BLE001 - a corrupt photo has no thumbnail, that is all
        return False
    write_atomic(buffer.getvalue(), dest)
    return True


def _losses(final: dict[str, Any] | None) -> str:
    return ", ".join(f"{k} {v:.4g}" for k, v in (final or {}).items() if isinstance(v, float | int))


def _link(rel: str) -> str:
    """A path as an attribute value: a relative ``./`` URL, every special character
    percent-encoded, as names are not trusted: ``javascript:x.jpg`` stays a file name (not
    a scheme), and ``#``, ``?``, ``"`` or ``<`` cannot end the path or the attribute."""
    return html.escape("./" + quote(rel.replace(os.sep, "/").lstrip("/")), quote=True)


def _img(outdir: Path, rel: str | None, alt: str) -> str:
    rel = inside(outdir, rel)  # a record's path is data: only files of the output folder
    if not rel or not (outdir / rel).is_file():
        return '<span class="none">&mdash;</span>'
    return f'<img src="{_link(rel)}" alt="{html.escape(alt)}" loading="lazy">'


#: The report needs no script at all, so it allows none (nor forms, frames or plugins):
#: even a name that slipped past the escaping could not run anything.
CSP = (
    "default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)


STYLE = """
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; }
td, th { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; }
img { max-width: 160px; max-height: 160px; display: block; }
.failed td { background: #fff0f0; }
.error { color: #a00; font-family: monospace; }
.none { color: #aaa; }
"""


def write_report(
    outdir: Path, planned: Sequence[PlannedJob], manifest: Manifest, result: BatchResult
) -> Path:
    """Write ``report.html`` for the jobs of this batch from the manifest's records."""
    records = [(p, r) for p in planned if (r := manifest.records.get(p.key)) is not None]
    failed = [(p, r) for p, r in records if r.get("status") != DONE]
    done = [(p, r) for p, r in records if r.get("status") == DONE]
    rows_failed = "\n".join(
        f'<tr class="failed"><td>{html.escape(r.get("input_rel") or r["input"])}</td>'
        f"<td>{html.escape(p.preset.name)}</td>"
        f"<td>{_img(outdir, r.get('thumb_in'), 'photo')}</td>"
        f'<td class="error">{html.escape(r.get("error") or "failed")}</td></tr>'
        for p, r in failed
    )
    rows_done = "\n".join(
        f"<tr><td>{html.escape(r.get('input_rel') or r['input'])}</td>"
        f"<td>{html.escape(p.preset.name)}</td>"
        f"<td>{_img(outdir, r.get('thumb_in'), 'photo')}</td><td>&rarr;</td>"
        f'<td><a href="{_link(p.output_rel.as_posix())}">'
        f"{_img(outdir, r.get('thumb_out'), 'result')}</a></td>"
        f"<td>{r.get('seconds', 0):.1f} s</td><td>{html.escape(_losses(r.get('final')))}</td>"
        f"<td>{html.escape(r.get('backbone') or '')}</td></tr>"
        for p, r in done
    )
    summary = (
        f"{len(planned)} jobs: {len(done)} done ({result.skipped} from earlier runs), "
        f"{len(failed)} failed, {len(planned) - len(records)} not run. "
        f"This run: {result.done} done, {result.failed} failed in {result.seconds:.1f} s "
        f"({result.per_minute:.1f}/min)"
        + (f" on {html.escape(result.executor)}" if result.executor else "")
        + (" &mdash; interrupted" if result.interrupted else "")
    )
    failures = (
        f"<h2>Failures ({len(failed)})</h2><table><tr><th>input</th><th>preset</th>"
        f"<th>photo</th><th>error</th></tr>\n{rows_failed}\n</table>"
        if failed
        else ""
    )
    document = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>nstfilter batch report</title>
<style>{STYLE}</style></head><body>
<h1>nstfilter batch report</h1>
<p>{summary}</p>
{failures}
<h2>Results ({len(done)})</h2>
<table><tr><th>input</th><th>preset</th><th>photo</th><th></th><th>result</th>
<th>time</th><th>final losses</th><th>backbone</th></tr>
{rows_done}
</table></body></html>
"""
    return write_atomic(document.encode("utf-8"), outdir / REPORT_NAME)


def print_summary(result: BatchResult, console: Console | None = None, limit: int = 20) -> None:
    """The summary table (and the first ``limit`` failures) on the console."""
    from rich.console import Console
    from rich.table import Column, Table
    from rich.text import Text

    console = console or Console()
    table = Table("what", Column("value", justify="right"), title="nstfilter batch",
                  show_header=False)  # fmt: skip
    table.add_row("jobs", str(len(result.planned)))
    table.add_row("done now", str(result.done))
    table.add_row("already done (skipped)", str(result.skipped))
    table.add_row("failed", f"[red]{result.failed}[/]" if result.failed else "0")
    not_run = len(result.planned) - result.done - result.skipped - result.failed
    if not_run:
        table.add_row("not run", str(not_run))
    table.add_row("wall time", f"{result.seconds:.1f} s")
    if result.done:
        table.add_row("images per minute", f"{result.per_minute:.1f}")
        table.add_row("mean seconds per job", f"{result.job_seconds / result.done:.1f}")
    if result.executor:
        table.add_row("executor", result.executor)
    if result.report is not None:
        table.add_row("report", os.fspath(result.report))
    console.print(table)
    if result.failures:
        failures = Table(
            "job", Column("error", style="red", overflow="fold"),
            title=f"failures ({len(result.failures)})",
        )  # fmt: skip
        for key, error in result.failures[:limit]:  # Text: a name is not rich markup
            failures.add_row(Text(printable(key)), Text(printable(error)))
        if len(result.failures) > limit:
            failures.add_row("...", f"{len(result.failures) - limit} more in the report")
        console.print(failures)
