"""The console's workflow on real held files: a batch run of the real pipeline over an
inbox with two departments holds encrypted ZIPs (PPAP) and an executable named .pdf; then
requests for originals are asked, decided, refused and expired, and a PPAP is unlocked,
through cdr.console.workflow against a real SQLite file and the real audit log, which
`cdr audit verify` checks after each story.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from cdr.config import Settings
from cdr.console import Refused
from cdr.console import workflow as wf
from cdr.console.db import ConsoleDB, LockedOut, User, open_db
from cdr.model import Outcome
from tests.console_seed import ppap, seeded_appliance
from tests.test_cli import cdr

PASSWORD = "Kuma-2024-ppap-secret"  # the PPAP's password, mailed separately
WRONG = "Tsuki-wrong-guess-77"
NOW = 1_800_000_000.0
HOUR = 3600.0
SOUMU_FILES = (
    "approve", "self", "selfadmin", "other", "staff", "expire", "reject", "twice",
    "unlock", "ratelimit", "rerun", "delete", "gone",
)  # fmt: skip


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str]]:
    """A batch run over soumu/ and kikaku/: every file held; the settings and name → ID."""
    dropped = {f"soumu/{name}.zip": ppap(PASSWORD, "熊の出没情報.txt", f"{name}: 山で熊を見ました\n".encode()) for name in SOUMU_FILES}
    dropped["kikaku/plan.zip"] = ppap(PASSWORD, "plan.txt", b"plan\n")
    dropped["soumu/報告.pdf"] = Path("/bin/true").read_bytes()  # an executable named .pdf
    settings, lines = seeded_appliance(tmp_path_factory.mktemp("appliance"), dropped)
    assert {line["verdict"] for line in lines} == {"quarantined"} and len(lines) == len(dropped), lines
    return settings, {Path(line["input"]).stem: line["quarantine_id"] for line in lines}


@pytest.fixture(scope="module")
def db(appliance: tuple[Settings, dict[str, str]]) -> ConsoleDB:
    settings, _held = appliance
    console = open_db(settings)
    for name, role, departments in (
        ("tanaka", "staff", ["soumu"]),
        ("sato", "approver", ["soumu"]),
        ("suzuki", "approver", ["soumu", "jinji"]),
        ("kato", "approver", ["kikaku"]),
        ("yamada", "staff", ["kikaku"]),
        ("root", "admin", []),
        ("boss", "admin", []),
    ):
        console.add_user(name, role, departments, f"{name}-password-long")
    return console


def who(db: ConsoleDB, name: str) -> User:
    user = db.user(name)
    assert user is not None
    return user


def records(settings: Settings, event: str) -> list[dict]:
    lines = settings.audit.read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r["event"] == event]


def verified(settings: Settings) -> None:
    run = cdr("audit", "verify", "--audit", settings.audit)
    assert run.returncode == 0, run.stdout + run.stderr


def released_copies(settings: Settings, original: bytes) -> list[Path]:
    return [p for p in settings.outbox.rglob("*") if p.is_file() and p.read_bytes() == original]


def test_approval_releases_the_original_with_both_names_and_texts(appliance, db) -> None:
    settings, held = appliance
    qid = held["approve"]
    entry = wf.entry_for(settings, who(db, "tanaka"), qid)
    original = entry.original.read_bytes()
    asked = wf.request_original(db, settings, who(db, "tanaka"), qid, "監査で原本の提出を求められたため", NOW)
    assert (asked.status, asked.department, asked.requester) == ("pending", "soumu", "tanaka")
    assert asked.expires == NOW + 72 * HOUR  # the policy's approval.expires
    assert [r.id for r in wf.pending(db, who(db, "sato"), NOW + 1)] == [asked.id]  # approver of soumu
    assert asked.id not in [r.id for r in wf.pending(db, who(db, "kato"), NOW + 1)]  # approver of kikaku

    decided = wf.decide(db, settings, who(db, "sato"), asked.id, True, "確認しました。提出してください", NOW + 60)

    assert (decided.status, decided.decided_by, decided.comment) == ("released", "sato", "確認しました。提出してください")
    assert [p.relative_to(settings.outbox).as_posix() for p in released_copies(settings, original)] == ["soumu/approve.zip"]
    meta = json.loads((settings.quarantine / qid / "meta.json").read_text())
    assert (meta["status"], meta["released_by"]) == ("released-original", "sato")
    for event in ("releasing-original", "released-original"):
        (record,) = [r for r in records(settings, event) if r["quarantine_id"] == qid]
        assert record["requested_by"] == "tanaka"
        assert record["request_reason"] == "監査で原本の提出を求められたため"
        assert record["approved_by"] == "sato" and record["admin"] == "sato"
        assert record["approval_comment"] == "確認しました。提出してください"
        assert record["via"] == "console" and record["type"] == "zip"
    (requested,) = [r for r in records(settings, "original-requested") if r["quarantine_id"] == qid]
    assert (requested["user"], requested["reason"], requested["input"]) == ("tanaka", asked.reason, "soumu/approve.zip")
    (approved,) = [r for r in records(settings, "original-approved") if r["quarantine_id"] == qid]
    assert (approved["user"], approved["requested_by"], approved["comment"]) == ("sato", "tanaka", decided.comment)
    verified(settings)


@pytest.mark.parametrize(("asker", "file"), [("sato", "self"), ("root", "selfadmin")])
def test_nobody_approves_their_own_request(appliance, db, asker: str, file: str) -> None:
    """An approver, and an administrator (who may decide any department's request), still
    cannot decide their own; another person can."""
    settings, held = appliance
    asked = wf.request_original(db, settings, who(db, asker), held[file], "私が原本を必要とするため", NOW)
    with pytest.raises(Refused) as refused:
        wf.decide(db, settings, who(db, asker), asked.id, True, "自分で承認", NOW + 1)
    assert refused.value.ja == "自分の申請は承認も却下もできません。別の承認者が判断します。"
    assert refused.value.en == "You cannot decide your own request: another approver does."
    assert db.request(asked.id).status == "pending"
    assert not [r for r in records(settings, "releasing-original") if r["quarantine_id"] == held[file]]
    other = "boss" if asker == "root" else "suzuki"
    assert wf.decide(db, settings, who(db, other), asked.id, True, "確認済み", NOW + 2).status == "released"


def test_another_departments_approver_and_staff_are_refused(appliance, db) -> None:
    settings, held = appliance
    asked = wf.request_original(db, settings, who(db, "tanaka"), held["other"], "取引先への再送のため", NOW)
    with pytest.raises(Refused, match="あなたの部署のファイルについてのものではありません"):
        wf.decide(db, settings, who(db, "kato"), asked.id, True, "", NOW + 1)
    with pytest.raises(Refused, match="受付番号 .* のファイルは見つからないか、あなたの部署のものではありません"):
        wf.request_original(db, settings, who(db, "yamada"), held["other"], "見たい", NOW)
    with pytest.raises(Refused) as unknown:
        wf.request_original(db, settings, who(db, "yamada"), "01M8JRF66ZP9EE6T2590T4RZZZ", "見たい", NOW)
    assert "見つからないか" in unknown.value.ja  # the same words: a number tells nothing
    entry = wf.entry_for(settings, who(db, "tanaka"), held["other"])
    assert wf.department(entry) == "soumu"
    assert (wf.visible(who(db, "yamada"), entry), wf.visible(who(db, "root"), entry)) == (False, True)
    assert db.request(asked.id).status == "pending"


def test_staff_cannot_decide(appliance, db) -> None:
    settings, held = appliance
    asked = wf.request_original(db, settings, who(db, "sato"), held["staff"], "課長として確認するため", NOW)
    with pytest.raises(Refused) as refused:
        wf.decide(db, settings, who(db, "tanaka"), asked.id, True, "いいですよ", NOW + 1)
    assert refused.value.ja == "職員は申請を承認・却下できません。"
    assert db.request(asked.id).status == "pending"
    assert asked.id not in [r.id for r in wf.pending(db, who(db, "tanaka"), NOW + 2)]  # staff: their own only
    assert asked.id in [r.id for r in wf.pending(db, who(db, "sato"), NOW + 2)]


def test_a_request_expires_after_the_policy_time(appliance, db) -> None:
    settings, held = appliance
    asked = wf.request_original(db, settings, who(db, "tanaka"), held["expire"], "至急", NOW)
    assert asked.id in [r.id for r in wf.pending(db, who(db, "tanaka"), NOW + 71 * HOUR)]
    assert asked.id not in [r.id for r in wf.pending(db, who(db, "sato"), NOW + 72 * HOUR + 1)]
    assert db.request(asked.id).status == "expired"
    (lapsed,) = [r for r in records(settings, "original-request-expired") if r["request_id"] == asked.id]
    assert (lapsed["requested_by"], lapsed["quarantine_id"]) == ("tanaka", held["expire"])
    with pytest.raises(Refused, match="既に処理されています（期限切れ）"):
        wf.decide(db, settings, who(db, "sato"), asked.id, True, "遅れました", NOW + 73 * HOUR)
    again = wf.request_original(db, settings, who(db, "tanaka"), held["expire"], "もう一度", NOW + 74 * HOUR)
    assert again.status == "pending"  # the lapsed one no longer blocks a new one
    verified(settings)


def test_rejection_leaves_the_file_held(appliance, db) -> None:
    settings, held = appliance
    qid = held["reject"]
    asked = wf.request_original(db, settings, who(db, "tanaka"), qid, "念のため", NOW)
    with pytest.raises(Refused, match="却下の理由をコメントに書いてください"):
        wf.decide(db, settings, who(db, "sato"), asked.id, False, "  ", NOW + 1)
    decided = wf.decide(db, settings, who(db, "sato"), asked.id, False, "無害化済みの版で足ります", NOW + 2)
    assert (decided.status, decided.comment) == ("rejected", "無害化済みの版で足ります")
    meta = json.loads((settings.quarantine / qid / "meta.json").read_text())
    assert meta["status"] == "quarantined"
    assert released_copies(settings, wf.entry_for(settings, who(db, "root"), qid).original.read_bytes()) == []
    (rejected,) = [r for r in records(settings, "original-rejected") if r["quarantine_id"] == qid]
    assert (rejected["user"], rejected["requested_by"], rejected["comment"]) == ("sato", "tanaka", decided.comment)


def test_one_pending_request_per_file_and_a_reason_is_required(appliance, db) -> None:
    settings, held = appliance
    with pytest.raises(Refused, match="申請の理由を書いてください"):
        wf.request_original(db, settings, who(db, "tanaka"), held["twice"], " ", NOW)
    wf.request_original(db, settings, who(db, "tanaka"), held["twice"], "一回目", NOW)
    with pytest.raises(Refused, match="まだ決まっていない取り出し申請が既にあります"):
        wf.request_original(db, settings, who(db, "sato"), held["twice"], "二回目", NOW + 1)


def test_a_program_is_not_handed_over_by_the_console(appliance, db) -> None:
    """An executable named .pdf: not asked for, and not released even when a request exists."""
    settings, held = appliance
    qid = held["報告"]
    with pytest.raises(Refused) as refused:
        wf.request_original(db, settings, who(db, "tanaka"), qid, "開きたい", NOW)
    assert refused.value.ja == (
        "このファイルは中身が実行ファイル（プログラム）で、開くと動く種類（プログラムとして動くもの）のため、"
        "画面からは取り出せません。システム管理者に相談してください。"
    )
    assert refused.value.en == (
        "This file is an executable program, something that runs when opened: it cannot be handed over"
        " from the console. Ask the administrator."
    )
    smuggled = db.add_request(qid, "soumu", "tanaka", "開きたい", NOW, NOW + HOUR)  # as if asked before
    with pytest.raises(Refused, match="画面からは取り出せません"):
        wf.decide(db, settings, who(db, "root"), smuggled.id, True, "承認", NOW + 1)
    assert db.request(smuggled.id).status == "pending"
    assert released_copies(settings, Path("/bin/true").read_bytes()) == []


def test_a_deleted_file_cannot_be_approved(appliance, db) -> None:
    settings, held = appliance
    asked = wf.request_original(db, settings, who(db, "tanaka"), held["gone"], "必要", NOW)
    wf.delete(settings, who(db, "root"), held["gone"])
    with pytest.raises(Refused, match="既に隔離から削除されています"):
        wf.decide(db, settings, who(db, "sato"), asked.id, True, "承認", NOW + 1)


def test_unlock_wrong_then_right_and_the_password_is_nowhere(appliance, db, caplog) -> None:
    settings, held = appliance
    caplog.set_level(logging.DEBUG)
    qid = held["unlock"]
    wrong = wf.unlock(db, settings, who(db, "tanaka"), qid, WRONG, NOW)
    assert (wrong.verdict, wrong.reason) == (Outcome.QUARANTINED, "wrong-password")
    right = wf.unlock(db, settings, who(db, "tanaka"), qid, PASSWORD, NOW + 10)
    assert right.verdict == Outcome.RELEASED, right
    assert (settings.outbox / "soumu" / "unlock.zip").exists()
    unlocks = [r for r in records(settings, "unlock") if r["quarantine_id"] == qid]
    assert [(r["admin"], r["via"]) for r in unlocks] == [("tanaka", "console")] * 2
    with pytest.raises(Refused, match="パスワードで開くものではありません"):  # released now
        wf.unlock(db, settings, who(db, "tanaka"), qid, PASSWORD, NOW + 20)
    stored = [p for p in settings.console_db.parent.glob("console.db*")]
    files = [*stored, *settings.audit.parent.rglob("*"), *settings.quarantine.rglob("*.json")]
    for secret in (PASSWORD, WRONG):
        for path in files:
            if path.is_file():
                assert secret.encode() not in path.read_bytes(), path
        assert secret not in caplog.text
    verified(settings)


def test_wrong_passwords_are_rate_limited_per_person_and_file(appliance, db) -> None:
    settings, held = appliance
    qid = held["ratelimit"]
    for n in range(wf.UNLOCK_TRIES):
        assert wf.unlock(db, settings, who(db, "tanaka"), qid, f"{WRONG}{n}", NOW + n).reason == "wrong-password"
    with pytest.raises(Refused) as refused:
        wf.unlock(db, settings, who(db, "tanaka"), qid, PASSWORD, NOW + 60)
    assert refused.value.ja == "パスワードを 5 回間違えました。14 分後にもう一度お試しください。"  # the first of them, 1 minute ago
    assert WRONG not in str(refused.value) and PASSWORD not in str(refused.value)
    # another person is not held back by tanaka's guesses; tanaka is, until the window passes
    assert wf.unlock(db, settings, who(db, "sato"), qid, f"{WRONG}x", NOW + 61).reason == "wrong-password"
    assert wf.unlock(db, settings, who(db, "tanaka"), qid, PASSWORD, NOW + 15 * 60 + 1).verdict == Outcome.RELEASED


def test_rerun_and_delete_are_for_administrators(appliance, db) -> None:
    settings, held = appliance
    for action in (lambda u: wf.rerun(settings, u, held["rerun"], "strict"), lambda u: wf.delete(settings, u, held["delete"])):
        with pytest.raises(Refused, match="システム管理者だけができます"):
            action(who(db, "sato"))
    assert set(wf.policies(settings)) == {"default", "strict"}
    with pytest.raises(Refused, match="ポリシー ../etc/passwd はありません"):
        wf.rerun(settings, who(db, "root"), held["rerun"], "../etc/passwd")
    verdict = wf.rerun(settings, who(db, "root"), held["rerun"], "strict")
    assert (verdict.verdict, verdict.reason) == (Outcome.QUARANTINED, "blocked-type")  # strict takes no ZIP
    gone = wf.delete(settings, who(db, "root"), held["delete"])
    assert not (settings.quarantine / gone.id).exists()
    (deleted,) = [r for r in records(settings, "quarantine-deleted") if r["quarantine_id"] == gone.id]
    assert (deleted["admin"], deleted["via"]) == ("root", "console")
    (rerun,) = [r for r in records(settings, "quarantine-rerun") if r["quarantine_id"] == held["rerun"]]
    assert (rerun["admin"], rerun["via"], Path(rerun["policy_file"]).name) == ("root", "console", "strict.yaml")
    verified(settings)


def test_logins_are_audited_without_an_unknown_name(appliance, db) -> None:
    """A failed login of a name with no account does not write the name: people type their
    password into the name box."""
    settings, _held = appliance
    assert wf.login(db, settings, "tanaka", "tanaka-password-long", "192.0.2.10", NOW) == who(db, "tanaka")
    assert wf.login(db, settings, "Secret-typed-as-name-1", "x", "192.0.2.10", NOW + 1) is None
    assert wf.login(db, settings, "sato", "not-the-password", "192.0.2.10", NOW + 2) is None
    login, = [r for r in records(settings, "console-login") if r["user"] == "tanaka"]
    assert (login["client"], login["via"]) == ("192.0.2.10", "console")
    failed = records(settings, "console-login-failed")
    assert [r.get("user") for r in failed][-2:] == [None, "sato"]
    assert "Secret-typed-as-name-1" not in settings.audit.read_text(encoding="utf-8")
    assert os.stat(settings.console_db).st_mode & 0o777 == 0o600


def test_a_lockout_is_audited_once_not_at_every_try(appliance, db) -> None:
    settings, _held = appliance
    for n in range(4):
        assert wf.login(db, settings, "kato", f"guess-{n}", "192.0.2.20", NOW + n) is None
    # the fifth wrong password locks; the tries after it, the right password too, are refused unheard
    for n, password in enumerate(("guess-4", "kato-password-long", "guess-5")):
        with pytest.raises(LockedOut):
            wf.login(db, settings, "kato", password, "192.0.2.20", NOW + 10 + n)
    (locked,) = [r for r in records(settings, "console-locked-out") if r["user"] == "kato"]
    assert (locked["locked"], locked["client"], locked["until"]) == ("account", "192.0.2.20", "2027-01-15T17:15:10+09:00")
    assert len([r for r in records(settings, "console-login-failed") if r.get("user") == "kato"]) == 4
