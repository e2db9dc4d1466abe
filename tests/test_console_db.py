"""The console's state in a real SQLite file: migrations, passwords, lockout, sessions,
rate limits — what cdr/console/db.py promises, read back from the file where it matters."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from cdr.config import Settings
from cdr.console import Refused
from cdr.console.db import (
    CLIENT_ATTEMPTS,
    LOCKOUT_SECONDS,
    MIGRATIONS,
    SCHEMA_VERSION,
    ConsoleDB,
    LockedOut,
    open_db,
)
from cdr.console.passwords import check_password, hash_password

NOW = 1_800_000_000.0
IDLE = 30 * 60.0
RIGHT = "correct-horse-battery"


def settings_for(tmp_path: Path) -> Settings:
    return Settings(
        inbox=tmp_path / "in",
        outbox=tmp_path / "out",
        spool=tmp_path / "spool",
        quarantine=tmp_path / "q",
        audit=tmp_path / "audit.jsonl",
        policy=None,
        workers=1,
        console_db=tmp_path / "state" / "console.db",
    )


@pytest.fixture
def db(tmp_path: Path) -> ConsoleDB:
    console = open_db(settings_for(tmp_path))
    console.add_user("tanaka", "staff", ["soumu"], RIGHT)
    return console


def test_a_new_file_is_private_in_wal_mode_and_fully_migrated(db: ConsoleDB) -> None:
    files = sorted(p.name for p in db.path.parent.iterdir())
    assert files == ["console.db", "console.db-shm", "console.db-wal"]
    for name in files:
        assert (db.path.parent / name).stat().st_mode & 0o777 == 0o600, name
    with sqlite3.connect(db.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, SCHEMA_VERSION + 1)) and SCHEMA_VERSION >= 2
    assert db.migrate() == SCHEMA_VERSION  # again: nothing to do, nothing fails


def test_a_file_made_at_migration_1_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    """An appliance updated from the first schema: its accounts and requests stay, and the
    second migration's rule (one pending request per file) holds from then on."""
    path = tmp_path / "state" / "console.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied DOUBLE PRECISION NOT NULL)")
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (1, 0)")
        conn.execute(
            "INSERT INTO users VALUES ('sato', 'approver', ?, 'en', 0, 0, 0, NULL)", (hash_password(RIGHT),)
        )
        conn.execute("INSERT INTO user_departments VALUES ('sato', 'soumu')")
        conn.execute(
            "INSERT INTO requests (quarantine_id, department, requester, reason, created, expires, status)"
            " VALUES ('01M8JRF66ZP9EE6T2590T4RZGZ', 'soumu', 'sato', '監査', ?, ?, 'pending')",
            (NOW, NOW + 3600),
        )
    db = open_db(settings_for(tmp_path))
    assert db.version() == SCHEMA_VERSION
    sato = db.login("sato", RIGHT, "192.0.2.1", NOW)
    assert sato is not None and (sato.role, sato.departments, sato.lang) == ("approver", ("soumu",), "en")
    (old,) = db.requests(status="pending")
    assert (old.requester, old.reason) == ("sato", "監査")
    with pytest.raises(Refused, match="まだ決まっていない取り出し申請が既にあります"):
        db.add_request(old.quarantine_id, "soumu", "sato", "二回目", NOW + 1, NOW + 3600)


def test_passwords_are_scrypt_salted_and_at_least_ten_characters(db: ConsoleDB) -> None:
    stored = hash_password(RIGHT)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**15, 8, 1)
    assert stored != hash_password(RIGHT)  # a fresh salt each time
    assert check_password(RIGHT, stored) and not check_password(RIGHT + "x", stored)
    assert check_password("ｃｏｒｒｅｃｔ－ｈｏｒｓｅ－ｂａｔｔｅｒｙ", stored)  # typed with the input method on
    assert not check_password(RIGHT, "scrypt$1048577$8$1$AAAA$AAAA")  # absurd cost: refused unread
    assert not check_password(RIGHT, "md5$x")
    for weak, said in (("", "パスワードが空です。"), ("          ", "パスワードが空です。"), ("123456789", "10 文字以上")):
        with pytest.raises(Refused, match=said):
            db.add_user("weak", "staff", ["soumu"], weak)
    assert db.user("weak") is None
    db.add_user("ten", "staff", ["soumu"], "0123456789")
    raw = db.path.read_bytes() + Path(f"{db.path}-wal").read_bytes()
    assert RIGHT.encode() not in raw and b"0123456789" not in raw


