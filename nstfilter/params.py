"""The one table of settings: :class:`StyleParams`, whose fields carry a :class:`Setting`.

The preset schema, the CLI options, validation and the docs/presets.md table are generated
from it (tests/test_settings.py fails on drift). :meth:`Setting.check` checks every value
where it enters (CLI, preset, Python API): no NaN reaches TensorFlow, no size asks for GBs.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from .errors import UsageError

# The objective of the TF tutorial (and of Gatys et al.'s VGG layer choice).
DEFAULT_CONTENT_LAYERS: tuple[str, ...] = ("block5_conv2",)
DEFAULT_STYLE_LAYERS: tuple[str, ...] = tuple(f"block{i}_conv1" for i in range(1, 6))

Optimizer = Literal["lbfgs", "adam"]
Init = Literal["palette", "content", "noise", "style", "fast"]
OPTIMIZERS: tuple[str, ...] = ("lbfgs", "adam")
INITS: tuple[str, ...] = ("palette", "content", "noise", "style", "fast")
BACKBONES_BUILTIN: tuple[str, ...] = ("auto", "vgg19", "vgg16-hed")

#: The largest side any setting may ask for: 16384 px is a 268-megapixel square, beyond
#: which a run needs more memory than a workstation has even when tiled.
MAX_SIDE = 16384
#: ``size = "original"``: keep the photo's own size (tiled above ``tile_size``).
ORIGINAL = "original"
_NUMBERS = {int: numbers.Integral, float: numbers.Real}


@dataclass(frozen=True)
class Setting:
    """One row of the table. ``section`` is the preset table (``""``: top level); ``kind``
    the type (of each element when ``many``); ``low``/``high`` bound numbers (``*_open``
    excludes the bound); ``also`` lists values accepted outside the range (``0`` = never
    tile, ``"original"``); ``nullable`` lets ``None`` mean "automatic"."""

    section: str
    help: str
    kind: type = float
    many: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    also: tuple[Any, ...] = ()
    nullable: bool = False
    unset: str = ""  # what None means, for help and docs ("calibrated for the backbone")
    cli: str | None = None  # the long option, when not --field-name

    def rule(self) -> str:
        """The range in words, for messages and the docs table."""
        if self.choices:
            text = "one of " + ", ".join(self.choices)
        elif self.kind is str:
            text = "names" if self.many else "a string"
        elif self.kind is bool:
            text = "true or false"
        else:
            text = self._number_rule()
        return f"a list of {text}" if self.many else text

    def _number_rule(self) -> str:
        noun = "integer" if self.kind is int else "finite number"
        noun = f"{noun}s" if self.many else ("an " if self.kind is int else "a ") + noun

        def num(x: float) -> str:
            return f"{int(x)}" if self.kind is int else f"{x:g}"

        lo = None if self.low is None else f"{'>' if self.low_open else '>='} {num(self.low)}"
        hi = None if self.high is None else f"{'<' if self.high_open else '<='} {num(self.high)}"
        if lo and hi and not self.low_open and not self.high_open:
            text = f"{noun} between {num(self.low)} and {num(self.high)}"
        else:
            text = " and ".join(filter(None, (f"{noun} {lo}" if lo else noun, hi)))
        return " or ".join([text, *(f"{a!r}" if isinstance(a, str) else f"{a}" for a in self.also)])

    def check(self, value: Any, label: str) -> Any:
        """``value`` if it is valid (tuples for lists, floats for numbers), else a
        :class:`UsageError` naming ``label`` (the option, the preset key or the field)."""
        if value is None:
            if self.nullable:
                return None
            raise UsageError(f"{label} must be set")
        if not self.many:
            return self._one(value, label)
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise UsageError(f"{label} must be {self.rule()}, got {value!r}")
        items = tuple(self._one(v, label) for v in value)
        if not items:
            raise UsageError(f"{label} needs at least one value")
        return items

    def _one(self, value: Any, label: str) -> Any:
        if any(value == a and type(value) is type(a) for a in self.also):
            return value
        if self.kind in (bool, str):
            if isinstance(value, self.kind) and (not self.choices or value in self.choices):
                return value
        # numbers: numpy's too, but never a bool (True is an int to Python, not to a user)
        elif not isinstance(value, bool) and isinstance(value, _NUMBERS[self.kind]):
            number, low, high = self.kind(value), self.low, self.high
            low_ok = low is None or (number > low if self.low_open else number >= low)
            high_ok = high is None or (number < high if self.high_open else number <= high)
            if math.isfinite(number) and low_ok and high_ok:
                return number
        raise UsageError(f"{label} must be {self.rule()}, got {value!r}")

    def option(self, name: str) -> str:
        """The CLI's long option for field ``name``."""
        return self.cli or "--" + name.replace("_", "-")


