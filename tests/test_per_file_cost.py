"""What one small file costs in disk flushes and renames (issue 13): its audit records are
made durable together by its final record, the release is fsync'd once, nothing is renamed
but the published name's link. The chain and the content stay exactly as before."""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path

import pytest

from cdr.audit import records, verify
from cdr.model import Outcome
from cdr.pipeline import Pipeline, Places


def _named(fd: int) -> str:
    return Path(os.readlink(f"/proc/self/fd/{fd}")).name


@pytest.fixture
def flushes(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """fsync calls by the name of what was flushed, and renames, while the test runs."""
    seen: Counter[str] = Counter()
    real_fsync, real_rename, real_replace = os.fsync, os.rename, os.replace

    def fsync(fd: int) -> None:
        seen[f"fsync {_named(fd)}"] += 1
        real_fsync(fd)

    def rename(*args: object, **kwargs: object) -> None:
        seen["rename"] += 1
        real_rename(*args, **kwargs)  # type: ignore[arg-type]

    def replace(*args: object, **kwargs: object) -> None:
        seen["rename"] += 1
        real_replace(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "replace", replace)
    return seen


def test_a_released_file_costs_one_audit_fsync_and_one_release(
    pipeline: Pipeline, places: Places, tmp_path: Path, flushes: Counter[str]
) -> None:
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("熊の目撃情報\n")
    second.write_text("午後三時、裏山で。\n")
    assert pipeline.process(first, "first.txt").verdict == Outcome.RELEASED  # the log and its head begin
    flushes.clear()

    verdict = pipeline.process(second, "second.txt")

    assert verdict.verdict == Outcome.RELEASED
    assert flushes == {"fsync audit.jsonl": 1, "fsync .cdr-" + verdict.id + ".partial": 1, "fsync out": 1}
    mine = [r for r in records(places.audit) if r["file_id"] == verdict.id]
    assert [r["event"] for r in mine] == ["received", "identified", "decided", "sanitized", "verified", "released"]
    assert verify(places.audit).ok
    released = (places.outbox / "second.txt").read_bytes()
    assert mine[-1]["output_sha256"] == verdict.output_sha256 == hashlib.sha256(released).hexdigest()
    assert released.decode() == "午後三時、裏山で。\n"


def test_a_quarantined_file_commits_its_records_with_its_last(
    pipeline: Pipeline, places: Places, tmp_path: Path, flushes: Counter[str]
) -> None:
    (tmp_path / "a.txt").write_text("first\n")
    pipeline.process(tmp_path / "a.txt", "a.txt")
    tool = tmp_path / "tool.exe"
    tool.write_bytes(b"MZ" + b"\0" * 200)
    flushes.clear()

    verdict = pipeline.process(tool, "tool.exe")

    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "blocked-type"
    assert flushes["fsync audit.jsonl"] == 1
    events = [r["event"] for r in records(places.audit) if r["file_id"] == verdict.id]
    assert events[0] == "received" and events[-1] == "quarantined"
    assert verify(places.audit).ok
