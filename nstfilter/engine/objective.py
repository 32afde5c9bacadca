"""The compiled objective: ``Stylizer`` turns targets and weights into loss and gradient.

One graph per objective, traced once with ``None`` spatial sizes and targets and weights as
graph *inputs*, so a watcher fed many sizes and presets never retraces. Adam is written out
in the graph: its state is carried (upsampled) across scales, and a Keras optimizer binds
its slots to one variable shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from ..params import StyleParams
from .backbones import Backbone
from .losses import (
    clip_0_1,
    gram_matrix,
    style_content_loss,
    temporal_loss,
    total_variation_loss,
)
from .model import StyleContentModel
from .pyramid import fit_longest

# Keras' Adam default; the tutorial changes only lr, beta_1 and epsilon.
ADAM_BETA_2 = 0.999

#: ``(content activations, style Grams, (content, style, tv) weights, per-layer weights,
#: (temporal target, mask, weight))``
Targets = tuple
#: style images as (1, H, W, 3) tensors with their weights
StyleTensors = Sequence[tuple[tf.Tensor, float]]


@dataclass(frozen=True)
class Temporal:
    """Where a video frame should stay close to its predecessor (Ruder et al. 2016): the
    previous styled frame warped into this one (H, W, 3), the mask of reliable pixels
    (H, W) in [0, 1], and the weight of ``mean(mask * (x - target)^2)`` in the loss, relative
    to the frame's own loss at its start (:func:`temporal_weight`), so one number means the
    same on every backbone."""

    target: np.ndarray
    mask: np.ndarray
    weight: float

    def tensors(self, size: tuple[int, int], weight: float) -> tuple[tf.Tensor, ...]:
        """Graph inputs at ``size``: (1, h, w, 3) target, (1, h, w, 1) mask, the weight."""
        target = tf.convert_to_tensor(self.target[None], tf.float32)
        mask = tf.convert_to_tensor(self.mask[None, ..., None], tf.float32)
        if tuple(target.shape[1:3]) != tuple(size):
            target = tf.image.resize(target, size, method="bilinear", antialias=True)
            mask = tf.image.resize(mask, size, method="bilinear", antialias=True)
        return target, mask, tf.constant(weight, tf.float32)


#: The temporal term off: a 1x1 target that broadcasts, with weight 0.
NO_TEMPORAL = (
    tf.zeros([1, 1, 1, 3], tf.float32),
    tf.zeros([1, 1, 1, 1], tf.float32),
    tf.constant(0.0),
)
#: ``Temporal.weight`` 1 makes an RMS change of this much (in [0, 1] pixel units) over the
#: reliable pixels cost as much as the whole objective at the start.
TEMPORAL_RMS = 0.02


def temporal_weight(temporal: Temporal, start_loss: float) -> float:
    """The temporal term's absolute weight for a frame whose loss at its start is
    ``start_loss``: ``weight * start_loss / TEMPORAL_RMS^2``."""
    return float(temporal.weight) * max(float(start_loss), 0.0) / TEMPORAL_RMS**2


@dataclass(frozen=True)
class LossTerms:
    """The objective's terms, all already multiplied by their weights."""

    loss: float
    content: float
    style: float
    tv: float


def resolve_weights(params: StyleParams, backbone: Backbone) -> tuple[float, float]:
    """Explicit weights win; otherwise the values calibrated for ``backbone``."""
    content = backbone.content_weight if params.content_weight is None else params.content_weight
    style = backbone.style_weight if params.style_weight is None else params.style_weight
    return float(content), float(style)


def layer_weights(
    params: StyleParams, backbone: Backbone, style_t: Mapping[str, tf.Tensor], layers: Sequence[str]
) -> list[float]:
    """Per-layer style weights: the backbone's calibrated balance times explicit emphasis.

    With the tutorial's ``equal`` weights, block1/block2's raw Gram errors are 10^3-10^4
    times block5's on VGG16-HED and the painting's large strokes never appear; ``normalized``
    divides each by its target's mean squared entry, so every term is a *relative* error.
    """
    base = [1.0] * len(layers)
    if backbone.style_balance == "normalized":
        base = [1.0 / max(float(tf.reduce_mean(style_t[n] ** 2)), 1e-12) for n in layers]
    emphasis = params.style_layer_weights or (1.0,) * len(layers)
    return [b * float(e) for b, e in zip(base, emphasis)]


