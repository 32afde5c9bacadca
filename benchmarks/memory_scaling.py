"""Peak memory (RSS) of a stylisation against image size, tiled above ``tile_size``.

Each size runs in a fresh subprocess so its peak RSS (``ru_maxrss``) is its own. The photo is
resized (up, if needed) to the size's longest side, the style likewise. Prints a Markdown
table: size, H x W, tiles at the final size, seconds, peak RSS, RSS per megapixel.

The optimisation's memory does not depend on how many iterations run, except L-BFGS's
history (``2 * maxcor`` float64 vectors of one tile, allocated lazily), so the default
schedule here is short (``--iterations 1``) to keep a 4096 px run to minutes; the history
adds at most ``2 * 20 * tile^2 * 3 * 8`` bytes (about 1 GB for 1024 px tiles), the same at
every tiled size.

    python benchmarks/memory_scaling.py [--sizes 512,1024,2048,4096] [--tile 1024]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"


def measure(size: int, tile: int, iterations: int, content: str, style: str) -> dict:
    import resource

    from PIL import Image

    import nstfilter.engine  # noqa: F401  (quiet TensorFlow import)
    from nstfilter.engine import Stylizer, default_registry, stylize_tensor
    from nstfilter.engine.tiling import FEATURE_STRIDE, tile_boxes
    from nstfilter.imageio import fit_longest, from_array, to_array
    from nstfilter.params import StyleParams

    params = StyleParams(
        backbone="vgg16-hed", size=size, tile_size=tile,
        iterations=iterations, coarse_iterations=iterations,
    )  # fmt: skip
    backbone = default_registry().get("vgg16-hed")
    stylizer = Stylizer(backbone, params.content_layers, params.style_layers)
    c = to_array(fit_longest(Image.open(DATA / "content" / content).convert("RGB"), size))
    s = to_array(fit_longest(Image.open(DATA / "styles" / style).convert("RGB"), size))
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    result = stylize_tensor(stylizer, c, [(s, 1.0)], params)
    seconds = time.perf_counter() - start
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    from_array(result.image).save(out / f"memory-{size}.png")
    h, w = c.shape[:2]
    tiles = 1
    if tile and max(h, w) > tile:
        tiles = len(tile_boxes(h, w, tile, max(FEATURE_STRIDE, tile // 8)))
    return {
        "size": size,
        "shape": [h, w],
        "tiles": tiles,
        "seconds": seconds,
        "rss_before_mb": base_rss,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "final": vars(result.final),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="512,1024,2048,4096")
    parser.add_argument("--tile", type=int, default=None, help="default: StyleParams'")
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--content", default="tubingen.jpg")
    parser.add_argument("--style", default="starry_night.jpg")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="append each row here (JSON lines)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    if args.tile is None:
        from nstfilter.params import StyleParams

        args.tile = StyleParams().tile_size
    if args.child:
        row = measure(args.child, args.tile, args.iterations, args.content, args.style)
        print(json.dumps(row))
        return
    print(f"tile_size {args.tile}, {args.iterations} iteration(s) per scale and tile\n")
    print("| size | H x W | tiles | seconds | peak RSS MB | MB / Mpx |")
    print("|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--child", str(size), "--tile", str(args.tile),
               "--iterations", str(args.iterations), "--content", args.content,
               "--style", args.style]  # fmt: skip
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        if args.json:
            with args.json.open("a") as fh:
                fh.write(json.dumps(row) + "\n")
        h, w = row["shape"]
        print(
            f"| {size} | {h} x {w} | {row['tiles']} | {row['seconds']:.0f} | "
            f"{row['peak_rss_mb']:.0f} | {row['peak_rss_mb'] / (h * w / 1e6):.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
