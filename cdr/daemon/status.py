"""`cdr status`: is the daemon alive, how long is the queue, what is wrong now (and what
was wrong last, until when)."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from cdr.cells import cells, fit, wrap
from cdr.config import Settings
from cdr.daemon.counters import JAPAN, japan_time, japan_today
from cdr.daemon.pids import alive
from cdr.durable import write_json
from cdr.i18n import _, speaks_japanese
from cdr.lifeline import Ending, endings_since
from cdr.mailer import MailSpool
from cdr.report import endings_summary
from cdr.sandbox_layers import in_words, layer_names

STATUS_FILE = "status.json"
STALE_SECONDS = 10.0
SHOWN_PROBLEMS = 5  # the oldest few; a hundred jobs waiting for one full disk are one story


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


def _labelled(label: str, value: str) -> str:
    """The label, then the value from cell 14 on, in every language."""
    return f"{fit(label, 12)} {value}"


def _row(label: str, value: str) -> None:
    """One line of the status (its further lines under the first)."""
    first, *more = value.splitlines() or [""]
    print(_labelled(label, first))
    for line in more:
        print(_labelled("", line))


def status_report(settings: Settings) -> dict[str, Any]:
    """What `cdr status --json` prints (and the web console's dashboard shows): the daemon's
    last status file with whether it is alive, the jobs in the spool and the mail."""
    status = read_status(settings.spool)
    spooled = (
        sum(1 for p in settings.spool.iterdir() if p.is_dir() and len(p.name) == 26)
        if settings.spool.is_dir()
        else 0
    )
    alive = bool(status) and _alive(status)
    today = {ending.value: n for ending, n in sorted(todays_endings(settings.audit).items()) if n}
    return {"alive": alive, "spooled": spooled, "mail": _mail(settings), **(status or {}), "today": today}


def todays_endings(audit: Path) -> Counter[Ending]:
    """Today's files (Japan time) as `cdr report daily` counts them, whoever handled them —
    the daemon, a batch, a one-off sanitize, an unlock, an original handed over — read from
    the audit log, not from the daemon's memory (which knows only its own work)."""
    start = datetime.combine(japan_today(), datetime.min.time(), JAPAN)
    return endings_since(audit, start)


def show_status(settings: Settings, as_json: bool) -> int:
    report = status_report(settings)
    alive, spooled, mail = report["alive"], report["spooled"], report["mail"]
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return 0 if alive else 1
    status = read_status(settings.spool)
    japanese, english = endings_summary(Counter({Ending(k): n for k, n in report["today"].items()}))
    if not status:
        print(_("cdr watch has never run with the spool {spool}").format(spool=settings.spool))
        _row(_("today:"), japanese if speaks_japanese() else english)  # batches and sanitize count too
        return 1
    state = _("running") if alive else _("NOT RUNNING")
    pid, started = status.get("pid"), status.get("started")
    _row(_("daemon:"), _("{state} (pid {pid}, since {started})").format(state=state, pid=pid, started=_when(started)))
    _row(_("folders:"), f"{status.get('inbox')} → {status.get('outbox')}")
    _row(_("queue:"), _("{queue} waiting, {spooled} in the spool").format(queue=status.get("queue", 0), spooled=spooled))
    writing = status.get("being_written", 0)
    _row(_("writing:"), _("{count} file(s) still open for writing, taken once closed").format(count=writing))
    if status.get("waiting_for"):
        missing = "; ".join(status["waiting_for"])
        _row(_("WAITING FOR:"), _("{folders} (missing: an unmounted share?)").format(folders=missing))
    _row(_("in flight:"), ", ".join(status.get("in_flight", [])) or "-")
    _row(_("today:"), japanese if speaks_japanese() else english)
    policy, sandbox = status.get("policy"), status.get("sandbox")
    # the sandbox's layers (a+b+c…) run past 80 cells on one line: spaced, to break between them;
    # in Japanese in words, as the console's dashboard says them
    layers = "、".join(in_words(sandbox, 0)) if speaks_japanese() else " + ".join(layer_names(sandbox))
    said = _("{policy}; sandbox {sandbox}").format(policy=policy, sandbox=layers or "-")
    _row(_("policy:"), "\n".join(_packed(said, 80 - 13)))
    if status.get("contact_placeholder"):
        placeholder = _(
            "notices still name the placeholder contact (内線 0000):\n"
            "put your department and extension in the policy's notice.contact"
        )
        _row(_("CONTACT:"), placeholder)
    for line in _problem_lines(status.get("problems") or [], status.get("resolved")):
        print(line)
    print(_mail_line(mail))
    return 0 if alive else 1


def _packed(text: str, room: int) -> list[str]:
    """``text`` in lines of at most ``room`` cells, broken only after a 「、」 or a space where
    one fits (a layer's words stay on one line), else as ``cells.wrap`` breaks it."""
    lines = [""]
    for piece in re.findall(r"[^、 ]+[、 ]*", text):
        if lines[-1] and cells(lines[-1] + piece.rstrip()) > room:
            lines[-1] = lines[-1].rstrip()
            lines.append("")
        lines[-1] += piece
    return [part for line in lines for part in wrap(line.rstrip(), room)]


def _mail(settings: Settings) -> dict[str, Any]:
    """Mail to the administrator: the relay (None: off), what waits, why it waits."""
    waiting = MailSpool(settings.spool).waiting()
    failure = next((m.record["last_failure"] for m in waiting if m.record.get("last_failure")), None)
    return {"relay": settings.mail_relay or None, "waiting": len(waiting), "last_failure": failure}


def _mail_line(mail: dict[str, Any]) -> str:
    if not mail["relay"] and not mail["waiting"]:
        return _labelled(_("mail:"), _("off (mail_relay is empty)"))
    relay = mail["relay"] or _("- (off now)")
    told = _("via {relay}; {count} waiting to be sent").format(relay=relay, count=mail["waiting"])
    if mail["last_failure"]:
        return _labelled(_("MAIL:"), _("{told}; last failure: {why}").format(told=told, why=mail["last_failure"]))
    return _labelled(_("mail:"), told)


def _when(ts: object) -> str:
    """A problem's time as the clerk reads a clock: Japan time, to the second."""
    when = japan_time(ts)
    return when.strftime("%Y-%m-%d %H:%M:%S") if when else str(ts)


def _problem_lines(problems: list[dict[str, Any]], resolved: dict[str, Any] | None) -> list[str]:
    """What is wrong now, each with since when; then the last problem that went away."""
    now = _("{count} now (times in {zone})").format(count=len(problems), zone=JAPAN)
    lines = [_labelled(_("PROBLEMS:"), now) if problems else _labelled(_("problems:"), _("none now"))]
    for problem in problems[:SHOWN_PROBLEMS]:
        since = _("since {when} [{kind}] {message}")
        lines.append("  " + since.format(when=_when(problem.get("since")), kind=problem.get("kind"), message=problem.get("message")))
    if len(problems) > SHOWN_PROBLEMS:
        lines.append("  " + _("… and {count} more").format(count=len(problems) - SHOWN_PROBLEMS))
    if resolved:
        went = _("[{kind}] {message} (from {since} until {cleared})").format(
            kind=resolved.get("kind"),
            message=resolved.get("message"),
            since=_when(resolved.get("since")),
            cleared=_when(resolved.get("cleared")),
        )
        lines.append(_labelled(_("resolved:"), went))
    return lines
