"""Requests for an original (原本取り出し申請): an approver's pending ones to decide, and
everything a person asked for themselves. Deciding is ``cdr.console.workflow.decide``:
it refuses self-approval and other departments, and releases on approval."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from cdr.console import Refused, security, workflow
from cdr.console.app import db, settings, t
from cdr.console.db import Request
from cdr.names import reception_number
from cdr.quarantine import QuarantineStore

bp = Blueprint("requests", __name__)
# A request's number is SQLite's rowid, a signed 64-bit integer: a larger one in a URL is a
# request that cannot exist (404), not an OverflowError at the query
NUMBER = f"int(max={2**63 - 1})"


def _shown(found: Request) -> dict[str, Any]:
    """A request with the held file's name (when the entry is still there)."""
    store = QuarantineStore(settings().quarantine)
    name = str(store.get(found.quarantine_id).meta.get("input") or "") if store.exists(found.quarantine_id) else ""
    return {"r": found, "number": reception_number(found.quarantine_id), "name": name}


@bp.get("/requests")
@security.requires()
def listing() -> str:
    now = time.time()
    pending = workflow.pending(db(), g.user, now, settings())
    deciding = g.user.role in ("approver", "admin")
    return render_template(
        "requests.html",
        pending=[_shown(r) for r in pending] if deciding else [],
        mine=[_shown(r) for r in workflow.mine(db(), g.user)],
        deciding=deciding,
    )


def _decide(number: int, approve: bool) -> Response:
    try:
        workflow.decide(db(), settings(), g.user, number, approve, request.form.get("comment", ""), time.time())
    except Refused as refused:
        security.flash(refused.text(g.lang), error=True)
    else:
        security.flash(t("r.approved" if approve else "r.rejected", id=number))
    return redirect(url_for("requests.listing"), 303)


@bp.post(f"/requests/<{NUMBER}:number>/approve")
@security.requires("approver", "admin")
def approve(number: int) -> Response:
    return _decide(number, True)


@bp.post(f"/requests/<{NUMBER}:number>/reject")
@security.requires("approver", "admin")
def reject(number: int) -> Response:
    return _decide(number, False)
