"""Batch throughput: images per minute at 256 px with the real engine, per executor.

Runs the same jobs (the shared content photos, styled with The Starry Night) on
1 local worker, 2 local workers and a 2-worker Dask LocalCluster, in one run, and prints a
table. Schedule (pinned here): 256 px, 2 scales (192 -> 256 px), 20 + 5 L-BFGS steps,
which was the ``preview`` quality mode when this was written; backbone ``auto``. Each
executor first runs one tiny warm-up job per worker (TensorFlow start-up and backbone
load), which is reported separately: the images-per-minute figure is the steady state a
long batch sees.

    python benchmarks/batch_throughput.py [--images 4] [--size 256]

Numbers depend heavily on what else runs on the machine; the load average at start and
end is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def photos(count: int) -> list[tuple[str, bytes]]:
    import io

    sources = sorted((DATA / "content").glob("*.jpg"))
    out = []
    for i in range(count):
        path = sources[i % len(sources)]
        data = path.read_bytes()
        if i >= len(sources):  # more jobs than photos: mirrored copies, distinct inputs
            buffer = io.BytesIO()
            ImageOps.mirror(Image.open(path).convert("RGB")).save(buffer, "JPEG", quality=92)
            data = buffer.getvalue()
        out.append((f"{path.stem}-{i}", data))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4, help="jobs per executor")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument(
        "--configs", default="local1,local2,dask2", help="comma list of local1, local2, dask2"
    )
    args = parser.parse_args()

    from nstfilter.executors.dask_cluster import DaskExecutor
    from nstfilter.executors.local import LocalExecutor
    from nstfilter.jobs import Job
    from nstfilter.params import StyleParams

    # pinned (not read from the "preview" quality mode, which may be retuned), so numbers
    # from different days compare: the preview mode as it was when this was written
    params = StyleParams(
        size=args.size, scales=2, min_size=192, coarse_iterations=20, iterations=5,
        optimizer="lbfgs", init="content", seed=0,
    )  # fmt: skip
    warm = params.replace(size=64, scales=1, iterations=1)
    style = ((DATA / "styles" / "starry_night.jpg").read_bytes(), 1.0)
    images = photos(args.images)
    jobs = [Job(name, name, data, params, (style,)) for name, data in images]

    configs = {
        "local1": ("local, 1 worker", lambda: LocalExecutor(workers=1)),
        "local2": ("local, 2 workers", lambda: LocalExecutor(workers=2)),
        "dask2": ("Dask LocalCluster, 2 workers", lambda: DaskExecutor(workers=2)),
    }
    print(
        f"schedule: {params.size} px: scales {params.scales} "
        f"(min {params.min_size}), {params.coarse_iterations}+{params.iterations} "
        f"{params.optimizer} steps; {len(jobs)} images per executor; "
        f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    rows = []
    for name in args.configs.split(","):
        label, factory = configs[name]
        start = time.perf_counter()
        with factory() as executor:
            workers = getattr(executor, "workers", 2)
            warmups = [
                Job(f"warm{i}", f"warm{i}", images[0][1], warm, (style,)) for i in range(workers)
            ]
            if hasattr(executor, "client"):  # Dask: one warm-up on every worker, for sure
                from nstfilter.jobs import run_job

                warmed = executor.client.run(run_job, warmups[0]).values()
                failed = [o.error for o in warmed if not o.ok]
            else:
                failed = [o.error for _, o in executor.map_unordered(warmups) if not o.ok]
            warm_seconds = time.perf_counter() - start
            begin = time.perf_counter()
            outcomes = [o for _, o in executor.map_unordered(jobs)]
            seconds = time.perf_counter() - begin
            backbone = next((o.metrics.get("backbone") for o in outcomes if o.ok), "?")
        failed += [o.error for o in outcomes if not o.ok]
        if failed:
            print(f"{label}: failures: {failed}", file=sys.stderr)
        per_image = sum(o.seconds for o in outcomes) / max(1, len(outcomes))
        rows.append(
            (label, executor.description, len(jobs) * 60.0 / seconds, per_image, warm_seconds)
        )
        print(
            f"  {label}: {rows[-1][2]:.2f} images/min, {per_image:.1f} s per image "
            f"in a worker, start-up {warm_seconds:.1f} s ({backbone})",
            flush=True,
        )

    print()
    print(f"| executor | images/min at {params.size} px | s per image (in worker) | start-up s |")
    print("|---|---:|---:|---:|")
    for label, description, rate, per_image, warm_seconds in rows:
        print(f"| {label} ({description}) | {rate:.2f} | {per_image:.1f} | {warm_seconds:.1f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
