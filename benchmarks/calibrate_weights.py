"""Calibrate the default content/style balance per backbone.

Runs nstfilter's default schedule at 256 px on tubingen.jpg + starry_night.jpg for several
content weights (style weight fixed at the tutorial's 1e-2) and prints, per weight: the
style loss relative to the photo's (lower = more stylised), the content distance of the
result from the photo in VGG features (higher = less recognisable), and the mean pixel
change. Writes the images to ``benchmarks/out/calibrate-<backbone>-<weight>.png``.

    python benchmarks/calibrate_weights.py [--backbone vgg16-hed] [--size 256]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image

from nstfilter.engine import Stylizer, default_registry, stylize_tensor
from nstfilter.imageio import fit_longest, from_array, to_array
from nstfilter.params import StyleParams

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parent / "out"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="vgg16-hed")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--weights", default="1e4,1e3,1e2,1e1")
    args = parser.parse_args()
    backbone = default_registry().get(args.backbone)
    base = StyleParams(size=args.size, backbone=args.backbone)
    stylizer = Stylizer(backbone, base.content_layers, base.style_layers)
    content = to_array(
        fit_longest(Image.open(DATA / "content/tubingen.jpg").convert("RGB"), args.size)
    )
    style = to_array(
        fit_longest(Image.open(DATA / "styles/starry_night.jpg").convert("RGB"), args.size)
    )
    OUT.mkdir(exist_ok=True)
    style_weight = base.style_weight or backbone.style_weight
    print(f"backbone {backbone.name}, {args.size} px, style weight {style_weight}")
    print("| content weight | style loss / photo's | content loss (w=1) | mean pixel change | s |")
    print("|---|---|---|---|---|")
    for weight in (float(w) for w in args.weights.split(",")):
        params = base.replace(content_weight=weight)
        start = time.perf_counter()
        result = stylize_tensor(stylizer, content, [(style, 1.0)], params)
        seconds = time.perf_counter() - start
        change = float(np.abs(result.image - content).mean() * 255)
        from_array(result.image).save(OUT / f"calibrate-{backbone.name}-{weight:g}.png")
        print(
            f"| {weight:g} | {result.final.style / result.initial.style:.3f} | "
            f"{result.final.content / weight:.4g} | {change:.1f} | {seconds:.0f} |"
        )


if __name__ == "__main__":
    main()
