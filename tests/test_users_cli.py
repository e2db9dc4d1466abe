"""`cdr users` as the administrator runs it: a subprocess (or a pseudo-terminal for the
password prompt), its exit codes and words in English and Japanese, the accounts it leaves
in the console's SQLite file and the records it leaves in the audit log."""

from __future__ import annotations

import getpass
import json
import os
import pty
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cdr.cells import cells
from cdr.config import Settings
from cdr.console.db import open_db
from tests.terminal import read_until, to_the_end, type_keys
from tests.test_cli import ROOT, cdr, speaking

JA = "ja_JP.UTF-8"
SECRET = "Yama-no-kuma-2024"


def env(tmp_path: Path, lang: str) -> dict[str, str]:
    return {
        **speaking(lang),
        "CDR_CONFIG": "/dev/null",
        "CDR_CONSOLE_DB": str(tmp_path / "console.db"),
        "CDR_AUDIT": str(tmp_path / "audit.jsonl"),
    }


def users(tmp_path: Path, *args: str, stdin: str = "", lang: str = "C") -> subprocess.CompletedProcess[str]:
    return cdr("users", *args, stdin=stdin, env=env(tmp_path, lang))


def audit(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text(encoding="utf-8").splitlines()]


def login(tmp_path: Path, name: str, password: str) -> object:
    settings = Settings(tmp_path, tmp_path, tmp_path, tmp_path / "q", tmp_path / "a", None, 1, console_db=tmp_path / "console.db")
    return open_db(settings).login(name, password, "192.0.2.1", 1_800_000_000.0)


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (
            "C",
            [
                "3 console accounts",
                "name              role        lang  state     departments",
                "root              admin       en              (all)",
                "sato              approver    ja              soumu, 総務課",
                "tanaka            staff       ja    disabled  soumu",
            ],
        ),
        (
            JA,
            [
                "コンソールのアカウント: 3 件",
                "名前              役割        言語  状態      部署",
                "root              管理者      en              （すべて）",
                "sato              承認者      ja              soumu, 総務課",
                "tanaka            職員        ja    無効      soumu",
            ],
        ),
    ],
)
def test_add_passwd_disable_list_round_trip(tmp_path: Path, lang: str, said: list[str]) -> None:
    added = users(tmp_path, "add", "tanaka", "--role", "staff", "--department", "soumu", "--password-stdin", stdin=SECRET + "\n", lang=lang)
    assert added.returncode == 0, added.stderr
    assert added.stdout == {"C": "added tanaka (staff)\n", JA: "tanaka（職員）を追加しました\n"}[lang]
    both = ("--department", "soumu", "--department", "総務課")
    assert users(tmp_path, "add", "sato", "--role", "approver", *both, "--password-stdin", stdin=SECRET + "\n").returncode == 0
    assert users(tmp_path, "add", "root", "--role", "admin", "--lang", "en", "--password-stdin", stdin=SECRET + "\n").returncode == 0
    assert login(tmp_path, "tanaka", SECRET) is not None

    changed = users(tmp_path, "passwd", "tanaka", "--password-stdin", stdin="Another-long-one\n", lang=lang)
    assert changed.returncode == 0, changed.stderr
    assert login(tmp_path, "tanaka", SECRET) is None and login(tmp_path, "tanaka", "Another-long-one") is not None
    disabled = users(tmp_path, "disable", "tanaka", lang=lang)
    assert disabled.stdout == {"C": "disabled tanaka; its sessions ended\n", JA: "tanaka を無効にしました。ログイン中のセッションは終わりました\n"}[lang]
    assert login(tmp_path, "tanaka", "Another-long-one") is None

    listed = users(tmp_path, "list", lang=lang)
    assert listed.stdout.splitlines() == said
    as_json = [json.loads(line) for line in users(tmp_path, "list", "--json").stdout.splitlines()]
    assert as_json[1] == {"name": "sato", "role": "approver", "departments": ["soumu", "総務課"], "lang": "ja", "disabled": False}

    records = audit(tmp_path)
    assert [(r["event"], r["user"]) for r in records] == [
        ("user-added", "tanaka"),
        ("user-added", "sato"),
        ("user-added", "root"),
        ("user-password-changed", "tanaka"),
        ("user-disabled", "tanaka"),
    ]
    assert {(r["admin"], r["via"]) for r in records} == {(getpass.getuser(), "cli")}
    assert (records[1]["role"], records[1]["departments"]) == ("approver", ["soumu", "総務課"])
    verify = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "audit", "verify"], capture_output=True, text=True, env=env(tmp_path, "C"), cwd=ROOT
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    for path in [tmp_path / "audit.jsonl", *tmp_path.glob("console.db*")]:
        assert SECRET.encode() not in path.read_bytes() and b"Another-long-one" not in path.read_bytes(), path


