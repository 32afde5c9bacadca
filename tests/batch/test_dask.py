"""``nstfilter batch --executor dask``: a LocalCluster, and a real ``dask scheduler`` +
``dask worker`` processes on loopback (stub engine)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from helpers.batch import STUB_PRESETS, cli_env, final_states, make_photos, outputs

from nstfilter.batch import collect_inputs, run_batch
from nstfilter.executors.dask_cluster import DaskExecutor
from nstfilter.executors.local import LocalExecutor
from nstfilter.jobs import sha256
from nstfilter.plugins import Plugins
from nstfilter.presets import load_preset

pytest.importorskip("distributed")
DASK = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")


def _batch(photos: Path, outdir: Path, factory):
    presets = [load_preset(name) for name in STUB_PRESETS]
    inputs = collect_inputs([str(photos)], recursive=True, exclude=outdir)
    return run_batch(inputs, presets, outdir, factory, plugins=Plugins.load(), progress="none")


@pytest.fixture(scope="module")
def photos_and_local(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """The 20 photos and the local executor's results for them (the reference)."""
    root = tmp_path_factory.mktemp("dask")
    make_photos(root / "photos")
    mp = pytest.MonkeyPatch()
    mp.setenv("NSTFILTER_PLUGINS_DIR", cli_env()["NSTFILTER_PLUGINS_DIR"])
    mp.setenv("NSTFILTER_PRESET_PATH", cli_env()["NSTFILTER_PRESET_PATH"])
    mp.setenv("NSTFILTER_STYLE_PATH", cli_env()["NSTFILTER_STYLE_PATH"])
    try:
        result = _batch(root / "photos", root / "local", lambda: LocalExecutor(workers=2))
    finally:
        mp.undo()
    assert result.done == 40
    return root / "photos", outputs(root / "local")


def test_local_cluster_gives_the_local_executors_results(photos_and_local, tmp_path):
    photos, reference = photos_and_local
    out = tmp_path / "out"
    result = _batch(photos, out, lambda: DaskExecutor(workers=2))
    assert (result.done, result.failed) == (40, 0)
    assert "LocalCluster (2 workers" in result.executor
    assert outputs(out) == reference  # byte for byte
    workers = {r["worker"] for r in final_states(out).values()}
    assert len(workers) == 2 and os.getpid() not in {int(w.split(":")[1]) for w in workers}


class Cluster:
    """``dask scheduler`` and ``dask worker`` subprocesses on 127.0.0.1."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.env = env
        self.file = folder / "scheduler.json"
        self.processes: list[subprocess.Popen] = []
        self.scheduler = self._start(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(self.file)], "scheduler",
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.address = json.loads(self.file.read_text())["address"]

    def _start(self, args: list[str], name: str, env=None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            args, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def add_worker(self, name: str, **env: str) -> subprocess.Popen:
        return self._start(
            [DASK, "worker", self.address, "--nthreads", "1", "--no-dashboard",
             "--host", "127.0.0.1", "--name", name, "--death-timeout", "60"], name,
            {**self.env, **env},
        )  # fmt: skip

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=30) as client:
            client.wait_for_workers(n, timeout=90)

    @staticmethod
    def pids(process: subprocess.Popen) -> set[int]:
        """The ``dask worker`` process and its children (the nanny's worker process)."""
        try:
            parent = psutil.Process(process.pid)
            return {process.pid, *(c.pid for c in parent.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()

    def kill(self, process: subprocess.Popen) -> None:
        """As if the machine died: the worker and its nanny, without warning."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if DASK is None:
        pytest.skip("the 'dask' command is not installed")
    folder = tmp_path_factory.mktemp("cluster")
    env = {**os.environ, **cli_env(NSTFILTER_STUB_DELAY="0.1")}
    env.pop("NSTFILTER_THREADS", None)
    cluster = Cluster(folder, env)
    try:
        cluster.add_worker("steady-1")
        cluster.add_worker("steady-2")
        cluster.wait_for_workers(2)
        yield cluster
    finally:
        cluster.close()


def test_cli_on_a_real_scheduler_and_workers(cluster, photos_and_local, tmp_path):
    photos, reference = photos_and_local
    out = tmp_path / "out"
    args = [
        sys.executable,
        "-m",
        "nstfilter",
        "batch",
        str(photos),
        "-r",
        "-o",
        str(out),
        "--executor",
        "dask",
        "--scheduler",
        cluster.address,
        "--progress",
        "none",
    ]
    args += [a for name in STUB_PRESETS for a in ("-p", name)]  # fmt: skip
    env = {**os.environ, **cli_env()}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert outputs(out) == reference  # byte for byte, results written by the client
    assert "on dask tcp://127.0.0.1" in done.stderr
    workers = {r["worker"] for r in final_states(out).values()}
    assert len(workers) >= 2  # both workers took jobs


def test_worker_killed_mid_batch_its_jobs_are_retried_elsewhere(
    cluster, photos_and_local, tmp_path
):
    from distributed import Client

    photos, reference = photos_and_local
    victim = cluster.add_worker("victim", NSTFILTER_STUB_DELAY="1.5")
    cluster.wait_for_workers(3)
    victim_pids = Cluster.pids(victim)
    out = tmp_path / "out"
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = _batch(photos, out, lambda: DaskExecutor(cluster.address))
        except BaseException as exc:  # noqa: BLE001
            outcome["error"] = exc

    def on_victim(record: dict) -> bool:
        return int(record["worker"].rsplit(":", 1)[1]) in victim_pids

    thread = threading.Thread(target=run)
    with Client(cluster.address, timeout=30) as client:
        address = next(
            a for a, w in client.scheduler_info()["workers"].items() if w["name"] == "victim"
        )
        thread.start()
        in_flight: list[str] = []
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and thread.is_alive():
            states = final_states(out) if (out / "manifest.jsonl").exists() else {}
            if any(on_victim(r) for r in states.values()):
                in_flight = client.processing(workers=[address]).get(address, [])
                if in_flight:
                    cluster.kill(victim)  # mid-job: the victim takes 1.5 s per job
                    break
            time.sleep(0.05)
    assert in_flight, "the victim worker never ran a job"
    thread.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    result = outcome["result"]
    assert (result.done, result.failed) == (40, 0)
    states = final_states(out)
    assert len(states) == 40 and all(r["status"] == "done" for r in states.values())
    prefix = {f"nstfilter-{sha256(k.encode())[:16]}": k for k in states}
    retried = {prefix[key.rsplit("-", 1)[0]] for key in in_flight}
    assert retried and not any(on_victim(states[k]) for k in retried)  # ran elsewhere
    assert outputs(out) == reference


def test_a_cancelled_task_fails_its_job_not_the_batch():
    """``distributed.wait`` raises when a task was cancelled (e.g. the scheduler connection
    was lost); that must be one failed job, as with any other task error."""
    from types import SimpleNamespace

    from distributed import Client, LocalCluster

    from nstfilter.jobs import JobOutcome

    def ok(key: str) -> JobOutcome:
        time.sleep(0.5)
        return JobOutcome(key=key, ok=True)

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        executor = object.__new__(DaskExecutor)
        executor.window = 4

        def start(job):
            future = client.submit(ok, job.key, pure=False)
            if job.key == "cancelled":
                future.cancel()
            return future

        executor._start = start
        jobs = [SimpleNamespace(key=k) for k in ("cancelled", "a", "b")]
        outcomes = {job.key: outcome for job, outcome in executor.map_unordered(jobs)}
    assert outcomes["a"].ok and outcomes["b"].ok
    assert not outcomes["cancelled"].ok and "Cancel" in outcomes["cancelled"].error
