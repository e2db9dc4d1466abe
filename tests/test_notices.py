"""What staff read in the outbox: one notice per kind of reason, Japanese first and whole,
the retention the policy sets, Japan time; and the short notice that replaces it when the
held file is delivered later (unlock, re-run, the original handed over)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import pytest
import pyzipper

from cdr.admin import Admin
from cdr.audit import records
from cdr.config import Settings
from cdr.errors import SANITIZE_REASONS, CannotProcess
from cdr.model import FileType, Outcome
from cdr.names import reception_number
from cdr.notices import (
    JST,
    SEPARATOR,
    UNCHECKED_DETAIL,
    UNNAMED_TYPE,
    contact_halves,
    held_text,
    kind_of,
    type_words,
)
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy, parse_policy
from cdr.quarantine import QuarantineStore
from cdr.sandbox import SandboxPool
from tests import builders

QID = "01M8JF33EWR5JY8WCGS774MW1J"
NUMBER = reception_number(QID)  # 774M-W1J
CONTACT = "総務課 情報係（内線 2107） / General Affairs, ext. 2107"
RAW = "unable to find trailer dictionary while recovering damaged file"  # a parser's own words
AT = datetime(2026, 11, 29, 1, 31, tzinfo=UTC).timestamp()  # 10:31 in Japan

PASSWORD_STEP = (
    "パスワードが書かれたメールを、受付番号を添えて総務課 情報係（内線 2107）に転送してください。"
    "パスワードで開いて安全を確認できれば、このフォルダーに届けます。"
)
PROGRAM_STEP = "送信元に、メールへの返信ではなく電話で、本当に送ったものか確認してください。"
ASK_PDF = "送信元に、ＰＤＦにして送り直してもらってください。"
ASK_ZIP = "送信元に、ＺＩＰ形式で圧縮し直して送ってもらってください。"
ASK_OTHER = "送信元に、別の形式（ＰＤＦなど）で送り直してもらってください。"
ASK_PDF_AGAIN = "送信元に、ＰＤＦを作り直して（保存し直して）送り直すか、別の形式で送ってもらってください。"
HELD_PASSWORD = "【パスワードが届くまでお預かりしています】"
STOPPED = "【危険なおそれがあるため、ファイルを止めました】"
NOT_DELIVERED = "【この形式のファイルは届けられないため、お預かりしています】"
UNCHECKED = "【安全を確認できなかったため、お預かりしています】"

# (reason, real type, name) → the first line and the one next step a person reads
KINDS = [
    ("encrypted", "zip", "見積.zip", HELD_PASSWORD, PASSWORD_STEP),
    ("encrypted", "encrypted-office", "秘密.docx", HELD_PASSWORD, PASSWORD_STEP),
    ("encrypted", "pdf", "locked.pdf", HELD_PASSWORD, PASSWORD_STEP),  # never "ask for a PDF"
    (
        "wrong-password",
        "zip",
        "見積.zip",
        "【パスワードが違っていたため、引き続きお預かりしています】",
        "送信元に正しいパスワードを確かめ、そのパスワードが書かれたメールを、受付番号を添えて"
        "総務課 情報係（内線 2107）に転送してください。",
    ),
    ("extension-mismatch", "executable", "invoice.pdf", STOPPED, PROGRAM_STEP),
    ("blocked-type", "executable", "setup.exe", STOPPED, PROGRAM_STEP),
    ("blocked-type", "script", "run.bat", STOPPED, PROGRAM_STEP),
    ("blocked-type", "shortcut", "請求書.lnk", STOPPED, PROGRAM_STEP),
    ("extension-mismatch", "script", "photo.jpg", STOPPED, PROGRAM_STEP),
    (
        "extension-mismatch",
        "docx",
        "report.pdf",
        "【名前と中身が一致しないため、お預かりしています】",
        "送信元に、正しい名前で、またはＰＤＦにして送り直してもらってください。",
    ),
    ("blocked-type", "ichitaro", "企画書.jtd", NOT_DELIVERED, ASK_PDF),
    ("unsupported-type", "docuworks", "図面.xdw", NOT_DELIVERED, ASK_PDF),
    ("unsupported-type", "unknown", "data.bin", NOT_DELIVERED, ASK_PDF),
    ("converter-unavailable", "doc", "議事録.doc", NOT_DELIVERED, ASK_PDF),
    ("blocked-type", "svg", "drawing.svg", NOT_DELIVERED, ASK_PDF),
    ("blocked-type", "msg", "メール.msg", NOT_DELIVERED, ASK_PDF),
    ("blocked-type", "7z", "資料.7z", NOT_DELIVERED, ASK_ZIP),
    ("blocked-type", "rar", "資料.rar", NOT_DELIVERED, ASK_ZIP),
    ("malformed", "pdf", "broken.pdf", UNCHECKED, ASK_PDF_AGAIN),
    ("limit-exceeded", "png", "bomb.png", UNCHECKED, ASK_OTHER),
    ("timeout", "pdf", "slow.pdf", UNCHECKED, ASK_PDF_AGAIN),
    ("memory-limit", "xlsx", "大きな表.xlsx", UNCHECKED, ASK_OTHER),
    ("cpu-limit", "pdf", "slow.pdf", UNCHECKED, ASK_PDF_AGAIN),
    ("output-too-large", "tiff", "scan.tif", UNCHECKED, ASK_OTHER),
    ("verification-failed", "docx", "a.docx", UNCHECKED, ASK_OTHER),
    ("sandbox-crash", "jpeg", "photo.jpg", UNCHECKED, ASK_OTHER),
    ("bad-answer", "pdf", "a.pdf", UNCHECKED, ASK_PDF_AGAIN),
    (
        "operational-error",
        "rtf",
        "minutes.rtf",
        "【装置の不具合のため、お預かりしています】",
        "管理者が原因を取り除いた後に処理し直し、このフォルダーに届けます。"
        "お急ぎの場合は、受付番号を添えて総務課 情報係（内線 2107）にご連絡ください。",
    ),
    (
        "internal-error",
        "pdf",
        "a.pdf",
        "【装置の不具合のため、お預かりしています】",
        "管理者が原因を取り除いた後に処理し直し、このフォルダーに届けます。"
        "お急ぎの場合は、受付番号を添えて総務課 情報係（内線 2107）にご連絡ください。",
    ),
    (
        "encrypted",
        "rar",
        "見積.rar",
        "【パスワード付きで開けないため、お預かりしています】",
        "送信元に、パスワードなしで、またはパスワード付きのＺＩＰにして送り直してもらってください。",
    ),
    (
        "not-a-regular-file",
        None,
        "link.pdf",
        "【ファイルそのものではなかったため、受け付けていません】",
        "リンクではなく、ファイルそのものを置き直してください。",
    ),
]


def _meta(reason: str, file_type: str | None, name: str, **more: object) -> dict[str, object]:
    return {"reason": reason, "type": file_type, "relative": f"soumu/{name}", "message": RAW,
            "contact": CONTACT, "quarantined_at": AT, "retention": 30 * 86400.0, **more}  # fmt: skip


def _japanese_part(text: str) -> str:
    return text.split(SEPARATOR)[0]


def _latin_words(japanese: str, *allowed: str) -> list[str]:
    """Runs of three or more Latin letters, once the names a person gave are taken out."""
    for text in allowed:
        japanese = japanese.replace(text, "")
    return re.findall(r"[A-Za-z]{3,}", japanese)


@pytest.mark.parametrize(("reason", "file_type", "name", "first", "step"), KINDS)
def test_each_kind_says_what_happened_and_the_one_next_step(
    reason: str, file_type: str | None, name: str, first: str, step: str
) -> None:
    text = held_text(QID, _meta(reason, file_type, name), "", kept=True)
    japanese, english = text.split(SEPARATOR)
    assert text.splitlines()[0] == first
    assert step in japanese.splitlines()
    assert f"受付番号: {NUMBER}" in japanese.splitlines()[:3]  # prominent: right under the title
    assert _latin_words(japanese, name, contact_halves(CONTACT)[0]) == []
    assert "General Affairs" not in japanese and "Contact: General Affairs, ext. 2107" in english
    assert "総務課" not in english
    assert RAW not in text and "trailer" not in text and reason not in japanese
    assert "cdr " not in text and "quarantine" not in text  # no command for staff to type
    assert "原本は30日間保管した後、削除されます。" in japanese
    assert "The original is kept for 30 days and then deleted." in english
    assert "受付日時: 2026年11月29日 10:31" in japanese and "Received: 2026-11-29 10:31 JST" in english
    assert text.splitlines()[-1] == f"管理用 ID / ID for the administrator: {QID}"


def test_a_damaged_pdf_is_asked_for_again_as_a_pdf_or_in_another_format() -> None:
    text = held_text(QID, _meta("malformed", "pdf", "broken.pdf"), "", kept=True)
    assert "ＰＤＦなど" not in text and "such as PDF" not in text
    english = text.split(SEPARATOR)[1].splitlines()
    assert "Ask the sender to make the PDF again (save or export it anew) and send it again, or to send it in another format." in english


def test_a_disguised_program_says_what_its_name_claims_and_what_it_is() -> None:
    text = held_text(QID, _meta("extension-mismatch", "executable", "invoice.pdf"), "", kept=True)
    assert "ファイル「invoice.pdf」は、名前はＰＤＦのようですが、中身は実行ファイル（プログラム）でした。" in text
    assert "同じファイルを別の方法で受け取っていても、開かないでください。" in text
    assert 'The file "invoice.pdf" is named like a PDF, but it is an executable program.' in text


def test_a_document_under_another_documents_name_is_not_called_dangerous() -> None:
    text = held_text(QID, _meta("extension-mismatch", "docx", "report.pdf"), "", kept=True)
    assert "名前はＰＤＦのようですが、中身はワードの文書でした。" in text
    assert "危険と決まったわけではありません" in text and "ウイルス" not in text


def test_every_reason_code_has_its_own_words() -> None:
    """A new reason code must get a kind and (if it cannot be checked) its own fixed detail,
    never the generic fallback by accident."""
    reasons = SANITIZE_REASONS | {CannotProcess.reason, "internal-error"}
    unchecked = {r for r in reasons if kind_of(r, "pdf") == "unchecked"}
    assert unchecked == set(UNCHECKED_DETAIL)


def test_every_type_has_a_japanese_name_without_latin_words() -> None:
    for file_type in FileType:
        words = type_words(file_type.value)
        assert words != UNNAMED_TYPE, file_type
        assert _latin_words(words[0]) == [], words


def test_the_contact_splits_into_its_japanese_and_english_halves() -> None:
    assert contact_halves(CONTACT) == ("総務課 情報係（内線 2107）", "General Affairs, ext. 2107")
    assert contact_halves("総務課（内線 2107）") == ("総務課（内線 2107）", "総務課（内線 2107）")
    # a slash inside a Japanese contact is not the English half
    assert contact_halves("総務課 / 情報係（内線 2107）")[0] == "総務課 / 情報係（内線 2107）"


def test_times_are_japan_time_whatever_the_server_says() -> None:
    late_evening_utc = datetime(2026, 11, 28, 20, 5, tzinfo=UTC).timestamp()
    text = held_text(QID, _meta("malformed", "pdf", "a.pdf", quarantined_at=late_evening_utc), "", kept=True)
    assert "受付日時: 2026年11月29日 05:05" in text and "Received: 2026-11-29 05:05 JST" in text


def test_no_retention_sentence_when_no_original_is_kept() -> None:
    text = held_text(QID, _meta("not-a-regular-file", None, "link.pdf"), "", kept=False)
    assert "原本は" not in text and "The original is kept" not in text


# ---------------------------------------------------------------- through the pipeline
SEVEN_DAYS = """\
name: town
notice:
  contact: 総務課 情報係（内線 2107） / General Affairs, ext. 2107
