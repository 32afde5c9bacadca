"""bfloat16 convolutions where the CPU has them (issue 18): the choice, and the real backbone."""

from __future__ import annotations

import numpy as np
import pytest

from nstfilter.device import choose_precision, cpu_has_bf16
from nstfilter.errors import UsageError


@pytest.mark.parametrize(
    ("requested", "native", "gpu", "chosen"),
    [
        ("auto", True, False, "bfloat16"),
        ("auto", False, False, "float32"),  # emulated bfloat16 is slower: keep float32
        ("auto", True, True, "float32"),  # the GPU path stays as measured
        ("float32", True, False, "float32"),
        ("bfloat16", False, False, "bfloat16"),  # asked for: obeyed (and measurable)
    ],
)
def test_choose_precision(requested, native, gpu, chosen):
    assert choose_precision(requested, native, gpu) == chosen


def test_unknown_precision_is_one_usage_error():
    with pytest.raises(UsageError, match="NSTFILTER_PRECISION must be one of"):
        choose_precision("fp8", True, False)


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    with_bf16, without = tmp_path / "a", tmp_path / "b"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_tile\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 fma\n")
    assert cpu_has_bf16(str(with_bf16))
    assert not cpu_has_bf16(str(without))
    assert not cpu_has_bf16(str(tmp_path / "absent"))


@pytest.mark.slow
def test_bfloat16_backbone_gives_float32_features_and_the_same_loss(content_path, style_path):
    """The real vgg16-hed on a 64 px photo: the features leave the network in float32, the
    loss and its gradient agree with float32's to a few per cent, and the metrics say which
    precision ran."""
    import tensorflow as tf
    from PIL import Image

    from nstfilter.engine import Stylizer, default_registry
    from nstfilter.imageio import fit_longest, to_array
    from nstfilter.params import StyleParams

    params = StyleParams()
    backbone = default_registry().get("vgg16-hed")
    content = to_array(fit_longest(Image.open(content_path).convert("RGB"), 64))[None]
    style = to_array(fit_longest(Image.open(style_path).convert("RGB"), 64))[None]
    noise = np.random.default_rng(0).uniform(size=content.shape).astype(np.float32)
    image = tf.convert_to_tensor(0.5 * content + 0.5 * noise)
    runs = {}
    for precision in ("float32", "bfloat16"):
        st = Stylizer(backbone, params.content_layers, params.style_layers, precision=precision)
        assert st.precision == precision
        feats = st.features(tf.convert_to_tensor(content))
        assert all(f.dtype == tf.float32 for f in feats.values())
        targets = st.targets(tf.convert_to_tensor(content), [(tf.constant(style), 1.0)], params)
        terms, grad = st.loss_and_grads(image, targets)
        runs[precision] = float(terms[0]), grad.numpy().ravel()
    (loss32, grad32), (loss16, grad16) = runs["float32"], runs["bfloat16"]
    assert loss16 == pytest.approx(loss32, rel=0.05)
    cosine = grad32 @ grad16 / (np.linalg.norm(grad32) * np.linalg.norm(grad16))
    assert cosine > 0.95
