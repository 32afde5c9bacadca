"""The style-transfer engine: TensorFlow only, no files, no printing. Front-ends hand it
arrays in [0, 1] and receive arrays back; progress leaves through a :class:`Progress` callback.
"""

from ..tfquiet import import_tensorflow_quietly

import_tensorflow_quietly()  # before any submodule imports TensorFlow

# ruff: noqa: E402

from ..events import Progress
from .backbones import Backbone, BackboneRegistry, default_registry, extractor
from .losses import (
    clip_0_1,
    compute_content_cost,
    compute_layer_style_cost,
    compute_style_cost,
    gram_matrix,
    style_content_loss,
    total_cost,
    total_variation_loss,
)
from .model import StyleContentModel
from .objective import LossTerms, Stylizer, resolve_weights
from .pyramid import bucket_shape, scale_sizes
from .tiling import should_tile, stylize_tensor
from .whole import EngineResult, palette_transfer


def train_step(stylizer: Stylizer, image, m, v, t, targets, adam):
    """The tutorial's ``train_step``: one compiled Adam step of ``stylizer``."""
    return stylizer.train_step(image, m, v, t, targets, adam)


__all__ = [
    "Backbone", "BackboneRegistry", "EngineResult", "LossTerms", "Progress",
    "StyleContentModel", "Stylizer", "bucket_shape", "clip_0_1", "compute_content_cost",
    "compute_layer_style_cost", "compute_style_cost", "default_registry", "extractor",
    "gram_matrix", "palette_transfer", "resolve_weights", "scale_sizes", "should_tile",
    "style_content_loss", "stylize_tensor", "total_cost", "total_variation_loss", "train_step",
]  # fmt: skip
