"""The ``nstfilter`` command line: the group, which configures logging and turns
:class:`~nstfilter.errors.NstError` into a one-line message and the error's exit code (never
a traceback for a user mistake); each subcommand lives in its own module."""

from __future__ import annotations

import contextlib
import errno
import os

import click

from ..durable import NO_SPACE, stdout_failed
from ..errors import NoSpaceError, NstError
from ..plugins import DISABLE_ENV, PLUGINS_DIR_ENV, Plugins
from ..printable import printable
from . import apply, batch, demo, editors, plugins, presets, watch, weights
from .common import configure_logging, reset_logging, verbosity_options

# Quiet TensorFlow's C++ start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _fill_closed_std_fds() -> None:
    """A standard stream closed by the caller (``>&-``) gets ``/dev/null`` in its place: the
    next file opened would otherwise take its number and receive what is meant for it.
    ``sys.stdout`` stays ``None``, so ``-o -`` still refuses a closed standard output."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            opened = os.open(os.devnull, os.O_RDWR)
            if opened != fd:
                os.dup2(opened, fd)
                os.close(opened)


class NstGroup(click.Group):
    """A click group that maps nstfilter errors to one line and a distinct exit code."""

    def make_context(self, *args, **kwargs) -> click.Context:
        _fill_closed_std_fds()
        reset_logging()  # before -v/-q: a process may run several commands (tests do)
        return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NstError as error:
            click.echo(f"nstfilter: error: {printable(error)}", err=True)
            ctx.exit(error.exit_code)
        except OSError as error:  # a write no durable helper made: still one line
            if error.errno == errno.EPIPE:  # the reader of our standard output left
                failed: NstError = stdout_failed(error)
            elif error.errno in NO_SPACE:
                failed = NoSpaceError(error.strerror or str(error), path=error.filename)
            else:
                raise
            click.echo(f"nstfilter: error: {printable(failed)}", err=True)
            ctx.exit(failed.exit_code)
        except KeyboardInterrupt:
            click.echo("nstfilter: interrupted", err=True)
            ctx.exit(130)


@click.group(
    cls=NstGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    commands=[
        apply.apply, batch.batch, demo.demo, editors.install_gimp_plugin,
        editors.install_gmic_filter, plugins.plugins, presets.presets, watch.watch,
        weights.weights,
    ],
)  # fmt: skip
@click.version_option(package_name="nstfilter")
@verbosity_options
@click.option(
    "--plugins-dir",
    type=click.Path(file_okay=False),
    multiple=True,
    help="Load *.py plugins from this folder (also $NSTFILTER_PLUGINS_DIR).",
)
@click.pass_context
def main(ctx: click.Context, plugins_dir: tuple[str, ...]) -> None:
    """Neural style transfer as an image filter."""
    configure_logging()  # at the level -v/-q set
    # the one facade of this run: subcommands take it from here (cli.common.facade); the one
    # loaded at import serves the first run when nothing it depends on changed since
    loaded = _AT_IMPORT.pop(_plugin_env(), None)
    _AT_IMPORT.clear()
    if plugins_dir or loaded is None:
        loaded = Plugins.load(plugins_dir)
    ctx.ensure_object(dict)["plugins"] = loaded


def _plugin_env() -> tuple[str, str]:
    return os.environ.get(PLUGINS_DIR_ENV, ""), os.environ.get(DISABLE_ENV, "")


# Plugin commands join before arguments are parsed (no --plugins-dir yet); a misspelt hook
# (PluginError) stops the run's own facade, in one line.
_AT_IMPORT: dict[tuple[str, str], Plugins] = {}
with contextlib.suppress(NstError):
    _AT_IMPORT[_plugin_env()] = Plugins.load()
    _AT_IMPORT[_plugin_env()].register_commands(main)
