"""The one table of settings: :class:`StyleParams`.

Each field carries a :class:`Setting` (its preset section, help text, kind, range and CLI
spelling) in ``field(metadata=...)``. The preset schema (``presets.schema``), the CLI options
(``cli.common.settings_options``), the validation below and the docs/presets.md table are
all generated from it, so a setting is added, documented and checked in one place, and a
test (tests/test_settings.py) fails when any of them drifts.

Validation is one mechanism, :meth:`Setting.check`: every value is checked where it enters
(CLI option, preset key, Python API) and refused with one line naming it there -- a NaN or
an infinity never reaches TensorFlow, and no size can ask for gigabytes.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Iterator
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
Init = Literal["palette", "content", "noise", "style"]
OPTIMIZERS: tuple[str, ...] = ("lbfgs", "adam")
INITS: tuple[str, ...] = ("palette", "content", "noise", "style")
BACKBONES_BUILTIN: tuple[str, ...] = ("auto", "vgg19", "vgg16-hed")

#: The largest side any setting may ask for: 16384 px is a 268-megapixel square, beyond
#: which a run needs more memory than a workstation has even when tiled.
MAX_SIDE = 16384
#: ``size = "original"``: keep the photo's own size (tiled above ``tile_size``).
ORIGINAL = "original"


@dataclass(frozen=True)
class Setting:
    """One row of the table: how a setting is spelt, documented and checked.

    ``section`` is the preset table (``""`` for a top-level key); ``kind`` the Python type
    (of each element when ``many``); ``low``/``high`` bound numbers (``*_open`` excludes the
    bound itself); ``also`` lists values accepted outside the range (``0`` = never tile,
    ``"original"``); ``nullable`` lets ``None`` mean "automatic".
    """

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
        return f"a list of {self._one_rule(plural=True)}" if self.many else self._one_rule()

    def _one_rule(self, plural: bool = False) -> str:
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is str:
            return "names" if plural else "a string"
        if self.kind is bool:
            return "true or false"
        noun = "integer" if self.kind is int else "finite number"
        noun = f"{noun}s" if plural else f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"

        def num(x: float) -> str:
            return f"{int(x)}" if self.kind is int else f"{x:g}"

        lo = None if self.low is None else f"{'>' if self.low_open else '>='} {num(self.low)}"
        hi = None if self.high is None else f"{'<' if self.high_open else '<='} {num(self.high)}"
        if lo and hi and not self.low_open and not self.high_open:
            text = f"{noun} between {num(self.low)} and {num(self.high)}"
        else:
            text = " and ".join(filter(None, (f"{noun} {lo}" if lo else noun, hi)))
        extras = [f"{a!r}" if isinstance(a, str) else f"{a}" for a in self.also]
        return " or ".join([text, *extras])

    def check(self, value: Any, label: str) -> Any:
        """``value`` if it is valid (tuples for lists, floats for numbers), else a
        :class:`UsageError` naming ``label`` (the option, the preset key or the field)."""
        if value is None:
            if self.nullable:
                return None
            raise UsageError(f"{label} must be set")
        if self.many:
            if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
                raise UsageError(f"{label} must be {self.rule()}, got {value!r}")
            items = tuple(self._one(v, label) for v in value)
            if not items:
                raise UsageError(f"{label} needs at least one value")
            return items
        return self._one(value, label)

    def _one(self, value: Any, label: str) -> Any:
        if any(value == a and type(value) is type(a) for a in self.also):
            return value
        bad = UsageError(f"{label} must be {self.rule()}, got {value!r}")
        if self.kind in (bool, str):
            if not isinstance(value, self.kind) or (self.choices and value not in self.choices):
                raise bad
            return value
        # numbers: numpy's too, but never a bool (True is an int to Python, not to a user)
        number = numbers.Integral if self.kind is int else numbers.Real
        if isinstance(value, bool) or not isinstance(value, number):
            raise bad
        value = self.kind(value)
        if not math.isfinite(value):
            raise bad
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            raise bad
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            raise bad
        return value

    def option(self, name: str) -> str:
        """The CLI's long option for field ``name``."""
        return self.cli or "--" + name.replace("_", "-")

    @property
    def kind_name(self) -> str:
        name = {bool: "boolean", int: "integer", float: "number", str: "string"}[self.kind]
        return f"array of {name}s" if self.many else name


def setting(default: Any, **meta: Any) -> Any:
    """A dataclass field whose metadata is its :class:`Setting`."""
    return field(default=default, metadata={"setting": Setting(**meta)})


_WEIGHT = {"low": 0.0, "nullable": True, "unset": "calibrated for the backbone"}
_STEPS = {"kind": int, "low": 0, "high": 100_000}


