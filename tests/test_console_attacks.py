"""The web console attacked: by a hostile insider (a staff member or an approver reaching for
another department's files, an administrator's actions, another session's token) and by a
hostile sender (file names and every text that ends up on a page or in a download are
chosen outside).

Most attacks go through Flask's test client (fast); the ones about gunicorn, real cookies,
the access log and raw HTTP go to a real `cdr console` on a loopback port. A hole found is
a test marked ``xfail(strict=True)`` with the reason: fixed, it passes and the mark goes.
"""

from __future__ import annotations

import csv
import http.client
import io
import itertools
import json
import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from cdr.audit import records
from cdr.config import Settings
from cdr.console.app import create_app
from cdr.console.db import CLIENT_ATTEMPTS, LOCKOUT_FAILURES, open_db
from cdr.console.security import CSP
from cdr.daemon.status import write_status
from cdr.names import display
from cdr.quarantine import META, QuarantineStore
from cdr.sanitizers.text import neutralise_cell
from tests.console_seed import ppap, seeded_appliance
from tests.test_console_app import token_of

BASE = "http://127.0.0.1:8765"
PPAP_PASSWORD = "Hokkaido-Kuma-7781-secret"  # the PPAP's password: must appear nowhere
WRONG_PPAP = "Wrong-Guess-9931-nothere"  # a wrong one a person typed: must appear nowhere either
PROGRAM = Path("/bin/true").read_bytes()
# what a sender may name a file: formulas for Excel, markup and template syntax for the pages,
# a line break for a header
FORMULAS = {
    "hyperlink": '=HYPERLINK("https:evil.example","見積").pdf',
    "plus": "+cmd|' -c calc'!A0.pdf",
    "minus": "-2+3.pdf",
    "at": "@SUM(1+1).pdf",
    "tab": "\t=1+1.pdf",
}
MARKUP = '"><svg onload=alert(1)>.pdf'
TEMPLATE = "{{7*7}}{%print(8*8)%}.pdf"
NEWLINE = "請求\r\nX-Injected: 1.pdf"
SECRET_KIKAKU = "kikaku/極秘_新庁舎計画.zip"  # its name must never reach soumu's people
ACCOUNTS = {  # name → (role, departments)
    "tanaka": ("staff", ["soumu"]),
    "sato": ("approver", ["soumu"]),
    "yamada": ("staff", ["kikaku"]),
    "kimura": ("approver", ["kikaku"]),
    "root": ("admin", []),
    "victim": ("staff", ["soumu"]),  # disabled by a test
    "mover": ("staff", ["soumu"]),  # has their password changed by a test
    "locked": ("staff", ["soumu"]),  # locked out by a test
    "boss": ("admin", []),  # an administrator an attacker tries to lock out
    "probe": ("staff", ["kikaku"]),  # locked out by the test of what a lockout tells
    "clock": ("staff", ["kikaku"]),  # its wrong passwords are timed (and lock it)
}
CLIENTS = itertools.count(2)


def password_of(name: str) -> str:
    return f"{name}-password-long"


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str]]:
    """A seeded appliance (one real batch run) and its held files by path → quarantine ID."""
    dropped = {
        "soumu/見積書.zip": ppap(PPAP_PASSWORD, "見積書.txt", b"estimate\n"),
        "soumu/予算.zip": ppap(PPAP_PASSWORD, "予算.txt", b"budget\n"),
        f"soumu/{MARKUP}": PROGRAM,
        f"soumu/{TEMPLATE}": PROGRAM,
        f"soumu/{NEWLINE}": PROGRAM,
        **{f"soumu/{name}": PROGRAM for name in FORMULAS.values()},
        SECRET_KIKAKU: ppap(PPAP_PASSWORD, "計画.txt", b"plan\n"),
    }
    settings, lines = seeded_appliance(tmp_path_factory.mktemp("atkcon"), dropped)
    inbox = str(settings.inbox) + os.sep
    held = {line["input"].removeprefix(inbox): line["quarantine_id"] for line in lines if line["quarantine_id"]}
    assert len(held) == len(dropped), lines
    db = open_db(settings)
    try:
        for name, (role, departments) in ACCOUNTS.items():
            db.add_user(name, role, departments, password_of(name))
    finally:
        db.close()
    return settings, held


@pytest.fixture
def held(appliance: tuple[Settings, dict[str, str]]) -> dict[str, str]:
    """The held files of the seeded day: their path under the inbox → quarantine ID."""
    return appliance[1]


@pytest.fixture(scope="module")
def app(appliance: tuple[Settings, dict[str, str]]) -> Flask:
    """One console over the seeded appliance for the module (as gunicorn preloads it)."""
    return create_app(appliance[0])


@pytest.fixture
def settings(app: Flask) -> Settings:
    """Where the seeded appliance keeps its files, its audit log and the console's database:
    the console's own settings."""
    return app.extensions["cdr.settings"]


def browser(app: Flask) -> FlaskClient:
    """A client of its own loopback address (logins are rate-limited per client)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"127.0.1.{next(CLIENTS)}"
    return client


def try_login(client: FlaskClient, name: str, password: str) -> tuple[int, str]:
    form = client.get("/login", base_url=BASE)
    answer = client.post(
        "/login", data={"username": name, "password": password, "csrf_token": token_of(form.text)}, base_url=BASE
    )
    return answer.status_code, answer.text


def log_in(app: Flask, name: str) -> FlaskClient:
    client = browser(app)
    status, text = try_login(client, name, password_of(name))
    assert status == 303, text
    return client


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    answer = client.get(path, base_url=BASE)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
    return answer.text


def post(client: FlaskClient, path: str, **form: str) -> tuple[int, str]:
    """A POST of ``form`` with this session's own CSRF token (taken from a page)."""
    form.setdefault("csrf_token", token_of(page(client, "/")))
    answer = client.post(path, data=form, base_url=BASE)
    return answer.status_code, answer.text


def events(settings: Settings, event: str) -> list[dict]:
    return [r for r in records(settings.audit) if r.get("event") == event]


def logged_in(client: FlaskClient) -> bool:
    return client.get("/quarantine", base_url=BASE).status_code == 200


def session_cookie(client: FlaskClient) -> str:
    cookie = client.get_cookie("cdr_session", domain="127.0.0.1")
    assert cookie is not None
    return cookie.value


