"""The instant filter: Magenta's arbitrary-style feed-forward network (Ghiasi et al. 2017),
run by onnxruntime, never TensorFlow. Arrays in, arrays out; the ``fast`` filter
(``nstfilter.builtins.fast``), the engine's ``--init fast`` and the video front-end use it.

    stylizer = FastStylizer()
    vector = stylizer.style_vector(painting)          # (H, W, 3) in [0, 1] -> (100,)
    result = stylizer.transform(photo, vector)        # at the photo's own size
"""

from __future__ import annotations

from .networks import provenance
from .stylizer import (
    FastStylizer,
    blend_vectors,
    default_work_size,
    mix_strength,
)

__all__ = ["FastStylizer", "blend_vectors", "default_work_size", "mix_strength", "provenance"]
