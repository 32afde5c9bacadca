"""Helpers for the watcher tests: a drop-folder layout driving the real ``nstfilter watch``
in a subprocess, test presets and small JPEGs (the ``drop`` fixture: tests/watcher/conftest)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from . import SHARED_STYLES, STUB_PLUGINS

__all__ = ["SHARED_STYLES", "STUB_PLUGINS"]

PRESET = """\
name = "{name}"
description = "watcher test preset"
filter = "{filter}"

[[style]]
image = "starry_night.jpg"
weight = 1.0

[schedule]
size = {size}
{extra}
[output]
format = "png"
"""


def write_preset(folder: Path, name: str, filter: str = "stub", size: int = 64, extra=""):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(PRESET.format(name=name, filter=filter, size=size, extra=extra))
    return path


def make_jpeg(path: Path, size=(96, 64), colour=(200, 120, 40)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, "JPEG")
    return path


def jpeg_bytes(size=(96, 64), colour=(30, 160, 90)) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def files(folder: Path) -> list[str]:
    """Visible files below ``folder`` as sorted relative paths (state folder excluded)."""
    if not folder.exists():
        return []
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


@dataclass
class DropFolder:
    root: Path
    env: dict[str, str]
    procs: list[subprocess.Popen] = field(default_factory=list)
    inbox: Path = field(init=False)  # the watcher's default layout around root/inbox
    outbox: Path = field(init=False)
    processed: Path = field(init=False)
    failed: Path = field(init=False)

    def __post_init__(self) -> None:
        for name in ("inbox", "outbox", "processed", "failed"):
            setattr(self, name, self.root / name)

    def command(self, *args: str) -> list[str]:
        script = Path(sys.executable).with_name("nstfilter")
        head = [str(script)] if script.exists() else [sys.executable, "-m", "nstfilter"]
        return [*head, "watch", str(self.inbox), *args]

    def start(self, *args: str, preset: str = "stubby", env=None) -> subprocess.Popen:
        proc = subprocess.Popen(
            self.command("--preset", preset, "--settle", "0.5", *args),
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.procs.append(proc)
        proc.lines = []  # type: ignore[attr-defined]

        def drain() -> None:  # keep the pipe empty so the watcher never blocks on logging
            assert proc.stdout is not None
            for line in proc.stdout:
                proc.lines.append(line)  # type: ignore[attr-defined]

        proc.reader = threading.Thread(target=drain, daemon=True)  # type: ignore[attr-defined]
        proc.reader.start()  # type: ignore[attr-defined]
        self.wait_for_log(proc, "watching")
        return proc

    def once(self, *args: str, preset: str = "stubby", env=None, timeout=120):
        return subprocess.run(
            self.command("--preset", preset, "--settle", "0.5", "--once", *args),
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def wait_for_log(self, proc: subprocess.Popen, text: str, timeout: float = 60) -> str:
        """Wait until a logged line contains ``text``; returns everything logged so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = list(proc.lines)  # type: ignore[attr-defined]
            if any(text in line for line in lines):
                return "".join(lines)
            if proc.poll() is not None:
                proc.reader.join(timeout=5)  # type: ignore[attr-defined]
                if not any(text in line for line in proc.lines):  # type: ignore[attr-defined]
                    break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not logged; output:\n{self.output(proc)}")

    @staticmethod
    def output(proc: subprocess.Popen) -> str:
        return "".join(proc.lines)  # type: ignore[attr-defined]

    def wait_until(self, condition: Callable[[], bool], timeout: float = 60, what="") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}: inbox={files(self.inbox)} "
            f"outbox={files(self.outbox)} processed={files(self.processed)} "
            f"failed={files(self.failed)}"
        )

    def settled(self, total: int) -> bool:
        """True once ``total`` originals have left the inbox for processed/ or failed/."""
        done = len(files(self.processed)) + len(originals(self.failed))
        return done >= total and not files(self.inbox)

    def stop(self, proc: subprocess.Popen, sig=signal.SIGINT, timeout=60) -> tuple[int, str]:
        proc.send_signal(sig)
        proc.wait(timeout=timeout)
        proc.reader.join(timeout=10)  # type: ignore[attr-defined]
        return proc.returncode, self.output(proc)

    def assert_conserved(self, total: int) -> None:
        """Every original is in processed/ (with one result) or failed/ (with a note)."""
        processed, failed = files(self.processed), originals(self.failed)
        notes = [f for f in files(self.failed) if f.endswith(".error.txt")]
        assert files(self.inbox) == [], files(self.inbox)
        assert len(processed) + len(failed) == total, (processed, failed)
        assert len(files(self.outbox)) == len(processed), (files(self.outbox), processed)
        assert len(notes) == len(failed), (notes, failed)


def originals(failed: Path) -> list[str]:
    return [f for f in files(failed) if not f.endswith(".error.txt")]
