"""The ``nstfilter`` command line.

Each subcommand lives in its own module; this one only builds the group, configures
logging (the only place that does) and turns :class:`~nstfilter.errors.NstError` into a
one-line message and the error's exit code, never a traceback for a user mistake.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os

import click

from ..errors import NstError
from ..printable import printable
from .common import configure_logging, reset_logging

# Quiet TensorFlow's C++ start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

log = logging.getLogger("nstfilter")

#: (module, attribute) of each subcommand; a module that fails to import is reported.
SUBCOMMANDS = [
    ("nstfilter.cli.apply", "apply"),
    ("nstfilter.cli.weights", "weights"),
    ("nstfilter.cli.demo", "demo"),
    ("nstfilter.cli.presets", "presets"),
    ("nstfilter.cli.plugins", "plugins"),
    ("nstfilter.cli.watch", "watch"),
    ("nstfilter.cli.batch", "batch"),
    ("nstfilter.cli.editors", "install_gimp_plugin"),
    ("nstfilter.cli.editors", "install_gmic_filter"),
]


class NstGroup(click.Group):
    """A click group that maps nstfilter errors to one line and a distinct exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NstError as error:
            click.echo(f"nstfilter: error: {printable(error)}", err=True)
            ctx.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("nstfilter: interrupted", err=True)
            ctx.exit(130)


@click.group(cls=NstGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nstfilter")
@click.option("-v", "--verbose", count=True, help="More log output (repeatable).")
@click.option("-q", "--quiet", count=True, help="Less log output (repeatable).")
@click.option(
    "--plugins-dir",
    type=click.Path(file_okay=False),
    multiple=True,
    help="Load *.py plugins from this folder (also $NSTFILTER_PLUGINS_DIR).",
)
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: int, plugins_dir: tuple[str, ...]) -> None:
    """Neural style transfer as an image filter."""
    reset_logging()
    configure_logging(verbose, quiet)
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet
    from ..plugins import Plugins

    # the one facade of this run: subcommands take it from here (cli.plugins.facade)
    ctx.obj["plugins"] = Plugins.load(plugins_dir)


def _add_subcommands() -> None:
    for module_name, attribute in SUBCOMMANDS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # not written yet
            raise
        main.add_command(getattr(module, attribute))


def _add_plugin_commands() -> None:
    """Before arguments are parsed: a facade of its own (no ``--plugins-dir`` yet)."""
    from ..plugins import Plugins

    # a misspelt hook (PluginError): the run's own facade stops with it, in one line
    with contextlib.suppress(NstError):
        Plugins.load().register_commands(main)


_add_subcommands()
_add_plugin_commands()
