"""The optimisation loop: targets, ``train_step`` (Adam), L-BFGS, coarse-to-fine scales.

Design choices, each fixing a defect or a cost of the published snippets:

* One compiled graph per objective, traced once with an input signature whose spatial
  dimensions are ``None``: a long-running watcher feeding many image sizes does not retrace
  and grow memory. Targets and weights are graph *inputs*, so presets with other weights
  reuse the same graph too.
* Adam is written out in the graph rather than taken from ``keras.optimizers``: its state
  (``m``, ``v``, ``t``) must be carried from one scale to the next (upsampled with the
  image), and a Keras optimizer binds its slots to one variable shape. It is created once
  per run, never per step (a defect of the published snippet).
* L-BFGS is SciPy's L-BFGS-B with the [0, 1] box as bounds, driven by the same compiled
  loss-and-gradient function: the classic optimiser of Gatys et al.'s implementations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from ..errors import Cancelled, UsageError
from ..events import Progress
from ..params import StyleParams
from .backbones import Backbone
from .losses import clip_0_1, gram_matrix, style_content_loss, total_variation_loss
from .model import StyleContentModel

# Keras' Adam default; the tutorial changes only lr, beta_1 and epsilon.
ADAM_BETA_2 = 0.999


@dataclass(frozen=True)
class LossTerms:
    """The objective's terms, all already multiplied by their weights."""

    loss: float
    content: float
    style: float
    tv: float

    @classmethod
    def from_tensors(cls, values: Sequence[tf.Tensor]) -> LossTerms:
        return cls(*(float(v) for v in values))


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


ProgressCallback = Callable[[Progress], None]
ShouldStop = Callable[[], bool]


def scale_sizes(height: int, width: int, params: StyleParams) -> list[tuple[int, int]]:
    """Image sizes of the coarse-to-fine pyramid, ending at (height, width).

    Longest sides grow geometrically from ``min_size``; a target at or below ``min_size``
    runs at a single scale.
    """
    longest = max(height, width)
    if params.scales == 1 or longest <= params.min_size:
        return [(height, width)]
    sizes = []
    for i in range(params.scales):
        side = params.min_size * (longest / params.min_size) ** (i / (params.scales - 1))
        factor = side / longest
        sizes.append((max(1, round(height * factor)), max(1, round(width * factor))))
    sizes[-1] = (height, width)
    return sizes


