"""The accounts, for the administrator: the list, and disabling one (its sessions end at
once). Accounts are added and passwords set on the server (`cdr users`): a password is
never typed into a page for someone else."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for
from werkzeug.wrappers import Response

from cdr.console import Refused, security, workflow
from cdr.console.app import db, settings, t

bp = Blueprint("users", __name__)


@bp.get("/users")
@security.requires("admin")
def listing() -> str:
    return render_template("users.html", users=db().users())


@bp.post("/users/<name>/disable")
@security.requires("admin")
def disable(name: str) -> Response:
    if name == g.user.name:
        security.flash(t("u.self"), error=True)
        return redirect(url_for("users.listing"), 303)
    try:
        workflow.disable_user(db(), settings(), g.user, name)
    except Refused as refused:
        security.flash(refused.text(g.lang), error=True)
    else:
        security.flash(t("u.disabled_done", name=name))
    return redirect(url_for("users.listing"), 303)
