"""nstfilter: neural style transfer (Gatys et al.) as an image filter.

The public entry point is :func:`stylize`; settings live in :class:`StyleParams`. Importing
this package does not import TensorFlow: that happens when a filter first runs, so the
CLI's ``--help`` and the plugin machinery stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import NstError
from .hookspecs import hookimpl
from .params import StyleParams

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from .api import StylizeResult, run_filter, stylize


def __getattr__(name: str) -> Any:
    if name in ("stylize", "run_filter", "StylizeResult"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)


__all__ = ["NstError", "StyleParams", "StylizeResult", "hookimpl", "run_filter", "stylize"]
