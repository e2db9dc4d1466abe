"""`cdr console`: the console served by gunicorn (sync workers: an unlock or a re-run
blocks on sandboxed children, one request per worker is what fits).

The app is made once in the parent and the workers are forked from it (preloaded): the
database is migrated once, and the key that signs the message cookie is the same in every
worker. The access log never shows a POST's query string (no secret is put in a URL, and
this keeps it so). Listening on every interface needs ``--listen`` to say so: the config
file's address is meant to be the LGWAN-side one, and a typo there must not open the
console to the internet side.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from cdr.config import Settings
from cdr.errors import UsageError

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
        "worker_class": "sync",
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
    app = create_app(settings, secure_cookies=secure_cookies, listen=address)
    url = f"http://{address}/"
    print(f"cdr console: {url} （管理画面 / web console）", file=sys.stderr, flush=True)
    if not app.extensions["cdr.db"].users():
        print(
            "cdr console: まだ利用者がいません。最初の管理者を作ってください: cdr users add admin --role admin\n"
            "cdr console: no accounts yet; create the first administrator: cdr users add admin --role admin",
            file=sys.stderr,
            flush=True,
        )
    ConsoleServer(app, options(address, workers)).run()
    return 0
