"""nstfilter: neural style transfer (Gatys et al.) as an image filter.

The entry point is :func:`stylize`, settings live in :class:`StyleParams`. TensorFlow is
imported when a filter first runs, so the CLI's ``--help`` and the plugins stay fast.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from .errors import NstError
from .hookspecs import hookimpl
from .params import StyleParams

try:  # the one place the version is written is pyproject.toml
    __version__ = version("nstfilter")
except PackageNotFoundError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0+unknown"

if TYPE_CHECKING:  # pragma: no cover
    from .api import StylizeResult, run_filter, stylize


def __getattr__(name: str) -> Any:
    if name in ("stylize", "run_filter", "StylizeResult"):
        from . import api

        return getattr(api, name)
    raise AttributeError(name)


__all__ = ["NstError", "StyleParams", "StylizeResult", "hookimpl", "run_filter", "stylize"]
