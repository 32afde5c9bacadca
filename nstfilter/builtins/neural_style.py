"""Registers the engine as the ``neural-style`` filter.

The filter is built on first use so that listing plugins or presets never pays for
importing TensorFlow.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from ..hookspecs import hookimpl

if TYPE_CHECKING:  # pragma: no cover
    from ..engine.backbones import BackboneRegistry
    from ..filters import NeuralStyleFilter


def backbone_registry() -> BackboneRegistry:
    """All backbones registered by plugins (built-ins included)."""
    from ..engine.backbones import BackboneRegistry
    from ..plugins import collect, get_plugin_manager

    registry = BackboneRegistry()
    for backbone in collect(get_plugin_manager().hook.nstfilter_register_backbones):
        registry.register(backbone)
    return registry


@functools.lru_cache(maxsize=1)
def neural_style_filter() -> NeuralStyleFilter:
    """The process-wide engine filter (its compiled graphs are cached inside)."""
    from ..filters import NeuralStyleFilter

    return NeuralStyleFilter(backbone_registry)


class LazyNeuralStyleFilter:
    """Forwards to :func:`neural_style_filter`, importing TensorFlow only when used."""

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        return neural_style_filter().apply(*args, **kwargs)


@hookimpl
def nstfilter_register_filters(register) -> None:
    register("neural-style", LazyNeuralStyleFilter())
