"""What people may do with a held file from the console, and who may do it.

Every action calls ``cdr.admin.Admin`` as the CLI does (no second copy of a release or an
unlock) and writes its audit record with the user's name and ``via: "console"``. Every
refusal — a role, a department, a state — is a ``Refused`` with a Japanese and an English
text a page can show. The server decides all of it: a page hiding a button is no check.

The second person (DESIGN invariant 10): an original leaves through the console only when
one person asked for it with a reason and another — an approver of the file's department,
or an administrator — approved it. Nobody approves their own request, whatever their role.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from cdr.admin import Admin, headed_outbox, is_program, open_pipeline
from cdr.audit import AuditLog
from cdr.config import Settings
from cdr.console import Refused
from cdr.console.db import ConsoleDB, LockedOut, Request, User
from cdr.daemon.counters import JAPAN
from cdr.errors import CdrError
from cdr.model import Verdict
from cdr.names import display, reception_number
from cdr.notices import type_words
from cdr.policy import load_policy
from cdr.quarantine import Entry, QuarantineStore
from cdr.report import department_and_name

__all__ = ["Refused", "department", "visible", "request_original", "decide", "pending", "unlock", "rerun", "delete"]

log = logging.getLogger("cdr.console")
VIA = "console"
# Wrong passwords one person may try on one entry in a window, then wait.
UNLOCK_TRIES = 5
UNLOCK_WINDOW = 15 * 60.0
UNLOCKABLE = ("encrypted", "wrong-password")  # what a password can open
HELD = ("quarantined", None)  # an entry's status while it is held
MAX_TEXT = 2000  # characters of a reason or a comment (they go into every audit record)


# ------------------------------------------------------------ who sees what
def department(entry: Entry) -> str:
    """The entry's department: the first folder under the inbox, as the monthly report
    says it (``cdr.report.department_and_name``)."""
    return department_and_name(str(entry.meta.get("input") or ""))[0]


def visible(user: User, entry: Entry) -> bool:
    """Staff and approvers see their departments' files; an administrator sees all."""
    if user.disabled:
        return False
    return user.role == "admin" or department(entry) in user.departments


def entry_for(settings: Settings, user: User, qid: str) -> Entry:
    """The entry, if this person may see it. One refusal for "no such entry" and "not
    yours", so that a number tried tells nothing about another department's files."""
    try:
        entry = QuarantineStore(settings.quarantine).get(qid)
    except CdrError:
        entry = None
    if entry is None or not visible(user, entry):
        shown = display(qid)[:40]
        raise Refused(
            f"受付番号 {shown} のファイルは見つからないか、あなたの部署のものではありません。",
            f"No file {shown} is held, or it is not one of your department's.",
        )
    return entry


# ------------------------------------------------------------ 原本取り出し申請
def request_original(db: ConsoleDB, settings: Settings, user: User, qid: str, reason: str, now: float) -> Request:
    """Ask for the original of a held file, with a reason; an approver decides."""
    entry = entry_for(settings, user, qid)
    reason = _text(reason)
    if not reason:
        raise Refused(
            "申請の理由を書いてください（監査ログに残ります）。",
            "Write the reason for the request (it is kept in the audit log).",
        )
    _still_held(entry)
    _not_a_program(entry)
    expire(db, settings, now)  # a lapsed request no longer blocks a new one
    expires = now + load_policy(settings.policy).approval.expires
    request = db.add_request(entry.id, department(entry), user.name, reason, now, expires)
    _audit(settings, "original-requested", user, entry, request_id=request.id, reason=reason, expires=_iso(expires))
    return request


