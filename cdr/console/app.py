"""The web console as a Flask application: ``create_app(settings)``.

Each family of pages is a blueprint of its own module (``views_*``); this module wires
them to the per-request state (the database connection, the session, the language), the
checks every request passes (``cdr.console.security``) and the error pages. Debug mode is
never on: an error page says what happened in words, the traceback goes to the log only.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime
from typing import Any

from flask import Flask, Response, abort, g, request
from werkzeug.exceptions import HTTPException

from cdr.config import Settings
from cdr.console import security
from cdr.console.db import ConsoleDB, open_db
from cdr.console.texts import both, text
from cdr.daemon.counters import JAPAN, japan_time
from cdr.names import display, reception_number

log = logging.getLogger("cdr.console")
# POSTs that cannot carry a token: a browser's CSP report is sent by the browser itself
NO_CSRF = frozenset({"audit.csp_report"})
ERROR_CODES = (400, 403, 404, 405, 413, 500)


def create_app(settings: Settings, *, secure_cookies: bool = False, listen: str | None = None) -> Flask:
    """The console for ``settings``' store; ``listen`` (HOST:PORT) is what the Host header
    must name, ``settings.console_listen`` when not given."""
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        SECRET_KEY=security.new_token(),  # signs the message cookie; `cdr console` preloads, so workers share it
        SESSION_COOKIE_NAME=security.FLASH_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_PATH="/",
        MAX_CONTENT_LENGTH=security.MAX_REQUEST_BYTES,
        MAX_FORM_MEMORY_SIZE=security.MAX_REQUEST_BYTES,
        DEBUG=False,
        PROPAGATE_EXCEPTIONS=False,
        SEND_FILE_MAX_AGE_DEFAULT=0,
    )
    app.debug = False
    app.extensions["cdr.settings"] = settings
    app.extensions["cdr.listen"] = listen or settings.console_listen
    app.extensions["cdr.secure"] = secure_cookies
    # created and migrated once, before any worker serves; each thread (and forked worker)
    # then opens its own connection on first use (cdr.console.db)
    app.extensions["cdr.db"] = open_db(settings)
    _register(app)
    return app


def _register(app: Flask) -> None:
    from cdr.console import (
        views_audit,
        views_auth,
        views_dashboard,
        views_quarantine,
        views_reports,
        views_requests,
        views_users,
    )

    for module in (views_auth, views_dashboard, views_quarantine, views_requests, views_audit, views_reports, views_users):
        app.register_blueprint(module.bp)
    app.before_request(_before)
    app.after_request(_after)
    app.context_processor(_template_names)
    app.jinja_env.filters["name"] = lambda value: display(str(value or ""))
    app.jinja_env.filters["number"] = lambda value: reception_number(str(value)) if value else ""
    app.jinja_env.filters["jst"] = jst
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["month"] = month
    for code in ERROR_CODES:
        app.register_error_handler(code, _error_page)


# ---------------------------------------------------------------- per request
def settings() -> Settings:
    from flask import current_app

    return current_app.extensions["cdr.settings"]


def db() -> ConsoleDB:
    """The console's database; the connection is this thread's."""
    from flask import current_app

    return current_app.extensions["cdr.db"]


def audit(event: str, **fields: Any) -> None:
    """A console event of no one file (a login, a verification) in the audit log, with
    the person's name and the client's address."""
    from cdr.audit import AuditLog

    user = g.get("user")
    who = {"user": user.name} if user is not None else {}
    log_ = AuditLog(settings().audit)
    try:
        log_.append(event, None, None, None, **{**who, "client": security.client_address(), "via": "console", **fields})
    finally:
        log_.close()


def _before() -> None:
    from flask import current_app

    g.lang, g.session, g.user, g.expired = "ja", None, None, False
    if not security.host_allowed(request.host, current_app.extensions["cdr.listen"]):
        abort(400)
    if request.endpoint == "static":
        return
    token = request.cookies.get(security.SESSION_COOKIE)
    if token:
        found = db().session(token, time.time(), settings().console_idle)
        if found is None:
            g.expired = True  # timed out, logged out elsewhere, or the account was disabled
        else:
            g.session, g.user, g.lang = found, found.user, found.user.lang
    if request.method == "POST" and request.endpoint not in NO_CSRF:
        security.check_csrf()


def _after(response: Response) -> Response:
    from flask import current_app

    if g.get("expired"):
        security.clear_session_cookie(response, current_app.extensions["cdr.secure"])
    return security.add_headers(response)


def _error_page(error: Exception) -> tuple[str, int]:
    from flask import render_template

    code = error.code if isinstance(error, HTTPException) and error.code in ERROR_CODES else 500
    if code == 500:
        cause = getattr(error, "original_exception", None) or error
        log.error("console error on %s %s", request.method, request.path, exc_info=cause)
    # before anyone logged in, the language is unknown: Japanese first, then English
    message = t(f"err.{code}") if g.get("user") is not None else both(f"err.{code}")
    return render_template("error.html", code=code, message=message), code


def t(key: str, **values: object) -> str:
    return text(g.get("lang", "ja"), key, **values)


def jst(value: Any, seconds: bool = False) -> str:
    """A time as the clerk reads a clock: Japan time, 2026年11月29日 13:42 (English:
    2026-11-29 13:42). ``value`` is a Unix time, an ISO text or a datetime."""
    if value in (None, ""):
        return ""
    if isinstance(value, datetime):
        moment: datetime | None = value if value.tzinfo is None else value.astimezone(JAPAN)
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, JAPAN)
    else:
        moment = japan_time(value)
    if moment is None:
        return display(str(value))
    clock = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    if g.get("lang", "ja") == "en":
        return f"{moment:%Y-%m-%d} {clock}"
    return f"{moment.year}年{moment.month}月{moment.day}日 {clock}"


def day(value: date) -> str:
    """A day as a clerk writes it: 2026年11月29日 (English: 2026-11-29)."""
    if g.get("lang", "ja") == "en":
        return value.isoformat()
    return f"{value.year}年{value.month}月{value.day}日"


def month(value: date) -> str:
    """A month: 2026年11月 (English: 2026-11)."""
    return f"{value:%Y-%m}" if g.get("lang", "ja") == "en" else f"{value.year}年{value.month}月"


def _template_names() -> dict[str, Any]:
    from cdr.console.words import reason_words, type_name

    lang = g.get("lang", "ja")
    return {
        "t": t,
        "reason_words": lambda code, file_type=None: reason_words(lang, str(code or ""), file_type),
        "type_name": lambda file_type: type_name(lang, file_type),
        "lang": g.get("lang", "ja"),
        "user": g.get("user"),
        "csrf_token": security.csrf_token,
        "flashed": security.flashed,
    }
