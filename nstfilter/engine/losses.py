"""The TF tutorial's objective, which the optimiser minimises, and the deeplearning.ai
course's cost functions, kept exactly as defined there for users who follow that material."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import tensorflow as tf


def gram_matrix(input_tensor: tf.Tensor) -> tf.Tensor:
    """(B, C, C) Gram matrix of (B, H, W, C) activations divided by the locations H*W: size
    independent, so style targets computed at one size can steer an image at another."""
    result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
    shape = tf.shape(input_tensor)
    num_locations = tf.cast(shape[1] * shape[2], input_tensor.dtype)
    return result / num_locations


def clip_0_1(image: tf.Tensor) -> tf.Tensor:
    return tf.clip_by_value(image, clip_value_min=0.0, clip_value_max=1.0)


def total_variation_loss(image: tf.Tensor) -> tf.Tensor:
    """Sum of absolute differences between neighbouring pixels, a scalar for a batch."""
    return tf.reduce_sum(tf.image.total_variation(image))


def style_content_loss(
    outputs: Mapping[str, Mapping[str, tf.Tensor]],
    style_targets: Mapping[str, tf.Tensor],
    content_targets: Mapping[str, tf.Tensor],
    style_weight: float,
    content_weight: float,
    style_layer_weights: Mapping[str, float] | None = None,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The TF tutorial's loss, with optional per-layer style weights ``w_l``: returns
    ``(total, content, style)`` for
    ``style = style_weight / n_style_layers * sum_l w_l * mean((G_l - A_l)^2)`` and
    ``content = content_weight / n_content_layers * sum_l mean((F_l - P_l)^2)``.
    """
    weights = style_layer_weights or {}
    style, content = outputs["style"], outputs["content"]
    style_loss = tf.add_n(
        [weights.get(n, 1.0) * tf.reduce_mean((style[n] - style_targets[n]) ** 2) for n in style]
    )
    style_loss *= style_weight / len(style)
    content_loss = tf.add_n(
        [tf.reduce_mean((content[n] - content_targets[n]) ** 2) for n in content]
    )
    content_loss *= content_weight / len(content)
    return style_loss + content_loss, content_loss, style_loss


def temporal_loss(image: tf.Tensor, temporal: Sequence[tf.Tensor]) -> tf.Tensor:
    """Ruder et al.'s short-term temporal loss for ``temporal = (target, mask, weight)``:
    ``weight * mean(mask * (image - target)^2)``, the image kept close to the previous styled
    frame warped into it where the flow is reliable. A term of the graph with its gradient
    (the peer neural-style-tf evaluates it outside the graph, as a constant)."""
    target, mask, weight = temporal
    return weight * tf.reduce_mean(mask * tf.square(image - target))


# --- the course's cost functions (deeplearning.ai, "Art Generation with NST") -------------


def compute_content_cost(a_C: tf.Tensor, a_G: tf.Tensor) -> tf.Tensor:  # noqa: N803
    """J_content = sum((a_C - a_G)^2) / (4 * n_H * n_W * n_C) for (1, n_H, n_W, n_C) tensors."""
    _, n_H, n_W, n_C = a_G.shape  # noqa: N806
    return tf.reduce_sum(tf.square(a_C - a_G)) / (4.0 * n_H * n_W * n_C)


def compute_layer_style_cost(a_S: tf.Tensor, a_G: tf.Tensor) -> tf.Tensor:  # noqa: N803
    """J_style_layer = sum((G_S - G_G)^2) / (4 * n_C^2 * (n_H * n_W)^2), unnormalised Grams."""
    _, n_H, n_W, n_C = a_G.shape  # noqa: N806
    a_S = tf.reshape(a_S, (n_H * n_W, n_C))  # noqa: N806
    a_G = tf.reshape(a_G, (n_H * n_W, n_C))  # noqa: N806
    GS = tf.matmul(a_S, a_S, transpose_a=True)  # noqa: N806
    GG = tf.matmul(a_G, a_G, transpose_a=True)  # noqa: N806
    return tf.reduce_sum(tf.square(GS - GG)) / (4.0 * n_C**2 * (n_H * n_W) ** 2)


def compute_style_cost(
    style_activations: Sequence[tf.Tensor],
    generated_activations: Sequence[tf.Tensor],
    layer_weights: Sequence[float],
) -> tf.Tensor:
    """The course's weighted sum of ``compute_layer_style_cost`` over layers."""
    pairs = zip(style_activations, generated_activations, layer_weights)
    return tf.add_n([w * compute_layer_style_cost(s, g) for s, g, w in pairs])


def total_cost(J_content: tf.Tensor, J_style: tf.Tensor, alpha: float = 10, beta: float = 40):  # noqa: N803
    """J = alpha * J_content + beta * J_style."""
    return alpha * J_content + beta * J_style
