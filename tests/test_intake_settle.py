"""A file still being written is never claimed — nor run after a claim that raced a writer.

The writer is a real process that keeps the file open and pauses for several times the
settle time, the way a stalled SMB copy or a slow upload does: size and mtime hold still,
only the kernel knows the file is not finished. The released file must be the whole file.
The writer writes its second half when the test tells it to, not after a fixed pause, so
that a slow start on a busy machine cannot let it finish before the look it is meant to face.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from cdr.audit import records
from cdr.daemon.claim import claim
from cdr.daemon.settle import _lease_probe, _writer_in_proc, open_for_writing
from tests.test_watch import _folders, batch, start_watch, stop, wait_until_drained

SETTLE = 0.3
PAUSE = 2.0  # several times the settle time
UNTIL_TOLD = "until-told"

WRITER = """
import sys, time
path, data, pause = sys.argv[1], open(sys.argv[2], "rb").read(), sys.argv[3]
half = len(data) // 2
with open(path, "ab") as handle:
    handle.write(data[:half]); handle.flush()
    print("half", flush=True)
    sys.stdin.readline() if pause == "until-told" else time.sleep(float(pause))
    handle.write(data[half:]); handle.flush()
"""


def _report() -> bytes:
    """A text whose first half is a perfectly good text file too: half would be released."""
    return "".join(f"{n:05d} 熊の目撃情報 — 報告書の行 {n}\n" for n in range(6000)).encode()


def _writer(
    tmp_path: Path, path: Path, data: bytes, pause: float | None = None
) -> subprocess.Popen[str]:
    """Start the writer; returns once the first half is on disk and the writer is pausing,
    for ``pause`` seconds or, by default, until ``_finish`` tells it to go on."""
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(source), UNTIL_TOLD if pause is None else str(pause)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "half\n"
    return proc


def _finish(writer: subprocess.Popen[str]) -> None:
    """The writer writes its second half and closes the file."""
    assert writer.stdin is not None and writer.stdout is not None
    writer.stdin.write("go\n")
    writer.stdin.close()
    assert writer.wait(timeout=10) == 0
    writer.stdout.close()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _finals(tmp_path: Path) -> list[dict]:
    return [r for r in records(tmp_path / "audit.jsonl") if r["event"] in ("released", "quarantined")]


def test_the_kernel_knows_who_is_writing(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    writer = _writer(tmp_path, path, b"x" * 1000)
    reader = subprocess.Popen(
        [sys.executable, "-c", f"import time; f = open({str(path)!r}, 'rb'); time.sleep(3)"]
    )
    try:
        assert open_for_writing(path)
        assert _lease_probe(path) is True, "the lease is refused while the writer has it open"
        assert _writer_in_proc(path.lstat()), "the /proc scan sees the writer too"
        _finish(writer)
        assert not open_for_writing(path), "a reader is not a writer"
        assert _lease_probe(path) is False and not _writer_in_proc(path.lstat())
    finally:
        reader.kill()
        reader.wait()


def test_a_rename_does_not_stop_the_writer(tmp_path: Path) -> None:
    """Why the claim is checked again: the writer's bytes follow the file into the spool."""
    inbox, spool = tmp_path / "in", tmp_path / "spool"
    spool.mkdir()
    data = _report()
    writer = _writer(tmp_path, inbox / "soumu" / "report.txt", data)
    job = claim(inbox / "soumu" / "report.txt", inbox, spool)
    assert job is not None
    try:
        assert open_for_writing(job.original), "still open for writing after the claim"
        assert job.original.read_bytes() != data
        _finish(writer)
        assert not open_for_writing(job.original)
        assert job.original.read_bytes() == data, "the rest arrived in the spool"
    finally:
        job.release_lock()


def test_watch_waits_for_a_writer_that_pauses(tmp_path: Path) -> None:
    proc = start_watch(tmp_path, settle=SETTLE)
    data = _report()
    try:
        writer = _writer(tmp_path, tmp_path / "in" / "soumu" / "report.txt", data)
        paused = time.monotonic()
        shown = False
        while time.monotonic() - paused < PAUSE:  # size and mtime hold still for 6 settles
            status = tmp_path / "spool" / "status.json"
            shown = shown or (status.exists() and json.loads(status.read_text())["being_written"] == 1)
            time.sleep(0.1)
        assert (tmp_path / "in" / "soumu" / "report.txt").exists(), "claimed while being written"
        assert not (tmp_path / "out" / "soumu" / "report.txt").exists(), "half a file was released"
        assert shown, "cdr status shows the file as being written"
        _finish(writer)
        wait_until_drained(tmp_path, timeout=60)
    finally:
        assert stop(proc) == 0
    released = tmp_path / "out" / "soumu" / "report.txt"
    assert _sha(released.read_bytes()) == _sha(data), "the released file must be the whole file"
    assert [r["event"] for r in _finals(tmp_path)] == ["released"]


def test_watch_holds_a_claimed_job_until_its_writer_closes(tmp_path: Path) -> None:
    """The claim raced a writer (here: a job left in the spool by a run that claimed it
    while a writer still held it open); the daemon holds it, locked, until it settles."""
    args, _ = _folders(tmp_path, SETTLE)
    (tmp_path / "spool").mkdir()
    data = _report()
    writer = _writer(tmp_path, tmp_path / "in" / "late.txt", data)
    job = claim(tmp_path / "in" / "late.txt", tmp_path / "in", tmp_path / "spool")
    assert job is not None
    job.release_lock()  # as if its claimer had died
    proc = start_watch(tmp_path, settle=SETTLE)
    try:
        deadline = time.monotonic() + 30
        while "still being written after the claim" not in (tmp_path / "watch.log").read_text():
            assert time.monotonic() < deadline, "the daemon never held the job"
            time.sleep(0.1)
        time.sleep(SETTLE * 3)  # held: nothing runs while the writer keeps the file open
        assert not (tmp_path / "out" / "late.txt").exists(), "a job still being written was run"
        _finish(writer)
        wait_until_drained(tmp_path, timeout=60)
    finally:
        assert stop(proc) == 0
    assert _sha((tmp_path / "out" / "late.txt").read_bytes()) == _sha(data)


def test_batch_leaves_a_file_that_is_still_being_written(tmp_path: Path) -> None:
    _folders(tmp_path, SETTLE)
    data = _report()
    writer = _writer(tmp_path, tmp_path / "in" / "report.txt", data)
    time.sleep(SETTLE * 2)  # settled by mtime alone
    first = batch(tmp_path, SETTLE)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and "1 file(s) still being written" in first.stderr
    assert not (tmp_path / "out" / "report.txt").exists()
    _finish(writer)
    time.sleep(SETTLE * 2)
    second = batch(tmp_path, SETTLE)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["verdict"] == "released"
    assert _sha((tmp_path / "out" / "report.txt").read_bytes()) == _sha(data)


def test_batch_waits_for_the_writer_of_a_claimed_job(tmp_path: Path) -> None:
    _folders(tmp_path, SETTLE)
    (tmp_path / "spool").mkdir()
    data = _report()
    writer = _writer(tmp_path, tmp_path / "in" / "late.txt", data, pause=PAUSE)
    job = claim(tmp_path / "in" / "late.txt", tmp_path / "in", tmp_path / "spool")
    assert job is not None
    job.release_lock()
    run = batch(tmp_path, SETTLE)  # a slow start only means the writer is done sooner
    writer.wait(timeout=10)
    assert run.returncode == 0, run.stderr
    assert _sha((tmp_path / "out" / "late.txt").read_bytes()) == _sha(data)
