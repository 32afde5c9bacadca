"""SIGINT/SIGTERM: the first one stops gracefully, a second Ctrl-C quits at once (130).

A graceful stop lets the current file finish or cancels it at the engine's next step and
leaves it in the inbox (journalled ``requeued``), then exits 0. Quitting at once is safe too:
the journal is written ahead of every step, and the next start finishes or redoes the job.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable

log = logging.getLogger("nstfilter.watch")


def install(on_stop: Callable[[], None]) -> Callable[[], None]:
    """Install the handlers (main thread only); returns a function restoring the old ones."""
    count = 0

    def handler(signum: int, _frame: object) -> None:
        nonlocal count
        count += 1
        name = signal.Signals(signum).name
        if count == 1:
            log.info(
                "%s: stopping; a file being styled is cancelled and stays in the inbox "
                "(press Ctrl-C again to quit now)",
                name,
            )
            on_stop()
            return
        log.warning("%s again: quitting now; the next start finishes or redoes the job", name)
        sys.stderr.flush()
        os._exit(130)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
