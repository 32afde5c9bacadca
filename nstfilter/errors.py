"""One exception hierarchy for every user-facing failure.

Each class carries the process exit code, so scripts (cron jobs, GIMP, the watcher) can tell
a bad image from a bad preset without parsing text; the CLI prints ``str(error)``, one line
naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path


class NstError(Exception):
    """A failure caused by the user's input or environment, not a bug; a subclass states its
    exit code in its header: ``class X(NstError, exit_code=3)``."""

    exit_code = 1

    def __init_subclass__(cls, exit_code: int | None = None, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if exit_code is not None:  # unstated: the parent's
            cls.exit_code = exit_code

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        self.path = str(path) if path is not None else None
        text = " ".join(str(message).split())  # one line, whatever the cause said
        super().__init__(f"{self.path}: {text}" if self.path else text)

    def naming(self, path: str | Path | None) -> NstError:
        """This error with ``path`` in front when it names no file yet: raised where only
        pixels are known (a filter), it still names the photo in the one line."""
        if self.path is not None or path is None:
            return self
        return type(self)(str(self), path=path)


class UsageError(NstError, exit_code=2):
    """Invalid option values: negative weights, unknown optimizer, bad size."""


class InputNotFoundError(NstError, exit_code=3):
    """A content or style file does not exist."""


class ImageError(NstError, exit_code=4):
    """A file exists but is not a readable image (corrupt, truncated, empty, not an image)."""


class ImageTooLargeError(ImageError, exit_code=5):
    """An image exceeds the configured pixel limit (decompression-bomb guard)."""


class ImageTooSmallError(ImageError, exit_code=6):
    """An image is too small for the network to see any structure (e.g. 1x1 pixels)."""


class PresetError(NstError, exit_code=7):
    """Unknown preset, invalid preset file, path-like preset name, cycle in ``extends``."""


class LayerError(UsageError, exit_code=8):
    """A layer name the chosen backbone does not have."""


class WeightsError(NstError, exit_code=9):
    """Backbone weights are missing on disk; the message says how to get them."""


class ModelFileError(WeightsError, exit_code=12):
    """A network file shipped by a dependency (the fast filter's) is missing or corrupt; the
    message names the file and the reinstall that fixes it."""


class ClipError(ImageError, exit_code=13):
    """A clip that cannot be styled: corrupt, truncated, no frames, audio only, an unknown
    codec or type, audio the output type cannot hold."""


class ClipTooLongError(ClipError, exit_code=14):
    """A clip with more frames than ``--max-frames`` allows, refused before any work."""


class MissingExtraError(NstError, exit_code=15):
    """An optional feature's libraries are not installed; the message names the extra."""


class OutputError(NstError, exit_code=10):
    """The output cannot be written (read-only folder, would overwrite an input)."""


class NoSpaceError(OutputError, exit_code=16):
    """The disk or the quota is full (``ENOSPC``, ``EDQUOT``): nothing can be written until
    space is freed, so a service manager should not restart in a loop."""


class PluginError(NstError, exit_code=11):
    """A plugin failed: a misspelt hook or an implementation that raised, named with its hook."""


class JobError(NstError, exit_code=1):
    """A job failed on an executor; the message is the worker's one-line error."""


class BatchFailedError(NstError, exit_code=1):
    """Some jobs of a batch failed (the others finished; see the report)."""


class Cancelled(NstError, exit_code=130):
    """The run was cancelled by a callback, a signal or the user."""


def error_line(error: BaseException) -> str:
    """One line for any failure: nstfilter errors as they are, others with their type (a
    bug's ``KeyError: 'x'`` must still say what it was)."""
    text = str(error) if isinstance(error, NstError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split()) or type(error).__name__
