"""The ETA weights each step by its pixel cost: synthetic runs with known costs."""

from __future__ import annotations

import json
import logging

import pytest

from nstfilter.eta import CostEta, PeriodicLog, format_seconds
from nstfilter.events import Progress

SECONDS_PER_PIXEL_STEP = 1e-5


def run(sizes: list[tuple[int, int]], steps: list[int], fixed: float = 0.0) -> list[Progress]:
    """A run's events where a step costs exactly ``fixed`` plus its pixels' share."""
    events, step, clock, total = [], 0, 0.0, sum(steps)
    for scale, ((h, w), n) in enumerate(zip(sizes, steps), start=1):
        for _ in range(n):
            step += 1
            clock += fixed + h * w * SECONDS_PER_PIXEL_STEP
            events.append(Progress(step, total, scale, len(sizes), h, w, 1.0, 0.5, 0.5, 0.0, clock))
    return events


def eta_at(events: list[Progress], step: int) -> tuple[float, float]:
    """(estimated, true) seconds left after ``step``."""
    eta = CostEta()
    for event in events[:step]:
        estimate = eta.update(event)
    return estimate, events[-1].seconds - events[step - 1].seconds


DEFAULT = run([(96, 128), (192, 256), (384, 512)], [60, 60, 60])  # StyleParams' schedule


@pytest.mark.parametrize("step", [90, 120, 150])
def test_eta_counts_pixels_not_steps(step):
    estimate, true = eta_at(DEFAULT, step)
    assert estimate == pytest.approx(true, rel=1e-6)
    elapsed = DEFAULT[step - 1].seconds
    equal_steps = elapsed / step * (len(DEFAULT) - step)  # what the old bar said
    assert abs(equal_steps - true) / true > 0.5  # the fixture is one the old ETA got wrong


def test_no_estimate_before_the_second_of_several_scales():
    # neither the sizes ahead nor the split of the steps are known yet: no number beats a
    # wrong one (the bar shows -:--)
    assert eta_at(DEFAULT, 30)[0] is None
    assert eta_at(DEFAULT, 61)[0] == pytest.approx(eta_at(DEFAULT, 61)[1], rel=1e-6)


def test_a_fixed_cost_per_step_is_fitted_from_two_scales():
    # small steps carry an overhead, so pixels alone would overestimate the last scale
    events = run([(96, 128), (192, 256), (384, 512)], [60, 60, 60], fixed=0.05)
    estimate, true = eta_at(events, 90)
    assert estimate == pytest.approx(true, rel=1e-6)
    step2 = events[89].seconds - events[88].seconds
    proportional = 30 * step2 + 60 * 4 * step2  # scale 3 as 4x scale 2's step time
    assert (proportional - true) / true > 0.05  # a fixture that pixels alone get wrong


def test_uneven_schedule_and_growth_are_learnt_from_the_scales_seen():
    # the preview mode's shape: many cheap coarse steps, a few expensive fine ones; the
    # side grows 1.5x per scale, not 2x
    events = run([(100, 100), (150, 150), (225, 225)], [15, 15, 3])
    estimate, true = eta_at(events, 20)  # in scale 2
    assert estimate == pytest.approx(true, rel=1e-6)
    assert eta_at(events, 31)[0] == pytest.approx(eta_at(events, 31)[1], rel=1e-6)


def test_single_scale_and_the_end():
    events = run([(64, 64)], [10])
    assert eta_at(events, 4)[0] == pytest.approx(eta_at(events, 4)[1])
    assert eta_at(events, 10)[0] == 0.0
    assert CostEta().remaining() is None


def test_fraction_is_cost_weighted():
    eta = CostEta()
    for event in DEFAULT[:120]:
        eta.update(event)
    done = 60 * 96 * 128 + 60 * 192 * 256
    assert eta.fraction() == pytest.approx(done / (done + 60 * 384 * 512))


def test_format_seconds():
    assert [format_seconds(s) for s in (None, 5, 80, 3725)] == ["-:--", "0:05", "1:20", "1:02:05"]


def test_periodic_log_line_every_interval(caplog):
    now = [0.0]
    logger = logging.getLogger("test.eta")
    callback = PeriodicLog("photo.jpg", logger, every=30, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="test.eta"):
        for event in DEFAULT:
            now[0] = event.seconds
            callback(event)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == int(DEFAULT[-1].seconds // 30)  # one per 30 s, none at the end
    assert lines[0].startswith("photo.jpg: scale ") and ", ETA " in lines[0]
    scale, step = lines[-1].split(", ")[:2]
    assert scale == "photo.jpg: scale 3/3" and step.startswith("step ") and step.endswith("/180")


def test_cli_progress_reports_the_weighted_eta(capsys, caplog):
    from nstfilter.cli.progress import ProgressPlugin

    true = DEFAULT[-1].seconds - DEFAULT[119].seconds
    as_json = ProgressPlugin("json")
    as_json.start("photo.jpg")
    for event in DEFAULT[:120]:
        as_json.nstfilter_progress(event=event)
    last = json.loads(capsys.readouterr().err.splitlines()[-1])
    assert last["step"] == 120 and last["eta_seconds"] == pytest.approx(true, abs=0.1)
    as_log = ProgressPlugin("log")
    as_log.start("photo.jpg")
    with caplog.at_level(logging.INFO, logger="nstfilter.progress"):
        for event in DEFAULT[:120]:
            as_log.nstfilter_progress(event=event)
    assert caplog.records[-1].getMessage().endswith(f"ETA {format_seconds(true)}")
