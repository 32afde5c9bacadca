"""``nstfilter watch``: a drop folder that can be trusted with people's only copies.

A file meets :mod:`.names` (taken or not), the observer and :mod:`.stability` (complete,
handed out once), then :mod:`.pipeline`: styled by :mod:`.compute` with a preset from
:mod:`.presetcache`, every step first in the :mod:`.journal`, names reserved in
:mod:`.folders`. :mod:`.service` runs it all (observer included) and recovers after a
crash; :mod:`.signals` stops it.
"""

from __future__ import annotations

from .folders import Layout
from .service import Watcher, WatchOptions

__all__ = ["Layout", "WatchOptions", "Watcher"]
