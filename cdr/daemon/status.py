"""`cdr status`: is the daemon alive, how long is the queue, what went wrong last."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from cdr.config import Settings
from cdr.daemon.pids import alive
from cdr.durable import write_json

STATUS_FILE = "status.json"
STALE_SECONDS = 10.0


def write_status(spool: Path, status: dict[str, Any]) -> None:
    # `cdr status` never reads half a heartbeat; one a second is not worth a disk flush each
    write_json(spool / STATUS_FILE, status, sync=False)


def read_status(spool: Path) -> dict[str, Any] | None:
    try:
        return json.loads((spool / STATUS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _alive(status: dict[str, Any]) -> bool:
    """A fresh heartbeat, no "stopped" mark, and the pid it names still there."""
    if status.get("stopped") or time.time() - float(status.get("heartbeat", 0)) > STALE_SECONDS:
        return False
    try:
        return alive(int(status["pid"]))
    except (KeyError, ValueError):
        return False


def show_status(settings: Settings, as_json: bool) -> int:
    status = read_status(settings.spool)
    spooled = (
        sum(1 for p in settings.spool.iterdir() if p.is_dir() and len(p.name) == 26)
        if settings.spool.is_dir()
        else 0
    )
    alive = bool(status) and _alive(status)
    if as_json:
        print(json.dumps({"alive": alive, "spooled": spooled, **(status or {})}, ensure_ascii=False))
        return 0 if alive else 1
    if not status:
        print(f"cdr watch has never run with the spool {settings.spool}")
        return 1
    today = status.get("today", {})
    print(
        f"daemon:      {'running' if alive else 'NOT RUNNING'} (pid {status.get('pid')}, since {status.get('started')})"
    )
    print(f"folders:     {status.get('inbox')} → {status.get('outbox')}")
    print(f"queue:       {status.get('queue', 0)} waiting, {spooled} in the spool")
    print(f"writing:     {status.get('being_written', 0)} file(s) still open for writing, taken once closed")
    if status.get("waiting_for"):
        print(f"WAITING FOR: {'; '.join(status['waiting_for'])} (missing: an unmounted share?)")
    print(f"in flight:   {', '.join(status.get('in_flight', [])) or '-'}")
    print(f"today:       {today.get('released', 0)} released, {today.get('quarantined', 0)} quarantined")
    print(f"policy:      {status.get('policy')}; sandbox {status.get('sandbox')}")
    if status.get("contact_placeholder"):
        print(
            "CONTACT:     お知らせの問い合わせ先が仮の「内線 0000」のままです。\n"
            "             ポリシーの notice.contact に部署と内線を書いてください。\n"
            "             notices still name the placeholder contact: set notice.contact"
        )
    print(f"last error:  {status.get('last_error') or '-'}")
    return 0 if alive else 1
