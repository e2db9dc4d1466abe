"""What every request to the console passes through: the Host check, the session and its
idle timeout, the CSRF token, the role check, and the headers on every response.

The session is a random token in a cookie (``cdr_session``) that names a row of
``cdr.console.db``; the cookie is HttpOnly, SameSite=Strict, Path=/ and, behind TLS,
Secure. Every POST carries the session's CSRF token in a hidden field; the login form,
before there is a session, carries one kept in Flask's signed cookie (which also carries
the one-line messages shown after an action). A Host header that is not the address the
console listens on is refused: a page on the internet whose name was made to resolve to
this address (DNS rebinding) sends its own name.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, abort, g, request, session

SESSION_COOKIE = "cdr_session"
FLASH_COOKIE = "cdr_flash"  # Flask's signed cookie: the pre-login CSRF token and messages
MAX_REQUEST_BYTES = 64 * 1024  # every form here is a few fields; nothing is uploaded
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'; report-uri /csp-report"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",  # for browsers older than frame-ancestors
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
View = TypeVar("View", bound=Callable[..., Any])


def new_token() -> str:
    return secrets.token_urlsafe(32)


def add_headers(response: Response) -> Response:
    """The same headers on every answer: pages, errors, downloads and static files."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    return response


def set_session_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict", path="/", secure=secure)


def clear_session_cookie(response: Response, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict", secure=secure)


# ---------------------------------------------------------------- the Host header
def _host_and_port(listen: str) -> tuple[str, str]:
    host, _colon, port = listen.rpartition(":")
    return host.strip("[]"), port


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def host_allowed(host_header: str, listen: str) -> bool:
    """Whether a request's Host names the address the console listens on. A name is
    accepted only for loopback (``localhost``); on an address for every interface, any
    address literal with the right port (a rebinding attack needs a name, not a number)."""
    want_host, want_port = _host_and_port(listen)
    host, _colon, port = host_header.rpartition(":") if not host_header.endswith("]") else (host_header, "", "")
    if not host or port != want_port:
        return False
    given, wanted = _ip(host), _ip(want_host)
    if wanted is not None and wanted.is_unspecified:
        return given is not None
    if given is not None:
        return wanted is not None and given == wanted
    return host.lower() == "localhost" and wanted is not None and wanted.is_loopback


# ---------------------------------------------------------------- CSRF
def same(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; nothing equals a missing token."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def login_csrf() -> str:
    """The token of the login form: kept in the signed cookie until the login succeeds."""
    token = session.get("login_csrf")
    if not token:
        token = session["login_csrf"] = new_token()
    return str(token)


def check_csrf() -> None:
    """Every POST: the form's ``csrf_token`` must be the session's (or, before login, the
    login form's). Anything else is 400 and nothing happens."""
    expected = g.session.csrf if g.get("session") is not None else session.get("login_csrf")
    if not same(request.form.get("csrf_token"), expected):
        abort(400)


def csrf_token() -> str:
    """The token for the forms of this page."""
    return g.session.csrf if g.get("session") is not None else login_csrf()


# ---------------------------------------------------------------- roles
def requires(*roles: str) -> Callable[[View], View]:
    """The view only for a logged-in user of one of ``roles`` (any role when none is named);
    someone not logged in is sent to the login page, a wrong role gets 403."""

    def wrap(view: View) -> View:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            user = g.get("user")
            if user is None:
                from flask import redirect, url_for

                # a session that timed out says so on the login page
                return redirect(url_for("auth.login", expired=1) if g.get("expired") else url_for("auth.login"))
            if roles and user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return checked  # type: ignore[return-value]

    return wrap


def client_address() -> str:
    """Who is asking, for the login limits and the audit log: the peer's address, or, when
    the peer is the reverse proxy named by ``console_proxy``, the address the proxy put
    last in X-Forwarded-For (the one it saw; what comes before is the client's own text).
    From any other peer the header is the sender's own text and is ignored."""
    from flask import current_app

    peer = request.remote_addr or "-"
    proxy = current_app.extensions["cdr.settings"].console_proxy
    if not proxy or _ip(peer) != _ip(proxy):
        return peer
    forwarded = request.headers.getlist("X-Forwarded-For")
    last = forwarded[-1].split(",")[-1].strip() if forwarded else ""
    return str(_ip(last)) if _ip(last) is not None else peer


# ---------------------------------------------------------------- messages after an action
def flash(message: str, error: bool = False) -> None:
    """One line shown on the next page (kept in the signed cookie until shown)."""
    shown = list(session.get("flash", []))
    shown.append({"text": message[:500], "error": error})
    session["flash"] = shown[-3:]


def flashed() -> list[dict[str, Any]]:
    return list(session.pop("flash", []))
