"""One exception hierarchy for every user-facing failure.

Each class carries the process exit code the CLI uses, so scripts (cron jobs, GIMP, the
watcher) can tell a bad image from a bad preset without parsing text. The CLI prints
``str(error)`` as a single line; messages therefore name the file and the problem and never
span lines.
"""

from __future__ import annotations

from pathlib import Path


class NstError(Exception):
    """Base class: a failure caused by the user's input or environment, not a bug."""

    exit_code = 1

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else None
        text = " ".join(str(message).split())  # one line, whatever the cause said
        super().__init__(f"{self.path}: {text}" if self.path else text)


class UsageError(NstError):
    """Invalid option values: negative weights, unknown optimizer, bad size."""

    exit_code = 2


class InputNotFoundError(NstError):
    """A content or style file does not exist."""

    exit_code = 3


class ImageError(NstError):
    """A file exists but is not a readable image (corrupt, truncated, empty, not an image)."""

    exit_code = 4


class ImageTooLargeError(ImageError):
    """An image exceeds the configured pixel limit (decompression-bomb guard)."""

    exit_code = 5


class ImageTooSmallError(ImageError):
    """An image is too small for the network to see any structure (e.g. 1x1 pixels)."""

    exit_code = 6


class PresetError(NstError):
    """Unknown preset, invalid preset file, path-like preset name, cycle in ``extends``."""

    exit_code = 7


class LayerError(UsageError):
    """A layer name the chosen backbone does not have."""

    exit_code = 8


class WeightsError(NstError):
    """Backbone weights are missing on disk; the message says how to get them."""

    exit_code = 9


class OutputError(NstError):
    """The output cannot be written (read-only folder, would overwrite an input)."""

    exit_code = 10


class PluginError(NstError):
    """A plugin failed: a misspelt hook, or an implementation that raised (named with its
    hook; see ``nstfilter.plugins``)."""

    exit_code = 11


class JobError(NstError):
    """A job failed on an executor; the message is the worker's one-line error."""

    exit_code = 1


class BatchFailedError(NstError):
    """Some jobs of a batch failed (the others finished; see the report)."""

    exit_code = 1


class Cancelled(NstError):
    """The run was cancelled by a callback, a signal or the user."""

    exit_code = 130


def error_line(error: BaseException) -> str:
    """One line for any failure: nstfilter errors as they are, others with their type (a
    bug's ``KeyError: 'x'`` must still say what it was)."""
    text = str(error) if isinstance(error, NstError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split()) or type(error).__name__
