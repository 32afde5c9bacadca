"""Which device TensorFlow runs on: ``--device auto|cpu|gpu``, explicit so it is logged.

``auto`` is TensorFlow's own behaviour (a GPU when there is one), ``cpu`` hides every GPU,
``gpu`` refuses to run without one rather than quietly taking an hour on the CPU. The choice
(:func:`choose_device`) is pure, so it is tested without a GPU; :func:`use_device` applies it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

from .errors import UsageError

log = logging.getLogger(__name__)

DEVICES: tuple[str, ...] = ("auto", "cpu", "gpu")


def choose_device(requested: str, gpus: Sequence[str]) -> str:
    """``"cpu"`` or ``"gpu"`` for ``requested`` given the GPUs TensorFlow sees."""
    if requested not in DEVICES:
        raise UsageError(f"--device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "gpu" and not gpus:
        raise UsageError(
            "--device gpu: TensorFlow sees no GPU (install nstfilter[gpu] on a machine with "
            "an NVIDIA driver, or use --device auto|cpu)"
        )
    return ("gpu" if gpus else "cpu") if requested == "auto" else requested


def use_device(requested: str) -> str:
    """Apply ``requested`` to this process (and, for ``cpu``, to its worker processes)."""
    if requested == "cpu":  # before TF starts, so no CUDA context is made at all
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    from .tfquiet import import_tensorflow_quietly

    import_tensorflow_quietly()
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    chosen = choose_device(requested, gpus)
    if chosen == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
    log.debug("device: %s (%s requested; GPUs seen: %s)", chosen, requested, len(gpus))
    return chosen
