"""An example third-party nstfilter plugin: colour transfer without a neural network.

Reinhard, Ashikhmin, Gooch and Shirley, "Color Transfer between Images" (2001): convert both
images to a decorrelated colour space (CIE Lab here), shift and scale each channel of the
photo to the mean and standard deviation of the style image's, convert back. Several style
images are averaged by weight.

Installed as a package, nstfilter finds this module through the ``nstfilter`` entry-point
group declared in ``pyproject.toml``; every ``@hookimpl`` function below is a hook.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path

import click
import numpy as np
from PIL import Image

from nstfilter import hookimpl
from nstfilter.events import Progress
from nstfilter.filters import FilterOutput

FILTER_NAME = "colour-transfer"
log = logging.getLogger("nstfilter.colour_transfer")


def _lab_stats(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    from skimage.color import rgb2lab

    lab = rgb2lab(np.asarray(image.convert("RGB"), np.float64) / 255.0)
    return lab.reshape(-1, 3).mean(0), lab.reshape(-1, 3).std(0)


def colour_transfer(content: Image.Image, styles: list[tuple[Image.Image, float]]) -> Image.Image:
    """The photo with each Lab channel's mean and spread matched to the styles'."""
    from skimage.color import lab2rgb, rgb2lab

    total = sum(w for _, w in styles) or 1.0
    stats = [(_lab_stats(img), w / total) for img, w in styles]
    mean = sum(m * w for (m, _), w in stats)
    std = sum(s * w for (_, s), w in stats)
    lab = rgb2lab(np.asarray(content.convert("RGB"), np.float64) / 255.0)
    own_mean = lab.reshape(-1, 3).mean(0)
    own_std = np.maximum(lab.reshape(-1, 3).std(0), 1e-6)
    lab = (lab - own_mean) / own_std * std + mean
    lab[..., 0] = np.clip(lab[..., 0], 0, 100)
    rgb = np.clip(lab2rgb(lab), 0, 1)
    return Image.fromarray((rgb * 255 + 0.5).astype(np.uint8), "RGB")


class ColourTransferFilter:
    """The nstfilter filter protocol: ``apply(content, styles, params, progress)``."""

    def apply(self, content, styles, params, progress, should_stop=None) -> FilterOutput:
        result = colour_transfer(content, list(styles))
        width, height = content.size
        progress(
            Progress(step=1, total=1, scale=1, scales=1, height=height, width=width, loss=0.0,
                     content_loss=0.0, style_loss=0.0, tv_loss=0.0, seconds=0.0)
        )  # fmt: skip
        return FilterOutput(result, {"backbone": "none", "iterations": 1})


@hookimpl
def nstfilter_register_filters(register) -> None:
    register(FILTER_NAME, ColourTransferFilter())


@hookimpl
def nstfilter_register_presets(register) -> None:
    register(Path(str(files(__name__) / "presets")))


@hookimpl
def nstfilter_postprocess(image, original, params):
    log.info("colour-transfer plugin: postprocess after filter %s", params.filter)
    return None  # leave the image unchanged


@hookimpl
def nstfilter_register_commands(cli: click.Group) -> None:
    @cli.command("colour-transfer")
    @click.argument("image", type=click.Path(exists=True, dir_okay=False))
    @click.argument("style", type=click.Path(exists=True, dir_okay=False))
    @click.option("-o", "--output", required=True, help="Output image file.")
    def colour_transfer_command(image: str, style: str, output: str) -> None:
        """Give IMAGE the colours of STYLE (Reinhard colour transfer; example plugin)."""
        from nstfilter.imageio import load_image, save_image

        result = colour_transfer(load_image(image).rgb, [(load_image(style).rgb, 1.0)])
        click.echo(str(save_image(result, output)))
