"""Helpers for the editor tests (GIMP 3, G'MIC in a Debian chroot): the chroot runner,
the CLI reference run, pixel comparisons and the GIMP driver. Fixtures and pytest hooks are
in tests/editors/conftest.py; see its docstring for how the chroot is set up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from . import REPO

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


BATCH_SCRIPT = REPO / "tests" / "editors" / "gimp_batch.py"


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
