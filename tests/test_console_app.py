"""The web console through Flask's test client (no browser): every page for each role,
another department's entry answering 404, CSRF, the headers on every answer, hostile file
names escaped, the idle timeout, the Host check, and the numbers and files the console
shows or hands out equal to what the CLI prints or writes.

The appliance is seeded by the real `cdr batch` over two departments (a text file that is
released, a PPAP zip and a program named .pdf that are held, a file with a hostile name).
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from cdr.audit import records
from cdr.config import Settings
from cdr.console import app as app_module
from cdr.console.app import create_app
from cdr.console.chart import axis
from cdr.console.db import ConsoleDB, open_db
from cdr.console.security import CSP, host_allowed
from cdr.console.serve import AccessLog, check_listen
from cdr.daemon.counters import JAPAN, Counters
from cdr.daemon.status import write_status
from cdr.errors import UsageError
from cdr.quarantine import QuarantineStore
from tests.console_seed import ppap, seeded_appliance
from tests.test_cli import ROOT, cdr, speaking

BASE = "http://127.0.0.1:8765"
PASSWORD = "Kuma-2024-ppap-secret"  # the PPAPs' password, mailed separately
HOSTILE = "<img src=x onerror=alert(1)>\u202egpj.exe"  # shows as ….exe.jpg where bidi is obeyed
ACCOUNTS = {
    "tanaka": ("staff", ["soumu"]),
    "sato": ("approver", ["soumu"]),
    "yamada": ("staff", ["kikaku"]),
    "root": ("admin", []),
}
PAGES = ("/", "/quarantine", "/requests", "/audit", "/reports", "/users")
ALLOWED = {  # which roles may open which page (403 for the others)
    "staff": {"/", "/quarantine", "/requests"},
    "approver": {"/", "/quarantine", "/requests", "/reports"},
    "admin": set(PAGES),
}


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str]]:
    """Settings of a seeded appliance and its held files by name → quarantine ID."""
    program = Path("/bin/true").read_bytes()
    settings, lines = seeded_appliance(
        tmp_path_factory.mktemp("console-app"),
        {
            "soumu/お知らせ.txt": "熊の出没情報\n".encode(),
            "soumu/見積書.zip": ppap(PASSWORD, "見積書.txt", b"estimate\n"),
            "soumu/予算.zip": ppap(PASSWORD, "予算.txt", b"budget\n"),
            "soumu/請求書.pdf": program,
            f"soumu/{HOSTILE}": program,
            "kikaku/計画.zip": ppap(PASSWORD, "計画.txt", b"plan\n"),
            "kikaku/メモ.txt": "会議は3時から\n".encode(),
        },
    )
    assert sorted(line["verdict"] for line in lines) == ["quarantined"] * 5 + ["released"] * 2, lines
    held = {Path(line["input"]).name: line["quarantine_id"] for line in lines if line["quarantine_id"]}
    db = open_db(settings)
    for name, (role, departments) in ACCOUNTS.items():
        db.add_user(name, role, departments, f"{name}-password-long")
    db.close()
    return settings, held


@pytest.fixture(scope="module")
def app(appliance: tuple[Settings, dict[str, str]]) -> Flask:
    return create_app(appliance[0])


@pytest.fixture
def settings(appliance: tuple[Settings, dict[str, str]]) -> Settings:
    return appliance[0]


@pytest.fixture
def held(appliance: tuple[Settings, dict[str, str]]) -> dict[str, str]:
    return appliance[1]


def token_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


CLIENTS = itertools.count(2)


def log_in(app: Flask, name: str) -> FlaskClient:
    """A browser of its own (its own loopback address: logins per client are rate-limited)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"127.0.0.{next(CLIENTS)}"
    form = client.get("/login", base_url=BASE)
    answer = client.post(
        "/login",
        data={"username": name, "password": f"{name}-password-long", "csrf_token": token_of(form.text)},
        base_url=BASE,
    )
    assert answer.status_code == 303, answer.text
    return client


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    answer = client.get(path, base_url=BASE)
    assert answer.status_code == status, (path, answer.status_code, answer.text[:300])
    return answer.text


def cdr_bytes(*args: str | Path) -> bytes:
    """What the CLI writes on stdout, byte for byte."""
    run = subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True, env=speaking("C"))
    assert run.returncode == 0, run.stderr
    return run.stdout


def audit_events(settings: Settings, event: str) -> list[dict]:
    return [r for r in records(settings.audit) if r.get("event") == event]


