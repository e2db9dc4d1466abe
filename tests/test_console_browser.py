"""The web console in a real browser (headless Debian Chromium through Selenium), against
`cdr console` running as a real process on an appliance seeded by the real `cdr batch`
(tests/browser.py): what staff, an approver and the administrator see and can do.

The tests share one appliance (seeding it and starting Chromium take most of the time).
Each makes what it needs itself and counts what changed, so any one of them passes alone
(`-k`) or in another order; only the dashboard's counts are those of the seeded day, read
before anything is handled, and the lockout locks kato, whom no other test needs.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import (
    FORM,
    HOSTILE,
    KIKAKU_MACRO,
    LONG_NAME,
    MACRO,
    PPAP,
    PPAP_PASSWORD,
    PROGRAM,
    XSS_NAME,
    Stage,
    Visitor,
    chromium_missing,
    stage,
)

REASON = "委託業者から届いた集計表で、マクロを使って月次集計をするため。"
COMMENT = "業務上必要と確認しました。マクロは開く前に内容を確認すること。"
PROGRAM_REFUSED = "（プログラムとして動くもの）のため、画面からは取り出せません。"
SELF_REFUSED = "自分の申請は承認も却下もできません。別の承認者が判断します。"


@pytest.fixture(scope="module")
def s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    if reason := chromium_missing():
        pytest.skip(reason)
    with stage(tmp_path_factory.mktemp("console")) as ready:
        yield ready


def _request_id(s: Stage, requester: str, qid: str) -> int:
    """The request ``requester`` made for entry ``qid``, from the console's own store."""
    with sqlite3.connect(s.appliance.console_db) as db:
        row = db.execute(
            "SELECT max(id) FROM requests WHERE requester = ? AND quarantine_id = ?", (requester, qid)
        ).fetchone()
    assert row[0] is not None, f"no request of {requester} for {qid}"
    return int(row[0])


def _requests(s: Stage) -> list[tuple]:
    with sqlite3.connect(s.appliance.console_db) as db:
        return db.execute("SELECT * FROM requests ORDER BY id").fetchall()


def _status_of_request(s: Stage, rid: int) -> str:
    with sqlite3.connect(s.appliance.console_db) as db:
        return db.execute("SELECT status FROM requests WHERE id = ?", (rid,)).fetchone()[0]


def _about(records: list[dict], qid: str) -> list[dict]:
    """The records of one held file: what a test did to it, whatever the others did before."""
    return [r for r in records if r.get("quarantine_id") == qid]


def _inject_form(v: Visitor, action: str, **fields: str) -> None:
    """A form the page does not offer, as someone with the browser's developer tools would
    make it: the session's CSRF token and the given fields, posted from the page itself."""
    v.driver.execute_script(
        """const [action, fields] = arguments;
        const form = document.createElement('form');
        form.method = 'post'; form.action = action; form.id = 'forged';
        for (const [name, value] of Object.entries(fields)) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);
        }
        const send = document.createElement('button'); send.type = 'submit'; form.appendChild(send);
        document.body.appendChild(form);""",
        action,
        {"csrf_token": v.find("input[name=csrf_token]").get_attribute("value"), **fields},
    )
    v.submit("#forged")


