"""What ``nstfilter demo`` and ``presets preview`` show, offline (no ``../shared``): the
bundled photo and contact sheets."""

from __future__ import annotations

from importlib.resources import files

from PIL import Image, ImageDraw

#: The demo photo inside the package (provenance in ``PROVENANCE.toml`` beside it).
DEMO_PHOTO = files("nstfilter") / "_data" / "demo" / "astronaut.jpg"


def demo_photo() -> Image.Image:
    """NASA's public-domain portrait of astronaut Eileen Collins (512 x 512)."""
    with DEMO_PHOTO.open("rb") as handle:
        return Image.open(handle).convert("RGB")


def contact_sheet(panels: list[tuple[str, Image.Image]], height: int = 256) -> Image.Image:
    """Panels side by side at one height, each labelled underneath."""
    resized = [
        (label, img.convert("RGB").resize((max(1, round(img.width * height / img.height)), height)))
        for label, img in panels
    ]
    gap, label_h = 8, 22
    width = sum(img.width for _, img in resized) + gap * (len(resized) + 1)
    sheet = Image.new("RGB", (width, height + label_h + 2 * gap), "white")
    draw = ImageDraw.Draw(sheet)
    x = gap
    for label, img in resized:
        sheet.paste(img, (x, gap))
        draw.text((x, gap + height + 4), label, fill="black")
        x += img.width + gap
    return sheet
