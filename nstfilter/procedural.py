"""Style images made by code, so presets work offline with nothing else installed.

Each generator is deterministic (fixed seed, pure NumPy/SciPy) and versioned in
:data:`GENERATORS`: a change to its output must bump the version so caches regenerate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

SIZE = 512


def _smooth_field(rng: np.random.Generator, size: int, waves: int = 6) -> np.ndarray:
    """A smooth random scalar field in [0, 1]: a sum of random low-frequency sinusoids."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    field = np.zeros((size, size), np.float32)
    for _ in range(waves):
        fx, fy = rng.uniform(0.5, 3.0, 2)
        phase = rng.uniform(0, 2 * np.pi)
        field += np.sin(2 * np.pi * (fx * x + fy * y) + phase) * rng.uniform(0.5, 1.0)
    field -= field.min()
    return field / max(float(field.max()), 1e-6)


def _palette(values: np.ndarray, stops: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    """Map values in [0, 1] through a piecewise-linear colour ramp."""
    xs = [s for s, _ in stops]
    return np.stack([np.interp(values, xs, [c[i] for _, c in stops]) for i in range(3)], axis=-1)


def swirl(size: int = SIZE, seed: int = 1889) -> Image.Image:
    """Thick, curving Van Gogh-like strokes: line-integral convolution of noise along a
    smooth flow field, in night-sky blues with yellow highlights."""
    rng = np.random.default_rng(seed)
    angle = _smooth_field(rng, size) * 4 * np.pi
    vx, vy = np.cos(angle), np.sin(angle)
    noise = rng.random((size, size)).astype(np.float32)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    acc = np.zeros((size, size), np.float32)
    for direction in (1.0, -1.0):  # line-integral convolution, both ways along the flow
        py, px = ys.copy(), xs.copy()
        for _ in range(14):
            iy = np.clip(py.astype(np.int32), 0, size - 1)
            ix = np.clip(px.astype(np.int32), 0, size - 1)
            acc += noise[iy, ix]
            px += direction * vx[iy, ix]
            py += direction * vy[iy, ix]
    strokes = (acc - acc.min()) / max(float(acc.max() - acc.min()), 1e-6)
    hue = _smooth_field(rng, size, waves=4)
    tone = np.clip(0.55 * hue + 0.45 * strokes, 0, 1)
    rgb = _palette(
        tone,
        [(0.0, (10, 22, 60)), (0.35, (30, 70, 150)), (0.6, (90, 150, 200)),
         (0.8, (230, 200, 80)), (1.0, (250, 240, 190))],
    )  # fmt: skip
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


def mosaic(size: int = SIZE, seed: int = 1250, cells: int = 90, lead: float = 8.0) -> Image.Image:
    """Stained glass: Voronoi cells of saturated colour divided by dark lead lines of even
    width (``lead`` px at 512 px, scaled with ``size``).

    The lead is what the result takes from this image (issue 18): with 220 cells and 1-3 px
    seams the optimisation made rounded patches with dark seams only here and there; 90 cells
    and 8 px of lead, a fifth of the picture, give the result dark outlines around its
    patches. Each seam is drawn by its exact distance to the Voronoi edge (half the
    difference of the squared distances to the two nearest centres over their separation),
    antialiased over one pixel, so its width is the same along the whole edge."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    points = rng.random((cells, 2)) * size
    pixels = np.stack([a.ravel() for a in np.mgrid[0:size, 0:size]], axis=1).astype(np.float64)
    distance, nearest = cKDTree(points).query(pixels, k=2)
    apart = np.linalg.norm(points[nearest[:, 1]] - points[nearest[:, 0]], axis=1)
    seam = ((distance[:, 1] ** 2 - distance[:, 0] ** 2) / (2 * apart)).reshape(size, size)
    label = nearest[:, 0].reshape(size, size)
    glass = np.array(
        [(180, 20, 30), (20, 60, 160), (230, 170, 20), (30, 130, 60),
         (120, 30, 140), (220, 90, 20), (40, 150, 170)], np.float32,
    )  # fmt: skip
    colours = glass[rng.integers(0, len(glass), cells)] * rng.uniform(0.7, 1.1, (cells, 1))
    shade = 0.85 + 0.15 * _smooth_field(rng, size, waves=8)[..., None]
    half_width = lead * size / SIZE / 2
    pane = np.clip(seam - half_width + 0.5, 0.0, 1.0)[..., None]  # 0 on the lead, 1 in glass
    rgb = pane * colours[label] * shade + (1.0 - pane) * 22.0
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")


#: name -> (version, generator). Bump the version when a generator's output changes.
GENERATORS: dict[str, tuple[int, Callable[[], Image.Image]]] = {
    "swirl": (1, swirl),
    "mosaic": (2, mosaic),
}