class Stylizer:
    """A compiled objective for one backbone and choice of layers, kept per preset family:
    ``loss_terms``, ``loss_and_grads``, ``train_step`` and ``features`` are its graphs.
    ``precision`` (``float32`` or ``bfloat16``, decided outside the engine by
    :func:`nstfilter.device.resolve_precision`) is what the backbone's convolutions compute
    in; ``self.precision`` says what ran (float32 for a backbone without bfloat16)."""

    def __init__(
        self,
        backbone: Backbone,
        content_layers: Sequence[str],
        style_layers: Sequence[str],
        precision: str = "float32",
    ) -> None:
        backbone.check_layers([*content_layers, *style_layers])
        self.backbone = backbone
        self.model = StyleContentModel(style_layers, content_layers, backbone, precision)
        self.precision = self.model.precision
        image = tf.TensorSpec([1, None, None, 3], tf.float32)
        targets = (
            {n: tf.TensorSpec([1, None, None, None], tf.float32) for n in content_layers},
            {n: tf.TensorSpec([1, None, None], tf.float32) for n in style_layers},
            tf.TensorSpec([3], tf.float32),  # content, style, tv
            tf.TensorSpec([len(style_layers)], tf.float32),
            (image, tf.TensorSpec([1, None, None, 1], tf.float32), tf.TensorSpec([], tf.float32)),
        )
        adam = tf.TensorSpec([3], tf.float32)  # lr, beta_1, epsilon
        step = (image, image, image, tf.TensorSpec([], tf.float32), targets, adam)
        # forward only: the initial and final losses need no gradient (a third of the cost)
        self.loss_terms = tf.function(self._objective, input_signature=(image, targets))
        self.loss_and_grads = tf.function(self._loss_and_grads, input_signature=(image, targets))
        self.train_step = tf.function(self._train_step, input_signature=step)
        self.features = tf.function(self.model.features, input_signature=(image,))

    def _objective(self, image, targets: Targets):
        """``(loss, content, style, tv)``; the loss includes the temporal term."""
        content_t, style_t, weights, layer_w, temporal = targets
        per_layer = {n: layer_w[i] for i, n in enumerate(self.model.style_layers)}
        _, content, style = style_content_loss(
            self.model(image), style_t, content_t, weights[1], weights[0], per_layer
        )
        tv = weights[2] * total_variation_loss(image)
        return content + style + tv + temporal_loss(image, temporal), content, style, tv

    def _loss_and_grads(self, image, targets: Targets):
        with tf.GradientTape() as tape:
            tape.watch(image)
            terms = self._objective(image, targets)
        return terms, tape.gradient(terms[0], image)

    def _train_step(self, image, m, v, t, targets: Targets, adam):
        """One Adam step (the tutorial's ``train_step``, state passed explicitly): returns
        ``(image, m, v, t, terms)``, the image clipped to [0, 1] after the update."""
        terms, grad = self._loss_and_grads(image, targets)
        lr, beta_1, epsilon = adam[0], adam[1], adam[2]
        t = t + 1.0
        m = beta_1 * m + (1.0 - beta_1) * grad
        v = ADAM_BETA_2 * v + (1.0 - ADAM_BETA_2) * tf.square(grad)
        alpha = lr * tf.sqrt(1.0 - ADAM_BETA_2**t) / (1.0 - beta_1**t)
        image = clip_0_1(image - alpha * m / (tf.sqrt(v) + epsilon))
        return image, m, v, t, terms

    def style_grams(self, style: tf.Tensor) -> dict[str, tf.Tensor]:
        feats = self.features(style)
        return {n: gram_matrix(feats[n]) for n in self.model.style_layers}

    def content_targets(self, content: tf.Tensor) -> dict[str, tf.Tensor]:
        feats = self.features(content)
        return {n: feats[n] for n in self.model.content_layers}

    def style_targets(
        self, styles: StyleTensors, longest: int, params: StyleParams, tile: int = 0
    ) -> dict[str, tf.Tensor]:
        """Weighted blend of the styles' Gram matrices, each style resized so its longest
        side is ``longest * style_scale``; one larger than ``tile`` (> 0) is measured tile by
        tile (same statistic, bounded memory)."""
        total = sum(w for _, w in styles)
        style_t: dict[str, tf.Tensor] = {}
        for style, weight in styles:
            resized = fit_longest(style, max(16, round(longest * params.style_scale)))
            large = tile and max(resized.shape[1], resized.shape[2]) > tile
            grams = tiled_grams(self, resized, tile) if large else self.style_grams(resized)
            for name, gram in grams.items():
                share = gram * (weight / total)
                style_t[name] = style_t[name] + share if name in style_t else share
        return style_t

    def weights(
        self, params: StyleParams, style_t: Mapping[str, tf.Tensor]
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """The (content, style, tv) weights and the per-layer style weights as tensors."""
        content_w, style_w = resolve_weights(params, self.backbone)
        weights = tf.constant([content_w, style_w, params.tv_weight], tf.float32)
        per_layer = layer_weights(params, self.backbone, style_t, self.model.style_layers)
        return weights, tf.constant(per_layer, tf.float32)

    def targets(
        self, content: tf.Tensor, styles: StyleTensors, params: StyleParams,
        temporal: tuple = NO_TEMPORAL,
    ) -> Targets:  # fmt: skip
        """Graph inputs for one scale: content activations, blended Grams, weights, and the
        temporal term's tensors (:meth:`Temporal.tensors`; off by default)."""
        content_t = self.content_targets(content)
        style_t = self.style_targets(styles, max(content.shape[1], content.shape[2]), params)
        return (content_t, style_t, *self.weights(params, style_t), temporal)


#: Largest stride of a VGG feature map (block5): tile origins for Gram sums align to it.
FEATURE_STRIDE = 16


def tiled_grams(stylizer: Stylizer, image: tf.Tensor, tile: int) -> dict[str, tf.Tensor]:
    """Gram matrices of a large (1, H, W, 3) image without holding its activations: each
    tile runs with a margin of context and sums only its core's locations. Blocks 1-3 come
    out exact, block 4 within a few per cent, block 5 ~10 % off for 256 px tiles."""
    height, width = int(image.shape[1]), int(image.shape[2])
    margin = max(2 * FEATURE_STRIDE, tile // 8 // FEATURE_STRIDE * FEATURE_STRIDE)
    core = max(FEATURE_STRIDE, (tile - 2 * margin) // FEATURE_STRIDE * FEATURE_STRIDE)
    layers = stylizer.model.style_layers
    strides = {name: 2 ** (int(name[5]) - 1) for name in layers}  # blockN: 2^(N-1)
    sums: dict[str, tf.Tensor] = {}
    counts = dict.fromkeys(layers, 0)
    for cy in range(0, height, core):
        for cx in range(0, width, core):
            y0, x0 = max(0, cy - margin), max(0, cx - margin)
            y1, x1 = min(height, cy + core + margin), min(width, cx + core + margin)
            feats = stylizer.features(image[:, y0:y1, x0:x1, :])
            for name in layers:
                s = strides[name]  # the core's cells, rounded outwards
                rows = slice((cy - y0) // s, -(-(min(height, cy + core) - y0) // s))
                cols = slice((cx - x0) // s, -(-(min(width, cx + core) - x0) // s))
                f = feats[name][:, rows, cols]
                n = int(f.shape[1]) * int(f.shape[2])  # >= 1: cores cover whole cells
                part = gram_matrix(f) * float(n)
                sums[name] = sums[name] + part if name in sums else part
                counts[name] += n
    return {name: sums[name] / float(counts[name]) for name in layers}
