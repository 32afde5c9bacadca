"""The wheel built from this tree: presets, paintings and their licences, py.typed, metadata.

Built once per run from a copy of the checkout's files (tracked and new, not ignored), so
the build never writes into the working tree.
"""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile

import pytest
from helpers import REPO, run_cli
from PIL import Image

import nstfilter

BUNDLED = sorted(p.stem for p in (REPO / "presets").glob("*.toml"))
PAINTINGS = sorted(p.name for p in (REPO / "presets" / "styles").glob("*.jpg"))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    for rel in sorted(set(filter(None, listed.stdout.decode().split("\0")))):
        original, target = REPO / rel, source / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if original.is_symlink():  # nstfilter/_bundled_presets -> ../presets
            target.symlink_to(original.readlink())
        elif original.is_file():
            target.write_bytes(original.read_bytes())
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp), str(source)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:  # pip needs setuptools>=77 from the index for the build
        pytest.skip(f"cannot build a wheel here: {proc.stderr.strip().splitlines()[-1:]}")
    (path,) = tmp.glob("nstfilter-*.whl")
    return zipfile.ZipFile(path)


def _metadata(wheel: zipfile.ZipFile) -> email.message.Message:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    return email.message_from_bytes(wheel.read(name))


def test_wheel_has_the_presets_paintings_and_their_provenance(wheel):
    names = set(wheel.namelist())
    for name in BUNDLED:
        assert f"nstfilter/_bundled_presets/{name}.toml" in names
    assert PAINTINGS  # the paintings are in the tree ...
    for image in PAINTINGS:  # ... and in the wheel, as real files
        data = wheel.read(f"nstfilter/_bundled_presets/styles/{image}")
        assert data == (REPO / "presets" / "styles" / image).read_bytes()
    assert "nstfilter/_bundled_presets/styles/PROVENANCE.toml" in names
    assert "nstfilter/_data/demo/astronaut.jpg" in names
    assert "nstfilter/_data/demo/PROVENANCE.toml" in names


def test_wheel_has_the_licences_and_py_typed(wheel):
    names = set(wheel.namelist())
    assert "nstfilter/py.typed" in names
    licences = {n.split(".dist-info/licenses/", 1)[1] for n in names if ".dist-info/licenses/" in n}
    assert {
        "LICENSE",
        "presets/styles/PROVENANCE.toml",
        "nstfilter/_data/demo/PROVENANCE.toml",
        "nstfilter/fast/PROVENANCE.toml",
    } <= licences
    assert "nstfilter/fast/PROVENANCE.toml" in names  # read at run time, beside the code
    (licence,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(licence).startswith(b"MIT License")


def test_wheel_metadata(wheel):
    meta = _metadata(wheel)
    assert meta["Version"] == nstfilter.__version__
    assert meta["License-Expression"] == "MIT"
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert any(url.startswith("Repository, https://") for url in meta.get_all("Project-URL"))
    assert meta.get_all("Author") or meta.get_all("Author-email")
    extras = set(meta.get_all("Provides-Extra"))
    assert {"dask", "gpu", "test"} <= extras
    requires = meta.get_all("Requires-Dist")
    mandatory = [r for r in requires if "extra ==" not in r]
    assert not any(r.startswith(("dask", "distributed", "scikit-image")) for r in mandatory)
    assert any(r.startswith("dask[distributed]") and 'extra == "dask"' in r for r in requires)
    assert any(r.startswith("tensorflow[and-cuda]") and 'extra == "gpu"' in r for r in requires)
    assert any(r.startswith("nstfilter[dask]") and 'extra == "test"' in r for r in requires)


@pytest.mark.parametrize("command", ["batch", "watch"])
def test_dask_missing_is_one_line_naming_the_extra(tmp_path, command):
    blocker = tmp_path / "site" / "distributed"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('not installed')\n")
    photo, inbox = tmp_path / "p.png", tmp_path / "inbox"
    Image.new("RGB", (32, 24), "red").save(photo)
    inbox.mkdir()
    args = {
        "batch": ["batch", str(photo), "--preset", "preview", "-o", str(tmp_path / "out")],
        "watch": ["watch", str(inbox), "--preset", "preview", "--once"],
    }[command]
    proc = run_cli(*args, "--executor", "dask", env={"PYTHONPATH": str(blocker.parent)})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "nstfilter: error: --executor dask needs Dask: pip install 'nstfilter[dask]'"
    ]


def test_version_comes_from_the_installed_metadata():
    from importlib.metadata import version

    assert nstfilter.__version__ == version("nstfilter")
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.strip().endswith(f"version {version('nstfilter')}")