def decide(
    db: ConsoleDB, settings: Settings, approver: User, request_id: int, approve: bool, comment: str, now: float
) -> Request:
    """Approve (the original goes to the outbox) or reject a pending request."""
    expire(db, settings, now)
    request = db.request(request_id)
    if request is None:
        raise Refused(f"申請 {request_id} はありません。", f"There is no request {request_id}.")
    _may_decide(approver, request)
    if request.status != "pending":
        raise Refused(
            f"この申請は既に処理されています（{_STATUS_JA.get(request.status, request.status)}）。",
            f"This request is no longer pending ({request.status}).",
        )
    comment = _text(comment)
    if not approve and not comment:
        raise Refused("却下の理由をコメントに書いてください。", "Write the reason for the rejection as a comment.")
    entry = _entry_of(db, settings, request)
    if approve:
        _still_held(entry)
        _not_a_program(entry)
    if not db.decide_request(request.id, "approved" if approve else "rejected", approver.name, comment, now):
        raise Refused("この申請は既に処理されています。", "This request is no longer pending.")
    decided = {"request_id": request.id, "requested_by": request.requester, "request_reason": request.reason}
    if not approve:
        _audit(settings, "original-rejected", approver, entry, **decided, rejected_by=approver.name, comment=comment)
        return _reread(db, request.id)
    _audit(settings, "original-approved", approver, entry, **decided, approved_by=approver.name, comment=comment)
    extra = {**decided, "approved_by": approver.name, "approval_comment": comment}
    try:
        _admin(settings, approver, entry).release_original(entry.id, request.reason, allow_program=False, extra=extra)
    except (CdrError, OSError) as exc:  # the outbox full or gone: said, and the request says so
        db.finish_request(request.id, "failed")
        raise _refusal(exc) from None
    db.finish_request(request.id, "released")
    return _reread(db, request.id)


def pending(db: ConsoleDB, user: User, now: float, settings: Settings | None = None) -> list[Request]:
    """The pending requests this person may decide (an approver's departments, all for an
    administrator) — for staff, their own pending ones. Lapsed ones are expired first."""
    expire(db, settings or db.settings, now)
    if user.disabled:
        return []
    if user.role == "admin":
        return db.requests(status="pending")
    if user.role == "approver":
        return db.requests(status="pending", departments=user.departments)
    return db.requests(status="pending", requester=user.name)


def mine(db: ConsoleDB, user: User) -> list[Request]:
    """Everything this person asked for, newest first, whatever became of it."""
    return db.requests(requester=user.name)


def expire(db: ConsoleDB, settings: Settings | None, now: float) -> list[Request]:
    """Pending requests past the policy's ``approval.expires``, marked and audited."""
    lapsed = db.expire_requests(now)
    if settings is None:
        return lapsed
    store = QuarantineStore(settings.quarantine)
    for request in lapsed:
        entry = store.get(request.quarantine_id) if store.exists(request.quarantine_id) else None
        fields = {"request_id": request.id, "requested_by": request.requester, "request_reason": request.reason}
        _audit(settings, "original-request-expired", None, entry, quarantine_id=request.quarantine_id, **fields)
    return lapsed


