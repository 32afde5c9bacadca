"""The filter API: ``stylize()`` for callers that hold images in memory. Every front-end
comes through :func:`run_filter`, so the plugin hooks fire the same way whoever asks."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .errors import NstError, PluginError, UsageError
from .events import Progress
from .filters import FilterOutput
from .imageio import LoadedImage, fit_longest, load_image, normalize
from .params import STYLE_WEIGHT, StyleParams
from .plugins import Plugins, blame, checked_image

log = logging.getLogger(__name__)

ImageLike = Image.Image | LoadedImage | str | Path
StyleSpec = ImageLike | tuple[ImageLike, float]


class StylizeResult(FilterOutput):
    """The styled image (alpha re-attached when the content had one) and its metrics."""


def as_loaded(image: ImageLike) -> LoadedImage:
    """Accept a path, a PIL image or an already loaded image."""
    if isinstance(image, LoadedImage):
        return image
    return normalize(image) if isinstance(image, Image.Image) else load_image(image)


def _style_list(styles: Sequence[StyleSpec] | StyleSpec) -> list[tuple[Image.Image, float]]:
    if isinstance(styles, (str, Path, Image.Image, LoadedImage)):
        styles = [styles]
    pairs = [spec if isinstance(spec, tuple) else (spec, 1.0) for spec in styles]
    return [(as_loaded(image).rgb, STYLE_WEIGHT.check(w, "style weight")) for image, w in pairs]


def run_filter(
    content: ImageLike,
    styles: Sequence[StyleSpec] | StyleSpec,
    params: StyleParams,
    *,
    callback: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    plugins: Plugins | None = None,
    on_snapshot: Callable[[np.ndarray, Progress], None] | None = None,
    snapshot_every: int = 0,
) -> StylizeResult:
    """Style ``content`` with ``styles`` under ``params`` through the plugin pipeline.

    ``on_snapshot(image, progress)`` gets the image being optimised ((H, W, 3) floats in
    [0, 1]) every ``snapshot_every`` steps, from filters whose ``apply`` takes it. Pass
    ``plugins`` to keep compiled models between calls (else a fresh :meth:`Plugins.load`)."""
    plugins = plugins or Plugins.load()
    start = time.perf_counter()
    loaded = as_loaded(content)
    style_images = _style_list(styles)
    chosen = plugins.filter(params.filter)
    original = fit_longest(loaded.rgb, params.working_size(max(loaded.size)), name=loaded.path)
    image = plugins.preprocess(original, params)

    def progress(event: Progress) -> None:
        plugins.progress(event)
        if callback is not None:
            callback(event)

    snapshots: dict[str, Any] = {}
    if on_snapshot is not None and snapshot_every > 0:
        if "on_snapshot" in inspect.signature(chosen.apply).parameters:
            snapshots = {"on_snapshot": on_snapshot, "snapshot_every": snapshot_every}
        else:
            log.warning("filter %s cannot save intermediate results", params.filter)
    try:
        output = chosen.apply(image, style_images, params, progress, should_stop, **snapshots)
    except NstError as exc:  # a filter knows pixels, not files: name the photo
        raise exc.naming(loaded.path) from None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - a plugin's filter, SystemExit included
        raise blame(exc, f"filter {params.filter}", "apply") from exc
    if not isinstance(output, FilterOutput):
        raise PluginError(f"filter {params.filter} returned a {type(output).__name__} from apply")
    checked_image(output.image, f"filter {params.filter}", "apply")
    result = plugins.postprocess(output.image, original, params)
    if loaded.alpha is not None:
        result = result.convert("RGB")
        result.putalpha(loaded.alpha.resize(result.size, Image.Resampling.LANCZOS))
    seconds = round(time.perf_counter() - start, 3)
    metrics = {"filter": params.filter, **output.metrics, "seconds": seconds}
    return StylizeResult(result, {**metrics, "size": list(result.size)})


def stylize(
    content: ImageLike,
    styles: Sequence[StyleSpec] | StyleSpec | None = None,
    *,
    preset: str | None = None,
    params: StyleParams | None = None,
    callback: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    plugins: Plugins | None = None,
    quality: str | None = None,
    **overrides: Any,
) -> Image.Image:
    """Style an image and return it as a PIL image. ``styles``: paths or PIL images, maybe
    ``(image, weight)`` pairs; ``styles``/``params``/``overrides`` win over a ``preset``'s.
    ``quality``: a mode of ``nstfilter.schedules`` (``"fast"``: the instant filter, no
    TensorFlow), applied before the ``overrides``, as ``--quality`` is on the CLI."""
    plugins = plugins or Plugins.load()
    if preset is not None:
        from .presets import load_preset

        resolved = load_preset(preset, plugins=plugins)
        params = params or resolved.params
        styles = resolved.styles if styles is None else styles
    if styles is None:
        raise UsageError("no style image given (pass styles= or preset=)")
    from .schedules import apply_quality

    params = apply_quality(params or StyleParams(), quality).replace(**overrides)
    run = run_filter(content, styles, params, callback=callback, should_stop=should_stop,
                     plugins=plugins)  # fmt: skip
    return run.image
