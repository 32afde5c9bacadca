"""``nstfilter batch``: many photos x presets into an output folder, resumable."""

from __future__ import annotations

import functools
import signal
from pathlib import Path

import click

from ..errors import UsageError
from ..executors import EXECUTORS
from .common import (
    facade,
    job_timeout_option,
    plugins_dirs,
    settings_options,
    style_option,
    verbosity_options,
    workers_option,
)

EPILOG = """\b
Examples:
  nstfilter batch photos/ --recursive --preset starry-night -o styled/
  nstfilter batch @list.txt --preset swirl --preset mosaic -o out/ --workers 2
  nstfilter batch photos/ --style painting.jpg --size 256 -o styled/
  nstfilter batch photos/ --preset swirl -o out/ --executor dask --scheduler tcp://10.0.0.5:8786

\b
Exit status: 0 when every job finished; 1 when any job failed (the others still ran; see
OUTDIR/report.html); 2 for bad options; 130 when interrupted (re-run to resume).
"""


def _terminate_as_interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


@click.command(epilog=EPILOG)
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-p", "--preset", "presets", multiple=True,
    help="Preset name (repeatable: every input is styled with every preset).",
)  # fmt: skip
@style_option
@click.option(
    "-o", "--output", "outdir", required=True, type=click.Path(file_okay=False),
    help="Output folder; results are <stem>.<preset>.<ext>, the input tree is mirrored.",
)  # fmt: skip
@click.option("-r", "--recursive", is_flag=True, help="Descend into subfolders of folder inputs.")
@click.option("--force", is_flag=True, help="Redo every job, even those already finished.")
@click.option(
    "--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
    help="local: worker processes here; dask: a Dask cluster (--scheduler) or a LocalCluster.",
)  # fmt: skip
@click.option("--scheduler", metavar="ADDR", help="Dask scheduler address, e.g. tcp://HOST:8786.")
@click.option("--tls-ca-file", metavar="PEM", help="TLS to --scheduler: the cluster's CA.")
@click.option("--tls-cert", metavar="PEM", help="TLS to --scheduler: this client's certificate.")
@click.option("--tls-key", metavar="PEM", help="TLS to --scheduler: its key (if not in the cert).")
@workers_option(
    "Worker processes (local, or the LocalCluster of --executor dask); the cores are shared "
    "among them."
)
@click.option(
    "--progress", "progress_mode", type=click.Choice(["auto", "bar", "log", "none"]),
    default="auto", show_default=True, help="Progress display over jobs.",
)  # fmt: skip
@job_timeout_option
@settings_options
@verbosity_options
def batch(
    inputs, presets, outdir, recursive, force, executor, scheduler, workers, progress_mode,
    styling, max_pixels, tls_ca_file, tls_cert, tls_key, job_timeout,
):  # fmt: skip
    """Style INPUTS (image files, folders, @list.txt files of paths) with every --preset
    (or with --style images); settings given here override every preset's.

    Finished jobs are recorded in OUTDIR/manifest.jsonl; re-running the same command skips
    jobs whose input and preset are unchanged and redoes the rest, so an interrupted batch
    resumes where it stopped. A failing image never stops the batch: it is listed in the
    summary and in OUTDIR/report.html, and the exit status is 1.
    """
    from ..batch import BatchFailedError, collect_inputs, run_batch
    from ..batch.report import print_summary
    from ..executors import make_executor
    from ..timeouts import check_executor

    if scheduler and executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    check_executor(executor, job_timeout)
    security = None
    if tls_ca_file or tls_cert or tls_key:
        from ..executors.dask_cluster import dask_security

        security = dask_security(tls_ca_file, tls_cert, tls_key)
    resolved = [styling(name) for name in (dict.fromkeys(presets) or [None])]
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder")
    found = collect_inputs(inputs, recursive=recursive, exclude=out)
    if not found:
        raise UsageError(f"no images found in {' '.join(inputs)}")
    factory = functools.partial(
        make_executor, executor, workers=workers, scheduler=scheduler,
        plugins_dirs=plugins_dirs(), security=security, job_timeout=job_timeout,
    )  # fmt: skip

    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        result = run_batch(
            found, resolved, out, factory, plugins=facade(), force=force, progress=progress_mode,
            max_pixels=max_pixels,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, previous)
    if progress_mode != "none" or result.failed:
        print_summary(result)
    if result.failed:
        raise BatchFailedError(
            f"{result.failed} of {len(result.planned)} jobs failed; see {result.report}"
        )
