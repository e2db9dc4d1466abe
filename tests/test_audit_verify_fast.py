"""`audit verify` reads the common record on its bytes (cdr.auditcheck._Walk.plain): the
line is the canonical JSON with its hash added last, so the hash is checked over the line
as stored. Older lines (fields in the order written) are read the long way, and an export
of the same records is the same CSV byte for byte whichever way they were stored."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from cdr import audit
from cdr.audit import AuditLog, record_hash, record_line, verify
from cdr.event_csv import export_csv

FIXTURE = Path(__file__).parent / "fixtures" / "audit_export.csv"


def _records() -> list[dict[str, Any]]:
    """A fixed life of three files (fixed times, IDs, hashes), as the pipeline writes them."""
    rows = []
    for n, (name, final) in enumerate([("soumu/会議.pdf", "released"), ("=HYPERLINK(1).xlsx", "quarantined"), ("a,b.txt", "released")]):
        sha = hashlib.sha256(name.encode()).hexdigest()
        base = {"file_id": f"01HZX{n:021d}", "input": name, "sha256": sha, "policy": "default", "policy_sha256": "ab" * 32}
        rows.append({**base, "event": "received", "size": 1000 + n})
        rows.append({**base, "event": "sanitized", "actions": [{"kind": "metadata", "action": "removed", "count": 2}]})
        if final == "released":
            rows.append({**base, "event": final, "output": name, "output_sha256": sha, "type": "pdf"})
        else:
            rows.append({**base, "event": final, "reason": "blocked-type", "quarantine_id": base["file_id"], "message": "改行\nと\"引用\""})
    return rows


def _write(path: Path, old_style: bool) -> None:
    prev, lines = audit.GENESIS, []
    for seq, fields in enumerate(_records(), start=1):
        record = {"ts": f"2026-04-01T0{seq % 10}:00:00.000Z", "seq": seq, **fields, "prev": prev}
        if old_style:  # as lines were stored before: fields in the order written, hash last
            record["hash"] = record_hash(record)
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        else:
            lines.append(record_line(record))
        prev = record["hash"]
    path.write_bytes(b"".join(lines))
    audit.head_path(path).write_bytes(audit.head_bytes(len(lines), prev))


@pytest.mark.parametrize("old_style", [False, True])
def test_both_ways_of_storing_verify_and_export_the_same_csv(tmp_path: Path, old_style: bool) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, old_style)
    result = verify(path)
    assert result.ok and result.records == 9, result.problem
    out = io.BytesIO()
    export_csv(path, out)
    # made by the export before the stored form changed (9b0efb0) from the old-style log
    expected = FIXTURE.read_bytes()
    if not old_style:  # canonical JSON sorts the keys inside a list's objects too: that cell only
        before, after = '[{""kind"":""metadata"",""action"":""removed"",""count"":2}]', '[{""action"":""removed"",""count"":2,""kind"":""metadata""}]'
        assert expected.count(before.encode()) == 3
        expected = expected.replace(before.encode(), after.encode())
    assert out.getvalue() == expected


def test_the_stored_line_is_the_canonical_json_with_its_hash_last(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, "default", "ab" * 32)
    written = log.append("received", "F1", "soumu/会議.pdf", "cd" * 32, size=3)
    log.close()
    line = path.read_bytes()
    record = json.loads(line)
    assert record == written
    canonical = json.dumps({k: v for k, v in record.items() if k != "hash"}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert line == canonical.encode()[:-1] + f',"hash":"{record["hash"]}"}}\n'.encode()
    assert record["hash"] == hashlib.sha256(canonical.encode()).hexdigest() == record_hash(record)


@pytest.mark.parametrize("old_style", [False, True])
def test_a_byte_changed_anywhere_is_named_in_either_form(tmp_path: Path, old_style: bool) -> None:
    path = tmp_path / "audit.jsonl"
    _write(path, old_style)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"count":2', b'"count":3')
    path.write_bytes(b"".join(lines))
    result = verify(path)
    assert not result.ok and result.line == 5
    assert result.problem == "audit.jsonl line 5 (seq 5): the record was edited (its hash does not match)"


def test_a_record_with_a_correct_hash_but_the_wrong_prev_is_named(tmp_path: Path) -> None:
    """Rehashed after an edit: its own hash fits, the chain does not."""
    path = tmp_path / "audit.jsonl"
    _write(path, old_style=False)
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[6])
    record["input"] = "soumu/innocent.pdf"
    record.pop("hash")
    lines[6] = record_line(record)
    path.write_bytes(b"".join(lines))
    result = verify(path)
    assert not result.ok and result.line == 8
    assert "(seq 8): does not follow the previous record" in result.problem