# ---------------------------------------------------------------- pages and roles
@pytest.mark.parametrize("name", list(ACCOUNTS))
def test_every_page_for_each_role(app: Flask, name: str) -> None:
    client = log_in(app, name)
    role = ACCOUNTS[name][0]
    for path in PAGES:
        allowed = path in ALLOWED[role]
        html = page(client, path, 200 if allowed else 403)
        assert '<html lang="ja">' in html and "<main" in html
        if not allowed:
            assert "この操作を行う権限がありません。" in html


def test_not_logged_in_goes_to_the_login_page(app: Flask) -> None:
    client = app.test_client()
    for path in PAGES:
        answer = client.get(path, base_url=BASE)
        assert answer.status_code == 302 and answer.headers["Location"] == "/login"


def test_staff_see_only_their_departments_files(app: Flask, held: dict[str, str]) -> None:
    soumu, kikaku = log_in(app, "tanaka"), log_in(app, "yamada")
    listed = page(soumu, "/quarantine")
    assert held["見積書.zip"] in listed and held["計画.zip"] not in listed
    assert held["計画.zip"] in page(kikaku, "/quarantine")
    page(soumu, f"/quarantine/{held['見積書.zip']}")
    # another department's entry answers exactly like one that does not exist
    unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    other = soumu.get(f"/quarantine/{held['計画.zip']}", base_url=BASE)
    missing = soumu.get(f"/quarantine/{unknown}", base_url=BASE)
    assert other.status_code == missing.status_code == 404
    assert other.text == missing.text.replace(unknown, held["計画.zip"])  # only the path asked for differs


