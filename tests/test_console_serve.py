"""`cdr console` as the administrator starts it: an address already taken is one line and
exit 2 (before gunicorn's retries); the URL is said once the address is held; the hint for
the first account is a command that works where the console runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cdr.console.serve import this_command

ROOT = Path(__file__).resolve().parent.parent


def _console(tmp_path: Path, port: int, lang: str, program: tuple[str, ...]) -> subprocess.Popen[str]:
    env = {**os.environ, "LANG": lang, "LC_ALL": "", "LANGUAGE": "", "CDR_CONFIG": "/dev/null"}
    env |= {"CDR_CONSOLE_DB": str(tmp_path / "console.db"), "CDR_AUDIT": str(tmp_path / "audit.jsonl")}
    env.pop("INVOCATION_ID", None)
    command = [*program, "console", "--listen", f"127.0.0.1:{port}", "--workers", "1"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (
            "ja_JP.UTF-8",
            "cdr: エラー: 管理画面は 127.0.0.1:{port} で待ち受けられません。このポートは使用中です（別の cdr console が"
            "動いていませんか）。--listen か console_listen で別のポートを指定してください（例: make run CONSOLE=127.0.0.1:8766）\n",
        ),
        (
            "C",
            "cdr: error: the console cannot listen on 127.0.0.1:{port}: the port is in use (another cdr console?); "
            "choose another port with --listen or console_listen (make run CONSOLE=127.0.0.1:8766)\n",
        ),
    ],
)
def test_a_port_in_use_is_one_line_and_exit_2(tmp_path: Path, lang: str, said: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        console = _console(tmp_path, port, lang, (sys.executable, "cli.py"))
        _out, err = console.communicate(timeout=60)
    assert console.returncode == 2
    assert err == said.format(port=port)
    assert not (tmp_path / "console.db").exists(), "nothing was set up for a console that cannot run"


def test_the_url_comes_after_the_bind_and_the_hint_is_the_checkouts_command(tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    console = _console(tmp_path, port, "C", (sys.executable, "cli.py"))
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        assert console.stderr is not None
        while not any("create the first administrator" in line for line in lines) and time.monotonic() < deadline:
            lines.append(console.stderr.readline())
            if not lines[-1]:  # it ended
                break
    finally:
        console.send_signal(signal.SIGINT)  # gunicorn's quick shutdown (SIGTERM waits for its workers)
        console.communicate(timeout=60)  # drained: a full pipe must not hold it
    listening = next((n for n, line in enumerate(lines) if f"Listening at: http://127.0.0.1:{port}" in line), None)
    assert listening is not None, lines
    url = lines.index(f"cdr console: http://127.0.0.1:{port}/ （管理画面 / web console）\n")
    assert listening < url, lines
    cdr = Path(sys.executable).parent / "cdr"
    typed = str(cdr.relative_to(ROOT)) if cdr.exists() and cdr.is_relative_to(ROOT) else None
    first = f"{typed or this_command()} users add admin --role admin"
    assert lines[url + 2] == f"cdr console: no accounts yet; create the first administrator: {first}\n", lines
    assert lines[url + 1] == f"cdr console: まだ利用者がいません。最初の管理者を作ってください: {first}\n"


def test_the_hint_names_the_service_user_under_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    import pwd

    monkeypatch.setenv("INVOCATION_ID", "0123456789abcdef")
    assert this_command() == f"sudo -u {pwd.getpwuid(os.geteuid()).pw_name} cdr"
