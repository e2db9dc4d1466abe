"""Logging in and out, and the language a person reads the console in."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from cdr.console import security, workflow
from cdr.console.app import db, settings, t
from cdr.console.db import LockedOut
from cdr.console.texts import LANGS

bp = Blueprint("auth", __name__)


@bp.get("/login")
def login() -> str | Response:
    if g.user is not None:
        return redirect(url_for("dashboard.index"))
    if g.expired or request.args.get("expired"):
        security.flash(t("login.expired"))
    return render_template("login.html")


@bp.post("/login")
def login_post() -> tuple[str, int] | Response:
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    now = time.time()
    try:  # audited by the workflow; the password is never written
        user = workflow.login(db(), settings(), name, password, security.client_address(), now)
    except LockedOut as locked:
        security.flash(locked.text(g.lang), error=True)
        return render_template("login.html", username=name), 429
    if user is None:
        security.flash(t("login.failed"), error=True)
        return render_template("login.html", username=name), 401
    old = request.cookies.get(security.SESSION_COOKIE)
    if old and g.user is not None:  # a shared PC: the person before ends, their token with them
        workflow.logout(db(), settings(), old, g.user)
    token, _csrf = db().new_session(user.name, now)
    session.clear()  # the pre-login token is spent; a new session starts with new tokens
    response = redirect(url_for("dashboard.index"), 303)
    security.set_session_cookie(response, token, current_app.extensions["cdr.secure"])
    return response


@bp.post("/logout")
def logout() -> Response:
    token = request.cookies.get(security.SESSION_COOKIE)
    if token and g.user is not None:
        workflow.logout(db(), settings(), token, g.user)
    session.clear()
    security.flash(t("login.logged_out"))
    response = redirect(url_for("auth.login"), 303)
    security.clear_session_cookie(response, current_app.extensions["cdr.secure"])
    return response


@bp.post("/language")
@security.requires()
def language() -> Response:
    lang = request.form.get("lang", "")
    if lang in LANGS:
        db().set_lang(g.user.name, lang)
        g.lang = lang
        security.flash(t("lang.changed"))
    return redirect(_same_site(request.form.get("next", "")) or url_for("dashboard.index"), 303)


def _same_site(path: str) -> str | None:
    """The page the form was on (the template puts its path in ``next``), if it is a page
    of this site. A browser drops tabs and line breaks from a URL and reads ``\\`` as ``/``,
    so ``/<TAB>/host`` or ``/\\host`` would leave the site: a path with a control character,
    a space, a backslash or ``//`` is refused, and so is one no page of the console answers."""
    if not path.startswith("/") or "//" in path or "\\" in path or any(c <= " " or c == "\x7f" for c in path):
        return None
    try:
        current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:  # not found, another method, or a redirect to another spelling
        return None
    return path