def test_accounts_are_checked(db: ConsoleDB) -> None:
    cases = [
        (("tanaka", "staff", ["soumu"]), "アカウント tanaka は既にあります。"),
        (("sato", "boss", ["soumu"]), "役割は staff, approver, admin のどれかです。"),
        (("sato", "approver", []), "職員と承認者には部署"),
        (("sato", "staff", ["a/b"]), "部署は受付フォルダの最初のフォルダ名です"),
        (("<script>", "staff", ["soumu"]), "アカウント名は英数字で始まり"),
    ]
    for (name, role, departments), said in cases:
        with pytest.raises(Refused, match=said):
            db.add_user(name, role, departments, RIGHT)
    admin = db.add_user("root", "admin", [], RIGHT, lang="en")
    assert (admin.departments, admin.lang) == ((), "en")
    db.set_lang("tanaka", "en")
    assert [u.name for u in db.users()] == ["root", "tanaka"] and db.user("tanaka").lang == "en"


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(db: ConsoleDB) -> None:
    for n in range(4):
        assert db.login("tanaka", f"wrong-{n}", "192.0.2.1", NOW + n) is None
    with pytest.raises(LockedOut) as locked:
        db.login("tanaka", "wrong-5", "192.0.2.1", NOW + 4)
    assert locked.value.started and locked.value.until == NOW + 4 + LOCKOUT_SECONDS
    assert "パスワードを 5 回続けて間違えたため" in locked.value.ja and "（あと 15 分）" in locked.value.ja
    assert "locked until" in locked.value.en
    with pytest.raises(LockedOut) as still:  # the right password does not open it early
        db.login("tanaka", RIGHT, "192.0.2.1", NOW + 600)
    assert not still.value.started and "17:15 まで（あと 6 分）" in still.value.ja  # 304 s, said rounded up
    user = db.login("tanaka", RIGHT, "192.0.2.1", NOW + 4 + LOCKOUT_SECONDS + 1)
    assert user is not None and user.name == "tanaka"
    assert db.failures("tanaka") == 0


def test_a_right_password_clears_the_count_of_wrong_ones(db: ConsoleDB) -> None:
    for n in range(4):
        db.login("tanaka", "wrong", "192.0.2.1", NOW + n)
    assert db.login("tanaka", RIGHT, "192.0.2.1", NOW + 5) is not None
    assert db.login("tanaka", "wrong", "192.0.2.1", NOW + 6) is None  # one wrong, not the fifth


def test_one_client_trying_many_names_is_slowed(db: ConsoleDB) -> None:
    for n in range(CLIENT_ATTEMPTS):
        assert db.login(f"guess{n}", "whatever", "198.51.100.7", NOW + n) is None
    with pytest.raises(LockedOut) as locked:
        db.login("tanaka", RIGHT, "198.51.100.7", NOW + 30)
    assert locked.value.client and "この端末からのログインの試行が多すぎます" in locked.value.ja
    assert locked.value.started  # the first refusal starts the lock: audited once
    with pytest.raises(LockedOut) as again:
        db.login("tanaka", RIGHT, "198.51.100.7", NOW + 31)
    assert not again.value.started
    assert db.login("tanaka", RIGHT, "192.0.2.1", NOW + 32) is not None  # another client is not held back
    assert db.login("tanaka", RIGHT, "198.51.100.7", NOW + 5 * 60 + 1) is not None  # the window passed


def test_an_unknown_name_costs_as_much_as_a_wrong_password(db: ConsoleDB) -> None:
    def slowest_of_three(name: str) -> float:
        times = []
        for n in range(3):
            start = time.perf_counter()
            db.login(name, f"wrong-{n}", f"203.0.113.{n}", NOW - 3600 * n)
            times.append(time.perf_counter() - start)
        return min(times)

    unknown, known = slowest_of_three("nobody"), slowest_of_three("tanaka")
    assert unknown > 0.5 * known, (unknown, known)  # a scrypt each, not a dictionary lookup


def test_disabled_accounts_cannot_log_in_and_their_sessions_end(db: ConsoleDB) -> None:
    token, _csrf = db.new_session("tanaka", NOW)
    assert db.session(token, NOW + 1, IDLE) is not None
    db.disable("tanaka")
    assert db.session(token, NOW + 2, IDLE) is None
    assert db.login("tanaka", RIGHT, "192.0.2.1", NOW + 3) is None
    assert db.user("tanaka").disabled
    db.enable("tanaka")
    assert db.login("tanaka", RIGHT, "192.0.2.1", NOW + 4) is not None


