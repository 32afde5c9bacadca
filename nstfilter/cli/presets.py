"""``nstfilter presets``: list, show, copy and preview named presets."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import OutputError, PresetError
from ..printable import printable
from .common import echo_table, facade, verbosity_options


@click.group()
def presets() -> None:
    """List, inspect, copy and preview presets."""


@presets.command("list")
@click.option("--names", is_flag=True, help="Only the names, one per line (for scripts).")
@verbosity_options
def list_command(names: bool) -> None:
    """Every preset on the search path: name, source, usable here, description.

    A preset is usable here when it is valid and each of its style images is found; the
    reasons for the others follow the table.
    """
    from ..presets import STYLE_PATH_ENV, list_preset_sources, load_preset, read_preset_file

    found = list_preset_sources(facade())
    if names:
        for name in found:
            click.echo(printable(name))
        return
    rows, reasons = [], []
    for name, (kind, path) in found.items():
        why = None
        try:
            description = read_preset_file(path).get("description", "")
            if missing := load_preset(name, require_images=False, plugins=facade()).missing:
                why = f"style image {', '.join(map(repr, missing))} not found on the style path"
        except PresetError as exc:
            description, why = f"(invalid: {exc})", "invalid (see its description)"
        if why:
            reasons.append(f"{name}: {why}")
        rows.append((name, kind, "no" if why else "yes", description))
    if not rows:
        click.echo("no presets found")
        return
    echo_table(("NAME", "SOURCE", "USABLE", "DESCRIPTION"), rows)
    if reasons:
        click.echo(f"\nnot usable here ({STYLE_PATH_ENV}, then the user and bundled styles):")
        for reason in reasons:
            click.echo(f"  {printable(reason)}")


@presets.command()
@click.argument("name")
@click.option("--raw", is_flag=True, help="The file as written, without resolving 'extends'.")
@verbosity_options
def show(name: str, raw: bool) -> None:
    """A preset with 'extends' followed and defaults filled in, and its source file.

    Reading a preset never needs its style images: missing ones are named, not an error.
    """
    from ..presets import dump_toml, find_preset_file, load_preset, resolved_data

    if raw:
        path = find_preset_file(name, facade())
        click.echo(f"# source: {path}")
        click.echo(path.read_text(encoding="utf-8"), nl=False)
        return
    preset = load_preset(name, require_images=False, plugins=facade())
    click.echo(f"# source: {preset.path}")
    if chain := preset.data.get("extends"):
        click.echo(f"# extends: {chain}")
    click.echo(f"# style images: {', '.join(str(p) for p, _ in preset.styles)}")
    if preset.missing:
        click.echo(f"# not found here (needed to run it): {', '.join(preset.missing)}")
    if preset.params.content_weight is None or preset.params.style_weight is None:
        click.echo("# content/style weights not set: calibrated for the chosen backbone")
    click.echo(dump_toml(resolved_data(preset)), nl=False)


@presets.command()
@click.argument("name")
@click.argument("new")
@verbosity_options
def copy(name: str, new: str) -> None:
    """Copy preset NAME to NEW in your preset folder, to edit it (never overwrites).

    The copy is self-contained; a style image not found here keeps its name.
    """
    from ..imageio import write_atomic
    from ..presets import check_name, dump_toml, load_preset, resolved_data, user_dir

    check_name(new)
    preset = load_preset(name, require_images=False, plugins=facade())
    target = user_dir("presets") / f"{new}.toml"
    if target.exists():
        raise OutputError("preset already exists; pick another name or delete it", path=target)
    data = {**resolved_data(preset), "name": new}
    text = f"# copied from {preset.name} ({preset.path})\n" + dump_toml(data)
    write_atomic(text.encode("utf-8"), target)
    click.echo(str(target))


@presets.command()
@click.argument("name")
@click.argument("photo", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default=None, help="Contact sheet file [NAME-preview.png].")
@click.option(  # a look, not a result
    "--size", type=int, default=160, show_default=True, help="Longest side of each tile."
)
@click.option(
    "--iterations", type=int, default=10, show_default=True,
    help="Steps at the final scale of each tile (see apply --iterations).",
)  # fmt: skip
@click.option(
    "--fast", "use_fast", is_flag=True,
    help="The fast filter's result (under a second, no TensorFlow) instead of a short run.",
)  # fmt: skip
@verbosity_options
def preview(
    name: str, photo: str, output: str | None, size: int, iterations: int, use_fast: bool
) -> None:
    """A quick contact sheet (photo | style | result) of what preset NAME does to PHOTO."""
    from ..api import run_filter
    from ..imageio import load_image, save_image
    from ..presets import load_preset
    from ..safepaths import check_plan
    from ..showcase import contact_sheet

    preset = load_preset(name, plugins=facade())
    target = Path(output or f"{preset.name}-preview.png")
    check_plan(  # before styling: the sheet never replaces the photo, a style image or preset
        [("contact sheet", target)],
        [("photo", photo), *(("style image", p) for p, _ in preset.styles),
         *(("preset", f) for f in preset.files)],
    )  # fmt: skip
    # one small scale: the objective, colour and strength stay the preset's own
    params = preset.params.replace(size=size, iterations=iterations, scales=1)
    params = params.replace(filter="fast") if use_fast else params
    how = "fast filter" if params.filter == "fast" else f"{iterations} steps"
    content = load_image(photo)
    styles = [(load_image(path), weight) for path, weight in preset.styles]
    result = run_filter(content, styles, params, plugins=facade())
    panels = [("photo", content.rgb), (f"style ({preset.name})", styles[0][0].rgb),
              (f"result ({size} px, {how})", result.image)]  # fmt: skip
    save_image(contact_sheet(panels, height=min(size, 256)), target)
    click.echo(f"wrote {target} in {result.metrics['seconds']:.1f} s")
