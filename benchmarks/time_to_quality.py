"""Time to quality: the TF tutorial's Adam recipe against nstfilter's schedules.

Objective fixed for the comparison (issue 5): the tutorial's formulas on ``vgg16-hed``,
content ``block5_conv2``, style ``block1_conv1`` .. ``block5_conv1``, style weight 1e-2,
content weight 1e2, no TV, 512 px longest side, tubingen + starry_night.

* ``baseline``: the tutorial's code (``tf.Variable`` image, ``keras.optimizers.Adam(0.02,
  beta_1=0.99, epsilon=0.1)``, ``@tf.function train_step``, clip after each step, start from
  the content image) for ``--steps`` steps. Writes the loss curve with timestamps to JSON
  (rewritten every 10 steps, so a long run is usable while it runs).
* ``compare``: in one process, re-measures the baseline's step time (``--calib`` steps, to
  scale the long run to the current machine load) and runs nstfilter's quality modes; prints
  a Markdown table with each method's seconds, final loss terms at 512 px, the time the
  baseline needed to reach the same loss, and the ratio to the baseline's 1000-step time.
* no sub-command: both, in one process (about an hour on 2 cores).

    python benchmarks/time_to_quality.py baseline --out benchmarks/out/baseline-512.json
    python benchmarks/time_to_quality.py compare --baseline benchmarks/out/baseline-512.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
CONTENT_WEIGHT = 1e2
STYLE_WEIGHT = 1e-2


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load(size: int, content: str, style: str):
    from PIL import Image

    from nstfilter.imageio import fit_longest, to_array

    c = to_array(fit_longest(Image.open(DATA / "content" / content).convert("RGB"), size))
    s = to_array(fit_longest(Image.open(DATA / "styles" / style).convert("RGB"), size))
    return c, s


def objective_params(**schedule):
    from nstfilter.params import StyleParams

    return StyleParams(
        backbone="vgg16-hed",
        content_weight=CONTENT_WEIGHT,
        style_weight=STYLE_WEIGHT,
        tv_weight=0.0,
        **schedule,
    )


def make_stylizer():
    from nstfilter.engine import Stylizer, default_registry

    params = objective_params()
    backbone = default_registry().get("vgg16-hed")
    return Stylizer(backbone, params.content_layers, params.style_layers), params


def evaluate(stylizer, image, targets) -> dict:
    """Loss terms of ``image`` (H, W, 3) on the fixed objective."""
    import tensorflow as tf

    terms, _ = stylizer.loss_and_grads(tf.convert_to_tensor(image[None], tf.float32), targets)
    loss, content, style, _ = (float(t) for t in terms)
    return {"loss": loss, "content": content, "style": style}


def run_baseline(steps: int, size: int, content: str, style: str, out: Path | None,
                 image_out: Path | None = None) -> dict:  # fmt: skip
    """The tutorial's loop, verbatim in spirit; returns the curve."""
    import tensorflow as tf

    from nstfilter.engine.losses import clip_0_1, style_content_loss

    stylizer, params = make_stylizer()
    c, s = load(size, content, style)
    content_image = tf.convert_to_tensor(c[None])
    style_image = tf.convert_to_tensor(s[None])
    targets = stylizer.targets(content_image, [(style_image, 1.0)], params)
    content_t, style_t = targets[0], targets[1]
    extractor = stylizer.model

    image = tf.Variable(content_image)
    opt = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    @tf.function()
    def train_step(image):
        with tf.GradientTape() as tape:
            outputs = extractor(image)
            loss, content_loss, style_loss = style_content_loss(
                outputs, style_t, content_t, STYLE_WEIGHT, CONTENT_WEIGHT
            )
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(clip_0_1(image))
        return loss, content_loss, style_loss

    start = time.perf_counter()
    curve: list[list[float]] = []  # [seconds since start, step, loss before the step]
    record = {
        "method": "tutorial Adam (lr 0.02, b1 0.99, eps 0.1), init content",
        "size": size, "shape": list(c.shape[:2]), "steps": steps,
        "content": content, "style": style, "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"), "curve": curve,
    }  # fmt: skip
    step_times: list[float] = []
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        loss, _, _ = train_step(image)
        loss = float(loss)
        step_times.append(time.perf_counter() - t0)
        curve.append([time.perf_counter() - start, step, loss])
        if out is not None and (step % 10 == 0 or step == steps):
            record["seconds"] = time.perf_counter() - start
            record["median_step_s"] = statistics.median(step_times[1:] or step_times)
            out.write_text(json.dumps(record))
    record["seconds"] = time.perf_counter() - start
    record["median_step_s"] = statistics.median(step_times[1:] or step_times)
    record["final"] = evaluate(stylizer, image[0].numpy(), targets)
    record["peak_rss_mb"] = peak_rss_mb()
    if out is not None:
        out.write_text(json.dumps(record))
    if image_out is not None:
        from nstfilter.imageio import from_array

        from_array(image[0].numpy()).save(image_out)
    return record


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import tensorflow as tf

    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}"
    )


