"""``nstfilter watch`` end to end: real folders, real watchdog observer, the real CLI.

Each test ends by checking conservation: every file dropped into the inbox is in
processed/ (with exactly one result in outbox/) or in failed/ (with an .error.txt note).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from helpers.watcher import DropFolder, files, jpeg_bytes, make_jpeg, originals
from PIL import Image

from nstfilter.watcher.names import is_ignored_name, numbered


def journal_open_jobs(drop: DropFolder) -> list[str]:
    path = drop.inbox / ".nstfilter" / "journal.jsonl"
    open_ids: dict[str, dict] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["op"] == "start":
            open_ids[record["id"]] = record
        elif record["op"] in ("done", "failed", "requeued"):
            open_ids.pop(record["id"], None)
    return list(open_ids)


# --- names (pure functions, no subprocess) -------------------------------------------------


@pytest.mark.parametrize(
    "name", [".hidden.jpg", "x.tmp", "x.JPG.part", "x.crdownload", "~lock.jpg", ".nstfilter"]
)
def test_ignored_names(name):
    assert is_ignored_name(name)


@pytest.mark.parametrize("name", ["photo.jpg", "a.b.png", "tmp.jpg", "part.jpg"])
def test_taken_names(name):
    assert not is_ignored_name(name)


def test_clash_suffix_goes_before_preset_and_extension():
    assert numbered("photo", ".starry.png", 0) == "photo.starry.png"
    assert numbered("photo", ".starry.png", 2) == "photo-2.starry.png"


# --- refusals before watching ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--outbox", "{inbox}/out"], 2, "inside the inbox"),
        (["--processed", "{inbox}/done"], 2, "inside the inbox"),
        (["--failed", "{inbox}"], 2, "inside the inbox"),
        (["--preset", "no-such-preset"], 7, "no-such-preset"),
    ],
)
def test_refuses_before_watching(drop: DropFolder, args, code, message):
    make_jpeg(drop.inbox / "a.jpg")
    result = drop.once(*[a.format(inbox=drop.inbox) for a in args])
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert files(drop.inbox) == ["a.jpg"]  # untouched
    assert not (drop.inbox / ".nstfilter").exists()


def test_refuses_missing_inbox(drop: DropFolder):
    shutil.rmtree(drop.inbox)
    result = drop.once()
    assert result.returncode == 3, result.stderr
    assert "inbox folder does not exist" in result.stderr


# --- the backlog and every kind of bad input ------------------------------------------------


def test_backlog_good_and_bad_files(drop: DropFolder):
    inbox = drop.inbox
    make_jpeg(inbox / "good.jpg")
    Image.new("RGBA", (80, 80), (10, 20, 200, 128)).save(inbox / "alpha.png")
    make_jpeg(inbox / "other" / "sub.jpg")  # preset subfolder
    make_jpeg(inbox / "plain-folder" / "deep.jpg")  # not a preset: default preset
    truncated = jpeg_bytes((200, 200))
    (inbox / "corrupt.jpg").write_bytes(truncated[: len(truncated) // 3])
    (inbox / "notes.jpg").write_text("this is not an image\n")
    (inbox / "empty.jpg").write_bytes(b"")
    # 770,000 pixels > --max-pixels 700,000 (which the presets' style images, up to 655,360
    # pixels, meet: the limit holds for every image a job decodes, as in apply and batch)
    make_jpeg(inbox / "huge.jpg", size=(1100, 700))
    ignored = [".hidden.jpg", "dl.jpg.part", "x.tmp", "y.crdownload", "~lock.jpg"]
    for name in ignored:
        make_jpeg(inbox / name)

    result = drop.once("--max-pixels", "700000")
    assert result.returncode == 0, result.stderr

    assert sorted(files(drop.outbox)) == [
        "alpha.stubby.png", "deep.stubby.png", "good.stubby.png", "sub.other.png",
    ]  # fmt: skip
    assert files(drop.processed) == [
        "alpha.png", "good.jpg", "other/sub.jpg", "plain-folder/deep.jpg",
    ]  # fmt: skip
    assert originals(drop.failed) == ["corrupt.jpg", "empty.jpg", "huge.jpg", "notes.jpg"]
    notes = {p.name: p.read_text() for p in drop.failed.glob("*.error.txt")}
    assert "corrupt or truncated" in notes["corrupt.error.txt"]
    assert "not an image file" in notes["notes.error.txt"]
    assert "empty file" in notes["empty.error.txt"]
    assert "exceeds the limit of 700,000" in notes["huge.error.txt"]
    for text in notes.values():
        assert "preset:  stubby" in text and "time:" in text
    # ignored names are left exactly where they were
    assert sorted(files(inbox)) == sorted(n for n in ignored if not n.startswith("."))
    assert (inbox / ".hidden.jpg").exists()
    # one log line per file, and the job log plugin wrote one JSON line per file
    assert result.stderr.count("received ") == 8
    log = [json.loads(line) for line in (inbox / ".nstfilter" / "jobs.jsonl").open()]
    assert sorted(r["status"] for r in log) == ["done"] * 4 + ["failed"] * 4
    assert all(r["details"]["filter_seconds"] > 0 for r in log if r["status"] == "done")
    assert journal_open_jobs(drop) == []
    with Image.open(drop.outbox / "good.stubby.png") as im:
        assert max(im.size) == 64
    with Image.open(drop.outbox / "alpha.stubby.png") as im:
        assert im.mode == "RGBA"  # alpha kept through the filter


def test_pixel_limit_from_environment(drop: DropFolder):
    make_jpeg(drop.inbox / "big.jpg", size=(300, 200))
    result = drop.once(env={"NSTFILTER_MAX_PIXELS": "1000"})
    assert result.returncode == 0, result.stderr
    assert originals(drop.failed) == ["big.jpg"]
    assert "NSTFILTER_MAX_PIXELS" in (drop.failed / "big.error.txt").read_text()


def test_name_clashes_never_overwrite(drop: DropFolder):
    make_jpeg(drop.inbox / "same.jpg", colour=(255, 0, 0))
    make_jpeg(drop.inbox / "same.png", colour=(0, 255, 0))  # same result name, same stem
    drop.outbox.mkdir()
    (drop.outbox / "same.stubby.png").write_bytes(b"an older result")
    drop.processed.mkdir()
    (drop.processed / "same.jpg").write_bytes(b"an older original")
    result = drop.once("--workers", "2")
    assert result.returncode == 0, result.stderr
    assert (drop.outbox / "same.stubby.png").read_bytes() == b"an older result"
    assert (drop.processed / "same.jpg").read_bytes() == b"an older original"
    assert files(drop.outbox) == ["same-1.stubby.png", "same-2.stubby.png", "same.stubby.png"]
    assert files(drop.processed) == ["same-1.jpg", "same.jpg", "same.png"]


# --- a running watcher ------------------------------------------------------------------------


def test_dropped_renamed_and_slowly_written_files(drop: DropFolder, tmp_path: Path):
    make_jpeg(drop.inbox / "before.jpg")
    proc = drop.start("--settle", "2")
    # dropped while running
    make_jpeg(drop.inbox / "dropped.jpg")
    # renamed in from outside the inbox (same file system): complete the moment it appears
    outside = make_jpeg(tmp_path / "elsewhere" / "renamed.jpg")
    os.rename(outside, drop.inbox / "renamed.jpg")
    # written under a .part name, then renamed (how browsers download)
    (drop.inbox / "download.jpg.part").write_bytes(jpeg_bytes())
    os.rename(drop.inbox / "download.jpg.part", drop.inbox / "download.jpg")
    # written slowly in chunks through one open handle (no close until the end) ...
    data = jpeg_bytes((240, 160), (90, 90, 200))
    chunk = len(data) // 6 + 1

    def slow_writer(name: str, reopen: bool) -> None:
        path = drop.inbox / name
        if reopen:  # ... and by a program that opens, appends and closes per chunk
            for i in range(0, len(data), chunk):
                with open(path, "ab") as handle:
                    handle.write(data[i : i + chunk])
                time.sleep(0.1)  # well inside the 0.5 s close grace
        else:
            with open(path, "wb") as handle:
                for i in range(0, len(data), chunk):
                    handle.write(data[i : i + chunk])
                    handle.flush()
                    time.sleep(0.4)

    writers = [
        threading.Thread(target=slow_writer, args=("slow.jpg", False)),
        threading.Thread(target=slow_writer, args=("appended.jpg", True)),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    drop.wait_until(lambda: drop.settled(6), what="6 files handled")
    code, output = drop.stop(proc)
    assert code == 0, output
    assert files(drop.failed) == [], output
    assert len(files(drop.outbox)) == 6
    assert (drop.processed / "slow.jpg").read_bytes() == data  # taken only when complete
    assert (drop.processed / "appended.jpg").read_bytes() == data
    assert output.count("received ") == 6, output
    drop.assert_conserved(6)


def test_fifty_files_dropped_at_once(drop: DropFolder, tmp_path: Path):
    proc = drop.start()
    source = make_jpeg(tmp_path / "src.jpg")
    for i in range(50):
        shutil.copyfile(source, drop.inbox / f"photo{i:02d}.jpg")
    drop.wait_until(lambda: drop.settled(50), timeout=120, what="50 files handled")
    code, output = drop.stop(proc)
    assert code == 0, output
    drop.assert_conserved(50)
    assert files(drop.failed) == []
    assert files(drop.outbox) == [f"photo{i:02d}.stubby.png" for i in range(50)]
    assert output.count("received ") == 50  # never processed twice
    assert journal_open_jobs(drop) == []


def test_preset_subfolder_created_while_running(drop: DropFolder, tmp_path: Path):
    proc = drop.start()
    staged = tmp_path / "staged" / "other"
    make_jpeg(staged / "one.jpg")
    make_jpeg(staged / "two.jpg")
    os.rename(staged, drop.inbox / "other")  # a whole folder moved in: no per-file events
    drop.wait_until(lambda: drop.settled(2), what="moved-in folder handled")
    code, output = drop.stop(proc)
    assert code == 0, output
    assert files(drop.outbox) == ["one.other.png", "two.other.png"]
    assert files(drop.processed) == ["other/one.jpg", "other/two.jpg"]


def test_polling_mode(drop: DropFolder, tmp_path: Path):
    proc = drop.start("--polling", "--poll-interval", "0.2")
    assert "polling" in drop.output(proc)
    make_jpeg(drop.inbox / "polled.jpg")
    outside = make_jpeg(tmp_path / "elsewhere" / "moved.jpg")
    os.rename(outside, drop.inbox / "moved.jpg")
    drop.wait_until(lambda: drop.settled(2), what="2 files handled by polling")
    code, output = drop.stop(proc)
    assert code == 0, output
    assert files(drop.outbox) == ["moved.stubby.png", "polled.stubby.png"]
    drop.assert_conserved(2)


def test_process_pool_executor(drop: DropFolder):
    """--executor local: jobs run in worker processes; the watcher keeps journal and moves."""
    for i in range(4):
        make_jpeg(drop.inbox / f"e{i}.jpg")
    (drop.inbox / "bad.jpg").write_text("not an image")
    result = drop.once("--executor", "local", "--workers", "2", timeout=180)
    assert result.returncode == 0, result.stderr
    assert "local worker" in result.stderr
    drop.assert_conserved(5)
    assert originals(drop.failed) == ["bad.jpg"]
    assert "not an image file" in (drop.failed / "bad.error.txt").read_text()
    log = [json.loads(line) for line in (drop.inbox / ".nstfilter" / "jobs.jsonl").open()]
    workers = {r["details"]["worker"] for r in log if r["status"] == "done"}
    assert all(":" in w for w in workers)  # host:pid of the pool's processes
    assert str(os.getpid()) not in {w.split(":")[1] for w in workers}


def test_one_watcher_per_inbox(drop: DropFolder):
    proc = drop.start()
    result = drop.once()
    assert result.returncode == 2, result.stderr
    assert f"another watcher (pid {proc.pid})" in result.stderr
    code, output = drop.stop(proc)
    assert code == 0, output


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_inbox_that_vanishes_and_comes_back(drop: DropFolder, polling: bool):
    """An unmounted share or a folder moved away: the watcher says so, waits, and watches
    the folder that appears in its place (a new inode, as after a remount)."""
    proc = drop.start(*(["--polling", "--poll-interval", "0.2"] if polling else []))
    os.rename(drop.inbox, drop.root / "away")
    drop.wait_for_log(proc, "is gone", timeout=20)
    drop.inbox.mkdir()
    drop.wait_for_log(proc, "the inbox is back", timeout=20)
    make_jpeg(drop.inbox / "after.jpg")
    drop.wait_until(lambda: drop.settled(1), timeout=30, what="a file in the new inbox")
    code, output = drop.stop(proc)
    assert code == 0, output
    assert files(drop.outbox) == ["after.stubby.png"]


# --- crashes and signals ----------------------------------------------------------------------


def test_kill_9_mid_job_then_restart(drop: DropFolder):
    for i in range(3):
        make_jpeg(drop.inbox / f"k{i}.jpg", colour=(40 * i, 90, 140))
    proc = drop.start(env={"NSTFILTER_STUB_DELAY": "30"})
    drop.wait_for_log(proc, "received k0.jpg")
    time.sleep(0.5)
    proc.kill()  # SIGKILL: no clean-up of any kind
    proc.wait(timeout=10)
    assert files(drop.inbox) == ["k0.jpg", "k1.jpg", "k2.jpg"]  # nothing lost
    assert journal_open_jobs(drop)  # the job in flight is on record

    result = drop.once()
    assert result.returncode == 0, result.stderr
    assert "recovering 1 unfinished job" in result.stderr
    drop.assert_conserved(3)
    assert files(drop.outbox) == ["k0.stubby.png", "k1.stubby.png", "k2.stubby.png"]
    assert journal_open_jobs(drop) == []
    assert not list(drop.outbox.glob(".*.tmp"))


def test_repeated_kill_9_loses_and_duplicates_nothing(drop: DropFolder):
    """kill -9 at arbitrary moments, again and again (mid-job, mid-write, mid-move)."""
    import random

    rng = random.Random(4)
    for i in range(12):
        make_jpeg(drop.inbox / f"r{i:02d}.jpg", colour=(20 * i, 60, 120))
    for _ in range(5):
        proc = subprocess.Popen(
            drop.command("--preset", "stubby", "--settle", "0.2", "-q"),
            env={**drop.env, "NSTFILTER_STUB_DELAY": "0.2"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(1.0, 2.0))
        proc.kill()
        proc.wait(timeout=10)
    result = drop.once()
    assert result.returncode == 0, result.stderr
    drop.assert_conserved(12)
    assert files(drop.outbox) == [f"r{i:02d}.stubby.png" for i in range(12)]  # no "-1" copies
    assert files(drop.failed) == []
    assert journal_open_jobs(drop) == []
    assert not [p for p in drop.outbox.iterdir() if p.name.startswith(".")]  # no temp left


def _journal_start(drop: DropFolder, name: str, **extra) -> dict:
    source = drop.inbox / name
    st = source.stat()
    record = {
        "op": "start",
        "id": f"job-{name}",
        "source": name,
        "preset": "stubby",
        "output": str(drop.outbox / f"{Path(name).stem}.stubby.png"),
        "processed": str(drop.processed / name),
        "identity": [st.st_size, st.st_mtime_ns, st.st_ino],
        **extra,
    }
    return record


@pytest.mark.parametrize("moment", ["output-written", "output-unrecorded", "between-link-unlink"])
def test_recovery_after_the_result_was_written(drop: DropFolder, moment: str):
    """The kill -9 windows too narrow to hit by timing, reproduced as the disk would look."""
    make_jpeg(drop.inbox / "w.jpg")
    start = _journal_start(drop, "w.jpg")
    records = [start]
    drop.outbox.mkdir()
    drop.processed.mkdir()
    (drop.outbox / "w.stubby.png").write_bytes(jpeg_bytes())  # the durable result
    (drop.outbox / ".w.stubby.png.abc123.tmp").write_bytes(b"")  # a stale temp file
    if moment != "output-unrecorded":
        records.append({"op": "output", "id": start["id"]})
    if moment == "between-link-unlink":
        os.link(drop.inbox / "w.jpg", drop.processed / "w.jpg")
    state = drop.inbox / ".nstfilter"
    state.mkdir()
    (state / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))

    result = drop.once()
    assert result.returncode == 0, result.stderr
    assert "finished after a restart" in result.stderr
    assert "received" not in result.stderr  # not redone
    assert files(drop.outbox) == ["w.stubby.png"]  # not duplicated
    assert files(drop.processed) == ["w.jpg"]
    assert files(drop.inbox) == []
    assert journal_open_jobs(drop) == []


def test_recovery_after_kill_during_failure(drop: DropFolder):
    (drop.inbox / "bad.jpg").write_text("not an image")
    start = _journal_start(drop, "bad.jpg")
    failing = {
        "op": "failing",
        "id": start["id"],
        "error": "not an image file (unrecognised format)",
        "dest": str(drop.failed / "bad.jpg"),
        "note": str(drop.failed / "bad.error.txt"),
    }
    state = drop.inbox / ".nstfilter"
    state.mkdir()
    (state / "journal.jsonl").write_text(json.dumps(start) + "\n" + json.dumps(failing) + "\n")
    result = drop.once()
    assert result.returncode == 0, result.stderr
    assert files(drop.failed) == ["bad.error.txt", "bad.jpg"]
    drop.assert_conserved(1)


def test_torn_last_journal_line_is_tolerated(drop: DropFolder):
    make_jpeg(drop.inbox / "t.jpg")
    state = drop.inbox / ".nstfilter"
    state.mkdir()
    (state / "journal.jsonl").write_text('{"op": "start", "id": "x", "sour')
    result = drop.once()
    assert result.returncode == 0, result.stderr
    drop.assert_conserved(1)


def test_sigterm_requeues_the_current_file_and_exits_0(drop: DropFolder):
    make_jpeg(drop.inbox / "long.jpg")
    proc = drop.start(env={"NSTFILTER_STUB_DELAY": "8"})
    drop.wait_for_log(proc, "received long.jpg")
    code, output = drop.stop(proc, signal.SIGTERM, timeout=30)
    assert code == 0, output
    assert "requeued long.jpg" in output
    assert files(drop.inbox) == ["long.jpg"]
    assert journal_open_jobs(drop) == []
    result = drop.once()
    assert result.returncode == 0, result.stderr
    drop.assert_conserved(1)


def test_second_ctrl_c_exits_130(drop: DropFolder):
    make_jpeg(drop.inbox / "long.jpg")
    # the stub checks for cancellation only every 30 s here, so the first Ctrl-C waits
    proc = drop.start(env={"NSTFILTER_STUB_DELAY": "120"})
    drop.wait_for_log(proc, "received long.jpg")
    proc.send_signal(signal.SIGINT)
    drop.wait_for_log(proc, "SIGINT: stopping")
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert files(drop.inbox) == ["long.jpg"]  # still there; the next start redoes it


# --- unwritable folders and links -------------------------------------------------------------


def _chattr(flag: str, path: Path) -> bool:
    """Make a folder read-only (``+i``) or writable again (``-i``), honestly for any user.

    root ignores permission bits, so as root the folder is made immutable with chattr;
    other users get plain permission bits."""
    if os.geteuid() != 0:
        path.chmod(0o555 if flag == "+i" else 0o755)
        return True
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


def test_read_only_outbox_sends_the_file_to_failed(drop: DropFolder):
    """A read-only outbox (chattr +i as root, whom permission bits do not stop)."""
    drop.outbox.mkdir()
    if not _chattr("+i", drop.outbox):
        pytest.skip("chattr +i not available on this file system")
    try:
        make_jpeg(drop.inbox / "ro.jpg")
        result = drop.once()
    finally:
        _chattr("-i", drop.outbox)
    assert result.returncode == 0, result.stderr
    assert originals(drop.failed) == ["ro.jpg"]
    note = (drop.failed / "ro.error.txt").read_text()
    assert "cannot write" in note
    assert "Operation not permitted" in note or "Permission denied" in note
    assert files(drop.outbox) == []
    drop.assert_conserved(1)


def test_read_only_processed_folder_fails_the_file_without_a_result(drop: DropFolder):
    """One outcome (docs/watch.md): a file in failed/ never has a result in the outbox, so
    putting it back in the inbox gives exactly one result, not a duplicate (issue 11)."""
    drop.processed.mkdir()
    if not _chattr("+i", drop.processed):
        pytest.skip("chattr +i not available on this file system")
    try:
        make_jpeg(drop.inbox / "p.jpg")
        result = drop.once()
    finally:
        _chattr("-i", drop.processed)
    assert result.returncode == 0, result.stderr
    assert files(drop.outbox) == []  # removed: failed/ never has a twin in the outbox
    assert originals(drop.failed) == ["p.jpg"]
    assert "removed from the outbox" in (drop.failed / "p.error.txt").read_text()
    assert files(drop.inbox) == [] and files(drop.processed) == []
    assert journal_open_jobs(drop) == []
    (drop.failed / "p.jpg").rename(drop.inbox / "p.jpg")  # the retry the note suggests
    assert drop.once().returncode == 0
    assert files(drop.outbox) == ["p.stubby.png"] and files(drop.processed) == ["p.jpg"]


def test_unwritable_failed_folder_keeps_the_file_in_the_inbox(drop: DropFolder):
    drop.outbox.mkdir()
    drop.failed.mkdir()
    if not _chattr("+i", drop.outbox):
        pytest.skip("chattr +i not available on this file system")
    _chattr("+i", drop.failed)
    try:
        make_jpeg(drop.inbox / "stuck.jpg")
        result = drop.once()
    finally:
        _chattr("-i", drop.outbox)
        _chattr("-i", drop.failed)
    assert result.returncode == 0, result.stderr
    assert "stays in the inbox" in result.stderr
    assert files(drop.inbox) == ["stuck.jpg"]  # never vanishes
    assert journal_open_jobs(drop) == []
    # once the folders are writable again, the next run handles it
    result = drop.once()
    drop.assert_conserved(1)


def test_symlinks_pointing_outside_are_not_followed(drop: DropFolder, tmp_path: Path):
    private = make_jpeg(tmp_path / "private" / "secret.jpg")
    (drop.inbox / "link.jpg").symlink_to(private)
    make_jpeg(drop.inbox / "real.jpg")
    (drop.inbox / "inner.jpg").symlink_to(drop.inbox / "real.jpg")
    result = drop.once()
    assert result.returncode == 0, result.stderr
    assert "not following" in result.stderr and "link.jpg" in result.stderr
    assert private.exists()
    assert (drop.inbox / "link.jpg").is_symlink()
    assert files(drop.outbox) == ["inner.stubby.png", "real.stubby.png"]


# --- the real engine --------------------------------------------------------------------------


@pytest.mark.slow
def test_real_engine_small(drop: DropFolder, shared_data: Path):
    shutil.copyfile(shared_data / "content" / "tubingen.jpg", drop.inbox / "tubingen.jpg")
    result = drop.once(preset="real", timeout=600)
    assert result.returncode == 0, result.stderr
    assert files(drop.outbox) == ["tubingen.real.png"]
    with Image.open(drop.outbox / "tubingen.real.png") as im:
        assert max(im.size) == 64
    log = [json.loads(line) for line in (drop.inbox / ".nstfilter" / "jobs.jsonl").open()]
    assert log[0]["status"] == "done" and log[0]["details"]["filter"] == "neural-style"
    drop.assert_conserved(1)


# --- the tracker in-process (timing rules without a subprocess) -------------------------------


def test_tracker_settles_hands_out_once_and_resettles_a_rewritten_file(tmp_path: Path):
    import queue

    from nstfilter.watcher.stability import Tracker

    work: queue.Queue = queue.Queue()
    tracker = Tracker(work, settle=0.3, close_grace=0.1)
    path = make_jpeg(tmp_path / "a.jpg")
    tracker.seen(path)
    assert tracker.check() == 0  # not settled yet
    time.sleep(0.35)
    assert tracker.check() == 1
    tracker.seen(path)  # a late event for a handed-out path is ignored
    tracker.closed(path)
    time.sleep(0.35)
    assert tracker.check() == 0 and work.qsize() == 1
    assert tracker.unchanged(path)
    with open(path, "ab") as handle:  # written to while it waited in the queue
        handle.write(b"more")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert not tracker.unchanged(path)
    assert work.get() == path
    tracker.release(path, retry_after=0.0)
    assert tracker.pending() == 1
    tracker.closed(path)
    time.sleep(0.15)
    assert tracker.check() == 1  # complete again after the close grace
    tracker.release(work.get())
    assert tracker.pending() == 0


def test_no_per_file_state_is_kept(drop: DropFolder, monkeypatch: pytest.MonkeyPatch):
    """In-process: after a run, no reservation, candidate, claim or open job remains (what
    keeps memory flat over days), and the journal compacts to the open jobs only."""
    from nstfilter.plugins import Plugins
    from nstfilter.watcher import Layout, Watcher, WatchOptions
    from nstfilter.watcher import journal as journal_module

    for key in ("NSTFILTER_PRESET_PATH", "NSTFILTER_STYLE_PATH", "NSTFILTER_PLUGINS_DIR"):
        monkeypatch.setenv(key, drop.env[key])
    monkeypatch.setattr(journal_module, "COMPACT_EVERY", 10)
    monkeypatch.delenv("NSTFILTER_JOB_LOG", raising=False)
    for i in range(12):
        make_jpeg(drop.inbox / f"m{i}.jpg")
    (drop.inbox / "bad.jpg").write_text("no")
    options = WatchOptions(preset="stubby", settle=0.2, close_grace=0.1, once=True)
    watcher = Watcher(Layout.build(drop.inbox), options, Plugins.load())
    counts = watcher.run()
    assert counts == {"done": 12, "failed": 1}
    assert len(watcher.runner.names) == 0
    assert watcher.tracker.pending() == 0  # no candidate, no claim
    assert watcher.journal.open_jobs() == []
    journal_lines = (drop.inbox / ".nstfilter" / "journal.jsonl").read_text().splitlines()
    assert len(journal_lines) < 10  # compacted during the run
    drop.assert_conserved(13)
    assert "joblog" not in watcher.plugins.names()  # registered for the run only
    assert len((drop.inbox / ".nstfilter" / "jobs.jsonl").read_text().splitlines()) == 13