quarantine:
  retention: 7
"""


@pytest.fixture
def town(places: Places, sandbox_pool: SandboxPool) -> Iterator[Pipeline]:
    pipe = Pipeline(parse_policy(SEVEN_DAYS, "town.yaml"), places, sandbox_pool)
    pipe.start()
    yield pipe
    pipe.close()


def _notice(outbox: Path, name: str) -> str:
    data = (outbox / name).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    return data.decode("utf-8-sig").replace("\r\n", "\n")


def test_a_real_disguised_program_gets_the_policys_retention_and_contact(town: Pipeline, tmp_path: Path) -> None:
    program = tmp_path / "invoice.pdf"
    program.write_bytes(Path("/bin/true").read_bytes())
    verdict = town.process(program, "invoice.pdf")
    assert verdict.reason == "extension-mismatch" and verdict.quarantine_id
    text = _notice(town.places.outbox, "invoice.pdf.quarantined.txt")
    assert text.splitlines()[0] == STOPPED
    assert "原本は7日間保管した後、削除されます。" in text and "kept for 7 days" in text
    assert "問い合わせ先: 総務課 情報係（内線 2107）" in text and "Contact: General Affairs, ext. 2107" in text
    assert (verdict.message or "") not in text  # the parser's words stay in meta.json and the audit log
    meta = json.loads((town.places.quarantine / verdict.id / "meta.json").read_text())
    assert meta["retention"] == 7 * 86400 and meta["notice_state"] == "held"


def _settings(places: Places, policy: Path | None = None) -> Settings:
    return Settings(
        inbox=places.outbox.parent / "in",
        outbox=places.outbox,
        spool=places.outbox.parent / "spool",
        quarantine=places.quarantine,
        audit=places.audit,
        policy=policy,
        workers=1,
    )


def _admin(places: Places, pool: SandboxPool, policy: Policy) -> Admin:
    @contextmanager
    def opened() -> Iterator[Pipeline]:
        pipe = Pipeline(policy, places, pool)
        pipe.start()
        try:
            yield pipe
        finally:
            pipe.close()

    return Admin(_settings(places), "yamada", opened)


def _ppap() -> bytes:
    data = io.BytesIO()
    with pyzipper.AESZipFile(data, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(b"Kuma-2024")
        archive.writestr("見積.txt", "お見積り 1,200,000円\n")
    return data.getvalue()


def _outbox_files(outbox: Path) -> list[str]:
    return sorted(p.relative_to(outbox).as_posix() for p in outbox.rglob("*") if p.is_file())


def test_ppap_waits_then_a_wrong_password_then_the_released_notice(
    pipeline: Pipeline, default_policy: Policy, sandbox_pool: SandboxPool, tmp_path: Path
) -> None:
    source = tmp_path / "見積.zip"
    source.write_bytes(_ppap())
    verdict = pipeline.process(source, "keiri/見積.zip")
    assert verdict.reason == "encrypted"
    outbox = pipeline.places.outbox
    held = _notice(outbox, "keiri/見積.zip.quarantined.txt")
    assert held.splitlines()[0] == HELD_PASSWORD and "無害化できなかった" not in held
    admin = _admin(pipeline.places, sandbox_pool, default_policy)

    wrong = admin.unlock(admin.entry(verdict.id), "nope")
    assert wrong.reason == "wrong-password"
    # rewritten in place: the same name, the new words, no second notice
    assert _outbox_files(outbox) == ["keiri/見積.zip.quarantined.txt"]
    again = _notice(outbox, "keiri/見積.zip.quarantined.txt")
    assert again.splitlines()[0] == "【パスワードが違っていたため、引き続きお預かりしています】"

    right = admin.unlock(admin.entry(verdict.id), "Kuma-2024")
    assert right.verdict == Outcome.RELEASED
    assert _outbox_files(outbox) == ["keiri/見積.zip", "keiri/見積.zip.released.txt"]
    released = _notice(outbox, "keiri/見積.zip.released.txt")
    meta = json.loads((pipeline.places.quarantine / verdict.id / "meta.json").read_text())
    when = datetime.fromtimestamp(meta["released_at"], JST)
    assert released.splitlines()[0] == "【お預かりしていたファイルを届けました】"
    assert released.splitlines()[2] == (
        f"受付番号 {reception_number(verdict.id)} のファイルは、"
        f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}に『見積.zip』として届けました。"
    )
    assert "パスワードで開いて安全を確認し、作り直したものです。" in released
    assert f"{when:%Y-%m-%d %H:%M} JST" in released
    assert released.splitlines()[-1] == f"管理用 ID / ID for the administrator: {verdict.id}"
    assert (meta["notice"], meta["notice_state"]) == ("keiri/見積.zip.released.txt", "released")
    replaced = [r for r in records(pipeline.places.audit) if r["event"] == "notice-replaced"]
    assert [r["notice"] for r in replaced] == ["keiri/見積.zip.quarantined.txt", "keiri/見積.zip.released.txt"]


BLOCK_PNG = "name: no-pictures\ntypes:\n  png: block\n"


def test_a_rerun_under_another_policy_replaces_the_notice(
    places: Places, default_policy: Policy, sandbox_pool: SandboxPool, tmp_path: Path
) -> None:
    blocking = Pipeline(parse_policy(BLOCK_PNG, "no-pictures.yaml"), places, sandbox_pool)
    blocking.start()
    try:
        photo = tmp_path / "bear.png"
        photo.write_bytes(builders.simple("PNG"))
        verdict = blocking.process(photo, "bear.png")
    finally:
        blocking.close()
    assert verdict.reason == "blocked-type"
    assert _notice(places.outbox, "bear.png.quarantined.txt").splitlines()[0] == NOT_DELIVERED

    rerun = _admin(places, sandbox_pool, default_policy).rerun(verdict.id, None)
    assert rerun.verdict == Outcome.RELEASED
    assert _outbox_files(places.outbox) == ["bear.png", "bear.png.released.txt"]
    released = _notice(places.outbox, "bear.png.released.txt")
    assert "に『bear.png』として届けました。" in released and "安全な形に作り直したものです。" in released
    assert "パスワード" not in released


def test_the_original_handed_over_says_so_and_on_whose_decision(
    pipeline: Pipeline, default_policy: Policy, sandbox_pool: SandboxPool, tmp_path: Path
) -> None:
    script = tmp_path / "run.bat"
    script.write_bytes(b"@echo off\r\necho hello\r\n")
    verdict = pipeline.process(script, "run.bat")
    assert verdict.reason == "blocked-type"
    admin = _admin(pipeline.places, sandbox_pool, default_policy)
    admin.release_original(verdict.id, "the sender confirmed by phone", allow_program=True)
    outbox = pipeline.places.outbox
    assert _outbox_files(outbox) == ["run.bat", "run.bat.released.txt"]
    text = _notice(outbox, "run.bat.released.txt")
    assert text.splitlines()[0] == "【お預かりしていたファイルを原本のまま届けました】"
    assert "に原本のまま『run.bat』として届けました。" in text
    assert "無害化はしていません。管理者（yamada）の判断で届けたものです。" in text
    assert "administrator (yamada)" in text


def test_an_original_approved_on_the_console_names_the_requester_and_the_approver(
    pipeline: Pipeline, default_policy: Policy, sandbox_pool: SandboxPool, tmp_path: Path
) -> None:
    script = tmp_path / "run.bat"
    script.write_bytes(b"@echo off\r\necho hello\r\n")
    verdict = pipeline.process(script, "run.bat")
    admin = _admin(pipeline.places, sandbox_pool, default_policy)  # as the console makes it: the approver's
    extra = {"requested_by": "tanaka", "approved_by": "suzuki", "via": "console"}
    admin.release_original(verdict.id, "監査で必要", allow_program=True, extra=extra)
    text = _notice(pipeline.places.outbox, "run.bat.released.txt")
    assert "無害化はしていません。tanaka さんの申請を承認者 suzuki さんが承認して届けたものです。" in text
    assert "It was not made safe: it was handed over because the approver suzuki approved the request of tanaka." in text
    assert "管理者" not in text and "administrator (" not in text
    meta = QuarantineStore(pipeline.places.quarantine).get(verdict.id).meta
    assert (meta["requested_by"], meta["approved_by"]) == ("tanaka", "suzuki")
    (record,) = [r for r in records(pipeline.places.audit) if r["event"] == "released-original"]
    assert (record["requested_by"], record["approved_by"]) == ("tanaka", "suzuki")


def test_recovery_finds_a_published_notice_of_either_kind(pipeline: Pipeline, tmp_path: Path) -> None:
    """The process died after a notice was published but before meta.json recorded it: the
    next look finds it by the ID on its last line and writes no second one."""
    program = tmp_path / "tool.exe"
    program.write_bytes(Path("/bin/true").read_bytes())
    verdict = pipeline.process(program, "tool.exe")
    store, outbox = QuarantineStore(pipeline.places.quarantine), pipeline.places.outbox
    store.update(verdict.id, notice=None, notice_state=None)  # the crash: published, not recorded
    assert store.notify(verdict.id, outbox) == PurePosixPath("tool.exe.quarantined.txt")
    assert _outbox_files(outbox) == ["tool.exe.quarantined.txt"]

    # released since; the released notice was published, then the process died before
    # recording it and before removing the held one
    store.update(verdict.id, status="released", released_as=str(outbox / "tool.exe"), released_at=AT)
    first = store.notify(verdict.id, outbox)
    assert first == PurePosixPath("tool.exe.released.txt")
    (outbox / "tool.exe.quarantined.txt").write_text(f"…\n管理用 ID / ID for the administrator: {verdict.id}\n")
    store.update(verdict.id, notice="tool.exe.quarantined.txt", notice_state="held")
    assert store.notify(verdict.id, outbox) == first
    assert _outbox_files(outbox) == ["tool.exe.released.txt"]
    assert not list(outbox.glob(".cdr-*"))


def test_a_notice_of_another_entry_under_the_same_name_is_left_alone(pipeline: Pipeline, tmp_path: Path) -> None:
    program = tmp_path / "tool.exe"
    program.write_bytes(Path("/bin/true").read_bytes())
    first, second = pipeline.process(program, "tool.exe"), pipeline.process(program, "tool.exe")
    outbox = pipeline.places.outbox
    assert _outbox_files(outbox) == ["tool.exe.quarantined (2).txt", "tool.exe.quarantined.txt"]
    store = QuarantineStore(pipeline.places.quarantine)
    store.update(second.id, status="released", released_as=str(outbox / "tool.exe"), released_at=AT)
    assert store.notify(second.id, outbox) == PurePosixPath("tool.exe.released.txt")
    assert _outbox_files(outbox) == ["tool.exe.quarantined.txt", "tool.exe.released.txt"]
    assert first.id in (outbox / "tool.exe.quarantined.txt").read_text(encoding="utf-8-sig")


def test_purge_by_default_keeps_what_the_policy_and_the_notices_say(tmp_path: Path) -> None:
    policy = tmp_path / "town.yaml"
    policy.write_text(SEVEN_DAYS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANG", "LC_"))} | {"LANG": "C"}
    folders = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    run = subprocess.run(
        [sys.executable, "cli.py", "quarantine", "purge", "--policy", policy, *folders],
        capture_output=True, text=True, cwd=Path(__file__).parent.parent, env=env, timeout=60,
    )  # fmt: skip
    assert (run.returncode, run.stdout) == (0, "purged 0 entries older than 7 days\n"), run.stderr


def test_without_tzdata_japan_time_is_a_fixed_nine_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    from zoneinfo import ZoneInfoNotFoundError

    import cdr.notices

    def missing(key: str) -> None:
        raise ZoneInfoNotFoundError(key)

    monkeypatch.setattr(cdr.notices, "ZoneInfo", missing)
    monkeypatch.setattr(cdr.notices, "JST", cdr.notices._japan())
    assert cdr.notices.JST.utcoffset(None).total_seconds() == 9 * 3600
    assert cdr.notices.when_ja(AT) == "2026年11月29日 10:31" and cdr.notices.when_en(AT) == "2026-11-29 10:31 JST"


def test_every_type_and_category_has_words_for_staff() -> None:
    """A type added to the catalogue is named in the notice by its own words or its
    category's, never by its code (a clerk does not know what 'lzh' or 'cab' is)."""
    from cdr.model import Category, FileType
    from cdr.notices import CATEGORY_WORDS, type_words

    assert set(Category) <= set(CATEGORY_WORDS)
    for file_type in FileType:
        japanese, english = type_words(file_type.value)
        assert japanese and japanese != file_type.value and not japanese.isascii(), file_type
        assert english, file_type
