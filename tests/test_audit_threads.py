"""Threads that share one AuditLog (a daemon's or a batch's workers) beside another process
writing the same log: the lock between processes is held by the open folder, which the
threads share, so no thread may let go of it while another is inside its record."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cdr import audit
from cdr.audit import AuditLog, Rotation, verify

_PROBE = """
import fcntl, os, sys
folder = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
try:
    fcntl.flock(folder, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("held")
else:
    print("free")
"""


def _lock_seen_from_another_process(folder: Path) -> str:
    probe = subprocess.run([sys.executable, "-c", _PROBE, str(folder)], capture_output=True, text=True, timeout=30)
    return probe.stdout.strip()


def test_a_commit_never_lets_go_of_the_lock_a_writing_thread_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", rotation=Rotation(daily=False))
    log.append("first", "a")
    log.append("pending", "b", durable=False)  # so that the commit below has work to do
    in_head, head_done = threading.Event(), threading.Event()
    inside, record_done = threading.Event(), threading.Event()
    real_read_head = audit.read_head

    def slow_read_head(path: Path) -> tuple[int, str] | None:
        if threading.current_thread().name == "committer":
            in_head.set()  # the commit holds the lock between processes here
            head_done.wait(10)
        return real_read_head(path)

    def hook(point: str) -> None:
        if point == "record:written" and threading.current_thread().name == "writer":
            inside.set()  # written, its head not yet known to anyone: other writers must wait
            record_done.wait(10)

    monkeypatch.setattr(audit, "read_head", slow_read_head)
    monkeypatch.setattr(audit, "hook", hook)
    committer = threading.Thread(target=log.commit, name="committer")
    writer = threading.Thread(target=lambda: log.append("second", "c", durable=False), name="writer")
    try:
        committer.start()
        assert in_head.wait(10)
        writer.start()
        time.sleep(0.2)  # the writer goes as far as it may while the commit holds the lock
        head_done.set()
        committer.join(10)
        assert inside.wait(10), "the writer never wrote its record"
        assert _lock_seen_from_another_process(tmp_path) == "held", "another process could write now"
    finally:
        head_done.set()
        record_done.set()
        committer.join(10)
        writer.join(10)
    log.close()
    report = verify(tmp_path / "audit.jsonl")
    assert report.ok and report.records == 3
