"""Calibrate the default content weight of a backbone by the look measures.

Runs nstfilter's default schedule (every other setting at its default) on one pair for
several content weights and prints, per weight, the look measures of ``look.py`` (palette,
structure, texture) and the seconds. Images go to ``benchmarks/out/calibrate-*.png``.

    python benchmarks/calibrate_weights.py [--backbone vgg16-hed] [--size 512]
        [--weights 5,10,20,40] [--pair tubingen:starry_night]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from look import DATA, Judge, palette, structure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="vgg16-hed")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--weights", default="5,10,20,40")
    parser.add_argument("--pair", default="tubingen:starry_night")
    args = parser.parse_args()
    import nstfilter.engine  # noqa: F401  (quiet TensorFlow import)
    from nstfilter.api import run_filter
    from nstfilter.params import StyleParams

    photo_name, style_name = args.pair.split(":")
    photo_path = DATA / "content" / f"{photo_name}.jpg"
    painting_path = DATA / "styles" / f"{style_name}.jpg"
    photo, painting = Image.open(photo_path), Image.open(painting_path)
    judge = Judge()
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    print(f"backbone {args.backbone}, {args.size} px, {args.pair}, other settings default\n")
    print("| content weight | palette | structure | texture | seconds |")
    print("|---|---|---|---|---|")
    for weight in (float(w) for w in args.weights.split(",")):
        params = StyleParams(size=args.size, backbone=args.backbone, content_weight=weight)
        start = time.perf_counter()
        image = run_filter(str(photo_path), [str(painting_path)], params).image
        seconds = time.perf_counter() - start
        image.save(out / f"calibrate-{args.backbone}-{weight:g}.png")
        print(
            f"| {weight:g} | {palette(photo, painting, image):.2f} | "
            f"{structure(photo, image):.2f} | {judge.texture(photo, painting, image):.3f} | "
            f"{seconds:.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
