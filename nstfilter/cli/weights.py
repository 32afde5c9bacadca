"""``nstfilter weights``: which backbones have their weights on disk, and fetching VGG19.

Downloading is only ever done by this explicit command; the engine never touches the
network (``auto`` falls back to the bundled ``vgg16-hed``).
"""

from __future__ import annotations

import hashlib
import logging
import urllib.request
from pathlib import Path

import click

from ..errors import NstError, UsageError, WeightsError
from .common import verbosity_options

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
    from ..builtins.neural_style import backbone_registry
    from ..engine.backbones import vgg19_weights_path

    registry = backbone_registry()
    try:
        chosen = registry.get("auto").name
    except NstError:
        chosen = "-"
    for name in registry.names()[1:]:
        backbone = registry.get(name) if name == chosen else None
        backbone = backbone or registry._backbones[name]  # noqa: SLF001 - listing all
        status = "available" if backbone.available() else "missing"
        where = str(vgg19_weights_path() or "") if name == "vgg19" else ""
        mark = "*" if name == chosen else " "
        click.echo(f"{mark} {name:<10} {status:<9} {backbone.description} {where}".rstrip())
    click.echo(f"auto -> {chosen}")


def _download(url: str, dest: Path, expected_md5: str | None) -> None:
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    from ..imageio import write_atomic

    digest = hashlib.md5()  # noqa: S324 - integrity check against Keras' published md5
    chunks = []
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
            total = int(response.headers.get("Content-Length") or 0) or None
            with Progress(*Progress.get_default_columns(), DownloadColumn(),
                          TransferSpeedColumn()) as bar:  # fmt: skip
                task = bar.add_task(f"fetching {dest.name}", total=total)
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    chunks.append(chunk)
                    bar.update(task, advance=len(chunk))
    except OSError as exc:
        raise WeightsError(f"download failed from {url}: {exc}") from None
    if expected_md5 and digest.hexdigest() != expected_md5:
        raise WeightsError(f"checksum mismatch for {url}: got {digest.hexdigest()}")
    write_atomic(b"".join(chunks), dest)


@weights.command()
@click.argument("backbone", type=click.Choice(["vgg19"]))
@click.option("--dest", type=click.Path(dir_okay=False), help="Where to save the file.")
@click.option("--url", help="Download from a mirror instead of Keras' storage.")
@click.option("--md5", help="Expected checksum (default: Keras' for the official file).")
@verbosity_options
def fetch(backbone: str, dest: str | None, url: str | None, md5: str | None) -> None:
    """Download BACKBONE's weights (explicitly: nothing else ever uses the network)."""
    from ..engine.backbones import VGG19_WEIGHTS_FILE, VGG19_WEIGHTS_URL

    target = Path(dest) if dest else Path.home() / ".keras" / "models" / VGG19_WEIGHTS_FILE
    if url and not md5:
        log.warning("no --md5 given for a mirror: the download is not verified")
    if target.exists():
        raise UsageError("already present; delete it to fetch again", path=target)
    _download(url or VGG19_WEIGHTS_URL, target, md5 or (None if url else VGG19_MD5))
    click.echo(f"saved {target}")
    if dest:
        click.echo(f"use it with: export NSTFILTER_VGG19_WEIGHTS={target}")