def steps_to_reach(curve: list[list[float]], loss: float) -> int | None:
    """Baseline steps until its loss first went at or below ``loss`` (None: not reached)."""
    for _, step, value in curve:
        if value <= loss:
            return int(step)
    return None


def run_schedule(mode: str, size: int, content: str, style: str, image_out: Path | None) -> dict:
    """nstfilter's schedule ``mode`` through ``stylize_tensor``, timed from the call."""
    from nstfilter.engine import stylize_tensor
    from nstfilter.schedules import apply_quality

    stylizer, params = make_stylizer()
    params = apply_quality(params, mode).replace(size=size)
    c, s = load(size, content, style)
    start = time.perf_counter()
    result = stylize_tensor(stylizer, c, [(s, 1.0)], params)
    seconds = time.perf_counter() - start
    if image_out is not None:
        from nstfilter.imageio import from_array

        from_array(result.image).save(image_out)
    return {
        "method": f"nstfilter {mode}",
        "size": size,
        "seconds": seconds,
        "final": {"loss": result.final.loss, "content": result.final.content,
                  "style": result.final.style},
        "sizes": result.sizes,
        "iterations": result.iterations,
        "peak_rss_mb": peak_rss_mb(),
    }  # fmt: skip


def compare(baseline: dict, args) -> list[dict]:
    """Runs the schedules; every baseline time is (baseline steps) x (its step time *now*).

    The baseline's step time is re-measured in this process right before the schedules, so
    a shared machine's load changes both sides alike; the long run contributes its loss
    curve (which does not depend on load) and its final loss.
    """
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    calib = run_baseline(args.calib, args.size, args.content, args.style, None)
    steps = calib["curve"]
    now_step = statistics.median([b[0] - a[0] for a, b in zip(steps, steps[1:])])
    done = int(baseline["curve"][-1][1])
    final = baseline.get("final") or dict.fromkeys(("content", "style"), float("nan"))
    final = {**final, "loss": baseline.get("final", {}).get("loss", baseline["curve"][-1][2])}
    base_row = {
        **baseline, "final": final, "method": f"baseline: tutorial Adam x{done}",
        "seconds": done * now_step, "ratio": 1.0, "peak_rss_mb": baseline.get("peak_rss_mb", 0),
        "long_run_s": baseline["seconds"], "step_s_now": now_step,
        "step_s_long_run": baseline["median_step_s"],
    }  # fmt: skip
    rows = [base_row]
    for mode in args.modes.split(","):
        runs = []
        for repeat in range(args.repeats):
            image_out = out_dir / f"ttq-{mode}-{args.size}.png" if repeat == 0 else None
            runs.append(run_schedule(mode, args.size, args.content, args.style, image_out))
        row = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]  # the median run
        row = {**row, "runs_s": [round(r["seconds"], 1) for r in runs]}
        row["ratio"] = 1000 * now_step / row["seconds"]
        reach = steps_to_reach(baseline["curve"], row["final"]["loss"])
        row["baseline_steps_to_same_loss"] = reach
        rows.append(row)
    return rows


def print_table(rows: list[dict], machine_desc: str) -> None:
    base = rows[0]
    print(
        f"{time.strftime('%Y-%m-%d')}, {machine_desc}; baseline step {base['step_s_now']:.2f} s "
        f"now ({base['step_s_long_run']:.2f} s median in the long run, which took "
        f"{base['long_run_s']:.0f} s for {base['curve'][-1][1]} steps)\n"
    )
    print("| method | size | seconds | loss | content | style | 1000 baseline steps / "
          "method time | baseline steps to same loss | peak RSS MB |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        f = r["final"]
        reach = r.get("baseline_steps_to_same_loss", "-")
        reach = f"> {base['curve'][-1][1]}" if reach is None else reach
        print(
            f"| {r['method']} | {r['size']} | {r['seconds']:.1f} | {f['loss']:.4g} | "
            f"{f['content']:.4g} | {f['style']:.4g} | "
            f"{'-' if r is base else format(r['ratio'], '.1f') + 'x'} | {reach} | "
            f"{r['peak_rss_mb']:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=("baseline", "compare"))
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--content", default="tubingen.jpg")
    parser.add_argument("--style", default="starry_night.jpg")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "baseline-512.json")
    parser.add_argument("--baseline", type=Path, default=HERE / "out" / "baseline-512.json")
    parser.add_argument("--modes", default="standard,preview")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calib", type=int, default=12, help="baseline steps to re-time")
    parser.add_argument("--json", type=Path, help="write the table rows here")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    import nstfilter.engine  # noqa: F401  (quiet TensorFlow import)

    if args.command in (None, "baseline"):
        args.out.parent.mkdir(parents=True, exist_ok=True)
        baseline = run_baseline(args.steps, args.size, args.content, args.style, args.out,
                                HERE / "out" / f"ttq-baseline-{args.size}.png")  # fmt: skip
        if args.command == "baseline":
            print(json.dumps({k: v for k, v in baseline.items() if k != "curve"}, indent=1))
            return
    else:
        baseline = json.loads(args.baseline.read_text())
    rows = compare(baseline, args)
    print_table(rows, baseline["machine"])
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "curve"}
                                         for r in rows], indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