def test_the_list_fits_80_columns(tmp_path: Path) -> None:
    long = "総務部総務課文書法制係・情報公開担当・個人情報保護担当"
    users(tmp_path, "add", "a-very-long-account-name@town.example.lg.jp", "--role", "approver", "--department", long, "--password-stdin", stdin=SECRET + "\n")
    for lang in ("C", JA):
        lines = users(tmp_path, "list", lang=lang).stdout.splitlines()
        assert len(lines) == 3 and max(cells(line) for line in lines) <= 80, lines
        assert lines[2].startswith("a-very-long-acc")


@pytest.mark.parametrize(
    ("args", "stdin", "english", "japanese"),
    [
        (
            ("add", "tanaka", "--role", "staff", "--department", "soumu", "--password-stdin"),
            "short\n",
            "The password must have at least 10 characters.",
            "パスワードは 10 文字以上にしてください。",
        ),
        (
            ("add", "tanaka", "--role", "staff", "--department", "soumu", "--password-stdin"),
            "\n",
            "The password is empty.",
            "パスワードが空です。",
        ),
        (
            ("add", "tanaka", "--role", "staff"),  # refused before any password is asked
            "",
            "Staff and approvers need a department (the first folder under the inbox).",
            "職員と承認者には部署（受付フォルダの最初のフォルダ名）が必要です。",
        ),
        (
            ("add", "tanaka", "--role", "staff", "--department", "soumu"),
            "",
            "no terminal to ask the password on: give it on stdin with --password-stdin",
            "パスワードを尋ねる端末がありません。--password-stdin を付けて標準入力から渡してください",
        ),
        (("disable", "nobody"), "", "There is no account nobody.", "アカウント nobody はありません。"),
        (("passwd", "nobody", "--password-stdin"), SECRET + "\n", "there is no account nobody", "アカウント nobody はありません"),
    ],
)
def test_errors_are_one_line_with_exit_2(tmp_path: Path, args: tuple[str, ...], stdin: str, english: str, japanese: str) -> None:
    for lang, said in (("C", f"cdr: error: {english}\n"), (JA, f"cdr: エラー: {japanese}\n")):
        run = users(tmp_path, *args, stdin=stdin, lang=lang)
        assert (run.returncode, run.stderr, run.stdout) == (2, said, "")
    assert not (tmp_path / "audit.jsonl").exists()  # nothing changed, nothing audited
    assert users(tmp_path, "list", "--json").stdout == ""


def test_a_name_twice_and_a_wrong_role_are_refused(tmp_path: Path) -> None:
    assert users(tmp_path, "add", "sato", "--role", "admin", "--password-stdin", stdin=SECRET + "\n").returncode == 0
    twice = users(tmp_path, "add", "sato", "--role", "admin")  # before a password is asked
    assert (twice.returncode, twice.stderr) == (2, "cdr: error: An account sato already exists.\n")
    role = users(tmp_path, "add", "kato", "--role", "boss", "--department", "soumu")
    assert role.returncode == 2 and "invalid choice: 'boss'" in role.stderr and role.stderr.startswith("usage:")


def _on_a_terminal(tmp_path: Path, *args: str) -> tuple[int, int]:
    pid, terminal = pty.fork()
    if pid == 0:  # the child: cdr on the new terminal
        os.chdir(ROOT)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.execve(sys.executable, [sys.executable, "cli.py", "users", *args], env(tmp_path, JA))
    return pid, terminal


@pytest.mark.parametrize(("again", "status"), [(SECRET, 0), (SECRET + "!", 2)], ids=["same", "different"])
def test_on_a_terminal_the_password_is_asked_twice(tmp_path: Path, again: str, status: int) -> None:
    pid, terminal = _on_a_terminal(tmp_path, "add", "tanaka", "--role", "staff", "--department", "soumu")
    assert read_until(terminal, "の新しいパスワード: ".encode()).decode().strip() == "tanaka の新しいパスワード:"
    type_keys(pid, terminal, SECRET.encode() + b"\n")
    read_until(terminal, "確認のためもう一度: ".encode())
    type_keys(pid, terminal, again.encode() + b"\n")
    code, said = to_the_end(pid, terminal)
    assert code == status, said
    assert SECRET not in said  # not echoed
    if status == 0:
        assert said.strip() == "tanaka（職員）を追加しました" and login(tmp_path, "tanaka", SECRET) is not None
    else:
        assert said.strip() == "cdr: エラー: 二つのパスワードが違います。何も変えていません"
        assert login(tmp_path, "tanaka", SECRET) is None
