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

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / ".ci" / "editors-setup.sh"
STAMP = ".nstfilter-editors-ready"
#: The same path as .ci/editors-setup.sh uses by default.
DEFAULT_ROOT = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "nstfilter-editors"
    / "trixie"
)
#: Host variables the CLI needs to behave as it does outside (weights, presets, styles).
PASS_PREFIXES = ("NSTFILTER_", "KERAS_", "TF_", "XDG_")
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GIMP_TIMEOUT = 600

# The editor-run timings the report prints (pytest -m editors -s, or -rA).
TIMINGS: list[tuple[str, float]] = []


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "editors: runs real GIMP 3 / G'MIC (needs .ci/editors-setup.sh)"
    )


def pytest_terminal_summary(terminalreporter) -> None:
    if TIMINGS:
        terminalreporter.section("editor runs (seconds)")
        for label, seconds in TIMINGS:
            terminalreporter.write_line(f"{seconds:7.1f}  {label}")


def editors_root() -> Path:
    return Path(os.environ.get("NSTFILTER_EDITORS_ROOT") or DEFAULT_ROOT)


def nstfilter_executable() -> Path | None:
    """The CLI of *this* environment: beside sys.executable (CI's .venv), else on PATH."""
    beside = Path(sys.executable).parent / "nstfilter"
    if beside.is_file():
        return beside.absolute()
    found = shutil.which("nstfilter")
    return Path(found).absolute() if found else None


def cli_env(home: Path | None = None) -> dict[str, str]:
    """The variables given to the CLI, whether run directly or from inside an editor."""
    env = {k: v for k, v in os.environ.items() if k.startswith(PASS_PREFIXES)}
    styles = REPO.parent / "shared" / "data" / "styles"
    if styles.is_dir():  # as tests/conftest.py does for the other tests
        env.setdefault("NSTFILTER_STYLE_PATH", str(styles))
    env["HOME"] = str(home or Path.home())
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env["LANG"] = "C.UTF-8"
    return env


_NAMESPACE_SCRIPT = r"""
set -eu
root=$1; shift
count=$1; shift
mount --rbind / "$root/host"
while [ "$count" -gt 0 ]; do
  mkdir -p "$root$1"
  mount --bind "$1" "$root$1"
  shift; count=$((count - 1))
done
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
exec chroot "$root" "$@"
"""


class Chroot:
    """Runs commands inside the editors' chroot (see the module docstring)."""

    def __init__(self, root: Path, binds: list[Path]) -> None:
        self.root = root
        self.binds = [str(b) for b in binds]

    def command(self, argv: list[str], env: dict[str, str]) -> list[str]:
        pairs = [f"{k}={v}" for k, v in env.items()]
        return [
            "unshare", "--mount", "--propagation", "private", "--",
            "/bin/sh", "-c", _NAMESPACE_SCRIPT, "sh", str(self.root), str(len(self.binds)),
            *self.binds, "/usr/bin/env", "-i", f"PATH={CHROOT_PATH}", *pairs, *argv,
        ]  # fmt: skip

    def run(
        self, argv: list[str], env: dict[str, str], timeout: float = GIMP_TIMEOUT, label=""
    ) -> subprocess.CompletedProcess:
        start = time.monotonic()
        result = subprocess.run(
            self.command(argv, env), capture_output=True, text=True, timeout=timeout
        )
        TIMINGS.append((label or " ".join(argv[:2]), time.monotonic() - start))
        return result

    def popen(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(argv, env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )


def _skip_reason(root: Path) -> str | None:
    hint = (
        f"run .ci/editors-setup.sh (as root; builds it in ~3-4 min, cached at {root}) "
        "or set NSTFILTER_EDITORS_ROOT"
    )
    if not sys.platform.startswith("linux"):
        return "editor tests need Linux (a Debian chroot)"
    if not (root / STAMP).is_file():
        return f"editors chroot not found: {hint}"
    if os.geteuid() != 0:
        return "editor tests need root (chroot, mount namespaces)"
    if shutil.which("unshare") is None:
        return "editor tests need unshare (util-linux)"
    if nstfilter_executable() is None:
        return "the nstfilter CLI is not installed in this environment (pip install -e .)"
    return None


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


def run_reference(args: list[str], content: Path, output: Path) -> None:
    """The CLI alone, with the arguments the plug-ins pass (what they must reproduce)."""
    exe = nstfilter_executable()
    assert exe is not None
    start = time.monotonic()
    result = subprocess.run(
        [str(exe), "apply", str(content), "-o", str(output), "-q", *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **cli_env()},
        timeout=600,
    )
    TIMINGS.append((f"CLI alone: {' '.join(args)}", time.monotonic() - start))
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session")
def reference_png(editors_workdir: Path, content_png: Path, chroot: Chroot) -> Path:
    """``nstfilter apply content.png --preset preview --size 80`` run directly."""
    output = editors_workdir / "reference.png"
    run_reference(["--preset", "preview", "--size", "80"], content_png, output)
    return output


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image, dtype=np.int16)


