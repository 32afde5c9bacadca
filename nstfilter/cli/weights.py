"""``nstfilter weights``: which backbones have their weights on disk, and fetching VGG19 --
only ever by this explicit command; the engine never touches the network (``auto`` falls
back to the bundled ``vgg16-hed``)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from ..errors import NstError, WeightsError
from .common import facade, verbosity_options

log = logging.getLogger("nstfilter.weights")

#: Keras' published checksum of the VGG19 "notop" file.
VGG19_MD5 = "253f8cb515780f3b799900260a226db6"


@click.group()
def weights() -> None:
    """List backbones and fetch pretrained weights."""


@weights.command("list")
@verbosity_options
def list_weights() -> None:
    """Show each backbone, whether its weights are on disk, and what ``auto`` picks."""
    from ..engine.backbones import BackboneRegistry
    from ..pretrained import vgg19_weights_path

    backbones = {backbone.name: backbone for backbone in facade().backbones()}
    registry = BackboneRegistry()
    for backbone in backbones.values():
        registry.register(backbone)
    try:
        chosen = registry.get("auto").name
    except NstError:
        chosen = "-"
    for name, backbone in backbones.items():
        status = "available" if backbone.available() else "missing"
        where = str(vgg19_weights_path() or "") if name == "vgg19" else ""
        mark = "*" if name == chosen else " "
        click.echo(f"{mark} {name:<10} {status:<9} {backbone.description} {where}".rstrip())
    click.echo(f"auto -> {chosen}")


@weights.command()
@click.argument("backbone", type=click.Choice(["vgg19"]))
@click.option("--dest", type=click.Path(dir_okay=False), help="Save here, not in Keras' cache.")
@click.option("--url", help="Download from a mirror instead of Keras' storage.")
@click.option("--md5", "file_hash", help="Expected md5 or sha256 (default: Keras' for its file).")
@verbosity_options
def fetch(backbone: str, dest: str | None, url: str | None, file_hash: str | None) -> None:
    """Download BACKBONE's weights (explicitly: nothing else ever uses the network).

    By Keras' get_file (streamed to disk, hash-checked) into Keras' cache, $KERAS_HOME/models
    (default ~/.keras/models), where --backbone vgg19 looks. As in Keras, a file already
    there that passes the check is kept and one that fails it is fetched again.
    """
    from ..pretrained import VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_URL, vgg19_weights_path
    from ..tfquiet import import_tensorflow_quietly

    import_tensorflow_quietly()  # before Keras: TensorFlow's start-up chatter stays off stderr
    from keras.utils import get_file

    origin = url or VGG19_WEIGHTS_URL
    if url and not file_hash:
        log.warning("no --md5 given for a mirror: the download is not verified")
    expected = file_hash or (None if url else VGG19_MD5)
    cache = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras") / "models"  # Keras' cache
    target = Path(dest).resolve() if dest else cache / VGG19_WEIGHTS_FILE
    before = target.stat().st_mtime_ns if target.is_file() else None
    try:  # an absolute cache_subdir is the folder itself
        get_file(target.name, origin, file_hash=expected, cache_subdir=str(target.parent))
    except ValueError:  # checksum mismatch: get_file leaves the bad file in place
        target.unlink(missing_ok=True)
        raise WeightsError(f"checksum mismatch for {origin}: file removed") from None
    except OSError as exc:
        raise WeightsError(f"cannot save {target}: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - get_file raises a bare Exception on URL errors
        raise WeightsError(f"download failed: {' '.join(str(exc).split())}") from None
    kept = before is not None and target.stat().st_mtime_ns == before
    click.echo(f"{'already present' if kept else 'saved'} {target}")
    if vgg19_weights_path() != target:  # --dest, or $NSTFILTER_VGG19_WEIGHTS points elsewhere
        click.echo(f"use it with: export NSTFILTER_VGG19_WEIGHTS={target}")
