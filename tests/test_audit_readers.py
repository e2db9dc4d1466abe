"""The log's readers at scale read what they need, and say what a reading of the whole
log says: `audit show` from shortly before the file's ID was made, crash recovery's
"already ended?" likewise, `audit tail` from the end — on a log rotated daily and on one
never rotated (one file, entered by a binary search on time)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from bench.scale import build_log
from cdr import audit
from cdr.audit import AuditLog, has_final_event, id_time, records, records_newest_first, records_since
from cdr.lifeline import _keys_where, _named, earliest, life_records, records_of


def _whole(path: Path, typed: str) -> list[dict[str, Any]]:
    """`audit show` as it was: both passes over the whole log."""
    return [r for _, r in records_of(path, _keys_where(path, lambda r, _key: _named(r, typed)))]


@pytest.fixture(params=["daily", "never"])
def year(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "audit.jsonl"
    held = build_log(path, 4000, days=40)
    # a held file run again by an administrator today: its life spans weeks and two IDs
    log = AuditLog(path, rotation=audit.Rotation(daily=False))
    rerun = "01" + held[0][2:-4] + "ZZZZ"
    log.append("quarantine-rerun", held[0], None, None, quarantine_id=held[0], admin="tanaka")
    log.append("received", rerun, "soumu/again.pdf", None, from_quarantine=held[0])
    log.append("released", rerun, "soumu/again.pdf", None, output="soumu/again.pdf", via="rerun")
    log.close()
    if request.param == "never":  # the same records in one file, as with audit_rotate: never
        lines = b"".join(s.path.read_bytes() for s in audit.segments(path)) + path.read_bytes()
        for segment in audit.segments(path):
            segment.path.unlink()
        path.write_bytes(lines)
    return path, held


def test_show_gives_what_the_whole_log_gives(year: tuple[Path, list[str]]) -> None:
    path, held = year
    for qid in (held[0], held[len(held) // 2], held[-1]):
        for typed in (qid, qid[:12], qid[-8:]):
            shown = list(life_records(path, typed, held))
            assert shown == _whole(path, typed), typed
            assert shown and all(_named(r, typed) or r["file_id"] in {x["file_id"] for x in shown} for r in shown)
    first = list(life_records(path, held[0], held))
    assert [r["event"] for r in first][-3:] == ["quarantine-rerun", "received", "released"]
    # a 受付番号 whose entry is gone: no time is known, the whole log is read
    assert earliest(held[1][-8:], []) is None
    assert list(life_records(path, held[1][-8:], [])) == _whole(path, held[1][-8:])


def test_show_of_a_recent_file_reads_only_the_end(year: tuple[Path, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    path, held = year
    total = sum(1 for _ in records(path))
    read = []
    real = audit.json.loads
    monkeypatch.setattr(audit.json, "loads", lambda raw: (read.append(1), real(raw))[1])
    list(life_records(path, held[-1], held))
    assert 0 < len(read) < 2 * total / 10  # two passes, each over the last few days


def test_records_since_holds_every_record_from_then_on(year: tuple[Path, list[str]]) -> None:
    path, _ = year
    every = list(records(path))
    for record in (every[10], every[len(every) // 3], every[-40], every[-1]):
        moment = id_time(record["file_id"]) if record.get("file_id") else None
        if moment is None:
            continue
        cutoff = audit._ts_text(moment)
        got = list(records_since(path, moment))
        wanted = [r for r in every if r["ts"] >= cutoff]
        assert got[-len(wanted):] == wanted
        assert len(got) <= len(wanted) + 400  # entered near the time, not at the start


def test_recovery_asks_the_end_of_the_log_and_answers_as_before(year: tuple[Path, list[str]]) -> None:
    path, held = year
    finals = {r["file_id"] for r in records(path) if r["event"] in ("released", "quarantined")}
    every = [r["file_id"] for r in records(path) if r.get("file_id")]
    for file_id in itertools.chain(held[:2], held[-2:], every[::997]):
        assert has_final_event(path, file_id) == (file_id in finals)


def test_tail_reads_the_last_records_across_files(year: tuple[Path, list[str]]) -> None:
    path, _ = year
    every = list(records(path))
    assert list(itertools.islice(records_newest_first(path, block=4096), 50)) == every[::-1][:50]
    assert json.loads(path.read_bytes().splitlines()[-1]) == every[-1]
