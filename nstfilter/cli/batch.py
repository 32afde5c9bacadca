"""``nstfilter batch``: many photos x presets into an output folder, resumable."""

from __future__ import annotations

import functools
import logging
import signal
from pathlib import Path

import click

from ..errors import UsageError
from ..eta import job_progress
from .common import (
    command_options,
    executor_options,
    facade,
    metrics_option,
    option,
    output_option,
    plugins_dirs,
    progress_option,
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

--save-every is apply's only: OUTDIR holds finished results, each written by this process
once its job is done (workers, in other processes or on a Dask cluster, never touch it) and
listed in the manifest and the report; a job's steps have no place there. To watch one
photo converge, run 'nstfilter apply --save-every N' on it.
"""


def _terminate_as_interrupt(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt


@click.command(epilog=EPILOG)
@click.argument("inputs", nargs=-1, required=True)
@command_options(
    io=[
        output_option(
            "Output folder; results are <stem>.<preset>.<ext>, the input tree is mirrored.",
            dest="outdir", required=True, type=click.Path(file_okay=False),
        ),
        option("-r", "--recursive", is_flag=True, help="Descend into subfolders of folder inputs."),
        option("--force", is_flag=True, help="Redo every job, even those already finished."),
        metrics_option("job"),
        progress_option("Progress over the jobs (json: a line per finished job, and per step "
                        "or frame of the jobs run in this process)"),
    ],
    style=[
        option(
            "-p", "--preset", "presets", multiple=True,
            help="Preset name (repeatable: every input is styled with every preset).",
        ),
    ],
    resources=[
        *executor_options(
            "Jobs at the same time (threads, local processes, or the LocalCluster of "
            "--executor dask); the cores are shared among them."
        ),
        option("--tls-ca-file", metavar="PEM", help="TLS to --scheduler: the cluster's CA."),
        option("--tls-cert", metavar="PEM", help="TLS to --scheduler: this client's certificate."),
        option("--tls-key", metavar="PEM",
               help="TLS to --scheduler: its key (if not in the cert)."),
    ],
)  # fmt: skip
def batch(
    inputs, presets, outdir, recursive, force, executor, scheduler, workers, progress_mode,
    styling, max_pixels, tls_ca_file, tls_cert, tls_key, job_timeout, device, metrics,
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
    from ..executors import check_options, make_executor

    check_options(executor, scheduler=scheduler, job_timeout=job_timeout)
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
    if executor == "threads":  # in this process: the device now (workers take the job's)
        from ..jobs import use_device

        for filter_name in {p.params.filter for p in resolved}:
            use_device(device, filter_name)
    factory = functools.partial(
        make_executor, executor, workers=workers, scheduler=scheduler,
        plugins_dirs=plugins_dirs(), security=security, job_timeout=job_timeout,
        plugins=facade(), progress=job_progress(progress_mode if progress_mode == "json" else
                                                "none", logging.getLogger("nstfilter.batch")),
    )  # fmt: skip

    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        result = run_batch(
            found, resolved, out, factory, plugins=facade(), force=force, progress=progress_mode,
            max_pixels=max_pixels, metrics=metrics, device=device,
            in_process=executor == "threads",
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, previous)
    if progress_mode != "none" or result.failed:
        print_summary(result)
    if result.failed:
        raise BatchFailedError(
            f"{result.failed} of {len(result.planned)} jobs failed; see {result.report}"
        )
