from __future__ import annotations

import json
from pathlib import Path

import pytest

from cdr.audit import AuditLog, verify
from cdr.event_csv import export_csv


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "audit.jsonl"
    audit = AuditLog(path, "default", "ab" * 32)
    for n in range(5):
        audit.append("received", f"ID{n}", f"soumu/file{n}.pdf", "cd" * 32, size=n)
    audit.close()
    return path


def _rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("".join(lines))


def test_intact_log_verifies(log: Path) -> None:
    result = verify(log)
    assert result.ok and result.records == 5


def test_every_record_has_the_contract_fields(log: Path) -> None:
    for line in log.read_text().splitlines():
        record = json.loads(line)
        for key in ("ts", "seq", "event", "file_id", "input", "sha256", "prev", "hash", "policy_sha256"):
            assert key in record


def test_edited_field_is_named(log: Path) -> None:
    lines = log.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace("file2.pdf", "file9.pdf")
    _rewrite(log, lines)
    result = verify(log)
    assert not result.ok and result.line == 3 and "edited" in result.problem


def test_deleted_record_is_named(log: Path) -> None:
    lines = log.read_text().splitlines(keepends=True)
    del lines[1]
    _rewrite(log, lines)
    result = verify(log)
    assert not result.ok and result.line == 2


def test_reordered_records_are_named(log: Path) -> None:
    lines = log.read_text().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    _rewrite(log, lines)
    assert not verify(log).ok


def test_truncated_tail_is_found(log: Path) -> None:
    lines = log.read_text().splitlines(keepends=True)
    _rewrite(log, lines[:3])
    result = verify(log)
    assert not result.ok and "cut off" in result.problem


def test_the_head_names_the_last_record_and_leaves_no_temp(log: Path) -> None:
    last = json.loads(log.read_text().splitlines()[-1])
    head = json.loads((log.parent / "audit.jsonl.head").read_text())
    assert head == {"seq": 5, "hash": last["hash"]}
    assert sorted(p.name for p in log.parent.iterdir()) == ["audit.jsonl", "audit.jsonl.head"]


def test_appending_continues_the_chain_across_writers(log: Path) -> None:
    first, second = AuditLog(log), AuditLog(log)
    first.append("released", "ID1", "a", "00")
    second.append("released", "ID2", "b", "00")
    first.append("released", "ID3", "c", "00")
    assert verify(log).ok and verify(log).records == 8


def test_csv_export_for_excel_has_every_field(log: Path) -> None:
    """Known columns first, the other fields sorted, the chain last; lists as compact JSON;
    a name that Excel would run is neutralised; BOM and CRLF for Excel."""
    import csv
    import io

    audit = AuditLog(log, "default", "ab" * 32)
    audit.append("unlock", "ID1", '=HYPERLINK("https:x","y").pdf', "cd" * 32, quarantine_id="ID1", admin="kuma")
    audit.append("received", "ID9", "soumu/b.zip", "cd" * 32, from_quarantine="ID1", via="unlock")
    audit.append("identified", "ID9", "soumu/b.zip", "cd" * 32, encrypted=False, findings=[{"kind": "encrypted"}])
    audit.close()
    out = io.BytesIO()
    assert export_csv(log, out) == 8
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 9 and data.count(b"\n") == 9
    header, *rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    assert header == [
        "ts", "seq", "event", "file_id", "input", "sha256", "size", "quarantine_id", "admin", "via",
        "from_quarantine", "policy", "policy_sha256", "encrypted", "findings", "prev", "hash",
    ]  # fmt: skip
    by_event = {row[2]: dict(zip(header, row, strict=True)) for row in rows}
    assert by_event["unlock"]["input"] == '\'=HYPERLINK("https:x","y").pdf'
    assert (by_event["unlock"]["admin"], by_event["unlock"]["quarantine_id"]) == ("kuma", "ID1")
    assert (by_event["received"]["from_quarantine"], by_event["received"]["via"]) == ("ID1", "unlock")
    assert by_event["received"]["size"] == "" and rows[4][header.index("size")] == "4"
    assert (by_event["identified"]["findings"], by_event["identified"]["encrypted"]) == (
        '[{"kind":"encrypted"}]', "false",
    )  # fmt: skip


def test_threads_sharing_one_log_keep_the_chain(tmp_path: Path) -> None:
    import threading

    audit = AuditLog(tmp_path / "audit.jsonl")
    threads = [
        threading.Thread(target=lambda n=n: [audit.append("step", f"T{n}", "x", "00") for _ in range(50)])
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    audit.close()
    result = verify(tmp_path / "audit.jsonl")
    assert result.ok and result.records == 200


def test_a_fresh_install_has_no_records_yet(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from tests.test_cli import cdr

    run = cdr("audit", "verify", "--audit", tmp_path / "audit.jsonl")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout == f"{tmp_path / 'audit.jsonl'}: no records yet\n"
    japanese = subprocess.run(
        [sys.executable, "cli.py", "audit", "verify", "--audit", str(tmp_path / "audit.jsonl")],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "LANG": "ja_JP.UTF-8", "LC_ALL": "", "LANGUAGE": ""},
    )
    assert japanese.returncode == 0 and japanese.stdout == f"{tmp_path / 'audit.jsonl'}: まだ記録はありません\n"


def test_a_deleted_log_is_not_a_fresh_start(log: Path) -> None:
    """The head outlives the log it describes: removing the log is found, not read as new."""
    from tests.test_cli import cdr

    log.unlink()
    assert not verify(log).ok and "missing" in verify(log).problem
    run = cdr("audit", "verify", "--audit", log)
    assert run.returncode == 1 and "missing" in run.stdout, run.stdout


@pytest.mark.parametrize("block", [7, 64, 1 << 16])
def test_records_read_from_the_end_are_all_there_newest_first(log: Path, block: int) -> None:
    """Blocks that cut lines anywhere (7 bytes) still give every record, whole, in reverse."""
    from cdr.audit import records, records_newest_first

    assert list(records_newest_first(log, block)) == list(reversed(list(records(log))))