def assert_styled_like(got: np.ndarray, want: np.ndarray, content: np.ndarray) -> None:
    """``got`` is the CLI's result ``want`` up to float noise, and a real change of
    ``content``.

    Usually the two are bit-identical. But TensorFlow's multi-threaded CPU kernels do not
    promise bit-exact sums, and L-BFGS can amplify a last-bit difference into a few levels
    here and there. So: close on average, nearly everywhere, and the change from the photo
    is the same change (a different preset or strength fails all three by far).
    """
    assert got.shape == want.shape, (got.shape, want.shape)
    diff = np.abs(got - want)
    assert diff.mean() <= 3.0, diff.mean()
    assert np.mean(diff <= 8) >= 0.95, f"{np.mean(diff > 8):.1%} of values differ by > 8"
    change_got = (got - content).ravel().astype(float)
    change_want = (want - content).ravel().astype(float)
    assert np.abs(change_want).mean() > 5, "the reference hardly changed the photo"
    assert np.corrcoef(change_got, change_want)[0, 1] > 0.95


# --- GIMP --------------------------------------------------------------------------------

BATCH_SCRIPT = Path(__file__).with_name("gimp_batch.py")


class Gimp:
    """Runs GIMP 3 in batch mode with the plug-in installed in a private GIMP profile."""

    def __init__(self, chroot: Chroot, workdir: Path, profile: Path, nstfilter_bin: str):
        self.chroot = chroot
        self.workdir = workdir
        self.profile = profile
        self.nstfilter_bin = nstfilter_bin
        self.script = workdir / "gimp_batch.py"
        shutil.copyfile(BATCH_SCRIPT, self.script)
        self.count = 0

    @property
    def plugin_dir(self) -> Path:
        return self.profile / "plug-ins" / "nstfilter"

    def env(self, nstfilter_bin: str | None) -> dict[str, str]:
        env = cli_env()
        env["GIMP3_DIRECTORY"] = str(self.profile)
        env["NSTFILTER_TMPDIR"] = str(self.workdir)  # seen by GIMP and by the CLI
        if nstfilter_bin:
            env["NSTFILTER_BIN"] = nstfilter_bin
        return env

    def spec_args(self, spec: dict) -> tuple[list[str], Path]:
        self.count += 1
        spec_path = self.workdir / f"gimp-spec-{self.count}.json"
        result_path = self.workdir / f"gimp-result-{self.count}.json"
        outdir = self.workdir / f"gimp-out-{self.count}"
        outdir.mkdir()
        spec = {**spec, "result": str(result_path), "outdir": str(outdir)}
        spec_path.write_text(json.dumps(spec))
        code = f"SPEC = {str(spec_path)!r}; exec(open({str(self.script)!r}).read())"
        argv = ["gimp-console-3.0", "-i", "--batch-interpreter", "python-fu-eval", "-b", code]
        return [*argv, "--quit"], result_path

    def run(self, spec: dict, nstfilter_bin: str | None = "default", label: str = "") -> dict:
        """Open ``spec['input']``, call the plug-in with ``spec['props']``, report back."""
        if nstfilter_bin == "default":
            nstfilter_bin = self.nstfilter_bin
        argv, result_path = self.spec_args(spec)
        done = self.chroot.run(argv, self.env(nstfilter_bin), label=f"GIMP: {label}")
        if not result_path.is_file():
            raise AssertionError(f"GIMP wrote no result:\n{done.stdout}\n{done.stderr}")
        result = json.loads(result_path.read_text())
        result["log"] = done.stdout + done.stderr
        assert "exception" not in result, result["exception"] + result["log"]
        return result


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
