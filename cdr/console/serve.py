"""`cdr console`: the console served by gunicorn (threaded workers, ``cdr.console.worker``:
an unlock or a re-run blocks on sandboxed children and holds one thread, and a client too
slow to send its request is closed).

The app is made once in the parent and the workers are forked from it (preloaded): the
database is migrated once, and the key that signs the message cookie is the same in every
worker. The access log never shows a POST's query string (no secret is put in a URL, and
this keeps it so). Listening on every interface needs ``--listen`` to say so: the config
file's address is meant to be the LGWAN-side one, and a typo there must not open the
console to the internet side.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import pwd
import resource
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from cdr.config import Settings
from cdr.console.worker import READ_TIMEOUT, THREADS, ConsoleWorker
from cdr.errors import OperationalError, UsageError
from cdr.i18n import _, speak_english

WORKER_TIMEOUT = 300  # seconds: an unlock may convert a document with LibreOffice first


class AccessLog(Logger):
    """gunicorn's logger; a POST's line shows its path without the query string."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        if environ.get("REQUEST_METHOD") == "POST":
            path = environ.get("PATH_INFO", "")
            atoms["r"] = f"POST {path} {environ.get('SERVER_PROTOCOL', '')}"
            atoms["q"] = ""
        return atoms

    def exception(self, msg: str, *args: Any, **kwargs: Any) -> None:
        """One line, not a traceback, for a client that went silent (``READ_TIMEOUT``)."""
        if isinstance(sys.exc_info()[1], TimeoutError):
            self.info("a client sent nothing for %g s within a request: its connection was closed", READ_TIMEOUT)
            return
        super().exception(msg, *args, **kwargs)


class ConsoleServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self.options = options
        self.application = app
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


def every_interface(listen: str) -> bool:
    host = listen.rpartition(":")[0].strip("[]")
    try:
        return not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False  # a host name: gunicorn resolves it to one address


def check_listen(listen: str, named_on_the_command_line: bool) -> None:
    if every_interface(listen) and not named_on_the_command_line:
        raise UsageError(
            f"console_listen {listen}: 全てのインターフェースで待ち受ける設定は、インターネット側からも"
            "管理画面に届くため使いません。LGWAN 側のアドレスを指定してください（本当に必要なら --listen で明示）。\n"
            f"console_listen {listen} listens on every interface, the internet side too: name the "
            "LGWAN-side address (or say --listen 0.0.0.0:PORT on the command line if you really mean it)"
        )


def options(listen: str, workers: int) -> dict[str, Any]:
    return {
        "bind": listen,
        "workers": workers,
        "worker_class": ConsoleWorker,
        "threads": THREADS,
        "preload_app": True,
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": WORKER_TIMEOUT,  # SIGTERM lets an unlock in hand finish (the unit waits as long)
        "accesslog": "-",
        "errorlog": "-",
        "logger_class": AccessLog,
        "proc_name": "cdr-console",
        "control_socket_disable": True,  # gunicorn 24+'s socket in $HOME: nothing here uses it
        "limit_request_line": 4094,
        "limit_request_fields": 50,
        "limit_request_field_size": 8190,
    }


def serve(settings: Settings, listen: str | None, workers: int, secure_cookies: bool) -> int:
    """Run the console until SIGTERM; ``listen`` is the --listen flag (None: the config's)."""
    from cdr.config import PARSERS
    from cdr.console.app import create_app

    try:
        address = PARSERS["console_listen"](listen) if listen else settings.console_listen
    except ValueError as exc:
        raise UsageError(f"--listen: {exc}") from None
    check_listen(address, listen is not None)
    if workers < 1 or workers > 32:
        raise UsageError(f"--workers {workers}: 1 から 32 まで / from 1 to 32")
    free_to_listen(address)
    # a worker holds a PPAP password while it unlocks, and a session token: a crash writes
    # no core file of it (hard limit too, so nothing in the process raises it again)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    speak_english()  # from here on the server's log goes to the journal; each page speaks its person's language
    app = create_app(settings, secure_cookies=secure_cookies, listen=address)
    no_accounts = not app.extensions["cdr.db"].users()

    def when_ready(_server: Any) -> None:
        """Said once gunicorn holds the address: a URL printed before the bind could be a lie."""
        print(f"cdr console: http://{address}/ （管理画面 / web console）", file=sys.stderr, flush=True)
        if no_accounts:
            first = f"{this_command()} users add admin --role admin"
            print(
                f"cdr console: まだ利用者がいません。最初の管理者を作ってください: {first}\n"
                f"cdr console: no accounts yet; create the first administrator: {first}",
                file=sys.stderr,
                flush=True,
            )

    ConsoleServer(app, {**options(address, workers), "when_ready": when_ready}).run()
    return 0


def free_to_listen(address: str) -> None:
    """Refuse in one line, before gunicorn tries (and logs ten lines of retries), an address
    that cannot be listened on: most often a console already running on the port."""
    host, _sep, port = address.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, int(port)))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                taken = _(
                    "the console cannot listen on {address}: the port is in use (another cdr console?); "
                    "choose another port with --listen or console_listen (make run CONSOLE=127.0.0.1:8766)"
                )
                raise OperationalError(taken.format(address=address)) from None
            why = exc.strerror or str(exc)
            raise OperationalError(_("the console cannot listen on {address}: {why}").format(address=address, why=why)) from None


def this_command() -> str:
    """How the administrator types `cdr` where this console runs: as the service user under
    systemd; ``.venv/bin/cdr`` (or ``.venv/bin/python cli.py``) in a checkout, where ``cdr``
    is not on the PATH; plain ``cdr`` when the PATH finds this very program."""
    if os.environ.get("INVOCATION_ID"):  # systemd starts services with it; the admin is another login
        return f"sudo -u {pwd.getpwuid(os.geteuid()).pw_name} cdr"
    program = Path(sys.argv[0]).absolute()
    if program.name.endswith(".py"):  # python cli.py (make run): the venv's cdr if it was installed there
        installed = Path(sys.executable).parent / "cdr"
        return _typed(installed) if installed.exists() else f"{_typed(Path(sys.executable))} {_typed(program)}"
    found = shutil.which("cdr")
    if found and Path(found).resolve() == program.resolve():
        return "cdr"
    return _typed(program)


def _typed(path: Path) -> str:
    """A path as short as it can be typed from the current folder."""
    try:
        return str(path.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
