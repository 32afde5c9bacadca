"""``nstfilter plugins``: which plugins are loaded, where from, and which hooks they implement."""

from __future__ import annotations

import click

from .common import echo_table, facade, verbosity_options


@click.group()
def plugins() -> None:
    """Inspect loaded plugins."""


@plugins.command("list")
@click.option("--hook", "hook_name", help="Only plugins implementing this hook.")
@verbosity_options
def list_command(hook_name: str | None) -> None:
    """Plugins with their source (built-in, entry point, file) and hooks; load errors last."""
    from ..errors import UsageError
    from ..plugins import DISABLE_ENV, disabled_names

    plugins = facade()
    known = plugins.hook_names()
    if hook_name is not None:
        hook_name = f"nstfilter_{hook_name.removeprefix('nstfilter_')}"  # --hook postprocess
        if hook_name not in known:
            raise UsageError(f"unknown hook {hook_name!r}; hooks: {', '.join(known)}")
    rows = []
    for name in sorted(plugins.names()):
        hooks = plugins.hooks_of(name)
        if hook_name is None or hook_name in hooks:
            short = ", ".join(h.removeprefix("nstfilter_") for h in hooks)
            rows.append((name, plugins.source(name), short))
    if rows:
        echo_table(("NAME", "SOURCE", "HOOKS"), rows)
    else:
        click.echo("no plugins" + (f" implement {hook_name}" if hook_name else ""))
    if blocked := sorted(disabled_names()):
        click.echo(f"disabled by {DISABLE_ENV}: {', '.join(blocked)}")
    for name, message in plugins.load_errors:
        click.echo(f"failed to load {name}: {message}")
