"""``nstfilter watch``: style every photo dropped into a folder (see docs/watch.md)."""

from __future__ import annotations

import click

from ..params import Setting
from .common import (
    SettingType,
    command_options,
    executor_options,
    facade,
    metrics_option,
    option,
    output_option,
    plugins_dirs,
    progress_option,
)

# The watcher's own numbers, checked by the same rule as the settings (finite, in range).
SETTLE = Setting(section="", help="settle seconds", low=0.0, high=3600.0)
RESCAN = Setting(section="", help="rescan seconds", low=0.0, high=86400.0)
POLL_INTERVAL = Setting(section="", help="poll seconds", low=0.0, low_open=True, high=3600.0)


EPILOG = """\
--save-every is apply's only: whatever appears in the outbox is a finished result that
other programs may collect at once, so a job's steps may not appear there. To watch one
photo converge, run 'nstfilter apply --save-every N' on it.
"""


@click.command(epilog=EPILOG)
@click.argument("inbox", type=click.Path(file_okay=False, path_type=str))
@command_options(
    io=[
        output_option(
            "Results, <name>.<preset>.<ext> [INBOX/../outbox].", "--outbox", dest="outbox",
            type=click.Path(file_okay=False),
        ),
        option("--processed", type=click.Path(file_okay=False),
               help="Originals when done [../processed]."),
        option("--failed", type=click.Path(file_okay=False),
               help="Failures + notes [../failed]."),
        option("--once", is_flag=True, help="Process what is there, then exit (cron, CI)."),
        option("--polling", is_flag=True, help="Poll instead of inotify (network, containers)."),
        option(
            "--poll-interval", type=SettingType(POLL_INTERVAL), default="1.0",
            show_default=True, help="Seconds between polls.",
        ),
        option(
            "--settle", type=SettingType(SETTLE), default="2.0", show_default=True,
            help="A file whose size and mtime stay unchanged this long is complete.",
        ),
        option(
            "--rescan", type=SettingType(RESCAN), default="60.0", show_default=True,
            help="Seconds between safety sweeps for files whose events were lost (0: never).",
        ),
        metrics_option("job"),
        progress_option("Progress inside each job (threads; bar: log lines, jobs run side by "
                        "side)"),
    ],
    style=[option("-p", "--preset", help="Preset for files not in a preset subfolder.")],
    resources=executor_options("Files styled at the same time."),
)  # fmt: skip
def watch(inbox, preset, outbox, processed, failed, once, polling, poll_interval, workers, settle,
          rescan, executor, scheduler, styling, max_pixels, job_timeout, device, metrics,
          progress_mode):  # fmt: skip
    """Watch INBOX and style every photo dropped into it.

    Results go to OUTBOX/<name>.<preset>.<ext>; originals move to processed/ once the result
    is safely written, or to failed/ beside a <name>.error.txt note. A subfolder of INBOX
    named after a preset uses that preset. Ctrl-C stops after the current file.
    """
    from ..executors import check_options
    from ..safepaths import check_plan
    from ..watcher import Layout, Watcher, WatchOptions
    from ..watcher.signals import install

    check_options(executor, scheduler=scheduler, job_timeout=job_timeout)
    layout = Layout.build(inbox, outbox, processed, failed)
    default_name = preset or "styled"

    def load(name: str):
        # --style replaces the default preset's images; a preset subfolder keeps its own
        return styling(preset) if name == default_name else styling(name, styles=())

    default = styling(preset)  # no style, unknown or invalid preset: refuse now
    check_plan(  # the inbox is emptied: the default preset's files and --metrics may not
        # live there, and --metrics may not be written over a style image or a preset
        [("metrics", metrics)] if metrics else [],
        [*(("style image", p) for p, _ in default.styles),
         *(("preset", f) for f in default.files)], consumed=[("inbox", layout.inbox)],
    )  # fmt: skip

    options = WatchOptions(
        preset=default_name, load_preset=load, settle=settle, close_grace=min(0.5, settle),
        workers=workers, max_pixels=max_pixels, polling=polling, poll_interval=poll_interval,
        once=once, rescan=rescan, executor=executor, scheduler=scheduler,
        plugins_dirs=plugins_dirs(), job_timeout=job_timeout, metrics=metrics,
        progress=progress_mode, device=device,
    )  # fmt: skip
    watcher = Watcher(layout, options, facade())
    restore = install(watcher.request_stop)
    try:
        watcher.run()
    finally:
        restore()