# ---------------------------------------------------------------- authorisation: another department
def test_staff_reach_no_entry_of_another_department_by_any_route(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    """tanaka (soumu) tries kikaku's entry by its ID on every route: each answers as for an
    ID that does not exist, and nothing is written to the log."""
    qid, unknown = held[SECRET_KIKAKU], "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    client = log_in(app, "tanaka")
    before = len(list(records(settings.audit)))
    for path, form in (("", None), ("/request", {"reason": "見たい"}), ("/unlock", {"password": PPAP_PASSWORD})):
        if form is None:
            other, missing = page(client, f"/quarantine/{qid}", 404), page(client, f"/quarantine/{unknown}", 404)
        else:
            (code, other), (code2, missing) = post(client, f"/quarantine/{qid}{path}", **form), post(
                client, f"/quarantine/{unknown}{path}", **form
            )
            assert code == code2 == 404
        assert other == missing.replace(unknown, qid)
        assert "極秘" not in other
    assert len(list(records(settings.audit))) == before
    assert open_db(settings).requests(quarantine_id=qid) == []


def test_list_search_and_filters_never_show_another_departments_names(app: Flask, held: dict[str, str]) -> None:
    client = log_in(app, "tanaka")
    for query in ("", "?q=極秘", "?department=kikaku", f"?q={held[SECRET_KIKAKU]}", "?department=kikaku&status=quarantined"):
        listed = page(client, f"/quarantine{query}")
        # the search box shows what was typed; the name's other words and its ID never
        assert "新庁舎" not in listed and f"/quarantine/{held[SECRET_KIKAKU]}" not in listed, query
    assert "新庁舎" in page(log_in(app, "yamada"), "/quarantine?q=極秘")


def test_audit_search_and_export_are_the_administrators_only(app: Flask) -> None:
    """The audit log names every department's files: staff and approvers get 403 from the
    search, the export (with any filter) and the verification."""
    for name in ("tanaka", "sato"):
        client = log_in(app, name)
        for path in ("/audit", "/audit?file=極秘", "/audit/export.csv", "/audit/export.csv?file=極秘&event=quarantined"):
            answer = client.get(path, base_url=BASE)
            assert answer.status_code == 403 and "極秘" not in answer.text, (name, path)
        assert post(client, "/audit/verify")[0] == 403


def test_reports_of_another_department_answer_404_in_every_form(app: Flask) -> None:
    approver = log_in(app, "sato")
    for path in ("/reports", "/reports/monthly.csv", "/reports/monthly.xlsx"):
        answer = approver.get(f"{path}?department=kikaku", base_url=BASE)
        assert answer.status_code == 404, path
        whole = approver.get(path, base_url=BASE)  # no department named: only soumu's rows
        assert whole.status_code == 200
        if path.endswith(".xlsx"):
            book = openpyxl.load_workbook(io.BytesIO(whole.data), read_only=True)
            cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
            assert any("soumu" in c for c in cells) and not any("kikaku" in c or "極秘" in c for c in cells)
        else:
            assert "soumu" in whole.text and "kikaku" not in whole.text and "極秘" not in whole.text
    staff = log_in(app, "tanaka")
    for path in ("/reports", "/reports/monthly.csv", "/reports/monthly.xlsx"):
        assert staff.get(path, base_url=BASE).status_code == 403


def test_users_page_and_disabling_are_the_administrators_only(app: Flask, settings: Settings) -> None:
    for name in ("tanaka", "sato"):
        client = log_in(app, name)
        assert client.get("/users", base_url=BASE).status_code == 403
        assert post(client, "/users/root/disable")[0] == 403
    assert open_db(settings).user("root").disabled is False  # type: ignore[union-attr]


def test_staff_and_approvers_cannot_rerun_or_delete(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    qid = held["soumu/予算.zip"]
    for name in ("tanaka", "sato"):
        client = log_in(app, name)
        for action in ("rerun", "delete"):
            assert post(client, f"/quarantine/{qid}/{action}", policy="strict")[0] == 403
    assert QuarantineStore(settings.quarantine).exists(qid)
    assert not [r for r in records(settings.audit) if r.get("event") in ("quarantine-rerun", "quarantine-deleted")]


def test_an_approver_cannot_decide_another_departments_request_by_a_guessed_number(
    app: Flask, settings: Settings, held: dict[str, str]
) -> None:
    """yamada (kikaku) asks for the secret plan; sato (soumu's approver) and tanaka (staff)
    try every request number: nothing is decided, nothing released."""
    yamada = log_in(app, "yamada")
    code, _text = post(yamada, f"/quarantine/{held[SECRET_KIKAKU]}/request", reason="計画の確認のため")
    assert code == 303
    db = open_db(settings)
    (asked,) = db.requests(quarantine_id=held[SECRET_KIKAKU], status="pending")
    sato, tanaka = log_in(app, "sato"), log_in(app, "tanaka")
    for number in range(1, asked.id + 3):
        for verb in ("approve", "reject"):
            assert post(tanaka, f"/requests/{number}/{verb}", comment="ok")[0] == 403
            code, _text = post(sato, f"/requests/{number}/{verb}", comment="ok")
            assert code == 303
    assert post(sato, f"/requests/{asked.id}/approve", comment="ok")[0] == 303
    listed = page(sato, "/requests")
    assert "この申請はあなたの部署のファイルについてのものではありません。" in listed
    assert "極秘" not in listed and "計画の確認のため" not in listed
    assert db.request(asked.id).status == "pending"  # type: ignore[union-attr]
    assert not (settings.outbox / SECRET_KIKAKU).exists()  # only its notice is there
    assert not events(settings, "original-approved") and not events(settings, "original-rejected")
    # kikaku's own approver may, and that is what the approval says
    kimura = log_in(app, "kimura")
    assert post(kimura, f"/requests/{asked.id}/reject", comment="不要です")[0] == 303
    assert db.request(asked.id).status == "rejected"  # type: ignore[union-attr]


def test_a_disabled_accounts_old_cookie_opens_nothing(app: Flask, settings: Settings) -> None:
    client = log_in(app, "victim")
    token = token_of(page(client, "/"))
    root = log_in(app, "root")
    assert post(root, "/users/victim/disable")[0] == 303
    answer = client.get("/quarantine", base_url=BASE)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert client.post("/quarantine", data={"csrf_token": token}, base_url=BASE).status_code in (302, 400, 405)
    assert try_login(browser(app), "victim", password_of("victim"))[0] == 401


def test_a_password_change_ends_the_old_sessions(app: Flask, settings: Settings) -> None:
    client = log_in(app, "mover")
    assert logged_in(client)
    open_db(settings).set_password("mover", "mover-new-password-long")
    assert not logged_in(client)
    assert try_login(browser(app), "mover", password_of("mover"))[0] == 401


# ---------------------------------------------------------------- CSRF
def post_routes(held: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Every POST route of the console, with a form that would do something."""
    qid = held["soumu/予算.zip"]
    return [
        (f"/quarantine/{qid}/request", {"reason": "必要です"}),
        (f"/quarantine/{qid}/unlock", {"password": PPAP_PASSWORD}),
        (f"/quarantine/{qid}/rerun", {"policy": "strict"}),
        (f"/quarantine/{qid}/delete", {}),
        ("/requests/1/approve", {"comment": "ok"}),
        ("/requests/1/reject", {"comment": "no"}),
        ("/audit/verify", {}),
        ("/users/victim/disable", {}),
        ("/language", {"lang": "en"}),
        ("/logout", {}),
    ]


def test_every_post_refuses_a_missing_foreign_or_query_string_token(
    app: Flask, settings: Settings, held: dict[str, str]
) -> None:
    """As the administrator (who may do everything): no token, another session's token, the
    right token in the query string instead of the form, an empty one. All 400, nothing done."""
    root, other = log_in(app, "root"), log_in(app, "boss")
    own, foreign = token_of(page(root, "/")), token_of(page(other, "/"))
    assert own != foreign
    before = len(list(records(settings.audit)))
    for path, form in post_routes(held):
        for query, token in (("", None), ("", foreign), (f"?csrf_token={own}", None), ("", ""), ("", own + "x")):
            data = {**form, **({"csrf_token": token} if token is not None else {})}
            answer = root.post(path + query, data=data, base_url=BASE)
            assert answer.status_code == 400, (path, query, token, answer.status_code)
            assert answer.headers["Content-Security-Policy"] == CSP
        # the token in a header is no token either
        assert root.post(path, data=form, headers={"X-CSRF-Token": own}, base_url=BASE).status_code == 400
    assert len(list(records(settings.audit))) == before
    assert logged_in(root) and QuarantineStore(settings.quarantine).exists(held["soumu/予算.zip"])
    assert open_db(settings).user("root").lang == "ja"  # type: ignore[union-attr]


def test_the_login_token_is_not_another_browsers(app: Flask) -> None:
    """Login CSRF: a page elsewhere cannot log a person's browser into the attacker's account
    with a token of the attacker's own browser."""
    attacker, victim = browser(app), browser(app)
    stolen = token_of(attacker.get("/login", base_url=BASE).text)
    victim.get("/login", base_url=BASE)
    form = {"username": "tanaka", "password": password_of("tanaka"), "csrf_token": stolen}
    answer = victim.post("/login", data=form, base_url=BASE)
    assert answer.status_code == 400 and "cdr_session" not in answer.headers.get("Set-Cookie", "")
    # and a browser with no login page fetched at all
    assert browser(app).post("/login", data=form, base_url=BASE).status_code == 400


def test_no_method_override_and_no_get_that_acts(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    root = log_in(app, "root")
    qid = held["soumu/予算.zip"]
    before = len(list(records(settings.audit)))
    for path, _form in post_routes(held):
        if path == "/logout":
            continue
        answer = root.get(path, base_url=BASE)
        assert answer.status_code == 405, path
        assert answer.headers["Content-Security-Policy"] == CSP and "Traceback" not in answer.text
    for headers in ({"X-HTTP-Method-Override": "POST"}, {"X-HTTP-Method": "POST"}, {"X-Method-Override": "POST"}):
        assert root.get(f"/quarantine/{qid}/delete", headers=headers, base_url=BASE).status_code == 405
    assert root.get(f"/quarantine/{qid}/delete?_method=POST", base_url=BASE).status_code == 405
    for verb in ("PUT", "DELETE", "PATCH"):
        assert root.open(f"/quarantine/{qid}/delete", method=verb, base_url=BASE).status_code == 405
    assert root.get("/logout", base_url=BASE).status_code == 405 and logged_in(root)
    assert len(list(records(settings.audit))) == before
    assert QuarantineStore(settings.quarantine).exists(qid)


# ---------------------------------------------------------------- the session
def test_login_makes_a_new_session_token_whatever_the_browser_brought(app: Flask, settings: Settings) -> None:
    """Fixation: a session token planted in the victim's browser before login is not the
    one the login gives, and opens nothing."""
    attacker = log_in(app, "yamada")
    planted = session_cookie(attacker)
    victim = browser(app)
    victim.set_cookie("cdr_session", planted, domain="127.0.0.1")
    victim.set_cookie("cdr_session", "chosen-by-the-attacker", domain="127.0.0.1")
    status, _text = try_login(victim, "tanaka", password_of("tanaka"))
    assert status == 303
    given = session_cookie(victim)
    assert given not in (planted, "chosen-by-the-attacker") and len(given) >= 43
    fixed = browser(app)
    fixed.set_cookie("cdr_session", "chosen-by-the-attacker", domain="127.0.0.1")
    assert not logged_in(fixed)
    # the attacker's own session is still theirs, not tanaka's
    assert 'id="signed-in"' in page(attacker, "/") and "yamada" in page(attacker, "/").split('id="signed-in"')[1][:200]


def test_logging_in_again_ends_the_session_the_browser_had(app: Flask) -> None:
    """A browser left logged in as someone, logged in again as someone else (a shared PC):
    the first person's token must not stay valid (it is in the browser's history of cookies,
    a proxy's log of a copy, …)."""
    client = log_in(app, "tanaka")
    first = session_cookie(client)
    token = token_of(page(client, "/"))
    answer = client.post(
        "/login", data={"username": "sato", "password": password_of("sato"), "csrf_token": token}, base_url=BASE
    )
    assert answer.status_code == 303
    replay = browser(app)
    replay.set_cookie("cdr_session", first, domain="127.0.0.1")
    assert not logged_in(replay)


def test_logout_ends_the_session_on_the_server(app: Flask, settings: Settings) -> None:
    client = log_in(app, "tanaka")
    token = session_cookie(client)
    assert post(client, "/logout")[0] == 303
    replay = browser(app)
    replay.set_cookie("cdr_session", token, domain="127.0.0.1")
    answer = replay.get("/quarantine", base_url=BASE)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert events(settings, "console-logout")[-1]["user"] == "tanaka"


def test_the_database_keeps_no_usable_session_token(app: Flask, settings: Settings) -> None:
    """A copy of console.db (a backup) opens no session: only the token's hash is there, and
    no password in the clear."""
    client = log_in(app, "tanaka")
    token = session_cookie(client)
    dump = "\n".join(open_db(settings)._connection().iterdump())
    assert token not in dump and password_of("tanaka") not in dump
    assert re.search(r"scrypt\$", dump)
    for name in ("root", "tanaka"):
        assert "scrypt$" not in page(log_in(app, "root"), "/users") and name in page(log_in(app, "root"), "/users")


@pytest.mark.parametrize("secure", [False, True])
def test_cookie_flags(appliance: tuple[Settings, dict[str, str]], secure: bool) -> None:
    """Both cookies (the session, and Flask's signed one with the login token and messages):
    HttpOnly, SameSite=Strict, Path=/, no lifetime (gone when the browser closes), and
    Secure with --secure-cookies."""
    app = create_app(appliance[0], secure_cookies=secure)
    client = browser(app)
    form = client.get("/login", base_url=BASE)
    flash_cookie = form.headers["Set-Cookie"]
    answer = client.post(
        "/login",
        data={"username": "tanaka", "password": password_of("tanaka"), "csrf_token": token_of(form.text)},
        base_url=BASE,
    )
    cookies = answer.headers.getlist("Set-Cookie") + [flash_cookie]
    assert any(c.startswith("cdr_session=") for c in cookies) and any(c.startswith("cdr_flash=") for c in cookies)
    for cookie in cookies:
        attributes = [a.strip().lower() for a in cookie.split(";")[1:]]
        assert "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes, cookie
        assert ("secure" in attributes) == secure, cookie
        if not cookie.split("=", 1)[1].startswith(";"):  # a cookie being set, not cleared
            assert not any(a.startswith(("expires=", "max-age=")) for a in attributes), cookie


# ---------------------------------------------------------------- injection through names and texts
HOSTILE_REASON = '</textarea><script>alert("r")</script>{{ config }}=HYPERLINK("https:evil.example")'


def test_hostile_names_and_texts_are_text_on_every_page(app: Flask, held: dict[str, str]) -> None:
    """A name with markup and with Jinja syntax, a request reason with a script, a closing
    tag and template syntax: shown as the characters they are, on the list, the entry page,
    the requests of the requester and of the approver, and the administrator's audit page."""
    qid = held["soumu/見積書.zip"]
    tanaka = log_in(app, "tanaka")
    assert post(tanaka, f"/quarantine/{qid}/request", reason=HOSTILE_REASON)[0] == 303
    shown = {
        "list": page(tanaka, "/quarantine"),
        "markup entry": page(tanaka, f"/quarantine/{held['soumu/' + MARKUP]}"),
        "template entry": page(tanaka, f"/quarantine/{held['soumu/' + TEMPLATE]}"),
        "requested entry": page(tanaka, f"/quarantine/{qid}"),
        "mine": page(tanaka, "/requests"),
        "approver": page(log_in(app, "sato"), "/requests"),
        "audit": page(log_in(app, "root"), f"/audit?file={qid}"),
        "audit names": page(log_in(app, "root"), "/audit?event=quarantined"),
    }
    for where, html in shown.items():
        assert "<svg" not in html and "<script>" not in html and "</textarea><" not in html, where
        assert "SECRET_KEY" not in html and "&lt;Config" not in html, where
    assert "&#34;&gt;&lt;svg onload=alert(1)&gt;.pdf" in shown["list"]
    assert "{{7*7}}{%print(8*8)%}.pdf" in shown["list"] and "{{7*7}}{%print(8*8)%}.pdf" in shown["template entry"]
    escaped = "&lt;/textarea&gt;&lt;script&gt;alert(&#34;r&#34;)&lt;/script&gt;{{ config }}"
    for where in ("requested entry", "approver", "audit"):
        assert escaped in shown[where], where


def test_a_line_break_in_a_name_is_shown_as_a_mark(app: Flask, held: dict[str, str]) -> None:
    html = page(log_in(app, "tanaka"), f"/quarantine/{held['soumu/' + NEWLINE]}")
    assert "請求??X-Injected: 1.pdf" in html and "請求\r\nX-Injected" not in html


def exported_cells(data: bytes) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))) for cell in row]


