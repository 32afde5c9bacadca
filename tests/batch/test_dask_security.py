"""Issue 11, Dask's trust model: loopback LocalCluster, TLS to a scheduler, checked results."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.batch import cli_env, make_photos

from nstfilter.errors import UsageError
from nstfilter.executors import dask_cluster
from nstfilter.executors.dask_cluster import DaskExecutor, checked, dask_security
from nstfilter.jobs import Job, JobOutcome
from nstfilter.params import StyleParams

pytest.importorskip("distributed")
DASK = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
OPENSSL = shutil.which("openssl")


def _job(key: str = "a.jpg::p") -> Job:
    return Job(key, "a.jpg", b"", StyleParams(), ())


def _forged(job, plugins_dirs=()):
    """Runs on a worker: what a second client's replaced task might return."""
    return {"key": job.key, "ok": True, "output": b"anything"}


def test_local_cluster_is_loopback_and_tls_only_and_results_are_checked(monkeypatch):
    monkeypatch.setattr(dask_cluster, "run_worker_job", _forged)
    with DaskExecutor(workers=1) as executor:
        info = executor.client.scheduler_info()
        addresses = [executor.client.scheduler.address, *info["workers"]]
        addresses += [w.get("nanny") for w in info["workers"].values() if w.get("nanny")]
        assert all(a.startswith("tls://127.0.0.1:") for a in addresses), addresses
        # TLS with the cluster's own throw-away certificates: another local user's plain or
        # certificate-less client (another process) is turned away
        tls = executor.client.scheduler.address
        for address in (tls.replace("tls://", "tcp://"), tls):
            probe = subprocess.run(
                [sys.executable, "-c", f"from distributed import Client; Client({address!r}, "
                 "timeout=5).submit(print, 'ran').result()"],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert probe.returncode != 0 and "ran" not in probe.stdout, probe.stderr[-500:]
        [(_, outcome)] = list(executor.map_unordered([_job()]))
        assert not outcome.ok and "returned a dict" in outcome.error
        watched = executor.submit(_job("b.jpg::p")).result()  # the watcher's path
        assert not watched.ok and "returned a dict" in watched.error


def test_checked_keeps_real_outcomes_and_refuses_anything_else():
    job = _job()
    real = JobOutcome(key=job.key, ok=True, output=b"png")
    assert checked(real, job) is real
    for forged in (None, "x", JobOutcome(key="other::p", ok=True), {"ok": True}):
        assert not checked(forged, job).ok


def test_tls_options_are_checked_in_one_line(tmp_path):
    assert dask_security(None, None, None) is None
    with pytest.raises(UsageError, match="--tls-ca-file: no such file"):
        dask_security(str(tmp_path / "missing.pem"), str(tmp_path / "c.pem"), None)
    (tmp_path / "c.pem").write_text("x")
    with pytest.raises(UsageError, match="needs --tls-ca-file and --tls-cert"):
        dask_security(None, str(tmp_path / "c.pem"), None)
    with pytest.raises(UsageError, match="for --scheduler"):
        DaskExecutor(security=object())


def _certificates(folder: Path) -> dict[str, Path]:
    """A throw-away CA and one certificate for 127.0.0.1 signed by it (scheduler, workers
    and client share it, as in Dask's docs)."""
    ca, ca_key = folder / "ca.pem", folder / "ca-key.pem"
    cert, key = folder / "node.pem", folder / "node-key.pem"
    run = lambda *args: subprocess.run([OPENSSL, *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
        "-keyout", str(ca_key), "-out", str(ca))  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key),
        "-out", str(folder / "node.csr"))  # fmt: skip
    (folder / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(folder / "node.csr"), "-CA", str(ca), "-CAkey",
        str(ca_key), "-CAcreateserial", "-days", "1", "-extfile", str(folder / "ext.cnf"),
        "-out", str(cert))  # fmt: skip
    return {"ca": ca, "cert": cert, "key": key}


@pytest.mark.skipif(DASK is None or OPENSSL is None, reason="needs the dask and openssl commands")
def test_batch_on_a_tls_scheduler(tmp_path):
    pem = _certificates(tmp_path)
    tls = ["--tls-ca-file", str(pem["ca"]), "--tls-cert", str(pem["cert"]),
           "--tls-key", str(pem["key"])]  # fmt: skip
    env = {**os.environ, **cli_env()}
    env.pop("NSTFILTER_THREADS", None)
    file = tmp_path / "scheduler.json"
    logs = open(tmp_path / "cluster.log", "wb")  # noqa: SIM115
    start = dict(env=env, stdout=logs, stderr=subprocess.STDOUT, start_new_session=True)
    processes = [subprocess.Popen([DASK, "scheduler", "--protocol", "tls", "--host", "127.0.0.1",
                                   "--port", "0", "--no-dashboard", "--scheduler-file",
                                   str(file), *tls], **start)]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(file.read_text())["address"]
        assert address.startswith("tls://")
        processes.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1",
                                           "--no-dashboard", "--host", "127.0.0.1", *tls],
                                          **start))  # fmt: skip
        make_photos(tmp_path / "photos", 2)
        batch = [sys.executable, "-m", "nstfilter", "batch", str(tmp_path / "photos"), "-p",
                 "stub-starry", "-o", str(tmp_path / "out"), "--executor", "dask",
                 "--scheduler", address, "--progress", "none", "-r"]  # fmt: skip
        plain = subprocess.run(batch, env=env, capture_output=True, text=True, timeout=120)
        assert plain.returncode == 2, plain.stderr
        assert "cannot reach the Dask scheduler" in plain.stderr and "--tls-ca-file" in plain.stderr
        done = subprocess.run(batch + tls, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
        assert len(list((tmp_path / "out").rglob("*.stub-starry.png"))) == 2
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)
        logs.close()
