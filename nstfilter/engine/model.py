"""``StyleContentModel``: images in [0, 1] to content activations and style Gram matrices."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from .backbones import CAFFE_BGR_MEAN, Backbone, extractor
from .losses import gram_matrix


def preprocess(image: tf.Tensor) -> tf.Tensor:
    """[0, 1] RGB to the Caffe convention VGG weights expect (0..255 BGR minus the mean),
    inside the graph so the gradient reaches the pixels the optimiser changes."""
    bgr = tf.reverse(image * 255.0, axis=[-1])
    return bgr - tf.constant(CAFFE_BGR_MEAN, dtype=image.dtype)


class StyleContentModel(tf.keras.models.Model):
    """The TF tutorial's model, on a pluggable backbone: returns
    ``{'content': {layer: activations}, 'style': {layer: Gram matrix}}``."""

    def __init__(
        self,
        style_layers: Sequence[str],
        content_layers: Sequence[str],
        backbone: Backbone,
        precision: str = "float32",
    ) -> None:
        super().__init__()
        self.style_layers = tuple(style_layers)
        self.content_layers = tuple(content_layers)
        self.backbone = backbone
        self._wanted = tuple(dict.fromkeys(self.style_layers + self.content_layers))
        self.vgg = extractor(backbone, self._wanted, precision)
        #: what the convolutions compute in (float32 for a backbone without bfloat16)
        self.precision = precision if backbone.bfloat16 else "float32"
        self.vgg.trainable = False

    def features(self, inputs: tf.Tensor) -> dict[str, tf.Tensor]:
        """Raw activations of every requested layer for images in [0, 1], in float32 (Gram
        matrices and losses of bfloat16 features would lose their small differences)."""
        # flatten: a plugin's one-layer extractor may return a bare tensor
        outputs = tf.nest.flatten(self.vgg(preprocess(inputs)))
        return dict(zip(self._wanted, (tf.cast(o, tf.float32) for o in outputs)))

    def call(self, inputs: tf.Tensor) -> dict[str, dict[str, tf.Tensor]]:
        feats = self.features(inputs)
        return {
            "content": {name: feats[name] for name in self.content_layers},
            "style": {name: gram_matrix(feats[name]) for name in self.style_layers},
        }