def _resize(image: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    """Resize a (1, H, W, C) tensor; antialiased when shrinking, bilinear when growing."""
    if tuple(image.shape[1:3]) == tuple(size):
        return image
    shrinking = size[0] < image.shape[1]
    return tf.image.resize(image, size, method="bilinear", antialias=shrinking)


#: Add the content's high frequencies lost by the coarse scale when moving up a scale.
DETAIL_TRANSFER = True


def upsample_with_detail(
    image: tf.Tensor, content: tf.Tensor, coarse: tuple[int, int], size: tuple[int, int]
) -> tf.Tensor:
    """``image`` (at ``coarse``) resized to ``size``, plus the content's detail band.

    A bilinear upsample is blurry, and blur is what the finest style layers punish most: the
    loss at the new scale starts far above where the coarse scale ended, and the expensive
    fine-scale iterations are spent re-sharpening. Adding back ``content - up(down(content))``
    (one Laplacian-pyramid band of the photo) starts the fine scale sharp.
    """
    up = _resize(image, size)
    if not DETAIL_TRANSFER or tuple(coarse) == tuple(size):
        return up
    fine = _resize(content, size)
    detail = fine - _resize(_resize(fine, coarse), size)
    return clip_0_1(up + detail)


#: Working sizes are padded up to a multiple of this many pixels (fewer at small sizes).
SHAPE_BUCKET = 16


def bucket_shape(height: int, width: int) -> tuple[int, int]:
    """The padded working size for an image of (height, width).

    TensorFlow's oneDNN kernels keep compiled primitives per input shape (a bounded LRU
    cache; measured 1.5-3 MB per new shape for the VGG loss and gradient), so a watcher fed
    photos of every aspect ratio would grow its memory with each new shape. Rounding the
    working size up to a multiple of ``SHAPE_BUCKET`` (``longest // 16`` for small images)
    caps the distinct shapes at about 32 per side length, at the price of at most
    ``SHAPE_BUCKET - 1`` mirrored rows and columns, cropped off again.
    """
    step = max(1, min(SHAPE_BUCKET, max(height, width) // 16))
    return -(-height // step) * step, -(-width // step) * step


def _pad_to(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(H, W, C) mirrored at the bottom and right edges up to ``shape``."""
    pad_h, pad_w = shape[0] - image.shape[0], shape[1] - image.shape[1]
    if pad_h == 0 and pad_w == 0:
        return image
    return np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="symmetric")


def _fit_longest(image: tf.Tensor, longest: int) -> tf.Tensor:
    h, w = int(image.shape[1]), int(image.shape[2])
    factor = longest / max(h, w)
    return _resize(image, (max(1, round(h * factor)), max(1, round(w * factor))))


class Stylizer:
    """A compiled objective for one backbone and one choice of layers.

    Cheap to keep around: the watcher and batch workers reuse one per preset family, and
    weights travel as graph inputs so they do not force a retrace.
    """

    def __init__(
        self,
        backbone: Backbone,
        content_layers: Sequence[str],
        style_layers: Sequence[str],
    ) -> None:
        backbone.check_layers(list(content_layers) + list(style_layers))
        self.backbone = backbone
        self.model = StyleContentModel(style_layers, content_layers, backbone)
        image_spec = tf.TensorSpec([1, None, None, 3], tf.float32)
        content_spec = {n: tf.TensorSpec([1, None, None, None], tf.float32) for n in content_layers}
        style_spec = {n: tf.TensorSpec([1, None, None], tf.float32) for n in style_layers}
        weights_spec = tf.TensorSpec([3], tf.float32)  # content, style, tv
        layer_spec = tf.TensorSpec([len(style_layers)], tf.float32)
        target_specs = (content_spec, style_spec, weights_spec, layer_spec)
        self._loss_and_grads = tf.function(
            self._loss_and_grads_impl, input_signature=(image_spec, *target_specs)
        )
        state_spec = (image_spec, image_spec, image_spec, tf.TensorSpec([], tf.float32))
        adam_spec = tf.TensorSpec([3], tf.float32)  # lr, beta_1, epsilon
        self._train_step = tf.function(
            self._train_step_impl, input_signature=(*state_spec, *target_specs, adam_spec)
        )
        self._features = tf.function(self.model.features, input_signature=(image_spec,))
        # Forward only: the initial and final losses need no gradient (a third of the cost).
        self._loss_terms = tf.function(self._objective, input_signature=(image_spec, *target_specs))

    # -- graph bodies -------------------------------------------------------------------

    def _objective(self, image, content_t, style_t, weights, layer_w):
        outputs = self.model(image)
        layer_weights = {n: layer_w[i] for i, n in enumerate(self.model.style_layers)}
        _, content, style = style_content_loss(
            outputs, style_t, content_t, weights[1], weights[0], layer_weights
        )
        tv = weights[2] * total_variation_loss(image)
        return content + style + tv, content, style, tv

    def _loss_and_grads_impl(self, image, content_t, style_t, weights, layer_w):
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = self._objective(image, content_t, style_t, weights, layer_w)
        return terms, tape.gradient(terms[0], image)

    def _train_step_impl(self, image, m, v, t, content_t, style_t, weights, layer_w, adam):
        (terms, grad) = self._loss_and_grads_impl(image, content_t, style_t, weights, layer_w)
        lr, beta_1, epsilon = adam[0], adam[1], adam[2]
        t = t + 1.0
        m = beta_1 * m + (1.0 - beta_1) * grad
        v = ADAM_BETA_2 * v + (1.0 - ADAM_BETA_2) * tf.square(grad)
        alpha = lr * tf.sqrt(1.0 - ADAM_BETA_2**t) / (1.0 - beta_1**t)
        image = clip_0_1(image - alpha * m / (tf.sqrt(v) + epsilon))
        return image, m, v, t, terms

    # -- public API -----------------------------------------------------------------------

    def tracing_count(self) -> int:
        """How many times the compiled graphs were traced (stays flat across image sizes)."""
        return sum(
            fn.experimental_get_tracing_count()
            for fn in (self._loss_and_grads, self._train_step, self._features, self._loss_terms)
        )

    def train_step(self, image, m, v, t, targets, adam):
        """One Adam step (the tutorial's ``train_step``, state passed explicitly).

        Returns ``(image, m, v, t, (loss, content, style, tv))``; the image is clipped to
        [0, 1] after the update, as in the tutorial.
        """
        return self._train_step(image, m, v, t, *targets, adam)

    def loss_and_grads(self, image, targets):
        """``((loss, content, style, tv), d loss / d image)`` for a (1, H, W, 3) image."""
        return self._loss_and_grads(image, *targets)

    def loss_terms(self, image, targets):
        """``(loss, content, style, tv)`` for a (1, H, W, 3) image, without the gradient."""
        return self._loss_terms(image, *targets)

    def style_grams(self, style: tf.Tensor) -> dict[str, tf.Tensor]:
        feats = self._features(style)
        return {n: gram_matrix(feats[n]) for n in self.model.style_layers}

    def content_targets(self, content: tf.Tensor) -> dict[str, tf.Tensor]:
        """Activations of the content layers for a (1, H, W, 3) image."""
        feats = self._features(content)
        return {n: feats[n] for n in self.model.content_layers}

    def style_targets(
        self,
        styles: Sequence[tuple[tf.Tensor, float]],
        longest: int,
        params: StyleParams,
        tile: int = 0,
    ) -> dict[str, tf.Tensor]:
        """Weighted blend of the styles' Gram matrices, each style resized so its longest
        side is ``longest * style_scale``. With ``tile`` > 0, a style larger than ``tile``
        is measured tile by tile (same statistic, bounded memory; see ``engine.tiling``).
        """
        total = sum(w for _, w in styles)
        style_t: dict[str, tf.Tensor] = {}
        for style, weight in styles:
            resized = _fit_longest(style, max(16, round(longest * params.style_scale)))
            if tile and max(resized.shape[1], resized.shape[2]) > tile:
                from .tiling import tiled_grams

                grams = tiled_grams(self, resized, tile)
            else:
                grams = self.style_grams(resized)
            for name, gram in grams.items():
                share = gram * (weight / total)
                style_t[name] = style_t[name] + share if name in style_t else share
        return style_t

    def weights(self, params: StyleParams) -> tuple[tf.Tensor, tf.Tensor]:
        """The (content, style, tv) weights and the per-layer style weights as tensors."""
        content_w, style_w = resolve_weights(params, self.backbone)
        weights = tf.constant([content_w, style_w, params.tv_weight], tf.float32)
        layer_w = tf.constant(
            params.style_layer_weights or [1.0] * len(self.model.style_layers), tf.float32
        )
        return weights, layer_w

    def targets(
        self,
        content: tf.Tensor,
        styles: Sequence[tuple[tf.Tensor, float]],
        params: StyleParams,
        style_t: dict[str, tf.Tensor] | None = None,
    ) -> tuple:
        """Graph inputs for one scale: content activations, blended Grams, weights.

        ``style_t`` reuses Gram targets computed before (tiles share the whole image's).
        """
        content_t = self.content_targets(content)
        if style_t is None:
            longest = max(content.shape[1], content.shape[2])
            style_t = self.style_targets(styles, longest, params)
        return (content_t, style_t, *self.weights(params))


def resolve_weights(params: StyleParams, backbone: Backbone) -> tuple[float, float]:
    """Explicit weights win; otherwise the values calibrated for ``backbone``."""
    content = backbone.content_weight if params.content_weight is None else params.content_weight
    style = backbone.style_weight if params.style_weight is None else params.style_weight
    return float(content), float(style)


def initial_image(
    content: tf.Tensor, styles: Sequence[tuple[tf.Tensor, float]], params: StyleParams
) -> tf.Tensor:
    """The starting point: the photo, seeded uniform noise, or the main style image."""
    if params.init == "content":
        return tf.identity(content)
    if params.init == "noise":
        seed = (params.seed or 0, 0x5EED)
        return tf.random.stateless_uniform(tf.shape(content), seed=seed, dtype=tf.float32)
    main_style = max(styles, key=lambda s: s[1])[0]
    return clip_0_1(_resize(main_style, tuple(content.shape[1:3])))


def should_tile(height: int, width: int, params: StyleParams) -> bool:
    """Whether an image of this size is stylised in tiles (``params.tile_size``, 0 = never)."""
    return params.tile_size > 0 and max(height, width) > params.tile_size


def stylize_tensor(
    stylizer: Stylizer,
    content: np.ndarray,
    styles: Sequence[tuple[np.ndarray, float]],
    params: StyleParams,
    *,
    callback: ProgressCallback | None = None,
    should_stop: ShouldStop | None = None,
) -> EngineResult:
    """Optimise an image that has ``content``'s features and ``styles``' statistics.

    ``content`` is (H, W, 3) float32 in [0, 1] at the final size; style images likewise at
    any size. ``callback`` receives a :class:`Progress` per step and may raise
    :class:`~nstfilter.errors.Cancelled`; ``should_stop`` returning True cancels too.
    Images whose longest side exceeds ``params.tile_size`` go through
    :func:`nstfilter.engine.tiling.stylize_tiled` (bounded memory at any size).
    """
    if not styles:
        raise UsageError("at least one style image is needed")
    if any(w < 0 for _, w in styles) or sum(w for _, w in styles) <= 0:
        raise UsageError("style image weights must be >= 0 and not all zero")
    if should_tile(content.shape[0], content.shape[1], params):
        from .tiling import stylize_tiled

        return stylize_tiled(
            stylizer, content, styles, params, callback=callback, should_stop=should_stop
        )
    return _stylize_whole(stylizer, content, styles, params, callback, should_stop)


def _reporter(
    callback: ProgressCallback | None,
    should_stop: ShouldStop | None,
    start: float,
    total: int,
    scale: int,
    scales: int,
    size: tuple[int, int],
) -> Callable[[Sequence[tf.Tensor], int], None]:
    """A function ``(terms, step)`` that checks for cancellation and emits :class:`Progress`."""

    def report(terms, step: int) -> None:
        if should_stop is not None and should_stop():
            raise Cancelled("cancelled")
        if callback is not None:
            lt = LossTerms.from_tensors(terms)
            callback(
                Progress(
                    step=step, total=total, scale=scale, scales=scales,
                    height=size[0], width=size[1], loss=lt.loss,
                    content_loss=lt.content, style_loss=lt.style, tv_loss=lt.tv,
                    seconds=time.perf_counter() - start,
                )
            )  # fmt: skip

    return report


class AdamState:
    """Adam's moments and step count, carried (upsampled) from one scale to the next."""

    def __init__(self) -> None:
        self.m: tf.Tensor | None = None
        self.v: tf.Tensor | None = None
        self.t = tf.constant(0.0)

    def fit(self, size: tuple[int, int]) -> None:
        self.m = None if self.m is None else _resize(self.m, size)
        self.v = None if self.v is None else tf.maximum(_resize(self.v, size), 0.0)


def optimize_image(
    stylizer: Stylizer,
    image: tf.Tensor,
    targets: tuple,
    n_steps: int,
    params: StyleParams,
    report: Callable[[Sequence[tf.Tensor], int], None],
    first_step: int = 0,
    adam_state: AdamState | None = None,
) -> tf.Tensor:
    """``n_steps`` of the params' optimiser on a (1, H, W, 3) image at a fixed size."""
    if params.optimizer == "adam":
        state = adam_state or AdamState()
        state.fit(tuple(image.shape[1:3]))
        m = tf.zeros_like(image) if state.m is None else state.m
        v = tf.zeros_like(image) if state.v is None else state.v
        t = state.t
        adam = tf.constant([params.learning_rate, params.beta_1, params.epsilon], tf.float32)
        for step in range(first_step + 1, first_step + n_steps + 1):
            image, m, v, t, terms = stylizer.train_step(image, m, v, t, targets, adam)
            report(terms, step)
        state.m, state.v, state.t = m, v, t
        return image
    count = [first_step]

    def on_iteration(terms) -> None:
        count[0] += 1
        report(terms, count[0])

    return _lbfgs(stylizer, image, targets, n_steps, on_iteration)


def _stylize_whole(
    stylizer: Stylizer,
    content: np.ndarray,
    styles: Sequence[tuple[np.ndarray, float]],
    params: StyleParams,
    callback: ProgressCallback | None,
    should_stop: ShouldStop | None,
    *,
    start_image: np.ndarray | None = None,
    step_offset: int = 0,
    total_steps: int | None = None,
) -> EngineResult:
    """The coarse-to-fine schedule on the whole image (no tiling), at the bucketed size."""
    start = time.perf_counter()
    exact = content.shape[:2]
    working = bucket_shape(*exact)
    content = _pad_to(content, working)
    if start_image is not None:
        start_image = _pad_to(start_image, working)
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
    image = _resize(start_tensor, sizes[0])
    final_targets = stylizer.targets(full, style_ts, params)
    initial_terms = stylizer.loss_terms(start_tensor, final_targets)
    adam_state = AdamState()
    done = step_offset
    previous = sizes[0]
    for index, (size, n_steps) in enumerate(zip(sizes, steps), start=1):
        image = upsample_with_detail(image, full, previous, size) if index > 1 else image
        previous = size
        if size == (height, width):
            targets = final_targets
        else:
            targets = stylizer.targets(_resize(full, size), style_ts, params)
        report = _reporter(callback, should_stop, start, total, index, len(sizes), size)
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


def _lbfgs(
    stylizer: Stylizer,
    image: tf.Tensor,
    targets: tuple,
    max_iterations: int,
    on_iteration: Callable[[Sequence[tf.Tensor]], None],
) -> tf.Tensor:
    """Minimise with SciPy's L-BFGS-B inside the [0, 1] box, ``max_iterations`` steps."""
    if max_iterations <= 0:
        return image
    from scipy.optimize import Bounds, minimize

    shape = image.shape
    last: dict[str, Sequence[tf.Tensor]] = {}

    def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        tensor = tf.reshape(tf.convert_to_tensor(x, tf.float32), shape)
        terms, grad = stylizer.loss_and_grads(tensor, targets)
        last["terms"] = terms
        return float(terms[0]), grad.numpy().astype(np.float64).ravel()

    def callback(intermediate_result) -> None:  # noqa: ARG001
        on_iteration(last["terms"])

    x0 = image.numpy().astype(np.float64).ravel()
    result = minimize(
        value_and_grad,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=Bounds(np.zeros(x0.size), np.ones(x0.size)),
        callback=callback,
        options={"maxiter": max_iterations, "maxcor": 20, "ftol": 0.0, "gtol": 0.0},
    )
    return tf.reshape(tf.convert_to_tensor(result.x, tf.float32), shape)


__all__ = [
    "EngineResult",
    "LossTerms",
    "bucket_shape",
    "Progress",
    "Stylizer",
    "initial_image",
    "resolve_weights",
    "optimize_image",
    "scale_sizes",
    "should_tile",
    "stylize_tensor",
]
