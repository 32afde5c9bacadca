"""How far the progress ETA is from the real remaining time, on one real run.

Runs the filter once (default: StyleParams' schedule, 3 scales up to 512 px, tubingen.jpg
in the style of the bundled Starry Night), records every Progress event, feeds them to
:class:`nstfilter.eta.CostEta` as the CLI does, and prints a Markdown table: at 25 %, 50 %
and 75 % of the run's time, the cost-weighted ETA, the old equal-steps ETA and the real
remaining time (to the last step), with each error in %.

    python benchmarks/eta_accuracy.py [--size 512] [--scales 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--scales", type=int, default=3)
    args = parser.parse_args()

    from nstfilter import run_filter
    from nstfilter.eta import CostEta, format_seconds
    from nstfilter.params import StyleParams
    from nstfilter.presets import BUNDLED_DIR

    params = StyleParams(size=args.size, scales=args.scales)
    events, estimates = [], []
    eta = CostEta()

    def record(event) -> None:
        events.append(event)
        estimates.append(eta.update(event))

    started = time.perf_counter()
    result = run_filter(
        DATA / "content" / "tubingen.jpg",
        [BUNDLED_DIR / "styles" / "starry_night.jpg"],
        params,
        callback=record,
    )
    wall = time.perf_counter() - started
    end = events[-1].seconds
    print(
        f"{args.size} px, {events[-1].scales} scales, {events[-1].total} steps, "
        f"backbone {result.metrics['backbone']}: optimisation {end:.1f} s, wall {wall:.1f} s\n"
    )
    header = ["at", "step", "scale", "ETA (pixel cost)", "ETA (equal steps)", "real remaining"]
    print("| " + " | ".join([*header, "error", "equal-steps error"]) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for share in (0.25, 0.5, 0.75):
        i = min(range(len(events)), key=lambda k: abs(events[k].seconds - share * end))
        e, real = events[i], end - events[i].seconds
        equal = e.seconds / e.step * (e.total - e.step)
        print(
            f"| {share:.0%} of the time | {e.step}/{e.total} | {e.scale}/{e.scales} | "
            f"{format_seconds(estimates[i])} | {format_seconds(equal)} | {format_seconds(real)} | "
            f"{(estimates[i] - real) / real:+.0%} | {(equal - real) / real:+.0%} |"
        )


if __name__ == "__main__":
    main()
