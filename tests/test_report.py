"""`cdr report` and `cdr audit show` read the lives of files back from the audit log: real
runs of `cdr sanitize`, a password unlock (a wrong password first) and an original handed
over, in two departments, reported as text, CSV and an Excel workbook."""

from __future__ import annotations

import csv
import getpass
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pikepdf
import pytest

from cdr.cells import cells
from cdr.names import reception_number
from cdr.removals import removed_codes, removed_words
from tests import office_builders as ob
from tests.test_cli import ROOT, cdr

JAPAN = timezone(timedelta(hours=9))
HOSTILE = '=HYPERLINK("https:evil.example","x").xlsx'
WHY = "送付元に電話で確認済み"
LIFE_EVENTS = ("received", "quarantined", "unlock", "rejected", "released", "released-original")


def _pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    pdf.docinfo["/Producer"] = "a producer"
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _locked_zip(path: Path) -> None:
    import pyzipper

    with pyzipper.AESZipFile(path, "w", encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"kuma")
        archive.writestr("memo.txt", "熊\n")


class Day:
    """The folders of one run and what it left: the audit log and each file's result line."""

    def __init__(self, root: Path) -> None:
        self.root, self.audit = root, root / "a.jsonl"
        self.places = ("--quarantine", root / "q", "--audit", self.audit, "--spool", root / "spool")
        self.lines: dict[str, dict] = {}

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.audit.read_text(encoding="utf-8").splitlines()]

    def received(self, name: str) -> datetime:
        """When the file's first run began, in Japan time, as the log has it."""
        first = next(r for r in self.records() if r["event"] == "received" and r["input"].endswith(name))
        return datetime.fromisoformat(first["ts"]).astimezone(JAPAN)

    def when(self, event: str, qid: str) -> datetime:
        """When the life of entry ``qid`` last had ``event`` (its re-runs' records included)."""
        reruns = {r["file_id"] for r in self.records() if r.get("from_quarantine") == qid}
        last = [r for r in self.records() if r["event"] == event and r["file_id"] in {qid, *reruns}][-1]
        return datetime.fromisoformat(last["ts"]).astimezone(JAPAN)

    def cdr(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return cdr(*args, "--audit", self.audit)

    def csv(self, *args: str, zone: str | None = None) -> bytes:
        """The bytes of a CSV report as they reach a file (text mode would hide the CRLF)."""
        run = subprocess.run(
            [sys.executable, str(ROOT / "cli.py"), "report", *args, "--csv", "--audit", str(self.audit)],
            capture_output=True,
            timeout=120,
            cwd=ROOT,
            env={**os.environ, **({"TZ": zone} if zone else {})},
        )
        assert run.returncode == 0, run.stderr.decode()
        return run.stdout


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    """soumu: a clean PDF, an executable named .pdf (its original handed over), an .xlsx
    with a formula for a name; kikaku: a .docm with a macro, a PPAP zip (unlocked after a
    wrong password); and a text file straight in the inbox."""
    run = Day(tmp_path_factory.mktemp("reports"))
    inbox = run.root / "in"
    for department in ("soumu", "kikaku"):
        (inbox / department).mkdir(parents=True)
    (inbox / "soumu" / "report.pdf").write_bytes(_pdf())
    (inbox / "soumu" / "invoice.pdf").write_bytes(Path("/bin/true").read_bytes())
    (inbox / "soumu" / HOSTILE).write_bytes(ob.xlsx_bytes())
    (inbox / "kikaku" / "macro.docm").write_bytes(ob.docm_with_vba())
    _locked_zip(inbox / "kikaku" / "ppap.zip")
    (inbox / "top.txt").write_text("熊が出ました\n", encoding="utf-8")
    sanitized = cdr("sanitize", inbox, "--out", run.root / "out", "--json", *run.places)
    assert sanitized.returncode == 1, sanitized.stdout + sanitized.stderr
    run.lines = {json.loads(line)["input"]: json.loads(line) for line in sanitized.stdout.splitlines()}
    admin = (*run.places, "--outbox", run.root / "out")
    ppap = run.lines["kikaku/ppap.zip"]["quarantine_id"]
    assert cdr("quarantine", "unlock", ppap, *admin, stdin="nope\n").returncode == 1
    assert cdr("quarantine", "unlock", ppap, *admin, stdin="kuma\n").returncode == 0
    invoice = run.lines["soumu/invoice.pdf"]["quarantine_id"]
    handed = cdr("quarantine", "release", invoice, "--original", "--reason", WHY, "--allow-program", *admin)
    assert handed.returncode == 0, handed.stdout + handed.stderr
    return run


def _block(text: str, name: str) -> list[str]:
    """A file's line of the text report and its indented details."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith(f"  {name}"))
    rest = lines[start + 1 :]
    end = next((i for i, line in enumerate(rest) if not line.startswith("    ")), len(rest))
    return [lines[start], *rest[:end]]


def _joined(block: list[str]) -> str:
    """The details as one text, without the indentation of lines wrapped at 80 columns."""
    return "".join(line.strip() if line.startswith("      ") else line for line in block)


def test_the_day_as_text_one_file_per_line_in_80_columns(day: Day) -> None:
    today = day.received("report.pdf").date().isoformat()
    run = day.cdr("report", "daily", "--date", today)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:3] == [
        f"日報 {today}（日本時間）",
        "6 件: 送付 4、後日送付 1、原本送付 1",
        "6 files: 4 released, 1 released later, 1 original released",
    ]
    assert all(cells(line) <= 80 for line in lines), [line for line in lines if cells(line) > 80]

    when = day.received("report.pdf").strftime("%m-%d %H:%M")  # Japan time, whatever the host's
    pdf = _block(run.stdout, "report.pdf")
    assert pdf[0].split() == [*when.split(), "soumu", "送付", "pdf", "report.pdf"]
    assert "    出力 output: soumu/report.pdf" in pdf

    macro = _block(run.stdout, "macro.docm")
    assert macro[0].split()[2:] == ["kikaku", "送付", "docm", "macro.docm"]
    removed = " ".join(macro)
    assert "マクロ削除" in removed and "vba-macros" in removed
    assert "    出力 output: kikaku/macro.docx" in macro

    ppap = _block(run.stdout, "ppap.zip")
    qid = day.lines["kikaku/ppap.zip"]["quarantine_id"]
    assert ppap[0].split()[2:] == ["kikaku", "後日送付", "zip", "ppap.zip"]
    assert ppap[1].startswith("    理由 reason: encrypted パスワードで保護されています")
    assert f"[{reception_number(qid)}]" in _joined(ppap)
    assert "    除去 removed: パスワード削除 (archive-password)" in ppap
    released = day.when("released", qid)
    assert f"    対応 handled: パスワード解除 (unlock)、{released:%m-%d %H:%M}、{getpass.getuser()}" in ppap
    assert ppap[-1] == "    出力 output: kikaku/ppap.zip"

    invoice = _joined(_block(run.stdout, "invoice.pdf"))
    assert "原本送付" in invoice and "executable" in invoice and "extension-mismatch" in invoice
    assert "原本の引き渡し (original)、" in invoice and f"、{getpass.getuser()}、理由「{WHY}」" in invoice

    top = _block(run.stdout, "top.txt")
    assert top[0].split()[2:] == ["（なし）", "送付", "text", "top.txt"]


def test_the_totals_count_files_per_department_ending_and_reason(day: Day) -> None:
    run = day.cdr("report", "monthly", "--month", day.received("top.txt").strftime("%Y-%m"))
    assert run.returncode == 0, run.stderr
    totals = run.stdout.split("集計 totals", 1)[1].splitlines()[2:]
    assert totals == [
        "kikaku      送付             1",
        "            後日送付         1  encrypted パスワードで保護されています",
        "            計 total         2",
        "soumu       送付             2",
        "            原本送付         1  extension-mismatch 拡張子と中身が一致しません（…",
        "            計 total         3",
        "（なし）    送付             1",
        "            計 total         1",
        "全体 all    計 total         6",
    ]


def _csv(data: bytes) -> tuple[list[dict[str, str]], list[list[str]]]:
    """The file rows (by heading) and the totals table after the empty line."""
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    gap = table.index([])
    headings = table[0]
    return [dict(zip(headings, row, strict=True)) for row in table[1:gap]], table[gap + 1 :]


def test_csv_for_excel_with_japan_times_and_every_detail(day: Day) -> None:
    rows, totals = _csv(day.csv("daily", "--date", day.received("report.pdf").date().isoformat()))
    by_name = {row["ファイル name"]: row for row in rows}
    assert set(by_name) == {"report.pdf", "invoice.pdf", "'" + HOSTILE, "macro.docm", "ppap.zip", "top.txt"}

    pdf = by_name["report.pdf"]
    assert pdf["日時 time"] == day.received("report.pdf").strftime("%Y-%m-%d %H:%M:%S")
    assert (pdf["部署 department"], pdf["種類 type"], pdf["結果 verdict"], pdf["結果コード verdict code"]) == (
        "soumu", "pdf", "送付", "released",
    )  # fmt: skip
    assert pdf["出力 output"] == "soumu/report.pdf" and pdf["ID"] == day.lines["soumu/report.pdf"]["id"]

    macro = by_name["macro.docm"]
    assert "vba-macros" in macro["除去コード removed codes"].split(", ")
    assert "マクロ削除" in macro["除去したもの removed"].split("、")

    ppap = by_name["ppap.zip"]
    assert (ppap["結果コード verdict code"], ppap["理由コード reason code"]) == ("released-later", "encrypted")
    assert ppap["理由 reason"].startswith("パスワードで保護されています")
    assert (ppap["対応 handling"], ppap["対応者 admin"]) == ("パスワード解除 (unlock)", getpass.getuser())
    assert ppap["対応日時 handled at"] >= ppap["日時 time"] and ppap["出力 output"] == "kikaku/ppap.zip"
    assert ppap["受付番号 number"] == reception_number(day.lines["kikaku/ppap.zip"]["quarantine_id"])

    invoice = by_name["invoice.pdf"]
    assert (invoice["結果 verdict"], invoice["種類 type"], invoice["理由コード reason code"]) == (
        "原本送付", "executable", "extension-mismatch",
    )  # fmt: skip
    assert (invoice["対応 handling"], invoice["対応理由 why"]) == ("原本の引き渡し (original)", WHY)
    assert invoice["除去したもの removed"] == ""  # the original: nothing was taken out

    assert by_name["top.txt"]["部署 department"] == "（なし）"
    mismatch, encrypted = "拡張子と中身が一致しません（偽装の疑い）", "パスワードで保護されています"
    assert totals == [
        ["部署 department", "結果 verdict", "結果コード verdict code", "理由コード reason code", "理由 reason", "件数 count"],
        ["kikaku", "送付", "released", "", "", "1"],
        ["kikaku", "後日送付", "released-later", "encrypted", encrypted, "1"],
        ["kikaku", "計 total", "", "", "", "2"],
        ["soumu", "送付", "released", "", "", "2"],
        ["soumu", "原本送付", "original-released", "extension-mismatch", mismatch, "1"],
        ["soumu", "計 total", "", "", "", "3"],
        ["（なし）", "送付", "released", "", "", "1"],
        ["（なし）", "計 total", "", "", "", "1"],
        ["全体 all", "計 total", "", "", "", "6"],
    ]


def test_an_excel_workbook_with_real_dates_and_a_totals_sheet(day: Day, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    target = tmp_path / "11月.xlsx"
    run = day.cdr("report", "monthly", "--month", day.received("top.txt").strftime("%Y-%m"), "--xlsx", target)
    assert run.returncode == 0, run.stderr
    assert run.stdout == f"{target}: 月報 {day.received('top.txt').strftime('%Y-%m')} (Japan time), 6 files\n"
    book = load_workbook(target)
    assert book.sheetnames == ["ファイル files", "集計 totals"]
    files = list(book["ファイル files"].iter_rows(values_only=False))
    headings = [c.value for c in files[0]]
    rows = {row[headings.index("ファイル name")].value: row for row in files[1:]}
    pdf_time = rows["report.pdf"][0]
    assert isinstance(pdf_time.value, datetime) and pdf_time.is_date
    assert pdf_time.number_format == "yyyy-mm-dd hh:mm:ss"
    assert pdf_time.value == day.received("report.pdf").replace(tzinfo=None, microsecond=0)
    hostile = rows["'" + HOSTILE][headings.index("ファイル name")]
    assert hostile.data_type == "s" and hostile.value.startswith("'=HYPERLINK")
    handled_at = rows["ppap.zip"][headings.index("対応日時 handled at")]
    assert isinstance(handled_at.value, datetime) and handled_at.number_format == "yyyy-mm-dd hh:mm:ss"
    totals = [[c.value for c in row] for row in book["集計 totals"].iter_rows()]
    assert totals[-1] == ["全体 all", "計 total", None, None, None, 6]
    assert ["kikaku", "後日送付", "released-later", "encrypted"] == totals[2][:4] and totals[2][5] == 1


def test_one_department_only(day: Day) -> None:
    month = day.received("top.txt").strftime("%Y-%m")
    rows, totals = _csv(day.csv("monthly", "--month", month, "--dept", "kikaku"))
    assert sorted(r["ファイル name"] for r in rows) == ["macro.docm", "ppap.zip"]
    assert totals[-1][-1] == "2"
    assert [r["ファイル name"] for r in _csv(day.csv("monthly", "--month", month, "--dept", "-"))[0]] == ["top.txt"]


def test_a_file_at_23_30_utc_belongs_to_the_next_day_in_japan(day: Day, tmp_path: Path) -> None:
    """The day is Japan's, whatever the host's zone says: the log's times are moved so
    that top.txt arrived at 23:30 UTC on 30 November, 08:30 on 1 December in Japan."""
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    records = day.records()
    top = next(r["file_id"] for r in records if r["input"] == "top.txt")
    moved = tmp_path / "moved.jsonl"
    with moved.open("w", encoding="utf-8") as out:
        for r in records:
            if r.get("file_id") == top:
                r["ts"] = late.isoformat().replace("+00:00", "Z")
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    shifted = Day(tmp_path)
    shifted.audit = moved
    for zone in ("UTC", "America/Los_Angeles", "Asia/Tokyo"):
        rows, _ = _csv(shifted.csv("daily", "--date", "2026-12-01", zone=zone))
        assert [(r["ファイル name"], r["日時 time"]) for r in rows] == [("top.txt", "2026-12-01 08:30:00")], zone
        assert _csv(shifted.csv("daily", "--date", "2026-11-30", zone=zone))[0] == [], zone


def test_bad_dates_and_both_outputs_are_one_line_exit_2(day: Day) -> None:
    for args, said in (
        (("daily", "--date", "2026-13-01"), "--date '2026-13-01': use YYYY-MM-DD, such as 2026-04-01"),
        (("monthly", "--month", "11月"), "--month '11月': use YYYY-MM, such as 2026-04"),
        (("daily", "--csv", "--xlsx", "x.xlsx"), "give --csv or --xlsx, not both"),
    ):
        run = day.cdr("report", *args)
        assert run.returncode == 2 and said in run.stderr, run.stderr
        assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    japanese = cdr("report", "monthly", "--month", "11月", "--audit", day.audit, lang="ja_JP.UTF-8")
    assert japanese.stderr == "cdr: エラー: --month '11月' は月として読めません。2026-04 のように年-月で指定してください\n"


def test_audit_show_follows_the_unlocked_file_through_both_runs(day: Day, monkeypatch: pytest.MonkeyPatch) -> None:
    qid = day.lines["kikaku/ppap.zip"]["quarantine_id"]
    records = day.records()
    reruns = [r["file_id"] for r in records if r.get("from_quarantine") == qid]
    assert len(reruns) == 2  # the wrong password, then the right one
    for typed in (reception_number(qid), reruns[-1]):  # the 受付番号, or the new run's ID
        run = day.cdr("audit", "show", typed, "--json")
        assert run.returncode == 0, run.stderr
        shown = [json.loads(line) for line in run.stdout.splitlines()]
        assert shown == [r for r in records if r["file_id"] in {qid, *reruns}], typed  # all, in order
        assert [r["event"] for r in shown if r["event"] in LIFE_EVENTS] == [
            "received", "quarantined",  # the first run
            "unlock", "received", "rejected",  # the wrong password
            "unlock", "received", "released",
        ], typed  # fmt: skip
    monkeypatch.setenv("COLUMNS", "250")  # a wide terminal: nothing cut with …
    text = day.cdr("audit", "show", qid).stdout
    assert f"from_quarantine={reception_number(qid)} via=unlock" in text and f"admin={getpass.getuser()}" in text


def test_audit_show_of_an_original_handed_over(day: Day) -> None:
    qid = day.lines["soumu/invoice.pdf"]["quarantine_id"]
    shown = [json.loads(line) for line in day.cdr("audit", "show", qid, "--json").stdout.splitlines()]
    assert [r["event"] for r in shown if r["event"] in LIFE_EVENTS] == ["received", "quarantined", "released-original"]
    handed = next(r for r in shown if r["event"] == "released-original")
    assert (handed["admin"], handed["reason"], handed["type"]) == (getpass.getuser(), WHY, "executable")


def test_removed_things_in_japanese_each_once() -> None:
    codes = ["vba-macros", "exif", "metadata:comment", "metadata", "member:blocked-type", "csv-formula", "odd"]
    assert removed_words(codes) == (
        "マクロ削除、Exif（位置情報など）削除、メタデータ削除、書庫内のファイル削除、数式の無効化、その他削除"
    )
    assert removed_words(["foreign-markup"]) == "独自の拡張データ削除", "an HTML table from a web system loses some"


def test_what_a_pdf_drawing_and_a_mail_body_lost_has_words() -> None:
    """The codes the PDF drawing filter and the mail body's link defanging report are said in
    Japanese, not counted under 「その他」; a defanged link is reported as something taken away."""
    codes = removed_codes(
        [
            {"what": "drawing-operator", "action": "removed", "count": 2},
            {"what": "font-file-1-not-its-format", "action": "removed", "count": 1},
            {"what": "share-links", "action": "defanged", "count": 1},
            {"what": "form-field-da", "action": "removed", "count": 0},  # nothing done: not said
        ]
    )
    assert removed_words(codes) == (
        "描画に使われない命令削除、形式に合わないフォント（代わりのフォントで表示）削除、"
        "共有フォルダーへのリンクを押せない形に変更"
    )


def test_the_event_csv_links_the_runs_and_names_the_admin(day: Day) -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "audit", "export", "--csv", "--audit", str(day.audit)],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0 and run.stdout.startswith(b"\xef\xbb\xbf"), run.stderr
    header, *rows = csv.reader(io.StringIO(run.stdout.decode("utf-8-sig"), newline=""))
    assert len(rows) == len(day.records()) and header[-2:] == ["prev", "hash"]
    events = [dict(zip(header, row, strict=True)) for row in rows]
    qid = day.lines["kikaku/ppap.zip"]["quarantine_id"]
    unlocks = [e for e in events if e["event"] == "unlock"]
    assert [(e["admin"], e["quarantine_id"]) for e in unlocks] == [(getpass.getuser(), qid)] * 2
    rerun = [e for e in events if e["from_quarantine"] == qid]
    assert [e["via"] for e in rerun] == ["unlock", "unlock"]
    macro = next(e for e in events if e["event"] == "sanitized" and e["input"] == "kikaku/macro.docm")
    assert {"what": "vba-macros", "action": "removed", "count": 1} in json.loads(macro["actions"])
    held = next(e for e in events if e["event"] == "quarantined" and e["input"] == "soumu/invoice.pdf")
    assert held["reason"] == "extension-mismatch" and "executable" in held["message"]
    assert next(e for e in events if e["input"].endswith(".xlsx"))["input"] == "soumu/" + HOSTILE  # not at the start
    assert not [cell for row in rows for cell in row if cell[:1] in "=+-@" and cell]


def test_a_failed_unlock_leaves_the_file_held_and_says_so(day: Day, tmp_path: Path) -> None:
    """The log as it stood after the wrong password: the zip is still held, and the row
    names the attempt as failed (who and when), not as a release."""
    records = day.records()
    cut = next(i for i, r in enumerate(records) if r["event"] == "rejected") + 1
    earlier = Day(tmp_path)
    earlier.audit.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records[:cut]))
    rows, totals = _csv(earlier.csv("daily", "--date", day.received("ppap.zip").date().isoformat()))
    ppap = next(r for r in rows if r["ファイル name"] == "ppap.zip")
    assert (ppap["結果 verdict"], ppap["結果コード verdict code"], ppap["出力 output"]) == ("隔離", "quarantined", "")
    assert (ppap["対応 handling"], ppap["対応者 admin"]) == ("パスワード解除（失敗） (unlock)", getpass.getuser())
    assert ppap["除去したもの removed"] == ""
    assert ["kikaku", "隔離", "quarantined", "encrypted"] == next(t for t in totals if t[1] == "隔離")[:4]


def test_an_original_approved_on_the_console_names_both_people(tmp_path: Path) -> None:
    """The report says who asked and who approved, as the notice does; the CLI's own hand-over
    (no request) keeps naming the administrator alone."""
    from cdr.audit import AuditLog
    from cdr.report import day_period, rows, text_lines

    audit = AuditLog(tmp_path / "audit.jsonl")
    try:
        for file_id, extra in (("01KB00000000000000000000AA", {"requested_by": "tanaka", "approved_by": "suzuki"}), ("01KB00000000000000000000BB", {})):
            audit.append("received", file_id=file_id, input=f"soumu/{file_id[-2:]}.exe")
            audit.append("quarantined", file_id=file_id, input=f"soumu/{file_id[-2:]}.exe", quarantine_id=file_id, reason="blocked-type")
            audit.append("released-original", file_id=file_id, quarantine_id=file_id, admin=extra.get("approved_by", "yamada"), reason="監査", **extra)
    finally:
        audit.close()
    period = day_period(None)
    text = "\n".join(text_lines(period, rows(tmp_path / "audit.jsonl", period)))
    asked, alone = _joined(_block(text, "AA.exe")), _joined(_block(text, "BB.exe"))
    assert "、tanakaさんの申請を承認者suzukiさんが承認、理由「監査」" in asked.replace(" ", ""), asked  # wrapped at a space
    assert "、yamada、理由「監査」" in alone and "承認" not in alone, alone