def test_the_audit_export_neutralises_formulas_as_the_cli_does(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    """A reason typed by staff and a comment typed by an approver that Excel would run:
    in the export every such cell starts with an apostrophe (Excel shows it as text)."""
    qid = held["soumu/予算.zip"]
    formula = "=cmd|' /C calc'!A0"
    assert post(log_in(app, "tanaka"), f"/quarantine/{qid}/request", reason=formula)[0] == 303
    (asked,) = open_db(settings).requests(quarantine_id=qid, status="pending")
    assert post(log_in(app, "sato"), f"/requests/{asked.id}/reject", comment="@SUM(1+1)")[0] == 303
    data = log_in(app, "root").get("/audit/export.csv?event=original-rejected", base_url=BASE).data
    cells = exported_cells(data)
    assert "'=cmd|' /C calc'!A0" in cells and "'@SUM(1+1)" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not re.fullmatch(r"-?\d+(\.\d+)?", c)]


def test_the_monthly_report_neutralises_names_that_are_formulas(app: Flask) -> None:
    """The file names of the month in the CSV and in the workbook: never a formula."""
    root = log_in(app, "root")
    cells = exported_cells(root.get("/reports/monthly.csv?department=soumu", base_url=BASE).data)
    # as the report shows a name (a tab as ?), then made inert
    expected = [neutralise_cell(display(name))[0] for name in FORMULAS.values()]
    assert all(e.startswith("'") or e.startswith("?=") for e in expected)
    for name in expected:
        assert name in cells, name
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    book = openpyxl.load_workbook(io.BytesIO(root.get("/reports/monthly.xlsx", base_url=BASE).data))
    names = []
    for sheet in book:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                names.append(str(cell.value))
    for name in expected:
        assert name in names, name