def test_sessions_keep_only_a_hash_of_the_token_and_end_when_idle(db: ConsoleDB) -> None:
    token, csrf = db.new_session("tanaka", NOW)
    other_token, other_csrf = db.new_session("tanaka", NOW)
    assert len(token) >= 43 and token != other_token and csrf != other_csrf  # 32 random bytes each
    raw = db.path.read_bytes() + Path(f"{db.path}-wal").read_bytes()
    assert token.encode() not in raw and hashlib.sha256(token.encode()).hexdigest().encode() in raw
    seen = db.session(token, NOW + IDLE - 1, IDLE)  # used just in time: the idle clock restarts
    assert seen is not None and (seen.user.name, seen.csrf, seen.last_seen) == ("tanaka", csrf, NOW + IDLE - 1)
    assert db.session(token, NOW + 2 * IDLE - 2, IDLE) is not None
    assert db.session(other_token, NOW + IDLE + 1, IDLE) is None  # idle too long: gone
    assert db.session(other_token, NOW + IDLE + 2, IDLE) is None
    assert db.session("made-up-token", NOW, IDLE) is None
    db.end_session(token)
    assert db.session(token, NOW + 2 * IDLE, IDLE) is None and db.sessions_of("tanaka") == 0


def test_a_new_password_ends_the_sessions_and_lifts_a_lockout(db: ConsoleDB) -> None:
    token, _csrf = db.new_session("tanaka", NOW)
    for n in range(5):
        try:
            db.login("tanaka", "wrong", "192.0.2.1", NOW + n)
        except LockedOut:
            pass
    db.set_password("tanaka", "another-long-one")
    assert db.session(token, NOW + 10, IDLE) is None
    assert db.login("tanaka", "another-long-one", "192.0.2.1", NOW + 11) is not None
    assert db.login("tanaka", RIGHT, "192.0.2.2", NOW + 12) is None
    with pytest.raises(Refused, match="アカウント nobody はありません。"):
        db.set_password("nobody", "another-long-one")


def test_rate_limits_count_within_their_window(db: ConsoleDB) -> None:
    assert [db.allow("k", 3, 60, NOW + n) for n in range(4)] == [True, True, True, False]
    assert db.wait("k", 3, 60, NOW + 10) == 50  # the first of the three leaves the window then
    assert db.allow("k", 3, 60, NOW + 61)
    db.note("failures", NOW)
    assert (db.count("failures", 60, NOW + 59), db.count("failures", 60, NOW + 60)) == (1, 0)


def test_each_thread_uses_its_own_connection(db: ConsoleDB) -> None:
    """sqlite3 refuses a connection made in another thread: this passes only with one each."""
    found: list[str] = []
    errors: list[sqlite3.Error] = []

    def look() -> None:
        try:
            found.append(db.user("tanaka").name)
            db.new_session("tanaka", NOW)
        except sqlite3.Error as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=look) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (errors, found) == ([], ["tanaka"] * 4)
    assert db.sessions_of("tanaka") == 4


def test_a_forked_worker_opens_its_own_connection(db: ConsoleDB) -> None:
    """SQLite forbids using a connection across fork(): sqlite3 cannot see it (same thread
    id in the child), so the test looks at which connection the child's calls go through."""
    parents = db._connection()  # made before the fork, as gunicorn's master may have
    pid = os.fork()
    if pid == 0:
        code = 2  # a ProgrammingError (the parent's connection used here) ends the child with 2
        try:
            own = db._connection() is not parents
            code = 0 if own and db.user("tanaka") is not None and db.new_session("tanaka", NOW) else 1
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert db.sessions_of("tanaka") == 1


def test_where_the_file_lives_and_the_idle_time_come_from_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdr.config import settings

    conf = tmp_path / "etc" / "cdr.yaml"
    conf.parent.mkdir()
    conf.write_text("console_db: state/console.db\nconsole_idle: 45\n", encoding="utf-8")
    monkeypatch.setenv("CDR_CONFIG", str(conf))
    found = settings({})
    assert found.console_db == conf.parent / "state" / "console.db"  # beside the config file
    assert found.console_idle == 45 * 60  # a bare number means minutes
    monkeypatch.setenv("CDR_CONSOLE_IDLE", "2h")
    assert settings({}).console_idle == 7200
    monkeypatch.setenv("CDR_CONFIG", "/dev/null")
    monkeypatch.delenv("CDR_CONSOLE_IDLE")
    default = settings({})
    assert (default.console_db, default.console_idle) == (Path(__file__).resolve().parent.parent / "var" / "console.db", 1800)
