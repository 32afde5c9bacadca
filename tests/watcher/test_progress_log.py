"""A long drop-folder job logs how far it is (threads: the job inline in the watcher's
worker thread, synthetic progress)."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from PIL import Image

from nstfilter import api
from nstfilter.events import Progress
from nstfilter.params import StyleParams
from nstfilter.plugins import Plugins
from nstfilter.presets import Preset
from nstfilter.watcher import compute


def test_in_process_jobs_log_scale_step_and_eta(tmp_path, monkeypatch, caplog):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (40, 30), "red").save(photo)

    def fake_run_filter(content, styles, params, *, callback=None, **_):
        for step in range(1, 7):  # two scales of three steps, 4x the pixels each
            scale, side = (1, 16) if step <= 3 else (2, 32)
            callback(Progress(step, 6, scale, 2, side, side, 1, 1, 0, 0, float(step * side)))
        return SimpleNamespace(image=content.rgb, metrics={})

    monkeypatch.setattr(api, "run_filter", fake_run_filter)
    monkeypatch.setattr(compute, "PROGRESS_EVERY", 0.0)  # every event instead of every 30 s
    preset = Preset("p", StyleParams(), styles=[], quality=90)
    runner = compute.make_compute("threads", Plugins(), lambda: False, workers=1)
    resolved = SimpleNamespace(styles=[], preset=preset)
    with caplog.at_level(logging.INFO, logger="nstfilter.watch"):
        data, _ = runner(photo, resolved, tmp_path / "photo.p.png")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("photo.jpg:")]
    assert data and len(lines) == 5  # none for the last step: the job is done
    assert lines[0].startswith("photo.jpg: scale 1/2, step 1/6, ETA ")
    assert lines[-1] == "photo.jpg: scale 2/2, step 5/6, ETA 0:32"  # one 32 px step left
