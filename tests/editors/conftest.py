"""Fixtures for running the real editors (GIMP 3, G'MIC) against the real nstfilter CLI.

The editors live in a Debian trixie chroot built by ``.ci/editors-setup.sh``; nstfilter
(with TensorFlow) lives outside it, in this test run's own environment. Every editor run
gets a private mount namespace (``unshare -m``) in which:

* the host's ``/`` is bind-mounted at ``/host`` inside the chroot, so the plug-ins can run
  the host's CLI as ``chroot /host /path/to/nstfilter`` (given in ``NSTFILTER_BIN``): the
  CLI then runs with the host's libraries and Python, exactly as it does outside;
* the test's work folder is bind-mounted at the *same* path, so file names the editor
  writes are valid for the CLI too (as they would be on a normal desktop);
* ``/proc`` and ``/dev`` are mounted for GIMP.

The mounts die with the namespace, so a killed test leaves nothing mounted. Tests skip,
with the reason, when the chroot is absent or namespaces/chroot are not allowed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from helpers.editors import (
    REPO,
    TIMINGS,
    Chroot,
    Gimp,
    _skip_reason,
    editors_root,
    nstfilter_executable,
    run_reference,
)
from PIL import Image


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "editors: runs real GIMP 3 / G'MIC (needs .ci/editors-setup.sh)"
    )


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.section("editor runs (seconds)")
        for label, seconds in TIMINGS:
            terminalreporter.write_line(f"{seconds:7.1f}  {label}")


@pytest.fixture(scope="session")
def editors_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder visible at the same path inside and outside the chroot."""
    return tmp_path_factory.mktemp("editors")


@pytest.fixture(scope="session")
def chroot(editors_workdir: Path) -> Iterator[Chroot]:
    root = editors_root()
    reason = _skip_reason(root)
    if reason:
        pytest.skip(reason)
    box = Chroot(root, [editors_workdir])
    probe = box.run(["/bin/true"], {}, timeout=60, label="chroot probe")
    if probe.returncode != 0:
        pytest.skip(f"cannot enter the editors chroot: {probe.stderr.strip()[-300:]}")
    yield box
    # The bind mounts died with their namespaces; drop the empty mount points they needed
    # so the cached chroot does not collect one folder per test session.
    for bind in box.binds:
        point = Path(str(root) + bind)
        while point != root and point.parent != root:
            try:
                point.rmdir()
            except OSError:
                break
            point = point.parent


@pytest.fixture(scope="session")
def nstfilter_bin(chroot: Chroot) -> str:
    """NSTFILTER_BIN for the editors: run the host's CLI from inside the chroot."""
    return f"chroot /host {nstfilter_executable()}"


@pytest.fixture(scope="session")
def content_png(editors_workdir: Path) -> Path:
    """An 80x60 photo (the shared test image, else a synthetic one with structure)."""
    path = editors_workdir / "content.png"
    source = REPO.parent / "shared" / "data" / "content" / "tubingen.jpg"
    if source.is_file():
        with Image.open(source) as image:
            image = image.convert("RGB")
            image.thumbnail((80, 80))
    else:
        y, x = np.mgrid[0:60, 0:80]
        rgb = np.stack([x * 3, y * 4, (x + y) * 2 % 255], axis=-1).astype(np.uint8)
        image = Image.fromarray(rgb)
    image.save(path)
    return path


@pytest.fixture(scope="session")
def reference_png(editors_workdir: Path, content_png: Path, chroot: Chroot) -> Path:
    """``nstfilter apply content.png --preset preview --size 80`` run directly."""
    output = editors_workdir / "reference.png"
    run_reference(["--preset", "preview", "--size", "80"], content_png, output)
    return output


@pytest.fixture(scope="session")
def gimp(
    chroot: Chroot, editors_workdir: Path, nstfilter_bin: str, content_png: Path
) -> Iterator[Gimp]:
    """GIMP with the plug-in installed by ``nstfilter install-gimp-plugin``.

    The first start registers the plug-in, which asks the CLI for its presets; that list
    is cached in the profile's pluginrc, so it happens once per session.
    """
    profile = editors_workdir / "gimp-profile"
    exe = nstfilter_executable()
    installed = subprocess.run(
        [str(exe), "install-gimp-plugin", "--dest", str(profile / "plug-ins")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0, installed.stderr
    box = Gimp(chroot, editors_workdir, profile, nstfilter_bin)
    box.installed_output = installed.stdout
    box.first = box.run({"input": str(content_png), "props": None}, label="first start")
    yield box
