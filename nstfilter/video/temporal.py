"""How one frame is styled given its predecessor: the consistency of Ruder et al. 2016.

Every stylist has two moves: :meth:`first` styles a frame on its own (the first frame, or
the first after a cut), :meth:`follow` styles a frame given the previous styled frame warped
into it and the mask of pixels where that warp is reliable.

- :class:`EngineFrames` (the optimisation qualities): the warped frame is the start, and the
  engine's objective gets the masked temporal term (a real term with its gradient, see
  ``engine.losses.temporal_loss``); a frame that starts from a good image needs no coarse
  scale and fewer steps, so it costs a fraction of the first.
- :class:`FastFrames` (the feed-forward filter): each frame is painted in one pass and
  blended towards the warped predecessor under the mask (``temporal_weight`` of it where
  reliable), an exponential moving average along the flow, with the fine detail raised
  back to the fresh painting's strength (:func:`follow_blend`).
- :class:`FilterFrames`: any other registered filter, per frame, blended like the fast one.

Pixels are (H, W, 3) float32 in [0, 1]; no files here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
from PIL import Image

from ..imageio import from_array, to_array
from ..params import StyleParams

if TYPE_CHECKING:  # pragma: no cover
    from ..plugins import Plugins

#: Frames after the first run this share of ``iterations`` at the final scale only: they
#: start from the warped predecessor, already styled, and the fast filter's painting where
#: the warp is not reliable. 4 of the standard 20 steps: with 5, a later frame cost 0.31-0.36
#: of the first at 512 px (target 1/3); see benchmarks/video.py and docs/video.md.
FOLLOW_SHARE = 0.2


class FrameStylist(Protocol):
    def first(self, frame: np.ndarray) -> np.ndarray: ...

    def prime(self, frame: np.ndarray) -> None:
        """Set up a chain's state from its first frame without styling it (a resumed
        clip continuing mid-chain)."""

    def follow(self, frame: np.ndarray, warped: np.ndarray, mask: np.ndarray) -> np.ndarray: ...


def blend(styled: np.ndarray, warped: np.ndarray, mask: np.ndarray, weight: float) -> np.ndarray:
    """``styled`` moved towards ``warped`` by ``weight`` where ``mask`` is 1 (reliable)."""
    share = (float(weight) * mask)[..., None].astype(np.float32)
    return np.clip(styled + share * (warped - styled), 0.0, 1.0).astype(np.float32)


#: The detail band kept when frames are blended (a Gaussian's sigma, px), the reach over
#: which its strength is compared (sigma, px), and the most it is raised.
DETAIL_SIGMA, DETAIL_REACH, DETAIL_GAIN = 1.0, 6.0, 2.0
#: The most the optimisation's warped start is raised (towards the fast painting's detail,
#: which is crisper than the standard result's). Without the pull below, 1.2 held the test
#: clip's first shot at frame 0's |Laplacian| (0.24) for 50 frames, 1.5 overshot (0.27-0.32)
#: and 1.0 let it fall to 0.13; with the pull the frames settle at ~0.18.
FOLLOW_DETAIL_GAIN = 1.2
#: The share of a later frame's start (and temporal target) taken from its own fast
#: painting where the warp is reliable. Starting from the warped predecessor alone, each
#: frame's steps add to all the earlier frames', so the look kept moving towards the
#: optimum: by frame 24 of the 256 px test clip the houses had turned into chevron
#: stripes, the yellow gone. Pulled back a fifth each frame (the later frames' share of the
#: steps, so it balances them) the houses stay as in frame 0, at a temporal error of 0.024
#: instead of 0.009 (frames 1-24).
FOLLOW_PULL = 0.2


def follow_blend(
    styled: np.ndarray, warped: np.ndarray, mask: np.ndarray, weight: float
) -> np.ndarray:
    """:func:`blend`, then the fine detail raised back to the fresh painting's strength.

    The network paints each frame's strokes a little differently, and a moving average of
    differing strokes is a grey smear: on the 512 px test clip the blended frames kept 0.53
    of the independent frames' Laplacian energy and looked washed out after ~6 frames.
    The blend's detail band (it minus its blur) is scaled, per neighbourhood, to the fresh
    painting's own energy in that band (never down, at most DETAIL_GAIN): the strokes stay
    the warped ones, so they still hold still, at the painting's crispness (0.89 of the
    energy; temporal error 0.030 -> 0.039 against 0.13 for independent frames). Where the
    mask is 0 the blend is the fresh painting and nothing changes."""
    mixed = blend(styled, warped, mask, weight)
    return restore_detail(mixed, styled, mask, DETAIL_GAIN)


def restore_detail(
    image: np.ndarray, reference: np.ndarray, mask: np.ndarray, most: float
) -> np.ndarray:
    """``image``'s fine detail band (it minus its blur) raised, per neighbourhood and where
    ``mask`` is 1, to ``reference``'s energy in that band (never lowered, at most ``most``
    times): the strokes stay ``image``'s, their strength comes back."""
    from . import require_cv2

    cv2 = require_cv2()
    base = cv2.GaussianBlur(image, (0, 0), DETAIL_SIGMA)
    detail = image - base
    fresh = reference - cv2.GaussianBlur(reference, (0, 0), DETAIL_SIGMA)

    def energy(band: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur((band * band).mean(axis=-1), (0, 0), DETAIL_REACH) + 1e-6

    gain = np.clip(np.sqrt(energy(fresh) / energy(detail)), 1.0, most)
    gain = 1.0 + (gain - 1.0) * mask  # only blended pixels: unreliable ones stay as they are
    return np.clip(base + gain[..., None] * detail, 0.0, 1.0).astype(np.float32)


#: Side of the colour lookup table (as ``nstfilter.palette.lookup``'s).
LUT_SIDE = 33


def apply_table(table: np.ndarray, image: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) through a (n, n, n, 3) colour table indexed [r, g, b],
    trilinear: the chain's map built once, so each frame pays only the lookup
    (``palette.lookup`` rebuilds it).

    The table is laid out flat, one (r, g) plane per blue level side by side, so OpenCV's
    bilinear ``remap`` reads the two planes around each pixel's blue and one lerp between
    them finishes the trilinear read: 3 ms a 512 px frame where SciPy's ``map_coordinates``
    took 20-50 ms, a fifth of the network's time (benchmarks/video.py)."""
    from . import require_cv2

    cv2 = require_cv2()
    side = table.shape[0]
    planes = table.transpose(0, 2, 1, 3).reshape(side, side * side, table.shape[-1])
    planes = np.ascontiguousarray(planes, np.float32)  # [r, b * side + g]
    position = np.clip(image, 0.0, 1.0).astype(np.float32) * np.float32(side - 1)
    blue = np.minimum(np.floor(position[..., 2]), side - 2)
    within = (position[..., 2] - blue)[..., None]
    column = (blue * side + position[..., 1]).astype(np.float32)
    row = np.ascontiguousarray(position[..., 0])
    low, high = (
        cv2.remap(planes, column + np.float32(shift), row, cv2.INTER_LINEAR,
                  borderMode=cv2.BORDER_REPLICATE)
        for shift in (0, side)
    )  # fmt: skip
    return (low + within * (high - low)).astype(np.float32)


class FastFrames:
    """The ``fast`` filter's network and palette finish, as its stills get them: the style
    vector is computed once per clip, and the colour map onto the painting's palette once
    per chain (learnt on its first frame, applied to every later one through a lookup
    table): a map learnt afresh on every frame would flicker."""

    def __init__(
        self, plugins: Plugins, styles: Sequence[tuple[Image.Image, float]], params: StyleParams,
        first_frame: np.ndarray,
    ) -> None:  # fmt: skip
        from ..builtins.fast import NAME, shared_filter, work_size

        chosen = plugins.filters().get(NAME) or shared_filter()
        self.stylizer = chosen.stylizer()
        # strength mixes with the *first* frame's own vector: one vector for the whole clip
        self.vector = chosen.vector(self.stylizer, first_frame, styles, params.strength)
        self.side = work_size(max(first_frame.shape[:2]), params)
        self.weight = params.temporal_weight
        self.paintings = [(to_array(img), w) for img, w in styles if w > 0]
        self.amount = params.palette * params.strength
        self.colours: np.ndarray | None = None  # the chain's colour lookup table

    def _paint(self, frame: np.ndarray) -> np.ndarray:
        painted = self.stylizer.transform(frame, self.vector, work_size=self.side)
        if self.amount <= 0.0 or self.colours is None:
            return painted
        matched = apply_table(self.colours, painted)
        return np.clip(painted + self.amount * (matched - painted), 0.0, 1.0)

    def prime(self, frame: np.ndarray) -> None:
        """A new chain: its own colour map (the fast filter's quick one) from its frame."""
        if self.amount > 0.0:
            from ..palette import palette_map

            painted = self.stylizer.transform(frame, self.vector, work_size=self.side)
            mapping = palette_map(painted, self.paintings, iterations=8, sample=16384)
            grid = np.linspace(0.0, 1.0, LUT_SIDE)
            self.colours = mapping(np.stack(np.meshgrid(grid, grid, grid, indexing="ij"), -1))

    def first(self, frame: np.ndarray) -> np.ndarray:
        self.prime(frame)
        return self._paint(frame)

    def paint(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` painted in the current chain's colours."""
        if self.colours is None and self.amount > 0.0:
            self.prime(frame)
        return self._paint(frame)

    def follow(self, frame: np.ndarray, warped: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return follow_blend(self.paint(frame), warped, mask, self.weight)


class FilterFrames:
    """Any registered filter, one frame at a time, blended like :class:`FastFrames`."""

    def __init__(
        self, plugins: Plugins, styles: Sequence[tuple[Image.Image, float]], params: StyleParams,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:  # fmt: skip
        self.filter = plugins.filters()[params.filter]
        self.styles, self.params, self.should_stop = list(styles), params, should_stop

    def prime(self, frame: np.ndarray) -> None:
        pass  # no state per chain

    def first(self, frame: np.ndarray) -> np.ndarray:
        image = from_array(frame)
        output = self.filter.apply(
            image, self.styles, self.params, lambda _: None, self.should_stop
        )
        result = output.image.convert("RGB")
        if result.size != image.size:
            result = result.resize(image.size, Image.Resampling.LANCZOS)
        return to_array(result)

    def follow(self, frame: np.ndarray, warped: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return follow_blend(self.first(frame), warped, mask, self.params.temporal_weight)


class EngineFrames:
    """The optimisation (``neural-style``): the first frame runs the full schedule, later
    ones start from their warped predecessor at the final scale, with the temporal term."""

    def __init__(
        self, plugins: Plugins, styles: Sequence[tuple[Image.Image, float]], params: StyleParams,
        size: tuple[int, int], *, callback=None, should_stop: Callable[[], bool] | None = None,
    ) -> None:  # fmt: skip
        chosen = plugins.filters()[params.filter]
        self.stylizer = chosen.stylizer(params)
        self.plugins = plugins
        side = max(16, round(max(size) * params.style_scale))
        self.styles = [(to_array(_fit(img, side)), float(w)) for img, w in styles]
        self.pil_styles = list(styles)
        self.params = params
        steps = max(1, round(params.iterations * FOLLOW_SHARE))
        # one scale; init "content" only names a valid choice: the start image is given;
        # the palette is finished here, quickly (the frame starts in the painting's colours)
        self.follow_params = params.replace(scales=1, iterations=steps, init="content", palette=0.0)
        self.callback, self.should_stop = callback, should_stop
        # init fast: later frames start from the fast painting where the warp is unreliable
        # (the network's vector once per clip, its colours once per chain)
        self.fast: FastFrames | None = None

    def _fast(self, frame: np.ndarray) -> FastFrames | None:
        if self.params.init != "fast":
            return None
        if self.fast is None:
            painting = self.params.replace(strength=1.0, filter="fast")
            self.fast = FastFrames(self.plugins, self.pil_styles, painting, frame)
        return self.fast

    def prime(self, frame: np.ndarray) -> None:
        if (fast := self._fast(frame)) is not None:
            fast.prime(frame)

    def first(self, frame: np.ndarray) -> np.ndarray:
        from ..engine import stylize_tensor

        init = None
        if self.params.init == "fast":  # as a still starts (the network at the coarse side)
            from ..builtins.neural_style import fast_start

            self.prime(frame)
            init = fast_start(from_array(frame), self.pil_styles, self.params)
        result = stylize_tensor(
            self.stylizer, frame, self.styles, self.params, callback=self.callback,
            should_stop=self.should_stop, init_image=init,
        )  # fmt: skip
        return result.image

    def follow(self, frame: np.ndarray, warped: np.ndarray, mask: np.ndarray) -> np.ndarray:
        from ..engine import stylize_tensor
        from ..engine.objective import Temporal
        from ..palette import finish_palette

        start = warped
        if (fast := self._fast(frame)) is not None:  # disoccluded pixels: the fast painting
            painting = fast.paint(frame)
            # each warp resamples the chain again and its finest grain fades (at 256 px the
            # frames' |Laplacian| fell 0.24 -> 0.15 in 8 frames of warping alone, and 4
            # steps a frame did not bring it back): its strength raised to the painting's
            warped = restore_detail(warped, painting, mask, FOLLOW_DETAIL_GAIN)
            # a share of this frame's own painting in the start and the temporal target:
            # without it every frame adds its steps to the predecessor's and the look
            # drifts (see FOLLOW_PULL)
            warped = blend(painting, warped, mask, 1.0 - FOLLOW_PULL)
            start = warped
        temporal = Temporal(warped, mask, self.params.temporal_weight)
        result = stylize_tensor(
            self.stylizer, frame, self.styles, self.follow_params, callback=self.callback,
            should_stop=self.should_stop, init_image=start, temporal=temporal,
        )  # fmt: skip
        # the palette learnt on this frame, as a still gets it: the frame already wears the
        # painting's colours, so the map is nearly the identity, and it stops a slow drift
        return finish_palette(result.image, self.styles, self.params, quick=True)


def _fit(image: Image.Image, longest: int) -> Image.Image:
    width, height = image.size
    factor = longest / max(width, height)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    rgb = image.convert("RGB")
    return rgb if size == rgb.size else rgb.resize(size, Image.Resampling.LANCZOS)


def stylist_for(
    plugins: Plugins, styles: Sequence[tuple[Image.Image, float]], params: StyleParams,
    first_frame: np.ndarray, *, callback=None, should_stop: Callable[[], bool] | None = None,
) -> FrameStylist:  # fmt: skip
    """The stylist for ``params.filter``: the engine, the fast network, or any filter."""
    plugins.filter(params.filter)  # an unknown one: one line naming those registered
    if params.filter == "neural-style":
        return EngineFrames(
            plugins, styles, params, first_frame.shape[:2], callback=callback,
            should_stop=should_stop,
        )  # fmt: skip
    if params.filter == "fast":
        return FastFrames(plugins, styles, params, first_frame)
    return FilterFrames(plugins, styles, params, should_stop)
