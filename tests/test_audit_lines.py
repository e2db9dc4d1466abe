"""`cdr audit tail` and `show` as a clerk reads them: Japan time, one record per line within
the terminal's width, the person of a console login named; --json keeps the raw records."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from cdr.audit import AuditLog, records
from cdr.cells import cells
from cdr.daemon.counters import japan_time
from tests.test_cli import ROOT, speaking

FILE_ID = "01KB000000000000000000K7QM"
NUMBER = "0000-K7QM"  # its 受付番号: the last eight characters


def _cdr(columns: int, *args: str | Path) -> list[str]:
    env = {**speaking("C"), "COLUMNS": str(columns), "CDR_CONFIG": "/dev/null"}
    run = subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True, text=True, env=env, check=True)
    return run.stdout.splitlines()


def test_tail_and_show_in_japan_time_one_record_a_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    try:
        log.append("received", file_id=FILE_ID, input="soumu/令和6年度 予算要求資料（最終版）.xlsx")
        log.append("quarantined", file_id=FILE_ID, input="soumu/令和6年度 予算要求資料（最終版）.xlsx",
                   quarantine_id=FILE_ID, reason="malformed", message="x" * 200)  # fmt: skip
        log.append("console-login", user="admin", client="127.0.0.1", via="console")
    finally:
        log.close()
    kept = list(records(path))
    for columns in (80, 100):
        tail = _cdr(columns, "audit", "tail", "--audit", path)
        assert len(tail) == 3 and all(cells(line) <= columns for line in tail), tail
        first = japan_time(kept[0]["ts"])
        assert first is not None and tail[0].startswith(first.strftime("%Y-%m-%d %H:%M:%S #1 received     " + NUMBER + " "))
        assert "Z" not in tail[0].split()[1] and tail[1].endswith("…")
        assert " user=admin " in tail[2] + " " and "console-login" in tail[2]
    shown = _cdr(80, "audit", "show", NUMBER, "--audit", path)
    assert [line.split()[3] for line in shown] == ["received", "quarantined"]
    assert [json.loads(line) for line in _cdr(80, "audit", "tail", "--json", "--audit", path)] == kept
