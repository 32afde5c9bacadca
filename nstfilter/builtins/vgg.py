"""The built-in VGG backbones, ``vgg19`` and ``vgg16-hed`` (plugin name ``backbones``)."""

from __future__ import annotations

from ..hookspecs import hookimpl


@hookimpl
def nstfilter_register_backbones(register) -> None:
    from ..engine.backbones import VGG16_HED, VGG19

    register(VGG19)
    register(VGG16_HED)
