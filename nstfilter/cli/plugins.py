"""``nstfilter plugins``: which plugins are loaded, where from, and which hooks they implement."""

from __future__ import annotations

import click

from .common import verbosity_options


@click.group()
def plugins() -> None:
    """Inspect loaded plugins."""


@plugins.command("list")
@click.option("--hook", "hook_name", help="Only plugins implementing this hook.")
@verbosity_options
def list_command(hook_name: str | None) -> None:
    """Plugins with their source (built-in, entry point, file) and hooks; load errors last."""
    from .. import plugins as plugin_module
    from ..errors import UsageError

    pm = plugin_module.get_plugin_manager()
    known = sorted(n for n in dir(pm.hook) if n.startswith("nstfilter_"))
    if hook_name is not None and not hook_name.startswith("nstfilter_"):
        hook_name = f"nstfilter_{hook_name}"  # "--hook postprocess" works too
    if hook_name is not None and hook_name not in known:
        raise UsageError(f"unknown hook {hook_name!r}; hooks: {', '.join(known)}")
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:  # blocked
            continue
        hooks = sorted(impl.name for impl in pm.get_hookcallers(plugin) or [])
        if hook_name is not None and hook_name not in hooks:
            continue
        source = plugin_module.plugin_source(pm, plugin)
        rows.append((name, source, ", ".join(h.removeprefix("nstfilter_") for h in hooks)))
    if rows:
        width_name = max(len(r[0]) for r in rows)
        width_source = max(len(r[1]) for r in rows)
        click.echo(f"{'NAME':<{width_name}}  {'SOURCE':<{width_source}}  HOOKS")
        for name, source, hooks in rows:
            click.echo(f"{name:<{width_name}}  {source:<{width_source}}  {hooks}")
    else:
        click.echo("no plugins" + (f" implement {hook_name}" if hook_name else ""))
    blocked = sorted(plugin_module.disabled_names())
    if blocked:
        click.echo(f"disabled by {plugin_module.DISABLE_ENV}: {', '.join(blocked)}")
    for name, message in plugin_module.load_errors:
        click.echo(f"failed to load {name}: {message}")
