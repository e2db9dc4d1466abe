"""Login lockouts in the console's database: per name and client, and per name everywhere
(``cdr.console.db``); the client behind a named proxy; a session's absolute lifetime. The
attacks that led to them are in tests/test_console_attacks.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdr.console.db import ACCOUNT_FAILURES, LOCKOUT_FAILURES, LOCKOUT_SECONDS, ConsoleDB, LockedOut, open_db
from tests.test_console_db import NOW, RIGHT, settings_for


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConsoleDB:
    """An account ``boss``; a password check without its scrypt (what is counted is the
    point here, not what a guess costs: test_console_db.py times that)."""
    console = open_db(settings_for(tmp_path))
    monkeypatch.setattr("cdr.console.db.check_password", lambda password, _stored: password != "not-the-password")
    monkeypatch.setattr("cdr.console.db.waste_time", lambda _password: None)
    console.add_user("boss", "admin", [], RIGHT)
    return console


def guess(db: ConsoleDB, name: str, client: str, at: float) -> str:
    """One wrong password: 'wrong', or how the lockout said no ('here', 'everywhere')."""
    try:
        assert db.login(name, "not-the-password", client, at) is None
    except LockedOut as locked:
        return "everywhere" if locked.everywhere else "here"
    return "wrong"


def test_a_lock_from_one_computer_leaves_the_others_in(db: ConsoleDB) -> None:
    said = [guess(db, "boss", "192.0.2.66", NOW + n) for n in range(LOCKOUT_FAILURES + 2)]
    assert said == ["wrong"] * (LOCKOUT_FAILURES - 1) + ["here"] * 3
    with pytest.raises(LockedOut) as locked:
        db.login("boss", RIGHT, "192.0.2.66", NOW + 10)
    assert "この端末からはログインできません" in locked.value.ja and not locked.value.started
    assert db.login("boss", RIGHT, "192.0.2.1", NOW + 11) is not None


def test_guesses_from_many_computers_lock_the_name_everywhere(db: ConsoleDB) -> None:
    """Four wrong passwords from each of many addresses (none of them locked on its own):
    at ACCOUNT_FAILURES in the window, nobody logs in, the right password not either."""
    said = [
        guess(db, "boss", f"198.51.100.{n // (LOCKOUT_FAILURES - 1)}", NOW + n * 0.1) for n in range(ACCOUNT_FAILURES)
    ]
    assert said == ["wrong"] * (ACCOUNT_FAILURES - 1) + ["everywhere"]
    with pytest.raises(LockedOut) as locked:
        db.login("boss", RIGHT, "192.0.2.1", NOW + 60)
    assert locked.value.everywhere and "どの端末からもログインできません" in locked.value.ja
    assert locked.value.until == NOW + (ACCOUNT_FAILURES - 1) * 0.1 + LOCKOUT_SECONDS
    assert db.login("boss", RIGHT, "192.0.2.1", locked.value.until + 1) is not None


def test_a_lock_everywhere_is_audited_once_as_such(tmp_path: Path, db: ConsoleDB) -> None:
    from dataclasses import replace

    from cdr.audit import records
    from cdr.console import workflow as wf

    settings = replace(settings_for(tmp_path), audit=tmp_path / "audit.jsonl")
    for n in range(ACCOUNT_FAILURES + 3):
        try:
            wf.login(db, settings, "boss", "not-the-password", f"198.51.100.{n // (LOCKOUT_FAILURES - 1)}", NOW + n * 0.1)
        except LockedOut:
            pass
    locks = [r for r in records(settings.audit) if r["event"] == "console-locked-out"]
    assert [(r["user"], r["locked"]) for r in locks] == [("boss", "account-everywhere")]


def test_a_name_with_no_account_is_locked_like_one_with(db: ConsoleDB) -> None:
    for name in ("boss", "nobody-at-all"):
        said = [guess(db, name, "203.0.113.9", NOW + n) for n in range(LOCKOUT_FAILURES + 1)]
        assert said == ["wrong"] * (LOCKOUT_FAILURES - 1) + ["here"] * 2, name


def test_the_database_keeps_no_typed_name(db: ConsoleDB) -> None:
    """People type their password into the name box: the rate limits keep its hash only."""
    guess(db, "Password-Typed-As-Name-77", "203.0.113.10", NOW)
    raw = db.path.read_bytes() + Path(f"{db.path}-wal").read_bytes()
    assert b"Password-Typed-As-Name-77" not in raw


def test_a_new_password_lifts_a_lock_everywhere(db: ConsoleDB) -> None:
    for n in range(ACCOUNT_FAILURES):
        guess(db, "boss", f"198.51.100.{n // (LOCKOUT_FAILURES - 1)}", NOW + n * 0.1)
    db.set_password("boss", "another-long-one")
    assert db.login("boss", "another-long-one", "192.0.2.1", NOW + 30) is not None


def login_failed_from(tmp_path: Path, proxy: str, peer: str, forwarded: str) -> str:
    """The client a wrong login is audited with, the console trusting ``proxy``."""
    from dataclasses import replace

    from cdr.audit import records
    from cdr.console.app import create_app
    from tests.test_console_app import token_of

    settings = replace(settings_for(tmp_path), console_proxy=proxy)
    client = create_app(settings).test_client()
    client.environ_base.update(REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    form = client.get("/login", base_url="http://127.0.0.1:8765")
    data = {"username": "nobody", "password": "wrong-password-1", "csrf_token": token_of(form.text)}
    assert client.post("/login", data=data, base_url="http://127.0.0.1:8765").status_code == 401
    (failed,) = [r for r in records(settings.audit) if r["event"] == "console-login-failed"]
    return str(failed["client"])


def test_behind_the_named_proxy_the_client_is_the_address_it_saw(tmp_path: Path) -> None:
    """console_proxy: the proxy's last X-Forwarded-For entry is the client (what comes
    before it is the client's own text); from any other peer the header is ignored."""
    assert login_failed_from(tmp_path / "a", "127.0.0.1", "127.0.0.1", "10.9.9.9, 10.20.1.7") == "10.20.1.7"
    assert login_failed_from(tmp_path / "b", "127.0.0.1", "10.20.1.8", "10.20.1.99") == "10.20.1.8"
    assert login_failed_from(tmp_path / "c", "", "127.0.0.1", "10.20.1.7") == "127.0.0.1"
    assert login_failed_from(tmp_path / "d", "127.0.0.1", "127.0.0.1", "not-an-address") == "127.0.0.1"


