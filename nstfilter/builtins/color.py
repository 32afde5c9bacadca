"""Colour preservation (Gatys et al.'s luminance-only transfer, "Preserving colour in neural
artistic style transfer", 2016) and strength, as an ``nstfilter_postprocess`` plugin."""

from __future__ import annotations

from PIL import Image

from ..hookspecs import hookimpl
from ..params import StyleParams


def preserve_color(result: Image.Image, original: Image.Image) -> Image.Image:
    """The result's luminance with the original's colours."""
    original = original.convert("RGB").resize(result.size, Image.Resampling.LANCZOS)
    y, _, _ = result.convert("YCbCr").split()
    _, cb, cr = original.convert("YCbCr").split()
    return Image.merge("YCbCr", (y, cb, cr)).convert("RGB")


def blend_strength(result: Image.Image, original: Image.Image, strength: float) -> Image.Image:
    """``strength`` 1 is the full result, 0 the untouched photo."""
    if strength >= 1.0:
        return result
    original = original.convert("RGB").resize(result.size, Image.Resampling.LANCZOS)
    return Image.blend(original, result.convert("RGB"), strength)


#: Filters that apply ``strength`` themselves (the fast filter mixes style vectors, which
#: looks better than fading pixels): a pixel fade on top would apply it twice.
STRENGTH_IN_FILTER = frozenset({"fast"})


@hookimpl(trylast=True)
def nstfilter_postprocess(
    image: Image.Image, original: Image.Image, params: StyleParams
) -> Image.Image | None:
    """Colour first, then strength: blending two differently coloured images muddies."""
    if params.preserve_color:
        image = preserve_color(image, original)
    if params.filter in STRENGTH_IN_FILTER:
        return image
    return blend_strength(image, original, params.strength)
