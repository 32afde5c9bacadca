"""One whole image through the coarse-to-fine schedule: start, scales, result.

The start is where the look is won or lost. A photo's own colours are a deep local optimum
of the objective (the content term holds them and the Gram terms barely see a global colour
shift), so by default the optimisation starts from the photo *recoloured with the painting's
palette* (``init = "palette"``, :func:`palette_transfer`; Gatys et al. 2017, "Controlling
perceptual factors in neural style transfer"), and the coarse scales then paint the large
strokes that the fine scale only sharpens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from ..events import Progress
from ..params import StyleParams
from .losses import clip_0_1
from .objective import LossTerms, Stylizer, resolve_weights
from .optimizers import AdamState, Report, optimize_image
from .pyramid import bucket_shape, pad_to, resize, scale_sizes

ProgressCallback = Callable[[Progress], None]
ShouldStop = Callable[[], bool]
#: ``on_snapshot(image, progress)``: the current (H, W, 3) image in [0, 1] every N steps.
SnapshotCallback = Callable[[np.ndarray, Progress], None]


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


@dataclass(frozen=True)
class Listeners:
    """Who hears about a run: progress, cancellation and snapshots (all optional)."""

    callback: ProgressCallback | None = None
    should_stop: ShouldStop | None = None
    on_snapshot: SnapshotCallback | None = None
    snapshot_every: int = 0


def make_reporter(
    listeners: Listeners,
    start: float,
    total: int,
    scale: int,
    scales: int,
    size: tuple[int, int],
    exact: tuple[int, int] | None = None,
) -> Report:
    """A :data:`Report` that checks for cancellation, emits :class:`Progress` and snapshots.

    ``exact`` crops snapshots of the final scale back from the padded working size.
    """
    from ..errors import Cancelled

    def report(terms, step: int, image: Callable[[], np.ndarray]) -> None:
        if listeners.should_stop is not None and listeners.should_stop():
            raise Cancelled("cancelled")
        want_snapshot = (
            listeners.on_snapshot is not None
            and listeners.snapshot_every > 0
            and step % listeners.snapshot_every == 0
        )
        if listeners.callback is None and not want_snapshot:
            return
        lt = LossTerms.from_tensors(terms)
        event = Progress(
            step=step, total=total, scale=scale, scales=scales,
            height=size[0], width=size[1], loss=lt.loss,
            content_loss=lt.content, style_loss=lt.style, tv_loss=lt.tv,
            seconds=time.perf_counter() - start,
        )  # fmt: skip
        if listeners.callback is not None:
            listeners.callback(event)
        if want_snapshot:
            pixels = np.asarray(image(), np.float32)[0]
            if exact is not None:
                pixels = pixels[: exact[0], : exact[1]]
            listeners.on_snapshot(np.clip(pixels, 0.0, 1.0), event)

    return report


def palette_transfer(content: np.ndarray, styles: Sequence[tuple[np.ndarray, float]]) -> np.ndarray:
    """``content`` (H, W, 3) recoloured so its colours have the mean and covariance of the
    styles' pixels (blended by weight): the linear, Monge-Kantorovich colour transfer of
    Gatys et al. 2017.

    Linear, so the photo's light and shade survive; only its palette is replaced.
    """
    total = sum(w for _, w in styles)
    my = np.zeros(3)
    second = np.zeros((3, 3))
    for pixels, weight in styles:
        y = pixels.reshape(-1, 3).astype(np.float64)
        my += weight / total * y.mean(0)
        second += weight / total * (y.T @ y) / len(y)
    cy = second - np.outer(my, my) + 1e-4 * np.eye(3)
    x = content.reshape(-1, 3).astype(np.float64)
    mx = x.mean(0)
    cx = np.cov(x, rowvar=False) + 1e-4 * np.eye(3)
    a = _sqrtm(cx)
    a_inv = np.linalg.inv(a)
    transfer = a_inv @ _sqrtm(a @ cy @ a) @ a_inv
    out = (x - mx) @ transfer.T + my
    return np.clip(out, 0.0, 1.0).reshape(content.shape).astype(np.float32)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite 3x3 matrix."""
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T


def initial_image(
    content: tf.Tensor, styles: Sequence[tuple[tf.Tensor, float]], params: StyleParams
) -> tf.Tensor:
    """The starting point: the photo, the photo in the painting's palette, seeded noise,
    or the main style image."""
    if params.init == "content":
        return tf.identity(content)
    if params.init == "noise":
        seed = (params.seed or 0, 0x5EED)
        return tf.random.stateless_uniform(tf.shape(content), seed=seed, dtype=tf.float32)
    main_style = max(styles, key=lambda s: s[1])[0]
    if params.init == "palette":
        palette = [(s[0].numpy(), w) for s, w in styles if w > 0]
        recoloured = palette_transfer(content[0].numpy(), palette)
        return tf.convert_to_tensor(recoloured[None], tf.float32)
    return clip_0_1(resize(main_style, tuple(content.shape[1:3])))


def stylize_whole(
    stylizer: Stylizer,
    content: np.ndarray,
    styles: Sequence[tuple[np.ndarray, float]],
    params: StyleParams,
    listeners: Listeners,
    *,
    start_image: np.ndarray | None = None,
    step_offset: int = 0,
    total_steps: int | None = None,
) -> EngineResult:
    """The coarse-to-fine schedule on the whole image (no tiling), at the bucketed size."""
    start = time.perf_counter()
    exact = content.shape[:2]
    working = bucket_shape(*exact)
    content = pad_to(content, working)
    if start_image is not None:
        start_image = pad_to(start_image, working)
    full = tf.convert_to_tensor(content[None], tf.float32)
    style_ts = [(tf.convert_to_tensor(s[None], tf.float32), float(w)) for s, w in styles if w > 0]
    height, width = int(full.shape[1]), int(full.shape[2])
    sizes = scale_sizes(height, width, params)
    steps = [params.coarse_iterations] * (len(sizes) - 1) + [params.iterations]
    total = total_steps if total_steps is not None else sum(steps)

    if start_image is None:
        start_tensor = initial_image(full, style_ts, params)
    else:
        start_tensor = tf.convert_to_tensor(start_image[None], tf.float32)
    image = resize(start_tensor, sizes[0])
    final_targets = stylizer.targets(full, style_ts, params)
    initial_terms = stylizer.loss_terms(start_tensor, final_targets)
    adam_state = AdamState()
    done = step_offset
    for index, (size, n_steps) in enumerate(zip(sizes, steps), start=1):
        image = resize(image, size)
        if size == (height, width):
            targets = final_targets
        else:
            targets = stylizer.targets(resize(full, size), style_ts, params)
        crop = tuple(exact) if size == (height, width) else None
        report = make_reporter(listeners, start, total, index, len(sizes), size, crop)
        image = optimize_image(stylizer, image, targets, n_steps, params, report, done, adam_state)
        done += n_steps
    final_terms = stylizer.loss_terms(image, final_targets)
    content_w, style_w = resolve_weights(params, stylizer.backbone)
    return EngineResult(
        image=image[0, : exact[0], : exact[1]].numpy(),
        initial=LossTerms.from_tensors(initial_terms),
        final=LossTerms.from_tensors(final_terms),
        iterations=sum(steps),
        seconds=time.perf_counter() - start,
        backbone=stylizer.backbone.name,
        sizes=sizes,
        content_weight=content_w,
        style_weight=style_w,
    )
