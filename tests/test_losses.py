"""The cost functions, checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from nstfilter.engine import (
    clip_0_1,
    compute_content_cost,
    compute_layer_style_cost,
    gram_matrix,
    style_content_loss,
    total_cost,
    total_variation_loss,
)

X = tf.constant([[[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]], tf.float32)  # 1x2x2x3


def test_gram_matrix_divides_by_locations():
    expected = [[41.5, 47, 52.5], [47, 53.5, 60], [52.5, 60, 67.5]]
    np.testing.assert_allclose(gram_matrix(X)[0].numpy(), expected)


def test_compute_content_cost_by_hand():
    a_c = X
    a_g = X + 1.0  # every one of the 12 entries differs by 1
    # sum of squares 12 / (4 * 2 * 2 * 3) = 0.25
    assert float(compute_content_cost(a_c, a_g)) == pytest.approx(0.25)
    assert float(compute_content_cost(a_c, a_c)) == 0.0


def test_compute_layer_style_cost_by_hand():
    a_s = tf.zeros_like(X)
    # G_S = 0, G_G = X^T X (unnormalised) = 4 * the Gram above
    gg = 4 * np.array([[41.5, 47, 52.5], [47, 53.5, 60], [52.5, 60, 67.5]])
    expected = (gg**2).sum() / (4 * 3**2 * (2 * 2) ** 2)
    assert float(compute_layer_style_cost(a_s, X)) == pytest.approx(expected, rel=1e-6)
    assert float(compute_layer_style_cost(X, X)) == 0.0


def test_total_cost_default_weights():
    assert float(total_cost(1.0, 1.0)) == 50.0
    assert float(total_cost(2.0, 3.0, alpha=1, beta=2)) == 8.0


def test_clip_0_1():
    np.testing.assert_array_equal(clip_0_1(tf.constant([-1.0, 0.5, 2.0])).numpy(), [0, 0.5, 1])


def test_total_variation_of_a_step_edge():
    image = np.zeros((1, 4, 4, 3), np.float32)
    image[:, :, 2:, :] = 1.0  # vertical edge: 4 rows x 3 channels of |1 - 0|
    assert float(total_variation_loss(tf.constant(image))) == pytest.approx(12.0)


def test_style_content_loss_is_the_tutorials_formula():
    a = {"l1": tf.ones((1, 2, 2)), "l2": tf.zeros((1, 2, 2))}
    targets = {"l1": tf.zeros((1, 2, 2)), "l2": tf.zeros((1, 2, 2))}
    content = {"c": tf.fill((1, 2, 2, 1), 3.0)}
    content_t = {"c": tf.fill((1, 2, 2, 1), 1.0)}
    outputs = {"style": a, "content": content}
    total, c, s = style_content_loss(outputs, targets, content_t, 0.5, 2.0)
    # style: 0.5 / 2 layers * (mean 1 + mean 0) = 0.25; content: 2 / 1 * mean(4) = 8
    assert float(s) == pytest.approx(0.25)
    assert float(c) == pytest.approx(8.0)
    assert float(total) == pytest.approx(8.25)
    _, _, s_weighted = style_content_loss(outputs, targets, content_t, 0.5, 2.0, {"l1": 0.2})
    assert float(s_weighted) == pytest.approx(0.05)
