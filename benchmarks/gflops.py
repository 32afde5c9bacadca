"""Achieved GFLOP/s of one optimisation step against a large ``tf.nn.conv2d`` on this machine.

The step is nstfilter's compiled loss-and-gradient on ``vgg16-hed`` with the default layers
(forward up to ``block5_conv2`` + the gradient with respect to the input image). Its FLOPs
are counted analytically: each 3x3 convolution costs ``2 * H * W * 9 * Cin * Cout`` forward
and the same again for its input gradient (no filter gradients: the weights are constants).
Pooling, ReLU, Gram matrices and the loss are left out of the count (they are < 2 %).

The reference is the best of a few large single convolutions (forward only), timed the same
way (median of ``--repeats`` calls after a warm-up). Prints a Markdown table.

    python benchmarks/gflops.py [--size 512] [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def conv_flops(height: int, width: int, upto: str = "block5_conv2") -> float:
    """Forward FLOPs of the VGG16 convolutions up to ``upto`` for an H x W input."""
    from nstfilter.pretrained import VGG16_LAYERS

    channels = {1: 64, 2: 128, 3: 256, 4: 512, 5: 512}
    flops, c_in, h, w = 0.0, 3, height, width
    for name in VGG16_LAYERS[: VGG16_LAYERS.index(upto) + 1]:
        if name.endswith("pool"):
            h, w = -(-h // 2), -(-w // 2)  # "same" pooling keeps odd edges
            continue
        c_out = channels[int(name[5])]
        flops += 2.0 * h * w * 9 * c_in * c_out
        c_in = c_out
    return flops


def median_seconds(fn, repeats: int) -> float:
    fn()  # trace / warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    import numpy as np
    import tensorflow as tf

    import nstfilter.engine  # noqa: F401  (quiet TensorFlow import)
    from nstfilter.engine import Stylizer, default_registry
    from nstfilter.params import StyleParams

    rows = []
    # Reference: large single convolutions (forward), the best one is the machine's figure.
    conv = tf.function(lambda x, k: tf.nn.conv2d(x, k, 1, "SAME"))
    for h, w, c_in, c_out in ((128, 96, 256, 256), (64, 48, 512, 512), (256, 192, 128, 128)):
        x = tf.random.uniform((1, h, w, c_in))
        k = tf.random.uniform((3, 3, c_in, c_out))
        seconds = median_seconds(lambda x=x, k=k: conv(x, k).numpy(), args.repeats)
        flops = 2.0 * h * w * 9 * c_in * c_out
        rows.append((f"tf.nn.conv2d {h}x{w}x{c_in} -> {c_out}", flops, seconds))
    reference = max(f / s for _, f, s in rows)

    params = StyleParams(backbone="vgg16-hed")
    backbone = default_registry().get("vgg16-hed")
    stylizer = Stylizer(backbone, params.content_layers, params.style_layers)
    height, width = round(args.size * 3 / 4), args.size  # tubingen's aspect ratio
    rng = np.random.default_rng(0)
    content = rng.uniform(size=(1, height, width, 3)).astype(np.float32)
    style = rng.uniform(size=(1, height, width, 3)).astype(np.float32)
    targets = stylizer.targets(tf.constant(content), [(tf.constant(style), 1.0)], params)
    image = tf.constant(rng.uniform(size=(1, height, width, 3)).astype(np.float32))
    seconds = median_seconds(
        lambda: stylizer.loss_and_grads(image, targets)[1].numpy(), args.repeats
    )
    step_flops = 2 * conv_flops(height, width)
    rows.append((f"nstfilter step {height}x{width} (fwd + input grad)", step_flops, seconds))

    print("| operation | GFLOP | seconds (median) | GFLOP/s | % of best conv2d |")
    print("|---|---|---|---|---|")
    for name, flops, secs in rows:
        rate = flops / secs / 1e9
        print(f"| {name} | {flops / 1e9:.1f} | {secs:.3f} | {rate:.1f} | "
              f"{100 * rate * 1e9 / reference:.0f} % |")  # fmt: skip


if __name__ == "__main__":
    main()
