"""The held files: a list with filters and a name search, one entry's page (why it is held,
in the words of the staff notice; its audit records; what this person may do), and the
actions, each decided by ``cdr.console.workflow`` on the server.

Another department's entry answers 404 exactly like an entry that does not exist: a number
tried on the URL tells nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from cdr.admin import headed_outbox, is_program
from cdr.console import Refused, security, workflow
from cdr.console.app import db, settings, t
from cdr.console.words import explanation, reason_words, record_row
from cdr.daemon.counters import JAPAN
from cdr.errors import CdrError
from cdr.lifeline import life_records
from cdr.model import Outcome, Verdict
from cdr.names import display, id_as_typed, id_matches, reception_number, valid_id
from cdr.quarantine import META, Entry, QuarantineStore

bp = Blueprint("quarantine", __name__)
PAGE = 50
STATUSES = ("quarantined", "released", "released-original")


@dataclass(frozen=True)
class Filters:
    department: str
    reason: str
    status: str
    start: date | None
    end: date | None
    query: str

    @classmethod
    def from_args(cls) -> Filters:
        args = request.args
        return cls(
            args.get("department", ""),
            args.get("reason", ""),
            args.get("status", ""),
            _day(args.get("from", "")),
            _day(args.get("to", "")),
            args.get("q", "").strip()[:200],
        )

    def keep(self, entry: Entry) -> bool:
        meta = entry.meta
        if self.department and workflow.department(entry) != self.department:
            return False
        if self.reason and meta.get("reason") != self.reason:
            return False
        if self.status and (meta.get("status") or "quarantined") != self.status:
            return False
        day = datetime.fromtimestamp(float(meta.get("quarantined_at") or 0), JAPAN).date()
        if (self.start and day < self.start) or (self.end and day > self.end):
            return False
        return not self.query or _named(entry, self.query)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _named(entry: Entry, query: str) -> bool:
    """The name contains the words (any case, any width), or they are its 受付番号 or ID."""
    typed = id_as_typed(query)
    if typed and id_matches(entry.id, typed):
        return True
    return query.casefold() in display(str(entry.meta.get("input") or "")).casefold()


# meta.json of each entry as last read, by its folder, with the (mtime, size) it had then:
# a list of thousands of entries reads only what changed since (the store rewrites meta.json
# whole, by rename, so a new mtime or size is a new file)
_read: dict[str, tuple[tuple[int, int], Entry]] = {}


def all_entries(root: Path) -> list[Entry]:
    """Every entry of the store, as ``QuarantineStore.entries`` gives them, read again only
    when its meta.json changed."""
    found: list[Entry] = []
    try:
        folders = [f for f in os.scandir(root) if valid_id(f.name)]
    except FileNotFoundError:
        return found
    store = QuarantineStore(root)
    for folder in folders:
        try:
            info = os.stat(os.path.join(folder.path, META))
        except FileNotFoundError:
            continue  # being built, or deleted just now
        stamp = (info.st_mtime_ns, info.st_size)
        known = _read.get(folder.path)
        if known is None or known[0] != stamp:
            try:
                known = (stamp, store.get(folder.name))
            except CdrError:
                continue
            _read[folder.path] = known
        found.append(known[1])
    for gone in _read.keys() - {f.path for f in folders}:  # deleted or purged since
        del _read[gone]
    return found


def visible_entries() -> list[Entry]:
    """This person's entries, newest first."""
    found = [e for e in all_entries(settings().quarantine) if workflow.visible(g.user, e)]
    return sorted(found, key=lambda e: float(e.meta.get("quarantined_at") or 0), reverse=True)


