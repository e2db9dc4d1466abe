"""Group commit of the audit log: a file's intermediate records wait for one fsync, the
head follows the commits (behind the log at worst, never ahead), and threads share fsyncs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import cdr.audit as audit
from cdr.audit import AuditLog, read_head, records, verify


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The file descriptors fsync'd, in order (the fsync itself still happens)."""
    seen: list[int] = []
    real = os.fsync

    def counting(fd: int) -> None:
        seen.append(fd)
        real(fd)

    monkeypatch.setattr(audit.os, "fsync", counting)
    return seen


def test_intermediate_records_wait_for_one_commit(tmp_path: Path, fsyncs: list[int]) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, "default", "ab" * 32)
    log.append("daemon-started")  # a new log: durable, with its head, from the first record
    fsyncs.clear()
    for event in ("received", "detected", "sanitized", "verified"):
        log.append(event, "F1", "soumu/a.pdf", "cd" * 32, durable=False)
    assert fsyncs == []
    assert read_head(path)[0] == 1  # the head waits with them: behind, not ahead
    final = log.append("released", "F1", "soumu/a.pdf", "cd" * 32, durable=False)
    log.commit()
    assert len(fsyncs) == 1
    assert read_head(path) == (6, final["hash"])
    log.commit()  # nothing new: no second fsync
    assert len(fsyncs) == 1
    log.close()
    assert [r["event"] for r in records(path)] == [
        "daemon-started", "received", "detected", "sanitized", "verified", "released",
    ]
    assert verify(path).ok


def test_a_durable_append_commits_at_once(tmp_path: Path, fsyncs: list[int]) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append("daemon-started")  # its fsync, and the head's creation (file and folder)
    fsyncs.clear()
    second = log.append("policy-reloaded")
    assert len(fsyncs) == 1
    assert read_head(path) == (2, second["hash"])
    log.close()


def test_close_commits_what_is_pending(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append("daemon-started")
    last = log.append("received", "F1", durable=False)
    log.close()
    assert read_head(path) == (2, last["hash"])


def test_the_head_is_overwritten_in_place_padded_to_one_width(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append("daemon-started")
    inode = os.stat(audit.head_path(path)).st_ino
    for _ in range(12):
        last = log.append("received", "F1")
    log.close()
    raw = audit.head_path(path).read_bytes()
    assert len(raw) == audit.HEAD_WIDTH and raw.endswith(b" \n")
    assert json.loads(raw) == {"seq": 13, "hash": last["hash"]}
    assert os.stat(audit.head_path(path)).st_ino == inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.jsonl", "audit.jsonl.head"]


def test_threads_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight workers each end a file; while one fsync runs the others append, and the
    next fsync covers all of them: fewer fsyncs than commits, every record durable."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append("daemon-started")
    real = os.fsync
    counted: list[int] = []

    def slow(fd: int) -> None:
        counted.append(fd)
        threading.Event().wait(0.05)  # a disk flush takes its time; the others queue up
        real(fd)

    monkeypatch.setattr(audit.os, "fsync", slow)

    def worker(n: int) -> None:
        log.append("received", f"F{n}", durable=False)
        log.append("released", f"F{n}", durable=False)
        log.commit()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= len(counted) < 8
    newest = list(records(path))[-1]
    assert read_head(path) == (17, newest["hash"])
    log.close()
    assert verify(path).ok


def test_a_head_behind_the_log_is_brought_up_on_open(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.append("daemon-started")
    for n in range(3):
        log.append("received", f"F{n}", durable=False)
    os.close(log._fd)  # a writer killed before its commit: no close, no head
    os.close(log._folder)
    assert read_head(path)[0] == 1
    newest = list(records(path))[-1]
    AuditLog(path).close()
    assert read_head(path) == (4, newest["hash"])
    assert verify(path).ok


def test_a_head_ahead_of_the_log_is_left_for_verify_to_name(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for n in range(5):
        log.append("received", f"F{n}")
    log.close()
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:3]))
    AuditLog(path).close()
    assert read_head(path)[0] == 5
    result = verify(path)
    assert not result.ok and "cut off the end" in result.problem


def test_kill_9_between_intermediate_records_and_the_commit_keeps_the_chain(tmp_path: Path) -> None:
    """Killed after its intermediate records, before the commit: they are in the file (the
    kernel has them), the head is behind, and the next writer carries the chain on."""
    path = tmp_path / "audit.jsonl"
    script = (
        "import os, sys; from pathlib import Path; from cdr.audit import AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]))\n"
        "log.append('daemon-started')\n"
        "log.append('received', 'KILLED', durable=False)\n"
        "log.append('sanitized', 'KILLED', durable=False)\n"
        "os.kill(os.getpid(), 9)\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(path)], check=False, timeout=60)
    assert killed.returncode == -9
    assert read_head(path)[0] == 1
    log = AuditLog(path)
    log.append("released", "KILLED", durable=False)
    log.commit()
    log.close()
    kept = list(records(path))
    assert [r["event"] for r in kept] == ["daemon-started", "received", "sanitized", "released"]
    assert read_head(path) == (4, kept[-1]["hash"])
    assert verify(path).ok


def test_a_late_commit_never_moves_the_head_back(tmp_path: Path) -> None:
    """Two writers: the one whose commit ends last had the older record. The head stays on
    the newer one; the anchor timer reads a head going backwards as records lost."""
    path = tmp_path / "audit.jsonl"
    first, second = AuditLog(path), AuditLog(path)
    first.append("daemon-started")
    first.append("received", "F1", durable=False)
    newest = second.append("received", "F2")
    first.commit()
    assert read_head(path) == (3, newest["hash"])
    first.close()
    second.close()
    assert read_head(path) == (3, newest["hash"])


def test_only_committed_records_are_anchored_or_sent_to_syslog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdr.anchor import chain_head

    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(audit, "send_to_syslog", lambda path, seq, digest: sent.append((seq, digest)))
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    started = log.append("daemon-started")
    assert sent == [(1, started["hash"])]
    waiting = log.append("received", "F1", durable=False)
    assert chain_head(path) == {"seq": 1, "hash": started["hash"]}  # not the record a power cut may take
    log._sent_at = 0.0  # a minute has passed: the next record is owed to syslog
    log.append("analysed", "F1", durable=False)
    assert sent == [(1, started["hash"])]
    log.commit()
    assert [s for s, _ in sent] == [1, 3]
    assert chain_head(path)["seq"] == 3 and waiting["seq"] == 2
    log.close()
