"""``nstfilter watch``: a drop folder that can be trusted with people's only copies.

Modules, in the order a file meets them:

- :mod:`.names`        which names are taken, what results are called
- :mod:`.observer`     watchdog events -> tracker (observer threads only enqueue)
- :mod:`.stability`    when a file is complete; each path handed out once
- :mod:`.pipeline`     one file through the filter, each step journalled first
- :mod:`.journal`      the crash-safety journal in ``INBOX/.nstfilter/``
- :mod:`.folders`      durable, never-overwriting writes and moves; folder checks
- :mod:`.presetcache`  default and per-subfolder presets, reloaded when edited
- :mod:`.service`      recovery, observer, sweep, workers, shutdown
- :mod:`.signals`      SIGINT/SIGTERM handling
"""

from __future__ import annotations

from .folders import Layout
from .service import Watcher, WatchOptions

__all__ = ["Layout", "WatchOptions", "Watcher"]
