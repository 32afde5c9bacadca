"""The single source of default settings: :class:`StyleParams`.

Presets, the CLI, the watcher, batch jobs and the editor plug-ins all start from
``StyleParams()`` and override fields, so a default number lives in exactly one place.
Validation lives here too, so every front-end rejects the same bad values with the same
one-line message.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import UsageError

# The objective of the TF tutorial (and of Gatys et al.'s VGG layer choice).
DEFAULT_CONTENT_LAYERS: tuple[str, ...] = ("block5_conv2",)
DEFAULT_STYLE_LAYERS: tuple[str, ...] = (
    "block1_conv1",
    "block2_conv1",
    "block3_conv1",
    "block4_conv1",
    "block5_conv1",
)

Optimizer = Literal["lbfgs", "adam"]
Init = Literal["content", "noise", "style"]
OPTIMIZERS: tuple[str, ...] = ("lbfgs", "adam")
INITS: tuple[str, ...] = ("content", "noise", "style")
BACKBONES_BUILTIN: tuple[str, ...] = ("auto", "vgg19", "vgg16-hed")


@dataclass(frozen=True)
class StyleParams:
    """Everything that decides what a stylised image looks like.

    ``content_weight``/``style_weight`` default to ``None``: the engine then uses the values
    calibrated for the chosen backbone (see ``engine.backbones``), because activations of
    different networks differ by orders of magnitude and one pair of numbers cannot suit all.
    Explicit numbers mean exactly what they mean in the TF tutorial.
    """

    # objective
    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    style_layers: tuple[str, ...] = DEFAULT_STYLE_LAYERS
    style_layer_weights: tuple[float, ...] | None = None  # None: equal weights
    content_weight: float | None = None
    style_weight: float | None = None
    tv_weight: float = 0.0
    # schedule
    size: int = 512  # longest side of the result, pixels
    iterations: int = 60  # optimiser steps at the final scale
    scales: int = 3  # coarse-to-fine pyramid levels (1 = single scale)
    min_size: int = 128  # longest side of the coarsest scale
    coarse_iterations: int = 60  # steps at each coarser scale
    optimizer: Optimizer = "lbfgs"
    learning_rate: float = 0.02  # Adam, the tutorial's values
    beta_1: float = 0.99
    epsilon: float = 0.1
    init: Init = "content"
    seed: int | None = 0
    style_scale: float = 1.0  # style image size relative to the content's longest side
    # network
    backbone: str = "auto"
    # colour and strength (post-processing)
    preserve_color: bool = False
    strength: float = 1.0
    # which registered filter runs ("neural-style" is the engine; plugins may add others)
    filter: str = "neural-style"
    # large images: above this longest side, refine in tiles of this size (0 = never tile);
    # memory then stays bounded at any size (see engine.tiling)
    tile_size: int = 1024
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def replace(self, **changes: Any) -> StyleParams:
        """A copy with ``changes`` applied and validated (``None`` values are ignored)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def __post_init__(self) -> None:
        validate(self)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)


def validate(p: StyleParams) -> None:
    """Reject values no run could use, naming the option and the rule it breaks."""
    for name in ("content_weight", "style_weight"):
        value = getattr(p, name)
        _require(value is None or value >= 0, f"{name} must be >= 0, got {value}")
    _require(p.tv_weight >= 0, f"tv_weight must be >= 0, got {p.tv_weight}")
    _require(p.size >= 16, f"size must be at least 16 pixels, got {p.size}")
    _require(p.iterations >= 0, f"iterations must be >= 0, got {p.iterations}")
    _require(p.coarse_iterations >= 0, "coarse_iterations must be >= 0")
    _require(p.scales >= 1, f"scales must be >= 1, got {p.scales}")
    _require(p.min_size >= 16, f"min_size must be at least 16, got {p.min_size}")
    _require(p.optimizer in OPTIMIZERS, f"optimizer must be one of {OPTIMIZERS}")
    _require(p.init in INITS, f"init must be one of {INITS}, got {p.init!r}")
    _require(0.0 <= p.strength <= 1.0, f"strength must be between 0 and 1, got {p.strength}")
    _require(p.learning_rate > 0, "learning_rate must be > 0")
    _require(0 <= p.beta_1 < 1, "beta_1 must be in [0, 1)")
    _require(p.epsilon > 0, "epsilon must be > 0")
    _require(p.style_scale > 0, "style_scale must be > 0")
    _require(p.tile_size == 0 or p.tile_size >= 64, "tile_size must be 0 or >= 64")
    _require(len(p.content_layers) > 0, "at least one content layer is needed")
    _require(len(p.style_layers) > 0, "at least one style layer is needed")
    if p.style_layer_weights is not None:
        _require(
            len(p.style_layer_weights) == len(p.style_layers),
            f"{len(p.style_layer_weights)} style layer weights for "
            f"{len(p.style_layers)} style layers",
        )
        _require(all(w >= 0 for w in p.style_layer_weights), "style layer weights must be >= 0")
