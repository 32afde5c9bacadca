"""Pieces shared by the subcommands: logging set-up and the -v/-q options.

``-v``/``-q`` work both before the subcommand (``nstfilter -q apply``) and after it
(``nstfilter apply -q``), because users type both.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import click

_levels = {"verbose": 0, "quiet": 0}


def configure_logging(verbose: int = 0, quiet: int = 0) -> None:
    """Plain ``nstfilter: message`` lines on stderr; -v adds debug, -q keeps warnings."""
    _levels["verbose"] += verbose
    _levels["quiet"] += quiet
    level = logging.INFO - 10 * _levels["verbose"] + 10 * _levels["quiet"]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("nstfilter: %(message)s"))
    root = logging.getLogger("nstfilter")
    root.handlers[:] = [handler]
    root.setLevel(max(logging.DEBUG, min(level, logging.ERROR)))
    root.propagate = False


def reset_logging() -> None:
    _levels.update(verbose=0, quiet=0)


def _adjust(kind: str) -> Callable[[click.Context, click.Parameter, int], int]:
    def callback(ctx: click.Context, param: click.Parameter, value: int) -> int:
        if value:
            configure_logging(**{kind: value})
        return value

    return callback


def verbosity_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-v/--verbose`` and ``-q/--quiet`` to a subcommand (not passed to it)."""
    command = click.option(
        "-q", "--quiet", count=True, expose_value=False, callback=_adjust("quiet"),
        help="Less log output (repeatable).",
    )(command)  # fmt: skip
    return click.option(
        "-v", "--verbose", count=True, expose_value=False, callback=_adjust("verbose"),
        help="More log output (repeatable).",
    )(command)  # fmt: skip