def test_downloads_are_named_by_the_server_only(app: Flask) -> None:
    """Content-Disposition is the server's ASCII name whatever the department or month asked
    (a line break, quotes, Japanese): no header can be injected through it."""
    root = log_in(app, "root")
    for path in ("/reports/monthly.csv", "/reports/monthly.xlsx"):
        for department in ("soumu", '"; filename=evil.exe', "総務\r\nSet-Cookie: x=1", "soumu%0d%0aX-A: 1"):
            answer = root.get(path, query_string={"department": department}, base_url=BASE)
            assert answer.status_code == 200
            disposition = answer.headers["Content-Disposition"]
            assert re.fullmatch(r"attachment; filename=report-\d{4}-\d{2}(-dept)?\.(csv|xlsx)", disposition), disposition
            assert "Set-Cookie" not in answer.headers and "X-A" not in answer.headers
    audit = root.get("/audit/export.csv", query_string={"file": "a\r\nX-B: 1"}, base_url=BASE)
    assert audit.headers["Content-Disposition"] == "attachment; filename=audit.csv" and "X-B" not in audit.headers


@pytest.mark.parametrize(
    "month", ["../../etc/passwd", "2026-13", "2026-00", "99999-01", "2026-01\r\nX: y", "２０２６-０１", "-1"]
)
def test_a_bad_month_is_one_clear_400(app: Flask, month: str) -> None:
    root = log_in(app, "root")
    for path in ("/reports", "/reports/monthly.csv", "/reports/monthly.xlsx"):
        answer = root.get(path, query_string={"month": month}, base_url=BASE)
        assert answer.status_code == 400, (path, month, answer.status_code)
        assert answer.headers["Content-Security-Policy"] == CSP and "Traceback" not in answer.text


def test_bad_dates_and_pages_in_lists_are_ignored(app: Flask) -> None:
    root = log_in(app, "root")
    for query in ("from=../../etc&to=9999-99-99", "from=2026-02-30", "page=-5", "page=99999999999999999999", "page=x"):
        assert "<main" in page(root, f"/quarantine?{query}")
        assert "<main" in page(root, f"/audit?{query}")


@pytest.mark.parametrize(
    "path",
    [
        "/quarantine/..%2F..%2Fetc%2Fpasswd",
        "/quarantine/%2e%2e",
        "/quarantine/..",
        "/quarantine/01arz3ndektsv4rrffq69g5fav",
        "/quarantine/01ARZ3NDEKTSV4RRFFQ69G5FAV%0A",
        "/quarantine/01ARZ3NDEKTSV4RRFFQ69G5FA%00",
        "/quarantine/%252e%252e%252fmeta.json",
    ],
)
def test_quarantine_ids_are_never_paths(app: Flask, path: str) -> None:
    root = log_in(app, "root")
    answer = root.get(path, base_url=BASE)
    assert answer.status_code == 404, (path, answer.status_code)
    assert "root:x:0" not in answer.text and "Traceback" not in answer.text
    answer = root.post(path + "/delete", data={"csrf_token": token_of(page(root, "/"))}, base_url=BASE)
    assert answer.status_code in (404, 405)