def test_a_session_ends_twelve_hours_after_its_login_however_busy(db: ConsoleDB) -> None:
    from cdr.console.db import SESSION_LIFETIME

    token, _csrf = db.new_session("boss", NOW)
    idle = 30 * 60.0
    moment = NOW
    while moment + idle / 2 <= NOW + SESSION_LIFETIME:  # used every quarter of an hour all day
        moment += idle / 2
        assert db.session(token, moment, idle) is not None, moment - NOW
    assert db.session(token, NOW + SESSION_LIFETIME + 1, idle) is None
    assert db.sessions_of("boss") == 0  # ended, not only refused


def test_an_unlock_try_is_counted_before_the_pipeline_runs(db: ConsoleDB, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tries sent at once must not all pass a count that each raises only after its run: the
    count already holds this try while the pipeline works, and the sixth is refused unrun."""
    from types import SimpleNamespace

    from cdr.console import Refused
    from cdr.console import workflow as wf

    entry = SimpleNamespace(id="01TESTENTRY", meta={"status": "quarantined", "reason": "encrypted"})
    seen: list[int] = []
    unlocker = SimpleNamespace(unlock=lambda _entry, _password: seen.append(db.count("unlock:boss:01TESTENTRY", wf.UNLOCK_WINDOW, NOW + 9)))
    monkeypatch.setattr(wf, "entry_for", lambda *_args: entry)
    monkeypatch.setattr(wf, "_admin", lambda *_args: unlocker)
    boss = db.user("boss")
    for n in range(wf.UNLOCK_TRIES):
        wf.unlock(db, db.settings, boss, entry.id, f"guess-{n}", NOW + n)
    assert seen == list(range(1, wf.UNLOCK_TRIES + 1))
    with pytest.raises(Refused, match="パスワードを 5 回間違えました。"):
        wf.unlock(db, db.settings, boss, entry.id, "guess-6", NOW + 8)
    assert len(seen) == wf.UNLOCK_TRIES
