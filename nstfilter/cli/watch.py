"""``nstfilter watch``: style every photo dropped into a folder (see docs/watch.md)."""

from __future__ import annotations

import logging

import click

from ..errors import UsageError
from .common import verbosity_options

log = logging.getLogger("nstfilter.watch")


@click.command()
@click.argument("inbox", type=click.Path(file_okay=False, path_type=str))
@click.option("-p", "--preset", required=True, help="Preset for files not in a preset subfolder.")
@click.option("--outbox", type=click.Path(file_okay=False), help="Results [INBOX/../outbox].")
@click.option(
    "--processed", type=click.Path(file_okay=False), help="Originals when done [../processed]."
)
@click.option("--failed", type=click.Path(file_okay=False), help="Failures + notes [../failed].")
@click.option("--once", is_flag=True, help="Process what is there, then exit (cron, CI).")
@click.option("--polling", is_flag=True, help="Poll instead of inotify (network, containers).")
@click.option(
    "--poll-interval", type=float, default=1.0, show_default=True, help="Seconds between polls."
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Files styled at the same time.",
)
@click.option(
    "--settle",
    type=float,
    default=2.0,
    show_default=True,
    help="A file whose size and mtime stay unchanged this long is complete.",
)
@click.option(
    "--rescan",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds between safety sweeps for files whose events were lost (0: never).",
)
@click.option(
    "--max-pixels", type=int, help="Refuse inputs larger than this ($NSTFILTER_MAX_PIXELS)."
)
@click.option(
    "--executor",
    type=click.Choice(["threads", "local", "dask"]),
    default="threads",
    show_default=True,
    help="threads: in this process; local: a pool of worker processes; dask: a Dask cluster.",
)
@click.option("--scheduler", metavar="ADDR", help="Dask scheduler address (--executor dask).")
@verbosity_options
@click.pass_context
def watch(ctx, inbox, preset, outbox, processed, failed, once, polling, poll_interval, workers,
          settle, rescan, max_pixels, executor, scheduler):  # fmt: skip
    """Watch INBOX and style every photo dropped into it.

    Results go to OUTBOX/<name>.<preset>.<ext>; originals move to processed/ once the result
    is safely written, or to failed/ beside a <name>.error.txt note. A subfolder of INBOX
    named after a preset uses that preset. Ctrl-C stops after the current file.
    """
    from ..presets import load_preset
    from ..watcher import Layout, Watcher, WatchOptions
    from ..watcher.signals import install

    if settle < 0 or poll_interval <= 0 or rescan < 0:
        raise UsageError("--settle and --rescan must be >= 0 and --poll-interval > 0")
    if scheduler and executor != "dask":
        raise UsageError("--scheduler needs --executor dask")
    if max_pixels is not None and max_pixels <= 0:
        raise UsageError(f"--max-pixels must be > 0, got {max_pixels}")
    layout = Layout.build(inbox, outbox, processed, failed)
    load_preset(preset)  # unknown or invalid preset: refuse before watching
    from ..plugins import get_plugin_manager

    options = WatchOptions(
        preset=preset,
        settle=settle,
        close_grace=min(0.5, settle),
        workers=workers,
        max_pixels=max_pixels,
        polling=polling,
        poll_interval=poll_interval,
        once=once,
        rescan=rescan,
        executor=executor,
        scheduler=scheduler,
        plugins_dirs=tuple(ctx.find_root().params.get("plugins_dir") or ()),
    )
    watcher = Watcher(layout, options, get_plugin_manager())
    restore = install(watcher.request_stop)
    try:
        watcher.run()
    finally:
        restore()
