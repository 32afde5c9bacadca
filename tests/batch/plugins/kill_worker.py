"""Test filters that kill the process running them, to test worker-death handling.

``kill-once`` kills its process the first time it sees a given photo (a marker file in
``$NSTFILTER_KILL_DIR`` remembers it), then behaves like a plain copy; ``kill-always``
kills its process every time.
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

from nstfilter import hookimpl
from nstfilter.filters import FilterOutput


class KillOnce:
    def __init__(self, always: bool = False) -> None:
        self.always = always

    def apply(self, content, styles, params, progress, should_stop=None):
        marker = (
            Path(os.environ["NSTFILTER_KILL_DIR"]) / hashlib.sha256(content.tobytes()).hexdigest()
        )
        if self.always or not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return FilterOutput(content.copy(), {"backbone": "copy"})


@hookimpl
def nstfilter_register_filters(register):
    register("kill-once", KillOnce())
    register("kill-always", KillOnce(always=True))
