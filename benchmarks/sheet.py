"""Side-by-side comparison sheets for the docs (issue 18): one row per pair, one labelled
column per image, written as a small JPEG (the docs keep each under ~300 KB).

    python benchmarks/sheet.py docs/look-tubingen.jpg \\
        --row "photo=PHOTO" "painting=PAINTING" "reference=REF" "fast=FAST" "new=NEW" "old=OLD"
    python benchmarks/sheet.py docs/look-held-out.jpg --height 160 --row ... --row ...
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

from PIL import Image, ImageDraw

LABEL = 14  # px of caption above each picture
GAP = 4


def cell(path: str, height: int) -> Image.Image:
    """``path`` as RGB, ``height`` px tall (aspect kept)."""
    image = Image.open(path).convert("RGB")
    width = max(1, round(image.width * height / image.height))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def sheet(rows: list[list[tuple[str, str]]], height: int) -> Image.Image:
    """Rows of ``(label, path)`` pictures, each row left-aligned, captions above."""
    pictures = [[(label, cell(path, height)) for label, path in row] for row in rows]
    width = max(sum(p.width for _, p in row) + GAP * (len(row) - 1) for row in pictures)
    canvas = Image.new("RGB", (width, len(rows) * (height + LABEL + GAP) - GAP), "white")
    draw = ImageDraw.Draw(canvas)
    for r, row in enumerate(pictures):
        x, y = 0, r * (height + LABEL + GAP)
        for label, picture in row:
            draw.text((x + 2, y + 1), label, fill="black")
            canvas.paste(picture, (x, y + LABEL))
            x += picture.width + GAP
    return canvas


def save_small(image: Image.Image, target: Path, max_bytes: int) -> int:
    """Write ``image`` as the best JPEG quality that fits ``max_bytes``; returns the size."""
    for quality in (88, 82, 76, 70, 62, 55, 48):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality, optimize=True)
        if buffer.tell() <= max_bytes:
            break
    target.write_bytes(buffer.getvalue())
    return buffer.tell()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path)
    parser.add_argument("--row", nargs="+", action="append", required=True, metavar="LABEL=PATH")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--max-kb", type=int, default=300)
    args = parser.parse_args()
    rows = [[tuple(item.split("=", 1)) for item in row] for row in args.row]
    size = save_small(sheet(rows, args.height), args.target, args.max_kb * 1024)
    print(f"{args.target}: {size // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