@bp.get("/quarantine")
@security.requires()
def listing() -> str:
    filters = Filters.from_args()
    mine = visible_entries()
    chosen = [e for e in mine if filters.keep(e)]
    pages = max(1, -(-len(chosen) // PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    shown = chosen[(page - 1) * PAGE : page * PAGE]
    departments = sorted({workflow.department(e) for e in mine} | set(g.user.departments))
    reasons = sorted({str(e.meta.get("reason")) for e in mine if e.meta.get("reason")})
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template(
        "quarantine.html",
        entries=[_row(e) for e in shown],
        filters=filters,
        departments=departments,
        reasons=[(code, reason_words(g.lang, code)) for code in reasons],
        statuses=STATUSES,
        page=page,
        pages=pages,
        count=len(chosen),
        prev_url=url_for("quarantine.listing", **args, page=page - 1) if page > 1 else None,
        next_url=url_for("quarantine.listing", **args, page=page + 1) if page < pages else None,
    )


def _row(entry: Entry) -> dict[str, Any]:
    meta = entry.meta
    return {
        "id": entry.id,
        "number": reception_number(entry.id),
        "when": meta.get("quarantined_at"),
        "department": workflow.department(entry),
        "name": display(str(meta.get("input") or "")),
        "reason": meta.get("reason") or "",
        "reason_words": reason_words(g.lang, str(meta.get("reason") or ""), meta.get("type")),
        "type": meta.get("type") or "",
        "status": meta.get("status") or "quarantined",
    }


# ---------------------------------------------------------------- one entry
def entry_or_404(qid: str) -> Entry:
    """The entry if this person may see it; 404 for one of another department too."""
    if not valid_id(qid):
        abort(404)
    try:
        return workflow.entry_for(settings(), g.user, qid)
    except Refused:
        abort(404)


@bp.get("/quarantine/<qid>")
@security.requires()
def entry(qid: str) -> str:
    found = entry_or_404(qid)
    meta = found.meta
    held = meta.get("status") in workflow.HELD
    pending = db().requests(status="pending", quarantine_id=found.id)
    may_request = held and not pending and not is_program(found)
    return render_template(
        "entry.html",
        entry=found,
        meta=meta,
        row=_row(found),
        department=workflow.department(found),
        explanation=explanation(g.lang, found, may_request),
        life=[record_row(g.lang, r, LIFE_FIELDS) for r in life_records(settings().audit, found.id)],
        pending=pending[0] if pending else None,
        program=held and is_program(found),
        may_request=may_request,
        may_unlock=held and meta.get("reason") in workflow.UNLOCKABLE,
        may_rerun=g.user.role == "admin" and held,
        may_delete=g.user.role == "admin",
        policies=sorted(workflow.policies(settings())) if g.user.role == "admin" else [],
    )


# what the entry page's table shows of each record: the words that matter to the person
LIFE_FIELDS = ("type", "action", "reason", "output", "request_reason", "comment", "via")


def _back(found: Entry) -> Response:
    return redirect(url_for("quarantine.entry", qid=found.id), 303)


def _act(qid: str, action: Callable[[Entry], tuple[str, bool]]) -> Response:
    """One action on a visible entry: its message (or the refusal) shown on the entry page.
    ``action`` answers what to say and whether it is bad news."""
    found = entry_or_404(qid)
    try:
        said, bad = action(found)
    except Refused as refused:
        said, bad = refused.text(g.lang), True
    security.flash(said, error=bad)
    return _back(found)


@bp.post("/quarantine/<qid>/request")
@security.requires()
def ask_original(qid: str) -> Response:
    def ask(found: Entry) -> tuple[str, bool]:
        reason = request.form.get("reason", "")
        made = workflow.request_original(db(), settings(), g.user, found.id, reason, time.time())
        return t("e.requested", id=made.id), False

    return _act(qid, ask)


@bp.post("/quarantine/<qid>/unlock")
@security.requires()
def unlock(qid: str) -> Response:
    def open_it(found: Entry) -> tuple[str, bool]:
        password = request.form.get("password", "")  # handed to the pipeline once, kept nowhere
        return _said(workflow.unlock(db(), settings(), g.user, found.id, password, time.time()), found)

    return _act(qid, open_it)


@bp.post("/quarantine/<qid>/rerun")
@security.requires("admin")
def rerun(qid: str) -> Response:
    return _act(
        qid, lambda found: _said(workflow.rerun(settings(), g.user, found.id, request.form.get("policy", "")), found)
    )


@bp.post("/quarantine/<qid>/delete")
@security.requires("admin")
def delete(qid: str) -> Response:
    found = entry_or_404(qid)
    try:
        workflow.delete(settings(), g.user, found.id)
    except Refused as refused:
        security.flash(refused.text(g.lang), error=True)
        return _back(found)
    security.flash(t("e.deleted", number=reception_number(found.id)))
    return redirect(url_for("quarantine.listing"), 303)


def _said(verdict: Verdict, found: Entry) -> tuple[str, bool]:
    """What an unlock or a re-run came to: delivered, or still held and why."""
    if verdict.verdict == Outcome.RELEASED:
        return t("e.released", output=in_outbox(str(verdict.output or ""), found)), False
    return t("e.still_held", reason=reason_words(g.lang, str(verdict.reason or ""), verdict.type)), True


def in_outbox(output: str, found: Entry) -> str:
    """Where staff find a delivered file: its path inside the outbox (``soumu/見積書.zip``).
    The server's own folders are no business of the page (and tell an attacker the layout)."""
    path = Path(output)
    for outbox in (headed_outbox(found), settings().outbox):
        if outbox is not None and path.is_relative_to(outbox):
            return display(path.relative_to(outbox).as_posix())
    return display(path.name)
