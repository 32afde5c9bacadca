"""Which device TensorFlow runs on (``--device auto|cpu|gpu``) and in which number format
its convolutions compute (``$NSTFILTER_PRECISION``): properties of the machine, decided here
and handed to the engine, which reads no files and no environment itself.

``auto`` is TensorFlow's own behaviour (a GPU when there is one), ``cpu`` hides every GPU,
``gpu`` refuses to run without one rather than quietly taking an hour on the CPU. The choice
(:func:`choose_device`) is pure, so it is tested without a GPU; :func:`use_device` applies it.

On a CPU with AVX512_BF16 (or AMX) oneDNN runs the backbone's convolutions in bfloat16 about
1.75x faster per loss-and-gradient evaluation at 512 px (benchmarks/RESULTS.md); the Gram
matrices, the losses and the optimiser stay in float32, so only the feature maps are rounded.
Elsewhere bfloat16 is emulated and slower, so ``auto`` keeps float32. The choice
(:func:`resolve_precision`) is logged and written in the metrics, like ``$NSTFILTER_THREADS``
a property of the machine rather than of the look.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Sequence

from .errors import UsageError

log = logging.getLogger(__name__)

DEVICES: tuple[str, ...] = ("auto", "cpu", "gpu")
PRECISION_ENV = "NSTFILTER_PRECISION"
PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")
#: CPU flags (as Linux names them in /proc/cpuinfo) of native bfloat16 dot products
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


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


@functools.lru_cache(maxsize=1)
def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU multiplies bfloat16 natively (False where /proc/cpuinfo is absent)."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return not BF16_FLAGS.isdisjoint(line.split(":", 1)[-1].split())
    except OSError:
        pass
    return False


def choose_precision(requested: str, native_bf16: bool, gpu: bool) -> str:
    """``"float32"`` or ``"bfloat16"`` for ``requested``: ``auto`` takes bfloat16 only on a
    CPU that has it natively (on a GPU the engine keeps the float32 it was measured with)."""
    if requested not in PRECISIONS:
        raise UsageError(
            f"${PRECISION_ENV} must be one of {', '.join(PRECISIONS)}, got {requested!r}"
        )
    if requested != "auto":
        return requested
    return "bfloat16" if native_bf16 and not gpu else "float32"


def resolve_precision(requested: str | None = None) -> str:
    """The precision this process runs, for the engine's ``Stylizer``: ``requested``, else
    ``$NSTFILTER_PRECISION``, else ``auto``, resolved against this CPU and the GPUs
    TensorFlow uses."""
    import tensorflow as tf

    requested = requested or os.environ.get(PRECISION_ENV, "").strip().lower() or "auto"
    gpu = bool(tf.config.list_logical_devices("GPU"))
    chosen = choose_precision(requested, cpu_has_bf16(), gpu)
    log.debug("precision: %s (%s requested)", chosen, requested)
    return chosen
