"""``nstfilter install-gimp-plugin`` and ``install-gmic-filter``: put the editor front-ends
where the editors look for them.

The editors run their own Python (GIMP) or none (G'MIC), so the filters run this CLI as a
subprocess; installing also records *which* nstfilter to run (``nstfilter.json`` beside the
GIMP plug-in): GIMP started from a desktop menu rarely has the user's virtualenv on its PATH.
The filter files ship in ``plugins/`` of a checkout and, for wheels, in ``nstfilter/_data/``
(a test keeps the two identical).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import click

from ..durable import failing_as, write_atomic
from ..errors import UsageError

PLUGIN_NAME = "nstfilter"
REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = Path(__file__).resolve().parents[1] / "_data"

#: (source-checkout file, packaged folder) of each editor file.
SOURCES = {
    "gimp": (REPO_ROOT / "editors" / "gimp" / "nstfilter" / "nstfilter.py", DATA_DIR / "gimp"),
    "gmic": (REPO_ROOT / "editors" / "gmic" / "nstfilter.gmic", DATA_DIR / "gmic"),
}


def editor_file(kind: str) -> Path:
    """The filter file for ``kind``: the checkout's (a developer's edits are what gets
    installed), else the packaged one."""
    canonical, packaged_dir = SOURCES[kind]
    for candidate in (canonical, packaged_dir / canonical.name):
        if candidate.is_file():
            return candidate
    raise UsageError(f"the {kind} filter file is missing from this installation")


def _user_config() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def gimp_plugin_root() -> Path:
    """GIMP 3.0's per-user ``plug-ins`` folder (GIMP honours ``GIMP3_DIRECTORY`` as its whole
    configuration folder, so we do too)."""
    if os.environ.get("GIMP3_DIRECTORY"):
        return Path(os.environ["GIMP3_DIRECTORY"]) / "plug-ins"
    mac = sys.platform == "darwin"
    base = Path.home() / "Library" / "Application Support" if mac else _user_config()
    return base / "GIMP" / "3.0" / "plug-ins"


def cli_command() -> list[str]:
    """How the editors should start *this* nstfilter: the console script beside this
    interpreter if there is one, else ``python -m nstfilter`` with this interpreter."""
    script = shutil.which("nstfilter", path=Path(sys.executable).parent)
    return [script] if script else [sys.executable, "-m", "nstfilter"]


def _copy(source: Path, target: Path, executable: bool) -> None:
    with failing_as(f"cannot install {target.name}", target):
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        if executable:
            target.chmod(target.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@click.command("install-gimp-plugin")
@click.option(
    "--dest", type=click.Path(file_okay=False),
    help="GIMP's plug-ins folder [GIMP 3.0's per-user plug-ins folder]. "
    "The plug-in goes into DEST/nstfilter/.",
)  # fmt: skip
@click.option(
    "--no-config", is_flag=True,
    help="Do not record this nstfilter's path; the plug-in then uses $NSTFILTER_BIN or PATH.",
)  # fmt: skip
def install_gimp_plugin(dest: str | None, no_config: bool) -> None:
    """Install the GIMP 3 plug-in (Filters > Artistic > Neural Style Transfer...)."""
    # GIMP 3 runs only plug-ins that sit in a folder of their own name.
    folder = (Path(dest) if dest else gimp_plugin_root()) / PLUGIN_NAME
    target = folder / "nstfilter.py"
    _copy(editor_file("gimp"), target, executable=True)
    click.echo(f"GIMP plug-in installed: {target}")
    if not no_config:
        command, config = cli_command(), folder / "nstfilter.json"
        with failing_as(f"cannot write {config.name}", config):
            config.write_text(json.dumps({"command": command}, indent=2) + "\n", encoding="utf-8")
        click.echo(f"it will run: {' '.join(command)} (recorded in {config})")
    click.echo("Restart GIMP; the filter is in Filters > Artistic > Neural Style Transfer...")


BLOCK_BEGIN = "#--- nstfilter filter (managed by 'nstfilter install-gmic-filter') begin ---"
BLOCK_END = "#--- nstfilter filter end ---"


def gmic_user_file() -> Path:
    """The user command file G'MIC loads at every start (and G'MIC-Qt reads filters from).
    Its place changed between versions (``~/.gmic`` in 2.x, ``~/.config/gmic/user.gmic`` in
    3.x on Linux), so ask the installed ``gmic``; guess only without one."""
    if gmic := shutil.which("gmic"):
        try:
            done = subprocess.run(
                [gmic, "v", "-", "echo_stdout", "$_path_user"],
                capture_output=True, text=True, timeout=30,
            )  # fmt: skip
            if done.returncode == 0 and done.stdout.strip():
                return Path(done.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError):
            pass
    config = _user_config()
    if sys.platform == "win32":
        return config / "user.gmic"
    return config / "gmic" / "user.gmic" if (config / "gmic").is_dir() else Path.home() / ".gmic"


def add_block(user_file: Path, commands: str) -> None:
    """Put ``commands`` into ``user_file`` between our markers, replacing an older copy and
    keeping whatever else the user has there."""
    text = user_file.read_text(encoding="utf-8") if user_file.is_file() else ""
    if BLOCK_BEGIN in text and BLOCK_END in text:
        head, _, rest = text.partition(BLOCK_BEGIN)
        _, _, tail = rest.partition(BLOCK_END)
        text = head.rstrip("\n") + ("\n" if head.strip() else "") + tail.lstrip("\n")
    if text and not text.endswith("\n"):
        text += "\n"
    body = commands.replace("#@gmic\n", "", 1).strip("\n")
    text += f"{BLOCK_BEGIN}\n{body}\n{BLOCK_END}\n"
    # a private temp file + rename: a planted link at a fixed temp name would redirect the write
    write_atomic(text.encode("utf-8"), user_file)


@click.command("install-gmic-filter")
@click.option(
    "--user-file", type=click.Path(dir_okay=False),
    help="G'MIC user command file to add the filter to [asked from gmic, else ~/.gmic].",
)  # fmt: skip
@click.option(
    "--dest", type=click.Path(file_okay=False),
    help="Instead: only copy nstfilter.gmic into this folder (load it with 'gmic -m').",
)  # fmt: skip
def install_gmic_filter(user_file: str | None, dest: str | None) -> None:
    """Install the G'MIC filter: command 'nstfilter' and G'MIC-Qt's Artistic entry."""
    source = editor_file("gmic")
    if dest:
        target = Path(dest) / "nstfilter.gmic"
        _copy(source, target, executable=False)
        click.echo(f"G'MIC filter copied: {target}")
        click.echo(f"use: gmic -m {target} photo.png nstfilter preview -o styled.png")
        return
    target = Path(user_file) if user_file else gmic_user_file()
    add_block(target, source.read_text(encoding="utf-8"))
    click.echo(f"G'MIC filter added to {target} (loaded by every gmic and G'MIC-Qt start)")
    click.echo("use: gmic photo.png nstfilter preview -o styled.png")
    click.echo("G'MIC-Qt: refresh the filters; it is under Artistic > Neural Style Transfer")
