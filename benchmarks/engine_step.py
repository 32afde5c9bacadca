"""Seconds per optimiser step and peak memory of the engine, per image size.

Each size runs in a fresh subprocess so its peak RSS (``ru_maxrss``) is its own. Prints a
Markdown table: size, optimizer, seconds per step (median of the timed steps), peak RSS.

    python benchmarks/engine_step.py [--sizes 256,512,1024] [--steps 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def measure(size: int, optimizer: str, steps: int) -> dict:
    import resource

    from PIL import Image

    from nstfilter.engine import Stylizer, default_registry, stylize_tensor
    from nstfilter.imageio import fit_longest, to_array
    from nstfilter.params import StyleParams

    backbone = default_registry().get("vgg16-hed")
    params = StyleParams(size=size, scales=1, iterations=steps + 1, optimizer=optimizer)
    stylizer = Stylizer(backbone, params.content_layers, params.style_layers)
    content = to_array(fit_longest(Image.open(DATA / "content/tubingen.jpg").convert("RGB"), size))
    style = to_array(fit_longest(Image.open(DATA / "styles/starry_night.jpg").convert("RGB"), size))
    stamps: list[float] = []
    stylize_tensor(stylizer, content, [(style, 1.0)], params,
                   callback=lambda e: stamps.append(time.perf_counter()))  # fmt: skip
    per_step = [b - a for a, b in zip(stamps, stamps[1:])]  # the first step includes tracing
    return {
        "size": size,
        "optimizer": optimizer,
        "shape": list(content.shape[:2]),
        "s_per_step": statistics.median(per_step),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--optimizers", default="lbfgs,adam")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        size, optimizer = args.child.split(":")
        print(json.dumps(measure(int(size), optimizer, args.steps)))
        return
    print("| size (longest side) | H x W | optimizer | s / step | peak RSS MB |")
    print("|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        for optimizer in args.optimizers.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--child", f"{size}:{optimizer}",
                 "--steps", str(args.steps)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            row = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"| {size} | {row['shape'][0]} x {row['shape'][1]} | {optimizer} | "
                f"{row['s_per_step']:.2f} | {row['peak_rss_mb']:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
