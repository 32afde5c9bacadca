"""``nstfilter demo``: the offline first run — a styled photo and a side-by-side sheet."""

from __future__ import annotations

from pathlib import Path

import click

from .common import facade, verbosity_options
from .progress import MODES, progress_shown

#: A bundled preset whose painting ships in the package, so the demo needs no downloads.
#: (The procedural ``swirl`` is nearly one blue: its palette leaves the photo a blue veil.)
DEMO_PRESET = "starry-night"


@click.command()
@click.option("-o", "--output", default="out", show_default=True, help="Folder for the results.")
@click.option("-p", "--preset", default=DEMO_PRESET, show_default=True, help="The preset shown.")
@click.option(
    "--size", type=int, default=256, show_default=True, help="Longest side of the results."
)
@click.option(
    "--progress", "progress_mode", type=click.Choice(MODES), default="auto", show_default=True,
    help="Progress of the painted result (as apply's).",
)  # fmt: skip
@verbosity_options
def demo(output: str, preset: str, size: int, progress_mode: str) -> None:
    """Style a bundled photo with a bundled preset, by the fast filter (under a second) and by
    the optimisation (minutes); writes demo-fast.png, demo.png and demo-sheet.png."""
    from ..api import run_filter
    from ..imageio import load_image, save_image
    from ..presets import load_preset
    from ..showcase import contact_sheet, demo_photo

    resolved = load_preset(preset, plugins=facade())
    params = resolved.params.replace(size=size)
    styles = [(load_image(path), weight) for path, weight in resolved.styles]
    photo = demo_photo()
    folder = Path(output)
    quick = run_filter(photo, styles, params.replace(filter="fast"), plugins=facade())
    fast_path = save_image(quick.image, folder / "demo-fast.png")
    click.echo(f"wrote {fast_path} (fast filter) in {quick.metrics['seconds']:.1f} s")
    with progress_shown(facade(), progress_mode, "demo"):
        result = run_filter(photo, styles, params, plugins=facade())
    styled = save_image(result.image, folder / "demo.png")
    sheet = contact_sheet(
        [("content", photo), (f"style ({preset})", styles[0][0].rgb),
         (f"fast ({quick.metrics['seconds']:.1f} s)", quick.image),
         (f"painted ({result.metrics['seconds']:.0f} s)", result.image)]
    )  # fmt: skip
    sheet_path = save_image(sheet, folder / "demo-sheet.png")
    final = result.metrics.get("final", {})
    initial = result.metrics.get("initial", {})
    click.echo(f"wrote {styled} and {sheet_path} in {result.metrics['seconds']:.0f} s")
    if final:
        click.echo(
            f"backbone {result.metrics['backbone']}: style loss {initial['style']:.4g} -> "
            f"{final['style']:.4g}, content loss {final['content']:.4g}"
        )