def test_a_rerun_takes_a_policy_only_by_name_from_the_list(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    """A path, a file the sender dropped into the inbox, the site config: each refused with
    one line, nothing run."""
    for dropped in (settings.inbox / "evil.yaml", settings.inbox / "soumu" / "evil.yaml"):
        dropped.write_text("name: evil\ntypes:\n  exe: allow\n", encoding="utf-8")
    qid = held[f"soumu/{MARKUP}"]
    root = log_in(app, "root")
    names = ("../../etc/passwd", "/etc/passwd", "evil", "../in/evil", str(settings.inbox / "evil.yaml"), "cdr", "strict.yaml", "")
    for name in names:
        assert post(root, f"/quarantine/{qid}/rerun", policy=name)[0] == 303
        shown = page(root, f"/quarantine/{qid}")
        assert '<div class="flash error" role="alert">ポリシー' in shown, name
    assert not events(settings, "quarantine-rerun")
    assert QuarantineStore(settings.quarantine).get(qid).meta.get("status") in (None, "quarantined")


# ---------------------------------------------------------------- headers, Host, size
def assert_headers(answer: object, where: str) -> None:
    headers = answer.headers  # type: ignore[attr-defined]
    assert headers.get("Content-Security-Policy") == CSP, where
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Cache-Control") == "no-store", where
    assert headers.get("Referrer-Policy") == "no-referrer", where


def test_headers_on_errors_static_and_downloads(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    root = log_in(app, "root")
    asked = {
        "404": lambda: root.get("/no-such-page", base_url=BASE),
        "405": lambda: root.get("/logout", base_url=BASE),
        "400 host": lambda: root.get("/login", base_url="http://evil.example:8765"),
        "413": lambda: root.post("/logout", data={"csrf_token": "x" * 100_000}, base_url=BASE),
        "static": lambda: root.get("/static/console.css", base_url=BASE),
        "static 404": lambda: root.get("/static/../../cdr/console/db.py", base_url=BASE),
        "csv": lambda: root.get("/audit/export.csv", base_url=BASE),
        "xlsx": lambda: root.get("/reports/monthly.xlsx", base_url=BASE),
        "report csv": lambda: root.get("/reports/monthly.csv", base_url=BASE),
        "login": lambda: browser(app).get("/login", base_url=BASE),
        "redirect": lambda: browser(app).get("/", base_url=BASE),
    }
    answers = {}
    for where, ask in asked.items():
        answers[where] = answer = ask()
        answer.get_data()  # a streamed download read to its end before the next request
    from cdr.console import views_users

    def broken() -> None:
        raise RuntimeError("/etc/cdr secret path in an exception")

    monkeypatch.setattr(views_users, "render_template", lambda *a, **k: broken())
    answers["500"] = root.get("/users", base_url=BASE)
    for where, answer in answers.items():
        assert_headers(answer, where)
    assert answers["500"].status_code == 500
    assert "secret path" not in answers["500"].text and "Traceback" not in answers["500"].text
    assert "RuntimeError" not in answers["500"].text
    assert answers["static 404"].status_code == 404 and "sqlite3" not in answers["static 404"].text


@pytest.mark.parametrize(
    "host",
    [
        "evil.example:8765",
        "evil.example",
        "127.0.0.1.evil.example:8765",
        "localhost.evil.example:8765",
        "127.0.0.1:8765.evil.example",
        "127.0.0.1:80",
        "127.0.0.2:8765",
        "[::1]:8765",
        "127.0.0.1:8765@evil.example",
        "",
    ],
)
def test_a_foreign_host_header_is_refused_before_anything(app: Flask, host: str) -> None:
    """DNS rebinding: a page on the internet whose name now resolves to the console sends
    its own name; with a cookie of the console too, nothing is shown."""
    client = log_in(app, "root")
    answer = client.get("/audit", headers={"Host": host}, base_url=BASE)
    assert answer.status_code == 400, host
    assert "監査" not in answer.text.split("<main", 1)[-1][:40] and "console-login" not in answer.text
    assert_headers(answer, host)


def test_a_huge_or_many_field_form_is_refused(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    client = log_in(app, "tanaka")
    token = token_of(page(client, "/"))
    qid = held["soumu/予算.zip"]
    big = client.post(f"/quarantine/{qid}/request", data={"csrf_token": token, "reason": "あ" * 40_000}, base_url=BASE)
    assert big.status_code == 413
    # 10,000 fields within the size limit: parsed quickly, no harm (a form takes the fields it names)
    many = {f"f{i}": "x" for i in range(10_000)}
    started = time.monotonic()
    answer = client.post("/language", data={**many, "csrf_token": token, "lang": "ja"}, base_url=BASE)
    assert answer.status_code in (303, 413) and time.monotonic() - started < 2
    assert open_db(settings).requests(quarantine_id=qid, status="pending") == []


def test_a_malformed_utf8_form_is_no_error_page(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    client = log_in(app, "tanaka")
    token = token_of(page(client, "/"))
    qid = held["soumu/予算.zip"]
    body = b"csrf_token=" + token.encode() + b"&reason=%ff%fe%c3%28%ed%a0%80"
    answer = client.post(
        f"/quarantine/{qid}/request", data=body, content_type="application/x-www-form-urlencoded", base_url=BASE
    )
    assert answer.status_code in (303, 400), answer.status_code
    login = browser(app).post(
        "/login", data=b"username=%ff%fe&password=%80&csrf_token=%c3", content_type="application/x-www-form-urlencoded",
        base_url=BASE,
    )  # fmt: skip
    assert login.status_code == 400 and "Traceback" not in login.text
    # whatever was kept of the reason, it is text in the log (decoded, no surrogates)
    for record in events(settings, "original-requested"):
        json.dumps(record, ensure_ascii=False).encode("utf-8")


def test_a_csp_report_of_deep_json_is_a_400(app: Flask) -> None:
    client = browser(app)
    answer = client.post("/csp-report", data="[" * 20_000 + "]" * 20_000, content_type="application/csp-report", base_url=BASE)
    assert answer.status_code == 400


def test_a_csp_report_is_bounded_in_size_and_rate(app: Flask, settings: Settings) -> None:
    client = browser(app)
    big = client.post("/csp-report", data=b"{" + b" " * 200_000 + b"}", content_type="application/csp-report", base_url=BASE)
    assert big.status_code == 413
    report = {"csp-report": {"violated-directive": "script-src", "blocked-uri": "x" * 5000}}
    codes = [
        client.post("/csp-report", data=json.dumps(report), content_type="application/csp-report", base_url=BASE).status_code
        for _ in range(40)
    ]
    assert codes.count(204) <= 30 and codes[-1] == 429
    assert all(len(r.get("blocked_uri", "")) <= 300 for r in events(settings, "console-csp-report"))


def test_a_csp_report_from_anyone_is_text_on_the_audit_page(app: Flask, settings: Settings) -> None:
    """/csp-report needs no login: what it writes into the log is shown to the administrator
    as text, and exported inert."""
    body = {"csp-report": {"document-uri": "=HYPERLINK(\"https:evil.example\")", "blocked-uri": "<script>alert(9)</script>"}}
    answer = browser(app).post("/csp-report", data=json.dumps(body), content_type="application/csp-report", base_url=BASE)
    assert answer.status_code == 204
    root = log_in(app, "root")
    html = page(root, "/audit?event=console-csp-report")
    assert "<script>alert(9)" not in html and "&lt;script&gt;alert(9)&lt;/script&gt;" in html
    cells = exported_cells(root.get("/audit/export.csv?event=console-csp-report", base_url=BASE).data)
    assert '\'=HYPERLINK("https:evil.example")' in cells


def test_the_language_switch_never_leaves_the_site(app: Flask) -> None:
    client = log_in(app, "tanaka")
    for target in ("/\t/evil.example/", "/\x0b/evil.example", "/%09/evil.example", "\t//evil.example"):
        _code, _text = 0, ""
        answer = client.post(
            "/language", data={"lang": "ja", "next": target, "csrf_token": token_of(page(client, "/"))}, base_url=BASE
        )
        location = answer.headers["Location"]
        squeezed = re.sub(r"[\t\n\r]", "", location)  # what a browser does to a URL first
        assert not squeezed.startswith(("//", "/\\")) and "evil.example" not in squeezed.split("/")[2:3], target


# ---------------------------------------------------------------- what the dashboard tells staff
def test_the_dashboard_shows_staff_no_other_departments_file_names(app: Flask, settings: Settings) -> None:
    write_status(
        settings.spool,
        {"pid": os.getpid(), "heartbeat": 9e9, "queue": 1, "in_flight": ["kikaku/極秘_人事異動.xlsx", "soumu/回覧.pdf"]},
    )
    try:
        assert "回覧.pdf" in page(log_in(app, "root"), "/")
        html = page(log_in(app, "tanaka"), "/")
        assert "回覧.pdf" in html and "人事異動" not in html
    finally:
        (settings.spool / "status.json").unlink()


# ---------------------------------------------------------------- guessing passwords
def test_one_client_may_try_only_so_many_logins_whatever_the_names(app: Flask, settings: Settings) -> None:
    client = browser(app)
    address = client.environ_base["REMOTE_ADDR"]
    codes = [try_login(client, f"guess{i}", "wrong-password-123")[0] for i in range(CLIENT_ATTEMPTS)]
    assert codes == [401] * CLIENT_ATTEMPTS
    for _ in range(3):
        status, text = try_login(client, "tanaka", password_of("tanaka"))  # even the right one
        assert status == 429 and "この端末からのログインの試行が多すぎます。" in text
    locked = [r for r in events(settings, "console-locked-out") if r.get("client") == address]
    assert len(locked) == 1 and locked[0]["locked"] == "client"
    failed = [r for r in events(settings, "console-login-failed") if r.get("client") == address]
    assert len(failed) == CLIENT_ATTEMPTS and not any("guess" in json.dumps(r) for r in failed)  # typed names unlogged


def test_an_account_is_locked_after_wrong_passwords_and_audited_once(app: Flask, settings: Settings) -> None:
    attacker = browser(app)
    codes = [try_login(attacker, "locked", f"wrong-{i}-password")[0] for i in range(LOCKOUT_FAILURES + 5)]
    assert codes[: LOCKOUT_FAILURES - 1] == [401] * (LOCKOUT_FAILURES - 1) and set(codes[LOCKOUT_FAILURES - 1 :]) == {429}
    # the right password from the computer that guessed is refused too (another computer's
    # is not: see the test below, and tests/test_console_lockout.py for a lock everywhere)
    status, text = try_login(attacker, "locked", password_of("locked"))
    assert status == 429 and "このアカウントは" in text and "この端末からはログインできません" in text
    locked = [r for r in events(settings, "console-locked-out") if r.get("user") == "locked"]
    assert len(locked) == 1 and locked[0]["locked"] == "account"


def test_an_attacker_cannot_lock_the_administrator_out_of_another_computer(app: Flask) -> None:
    attacker = browser(app)
    for i in range(LOCKOUT_FAILURES + 1):
        try_login(attacker, "boss", f"guess-{i}-password")
    assert try_login(browser(app), "boss", password_of("boss"))[0] == 303


def test_the_lockout_tells_no_account_names(app: Flask) -> None:
    def tries(name: str) -> list[int]:
        client = browser(app)
        return [try_login(client, name, f"wrong-{i}-password")[0] for i in range(LOCKOUT_FAILURES + 1)]

    assert tries("nobody-here") == tries("probe")


def test_a_wrong_name_costs_as_long_as_a_wrong_password(app: Flask) -> None:
    """The time of an answer tells no names: a name with no account costs a hash too."""

    def median(name: str) -> float:
        spent = []
        for i in range(5):
            client = browser(app)
            form = client.get("/login", base_url=BASE)
            data = {"username": name, "password": f"wrong-{i}-x", "csrf_token": token_of(form.text)}
            started = time.perf_counter()
            client.post("/login", data=data, base_url=BASE)
            spent.append(time.perf_counter() - started)
        return sorted(spent)[2]

    known, unknown = median("clock"), median("no-such-person")
    assert 0.4 < unknown / known < 2.5, (known, unknown)  # a hash each; 2 shared cores are noisy


def test_ppap_unlock_is_rate_limited_and_its_passwords_are_kept_nowhere(
    app: Flask, settings: Settings, held: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """tanaka guesses the PPAP's password five times; the sixth try, with the right one, is
    refused too. sato, who got the password, opens it. Neither password is in the audit
    log, the console's database, a page or the log output."""
    qid = held["soumu/見積書.zip"]
    tanaka = log_in(app, "tanaka")
    for i in range(5):
        assert post(tanaka, f"/quarantine/{qid}/unlock", password=f"{WRONG_PPAP}{i}")[0] == 303
    assert post(tanaka, f"/quarantine/{qid}/unlock", password=PPAP_PASSWORD)[0] == 303
    refused = page(tanaka, f"/quarantine/{qid}")
    assert "パスワードを 5 回間違えました。" in refused and WRONG_PPAP not in refused
    sato = log_in(app, "sato")
    assert post(sato, f"/quarantine/{qid}/unlock", password=PPAP_PASSWORD)[0] == 303
    opened = page(sato, f"/quarantine/{qid}")
    assert '<div class="flash" role="status">' in opened and PPAP_PASSWORD not in opened
    unlocked = [r for r in events(settings, "unlock") if r.get("quarantine_id") == qid]
    assert unlocked and unlocked[-1].get("via") == "console"
    places = [*settings.audit.parent.iterdir(), *settings.console_db.parent.glob("console.db*")]  # type: ignore[union-attr]
    for place in places:
        data = place.read_bytes()
        for secret in (PPAP_PASSWORD, WRONG_PPAP):
            assert secret.encode() not in data and secret.encode("utf-16-le") not in data, place
    assert PPAP_PASSWORD not in caplog.text and WRONG_PPAP not in caplog.text


# ---------------------------------------------------------------- ten thousand held files
def test_a_list_of_ten_thousand_entries_pages_quickly(app: Flask, settings: Settings, tmp_path: Path) -> None:
    """10,000 entries (copies of one held file's meta.json, the original hard-linked): the
    list shows 50 with a next page, quickly, and a search runs over all of them."""
    from dataclasses import replace

    from cdr.names import new_id

    store = QuarantineStore(settings.quarantine)
    model = next(e for e in store.entries() if e.meta.get("input") == "soumu/予算.zip")
    root = tmp_path / "q"
    root.mkdir()
    meta = dict(model.meta)
    for i in range(10_000):
        qid = new_id()
        folder = root / qid
        folder.mkdir()
        os.link(model.folder / "original.bin", folder / "original.bin")
        meta.update(id=qid, file_id=qid, input=f"soumu/書類{i:05d}.zip", relative=f"soumu/書類{i:05d}.zip")
        (folder / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    big = create_app(replace(settings, quarantine=root))
    client = log_in(big, "tanaka")
    spent = []
    for query in ("", "?page=2", "?q=書類09999", "?page=200"):
        started = time.monotonic()
        html = page(client, f"/quarantine{query}")
        spent.append(time.monotonic() - started)
        if query in ("", "?page=2"):
            assert len(set(re.findall(r'href="/quarantine/([0-9A-Z]{26})"', html))) == 50 and "page=" in html
    assert "書類09999.zip" in html or "書類09999" in page(client, "/quarantine?q=書類09999")
    print("list of 10,000: first, page 2, search, page 200 (s):", [round(s, 2) for s in spent])
    assert spent[0] < 15 and max(spent[1:]) < 3, spent


# ---------------------------------------------------------------- the real server (gunicorn)
@pytest.fixture(scope="module")
def server(appliance: tuple[Settings, dict[str, str]]) -> Iterator[tuple[str, int, Path]]:
    """`cdr console` (gunicorn, two sync workers) on a free loopback port over the seeded
    appliance: (host, port, the server's log file)."""
    from tests.browser import Appliance, start_console

    settings = appliance[0]
    place = Appliance(settings.inbox.parent)
    place.config.write_text(
        f"inbox: in\noutbox: out\nspool: spool\nquarantine: q\naudit: log/audit.jsonl\n"
        f"policy: {settings.policy}\nconsole_db: console.db\nworkers: 1\n",
        encoding="utf-8",
    )
    console, url = start_console(place)
    host, port = url.removeprefix("http://").split(":")
    try:
        yield host, int(port), place.server_log
    finally:
        console.stop()


def raw(server: tuple[str, int, Path], method: str, path: str, body: bytes | None = None, **headers: str) -> http.client.HTTPResponse:
    host, port, _log = server
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
    for name, value in headers.items():
        connection.putheader(name.replace("_", "-"), value)
    if body is not None and "Transfer_Encoding" not in headers:
        connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    answer = connection.getresponse()
    answer.read()
    connection.close()
    return answer


def real_login(server: tuple[str, int, Path], name: str, password: str) -> tuple[http.client.HTTPResponse, str]:
    """A login over real HTTP: (the answer, the Cookie header a browser would send next)."""
    from urllib.parse import urlencode

    host, port, _log = server
    connection = http.client.HTTPConnection(host, port, timeout=30)
    connection.request("GET", "/login")
    form = connection.getresponse()
    html = form.read().decode()
    flash = form.getheader("Set-Cookie", "").split(";")[0]
    body = urlencode({"username": name, "password": password, "csrf_token": token_of(html)})
    connection.request("POST", "/login", body, {"Cookie": flash, "Content-Type": "application/x-www-form-urlencoded"})
    answer = connection.getresponse()
    answer.read()
    connection.close()
    cookies = [c.split(";")[0] for c in answer.headers.get_all("Set-Cookie") or []]
    return answer, "; ".join(c for c in cookies if c.startswith("cdr_session="))


def test_real_server_cookies_and_headers(server: tuple[str, int, Path]) -> None:
    answer, cookie = real_login(server, "kimura", password_of("kimura"))
    assert answer.status == 303
    (session,) = [c for c in answer.headers.get_all("Set-Cookie") or [] if c.startswith("cdr_session=")]
    attributes = {a.strip().lower() for a in session.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes and "secure" not in attributes
    assert not any(a.startswith(("expires", "max-age", "domain")) for a in attributes)
    for path in ("/", "/quarantine", "/requests", "/static/console.css", "/nowhere"):
        page_ = raw(server, "GET", path, Cookie=cookie)
        assert page_.getheader("Content-Security-Policy") == CSP, path
        assert page_.getheader("Cache-Control") == "no-store" and page_.getheader("X-Content-Type-Options") == "nosniff"


def test_real_server_refuses_a_rebound_host(server: tuple[str, int, Path]) -> None:
    _host, port, _log = server
    _answer, cookie = real_login(server, "kimura", password_of("kimura"))
    for host in (f"evil.example:{port}", f"attacker.example.127.0.0.1.nip.io:{port}", "evil.example"):
        answer = raw(server, "GET", "/quarantine", Host=host, Cookie=cookie)
        assert answer.status == 400 and answer.getheader("Content-Security-Policy") == CSP, host


def test_gunicorns_own_error_pages_reflect_nothing_live(server: tuple[str, int, Path]) -> None:
    """A request gunicorn refuses before the console sees it (a bad header name, a header too
    long) gets gunicorn's page: whatever it repeats of the request is escaped."""
    host, port, _log = server
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nBad<svg onload=alert(1)>: 1\r\n\r\n")
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400") and b"<svg" not in answer and b"&lt;svg" in answer
    too_long = raw(server, "GET", "/login", X_Filler="<script>" + "a" * 9000)
    assert too_long.status == 431


def test_a_chunked_body_past_the_limit_is_refused(server: tuple[str, int, Path], settings: Settings) -> None:
    """No Content-Length: the limit holds for a body sent in chunks too."""
    host, port, _log = server
    report = json.dumps({"csp-report": {"blocked-uri": "x" * 200_000}}).encode()
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(
            f"POST /csp-report HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/csp-report\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        )
        try:
            for start in range(0, len(report), 16384):
                piece = report[start : start + 16384]
                connection.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
            connection.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the rest is sent
        answer = connection.recv(65536)
    assert answer.startswith((b"HTTP/1.1 413", b"HTTP/1.1 400")), answer[:200]
    reports = [r for r in events(settings, "console-csp-report") if r.get("client") == "127.0.0.1"]
    assert not [r for r in reports if "xxxxxxxx" in r.get("blocked_uri", "")]


def test_the_server_log_and_process_titles_keep_no_secret(
    server: tuple[str, int, Path], settings: Settings, held: dict[str, str]
) -> None:
    """An unlock with the password in the form, and one with it in the query string of the
    POST too: the access log, the error log and every process's command line of the console
    have neither password, nor the session token, nor the form token."""
    from urllib.parse import quote, urlencode

    _host, _port, log = server
    _answer, cookie = real_login(server, "tanaka", password_of("tanaka"))
    home = raw(server, "GET", "/", Cookie=cookie)
    assert home.status == 200
    connection = http.client.HTTPConnection(server[0], server[1], timeout=60)
    connection.request("GET", "/", headers={"Cookie": cookie})
    token = token_of(connection.getresponse().read().decode())
    qid = held["soumu/予算.zip"]
    secret = WRONG_PPAP + "-server"
    for query in ("", f"?password={quote(secret)}"):
        body = urlencode({"password": secret, "csrf_token": token})
        connection.request(
            "POST", f"/quarantine/{qid}/unlock{query}", body,
            {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert connection.getresponse().read() is not None
    connection.close()
    time.sleep(0.5)  # gunicorn writes its access line after the answer
    text = log.read_text(encoding="utf-8", errors="replace")
    assert f"POST /quarantine/{qid}/unlock" in text
    session = cookie.split("=", 1)[1]
    for kept in (secret, quote(secret), session, token):
        assert kept not in text, kept[:12]
    titles = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            titles.append(Path(f"/proc/{pid}/cmdline").read_bytes())
        except OSError:
            continue
    assert not [t for t in titles if secret.encode() in t or session.encode() in t]


def test_a_few_idle_connections_do_not_stop_the_console(server: tuple[str, int, Path]) -> None:
    """Slow loris: connections that send half a request and wait. With the console listening
    on the LGWAN-side address (as the README allows), any computer there can do it."""
    host, port, _log = server
    idle = []
    try:
        for _ in range(4):
            connection = socket.create_connection((host, port), timeout=10)
            connection.sendall(f"GET /login HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
            idle.append(connection)
        connection = http.client.HTTPConnection(host, port, timeout=8)
        connection.request("GET", "/login")
        assert connection.getresponse().status == 200
    finally:
        for connection in idle:
            connection.close()



# ---------------------------------------------------------------- more numbers and names from outside
def test_a_request_number_too_big_for_the_database_is_one_clear_refusal(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    root = log_in(app, "root")
    for number in ("9223372036854775808", "99999999999999999999999"):
        for verb in ("approve", "reject"):
            code, _text = post(root, f"/requests/{number}/{verb}", comment="x")
            assert code in (303, 404), (number, verb, code)
    assert "Traceback" not in caplog.text and "OverflowError" not in caplog.text


def test_a_forwarded_for_header_does_not_reset_the_login_limit(app: Flask) -> None:
    """Without a proxy that is trusted, X-Forwarded-For is the attacker's own text."""
    client = browser(app)
    codes = []
    for i in range(CLIENT_ATTEMPTS + 2):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.0.{i}.1"
        codes.append(try_login(client, f"nobody{i}", "wrong-password-123")[0])
    assert codes[-1] == 429 and codes.count(401) == CLIENT_ATTEMPTS


def test_a_backslash_in_a_name_makes_no_department(app: Flask, settings: Settings, tmp_path: Path) -> None:
    """A file straight in the inbox (no department) named ``soumu\\給与.pdf``: on Linux a
    backslash is a character of the name, not a folder; soumu's staff must not see it as
    theirs, nor approve its original."""
    from dataclasses import replace

    store = QuarantineStore(settings.quarantine)
    model = next(e for e in store.entries() if e.meta.get("input") == "soumu/予算.zip")
    root = tmp_path / "q"
    shutil.copytree(model.folder, root / model.id)
    meta = {**model.meta, "input": "soumu\\給与一覧.zip", "relative": "soumu\\給与一覧.zip"}
    (root / model.id / META).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    other = create_app(replace(settings, quarantine=root))
    assert "給与一覧" in page(log_in(other, "root"), "/quarantine")
    assert "給与一覧" not in page(log_in(other, "tanaka"), "/quarantine")


def test_chromium_stays_on_the_console_after_the_language_switch(server: tuple[str, int, Path], tmp_path: Path) -> None:
    """The hole above in the browser a clerk uses: the server once sent it to //evil.example/x
    (gunicorn drops the tab), and only the CSP's ``form-action 'self'`` kept Chromium from
    following. Now the server refuses such a ``next`` and sends the browser to the dashboard."""
    from tests.browser import Visitor, chromium, chromium_missing

    if reason := chromium_missing():
        pytest.skip(reason)
    host, port, _log = server
    # no network: evil.example resolves nowhere, the address bar still says where it went
    driver = chromium(tmp_path / "profile", "--host-resolver-rules=MAP evil.example 127.0.0.1:9")
    try:
        visitor = Visitor(driver, f"http://{host}:{port}")
        visitor.login("yamada", password_of("yamada"))
        visitor.open("/quarantine")
        # what an attacker's page cannot do without the token; the point is where the server sends the browser
        driver.execute_script("document.querySelector('input[name=next]').value = '/\\t/evil.example/x'")
        driver.find_element("css selector", "form[action$='/language'] button[type=submit]").click()
        deadline = time.monotonic() + 6
        while "/quarantine" in driver.current_url and time.monotonic() < deadline:
            time.sleep(0.2)
        assert driver.current_url == f"http://{host}:{port}/", driver.current_url
    finally:
        driver.quit()


def console_processes(settings: Settings) -> list[int]:
    """The pids of the running `cdr console` of this appliance (its master and workers), by
    the config file in their environment."""
    wanted = f"CDR_CONFIG={settings.inbox.parent / 'cdr.yaml'}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if wanted in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                found.append(int(pid))
        except OSError:
            continue
    return found


def test_the_console_never_dumps_core(server: tuple[str, int, Path], settings: Settings) -> None:
    """A worker holds a PPAP password while it unlocks; a crash must not write its memory to
    /var/lib/systemd/coredump or a core file."""
    pids = console_processes(settings)
    assert len(pids) >= 3, pids  # the master and two workers
    for pid in pids:
        limits = Path(f"/proc/{pid}/limits").read_text()
        (line,) = [x for x in limits.splitlines() if x.startswith("Max core file size")]
        assert line.split()[4:6] == ["0", "0"], (pid, line)


def test_the_console_database_is_private(server: tuple[str, int, Path], settings: Settings) -> None:
    """It holds password hashes and session rows: 0600, its WAL files too."""
    assert settings.console_db is not None
    for path in settings.console_db.parent.glob(settings.console_db.name + "*"):
        assert path.stat().st_mode & 0o077 == 0, (path, oct(path.stat().st_mode))