def setting(section: str, default: Any, help: str, **meta: Any) -> Any:
    """A dataclass field whose metadata is its :class:`Setting`."""
    return field(default=default, metadata={"setting": Setting(section, help, **meta)})


_objective, _schedule, _color = (partial(setting, s) for s in ("objective", "schedule", "color"))
_WEIGHT = {"low": 0.0, "nullable": True, "unset": "calibrated for the backbone"}
_STEPS = {"kind": int, "low": 0, "high": 100_000}
_SIDE = {"kind": int, "low": 16, "high": MAX_SIDE}
_LAYERS = {"kind": str, "many": True}
_UNIT = {"low": 0.0, "high": 1.0}


@dataclass(frozen=True)
class StyleParams:
    """Everything that decides what a stylised image looks like.

    ``content_weight``/``style_weight`` ``None``: the values calibrated for the backbone
    (``engine.backbones``), since the activations of networks differ by orders of magnitude;
    explicit numbers mean exactly what they mean in the TF tutorial."""

    content_layers: tuple[str, ...] = _objective(
        DEFAULT_CONTENT_LAYERS, "Layers whose features the result keeps from the photo.", **_LAYERS
    )
    style_layers: tuple[str, ...] = _objective(
        DEFAULT_STYLE_LAYERS, **_LAYERS,
        help="Layers whose Gram matrices the result takes from the style images.",
    )  # fmt: skip
    style_layer_weights: tuple[float, ...] | None = _objective(
        None, "One emphasis per style layer, times the backbone's calibrated balance.",
        many=True, low=0.0, nullable=True, unset="the backbone's balance",
    )  # fmt: skip
    content_weight: float | None = _objective(None, "Weight of the content loss.", **_WEIGHT)
    style_weight: float | None = _objective(None, "Weight of the style loss.", **_WEIGHT)
    tv_weight: float = _objective(0.0, "Total-variation weight (smoothness).", low=0.0)
    temporal_weight: float = _objective(
        0.8, "Video: how strongly each frame follows the previous styled frame where the "
        "optical flow is reliable, 0 (independent frames) to 1.", **_UNIT,
    )  # fmt: skip
    backbone: str = _objective(
        "auto", f"Feature network: {', '.join(BACKBONES_BUILTIN)} or a plugin's.", kind=str
    )
    size: int | Literal["original"] = _schedule(
        512, "Longest side of the result in pixels; 'original' keeps the photo's size.",
        also=(ORIGINAL,), **_SIDE,
    )  # fmt: skip
    # issue 18: the fast start lays out the strokes, so the whole budget goes to the full
    # size (20 L-BFGS steps at 512 px), where the detail is, instead of a 256 px layout
    iterations: int = _schedule(20, "Optimiser steps at the final scale.", **_STEPS)
    scales: int = _schedule(
        1, "Coarse-to-fine pyramid levels (1 = single scale).", kind=int, low=1, high=10
    )
    min_size: int = _schedule(256, "Longest side of the coarsest scale.", **_SIDE)
    coarse_iterations: int = _schedule(100, "Optimiser steps at each coarser scale.", **_STEPS)
    optimizer: Optimizer = _schedule("lbfgs", "Optimiser.", kind=str, choices=OPTIMIZERS)
    learning_rate: float = _schedule(0.02, "Adam's step size.", low_open=True, **_UNIT)
    beta_1: float = _schedule(0.99, "Adam's beta_1.", high_open=True, **_UNIT)
    epsilon: float = _schedule(0.1, "Adam's epsilon.", low=0.0, low_open=True, high=10.0)
    init: Init = _schedule(
        "fast", kind=str, choices=INITS,
        help="Initial image: the photo in the painting's palette, the photo, noise, the painting, "
        "or the fast filter's result (the palette start where its model is missing).",
    )  # fmt: skip
    seed: int | None = _schedule(
        0, "Random seed (init = noise).", kind=int, low=0, high=2**31 - 1, nullable=True, unset="0"
    )
    style_scale: float = _schedule(
        1.0, "Style image size relative to the result's longest side.",
        low=0.0, low_open=True, high=4.0,
    )  # fmt: skip
    tile_size: int = _schedule(
        1024, "Above this longest side, refine in tiles of this size (0 = never tile).",
        kind=int, low=64, high=MAX_SIDE, also=(0,),
    )  # fmt: skip
    preserve_color: bool = _color(False, "Keep the photo's own colours.", kind=bool)
    strength: float = _color(1.0, "Blend with the photo: 0 (photo) to 1.", **_UNIT)
    palette: float = _color(
        1.0, "Move the result's colours onto the painting's palette: 0 (as optimised) to 1.",
        **_UNIT,
    )  # fmt: skip
    palette_lightness: float | None = _color(
        None, "Share of the painting's lightness the palette move takes (the rest: colour only).",
        nullable=True, unset="1 (neural-style), 0.15 (fast)", **_UNIT,
    )  # fmt: skip
    filter: str = setting(
        "", "neural-style", "Registered filter that runs (neural-style is the engine).", kind=str
    )

    def replace(self, **changes: Any) -> StyleParams:
        """A copy with ``changes`` applied and validated; ``None`` means ``None`` (e.g.
        ``content_weight=None`` goes back to the calibrated default), so pass only the
        settings you mean to change."""
        unknown = sorted(set(changes) - set(SETTINGS))
        if unknown:
            raise UsageError(f"unknown setting {', '.join(unknown)}; known: {', '.join(SETTINGS)}")
        return dataclasses.replace(self, **changes)

    def working_size(self, longest: int) -> int:
        """The result's longest side for a photo whose longest side is ``longest``."""
        return longest if self.size == ORIGINAL else int(self.size)

    def __post_init__(self) -> None:
        for name, spec in SETTINGS.items():
            object.__setattr__(self, name, spec.check(getattr(self, name), name))
        weights, layers = self.style_layer_weights, self.style_layers
        if weights is not None and len(weights) != len(layers):
            raise UsageError(f"{len(weights)} style layer weights for {len(layers)} style layers")