# ------------------------------------------------------------ unlock, re-run, delete
def unlock(db: ConsoleDB, settings: Settings, user: User, qid: str, password: str, now: float) -> Verdict:
    """The entry decrypted with the password its recipient was sent, and sanitized, as
    ``cdr quarantine unlock`` does. The password is handed to the pipeline and nowhere
    else: not the database, not the audit log, not a message."""
    entry = entry_for(settings, user, qid)
    if entry.meta.get("status") not in HELD or entry.meta.get("reason") not in UNLOCKABLE:
        raise Refused(
            "このファイルはパスワードで開くものではありません。",
            "This file is not held for a password.",
        )
    if not password:
        raise Refused("パスワードを入力してください。", "Enter the password.")
    key = f"unlock:{user.name}:{entry.id}"
    # the try is counted (in one transaction with the count) before the pipeline runs:
    # tries sent at once cannot all pass a count that each would raise only afterwards.
    # A try that opens the file ends the tries anyway (it is no longer held for a password).
    if not db.allow(key, UNLOCK_TRIES, UNLOCK_WINDOW, now):
        minutes = max(1, int((db.wait(key, UNLOCK_TRIES, UNLOCK_WINDOW, now) + 59) // 60))
        raise Refused(
            f"パスワードを {UNLOCK_TRIES} 回間違えました。{minutes} 分後にもう一度お試しください。",
            f"{UNLOCK_TRIES} wrong passwords. Try again in {minutes} minutes.",
        )
    return _admin(settings, user, entry).unlock(entry, password)


def policies(settings: Settings) -> dict[str, Path]:
    """The policies an administrator may re-run with: the YAML files beside the configured
    one, by name (file name without .yaml). Only these: a form names no path."""
    configured = settings.policy
    if configured is None:
        return {}
    found = {path.stem: path for path in sorted(configured.parent.glob("*.yaml")) if path.is_file()}
    return {name: path for name, path in found.items() if name != "cdr"}  # the site config is no policy


def rerun(settings: Settings, user: User, qid: str, policy_name: str) -> Verdict:
    """The entry through the pipeline again under another policy (administrators only)."""
    _admin_only(user)
    entry = entry_for(settings, user, qid)
    path = policies(settings).get(policy_name)
    if path is None:
        raise Refused(
            f"ポリシー {display(policy_name)[:60]} はありません。",
            f"There is no policy {display(policy_name)[:60]}.",
        )
    try:
        return _admin(settings, user, entry, path).rerun(entry.id, path)
    except CdrError as exc:
        raise _refusal(exc) from None


def delete(settings: Settings, user: User, qid: str) -> Entry:
    """The entry and its original deleted for good (administrators only)."""
    _admin_only(user)
    entry = entry_for(settings, user, qid)
    return _admin(settings, user, entry).delete(entry.id)


# ------------------------------------------------------------ login and logout, audited
def login(db: ConsoleDB, settings: Settings, name: str, password: str, client: str, now: float) -> User | None:
    """The account, or None (wrong name or password, disabled); LockedOut when it may not
    try now. A name with no account is not written to the audit log: people type their
    password into the name box."""
    known = db.user(name) is not None
    who: dict[str, Any] = {"user": name} if known else {"unknown_account": True}
    try:
        user = db.login(name, password, client, now)
    except LockedOut as exc:
        # said once, when the lock starts: the tries while locked cost no hash, and a record
        # each would let anyone fill the audit log's disk from the login page
        if exc.started:
            locked = "client" if exc.client else "account-everywhere" if exc.everywhere else "account"
            _audit(settings, "console-locked-out", None, None, **who, client=client, until=_iso(exc.until), locked=locked)
        raise
    if user is None:
        _audit(settings, "console-login-failed", None, None, **who, client=client)
        return None
    _audit(settings, "console-login", user, None, client=client)
    return user


def logout(db: ConsoleDB, settings: Settings, token: str, user: User) -> None:
    db.end_session(token)
    _audit(settings, "console-logout", user, None)


# ------------------------------------------------------------ accounts, audited
# ``by`` is the console's administrator (a User, whose role is checked) or, from
# ``cdr users``, the login name of whoever runs it (the database file is theirs to open).
def add_user(
    db: ConsoleDB,
    settings: Settings,
    by: User | str,
    name: str,
    role: str,
    departments: tuple[str, ...] | list[str],
    password: str,
    lang: str = "ja",
    via: str = VIA,
) -> User:
    admin = _account_admin(by)
    user = db.add_user(name, role, departments, password, lang)
    fields = {"role": user.role, "departments": list(user.departments), "lang": user.lang}
    _audit(settings, "user-added", None, None, admin=admin, user=user.name, via=via, **fields)
    return user


def change_password(db: ConsoleDB, settings: Settings, by: User | str, name: str, password: str, via: str = VIA) -> None:
    admin = _account_admin(by)
    db.set_password(name, password)
    _audit(settings, "user-password-changed", None, None, admin=admin, user=name, via=via)


def disable_user(db: ConsoleDB, settings: Settings, by: User | str, name: str, via: str = VIA) -> None:
    admin = _account_admin(by)
    db.disable(name)
    _audit(settings, "user-disabled", None, None, admin=admin, user=name, via=via)


def enable_user(db: ConsoleDB, settings: Settings, by: User | str, name: str, via: str = VIA) -> None:
    admin = _account_admin(by)
    db.enable(name)
    _audit(settings, "user-enabled", None, None, admin=admin, user=name, via=via)


def _account_admin(by: User | str) -> str:
    if isinstance(by, str):
        return by
    _admin_only(by)
    return by.name


# ------------------------------------------------------------ helpers
_STATUS_JA = {
    "pending": "承認待ち",
    "approved": "承認済み",
    "rejected": "却下",
    "expired": "期限切れ",
    "released": "取り出し済み",
    "failed": "取り出し失敗",
}
# The type in the words of the staff notices: 「実行ファイル（プログラム）」, not "executable"
_PROGRAM_JA = (
    "このファイルは中身が{type}で、開くと動く種類（プログラムとして動くもの）のため、画面からは取り出せません。"
    "システム管理者に相談してください。"
)
_PROGRAM_EN = "This file is {type}, something that runs when opened: it cannot be handed over from the console. Ask the administrator."


def _may_decide(approver: User, request: Request) -> None:
    if approver.disabled or approver.role == "staff":
        raise Refused("職員は申請を承認・却下できません。", "Staff cannot approve or reject requests.")
    if approver.name == request.requester:
        raise Refused("自分の申請は承認も却下もできません。別の承認者が判断します。", "You cannot decide your own request: another approver does.")
    if approver.role != "admin" and request.department not in approver.departments:
        raise Refused(
            "この申請はあなたの部署のファイルについてのものではありません。",
            "This request is about a file of another department.",
        )


def _admin_only(user: User) -> None:
    if user.disabled or user.role != "admin":
        raise Refused("この操作はシステム管理者だけができます。", "Only an administrator can do this.")


def _still_held(entry: Entry) -> None:
    if entry.meta.get("status") not in HELD:
        raise Refused(
            "このファイルは既に隔離から取り出されています。",
            "This file is no longer held: it was already released.",
        )


def _not_a_program(entry: Entry) -> None:
    if is_program(entry):
        ja, en = type_words(entry.meta.get("type") or "unknown")
        raise Refused(_PROGRAM_JA.format(type=ja), _PROGRAM_EN.format(type=en))


def _entry_of(db: ConsoleDB, settings: Settings, request: Request) -> Entry:
    store = QuarantineStore(settings.quarantine)
    if not store.exists(request.quarantine_id):
        raise Refused("このファイルは既に隔離から削除されています。", "This file was deleted from the quarantine.")
    return store.get(request.quarantine_id)


def _reread(db: ConsoleDB, request_id: int) -> Request:
    request = db.request(request_id)
    assert request is not None  # requests are never deleted
    return request


def _admin(settings: Settings, user: User, entry: Entry, policy_path: Path | None = None) -> Admin:
    """Admin as the CLI makes it: released into the outbox the file was headed for, the
    pipeline under the configured policy (or the one named for a re-run)."""
    here = replace(settings, outbox=headed_outbox(entry) or settings.outbox)
    policy = load_policy(policy_path or settings.policy)
    return Admin(here, user.name, lambda: open_pipeline(here, policy), via=VIA)


def _refusal(exc: CdrError | OSError) -> Refused:
    """What a person reads when the appliance failed an action (the outbox full or gone, a
    sandbox that would not start): that it failed and who can help. The cause, which names
    the server's folders and is in English, goes to the log for the administrator."""
    if isinstance(exc, Refused):
        return exc
    log.warning("console action failed: %s: %s", type(exc).__name__, display(str(exc))[:500])
    return Refused(
        "装置の側の問題で、この操作を終えられませんでした。しばらくしてからもう一度試し、"
        "続くようなら管理者にお知らせください。",
        "The appliance could not finish this because of a problem on its side. Try again later; "
        "if it goes on, tell the administrator.",
    )


def _audit(settings: Settings, event: str, actor: User | None, entry: Entry | None, **fields: Any) -> None:
    """One audit record of a console action: who (``user``), on which entry, ``via``."""
    meta = entry.meta if entry else {}
    if entry is not None:
        fields.setdefault("quarantine_id", entry.id)
    if actor is not None:
        fields.setdefault("user", actor.name)
    fields.setdefault("via", VIA)
    audit = AuditLog(settings.audit)
    try:
        audit.append(event, meta.get("file_id"), meta.get("input"), meta.get("sha256"), **fields)
    finally:
        audit.close()


def _text(value: str | None) -> str:
    """A reason or comment as typed, trimmed and bounded (it is shown and audited)."""
    return (value or "").strip()[:MAX_TEXT]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, JAPAN).isoformat(timespec="seconds")


def number(request: Request) -> str:
    """The 受付番号 of the request's file, as staff read it."""
    return reception_number(request.quarantine_id)