@dataclass(frozen=True)
class StyleParams:
    """Everything that decides what a stylised image looks like.

    ``content_weight``/``style_weight`` default to ``None``: the engine then uses the values
    calibrated for the chosen backbone (see ``engine.backbones``), because activations of
    different networks differ by orders of magnitude and one pair of numbers cannot suit all.
    Explicit numbers mean exactly what they mean in the TF tutorial.
    """

    content_layers: tuple[str, ...] = setting(
        DEFAULT_CONTENT_LAYERS, section="objective", kind=str, many=True,
        help="Layers whose features the result keeps from the photo.",
    )  # fmt: skip
    style_layers: tuple[str, ...] = setting(
        DEFAULT_STYLE_LAYERS, section="objective", kind=str, many=True,
        help="Layers whose Gram matrices the result takes from the style images.",
    )  # fmt: skip
    style_layer_weights: tuple[float, ...] | None = setting(
        None, section="objective", many=True, low=0.0, nullable=True,
        unset="the backbone's balance",
        help="One emphasis per style layer, times the backbone's calibrated balance.",
    )  # fmt: skip
    content_weight: float | None = setting(
        None, section="objective", **_WEIGHT,
        help="Weight of the content loss.",
    )  # fmt: skip
    style_weight: float | None = setting(
        None, section="objective", **_WEIGHT,
        help="Weight of the style loss.",
    )  # fmt: skip
    tv_weight: float = setting(
        0.0, section="objective", low=0.0, help="Total-variation weight (smoothness)."
    )
    backbone: str = setting(
        "auto", section="objective", kind=str,
        help=f"Feature network: {', '.join(BACKBONES_BUILTIN)} or a plugin's.",
    )  # fmt: skip
    size: int | Literal["original"] = setting(
        512, section="schedule", kind=int, low=16, high=MAX_SIDE, also=(ORIGINAL,),
        help="Longest side of the result in pixels; 'original' keeps the photo's size.",
    )  # fmt: skip
    iterations: int = setting(
        15, section="schedule", **_STEPS, help="Optimiser steps at the final scale."
    )
    scales: int = setting(
        2, section="schedule", kind=int, low=1, high=10,
        help="Coarse-to-fine pyramid levels (1 = single scale).",
    )  # fmt: skip
    min_size: int = setting(
        256, section="schedule", kind=int, low=16, high=MAX_SIDE,
        help="Longest side of the coarsest scale.",
    )  # fmt: skip
    coarse_iterations: int = setting(
        100, section="schedule", **_STEPS, help="Optimiser steps at each coarser scale."
    )
    optimizer: Optimizer = setting(
        "lbfgs", section="schedule", kind=str, choices=OPTIMIZERS, help="Optimiser."
    )
    learning_rate: float = setting(
        0.02, section="schedule", low=0.0, low_open=True, high=1.0, help="Adam's step size."
    )
    beta_1: float = setting(
        0.99, section="schedule", low=0.0, high=1.0, high_open=True, help="Adam's beta_1."
    )
    epsilon: float = setting(
        0.1, section="schedule", low=0.0, low_open=True, high=10.0, help="Adam's epsilon."
    )
    init: Init = setting(
        "palette", section="schedule", kind=str, choices=INITS,
        help="Initial image: the photo in the painting's palette, the photo, noise, the painting.",
    )  # fmt: skip
    seed: int | None = setting(
        0, section="schedule", kind=int, low=0, high=2**31 - 1, nullable=True, unset="0",
        help="Random seed (init = noise).",
    )  # fmt: skip
    style_scale: float = setting(
        1.0, section="schedule", low=0.0, low_open=True, high=4.0,
        help="Style image size relative to the result's longest side.",
    )  # fmt: skip
    tile_size: int = setting(
        1024, section="schedule", kind=int, low=64, high=MAX_SIDE, also=(0,),
        help="Above this longest side, refine in tiles of this size (0 = never tile).",
    )  # fmt: skip
    preserve_color: bool = setting(
        False, section="color", kind=bool, help="Keep the photo's own colours."
    )
    strength: float = setting(
        1.0, section="color", low=0.0, high=1.0, help="Blend with the photo: 0 (photo) to 1."
    )
    palette: float = setting(
        1.0, section="color", low=0.0, high=1.0,
        help="Move the result's colours onto the painting's palette: 0 (as optimised) to 1.",
    )  # fmt: skip
    filter: str = setting(
        "neural-style", section="", kind=str,
        help="Registered filter that runs (neural-style is the engine).",
    )  # fmt: skip

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
        check_combination(self)


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
    for section, specs in by_section():
        for name, spec in specs.items():
            key = f"[{section}] `{name}`" if section else f"`{name}`"
            option = spec.option(name)
            if spec.kind is bool:
                option = f"{option}/--no-{option[2:]}"
            rows.append(
                f"| {key} | `{option}` | `{default_text(name)}` | {spec.rule()} | {spec.help} |"
            )
    return "\n".join(rows) + "\n"


def check_settings(values: dict[str, Any], label: Callable[[str], str]) -> dict[str, Any]:
    """Check ``values`` (field -> value) one by one, naming each by ``label(field)``."""
    return {name: SETTINGS[name].check(value, label(name)) for name, value in values.items()}


def by_section() -> Iterator[tuple[str, dict[str, Setting]]]:
    """The table grouped by preset section, top-level keys first."""
    sections: dict[str, dict[str, Setting]] = {}
    for name, spec in SETTINGS.items():
        sections.setdefault(spec.section, {})[name] = spec
    yield from sorted(sections.items(), key=lambda item: item[0] != "")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise UsageError(message)


def check_combination(p: StyleParams) -> None:
    """Rules that span settings (each value alone is checked by its :class:`Setting`)."""
    if p.style_layer_weights is not None:
        _require(
            len(p.style_layer_weights) == len(p.style_layers),
            f"{len(p.style_layer_weights)} style layer weights for "
            f"{len(p.style_layers)} style layers",
        )
