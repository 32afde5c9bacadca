"""The convolutions' number format: bfloat16 where the CPU multiplies it natively, else float32.

On a CPU with AVX512_BF16 (or AMX) oneDNN runs the backbone's convolutions in bfloat16 about
1.75x faster per loss-and-gradient evaluation at 512 px (benchmarks/RESULTS.md); the Gram
matrices, the losses and the optimiser stay in float32, so only the feature maps are rounded.
Elsewhere bfloat16 is emulated and slower, so ``auto`` keeps float32. The choice is
``$NSTFILTER_PRECISION`` (``auto``, ``float32``, ``bfloat16``), logged and written in the
metrics, like ``$NSTFILTER_THREADS`` a property of the machine rather than of the look.
"""

from __future__ import annotations

import functools
import logging
import os

from ..errors import UsageError

log = logging.getLogger(__name__)

PRECISION_ENV = "NSTFILTER_PRECISION"
PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")
#: CPU flags (as Linux names them in /proc/cpuinfo) of native bfloat16 dot products
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})


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
    """The precision this process runs: ``requested``, else ``$NSTFILTER_PRECISION``, else
    ``auto``, resolved against this CPU and the GPUs TensorFlow uses."""
    import tensorflow as tf

    requested = requested or os.environ.get(PRECISION_ENV, "").strip().lower() or "auto"
    gpu = bool(tf.config.list_logical_devices("GPU"))
    chosen = choose_precision(requested, cpu_has_bf16(), gpu)
    log.debug("precision: %s (%s requested)", chosen, requested)
    return chosen
