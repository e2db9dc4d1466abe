"""`cdr status`'s "today" is the files `cdr report daily` counts, whoever handled them: a
running daemon, a batch beside it, a one-off sanitize, an unlock, an original handed over —
read from the audit log, not the daemon's memory — and it stays fast on a long log."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pyzipper

from cdr.daemon.counters import japan_today
from cdr.daemon.status import todays_endings
from cdr.lifeline import Ending
from tests import builders
from tests.test_cli import cdr
from tests.test_watch import start_watch, stop, wait_until_drained


def _ppap(password: str) -> bytes:
    buffer = io.BytesIO()
    with pyzipper.AESZipFile(buffer, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password.encode())
        archive.writestr("見積.csv", "品名,金額\r\nりんご,100\r\n")
    return buffer.getvalue()


def test_status_status_json_and_report_daily_count_the_same_files(tmp_path: Path) -> None:
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "audit.jsonl")
    proc = start_watch(tmp_path, workers=1)
    try:
        (tmp_path / "in" / "soumu").mkdir()
        (tmp_path / "in" / "soumu" / "bear.jpg").write_bytes(builders.jpeg_with_gps_and_trailer())
        (tmp_path / "in" / "soumu" / "tool.exe").write_bytes(Path("/bin/ls").read_bytes())
        (tmp_path / "in" / "見積.zip").write_bytes(_ppap("Kuma-2024"))
        wait_until_drained(tmp_path)
        # a batch beside the daemon (a folder it does not watch), writing to the same log
        other = tmp_path / "other"
        (other / "in" / "kikaku").mkdir(parents=True)
        (other / "out").mkdir()
        (other / "in" / "kikaku" / "a.csv").write_bytes(builders.SJIS_CSV)
        (other / "policy.yaml").write_text("watch:\n  settle_seconds: 0.4s\n")
        places = ("--inbox", other / "in", "--outbox", other / "out", "--spool", other / "spool", "--policy", other / "policy.yaml")
        ran = cdr("batch", *places, *common)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        one_off = tmp_path / "b.png"
        one_off.write_bytes(builders.simple("PNG"))
        assert cdr("sanitize", one_off, "--out", tmp_path / "o", *common).returncode == 0
        held = {json.loads(line)["input"]: json.loads(line) for line in cdr("quarantine", "list", "--json", *common).stdout.splitlines()}
        zip_id = next(m["id"] for m in held.values() if m["input"].endswith("見積.zip"))
        exe_id = next(m["id"] for m in held.values() if m["input"].endswith("tool.exe"))
        unlocked = cdr("quarantine", "unlock", zip_id, "--outbox", tmp_path / "out", *common, stdin="Kuma-2024\n")
        assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
        handed = ("quarantine", "release", exe_id, "--original", "--allow-program", "--reason", "確認済み")
        given = cdr(*handed, "--outbox", tmp_path / "out", *common)
        assert given.returncode == 0, given.stdout + given.stderr
        status = json.loads(cdr("status", "--json", "--spool", tmp_path / "spool", *common[2:]).stdout)
        text = cdr("status", "--spool", tmp_path / "spool", *common[2:], lang="ja_JP.UTF-8").stdout
        english = cdr("status", "--spool", tmp_path / "spool", *common[2:]).stdout
    finally:
        assert stop(proc) == 0
    daily = cdr("report", "daily", *common[2:], lang="ja_JP.UTF-8").stdout.splitlines()
    # bear.jpg, a.csv, b.png delivered; 見積.zip delivered later; tool.exe's original given
    assert status["today"] == {"released": 3, "released-later": 1, "original-released": 1}, status
    assert daily[1] == "5 件: 送付 3、後日送付 1、原本送付 1"
    assert "今日:        5 件: 送付 3、後日送付 1、原本送付 1" in text.splitlines(), text
    assert "today:       5 files: 3 released, 1 released later, 1 original released" in english.splitlines(), english


def test_today_is_read_from_the_end_of_a_million_records(tmp_path: Path) -> None:
    """A year of log before today is not read: status stays under half a second."""
    audit = tmp_path / "audit.jsonl"
    old = '{"ts":"2020-01-01T00:00:00.000Z","seq":%d,"event":"released","file_id":"01E%023d","input":"a.pdf"}\n'
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    today = '{"ts":"%s","seq":%d,"event":"%s","file_id":"01KB0000000000000000000001","input":"soumu/a.pdf"}\n'
    with audit.open("w") as log:
        log.writelines(old % (n, n) for n in range(1_000_000))
        log.writelines(today % (now, 1_000_000 + n, event) for n, event in enumerate(("received", "quarantined")))
    began = time.perf_counter()
    counted = todays_endings(audit)
    took = time.perf_counter() - began
    assert counted == {Ending.QUARANTINED: 1} and japan_today()
    assert took < 0.5, took
