"""Mail to the administrator, sent to an SMTP server on 127.0.0.1 in the test
(tests/smtp_server.py): one batched quarantine alert with the files waiting for their
password first, a daily summary, a test mail; kept while the relay is down; hostile file
names never reach a header; nothing at all unless mail_relay is set.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from cdr.audit import AuditLog, records
from cdr.config import settings
from cdr.daemon.counters import JAPAN
from cdr.mailer import MailConfig
from cdr.names import new_id, reception_number
from cdr.quarantine import QuarantineStore
from cdr.reasons import in_japanese
from tests.smtp_server import SmtpServer
from tests.test_watch import ROOT, start_watch, stop, wait_until_drained

TO = ["joho@town.lg.jp", "kanri@town.lg.jp"]


def _mail_env(port: int, batch: str = "1s") -> dict[str, str]:
    return {
        "CDR_MAIL_RELAY": f"127.0.0.1:{port}",
        "CDR_MAIL_TO": ", ".join(TO),
        "CDR_MAIL_FROM": "cdr@town.lg.jp",
        "CDR_MAIL_BATCH": batch,
    }


def _notify(tmp_path: Path, *words: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    places = ["--spool", "spool", "--audit", "audit.jsonl", "--quarantine", "q"]
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "notify", *words, *places],
        capture_output=True,
        text=True,
        env={**os.environ, "CDR_CONFIG": "/dev/null", **(env or {})},
        cwd=tmp_path,
        timeout=120,
    )


def _mail_records(tmp_path: Path) -> list[dict]:
    return [r for r in records(tmp_path / "audit.jsonl") if r["event"].startswith("mail-")]


def _quarantined(tmp_path: Path, *inputs: tuple[str, str]) -> list[str]:
    """Quarantine records as the pipeline writes them, for (input, reason); their IDs."""
    log = AuditLog(tmp_path / "audit.jsonl")
    ids = []
    for input_, reason in inputs:
        file_id = new_id()
        log.append("received", file_id, input_, "0" * 64)
        log.append("quarantined", file_id, input_, "0" * 64, quarantine_id=file_id, reason=reason, message="m")
        ids.append(file_id)
    log.close()
    return ids


def _line_with(body: str, text: str) -> str:
    [line] = [line for line in body.splitlines() if text in line]
    return line


# ------------------------------------------------------------------ the quarantine alert
def _ppap_zip(path: Path) -> None:
    import pyzipper

    with pyzipper.AESZipFile(path, "w", encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"Kuma-2024")
        archive.writestr("見積書.xlsx", b"the estimate")


def test_three_quarantines_by_the_daemon_make_one_alert_with_the_password_wait_first(tmp_path: Path) -> None:
    proc = start_watch(tmp_path)
    try:
        for department in ("soumu", "kikaku"):
            (tmp_path / "in" / department).mkdir()
        _ppap_zip(tmp_path / "in" / "soumu" / "見積書.zip")
        (tmp_path / "in" / "kikaku" / "invoice.pdf").write_bytes(Path("/bin/true").read_bytes())
        (tmp_path / "in" / "soumu" / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<< nonsense\n")
        wait_until_drained(tmp_path, timeout=60)
    finally:
        assert stop(proc) == 0
    metas = {m["relative"]: m for m in (json.loads(p.read_text()) for p in (tmp_path / "q").glob("*/meta.json"))}
    assert set(metas) == {"soumu/見積書.zip", "kikaku/invoice.pdf", "soumu/broken.pdf"}
    assert metas["soumu/見積書.zip"]["reason"] == "encrypted"

    with SmtpServer() as smtp:
        early = _notify(tmp_path, "send", env=_mail_env(smtp.port, batch="1h"))
        assert (early.returncode, early.stdout, early.stderr) == (0, "", "")
        assert smtp.connections == 0, "an alert went out before its window closed"
        time.sleep(1.1)  # the window of 1s closes

        run = _notify(tmp_path, "send", env={**_mail_env(smtp.port), "LANG": "ja_JP.UTF-8"})
        assert run.returncode == 0, run.stderr
        assert run.stdout == "1 通のメールを送りました\n", "the administrator's language"
        again = _notify(tmp_path, "send", env=_mail_env(smtp.port))
        assert (again.returncode, again.stdout) == (0, "")
        [mail] = smtp.received

    assert (mail.sender, mail.recipients) == ("cdr@town.lg.jp", TO)
    assert mail.data.isascii() and b"=?utf-8?" in mail.data, "the subject is encoded, not raw UTF-8"
    message = mail.message
    assert message["Subject"] == "[cdr] 隔離のお知らせ 3 件（うちパスワード待ち 1 件） / 3 quarantined"
    assert message["To"] == ", ".join(TO) and message["Auto-Submitted"] == "auto-generated"
    body = mail.body
    assert body.startswith("無害化装置で、次の 3 件のファイルを隔離しました（")
    password_wait = body.index("■ パスワード待ち（1 件） [encrypted]")
    for relative, meta in metas.items():
        department, name = relative.split("/")
        line = _line_with(body, reception_number(meta["id"]))
        assert f"  {department}  " in line and line.endswith(f"  {name}")
        if meta["reason"] != "encrypted":
            assert body.index(f"■ {in_japanese(meta['reason'])}（1 件） [{meta['reason']}]") > password_wait
            assert body.index(line) > password_wait
    assert body.index(_line_with(body, reception_number(metas["soumu/見積書.zip"]["id"]))) < body.index("■ ", password_wait + 1)
    english = body[body.index("-" * 68) :]
    assert "cdr quarantined 3 file(s) " in english and "; 1 of them waiting for a password." in english

    [sent] = _mail_records(tmp_path)
    assert (sent["event"], sent["kind"], sent["files"], sent["to"], sent["tries"]) == ("mail-sent", "quarantine-alert", 3, TO, 1)
    assert "data" not in sent and "body" not in sent


def test_a_hostile_file_name_stays_in_the_body_escaped(tmp_path: Path) -> None:
    [hostile, bidi] = _quarantined(
        tmp_path, ("soumu/a\r\nBcc: x@evil.example\r\n.pdf", "malformed"), ("soumu/photo\u202egpj.exe", "blocked-type")
    )
    time.sleep(1.1)
    with SmtpServer() as smtp:
        run = _notify(tmp_path, "send", env=_mail_env(smtp.port))
        assert run.returncode == 0, run.stderr
        [mail] = smtp.received
    assert mail.recipients == TO
    assert "Bcc" not in mail.message and b"\r\nBcc:" not in mail.data and b"evil" not in mail.data.split(b"\r\n\r\n")[0]
    body = mail.body
    assert _line_with(body, reception_number(hostile)).endswith("  a??Bcc: x@evil.example??.pdf")
    assert _line_with(body, reception_number(bidi)).endswith("  photo?gpj.exe")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_alert_waits_while_the_relay_is_down_and_goes_once_it_is_up(tmp_path: Path) -> None:
    [file_id] = _quarantined(tmp_path, ("keiri/請求書.zip", "encrypted"))
    time.sleep(1.1)
    port = _free_port()
    for _ in range(2):
        down = _notify(tmp_path, "send", env=_mail_env(port))
        assert down.returncode == 2 and down.stdout == ""
        assert down.stderr.startswith("cdr: error: could not send, 1 mail(s) wait for the next try: ")
        assert down.stderr.endswith(f"the relay 127.0.0.1:{port}: Connection refused\n")
        assert len(list((tmp_path / "spool" / "mail-pending").glob("*.mail"))) == 1
    [failed] = _mail_records(tmp_path)  # audited once, not once a minute while it lasts
    status = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "status", "--spool", "spool", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "CDR_CONFIG": "/dev/null", **_mail_env(port)},
        cwd=tmp_path,
    )
    assert json.loads(status.stdout)["mail"] == {
        "relay": f"127.0.0.1:{port}",
        "waiting": 1,
        "last_failure": f"the relay 127.0.0.1:{port}: Connection refused",
    }
    assert (failed["event"], failed["kind"], failed["files"]) == ("mail-failed", "quarantine-alert", 1)

    with SmtpServer(port) as smtp:
        up = _notify(tmp_path, "send", env=_mail_env(port))
        assert (up.returncode, up.stdout) == (0, "sent 1 mail(s)\n"), up.stderr
        assert _notify(tmp_path, "send", env=_mail_env(port)).stdout == ""
        [mail] = smtp.received
    assert reception_number(file_id) in mail.body and "パスワード待ち（1 件）" in mail.body
    assert list((tmp_path / "spool" / "mail-pending").glob("*.mail")) == []
    assert [(r["event"], r.get("tries")) for r in _mail_records(tmp_path)] == [("mail-failed", None), ("mail-sent", 3)]


def test_mail_is_off_unless_a_relay_is_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CDR_CONFIG", "/dev/null")
    assert MailConfig.of(settings({})) is None
    _quarantined(tmp_path, ("soumu/a.zip", "encrypted"))
    time.sleep(1.1)
    try:
        smtp = SmtpServer(25)  # where a relay would be if "off" quietly meant "localhost"
    except OSError:
        smtp = SmtpServer()
    with smtp:
        send = _notify(tmp_path, "send")
        daily = _notify(tmp_path, "daily")
        test = _notify(tmp_path, "test")
        test_ja = _notify(tmp_path, "test", env={"LANG": "ja_JP.UTF-8"})
        assert smtp.connections == 0
    assert (send.returncode, send.stdout, send.stderr) == (0, "", "")
    off = "mail is off: mail_relay in cdr.yaml is empty"
    assert (daily.returncode, daily.stdout) == (0, off + "\n")
    assert (test.returncode, test.stderr) == (2, f"cdr: error: {off}\n")
    off_ja = "メール通知は設定されていません（cdr.yaml の mail_relay が空です）"
    assert (test_ja.returncode, test_ja.stderr) == (2, f"cdr: error: {off_ja}\n")
    assert not (tmp_path / "spool" / "mail-pending").exists() and _mail_records(tmp_path) == []


# ------------------------------------------------------------------ the daily summary and the test mail
def test_the_daily_summary_counts_the_day_and_lists_what_is_still_held(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    for name in ("soumu/a.pdf", "kikaku/b.docx"):
        file_id = new_id()
        log.append("received", file_id, name, "0" * 64)
        log.append("released", file_id, name, "0" * 64, output=name, output_sha256="1" * 64)
    log.close()
    zip_id, pdf_id = _quarantined(tmp_path, ("soumu/見積書.zip", "encrypted"), ("kikaku/壊れた.pdf", "malformed"))
    store = QuarantineStore(tmp_path / "q")
    for qid, relative, reason in ((pdf_id, "kikaku/壊れた.pdf", "malformed"), (zip_id, "soumu/見積書.zip", "encrypted")):
        store.store(qid, None, {"input": relative, "relative": relative, "reason": reason, "quarantined_at": time.time()})
    today = datetime.now(JAPAN).date().isoformat()

    with SmtpServer() as smtp:
        run = _notify(tmp_path, "daily", "--date", today, env=_mail_env(smtp.port, batch="1h"))
        assert (run.returncode, run.stdout) == (0, "sent 1 mail(s)\n"), run.stderr
        [mail] = smtp.received
    assert mail.message["Subject"] == f"[cdr] 日次集計 {today}：届けた 2 件・隔離 2 件 / daily summary"
    body = mail.body
    for line in (
        "  送付（無害化して届けたもの）: 2 件",
        "  隔離（いまも装置がお預かりしているもの）: 2 件",
        f"  {in_japanese('encrypted')}: 1 件 [encrypted]",
        f"  {in_japanese('malformed')}: 1 件 [malformed]",
        "いまも隔離しているファイルは 2 件です（隔離した日時の順）。",
        f"cdr daily summary for {today} (Japan time), counted as `cdr report daily` counts: 4 files: 2 released, 2 quarantined.",
    ):
        assert line in body.splitlines(), line
    zip_line, pdf_line = _line_with(body, reception_number(zip_id)), _line_with(body, reception_number(pdf_id))
    assert zip_line.endswith("  見積書.zip") and "  soumu  " in zip_line
    assert body.index("■ パスワード待ち（1 件）") < body.index(zip_line) < body.index(pdf_line), "the password wait first"
    [sent] = _mail_records(tmp_path)
    assert (sent["kind"], sent["files"]) == ("daily", 4)


def test_a_file_held_and_unlocked_the_same_day_is_one_later_delivery_in_the_summary(tmp_path: Path) -> None:
    """The daily mail counts as `cdr report daily` does: each file once, as it stands now.
    It once counted the raw verdicts, so a PPAP ZIP held in the morning and opened with its
    password in the afternoon was one released and one quarantined file."""
    (tmp_path / "in" / "soumu").mkdir(parents=True)
    _ppap_zip(tmp_path / "in" / "soumu" / "見積書.zip")
    (tmp_path / "in" / "soumu" / "memo.txt").write_text("熊の目撃情報\n", encoding="utf-8")
    places = ["--spool", "spool", "--audit", "audit.jsonl", "--quarantine", "q"]

    def cdr(*words: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(ROOT / "cli.py"), *words, *places], input=stdin, capture_output=True,
                              text=True, env={**os.environ, "CDR_CONFIG": "/dev/null"}, cwd=tmp_path, timeout=120)  # fmt: skip

    assert cdr("sanitize", "in", "--out", "out").returncode == 1  # one of the two was held
    [entry] = [p.name for p in (tmp_path / "q").iterdir() if len(p.name) == 26]
    unlocked = cdr("quarantine", "unlock", entry, "--outbox", "out", stdin="Kuma-2024\n")
    assert unlocked.returncode == 0, unlocked.stderr
    report = subprocess.run([sys.executable, str(ROOT / "cli.py"), "report", "daily", "--audit", "audit.jsonl"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=120, env={**os.environ, "LANG": "ja_JP.UTF-8"})  # fmt: skip
    today = datetime.now(JAPAN).date().isoformat()
    with SmtpServer() as smtp:
        run = _notify(tmp_path, "daily", "--date", today, env=_mail_env(smtp.port, batch="1h"))
        assert run.returncode == 0, run.stderr
        [mail] = smtp.received
    assert mail.message["Subject"] == f"[cdr] 日次集計 {today}：届けた 2 件・隔離 0 件 / daily summary"
    lines = mail.body.splitlines()
    assert "  送付（無害化して届けたもの）: 1 件" in lines
    assert "  後日送付（パスワード解除や再処理のあとで届けたもの）: 1 件" in lines
    assert "  隔離（いまも装置がお預かりしているもの）: 0 件" in lines and "■ 隔離の理由" not in lines
    assert f"cdr daily summary for {today} (Japan time), counted as `cdr report daily` counts: 2 files: 1 released, 1 released later." in lines
    assert report.returncode == 0 and "2 件: 送付 1、後日送付 1" in report.stdout, report.stdout + report.stderr


def test_a_test_mail_goes_now_and_says_so(tmp_path: Path) -> None:
    with SmtpServer() as smtp:
        run = _notify(tmp_path, "test", env=_mail_env(smtp.port))
        [mail] = smtp.received
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"test mail sent: {', '.join(TO)} via 127.0.0.1:{smtp.port}\n"
    assert mail.message["Subject"] == "[cdr] テストメール / test mail"
    assert mail.body.startswith("無害化装置 cdr からのテストメールです。\n")
    assert [(r["event"], r["kind"]) for r in _mail_records(tmp_path)] == [("mail-sent", "test")]
    assert not list((tmp_path / "spool").glob("mail-pending/*.mail")), "a test mail is never kept"


def test_bad_mail_settings_are_one_line_naming_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "cdr.yaml"
    config.write_text("mail_relay: relay.town.lg.jp:25\nmail_to: joho@town.lg.jp, 情報政策課\n")
    run = _notify(tmp_path, "test", env={"CDR_CONFIG": str(config)})
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"cdr: error: {config}:2: mail_to: ")
    assert "addresses such as admin@town.lg.jp, separated by commas" in run.stderr

    config.write_text("mail_relay: relay.town.lg.jp\n")
    run = _notify(tmp_path, "test", env={"CDR_CONFIG": str(config)})
    assert (run.returncode, run.stderr) == (
        2,
        "cdr: error: mail_to: names no one, but mail_relay is set (give mail_to, or empty mail_relay)\n",
    )