def test_dashboard_counts_match_cdr_status(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    status = json.loads(a.cdr("status", "--json").stdout)
    assert status["alive"] is True and status["today"] == {"released": 2, "quarantined": 8}, status
    v.as_user("admin")
    v.open("/")
    assert v.find("html").get_attribute("lang") == "ja"
    assert v.find("#daemon-state").get_attribute("data-alive") == "true"
    assert v.text("#daemon-state") == "稼働中"
    for table in ("#counts-today", "#counts-month"):  # seeded today: the month so far is today
        rows = {
            (row.get_attribute("data-department"), row.get_attribute("data-verdict")): int(
                row.find_element("css selector", "[data-count]").get_attribute("data-count")
            )
            for row in v.all(f"{table} tbody tr[data-department]")
        }
        assert rows == {
            ("soumu", "released"): 1,
            ("soumu", "quarantined"): 7,
            ("kikaku", "released"): 1,
            ("kikaku", "quarantined"): 1,
        }
        totals = {
            row.get_attribute("data-verdict"): int(
                row.find_element("css selector", "[data-count]").get_attribute("data-count")
            )
            for row in v.all(f"{table} tfoot tr[data-verdict]")
        }
        assert totals == status["today"]
    assert v.find("svg#chart-30d").is_displayed()
    assert "seccomp" in v.text("#sandbox-layers").split()
    assert v.text("li[data-layer=seccomp]") == "使える機能の制限（システムコール） seccomp"
    assert v.text("#last-error") == "いまエラーはありません。"
    # the login page and the dashboard asked for nothing that is not there (/favicon.ico)
    assert [e["message"] for e in v.driver.get_log("browser") if e["level"] == "SEVERE"] == []


def test_request_approve_release_with_three_accounts(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    qid = a.qid(MACRO)
    v.as_user("tanaka")
    v.open(f"/quarantine/{qid}")
    assert v.text("#entry-name") == "soumu/集計マクロ.docm"
    v.submit("#request-form", reason=REASON)
    rid = _request_id(s, "tanaka", qid)
    assert v.errors() == [] and v.flashes() == [f"原本の取り出しを申請しました（申請番号 {rid}）。"]
    assert v.text("#pending-request").startswith("この原本の取り出しは申請中です（tanaka、")
    asked = [(r["user"], r["reason"], r["via"]) for r in _about(a.events("original-requested"), qid)]
    assert asked == [("tanaka", REASON, "console")]

    # staff decide nothing: no form on their page, and one they make is refused (403)
    v.open("/requests")
    assert not v.all("#pending-requests") and not v.all("form.decide")
    assert REASON in v.text(f"#my-requests tr[data-request='{rid}']")
    _inject_form(v, f"/requests/{rid}/approve", comment="自分で承認")
    assert v.text("h1") == "エラー 403" and v.text(".error-text") == "この操作を行う権限がありません。"
    assert _status_of_request(s, rid) == "pending" and not _about(a.events("released-original"), qid)

    # the approver of soumu sees it and approves it with a comment
    v.as_user("suzuki")
    v.open("/requests")
    row = v.text(f"#pending-requests tr[data-request='{rid}']")
    assert "tanaka" in row and REASON in row and "soumu/集計マクロ.docm" in row
    v.submit(f"#decide-{rid}", comment=COMMENT)
    assert v.errors() == [] and v.flashes() == [f"申請 {rid} を承認し、原本を届けました。"]
    released = a.outbox / "soumu" / "集計マクロ.docm"
    assert hashlib.sha256(released.read_bytes()).hexdigest() == a.lines[MACRO]["sha256"]
    (record,) = _about(a.events("released-original"), qid)
    assert (record["requested_by"], record["approved_by"]) == ("tanaka", "suzuki")
    assert (record["request_reason"], record["approval_comment"]) == (REASON, COMMENT)
    assert [(r["user"], r["comment"]) for r in _about(a.events("original-approved"), qid)] == [("suzuki", COMMENT)]
    assert _status_of_request(s, rid) == "released"
    v.as_user("tanaka")  # the requester sees the decision, by whom, with the comment
    v.open("/requests")
    mine = v.text(f"#my-requests tr[data-request='{rid}']")
    assert "suzuki" in mine and COMMENT in mine
    verified = a.cdr("audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_program_original_is_refused_by_the_console(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    qid = a.qid(PROGRAM)
    v.as_user("tanaka")
    v.open(f"/quarantine/{qid}")
    assert not v.all("#request-form")  # not offered for a program
    assert "実行ファイル（プログラム）" in v.text("#explanation")
    _inject_form(v, f"/quarantine/{qid}/request", reason="請求書なので必要です。")
    (refusal,) = v.errors()
    assert refusal.startswith("このファイルは") and PROGRAM_REFUSED in refusal, refusal
    assert not [r for r in a.events("original-requested") if qid in json.dumps(r)]
    assert not (a.outbox / "soumu" / "請求書.pdf").exists()


def test_no_one_approves_their_own_request(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    qid = a.qid(FORM)
    released_before = len(a.events("released-original"))
    v.as_user("suzuki")  # an approver of soumu asks for a soumu original himself
    v.open(f"/quarantine/{qid}")
    v.submit("#request-form", reason="様式の差し込みを確認するため。")
    rid = _request_id(s, "suzuki", qid)
    v.open("/requests")
    assert v.text(f"#pending-requests tr[data-request='{rid}']")  # listed, without a form
    assert not v.all(f"#decide-{rid}")
    _inject_form(v, f"/requests/{rid}/approve", comment="自分で承認")
    assert v.errors() == [SELF_REFUSED]
    v.as_user("admin")  # not even the administrator decides a request of his own
    v.open(f"/quarantine/{a.qid(KIKAKU_MACRO)}")
    v.submit("#request-form", reason="予算案の様式確認のため。")
    own = _request_id(s, "admin", a.qid(KIKAKU_MACRO))
    v.open("/requests")
    _inject_form(v, f"/requests/{own}/approve", comment="自分で承認")
    assert v.errors() == [SELF_REFUSED]
    assert _status_of_request(s, rid) == _status_of_request(s, own) == "pending"
    assert len(a.events("released-original")) == released_before  # neither was handed over
    assert not (a.outbox / "soumu" / "申請様式.docm").exists()


def test_ppap_unlock_from_the_entry_page(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    qid = a.qid(PPAP)
    notice = a.outbox / "soumu" / "見積書.zip.quarantined.txt"
    held = notice.read_text(encoding="utf-8-sig")
    assert held.startswith("【パスワードが届くまでお預かりしています】")
    v.as_user("tanaka")
    v.open(f"/quarantine/{qid}")
    # the person at the console is told to type the password below, not to forward a mail
    explained = v.text("#explanation")
    assert "パスワードを受け取っている場合は、下の「パスワードで開く」に入力してください。" in explained
    assert "転送" not in explained
    v.submit("#unlock-form", password="wrong-" + PPAP_PASSWORD)
    (said,) = v.errors()
    assert "パスワードが違います" in said, said
    assert notice.read_text(encoding="utf-8-sig").startswith("【パスワードが違っていたため、引き続きお預かりしています】")
    assert not (a.outbox / "soumu" / "見積書.zip").exists()

    v.submit("#unlock-form", password=PPAP_PASSWORD)
    (delivered,) = v.flashes()
    assert v.errors() == [] and delivered == "soumu/見積書.zip として届けました。"  # the path inside the outbox
    with zipfile.ZipFile(a.outbox / "soumu" / "見積書.zip") as released:
        assert released.namelist() == ["見積書.pdf"]
        assert released.read("見積書.pdf").startswith(b"%PDF-")
    assert v.find("#entry-status").get_attribute("data-status") == "released"
    assert [(r.get("admin"), r.get("via")) for r in _about(a.events("unlock"), qid)] == [("tanaka", "console")] * 2
    for where, text in (
        ("audit log", a.audit_text()),
        ("console database", _bytes_of(a.root, "console.db*")),
        ("console's log", s.console.output()),
        ("daemon's log", s.watcher.output()),
        ("quarantine", "".join(_bytes_of(p, "*") for p in a.quarantine.iterdir())),
    ):
        assert PPAP_PASSWORD not in text, f"the PPAP password is in the {where}"


def _bytes_of(folder: Path, pattern: str) -> str:
    return "".join(p.read_bytes().decode("latin-1") for p in folder.glob(pattern) if p.is_file())


def test_hostile_names_are_shown_as_text_on_every_page(s: Stage) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    v, a = s.visitor, s.appliance
    reports_before = len(a.events("console-csp-report"))  # the control test below plants one
    v.csp_violations()  # the browser's log so far, read and so emptied
    entries = [f"/quarantine/{a.qid(name)}" for name in HOSTILE]
    pages = {
        "admin": ("/", "/quarantine", "/requests", "/audit", f"/audit?file={a.qid(HOSTILE[0])}", "/reports", *entries),
        "tanaka": ("/", "/quarantine", "/requests", *entries),
    }
    for who, paths in pages.items():
        v.as_user(who)
        for path in paths:
            v.open(path)
            with pytest.raises(NoAlertPresentException):
                v.driver.switch_to.alert  # noqa: B018 (the property raises when no dialog is open)
            assert not v.all('img[src="x"]') and not v.all("img[onerror]"), path
            assert "\u202e" not in v.driver.page_source, path  # no bidi override reaches the page
    v.as_user("admin")
    v.open("/quarantine")
    listed = v.text("#quarantine-list")
    assert f"soumu/{XSS_NAME}" in listed
    assert "soumu/請求書?fdp.exe" in listed  # the RTLO shown as a ?, the name reads as it is
    assert f"soumu/{LONG_NAME}" in listed.replace("\n", "")
    v.open(entries[0])
    assert v.text("#entry-name") == f"soumu/{XSS_NAME}"
    v.open(entries[1])
    assert v.text("#entry-name") == "soumu/請求書?fdp.exe"
    v.open("/audit")
    assert f"soumu/{XSS_NAME}" in v.text()
    assert len(a.events("console-csp-report")) == reports_before
    assert not v.csp_violations()


def test_the_csp_report_count_sees_a_violation(s: Stage) -> None:
    """The control for the test above: an inline script planted into a page is blocked by
    the CSP, the browser says so, and its report reaches the audit log."""
    v, a = s.visitor, s.appliance
    v.as_user("tanaka")
    v.open("/quarantine")
    reports_before = len(a.events("console-csp-report"))
    v.csp_violations()  # the browser's log so far, read and so emptied
    v.driver.execute_script(
        "const planted = document.createElement('script'); planted.textContent = 'window.__ran = 1';"
        "document.body.appendChild(planted);"
    )
    assert v.driver.execute_script("return window.__ran === undefined")  # blocked
    assert v.csp_violations()
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(v.driver, 10).until(lambda _: len(a.events("console-csp-report")) > reports_before)


def test_a_post_without_its_csrf_token_is_refused(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    v.as_user("tanaka")
    before, requests = a.records(), _requests(s)
    qid = a.qid(FORM)
    status, _ = v.http(f"/quarantine/{qid}/request", {"reason": "トークンなしの申請"})
    assert status == 400
    status, _ = v.http(f"/quarantine/{qid}/request", {"reason": "偽のトークン", "csrf_token": "x" * 43})
    assert status == 400
    status, _ = v.http(f"/quarantine/{a.qid(PROGRAM)}/unlock", {"password": "x"})
    assert status == 400
    assert a.records() == before and _requests(s) == requests
    v.open("/requests")
    assert "トークンなし" not in v.text() and "偽のトークン" not in v.text()


def test_staff_see_only_their_department(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    v.as_user("sato")
    v.open("/quarantine")
    listed = v.text("#quarantine-list")
    assert "kikaku/予算案.docm" in listed and "soumu" not in listed
    shown = {row.get_attribute("data-qid") for row in v.all("#quarantine-list tr[data-qid]")}
    assert shown == {a.qid(KIKAKU_MACRO)}
    status, body = v.http(f"/quarantine/{a.qid(PROGRAM)}")
    assert status == 404 and "請求書" not in body
    v.open(f"/quarantine/{a.qid(MACRO)}")
    assert v.text("h1") == "エラー 404" and "集計マクロ" not in v.text("body")
    v.open("/")  # the dashboard counts only kikaku for him
    departments = {row.get_attribute("data-department") for row in v.all("#counts-today tbody tr[data-department]")}
    assert departments == {"kikaku"}


# how many lines each element's text takes on the screen (rectangles at distinct heights)
LINES_OF = """return Array.from(document.querySelectorAll(arguments[0])).map(el => {
    const range = document.createRange(); range.selectNodeContents(el);
    return new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top))).size; });"""
# cells that must never wrap at 1280 px: numbers, times, departments, names, states
ONE_LINE = {
    "/quarantine": "#quarantine-list tbody td:is(:nth-child(1), :nth-child(2), :nth-child(3), :nth-child(6))",
    "/reports": "#report-rows tbody td:is(:nth-child(1), :nth-child(2), :nth-child(5))",
    "/audit": "#audit-records tbody td:is(:nth-child(1), :nth-child(2), :nth-child(4)), #audit-records code",
}


def test_no_page_is_wider_than_the_window_and_short_cells_keep_to_one_line(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    pages = ("/", "/quarantine", f"/quarantine/{a.qid(PPAP)}", f"/quarantine/{a.qid(MACRO)}", "/requests",
             "/audit", "/reports", "/users")  # fmt: skip
    v.as_user("admin")
    try:
        for lang in ("ja", "en"):
            v.open("/")  # a page of the console with its language switch
            v.submit("form[action$='/language']", lang=lang)
            for width in (1280, 420):
                v.driver.set_window_size(width, 900)
                for path in pages:
                    v.open(path)
                    wide, window = v.driver.execute_script("return [document.documentElement.scrollWidth, innerWidth]")
                    assert wide <= window, (lang, width, path, wide)
                    if width == 1280 and path in ONE_LINE:
                        lines = v.driver.execute_script(LINES_OF, ONE_LINE[path])
                        assert 1 in lines and set(lines) <= {0, 1}, (lang, path, lines)  # 0: an empty cell
    finally:
        v.driver.set_window_size(1280, 900)
        v.open("/")
        v.submit("form[action$='/language']", lang="ja")


def test_repeated_wrong_passwords_lock_the_account(s: Stage) -> None:
    v, a = s.visitor, s.appliance
    for attempt in range(1, 5):
        v.login("kato", "not-his-password")
        assert v.errors() == ["利用者名またはパスワードが違います。"], attempt
    v.login("kato", "not-his-password")  # the fifth in a row
    (locked,) = v.errors()
    assert locked.startswith("パスワードを 5 回続けて間違えたため、このアカウントは ") and "ログインできません。" in locked
    v.login("kato")  # the right password no longer opens it while locked
    (still,) = v.errors()
    assert still.startswith(locked[: locked.index("まで")]), (still, locked)  # locked until the same time
    assert v.all("#login-submit") and not v.all("#signed-in")
    assert [r.get("user") for r in a.events("console-locked-out")] == ["kato"]
