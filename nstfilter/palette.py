"""The painting's palette on any image (Pitie et al.'s iterative distribution transfer), in
plain NumPy: the engine finishes its result with it, and so does the fast filter, which must
not import TensorFlow."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .params import StyleParams

#: style images (H, W, 3) in [0, 1] with their weights
Styles = Sequence[tuple[np.ndarray, float]]


def palette_map(
    content: np.ndarray, styles: Styles, iterations: int = 12, seed: int = 0,
    sample: int | None = None,
) -> Callable[[np.ndarray], np.ndarray]:  # fmt: skip
    """The colour map that moves ``content``'s colours (H, W, 3) onto the styles' (Pitie et
    al. 2005): in random rotations of RGB, each axis is mapped onto the painting's by
    quantiles. Monotone per axis, so the shading keeps its order while the whole 3-D palette
    moves (palette 0.11; mean-and-covariance transfer only reaches 0.45). Styles give pixels
    by their weights. Learnt from ``sample`` pixels of each side (default 65536); returned
    as a function of colours ((..., 3) -> (..., 3)), for any image or a lookup table."""
    rng = np.random.default_rng(seed)
    sample = sample or _SAMPLE
    x = content.reshape(-1, 3)  # sampled before any copy: a 4096 px photo is 0.3 GB in float64
    total = sum(w for _, w in styles)
    parts = []
    for pixels, weight in styles:
        flat = pixels.reshape(-1, 3)
        count = max(1, round(sample * weight / total))
        parts.append(flat[rng.choice(len(flat), count, replace=count > len(flat))])
    y = np.concatenate(parts).astype(np.float64)
    x = x[rng.choice(len(x), min(len(x), sample), replace=False)].astype(np.float64)
    levels = np.linspace(0.0, 1.0, 257)
    steps = []
    for _ in range(iterations):
        rotation, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        px, py = x @ rotation, y @ rotation
        knots = [(_quantiles(px[:, a], levels), _quantiles(py[:, a], levels)) for a in range(3)]
        for axis, (source, target) in enumerate(knots):
            px[:, axis] = np.interp(px[:, axis], source, target)
        x = px @ rotation.T
        steps.append((rotation, knots))

    def apply(colours: np.ndarray) -> np.ndarray:
        z = colours.reshape(-1, 3).astype(np.float64)
        for rotation, knots in steps:
            pz = z @ rotation
            for axis, (source, target) in enumerate(knots):
                pz[:, axis] = np.interp(pz[:, axis], source, target)
            z = pz @ rotation.T
        return np.clip(z, 0.0, 1.0).reshape(colours.shape).astype(np.float32)

    return apply


def palette_transfer(
    content: np.ndarray, styles: Styles, iterations: int = 12, seed: int = 0
) -> np.ndarray:
    """``content`` (H, W, 3) recoloured to the styles' colours: :func:`palette_map` applied."""
    return palette_map(content, styles, iterations, seed)(content)


def _quantiles(values: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """``np.quantile(values, levels)`` (its default, linear method) from one sort: numpy
    partitions once per level, 5x slower for the 257 levels used here."""
    ordered = np.sort(values)
    return np.interp(levels * (len(ordered) - 1), np.arange(len(ordered)), ordered)


def lookup(mapping: Callable[[np.ndarray], np.ndarray], image: np.ndarray) -> np.ndarray:
    """``mapping(image)`` through a 17^3 lookup table (trilinear): a colour map costs the same
    at any image size, 0.02 s of CPU at 512 px instead of 0.2 s pixel by pixel (the fast
    filter's budget), within 1/255 on average (the map is smooth and monotone per rotated
    axis; 13/255 at most on tubingen + Starry Night)."""
    from scipy.ndimage import map_coordinates

    grid = np.linspace(0.0, 1.0, _LUT)
    table = mapping(np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), axis=-1))
    coords = np.clip(image, 0.0, 1.0, dtype=np.float32).reshape(-1, 3).T * np.float32(_LUT - 1)
    out = np.empty(image.shape, np.float32)
    for c in range(3):  # float32 throughout: a 4096 px photo's coordinates are 0.15 GB
        out.reshape(-1, 3)[:, c] = map_coordinates(
            table[..., c], coords, order=1, mode="nearest", output=np.float32
        )
    return out


#: Lookup table side (:func:`lookup`).
_LUT = 17


#: Pixels sampled per image to estimate quantiles (exact enough, and fast at any size).
_SAMPLE = 65536


def finish_palette(
    image: np.ndarray, styles: Styles, params: StyleParams, *, quick: bool = False,
    lightness: float = 1.0,
) -> np.ndarray:  # fmt: skip
    """The result (H, W, 3) with its colours moved onto the painting's by ``params.palette``:
    a Gram matrix barely constrains colour, so the optimiser drifts to pale, washed colours
    (palette 0.11 -> 0.38-0.45 on tubingen); this puts them back (0.08), strokes unmoved.
    The move takes the painting's chroma and ``params.palette_lightness`` (unset:
    ``lightness``) of its lightness (:func:`with_chroma`).
    ``quick``: learnt from 8192 pixels in 6 rotations and applied through a lookup table
    (:func:`lookup`): 0.03 s instead of 2 s of CPU at 512 px, for the fast filter (the
    palette measure within 0.02 of the full transfer's on three shared pairs)."""
    if params.palette <= 0.0:
        return image
    paintings = [(s, w) for s, w in styles if w > 0]
    if quick:
        matched = lookup(palette_map(image, paintings, iterations=6, sample=8192), image)
    else:
        matched = palette_transfer(image, paintings)
    share = lightness if params.palette_lightness is None else params.palette_lightness
    if share < 1.0:
        matched = with_chroma(image, matched, share)
    return np.clip(image + params.palette * (matched - image), 0.0, 1.0).astype(np.float32)


#: BT.601 RGB -> YCbCr (the transform PIL's "YCbCr" mode uses), without the offsets.
_YCBCR = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def with_chroma(image: np.ndarray, colours: np.ndarray, luminance: float) -> np.ndarray:
    """``image`` (H, W, 3) in [0, 1] with the chroma of ``colours`` and ``luminance`` of the
    way to their luminance (BT.601 YCbCr).

    The fast filter's palette finish: the network's strokes live in its luminance, and a
    full palette transfer that also remaps the luminance makes the texture measure 30x worse
    (0.06 -> 2.3 on tubingen + Starry Night). Chroma alone keeps it (0.05) and takes the
    palette from 0.67 to 0.41; 15 % of the luminance besides reaches 0.37-0.38 on the
    tubingen pairs with texture 0.05 and 0.19 (0.35 of it: Matisse's texture 0.26)."""
    forward = _YCBCR.T.astype(np.float32)
    ycc = image.astype(np.float32) @ forward
    target = colours.astype(np.float32) @ forward
    ycc[..., 1:] = target[..., 1:]
    ycc[..., 0] += np.float32(luminance) * (target[..., 0] - ycc[..., 0])
    del target
    back = np.linalg.inv(_YCBCR).T.astype(np.float32)
    return np.clip(ycc @ back, 0.0, 1.0)
