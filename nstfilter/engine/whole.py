"""One whole image through the coarse-to-fine schedule: start, scales, result.

The start is where the look is won or lost: a photo's own colours are a deep local optimum,
so by default the run starts from the photo *in the painting's palette* (Gatys et al. 2017)
and the coarse scales paint the large strokes that the fine scale only sharpens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from ..errors import Cancelled
from ..events import Listeners, Progress
from ..palette import finish_palette, palette_transfer
from ..params import StyleParams
from .losses import clip_0_1
from .objective import (
    NO_TEMPORAL,
    LossTerms,
    StyleTensors,
    Stylizer,
    Temporal,
    resolve_weights,
    temporal_weight,
)
from .optimizers import AdamState, optimize_image
from .pyramid import bucket_shape, pad_to, resize, scale_sizes, scale_steps

ProgressCallback = Callable[[Progress], None]
ShouldStop = Callable[[], bool]
#: ``on_snapshot(image, progress)``: the current (H, W, 3) image in [0, 1] every N steps.
SnapshotCallback = Callable[[np.ndarray, Progress], None]
#: style images (H, W, 3) in [0, 1] with their weights
Styles = Sequence[tuple[np.ndarray, float]]


@dataclass
class EngineResult:
    """What a run produced: pixels in [0, 1] (H, W, 3) and how it got there."""

    image: np.ndarray
    initial: LossTerms  # at the final size, on the initial image
    final: LossTerms  # at the final size, on the result
    iterations: int
    seconds: float
    backbone: str
    sizes: list[tuple[int, int]] = field(default_factory=list)
    content_weight: float = 0.0
    style_weight: float = 0.0
    precision: str = "float32"  # what the backbone's convolutions computed in


@dataclass
class Reporter:
    """A :data:`Report` that checks for cancellation, emits :class:`Progress` and snapshots;
    ``exact`` crops snapshots back from the padded working size, ``last`` keeps the terms."""

    listeners: Listeners
    start: float
    total: int
    scale: int
    scales: int
    size: tuple[int, int]
    exact: tuple[int | None, int | None] = (None, None)
    last: Sequence[tf.Tensor] | None = None

    def __call__(self, terms, step: int, image: Callable[[], np.ndarray]) -> None:
        self.last = terms
        listeners = self.listeners
        if listeners.should_stop is not None and listeners.should_stop():
            raise Cancelled("cancelled")
        every = listeners.snapshot_every
        want_snapshot = listeners.on_snapshot is not None and every > 0 and step % every == 0
        if listeners.callback is None and not want_snapshot:
            return
        seconds = time.perf_counter() - self.start
        # Progress: step, total, scale, scales, height, width, the 4 loss terms, seconds
        event = Progress(
            step, self.total, self.scale, self.scales, *self.size, *map(float, terms), seconds
        )
        if listeners.callback is not None:
            listeners.callback(event)
        if want_snapshot:
            pixels = np.asarray(image(), np.float32)[0, : self.exact[0], : self.exact[1]]
            listeners.on_snapshot(np.clip(pixels, 0.0, 1.0), event)


def engine_result(stylizer: Stylizer, params: StyleParams, start: float, **fields) -> EngineResult:
    """An :class:`EngineResult` of ``fields``, with the run's time, backbone and weights."""
    content_w, style_w = resolve_weights(params, stylizer.backbone)
    return EngineResult(
        seconds=time.perf_counter() - start, backbone=stylizer.backbone.name,
        content_weight=content_w, style_weight=style_w, precision=stylizer.precision, **fields,
    )  # fmt: skip


def style_tensors(styles: Styles) -> StyleTensors:
    """The styles that count (weight > 0) as (1, H, W, 3) tensors."""
    return [(tf.convert_to_tensor(s[None], tf.float32), float(w)) for s, w in styles if w > 0]


def initial_image(content: tf.Tensor, styles: StyleTensors, params: StyleParams) -> tf.Tensor:
    """The starting point: the photo, the photo in the painting's palette, seeded noise,
    or the main style image; ``styles`` are those that count (:func:`style_tensors`)."""
    if params.init == "content":
        return tf.identity(content)
    if params.init == "noise":
        seed = (params.seed or 0, 0x5EED)
        return tf.random.stateless_uniform(tf.shape(content), seed=seed, dtype=tf.float32)
    if params.init == "palette":
        recoloured = palette_transfer(content[0].numpy(), [(s[0].numpy(), w) for s, w in styles])
        return tf.convert_to_tensor(recoloured[None], tf.float32)
    return clip_0_1(resize(max(styles, key=lambda s: s[1])[0], tuple(content.shape[1:3])))


def stylize_whole(
    stylizer: Stylizer,
    content: np.ndarray,
    styles: Styles,
    params: StyleParams,
    listeners: Listeners,
    *,
    start_image: np.ndarray | None = None,
    total_steps: int | None = None,
    temporal: Temporal | None = None,
) -> EngineResult:
    """The coarse-to-fine schedule on the whole image (no tiling), at the bucketed size;
    ``temporal`` adds the video frame's temporal term at every scale."""
    start = time.perf_counter()
    exact = tuple(content.shape[:2])
    working = bucket_shape(*exact)
    full = tf.convert_to_tensor(pad_to(content, working)[None], tf.float32)
    style_ts = style_tensors(styles)
    sizes = scale_sizes(*working, params)
    steps = scale_steps(sizes, params)
    total = total_steps if total_steps is not None else sum(steps)
    if start_image is None:
        image = initial_image(full, style_ts, params)
    else:
        image = tf.convert_to_tensor(pad_to(start_image, working)[None], tf.float32)
    final_targets = stylizer.targets(full, style_ts, params)
    initial_terms = stylizer.loss_terms(image, final_targets)
    pinned = NO_TEMPORAL
    if temporal is not None:  # weighed against this frame's own loss at its start
        weight = temporal_weight(temporal, float(initial_terms[0]))
        temporal = Temporal(
            pad_to(temporal.target, working), pad_to(temporal.mask[..., None], working)[..., 0],
            temporal.weight,
        )  # fmt: skip
        pinned = temporal.tensors(working, weight)
        final_targets = (*final_targets[:4], pinned)
    adam_state = AdamState()
    done = 0
    for index, (size, n_steps) in enumerate(zip(sizes, steps), start=1):
        image = resize(image, size)
        final = size == working
        if final:
            targets = final_targets
        else:
            scaled = pinned if temporal is None else temporal.tensors(size, float(pinned[2]))
            targets = stylizer.targets(resize(full, size), style_ts, params, scaled)
        report = Reporter(
            listeners, start, total, index, len(sizes), size, exact if final else (None, None)
        )
        image = optimize_image(stylizer, image, targets, n_steps, params, report, done, adam_state)
        done += n_steps
    image = tf.convert_to_tensor(finish_palette(image[0].numpy(), styles, params)[None])
    return engine_result(
        stylizer, params, start,
        image=image[0, : exact[0], : exact[1]].numpy(),
        initial=LossTerms(*map(float, initial_terms)),
        final=LossTerms(*map(float, stylizer.loss_terms(image, final_targets))),
        iterations=sum(steps), sizes=sizes,
    )  # fmt: skip
