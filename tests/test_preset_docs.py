"""The bundled presets' schedules in docs/presets.md are generated from the presets (as the
settings table is from the settings), so the docs cannot drift from them: on a change, paste
the table this test prints between the markers."""

from __future__ import annotations

import re

import helpers

from nstfilter.presets import load_preset

BUNDLED = helpers.REPO / "nstfilter" / "_bundled_presets"
DOCS = helpers.DOCS / "presets.md"


def steps(params) -> str:
    """The steps a photo larger than ``min_size`` gets (engine/pyramid.py's schedule)."""
    if params.filter != "neural-style":
        return "one pass"
    if params.scales == 1:
        return f"{params.iterations} at {params.size} px"
    total = (params.scales - 1) * params.coarse_iterations + params.iterations
    return (
        f"{params.scales - 1} x {params.coarse_iterations} from {params.min_size} px + "
        f"{params.iterations} at {params.size} px = {total}"
    )


def schedule_table() -> str:
    rows = ["| preset | filter | size | steps | optimiser | start |", "|---|---|---|---|---|---|"]
    for path in sorted(BUNDLED.glob("*.toml")):
        params = load_preset(path.stem, require_images=False).params
        optimiser = params.optimizer if params.filter == "neural-style" else "-"
        start = params.init if params.filter == "neural-style" else "-"
        rows.append(
            f"| `{path.stem}` | {params.filter} | {params.size} | {steps(params)} | "
            f"{optimiser} | {start} |"
        )
    return "\n".join(rows) + "\n"


def test_docs_schedules_are_the_presets():
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(r"<!-- preset-schedules[^>]*-->\n(.*?)<!-- /preset-schedules -->", text, re.S)
    assert found, "docs/presets.md lost its preset-schedules markers"
    expected = schedule_table()
    assert found.group(1) == expected, f"regenerate the table:\n{expected}"


def test_the_table_follows_a_changed_schedule():
    """The check can fail: another schedule gives another row."""
    params = load_preset("shipwreck-hires", require_images=False).params
    assert steps(params) != steps(params.replace(iterations=params.iterations + 1))
