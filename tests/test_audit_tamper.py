"""Deleting the newest part of the audit log together with its head file: the writer that
carries on from the last closed segment, and verify, say so (before, the next record
noted an ordinary rotation and the chain verified intact)."""

from __future__ import annotations

from pathlib import Path

from cdr.audit import AuditLog, Rotation, head_path, records, segments, verify

SMALL = Rotation(daily=False, max_bytes=1500)


def _write(path: Path, count: int, prefix: str = "ID") -> None:
    log = AuditLog(path, rotation=SMALL)
    try:
        for n in range(count):
            log.append("received", f"{prefix}{n}", f"soumu/file{n}.pdf", "cd" * 32)
    finally:
        log.close()


def test_active_file_deleted_with_its_head_then_written_again_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 20)
    newest = segments(path)[-1]
    lost = [r["seq"] for r in records(path)][-1]
    path.unlink()
    head_path(path).unlink()
    _write(path, 2, prefix="AFTER")
    result = verify(path)
    assert not result.ok
    started = [r for r in records(path) if r["event"] == "audit-rotated"][-1]
    assert started["head_missing"] is True and started["segment"] == newest.path.name
    assert result.problem == (
        f"audit.jsonl line 1 (seq {started['seq']}): this file was started after the log's head file was "
        f"deleted: records after {newest.path.name} (seq {started['seq'] - 1}) may have been removed with it "
        "(the active file and its head deleted)"
    )
    assert started["seq"] - 1 < lost


def test_records_cut_off_the_end_with_the_head_deleted_are_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 20)
    kept = path.read_bytes().splitlines(keepends=True)[:-1]
    path.write_bytes(b"".join(kept))
    head_path(path).unlink()
    result = verify(path)
    assert not result.ok
    assert result.problem == (
        f"{head_path(path)}: missing, but the log holds records up to seq {len(list(records(path)))}: "
        "records may have been cut off the end with it"
    )


def test_an_ordinary_rotation_after_the_head_is_written_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, 20)
    _write(path, 20, prefix="MORE")
    assert not any("head_missing" in r for r in records(path))
    assert verify(path).ok


def test_a_fifo_in_place_of_the_log_stops_the_anchor_with_one_line_not_a_hang(tmp_path: Path) -> None:
    """The service user can put a FIFO where the root-run anchor timer reads the head: a
    oneshot unit has no start timeout, so a blocked read would end anchoring for good."""
    import os
    import subprocess
    import sys

    path = tmp_path / "audit.jsonl"
    _write(path, 3)
    path.unlink()
    os.mkfifo(path)
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, str(root / "cli.py"), "audit", "anchor", "--audit", str(path), "--anchors", str(tmp_path / "a.jsonl")],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=root,
        env={**os.environ, "CDR_CONFIG": "/dev/null", "LANG": "C.UTF-8"},
    )
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [f"cdr: error: {path}: not a regular file (the audit log must be one)"]


def test_oldest_segments_removed_by_hand_then_a_prune_are_named(tmp_path: Path) -> None:
    """The oldest segments deleted by hand, then the retention prune of the next ones (the
    purge timer does it by itself): the audit-pruned record explains where the log now
    starts, but not the records before the segments it names."""
    import time

    from cdr.audit import prune

    path = tmp_path / "audit.jsonl"
    _write(path, 40)
    closed = segments(path)
    assert len(closed) >= 4
    for segment in closed[:2]:
        segment.path.unlink()
    gone_to = closed[2].first_seq - 1
    removed = prune(path, 0, now=time.time() + 60)
    assert [item["segment"] for item in removed] == [s.path.name for s in closed[2:]]
    result = verify(path)
    assert not result.ok
    assert result.problem == (
        f"records 1–{gone_to} are missing: the audit-pruned records account for seq {closed[2].first_seq} "
        "onwards only (segments were removed before a prune, not by it)"
    )
    _write(path, 30, prefix="MORE")  # the next prune removes the record that said so
    assert prune(path, 0, now=time.time() + 60)
    assert verify(path).problem == result.problem


def test_prunes_one_after_another_verify_intact(tmp_path: Path) -> None:
    import time

    from cdr.audit import prune

    path = tmp_path / "audit.jsonl"
    _write(path, 30)
    assert prune(path, 0, now=time.time() + 60)
    _write(path, 30, prefix="MORE")
    assert prune(path, 0, now=time.time() + 60)
    result = verify(path)
    assert result.ok, result.problem


def test_a_fifo_in_place_of_the_log_stops_verify_with_one_line_not_a_hang(tmp_path: Path) -> None:
    """Root runs cdr audit verify, show and report over files the service user can replace."""
    import os
    import subprocess
    import sys

    path = tmp_path / "audit.jsonl"
    _write(path, 20)
    path.unlink()
    os.mkfifo(path)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "CDR_CONFIG": "/dev/null", "LANG": "C.UTF-8"}
    for command in (("audit", "verify"), ("audit", "tail"), ("report", "daily")):
        run = subprocess.run(
            [sys.executable, str(root / "cli.py"), *command, "--audit", str(path)],
            capture_output=True, text=True, timeout=30, cwd=root, env=env,
        )
        assert run.returncode != 0 and "Traceback" not in run.stderr, (command, run.stderr)
        assert run.stderr.splitlines() == [f"cdr: error: {path}: not a regular file (the audit log must be one)"]


def test_audit_tail_reads_from_the_end_not_the_whole_log(tmp_path: Path) -> None:
    """The last records come from the newest files: the oldest segment is never opened (a
    year of daily segments is not read to print twenty lines). The oldest segment is made
    unreadable as a log file here to show that it is not touched."""
    import json
    import os
    import subprocess
    import sys

    path = tmp_path / "audit.jsonl"
    _write(path, 40)
    expected = [r["seq"] for r in records(path)][-3:]
    oldest = segments(path)[0].path
    oldest.unlink()
    oldest.mkdir()  # opening it as a log file would fail
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run(
        [sys.executable, str(root / "cli.py"), "audit", "tail", "-n", "3", "--json", "--audit", str(path)],
        capture_output=True, text=True, timeout=60, cwd=root,
        env={**os.environ, "CDR_CONFIG": "/dev/null", "LANG": "C.UTF-8"},
    )
    assert run.returncode == 0, run.stderr
    assert [json.loads(line)["seq"] for line in run.stdout.splitlines()] == expected
