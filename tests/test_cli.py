"""The CLI as an operator runs it: a subprocess, exit codes, JSON lines, messages."""

from __future__ import annotations

import getpass
import json
import os
import signal
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from tests import builders
from tests.terminal import read_until, to_the_end, type_keys

ROOT = Path(__file__).resolve().parent.parent
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def speaking(lang: str) -> dict[str, str]:
    """This process's environment with only ``LANG=lang`` choosing the language: the
    messages asserted below are English (C) unless a test asks for Japanese."""
    return {**{k: v for k, v in os.environ.items() if k not in LOCALE_VARIABLES}, "LANG": lang}


def cdr(
    *args: str | Path, stdin: str | None = None, lang: str = "C", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """cli.py run as a person would, in ``lang`` (or with ``env`` whole, a locale in it)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *map(str, args)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        input=stdin,
        timeout=120,
        cwd=ROOT,
        env=env if env is not None else speaking(lang),
    )


def quarantine_then_unlock(tmp_path: Path, source: Path, password: str, password_file: bool = False) -> dict:
    """The administrator's PPAP routine: the file is quarantined as encrypted, a wrong
    password is refused, the right one (a file or one line on stdin) releases it into
    ``tmp_path/o``, and the password is nowhere in the audit log. Returns the result line."""
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl", "--outbox", tmp_path / "o")
    line = json.loads(cdr("sanitize", source, "--out", tmp_path / "o", "--json", *common[:4]).stdout)
    assert line["verdict"] == "quarantined" and line["reason"] == "encrypted", line
    assert "cdr quarantine unlock" in line["message"], line  # the way out, for every locked format

    def unlock(secret: str) -> subprocess.CompletedProcess[str]:
        if password_file:
            secret_file = tmp_path / "password.txt"
            secret_file.write_text(secret + "\n")
            return cdr("quarantine", "unlock", line["quarantine_id"], "--password-file", secret_file, *common)
        return cdr("quarantine", "unlock", line["quarantine_id"], *common, stdin=secret + "\n")

    wrong = unlock("nope")
    assert wrong.returncode == 1 and "wrong-password" in wrong.stdout, wrong.stdout + wrong.stderr
    unlocked = unlock(password)
    assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
    assert password not in (tmp_path / "a.jsonl").read_text()
    return line


@pytest.fixture
def drop(tmp_path: Path) -> Path:
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "bear_gps.jpg").write_bytes(builders.jpeg_with_gps_and_trailer())
    (inbox / "photo.jpg").write_bytes(Path("/bin/ls").read_bytes())
    (inbox / "bomb.png").write_bytes(builders.png_bomb())
    (inbox / "請求.csv").write_bytes(builders.SJIS_CSV)
    (inbox / "readme.txt").write_bytes(b"#!/bin/sh\nrm -rf ~\n")
    return inbox


def test_first_run_as_a_new_user_would(drop: Path, tmp_path: Path) -> None:
    out, q, audit = tmp_path / "out", tmp_path / "q", tmp_path / "audit.jsonl"
    run = cdr("sanitize", drop, "--out", out, "--quarantine", q, "--audit", audit, "--json")
    assert run.returncode == 1, run.stderr
    lines = {r["input"]: r for r in map(json.loads, run.stdout.splitlines())}
    assert set(lines) == {"bear_gps.jpg", "photo.jpg", "bomb.png", "請求.csv", "readme.txt"}

    photo = lines["bear_gps.jpg"]
    assert photo["verdict"] == "released" and photo["output_sha256"]
    image = Image.open(photo["output"])
    assert image.size == (640, 480) and not image.getexif() and "comment" not in image.info

    fake = lines["photo.jpg"]
    assert fake["verdict"] == "quarantined" and fake["reason"] == "extension-mismatch"
    assert ".jpg" in fake["message"] and (q / fake["quarantine_id"] / "original.bin").exists()
    notice = (out / "photo.jpg.quarantined.txt").read_text(encoding="utf-8-sig")
    qid = fake["quarantine_id"]
    assert notice.count(f"{qid[-8:-4]}-{qid[-4:]}") == 2 and notice.count(qid) == 1  # 受付番号 twice, ID once

    bomb = lines["bomb.png"]
    assert bomb["reason"] == "limit-exceeded" and bomb["duration_ms"] < 3000

    csv_line = lines["請求.csv"]
    assert csv_line["verdict"] == "released"
    text = Path(csv_line["output"]).read_bytes().decode("cp932")
    assert "'=cmd|' /C calc'!A0" in text and "山田太郎" in text

    assert lines["readme.txt"]["verdict"] == "quarantined"
    assert not (out / "readme.txt").exists()

    verify = cdr("audit", "verify", "--audit", audit)
    assert verify.returncode == 0 and "chain intact" in verify.stdout
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    finals = [r for r in records if r["event"] in ("released", "quarantined")]
    assert len(finals) == 5

    # edit one field: verify names the record and exits 1
    lines_raw = audit.read_text().splitlines(keepends=True)
    lines_raw[3] = lines_raw[3].replace('"event":"', '"event":"x', 1)
    audit.write_text("".join(lines_raw))
    broken = cdr("audit", "verify", "--audit", audit)
    assert broken.returncode == 1 and "line 4" in broken.stdout

    listing = cdr("quarantine", "list", "--quarantine", q, "--json")
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == 3


def test_clean_run_exits_zero(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(builders.simple("PNG"))
    run = cdr(
        "sanitize",
        tmp_path / "a.png",
        "--out",
        tmp_path / "o",
        "--quarantine",
        tmp_path / "q",
        "--audit",
        tmp_path / "a.jsonl",
    )
    assert run.returncode == 0 and run.stdout.startswith("released")


def test_bad_policy_is_named(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("name: x\ntypes:\n  pdf: explode\n")
    run = cdr("policy", "check", policy)
    assert run.returncode == 2
    assert (
        f"{policy}:3: types.pdf: 'explode' is not allowed (allowed: block, pixels, rebuild, text)"
        in run.stderr
    )
    assert "Traceback" not in run.stderr


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    for args in (("sanitize",), ("frobnicate",), ("sanitize", tmp_path / "missing", "--out", tmp_path)):
        run = cdr(*args)
        assert run.returncode == 2 and "Traceback" not in run.stderr and run.stderr.strip()


def test_policy_show_fills_defaults() -> None:
    run = cdr("policy", "show", "--policy", ROOT / "policies" / "strict.yaml")
    assert run.returncode == 0 and "pdf: pixels" in run.stdout and "max_pixels: 100000000" in run.stdout


def test_quarantine_release_original_and_rerun(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "pic.jpg").write_bytes(builders.simple("PNG"))
    strict = tmp_path / "nopng.yaml"
    strict.write_text("types:\n  png: block\n")
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    run = cdr("sanitize", tmp_path / "in", "--out", tmp_path / "o", "--policy", strict, "--json", *common)
    qid = json.loads(run.stdout)["quarantine_id"]
    rerun = cdr("quarantine", "release", qid, "--outbox", tmp_path / "o", *common)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert rerun.stdout == f"released {qid[-8:-4]}-{qid[-4:]} from quarantine → {tmp_path / 'o' / 'pic.png'}\n"
    assert Image.open(tmp_path / "o" / "pic.png").format == "PNG"
    refused = cdr("quarantine", "release", qid, "--original", *common)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    given = cdr(
        "quarantine",
        "release",
        qid,
        "--original",
        "--reason",
        "課長承認 #12",
        "--outbox",
        tmp_path / "o",
        *common,
    )
    assert given.returncode == 0
    number = f"{qid[-8:-4]}-{qid[-4:]}"  # the 受付番号 the notice gave, whatever ID was typed
    assert given.stdout == f"released the ORIGINAL of {number} (png) → {tmp_path / 'o' / 'pic.jpg'} (on your responsibility; audited)\n"
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    events = [r["event"] for r in records]
    assert "released-original" in events and "quarantine-rerun" in events
    # the intent is on record before the bytes leave, the hand-over after they did
    assert events.index("releasing-original") < events.index("released-original")
    handed = next(r for r in records if r["event"] == "released-original")
    # invariant 10: who, why, and what the file really is (a PNG named .jpg)
    assert (handed["admin"], handed["reason"], handed["type"]) == (getpass.getuser(), "課長承認 #12", "png")
    assert handed["quarantine_id"] == qid and handed["output"] == "pic.jpg"
    assert (tmp_path / "o" / "pic.jpg").read_bytes() == (tmp_path / "in" / "pic.jpg").read_bytes()
    assert stat.S_IMODE((tmp_path / "o" / "pic.jpg").stat().st_mode) == 0o644
    assert cdr("quarantine", "delete", qid, *common).returncode == 0
    assert not (tmp_path / "q" / qid).exists()


def test_a_locked_archive_says_how_it_is_unlocked(tmp_path: Path) -> None:
    import pyzipper

    (tmp_path / "in").mkdir()
    with pyzipper.AESZipFile(tmp_path / "in" / "見積.zip", "w", encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"Kuma-2024")
        archive.writestr("見積.txt", "hello")
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    run = cdr("sanitize", tmp_path / "in", "--out", tmp_path / "o", "--json", *common)
    line = json.loads(run.stdout)
    assert (run.returncode, line["reason"]) == (1, "encrypted"), run.stdout + run.stderr
    how = "; an administrator can unlock it with the password (cdr quarantine unlock)"
    assert line["message"].endswith(how)  # for the administrator: the JSON line and the audit log
    notice = (tmp_path / "o" / "見積.zip.quarantined.txt").read_text(encoding="utf-8-sig")
    assert notice.startswith("【パスワードが届くまでお預かりしています】") and "cdr quarantine" not in notice


def test_an_unlock_without_outbox_delivers_where_the_file_was_headed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file a batch run held (its own outbox) is released beside its notice, not into the
    daemon's outbox the configuration names; --outbox still decides when it is given."""
    import pyzipper

    (tmp_path / "in").mkdir()
    with pyzipper.AESZipFile(tmp_path / "in" / "見積.zip", "w", encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"Kuma-2024")
        archive.writestr("見積.txt", "hello")
    (tmp_path / "daemons-outbox").mkdir()
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl", "--spool", tmp_path / "s")
    run = cdr("sanitize", tmp_path / "in", "--out", tmp_path / "batch-out", "--json", *common)
    qid = json.loads(run.stdout)["quarantine_id"]
    monkeypatch.setenv("CDR_OUTBOX", str(tmp_path / "daemons-outbox"))  # the configured outbox
    unlocked = cdr("quarantine", "unlock", qid, *common, stdin="Kuma-2024\n")
    assert unlocked.returncode == 0, unlocked.stdout + unlocked.stderr
    assert (tmp_path / "batch-out" / "見積.zip").is_file()
    assert (tmp_path / "batch-out" / "見積.zip.released.txt").is_file()
    assert not (tmp_path / "batch-out" / "見積.zip.quarantined.txt").exists()
    assert list((tmp_path / "daemons-outbox").iterdir()) == []


def test_purge_deletes_entries_older_than_an_age(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    for name in ("a.exe", "b.exe"):
        (tmp_path / "in" / name).write_bytes(b"MZ" + bytes(200))
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    run = cdr("sanitize", tmp_path / "in", "--out", tmp_path / "o", "--json", *common)
    qids = {json.loads(line)["quarantine_id"] for line in run.stdout.splitlines()}
    assert len(qids) == 2, run.stdout + run.stderr
    kept = cdr("quarantine", "purge", *common)
    assert (kept.returncode, kept.stdout) == (0, "purged 0 entries older than 30 days\n")
    bad = cdr("quarantine", "purge", "--older-than", "soon", *common)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "'soon' is not a duration (allowed: a number zero or more with ms, s, m, h or d" in bad.stderr
    purged = cdr("quarantine", "purge", "--older-than", "0", *common)
    assert (purged.returncode, purged.stdout) == (0, "purged 2 entries older than 0 days\n")
    assert not list((tmp_path / "q").glob("*/meta.json"))
    records = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert {r["quarantine_id"] for r in records if r["event"] == "quarantine-purged"} == qids


@pytest.mark.slow  # LibreOffice
def test_relative_paths_work_for_a_libreoffice_conversion(tmp_path: Path) -> None:
    """--out, --spool, --quarantine and --audit relative to the operator's folder; the .rtf
    goes through LibreOffice in its own bubblewrap, which binds the spool's work folder."""
    from docx import Document

    (tmp_path / "minutes.rtf").write_bytes(
        rb"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}\pard Minutes of the bear committee. \par}"
    )
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "sanitize", "minutes.rtf", "--json"]
        + ["--out", "out", "--spool", "spool", "--quarantine", "q", "--audit", "log/audit.jsonl"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    line = json.loads(run.stdout)
    assert line["verdict"] == "released" and line["output"] == "out/minutes.docx"
    text = "\n".join(p.text for p in Document(str(tmp_path / "out" / "minutes.docx")).paragraphs)
    assert "Minutes of the bear committee." in text
    assert (tmp_path / "log" / "audit.jsonl").exists() and not list((tmp_path / "q").glob("*/meta.json"))


def _locked_zip(tmp_path: Path) -> tuple[str, tuple[str | Path, ...]]:
    """A PPAP archive quarantined as encrypted: its quarantine ID and the folder options."""
    import pyzipper

    source = tmp_path / "ppap.zip"
    with pyzipper.AESZipFile(source, "w", encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"kuma")
        archive.writestr("memo.txt", "熊\n")
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl", "--outbox", tmp_path / "o")
    line = json.loads(cdr("sanitize", source, "--out", tmp_path / "o", "--json", *common[:4]).stdout)
    assert line["reason"] == "encrypted", line
    return line["quarantine_id"], common


def _on_a_terminal(*args: str | Path, lang: str) -> tuple[int, int]:
    """cdr started on a new pseudo-terminal, as an administrator runs it: its pid and the terminal."""
    import pty

    pid, terminal = pty.fork()
    if pid == 0:  # the child: cdr on the new terminal
        os.chdir(ROOT)
        # Ctrl-C interrupts, as at a login shell (a test run in the background inherits it ignored)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execve(sys.executable, [sys.executable, "cli.py", *map(str, args)], speaking(lang))
    return pid, terminal


@pytest.mark.parametrize("key", [b"\x04", b"\x03"], ids=["ctrl-d", "ctrl-c"])
def test_ctrl_d_or_ctrl_c_at_the_password_prompt_is_a_clean_exit(tmp_path: Path, key: bytes) -> None:
    """On a terminal the unlock asks for the password in Japanese under a Japanese locale;
    Ctrl-D or Ctrl-C there ends the command with one line and exit 2, never a traceback."""
    qid, common = _locked_zip(tmp_path)
    pid, terminal = _on_a_terminal("quarantine", "unlock", qid, *common, lang="ja_JP.UTF-8")
    asked = read_until(terminal, "のパスワード: ".encode()).decode()
    assert asked.strip() == "ppap.zip のパスワード:", asked
    type_keys(pid, terminal, key)
    status, said = to_the_end(pid, terminal)
    assert status == 2, said
    assert said.split() == ["cdr:", "エラー:", "パスワードが入力されませんでした"], said
    assert json.loads(cdr("quarantine", "show", qid, *common[:4]).stdout)["status"] == "quarantined"


def test_unlock_with_nothing_on_stdin_says_so(tmp_path: Path) -> None:
    qid, common = _locked_zip(tmp_path)
    run = cdr("quarantine", "unlock", qid, *common, stdin="")
    assert (run.returncode, run.stderr) == (2, "cdr: error: no password given\n")
    assert "Traceback" not in run.stderr


def test_the_original_of_a_program_needs_its_own_flag(tmp_path: Path) -> None:
    """An executable named .pdf is held as a disguise; handing over its original names the
    real type and needs --allow-program besides --original and --reason (invariant 10)."""
    source = tmp_path / "invoice.pdf"
    source.write_bytes(Path("/bin/true").read_bytes())
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    qid = json.loads(cdr("sanitize", source, "--out", tmp_path / "o", "--json", *common).stdout)["quarantine_id"]
    ask = ("quarantine", "release", qid, "--original", "--reason", "送付元に電話で確認済み", "--outbox", tmp_path / "o")
    refused = cdr(*ask, *common)
    assert refused.returncode == 2 and "executable" in refused.stderr and "--allow-program" in refused.stderr
    assert not (tmp_path / "o" / "invoice.pdf").exists()
    given = cdr(*ask, "--allow-program", *common)
    assert given.returncode == 0 and "(executable)" in given.stdout, given.stdout + given.stderr
    assert (tmp_path / "o" / "invoice.pdf").read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    ("kind", "program"),
    [("executable", True), ("script", True), ("shortcut", True), ("disk-image", True), ("no-such-type", True),
     ("html", True), ("svg", True),
     ("pdf", False), ("zip", False), (None, False)],
)
def test_what_counts_as_a_program_for_the_original(tmp_path: Path, kind: str | None, program: bool) -> None:
    """An .iso opens with a double-click and shows the programs inside it: its original
    needs --allow-program like an executable's; a type this version does not know too."""
    from cdr.admin import is_program
    from cdr.quarantine import Entry

    assert is_program(Entry("01J0000000000000000000000", tmp_path, {"type": kind})) is program


def _held_program(tmp_path: Path) -> tuple[str, tuple[str | Path, ...]]:
    source = tmp_path / "tool.exe"
    source.write_bytes(Path("/bin/true").read_bytes())
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    qid = json.loads(cdr("sanitize", source, "--out", tmp_path / "o", "--json", *common).stdout)["quarantine_id"]
    return qid, common


@pytest.mark.parametrize("answer", [b"n\n", b"\n", b"\x04", b"\x03"], ids=["no", "enter", "ctrl-d", "ctrl-c"])
def test_delete_asks_at_a_terminal_and_anything_but_yes_keeps_the_entry(tmp_path: Path, answer: bytes) -> None:
    qid, common = _held_program(tmp_path)
    pid, terminal = _on_a_terminal("quarantine", "delete", qid, *common, lang="ja_JP.UTF-8")
    asked = read_until(terminal, b"[y/N] ").decode()
    assert asked.strip() == "隔離中の tool.exe を削除しますか（元に戻せません） [y/N]", asked
    type_keys(pid, terminal, answer)
    status, said = to_the_end(pid, terminal)
    assert status == 2 and said.split()[-1] == "取り消しました" and "Traceback" not in said, said
    assert (tmp_path / "q" / qid / "meta.json").exists()


def test_the_original_of_a_program_is_refused_before_the_question(tmp_path: Path) -> None:
    qid, common = _held_program(tmp_path)
    release = ("quarantine", "release", qid, "--original", "--reason", "確認済み", "--outbox", tmp_path / "o")
    pid, terminal = _on_a_terminal(*release, *common, lang="ja_JP.UTF-8")
    status, said = to_the_end(pid, terminal)  # nothing is asked: it ends by itself
    assert status == 2 and "[y/N]" not in said, said
    assert said.strip() == "cdr: エラー: この原本は実行ファイル（プログラム）です。そのまま渡すには --allow-program も指定してください"
    pid, terminal = _on_a_terminal(*release, "--allow-program", *common, lang="ja_JP.UTF-8")
    asked = read_until(terminal, b"[y/N] ").decode()
    assert asked.strip() == "tool.exe の原本（中身は実行ファイル（プログラム））をそのまま渡しますか [y/N]", asked
    type_keys(pid, terminal, b"n\n")
    assert to_the_end(pid, terminal)[0] == 2


@pytest.mark.parametrize("answer", ["はい", "y", "ＹＥＳ"])
def test_delete_takes_yes_in_japanese_or_typed_in_full_width(tmp_path: Path, answer: str) -> None:
    qid, common = _held_program(tmp_path)
    pid, terminal = _on_a_terminal("quarantine", "delete", qid[-8:], *common, lang="C")
    assert read_until(terminal, b"[y/N] ").decode().strip() == (
        "delete the quarantined tool.exe for good (it cannot be undone)? [y/N]"
    )
    type_keys(pid, terminal, answer.encode() + b"\n")
    status, said = to_the_end(pid, terminal)
    assert (status, said.strip().splitlines()[-1]) == (0, f"deleted {qid[-8:]}"), said
    assert not (tmp_path / "q" / qid).exists()


def _terminal_cells(line: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def test_quarantine_list_fits_80_columns_and_takes_short_numbers(tmp_path: Path) -> None:
    """The list shows the 受付番号 a clerk reads over the phone; every command that takes an
    ID takes it too (any case, with or without its hyphen), or a beginning of the full ID."""
    (tmp_path / "in" / "soumu").mkdir(parents=True)
    long_name = "令和6年度_補正予算_説明資料_最終版_確定_提出用.pdf"
    (tmp_path / "in" / "soumu" / long_name).write_bytes(Path("/bin/true").read_bytes())
    (tmp_path / "in" / "tool.exe").write_bytes(Path("/bin/ls").read_bytes())
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    lines = cdr("sanitize", tmp_path / "in", "--out", tmp_path / "o", "--json", *common).stdout.splitlines()
    ids = {json.loads(line)["input"]: json.loads(line)["quarantine_id"] for line in lines}
    listing = cdr("quarantine", "list", *common).stdout.splitlines()
    assert all(_terminal_cells(line) <= 80 for line in listing), listing
    held = ids[f"soumu/{long_name}"]
    number = f"{held[-8:-4]}-{held[-4:]}"
    [row] = [line for line in listing if line.startswith(number)]
    assert "soumu/" in row and row.rstrip().endswith("提出用.pdf") and "…" in row  # cut in the middle
    meta = json.loads(cdr("quarantine", "show", number, *common).stdout)
    japan = datetime.fromtimestamp(meta["quarantined_at"], timezone(timedelta(hours=9))).strftime("%m-%d %H:%M")
    assert row[len(number) + 2 :].startswith(japan), "Japan time, as the notice says, on a server kept in UTC"
    for typed in (number, number.lower(), number.replace("-", ""), held[:-3]):
        shown = cdr("quarantine", "show", typed, *common)
        assert shown.returncode == 0 and json.loads(shown.stdout)["id"] == held, (typed, shown.stderr)
    ambiguous = cdr("quarantine", "show", held[:4], *common)
    assert ambiguous.returncode == 2 and "matches 2 entries" in ambiguous.stderr
    audit = cdr("audit", "show", number, "--audit", tmp_path / "a.jsonl")
    assert audit.returncode == 0 and number in audit.stdout  # each record names the file by its 受付番号
