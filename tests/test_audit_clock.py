"""`cdr audit show` (cdr.lifeline.life_records) when the clock stepped between an ID and its
records: the window read from a day before the ID's time holds none of them, so the whole
log is read (recovery's has_final_event does the same: tests/test_review_durability.py)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import pytest

from cdr import audit
from cdr.audit import AuditLog, Rotation
from cdr.lifeline import life_records

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DAY = 86400.0


def _id_at(moment: float) -> str:
    value = (int(moment * 1000) << 80) | secrets.randbits(80)
    return "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


@pytest.mark.parametrize("id_ahead", [0.0, 30 * DAY], ids=["same-clock", "id-a-month-ahead"])
def test_audit_show_finds_a_life_whatever_the_clock_did(tmp_path: Path, id_ahead: float) -> None:
    path = tmp_path / "audit.jsonl"
    file_id = _id_at(time.time() + id_ahead)
    log = AuditLog(path, rotation=Rotation(daily=False))
    log.append("received", file_id, "soumu/a.pdf", "ab" * 32, durable=False)
    log.append("released", file_id, "soumu/a.pdf", "ab" * 32, output="soumu/a.pdf", output_sha256="cd" * 32)
    for n in range(400):  # other files after it: more than the search's last window
        log.append("received", _id_at(time.time()), f"soumu/{n}.pdf", "ef" * 32, durable=False, size=n)
    log.close()
    assert audit.id_time(file_id) is not None
    assert [r["event"] for r in life_records(path, file_id)] == ["received", "released"]