def test_another_departments_entry_takes_no_action(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    client = log_in(app, "tanaka")
    token = token_of(page(client, "/"))
    before = len(list(records(settings.audit)))
    for action, form in (("request", {"reason": "見たい"}), ("unlock", {"password": "x"})):
        answer = client.post(f"/quarantine/{held['計画.zip']}/{action}", data={**form, "csrf_token": token}, base_url=BASE)
        assert answer.status_code == 404
    assert len(list(records(settings.audit))) == before


def test_staff_cannot_rerun_or_delete(app: Flask, held: dict[str, str]) -> None:
    client = log_in(app, "tanaka")
    token = token_of(page(client, "/"))
    qid = held["見積書.zip"]
    for action in ("rerun", "delete"):
        answer = client.post(f"/quarantine/{qid}/{action}", data={"csrf_token": token, "policy": "strict"}, base_url=BASE)
        assert answer.status_code == 403
    entry = page(client, f"/quarantine/{qid}")
    assert "delete-form" not in entry and "rerun-form" not in entry
    assert 'id="unlock-form"' in entry and 'id="request-form"' in entry


CONSOLE_PASSWORD_STEP = (
    "パスワードを受け取っている場合は、下の「パスワードで開く」に入力してください。"
    "受け取っていない場合は、送信元にパスワードを問い合わせてください。"
)


def test_entry_page_explains_in_the_notices_words(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    html = page(log_in(app, "tanaka"), f"/quarantine/{held['見積書.zip']}")
    explanation = html.split('id="explanation"')[1].split("</section>")[0]
    assert "【パスワードが届くまでお預かりしています】" in explanation
    assert "危険なファイルと判断したわけではありません。" in explanation
    # in front of the console the password goes into the form below, not into a forwarded mail;
    # the notice in the outbox, read by staff without the console, still says to forward it
    assert CONSOLE_PASSWORD_STEP in explanation and "転送" not in explanation
    assert "原本のままで必要な場合は、下の「原本の取り出しを申請する」から申請できます" in explanation
    notice = (settings.outbox / "soumu" / "見積書.zip.quarantined.txt").read_text(encoding="utf-8-sig")
    assert "パスワードが書かれたメールを、受付番号を添えて" in notice and CONSOLE_PASSWORD_STEP not in notice
    life = html.split('id="life"')[1].split("</table>")[0]
    assert 'data-event="received"' in life and 'data-event="quarantined"' in life


def test_unlock_names_the_file_as_staff_find_it_in_the_outbox(tmp_path: Path) -> None:
    # an appliance of its own: what it releases changes no count another test reads
    settings, (line,) = seeded_appliance(tmp_path, {"soumu/回覧.zip": ppap(PASSWORD, "回覧.txt", b"circular\n")})
    open_db(settings).add_user("tanaka", "staff", ["soumu"], "tanaka-password-long")
    client = log_in(create_app(settings), "tanaka")
    qid = line["quarantine_id"]
    shown = page(client, f"/quarantine/{qid}")
    wrong = client.post(f"/quarantine/{qid}/unlock", data={"password": "not-it", "csrf_token": token_of(shown)}, base_url=BASE)
    again = page(client, wrong.headers["Location"])
    assert '<div class="flash error" role="alert">引き続きお預かりしています: パスワードが違います</div>' in again
    explanation = again.split('id="explanation"')[1].split("</section>")[0]
    assert "送信元に正しいパスワードを確かめてから、下の「パスワードで開く」にもう一度入力してください。" in explanation
    right = client.post(f"/quarantine/{qid}/unlock", data={"password": PASSWORD, "csrf_token": token_of(again)}, base_url=BASE)
    done = page(client, right.headers["Location"])
    # the path inside the outbox, where staff look; never the server's folders
    assert '<div class="flash" role="status">soumu/回覧.zip として届けました。</div>' in done
    assert str(settings.outbox) not in done and (settings.outbox / "soumu" / "回覧.zip").is_file()


# ---------------------------------------------------------------- CSRF and what it protects
def test_a_post_without_or_with_a_wrong_csrf_token_is_400_and_changes_nothing(
    app: Flask, settings: Settings, held: dict[str, str]
) -> None:
    client = log_in(app, "tanaka")
    qid = held["見積書.zip"]
    before = len(list(records(settings.audit)))
    for form in ({"reason": "必要です"}, {"reason": "必要です", "csrf_token": "forged"}):
        answer = client.post(f"/quarantine/{qid}/request", data=form, base_url=BASE)
        assert answer.status_code == 400
        assert "送信された内容を受け付けられませんでした" in answer.text
        assert answer.headers["Content-Security-Policy"] == CSP
    assert len(list(records(settings.audit))) == before
    db = open_db(settings)
    assert db.requests(quarantine_id=qid) == []
    # the login form has its token too (a pre-login session)
    fresh = app.test_client()
    fresh.get("/login", base_url=BASE)
    refused = fresh.post("/login", data={"username": "root", "password": "root-password-long"}, base_url=BASE)
    assert refused.status_code == 400 and "cdr_session" not in refused.headers.get("Set-Cookie", "")
    # and logging out
    assert client.post("/logout", base_url=BASE).status_code == 400
    assert page(client, "/quarantine")  # still logged in


def test_request_then_self_approval_refused_then_approved_by_another(
    app: Flask, settings: Settings, held: dict[str, str]
) -> None:
    qid = held["見積書.zip"]
    staff, approver = log_in(app, "tanaka"), log_in(app, "sato")
    answer = staff.post(
        f"/quarantine/{qid}/request",
        data={"reason": "見積の金額を確認するため", "csrf_token": token_of(page(staff, "/"))},
        base_url=BASE,
    )
    assert answer.status_code == 303
    shown = page(staff, answer.headers["Location"])
    assert '<div class="flash" role="status">原本の取り出しを申請しました' in shown
    assert 'id="pending-request"' in shown and 'id="request-form"' not in shown
    number = open_db(settings).requests(quarantine_id=qid)[0].id
    # the staff member cannot approve (role), and the form is not even shown to them
    assert staff.post(f"/requests/{number}/approve", data={"csrf_token": token_of(shown)}, base_url=BASE).status_code == 403
    pending = page(approver, "/requests")
    assert f'data-request="{number}"' in pending and "見積の金額を確認するため" in pending
    done = approver.post(
        f"/requests/{number}/approve", data={"comment": "確認しました", "csrf_token": token_of(pending)}, base_url=BASE
    )
    assert done.status_code == 303
    assert f"申請 {number} を承認し、原本を届けました。" in page(approver, "/requests")
    released = audit_events(settings, "released-original")[-1]
    assert released["requested_by"] == "tanaka" and released["approved_by"] == "sato"
    assert released["approval_comment"] == "確認しました"
    original = QuarantineStore(settings.quarantine).get(qid).original.read_bytes()
    assert (settings.outbox / released["output"]).read_bytes() == original  # as `release --original` does
    assert 'data-status="released"' in page(staff, "/requests")
    # the list reads the entry again now that it changed
    assert qid in page(staff, "/quarantine?status=released-original")
    assert qid not in page(staff, "/quarantine?status=quarantined")


def test_an_approver_cannot_approve_their_own_request(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    approver = log_in(app, "sato")
    token = token_of(page(approver, "/"))
    asked = {"reason": "自分で確認", "csrf_token": token}
    approver.post(f"/quarantine/{held['予算.zip']}/request", data=asked, base_url=BASE)
    (mine,) = open_db(settings).requests(requester="sato")
    refused = approver.post(f"/requests/{mine.id}/approve", data={"csrf_token": token}, base_url=BASE)
    shown = page(approver, refused.headers["Location"])
    assert '<div class="flash error" role="alert">自分の申請は承認も却下もできません。' in shown
    assert open_db(settings).request(mine.id).status == "pending"
    # a program's original cannot be asked for at all: no form, and the server refuses
    program = held["請求書.pdf"]
    shown = page(approver, f"/quarantine/{program}")
    assert 'id="request-form"' not in shown and "原本を画面から取り出すことはできません" in shown
    approver.post(f"/quarantine/{program}/request", data=asked, base_url=BASE)
    assert "画面からは取り出せません" in page(approver, f"/quarantine/{program}")


# ---------------------------------------------------------------- headers, hosts, sizes
def test_every_page_names_its_icon_so_no_browser_asks_for_favicon_ico(app: Flask) -> None:
    client = app.test_client()
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page(client, "/login")
    icon = client.get("/static/favicon.svg", base_url=BASE)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and icon.data.startswith(b"<svg ")


def test_headers_on_every_answer(app: Flask) -> None:
    client = log_in(app, "root")
    answers = [
        client.get("/", base_url=BASE),
        client.get("/no/such/page", base_url=BASE),
        client.get("/static/console.css", base_url=BASE),
        client.get("/quarantine/not-an-id", base_url=BASE),
        client.put("/", base_url=BASE),
        client.get("/", base_url="http://attacker.example:8765"),
        app.test_client().get("/login", base_url=BASE),
    ]
    assert [a.status_code for a in answers] == [200, 404, 200, 404, 405, 400, 200]
    for answer in answers:
        assert answer.headers["Content-Security-Policy"] == CSP
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert answer.headers["Cache-Control"] == "no-store"
        assert "Traceback" not in answer.text


def test_an_error_page_has_no_traceback(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdr.console import views_dashboard

    def broken(_settings: Settings) -> dict:
        raise RuntimeError("secret internals /srv/cdr/spool")

    client = log_in(app, "root")
    monkeypatch.setattr(views_dashboard, "status_report", broken)
    answer = client.get("/", base_url=BASE)
    assert answer.status_code == 500 and answer.headers["Content-Security-Policy"] == CSP
    assert "装置の内部でエラーが起きました。管理者にお知らせください。" in answer.text
    assert "Traceback" not in answer.text and "secret internals" not in answer.text


def test_session_cookie_attributes(app: Flask, appliance: tuple[Settings, dict[str, str]]) -> None:
    for secure, client in ((False, app.test_client()), (True, create_app(appliance[0], secure_cookies=True).test_client())):
        form = client.get("/login", base_url=BASE)
        answer = client.post(
            "/login",
            data={"username": "root", "password": "root-password-long", "csrf_token": token_of(form.text)},
            base_url=BASE,
        )
        cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("cdr_session="))
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert ("Secure" in cookie) is secure


def test_host_header_must_name_the_listening_address() -> None:
    assert host_allowed("127.0.0.1:8765", "127.0.0.1:8765")
    assert host_allowed("localhost:8765", "127.0.0.1:8765")
    assert not host_allowed("127.0.0.1:9999", "127.0.0.1:8765")
    assert not host_allowed("rebind.attacker.example:8765", "127.0.0.1:8765")
    assert host_allowed("10.1.2.3:8765", "10.1.2.3:8765")
    assert not host_allowed("localhost:8765", "10.1.2.3:8765")
    assert host_allowed("[::1]:8765", "[::1]:8765")
    assert host_allowed("10.9.9.9:8765", "0.0.0.0:8765") and not host_allowed("name.example:8765", "0.0.0.0:8765")


def test_a_large_post_is_refused(app: Flask) -> None:
    client = log_in(app, "tanaka")
    answer = client.post("/language", data={"lang": "en", "pad": "x" * 100_000}, base_url=BASE)
    assert answer.status_code == 413 and "送信された内容が大きすぎます。" in answer.text


# ---------------------------------------------------------------- hostile names
def test_a_hostile_name_is_text_on_every_page(app: Flask, held: dict[str, str]) -> None:
    client = log_in(app, "root")
    qid = held[HOSTILE]
    for path in ("/", "/quarantine", f"/quarantine/{qid}", "/audit", "/reports", f"/audit?file={qid}", "/requests"):
        html = page(client, path)
        assert "<img src=x" not in html and "\u202e" not in html  # the bidi override shown as ?
    listed = page(client, "/quarantine")
    assert "&lt;img src=x onerror=alert(1)&gt;?gpj.exe" in listed


# ---------------------------------------------------------------- idle timeout, language
def test_idle_timeout_logs_out(app: Flask, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    client = log_in(app, "tanaka")
    page(client, "/")
    real = app_module.time.time

    class Later:
        @staticmethod
        def time() -> float:
            return real() + settings.console_idle + 60

    monkeypatch.setattr(app_module, "time", Later)
    answer = client.get("/quarantine", base_url=BASE)
    assert answer.status_code == 302 and answer.headers["Location"] == "/login?expired=1"
    assert any(c.startswith("cdr_session=;") for c in answer.headers.getlist("Set-Cookie"))
    monkeypatch.undo()
    assert "一定時間操作がなかったため、ログアウトしました。" in page(client, "/login?expired=1")
    assert client.get("/quarantine", base_url=BASE).status_code == 302  # the session is gone for good


def test_language_per_person(app: Flask, settings: Settings) -> None:
    client = log_in(app, "yamada")
    answer = client.post("/language", data={"lang": "en", "csrf_token": token_of(page(client, "/"))}, base_url=BASE)
    assert answer.status_code == 303
    html = page(client, "/")
    assert '<html lang="en">' in html and "The console now speaks English." in html and "Dashboard" in html
    assert open_db(settings).user("yamada").lang == "en"
    assert '<html lang="ja">' in page(log_in(app, "tanaka"), "/")
    # back to the page the switch was on, never to another site
    back = client.post("/language", data={"lang": "ja", "next": "/quarantine", "csrf_token": token_of(html)}, base_url=BASE)
    assert back.headers["Location"] == "/quarantine"
    for elsewhere in ("//attacker.example/", "/\\attacker.example", "https://attacker.example/"):
        away = client.post("/language", data={"lang": "ja", "next": elsewhere, "csrf_token": token_of(html)}, base_url=BASE)
        assert away.headers["Location"] == "/"


def test_csp_reports_are_audited_without_a_token(app: Flask, settings: Settings) -> None:
    report = {"csp-report": {"document-uri": "http://127.0.0.1:8765/", "violated-directive": "script-src", "blocked-uri": "inline"}}
    answer = app.test_client().post(
        "/csp-report", data=json.dumps(report), content_type="application/csp-report", base_url=BASE
    )
    assert answer.status_code == 204
    recorded = audit_events(settings, "console-csp-report")[-1]
    assert recorded["violated_directive"] == "script-src" and recorded["blocked_uri"] == "inline"


# ---------------------------------------------------------------- the same numbers and files as the CLI
def test_dashboard_counts_equal_cdr_status_json(app: Flask, settings: Settings) -> None:
    snapshot = Counters(settings.audit).snapshot()  # what the daemon writes at its start
    write_status(settings.spool, {"pid": os.getpid(), "heartbeat": 9e9, "queue": 0, "sandbox": "bwrap+seccomp", **snapshot})
    status = json.loads(cdr("status", "--json", "--spool", settings.spool, "--audit", settings.audit).stdout)
    html = page(log_in(app, "root"), "/")
    today = html.split('id="counts-today"')[1].split("</table>")[0]
    found = re.findall(r'<tr class="total" data-verdict="([\w-]+)">.*?data-count="(\d+)"', today, re.S)
    totals = {ending: int(n) for ending, n in found}
    # the numbers of `cdr status --json`: each file by how it stands now (送付, 原本送付, 隔離 …)
    assert {k: n for k, n in totals.items() if n} == status["today"]
    cells = {(d, e): int(n) for d, e, n in re.findall(
        r'data-department="([^"]+)" data-verdict="([\w-]+)">.*?data-count="(\d+)"', today, re.S
    )}  # fmt: skip
    # every file of the seeded day, however a test before this one left it
    per_department = {d: sum(n for (d_, _e), n in cells.items() if d_ == d) for d, _e in cells}
    assert per_department == {"soumu": 5, "kikaku": 2} and sum(totals.values()) == 7
    assert cells[("soumu", "released")] == cells[("kikaku", "released")] == 1
    assert 'id="daemon-state" class="state good" data-alive="true"' in html
    assert '<svg id="chart-30d"' in html and 'id="disk"' in html
    # each sandbox layer in words with its name beside; a name this version has no words for, as itself
    assert '<li data-layer="seccomp">使える機能の制限（システムコール） <code>seccomp</code></li>' in html
    assert '<li data-layer="bwrap"><code>bwrap</code></li>' in html
    now = datetime.now(JAPAN)
    today_ = f"{now.year}年{now.month}月{now.day}日"  # as a clerk writes a day
    assert f"<title>{today_}: 送付 2, 隔離 5</title>" in html  # the bar of today, and its row beside
    assert f"<tr><td class=\"nowrap\">{today_}</td><td class=\"num\">2</td><td class=\"num\">5</td></tr>" in html
    # staff count only their own department
    staff = page(log_in(app, "yamada"), "/").split('id="counts-today"')[1].split("</table>")[0]
    assert "soumu" not in staff and 'data-department="kikaku"' in staff


def test_the_dashboards_tables_sum_each_ending_over_departments_in_the_reports_order() -> None:
    from collections import Counter

    from cdr.console.tallies import table, totals

    counted = Counter({("soumu", "quarantined"): 3, ("kikaku", "quarantined"): 1, ("soumu", "original-released"): 1,
                       ("kikaku", "released"): 2})  # fmt: skip
    assert totals(counted) == {"released": 2, "original-released": 1, "quarantined": 4}
    assert totals(Counter()) == {"released": 0, "quarantined": 0}
    assert table(counted) == [("kikaku", "released", 2), ("kikaku", "quarantined", 1),
                              ("soumu", "original-released", 1), ("soumu", "quarantined", 3)]  # fmt: skip


def test_the_watchers_trouble_is_named_in_words(app: Flask, settings: Settings) -> None:
    problem = {"kind": "job", "message": "kikaku/人事異動.xlsx: disk full", "since": "2026-11-29T01:02:03+00:00", "about": ""}
    in_flight = ["kikaku/極秘_人事異動.xlsx", "soumu/回覧.pdf"]
    write_status(settings.spool, {"pid": os.getpid(), "heartbeat": 9e9, "queue": 1, "problems": [problem], "in_flight": in_flight})
    shown = page(log_in(app, "root"), "/")
    said = '<time>2026年11月29日 10:02</time> ファイルの処理（やり直し待ち） <code>job</code>'
    assert f"{said}: kikaku/人事異動.xlsx: disk full</li>" in shown and "極秘_人事異動.xlsx" in shown
    # staff learn that something is wrong, not another department's file names
    staff = page(log_in(app, "tanaka"), "/")
    assert f"{said}</li>" in staff and "回覧.pdf" in staff and "人事異動" not in staff


def test_audit_csv_export_is_the_clis_bytes(app: Flask, settings: Settings) -> None:
    client = log_in(app, "root")
    cli = cdr_bytes("audit", "export", "--csv", "--audit", settings.audit)
    web = client.get("/audit/export.csv", base_url=BASE)
    assert web.status_code == 200 and web.mimetype == "text/csv"
    assert web.data == cli and web.data.startswith(b"\xef\xbb\xbf")
    only = client.get("/audit/export.csv?event=quarantined", base_url=BASE).data.decode("utf-8-sig").splitlines()
    assert len(only) == 1 + 5 and only[0] == cli.decode("utf-8-sig").splitlines()[0]


def test_monthly_report_files_are_the_clis(app: Flask, settings: Settings, tmp_path: Path) -> None:
    client = log_in(app, "root")
    cli_csv = cdr_bytes("report", "monthly", "--csv", "--audit", settings.audit)
    assert client.get("/reports/monthly.csv", base_url=BASE).data == cli_csv
    cdr("report", "monthly", "--xlsx", tmp_path / "cli.xlsx", "--audit", settings.audit)
    web = client.get("/reports/monthly.xlsx", base_url=BASE)
    assert web.status_code == 200
    ours, theirs = openpyxl.load_workbook(io.BytesIO(web.data)), openpyxl.load_workbook(tmp_path / "cli.xlsx")
    assert ours.sheetnames == theirs.sheetnames == ["ファイル files", "集計 totals"]
    for name in ours.sheetnames:
        assert list(ours[name].values) == list(theirs[name].values)
    assert len(list(ours["ファイル files"].values)) == 1 + 7


def test_the_report_says_reasons_and_types_in_words(app: Flask) -> None:
    html = page(log_in(app, "root"), "/reports")
    totals = html.split('id="report-totals"')[1].split("</table>")[0]
    assert "<td>パスワードで保護されています <code>encrypted</code></td>" in totals
    assert "<td>拡張子と中身が一致しません（偽装の疑い） <code>extension-mismatch</code></td>" in totals
    files = html.split('id="report-rows"')[1].split("</table>")[0]
    assert '<td class="kind">ＺＩＰ形式の圧縮ファイル</td>' in files and '<td class="kind">zip</td>' not in files
    month = datetime.now(JAPAN)
    assert f"<h1>月報 {month.year}年{month.month}月</h1>" in html


def test_the_audit_search_offers_events_in_words(app: Flask) -> None:
    html = page(log_in(app, "root"), "/audit?event=quarantined")
    chosen = html.split('id="a-event"')[1].split("</select>")[0]
    assert '<option value="quarantined" selected>隔離</option>' in chosen
    assert '<option value="received">受付</option>' in chosen
    assert '<option value="console-login">管理画面にログイン</option>' in chosen
    assert '<code class="nowrap">quarantined</code>' in html


@pytest.mark.parametrize(
    ("largest", "ticks"),
    [
        (0, [0, 1]),
        (4, [0, 1, 2, 3, 4]),
        (7, [0, 2, 4, 6, 8]),
        (10, [0, 2, 4, 6, 8, 10]),
        (11, [0, 5, 10, 15]),
        (26, [0, 10, 20, 30]),
        (240, [0, 50, 100, 150, 200, 250]),
    ],
)
def test_the_charts_axis_steps_by_1_2_or_5_times_a_power_of_ten(largest: int, ticks: list[int]) -> None:
    assert axis(largest) == ticks


def test_an_approver_reports_only_their_departments(app: Flask) -> None:
    client = log_in(app, "sato")
    text = client.get("/reports/monthly.csv", base_url=BASE).data.decode("utf-8-sig")
    assert "soumu" in text and "kikaku" not in text
    assert client.get("/reports/monthly.csv?department=kikaku", base_url=BASE).status_code == 404


def test_verify_shows_the_result_and_is_audited(app: Flask, settings: Settings) -> None:
    client = log_in(app, "root")
    answer = client.post("/audit/verify", data={"csrf_token": token_of(page(client, "/audit"))}, base_url=BASE)
    assert 'data-ok="true"' in answer.text and "監査ログは改ざんされていません" in answer.text
    assert audit_events(settings, "console-audit-verified")[-1]["user"] == "root"


def test_verify_names_the_first_bad_record(tmp_path: Path, settings: Settings) -> None:
    copy = tmp_path / "log"
    copy.mkdir()
    for segment in settings.audit.parent.iterdir():
        (copy / segment.name).write_bytes(segment.read_bytes())
    lines = (copy / "audit.jsonl").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace('"event": "', '"event": "x', 1).replace('"event":"', '"event":"x', 1)
    (copy / "audit.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = create_app(replace(settings, audit=copy / "audit.jsonl", console_db=tmp_path / "c.db"))
    ConsoleDB(tmp_path / "c.db").add_user("root", "admin", [], "root-password-long")
    client = log_in(broken, "root")
    answer = client.post("/audit/verify", data={"csrf_token": token_of(page(client, "/audit"))}, base_url=BASE)
    assert 'data-ok="false"' in answer.text and "監査ログに異常があります。正常だった記録は 2 件までです。" in answer.text


def test_users_page_disables_an_account(app: Flask, settings: Settings) -> None:
    open_db(settings).add_user("kimura", "staff", ["soumu"], "kimura-password-long")
    victim, admin = log_in(app, "kimura"), log_in(app, "root")
    html = page(admin, "/users")
    assert 'data-user="kimura" data-disabled="false"' in html
    admin.post("/users/kimura/disable", data={"csrf_token": token_of(html)}, base_url=BASE)
    assert 'data-user="kimura" data-disabled="true"' in page(admin, "/users")
    assert victim.get("/", base_url=BASE).status_code == 302  # its session ended at once
    assert audit_events(settings, "user-disabled")[-1]["admin"] == "root"


def test_admin_reruns_and_deletes(app: Flask, settings: Settings, held: dict[str, str]) -> None:
    client = log_in(app, "root")
    qid = held["請求書.pdf"]
    shown = page(client, f"/quarantine/{qid}")
    assert '<option value="strict">strict</option>' in shown
    answer = client.post(f"/quarantine/{qid}/rerun", data={"policy": "strict", "csrf_token": token_of(shown)}, base_url=BASE)
    again = page(client, answer.headers["Location"])
    assert '<div class="flash error" role="alert">引き続きお預かりしています: ' in again
    rerun = audit_events(settings, "quarantine-rerun")[-1]
    assert (rerun["admin"], rerun["via"], rerun["quarantine_id"]) == ("root", "console", qid)
    refused = client.post(f"/quarantine/{qid}/rerun", data={"policy": "../../etc/passwd", "csrf_token": token_of(shown)}, base_url=BASE)
    assert "ポリシー ../../etc/passwd はありません。" in page(client, refused.headers["Location"])
    gone = client.post(f"/quarantine/{held['計画.zip']}/delete", data={"csrf_token": token_of(shown)}, base_url=BASE)
    assert gone.headers["Location"] == "/quarantine"
    assert held["計画.zip"] not in page(client, "/quarantine")
    assert client.get(f"/quarantine/{held['計画.zip']}", base_url=BASE).status_code == 404
    deleted = audit_events(settings, "quarantine-deleted")[-1]
    assert (deleted["admin"], deleted["quarantine_id"]) == ("root", held["計画.zip"])


def test_only_the_administrator_sees_the_servers_folders(app: Flask, settings: Settings) -> None:
    for name in ("tanaka", "sato"):
        shown = page(log_in(app, name), "/")
        assert "送付先フォルダー" in shown.split('id="disk"')[1] and str(settings.outbox) not in shown
    assert f'<span class="path">{settings.outbox}</span>' in page(log_in(app, "root"), "/")


def test_a_failure_of_the_appliance_names_no_server_folder(
    app: Flask, held: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from cdr.admin import Admin
    from cdr.errors import OperationalError

    def fails(*_args: object, **_kw: object) -> None:
        raise OperationalError("/srv/cdr/quarantine/01ABC: cannot create the quarantine: No space left on device")

    monkeypatch.setattr(Admin, "rerun", fails)
    client = log_in(app, "root")
    qid = held["請求書.pdf"]
    shown = page(client, f"/quarantine/{qid}")
    answer = client.post(f"/quarantine/{qid}/rerun", data={"policy": "strict", "csrf_token": token_of(shown)}, base_url=BASE)
    again = page(client, answer.headers["Location"])
    assert (
        '<div class="flash error" role="alert">装置の側の問題で、この操作を終えられませんでした。'
        "しばらくしてからもう一度試し、続くようなら管理者にお知らせください。</div>"
    ) in again
    assert "/srv/cdr" not in again and "No space left" not in again
    assert "/srv/cdr/quarantine/01ABC: cannot create the quarantine" in caplog.text  # for the administrator


# ---------------------------------------------------------------- the server
def test_every_interface_needs_the_command_line() -> None:
    check_listen("127.0.0.1:8765", False)
    check_listen("0.0.0.0:8765", True)
    for listen in ("0.0.0.0:8765", "[::]:8765"):
        with pytest.raises(UsageError, match="every interface"):
            check_listen(listen, False)


def test_access_log_has_no_query_string_of_a_post() -> None:
    from gunicorn.config import Config

    logger = AccessLog(Config())

    class Answer:
        status, status_code, sent, headers = "200 OK", 200, 10, ()

    class Asked:
        headers: list[tuple[str, str]] = []

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/login", "QUERY_STRING": "password=secret",
               "RAW_URI": "/login?password=secret", "SERVER_PROTOCOL": "HTTP/1.1"}  # fmt: skip
    atoms = logger.atoms(Answer(), Asked(), environ, _elapsed())
    assert "secret" not in atoms["r"] and atoms["q"] == ""
    environ["REQUEST_METHOD"] = "GET"
    assert "secret" in logger.atoms(Answer(), Asked(), environ, _elapsed())["r"]


def _elapsed() -> object:
    from datetime import timedelta

    return timedelta(milliseconds=5)


@pytest.fixture(autouse=True)
def _no_leftover_status(settings: Settings) -> Iterator[None]:
    yield
    (settings.spool / "status.json").unlink(missing_ok=True)
