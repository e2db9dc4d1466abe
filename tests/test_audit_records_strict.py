"""Readers (cdr.audit.records) never skip a whole line that is not JSON: they stop, naming
it, where `audit verify` names it too; a last line still being written is left for later."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdr.audit import AuditLog, Rotation, records
from cdr.errors import AuditError


def _log(path: Path) -> None:
    log = AuditLog(path, rotation=Rotation(daily=False))
    for n in range(3):
        log.append("received", f"01JREV1300000000000000000{n}", f"soumu/{n}.pdf", "ab" * 32)
    log.close()


def test_a_line_that_is_not_json_stops_the_readers(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b'{"event":"received" this is not JSON\n' + b"".join(lines[1:]))
    with pytest.raises(AuditError, match=r"^audit\.jsonl line 2: not a JSON record; run `cdr audit verify`$"):
        list(records(path))


def test_a_last_line_still_being_written_is_left_for_later(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    _log(path)
    with path.open("ab") as handle:
        handle.write(b'{"event":"rec')  # a writer halfway through its line
    assert [r["seq"] for r in records(path)] == [1, 2, 3]