#: The table: field name -> :class:`Setting`, in field order.
SETTINGS: dict[str, Setting] = {
    f.name: f.metadata["setting"] for f in dataclasses.fields(StyleParams)
}

#: Style image weights (``--style IMG:W``, ``[[style]] weight``, the API's pairs).
STYLE_WEIGHT = Setting(section="style", help="Weight of a style image.", low=0.0)


def default_text(name: str) -> str:
    """A setting's default as the CLI help and the docs show it."""
    value = getattr(StyleParams(), name)
    if value is None:
        return SETTINGS[name].unset or "unset"
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)


def settings_markdown() -> str:
    """The settings table of docs/presets.md (tests/test_settings.py keeps them equal)."""
    rows = [
        "| preset key | CLI option | default | accepted values | meaning |",
        "|---|---|---|---|---|",
    ]
    # top-level keys first (a stable sort keeps the sections in field order)
    for name, spec in sorted(SETTINGS.items(), key=lambda item: item[1].section != ""):
        key = f"[{spec.section}] `{name}`" if spec.section else f"`{name}`"
        option = spec.option(name)
        if spec.kind is bool:
            option = f"{option}/--no-{option[2:]}"
        rows.append(
            f"| {key} | `{option}` | `{default_text(name)}` | {spec.rule()} | {spec.help} |"
        )
    return "\n".join(rows) + "\n"
