"""``nstfilter install-gimp-plugin`` (and ``install-gmic-filter``): put the editor front-ends
where the editors look for them.

The editors run their own Python (GIMP) or no Python at all (G'MIC), so the filters cannot
import nstfilter; they run this CLI as a subprocess. Installing therefore also records
*which* nstfilter to run (``nstfilter.json`` beside the GIMP plug-in): GIMP started from a
desktop menu rarely has the user's virtualenv on its PATH.

The filter files ship twice: canonically in ``plugins/`` of a source checkout, and as
package data in ``nstfilter/_data/`` for wheels; a test keeps the two copies identical.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import click

from ..errors import OutputError, UsageError

PLUGIN_NAME = "nstfilter"
REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(__file__).resolve().parents[1] / "_data"

#: (source-checkout file, packaged folder) of each editor file.
SOURCES = {
    "gimp": (REPO_ROOT / "plugins" / "gimp" / "nstfilter" / "nstfilter.py", DATA_DIR / "gimp"),
    "gmic": (REPO_ROOT / "plugins" / "gmic" / "nstfilter.gmic", DATA_DIR / "gmic"),
}


def editor_file(kind: str) -> Path:
    """The filter file for ``kind`` ("gimp" or "gmic"): the checkout's, else the packaged one.

    The checkout copy wins so that a developer's edits are what gets installed.
    """
    canonical, packaged_dir = SOURCES[kind]
    for candidate in (canonical, packaged_dir / canonical.name):
        if candidate.is_file():
            return candidate
    raise UsageError(f"the {kind} filter file is missing from this installation")


def gimp_plugin_root() -> Path:
    """GIMP 3.0's per-user ``plug-ins`` folder on this platform.

    GIMP honours ``GIMP3_DIRECTORY`` as its whole configuration folder, so we do too.
    """
    if os.environ.get("GIMP3_DIRECTORY"):
        return Path(os.environ["GIMP3_DIRECTORY"]) / "plug-ins"
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return base / "GIMP" / "3.0" / "plug-ins"


def cli_command() -> list[str]:
    """How the editors should start *this* nstfilter: the console script beside this
    interpreter if there is one, else ``python -m nstfilter`` with this interpreter."""
    bindir = Path(sys.executable).parent
    for name in ("nstfilter", "nstfilter.exe"):
        script = bindir / name
        if script.is_file() and os.access(script, os.X_OK):
            return [str(script)]
    return [sys.executable, "-m", "nstfilter"]


def _copy(source: Path, target: Path, executable: bool) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        if executable:
            mode = target.stat().st_mode
            target.chmod(mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    except OSError as exc:
        raise OutputError(
            f"cannot install {source.name}: {exc.strerror or exc}", path=target
        ) from exc


def _write_config(folder: Path, command: list[str]) -> Path:
    config = folder / "nstfilter.json"
    try:
        config.write_text(json.dumps({"command": command}, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise OutputError(
            f"cannot write {config.name}: {exc.strerror or exc}", path=config
        ) from exc
    return config


@click.command("install-gimp-plugin")
@click.option(
    "--dest",
    type=click.Path(file_okay=False),
    help="GIMP's plug-ins folder [GIMP 3.0's per-user plug-ins folder]. "
    "The plug-in goes into DEST/nstfilter/.",
)
@click.option(
    "--no-config",
    is_flag=True,
    help="Do not record this nstfilter's path; the plug-in then uses $NSTFILTER_BIN or PATH.",
)
def install_gimp_plugin(dest: str | None, no_config: bool) -> None:
    """Install the GIMP 3 plug-in (Filters > Artistic > Neural Style Transfer...)."""
    root = Path(dest) if dest else gimp_plugin_root()
    # GIMP 3 runs only plug-ins that sit in a folder of their own name.
    folder = root / PLUGIN_NAME
    target = folder / "nstfilter.py"
    _copy(editor_file("gimp"), target, executable=True)
    click.echo(f"GIMP plug-in installed: {target}")
    if not no_config:
        command = cli_command()
        config = _write_config(folder, command)
        click.echo(f"it will run: {' '.join(command)} (recorded in {config})")
    click.echo("Restart GIMP; the filter is in Filters > Artistic > Neural Style Transfer...")


def gmic_user_folder() -> Path:
    """Where G'MIC (3.x) keeps per-user files: ``$GMIC_PATH`` or the platform config dir."""
    if os.environ.get("GMIC_PATH"):
        return Path(os.environ["GMIC_PATH"])
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "gmic"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "gmic"


@click.command("install-gmic-filter")
@click.option(
    "--dest",
    type=click.Path(file_okay=False),
    help="Folder to copy nstfilter.gmic into [G'MIC's per-user folder].",
)
def install_gmic_filter(dest: str | None) -> None:
    """Copy the G'MIC filter file (command 'nstfilter', G'MIC-Qt filter) and say how to use it."""
    target = (Path(dest) if dest else gmic_user_folder()) / "nstfilter.gmic"
    _copy(editor_file("gmic"), target, executable=False)
    click.echo(f"G'MIC filter installed: {target}")
    click.echo(f"command line: gmic -m {target} photo.png nstfilter preview -o styled.png")
    click.echo(f"G'MIC-Qt: Settings > Sources > add {target}, then update the filters")
