"""The two optimisers over a fixed-size image, the tutorial's Adam and SciPy's L-BFGS-B,
reporting every step alike so the schedule does not care which ran."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import tensorflow as tf

from ..params import StyleParams
from .objective import Stylizer, Targets
from .pyramid import resize

#: ``report(terms, step, image)``: called once per optimiser step; ``image()`` returns the
#: current (1, H, W, 3) pixels as an array (computed only when wanted). May raise to cancel.
Report = Callable[[Sequence[tf.Tensor], int, Callable[[], np.ndarray]], None]


@dataclass
class AdamState:
    """Adam's moments and step count, carried (upsampled) from one scale to the next."""

    m: tf.Tensor | None = None
    v: tf.Tensor | None = None
    t: tf.Tensor = field(default_factory=lambda: tf.constant(0.0))


def optimize_image(
    stylizer: Stylizer,
    image: tf.Tensor,
    targets: Targets,
    n_steps: int,
    params: StyleParams,
    report: Report,
    first_step: int = 0,
    adam_state: AdamState | None = None,
) -> tf.Tensor:
    """``n_steps`` of the params' optimiser on a (1, H, W, 3) image at a fixed size."""
    if params.optimizer != "adam":
        return lbfgs(stylizer, image, targets, n_steps, report, first_step)
    state = adam_state or AdamState()
    size = tuple(image.shape[1:3])
    m = tf.zeros_like(image) if state.m is None else resize(state.m, size)
    v = tf.zeros_like(image) if state.v is None else tf.maximum(resize(state.v, size), 0.0)
    t = state.t
    adam = tf.constant([params.learning_rate, params.beta_1, params.epsilon], tf.float32)
    for step in range(first_step + 1, first_step + n_steps + 1):
        image, m, v, t, terms = stylizer.train_step(image, m, v, t, targets, adam)
        report(terms, step, lambda image=image: image.numpy())
    state.m, state.v, state.t = m, v, t
    return image


def lbfgs(
    stylizer: Stylizer,
    image: tf.Tensor,
    targets: Targets,
    max_iterations: int,
    report: Report,
    first_step: int = 0,
) -> tf.Tensor:
    """Minimise with SciPy's L-BFGS-B inside the [0, 1] box (the classic optimiser of Gatys
    et al.'s implementations): the box is the valid pixel range, so no clipping distorts the
    curvature estimate.

    Called through ``fmin_l_bfgs_b`` with the box as (low, high) pairs, the form the solver
    reads: ``minimize`` with ``Bounds`` converts the box to that form and back in Python
    loops over every pixel first, 0.5-1 s a call at 512 px (a fifth of a video frame's
    steps; the results are bit-identical). SciPy's own per-pixel setup, about as long
    again, remains."""
    if max_iterations <= 0:
        return image
    from scipy.optimize import fmin_l_bfgs_b

    shape = image.shape
    last: dict[str, Sequence[tf.Tensor]] = {}
    steps = itertools.count(first_step + 1)

    def value_and_grad(x: np.ndarray) -> tuple[float, np.ndarray]:
        terms, grad = stylizer.loss_and_grads(
            tf.reshape(tf.convert_to_tensor(x, tf.float32), shape), targets
        )
        last["terms"] = terms
        return float(terms[0]), grad.numpy().astype(np.float64).ravel()

    def callback(x: np.ndarray) -> None:
        report(last["terms"], next(steps), lambda: x.reshape(shape))

    x0 = image.numpy().astype(np.float64).ravel()
    x, _, _ = fmin_l_bfgs_b(
        value_and_grad, x0, bounds=[(0.0, 1.0)] * x0.size, m=20, factr=0.0, pgtol=0.0,
        maxiter=max_iterations, callback=callback,
    )  # fmt: skip
    return tf.reshape(tf.convert_to_tensor(x, tf.float32), shape)
