"""cdr — the admin command line. One small function per subcommand; see README.

It parses and prints: the quarantine operations are cdr/admin.py's, options that several
commands take are declared once (``SHARED``) and every command is one row of ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdr import __version__
from cdr.cells import fit, wrap
from cdr.errors import EXIT_ERROR, EXIT_FOUND, EXIT_OK, CannotProcess, CdrError, UsageError
from cdr.i18n import N_, _, ngettext, speak_english, speak_the_environment_language
from cdr.model import Outcome, Verdict
from cdr.names import display, reception_number
from cdr.reasons import for_the_administrator

if TYPE_CHECKING:
    from cdr.admin import Admin

Handler = Callable[[argparse.Namespace], int]
OPERATIONAL = CannotProcess.reason


# ------------------------------------------------------------------ shared helpers
def _settings(args: argparse.Namespace) -> Any:
    from cdr.config import settings

    flags = {
        k: getattr(args, k, None)
        for k in ("inbox", "outbox", "spool", "quarantine", "audit", "policy", "workers")
    }
    if getattr(args, "out", None) is not None:
        flags["outbox"] = args.out
    return settings(flags)


def _policy(args: argparse.Namespace) -> Any:
    from cdr.policy import load_policy

    path = _settings(args).policy
    if path is None:  # said out loud: nothing configured, nothing installed
        logging.getLogger("cdr").warning(
            "no policy file is configured or installed: the built-in default applies"
        )
    return load_policy(path)


@contextmanager
def _pipeline(args: argparse.Namespace) -> Iterator[Any]:
    """A started pipeline under the configured policy; closed, with its sandboxes, after."""
    from cdr.admin import open_pipeline

    with open_pipeline(_settings(args), _policy(args)) as pipeline:
        yield pipeline


def _walk(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """Each file under the given paths with its path relative to what was given."""
    for path in paths:
        if path.is_symlink() or path.is_file() or (path.exists() and not path.is_dir()):
            yield path, path.name
        elif path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise UsageError(_("{path}: the folder cannot be read").format(path=path))
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = Path(root) / name
                    yield full, full.relative_to(path).as_posix()
        else:
            raise UsageError(_("{path}: no such file or folder").format(path=path))


def _human(verdict: Verdict) -> str:
    name = display(verdict.input)
    if verdict.verdict == Outcome.RELEASED:
        did = ", ".join(
            f"{a['what']} {a['action']}" + (f" ×{a['count']}" if a["count"] > 1 else "")
            for a in verdict.actions
            if a["what"] not in ("pixels", "text")
        )
        word = fit(_("released"), 12)
        return f"{word} {name} → {display(verdict.output or '')}" + (f"  ({did})" if did else "")
    word = fit(_("quarantined"), 12)
    # the reason in the administrator's words; the child's raw English message is in --json and -v
    return f"{word} {name}  {for_the_administrator(str(verdict.reason), verdict.type)}" + (
        f"  id={verdict.quarantine_id}" if verdict.quarantine_id else ""
    )


def _progress(total: int) -> Any:
    """A rich progress bar on a terminal for more than a few files, else nothing."""
    if total < 5 or not sys.stderr.isatty():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    )
    progress.start()
    progress.add_task(_("sanitizing"), total=total)
    return progress


def report(verdicts: Iterator[Verdict], as_json: bool, total: int) -> int:
    progress = _progress(total)
    worst = EXIT_OK
    try:
        for verdict in verdicts:
            line = json.dumps(verdict.to_json(), ensure_ascii=False) if as_json else _human(verdict)
            if progress:
                progress.console.print(line, markup=False, highlight=False, soft_wrap=True)
                progress.advance(0)
            else:
                print(line, flush=True)
            if verdict.reason == OPERATIONAL:
                worst = EXIT_ERROR  # the appliance failed this file, not the file itself
            elif verdict.verdict != Outcome.RELEASED:
                worst = max(worst, EXIT_FOUND)
    finally:
        if progress:
            progress.stop()
    return worst


# ------------------------------------------------------------------ subcommands
def cmd_sanitize(args: argparse.Namespace) -> int:
    from cdr.daemon.jobs import deliver_owed_notices
    from cdr.daemon.retry import Retry, process_with_retries

    files = list(_walk(args.paths))
    conf = _settings(args)
    try:
        conf.outbox.mkdir(parents=True, exist_ok=True)  # named on this command line: made if new
    except OSError as exc:
        raise UsageError(
            _("{path}: cannot create the output folder: {why}").format(path=conf.outbox, why=exc.strerror)
        ) from None
    retry = Retry(conf.retry_attempts, conf.retry_delay)
    with _pipeline(args) as pipeline:
        deliver_owed_notices(pipeline)  # an earlier run's, to this --out, now it can take them
        verdicts = (process_with_retries(pipeline, path, rel, retry) for path, rel in files)
        return report(verdicts, args.json, len(files))


def cmd_scan(args: argparse.Namespace) -> int:
    from cdr.i18n import speaks_japanese
    from cdr.scan import scan_file, scan_text

    policy = _policy(args)
    files = list(_walk(args.paths))
    worst = EXIT_OK
    from cdr.sandbox import Sandbox

    with Sandbox(policy.sandbox.isolation) as sandbox:
        for path, rel in files:
            report_ = scan_file(sandbox, path, rel, policy)
            if report_["would"] == "quarantine" or report_["findings"]:  # would is an action or quarantine
                worst = EXIT_FOUND
            if args.json:
                print(json.dumps(report_, ensure_ascii=False), flush=True)
            else:
                print(scan_text(report_, speaks_japanese()), flush=True)
    return worst


def cmd_policy_check(args: argparse.Namespace) -> int:
    from cdr.policy import load_policy

    policy = load_policy(args.file)  # every problem of the file at once, or none
    print(_("{file}: OK (policy {name}, sha256 {sha256}…)").format(file=args.file, name=repr(policy.name), sha256=policy.sha256[:16]))
    return EXIT_OK


def cmd_policy_show(args: argparse.Namespace) -> int:
    import yaml

    policy = _policy(args)
    print("# " + _("effective policy from {source}; sha256 {sha256}").format(source=policy.source, sha256=policy.sha256))
    print(yaml.safe_dump(policy.to_json(), allow_unicode=True, sort_keys=False), end="")
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from cdr.anchor import anchors_out_of_reach, default_anchors
    from cdr.audit import verify

    path = _settings(args).audit
    anchors = args.anchors if args.anchors is not None else default_anchors()
    if anchors is None and anchors_out_of_reach():
        print(_("note: the anchors in /var/lib/cdr-anchor are root's: run this as root to check them too"))
    result = verify(path, anchors)
    for checked in result.files:  # each file of the log, oldest first, then the total
        print(_file_checked(checked))
    if anchors is not None and result.ok:
        print(_("{count} anchors from {file} are in the chain").format(count=result.anchors, file=anchors))
    if result.ok and not result.records:
        print(_("{path}: no records yet").format(path=path))
        return EXIT_OK
    if result.ok:
        said = ngettext("{path}: OK, {count} record, chain intact", "{path}: OK, {count} records, chain intact", result.records)
        print(said.format(path=path, count=result.records))
        return EXIT_OK
    said = ngettext(
        "{path}: BROKEN after {count} good record: {problem}",
        "{path}: BROKEN after {count} good records: {problem}",
        result.records,
    )
    print(said.format(path=path, count=result.records, problem=result.problem))
    return EXIT_FOUND


def cmd_audit_tail(args: argparse.Namespace) -> int:
    from itertools import islice

    from cdr.audit import records_newest_first
    from cdr.audit_lines import record_line, terminal_width

    # read from the end: a year of segments is not read to print the last twenty records
    last = list(islice(records_newest_first(_settings(args).audit), max(args.n, 0)))
    width = terminal_width()
    for record in reversed(last):
        print(record_line(record, width) if not args.json else json.dumps(record, ensure_ascii=False))
    return EXIT_OK


def cmd_audit_show(args: argparse.Namespace) -> int:
    from cdr.audit_lines import record_line, terminal_width
    from cdr.lifeline import life_records
    from cdr.names import id_as_typed

    typed = id_as_typed(args.id)  # the full ID, its 受付番号, or a beginning of it
    # the whole life: the first run, an unlock or re-run and the run it started, the original;
    # read from when its ID was made (a 受付番号's time is its quarantine entry's)
    conf = _settings(args)
    held = os.listdir(conf.quarantine) if conf.quarantine.is_dir() else []
    found = life_records(conf.audit, typed, held)
    if (first := next(found, None)) is None:
        raise UsageError(_("no audit records for {id}").format(id=args.id))
    width = terminal_width()
    for record in (first, *found):
        print(json.dumps(record, ensure_ascii=False) if args.json else record_line(record, width))
    return EXIT_OK


def cmd_audit_export(args: argparse.Namespace) -> int:
    from cdr.event_csv import export_csv

    export_csv(_settings(args).audit, sys.stdout.buffer)  # row by row, as the log is read
    return EXIT_OK


def _file_checked(checked: Any) -> str:
    if not checked.ok:
        return _("  {name}: BROKEN (below)").format(name=checked.name)
    if not checked.records:
        return _("  {name}: no records").format(name=checked.name)
    return _("  {name}: seq {first}–{last}, {count} records, OK").format(
        name=checked.name, first=checked.first_seq, last=checked.last_seq, count=checked.records
    )


def cmd_audit_anchor(args: argparse.Namespace) -> int:
    from cdr.anchor import DEFAULT_ANCHORS, append_anchor

    path = _settings(args).audit
    anchors = args.anchors or DEFAULT_ANCHORS
    entry, problem = append_anchor(anchors, path)
    if entry:
        print(_("{path}: anchored seq {seq} ({hash}) in {file}").format(path=path, file=anchors, **entry))
    else:
        print(_("{path}: no records yet, nothing to anchor").format(path=path))
    if problem:
        print(_("WARNING: {problem}").format(problem=problem))
        return EXIT_FOUND
    return EXIT_OK


def _retention(args: argparse.Namespace, configured: float | None, off: str) -> float | None:
    """``--older-than``, else the configured age; None (and ``off`` said) when nothing goes."""
    keep = args.older_than if args.older_than is not None else configured
    if keep is None:
        print(off)
    return keep


def cmd_audit_prune(args: argparse.Namespace) -> int:
    from cdr.audit import prune

    conf = _settings(args)
    keep = _retention(args, conf.audit_retention, _("audit_retention is forever: no segment removed"))
    if keep is None:
        return EXIT_OK
    removed = prune(conf.audit, keep)
    for item in removed:
        print(_("removed {segment} (seq {first_seq}–{last_seq})").format(**item))
    print(_("{count} segments older than {days} days removed (audited)").format(count=len(removed), days=f"{keep / 86400:g}"))
    return EXIT_OK


def cmd_outbox_clean(args: argparse.Namespace) -> int:
    from cdr.outbox import clean

    conf = _settings(args)
    keep = _retention(args, conf.outbox_retention, _("outbox_retention is off: no file removed"))
    if keep is None:
        return EXIT_OK
    cleaned = clean(conf.outbox, keep, conf.audit)
    for item in cleaned:
        print(_("removed {name} ({days} days old)").format(name=display(item.name), days=f"{item.age_days:.0f}"))
    print(_("{outbox}: {count} files older than {days} days removed (audited)").format(
        outbox=conf.outbox, count=len(cleaned), days=f"{keep / 86400:g}"
    ))
    return EXIT_OK


def cmd_cache_stats(args: argparse.Namespace) -> int:
    from cdr.cache import VerifiedCache, cache_place, stats_lines

    folder = cache_place(_settings(args))
    assert folder is not None  # cdr.config names one
    policy = _policy(args)
    stats = VerifiedCache(folder, make=False).stats() if folder.is_dir() else None
    for line in stats_lines(folder, stats, policy.cache.enabled, policy.cache.max_size):
        print(line)
    return EXIT_OK


def cmd_cache_clear(args: argparse.Namespace) -> int:
    from cdr.audit import AuditLog
    from cdr.cache import VerifiedCache, cache_place

    conf = _settings(args)
    folder = cache_place(conf)
    assert folder is not None  # cdr.config names one
    # as the service user: the store refuses a folder of another owner (root would leave files it cannot use)
    removed, size = VerifiedCache(folder).clear() if folder.is_dir() else (0, 0)
    audit = AuditLog(conf.audit)
    try:
        audit.append("cache-cleared", admin=getpass.getuser(), cache=str(folder), entries=removed, bytes=size)
    finally:
        audit.close()
    said = ngettext("{folder}: {count} entry removed (audited)", "{folder}: {count} entries removed (audited)", removed)
    print(said.format(folder=folder, count=removed))
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    from cdr.report import day_period, month_period, rows, text_lines
    from cdr.report_files import write_csv, write_xlsx

    if args.csv and args.xlsx:
        raise UsageError(_("give --csv or --xlsx, not both"))
    period = month_period(args.month) if args.action == "monthly" else day_period(args.date)
    found = rows(_settings(args).audit, period, args.dept)
    if args.csv:
        write_csv(found, sys.stdout.buffer)
    elif args.xlsx:
        write_xlsx(found, args.xlsx, period.title)
        said = ngettext("{file}: {period} (Japan time), {count} file", "{file}: {period} (Japan time), {count} files", len(found))
        print(said.format(file=args.xlsx, period=period.title, count=len(found)))
    else:
        for line in text_lines(period, found, args.dept):
            print(line)
    return EXIT_OK


def _store(args: argparse.Namespace) -> Any:
    from cdr.quarantine import QuarantineStore

    return QuarantineStore(_settings(args).quarantine)


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    from cdr.i18n import speaks_japanese
    from cdr.quarantine_list import text_lines
    from cdr.quarantine_rows import listed

    if args.json:
        for entry in _store(args).entries():
            print(json.dumps(entry.meta, ensure_ascii=False))
        return EXIT_OK
    rows = listed(_settings(args).quarantine)  # the row's fields, kept beside the entries
    print("\n".join(text_lines(rows, speaks_japanese())))  # one write for ten thousand lines
    return EXIT_OK


def cmd_quarantine_show(args: argparse.Namespace) -> int:
    print(json.dumps(_store(args).get(args.id).meta, ensure_ascii=False, indent=2))
    return EXIT_OK


def _admin(args: argparse.Namespace) -> Admin:
    from cdr.admin import Admin

    if getattr(args, "outbox", "") is None and getattr(args, "id", None):
        _headed_where_it_was(args)
    return Admin(_settings(args), getpass.getuser(), lambda: _pipeline(args))


def _headed_where_it_was(args: argparse.Namespace) -> None:
    """Without --outbox, a held file is released into the outbox it was headed for when it
    was held — beside its notice, where its staff look (a batch run's entry goes to the
    batch outbox, not to the daemon's)."""
    from cdr.admin import headed_outbox

    try:
        headed = headed_outbox(_store(args).get(args.id))
    except CdrError:
        return  # the command itself says what is wrong with the ID
    if headed:
        args.outbox = headed


def _rerun_said(qid: str, verdict: Verdict) -> int:
    if verdict.verdict == Outcome.RELEASED:
        print(_("released {id} from quarantine → {output}").format(id=qid, output=verdict.output))
        return EXIT_OK
    print(_("{id} stays in quarantine: {reason}").format(id=qid, reason=for_the_administrator(str(verdict.reason), verdict.type)))
    return EXIT_FOUND


def cmd_quarantine_release(args: argparse.Namespace) -> int:
    from cdr.admin import refuse_original, type_said

    admin = _admin(args)
    entry = admin.entry(args.id)
    if not args.original:
        return _rerun_said(reception_number(entry.id), admin.rerun(entry.id, args.policy))
    kind = type_said(entry.meta.get("type"))
    name = display(str(entry.meta.get("input", "")))
    refuse_original(entry, args.reason, args.allow_program)  # before the question, not after its yes
    question = _("hand over the original of {name} (its content is {type})?").format(name=name, type=kind)
    if not _confirmed(question):
        return EXIT_ERROR
    final = admin.release_original(args.id, args.reason, args.allow_program)
    said = _("released the ORIGINAL of {id} ({type}) → {output} (on your responsibility; audited)")
    print(said.format(id=reception_number(entry.id), type=kind, output=final))  # the number, not what was typed
    return EXIT_OK


YES = ("y", "yes", "はい")


def _confirmed(question: str) -> bool:
    """A yes from the person at a terminal; scripts (no terminal) are not asked. Ctrl-D or
    Ctrl-C is a no, said on a line of its own."""
    if not sys.stdin.isatty():
        return True
    try:
        answer = input(f"{question} [y/N] ")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)  # the terminal's cursor still stands after the question
        answer = ""
    # a Japanese input method may type ｙ or ＹＥＳ in full width: NFKC reads them as y, YES
    if unicodedata.normalize("NFKC", answer).strip().lower() in YES:
        return True
    print(_("cancelled"), file=sys.stderr)
    return False


def _password(args: argparse.Namespace, name: str) -> str:
    """From --password-file, a prompt on a terminal, or one line on stdin (a script)."""
    if args.password_file:
        try:
            return args.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"{args.password_file}: {exc.strerror}") from None  # the system's own words
    if sys.stdin.isatty():
        try:
            return getpass.getpass(_("password for {name}: ").format(name=name))
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C: the administrator changed their mind
            print(file=sys.stderr)
            return ""  # refused as no password, like an empty line
    return sys.stdin.readline().rstrip("\r\n")


def cmd_quarantine_unlock(args: argparse.Namespace) -> int:
    admin = _admin(args)
    entry = admin.entry(args.id)
    password = _password(args, str(entry.meta.get("input")))
    return _rerun_said(reception_number(entry.id), admin.unlock(entry, password))  # the number, not what was typed


def cmd_quarantine_delete(args: argparse.Namespace) -> int:
    admin = _admin(args)
    name = display(str(admin.entry(args.id).meta.get("input", "")))
    if not _confirmed(_("delete the quarantined {name} for good (it cannot be undone)?").format(name=name)):
        return EXIT_ERROR
    admin.delete(args.id)
    print(_("deleted {id}").format(id=args.id))
    return EXIT_OK


def _age(text: str) -> float:
    from cdr.units import duration

    try:
        return duration(text, bare="d", zero=True)  # "purge --older-than 30" has always meant days
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_quarantine_purge(args: argparse.Namespace) -> int:
    # by default the policy's quarantine.retention: the age the notices promise (cdr.notices)
    age = _policy(args).quarantine.retention if args.older_than is None else args.older_than
    old = _admin(args).purge(age)
    said = ngettext("purged {count} entry older than {days} days", "purged {count} entries older than {days} days", len(old))
    print(said.format(count=len(old), days=f"{age / 86400:g}"))
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from cdr.daemon.batch import run_batch

    return run_batch(args, _settings(args), _policy(args), report)


def cmd_watch(args: argparse.Namespace) -> int:
    from cdr.daemon.service import run_watch

    speak_english()  # the daemon writes to the journal, which stays in English
    return run_watch(_settings(args), _policy(args), polling=args.polling)


def cmd_status(args: argparse.Namespace) -> int:
    from cdr.daemon.status import show_status

    return show_status(_settings(args), as_json=args.json)


def _day(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text} is not a date such as 2026-04-01").format(text=repr(text))) from None


MAIL_OFF = N_("mail is off: mail_relay in cdr.yaml is empty")


def _delivered(delivery: Any) -> int:
    """What a run of `cdr notify` sent, or why the rest waits (kept for the next run)."""
    if delivery.failure:
        said = _("could not send, {count} mail(s) wait for the next try: {why}")
        print("cdr: error: " + said.format(count=delivery.waiting, why=delivery.failure), file=sys.stderr)
        return EXIT_ERROR
    if delivery.sent:
        print(_("sent {count} mail(s)").format(count=delivery.sent))
    return EXIT_OK


def cmd_notify_send(args: argparse.Namespace) -> int:
    from cdr.alerts import notify_send

    delivery = notify_send(_settings(args))
    return EXIT_OK if delivery is None else _delivered(delivery)  # off: the timer has nothing to do


def cmd_notify_daily(args: argparse.Namespace) -> int:
    from cdr.alerts import notify_send, yesterday

    delivery = notify_send(_settings(args), daily=args.date or yesterday())
    if delivery is None:
        print(_(MAIL_OFF))
        return EXIT_OK
    return _delivered(delivery)


def cmd_console(args: argparse.Namespace) -> int:
    from cdr.console.serve import serve

    # serve speaks English once the address is known to be free: the server's log is the journal's
    return serve(_settings(args), args.listen, args.console_workers, args.secure_cookies)


def cmd_notify_test(args: argparse.Namespace) -> int:
    from cdr.alerts import notify_test
    from cdr.mailer import MailError

    try:
        config = notify_test(_settings(args))
    except MailError as exc:
        print("cdr: error: " + _("the test mail was not sent: {why}").format(why=exc), file=sys.stderr)
        return EXIT_ERROR
    if config is None:
        print(f"cdr: error: {_(MAIL_OFF)}", file=sys.stderr)
        return EXIT_ERROR
    said = _("test mail sent: {recipients} via {relay}")
    print(said.format(recipients=", ".join(config.recipients), relay=config.relay))
    return EXIT_OK


# ------------------------------------------------------------------ console accounts
# The translation of "en" is the catalogue's own language: a console refusal carries both
# texts and is said in the language the command line speaks.
LANGUAGE = N_("en")
ROLE_NAMES = {"staff": N_("staff"), "approver": N_("approver"), "admin": N_("admin")}
_USER_COLUMNS = (16, 10, 4, 8)  # name, role, language, state; the departments take the rest
_DEPARTMENT_CELLS = 80 - sum(_USER_COLUMNS) - 2 * len(_USER_COLUMNS)


@contextmanager
def _accounts(args: argparse.Namespace) -> Iterator[Any]:
    """The console's database, and its refusals as one line in the command line's language."""
    import sqlite3

    from cdr.console import Refused
    from cdr.console.db import open_db

    conf = _settings(args)
    try:
        db = open_db(conf)
        try:
            yield conf, db
        finally:
            db.close()
    except Refused as exc:
        raise UsageError(exc.text(_(LANGUAGE))) from None
    except sqlite3.Error as exc:
        raise UsageError(f"{conf.console_db}: {exc}") from None


def _new_password(args: argparse.Namespace, name: str) -> str:
    """Asked twice on a terminal; one line on stdin with --password-stdin (a script)."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise UsageError(_("no terminal to ask the password on: give it on stdin with --password-stdin"))
    try:
        first = getpass.getpass(_("new password for {name}: ").format(name=name))
        second = getpass.getpass(_("the same password again: "))
    except EOFError:  # Ctrl-D: refused below as no password
        print(file=sys.stderr)
        return ""
    if first != second:
        raise UsageError(_("the two passwords differ; nothing was changed"))
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    from cdr.console.workflow import add_user

    with _accounts(args) as (conf, db):
        db.check_new_user(args.name, args.role, args.department or [], args.lang)  # before the password is asked
        password = _new_password(args, args.name)
        user = add_user(db, conf, getpass.getuser(), args.name, args.role, args.department or [], password, args.lang, via="cli")
    print(_("added {name} ({role})").format(name=user.name, role=_(ROLE_NAMES[user.role])))
    return EXIT_OK


def cmd_users_passwd(args: argparse.Namespace) -> int:
    from cdr.console.workflow import change_password

    with _accounts(args) as (conf, db):
        if db.user(args.name) is None:
            raise UsageError(_("there is no account {name}").format(name=args.name))
        change_password(db, conf, getpass.getuser(), args.name, _new_password(args, args.name), via="cli")
    print(_("changed the password of {name}; its sessions ended").format(name=args.name))
    return EXIT_OK


def cmd_users_disable(args: argparse.Namespace) -> int:
    from cdr.console.workflow import disable_user

    with _accounts(args) as (conf, db):
        disable_user(db, conf, getpass.getuser(), args.name, via="cli")
    print(_("disabled {name}; its sessions ended").format(name=args.name))
    return EXIT_OK


def cmd_users_enable(args: argparse.Namespace) -> int:
    from cdr.console.workflow import enable_user

    with _accounts(args) as (conf, db):
        enable_user(db, conf, getpass.getuser(), args.name, via="cli")
    print(_("enabled {name}").format(name=args.name))
    return EXIT_OK


def cmd_users_list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    with _accounts(args) as (_conf, db):
        users = db.users()
    if args.json:
        for user in users:
            print(json.dumps(asdict(user), ensure_ascii=False))
        return EXIT_OK
    print(ngettext("{count} console account", "{count} console accounts", len(users)).format(count=len(users)))
    print(_user_line(_("name"), _("role"), _("lang"), _("state"), _("departments")))
    for user in users:
        state = _("disabled") if user.disabled else ""
        departments = ", ".join(user.departments) or (_("(all)") if user.role == "admin" else "")
        print(_user_line(user.name, _(ROLE_NAMES[user.role]), user.lang, state, display(departments)))
    return EXIT_OK


def _user_line(*fields: str) -> str:
    *columns, departments = fields
    cut = [fit(f, w) for f, w in zip(columns, _USER_COLUMNS, strict=True)]
    return "  ".join([*cut, fit(departments, _DEPARTMENT_CELLS)]).rstrip()


# ------------------------------------------------------------------ the parser
@dataclass(frozen=True)
class Arg:
    """One ``add_argument`` call: its flags (or positional name) and keyword arguments."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


def _folder(help_: str) -> Arg:
    return arg(type=Path, metavar="DIR", help=help_)


# The options several commands take, each declared once (flag name = key).
# Help texts are marked with N_ here and translated when the parser is built (_add_command).
SHARED: dict[str, Arg] = {
    "inbox": _folder(N_("internet-side drop folder")),
    "outbox": _folder(N_("LGWAN-side folder")),
    "quarantine": _folder(N_("quarantine store")),
    "audit": arg(type=Path, metavar="F", help=N_("audit log (JSON Lines)")),
    "spool": _folder(N_("work folder")),
    "policy": arg(type=Path, metavar="F", help=N_("policy YAML")),
    "workers": arg(type=int, metavar="N", help=N_("files sanitized at once")),
    "json": arg(action="store_true", help=N_("one JSON object per line")),
}
PLACES = ("quarantine", "audit", "spool", "policy")
PATHS = arg("paths", nargs="+", type=Path, metavar="PATH")
QID = arg("id", help=N_("quarantine ID or 受付番号"))
MAIL = ("spool", "audit", "quarantine")  # where the mail spool, the log and the held files are
USER = arg("name", help=N_("the account's login name"))
PASSWORD_STDIN = arg("--password-stdin", action="store_true", help=N_("read the password as one line from stdin"))
REPORT_OPTIONS = (
    arg("--dept", metavar="D", help=N_("one department (its folder in the inbox; - for files outside any)")),
    arg("--csv", action="store_true", help=N_("CSV for Excel on stdout (UTF-8 with BOM)")),
    arg("--xlsx", type=Path, metavar="FILE", help=N_("an Excel workbook (files, and totals on a second sheet)")),
)


@dataclass(frozen=True)
class Command:
    words: str  # "sanitize", or "quarantine release" under its group
    func: Handler
    help: str
    shared: tuple[str, ...] = ()
    own: tuple[Arg, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)


GROUPS = {
    "quarantine": N_("list, inspect, release, unlock or delete"),
    "audit": N_("verify, tail, show or export the audit log"),
    "policy": N_("check or show a policy"),
    "notify": N_("mail the administrator: quarantine alerts, the daily summary, a test"),
    "outbox": N_("clean released files after the retention"),
    "cache": N_("what the cache of verified outputs holds, or empty it"),
    "report": N_("one row per file for a day or a month (Japan time), from the audit log"),
    "users": N_("the web console's accounts: add, change a password, disable, list"),
}

COMMANDS = (
    Command(
        "sanitize",
        cmd_sanitize,
        N_("sanitize files or folders into --out"),
        ("json", *PLACES),
        (PATHS, arg("--out", type=Path, required=True, metavar="DIR", help=N_("where released files go"))),
    ),
    Command("scan", cmd_scan, N_("report what files hold; changes nothing"), ("json", "policy"), (PATHS,)),
    Command(
        "batch",
        cmd_batch,
        N_("one pass over an inbox (consumes it)"),
        ("inbox", "outbox", *PLACES, "workers", "json"),
    ),
    Command(
        "watch",
        cmd_watch,
        N_("the drop-folder daemon"),
        ("inbox", "outbox", *PLACES, "workers"),
        (arg("--polling", action="store_true", help=N_("poll instead of inotify (SMB/NFS)")),),
    ),
    Command("status", cmd_status, N_("is the daemon alive, queue, today's counts"), ("spool", "audit", "json")),
    Command("quarantine list", cmd_quarantine_list, N_("a table of entries"), ("json", "quarantine", "audit")),
    Command("quarantine show", cmd_quarantine_show, N_("one entry's meta.json"), ("quarantine", "audit"), (QID,)),
    Command("quarantine delete", cmd_quarantine_delete, N_("delete an entry"), ("quarantine", "audit"), (QID,)),
    Command(
        "quarantine release",
        cmd_quarantine_release,
        N_("re-run with another policy, or hand over the original"),
        ("quarantine", "audit", "outbox", "policy", "spool"),
        (
            QID,
            arg("--original", action="store_true", help=N_("release the original bytes (audited)")),
            arg("--reason", help=N_("why (required with --original)")),
            arg("--allow-program", action="store_true", help=N_("also when the original is a program")),
        ),
    ),
    Command(
        "quarantine unlock",
        cmd_quarantine_unlock,
        N_("decrypt with a password and re-run the pipeline"),
        ("quarantine", "audit", "outbox", "policy", "spool"),
        (QID, arg("--password-file", type=Path, metavar="F", help=N_("else asked for, or one line on stdin"))),
    ),
    Command(
        "quarantine purge",
        cmd_quarantine_purge,
        N_("delete entries older than an age"),
        ("quarantine", "audit", "policy"),
        (arg("--older-than", type=_age, metavar="AGE", help=N_("such as 12h or 90m; default: the policy's quarantine.retention")),),
    ),
    Command(
        "audit verify",
        cmd_audit_verify,
        N_("check the hash chain over every segment"),
        ("audit",),
        (arg("--anchors", type=Path, metavar="F", help=N_("anchor file (default: the installed one, if readable)")),),
    ),
    Command(
        "audit anchor",
        cmd_audit_anchor,
        N_("append the chain head to the anchor file (run as root by cdr-anchor.timer)"),
        ("audit",),
        (arg("--anchors", type=Path, metavar="F", help=N_("anchor file (/var/lib/cdr-anchor/anchors.jsonl)")),),
    ),
    Command(
        "audit prune",
        cmd_audit_prune,
        N_("remove closed segments older than audit_retention (audited)"),
        ("audit",),
        (arg("--older-than", type=_age, metavar="AGE", help=N_("instead of audit_retention, such as 1830d")),),
    ),
    Command(
        "outbox clean",
        cmd_outbox_clean,
        N_("remove released files and notices older than outbox_retention (audited)"),
        ("outbox", "audit"),
        (arg("--older-than", type=_age, metavar="AGE", help=N_("instead of outbox_retention, such as 14d")),),
    ),
    Command("cache stats", cmd_cache_stats, N_("entries, size, hits and misses"), ("spool", "policy")),
    Command("cache clear", cmd_cache_clear, N_("remove every kept output (audited)"), ("spool", "audit")),
    Command(
        "audit tail",
        cmd_audit_tail,
        N_("the last records"),
        ("audit", "json"),
        (arg("-n", type=int, default=20, help=N_("how many (20)")),),
    ),
    Command(
        "audit show",
        cmd_audit_show,
        N_("the life of one file (file or quarantine ID)"),
        ("audit", "quarantine", "json"),  # the quarantine tells when a 受付番号's file came
        (arg("id", help=N_("file or quarantine ID")),),
    ),
    Command(
        "audit export",
        cmd_audit_export,
        N_("CSV for Excel (UTF-8 with BOM) on stdout"),
        ("audit",),
        (arg("--csv", action="store_true", required=True),),
    ),
    Command(
        "report daily",
        cmd_report,
        N_("the files of one day"),
        ("audit",),
        (arg("--date", metavar="YYYY-MM-DD", help=N_("the day in Japan time (today)")), *REPORT_OPTIONS),
        {"month": None},
    ),
    Command(
        "report monthly",
        cmd_report,
        N_("the files of one month, with totals per department and reason"),
        ("audit",),
        (arg("--month", metavar="YYYY-MM", help=N_("the month in Japan time (this month)")), *REPORT_OPTIONS),
        {"date": None},
    ),
    Command("notify send", cmd_notify_send, N_("send the quarantine alert when due, and mail that waits"), MAIL),
    Command(
        "notify daily",
        cmd_notify_daily,
        N_("mail a day's summary (yesterday, Japan time)"),
        MAIL,
        (arg("--date", type=_day, metavar="YYYY-MM-DD", help=N_("the day (yesterday)")),),
    ),
    Command("notify test", cmd_notify_test, N_("send a test mail now (nothing is kept)"), MAIL),
    Command(
        "console",
        cmd_console,
        N_("the web console for staff, approvers and the administrator (gunicorn)"),
        ("inbox", "outbox", *PLACES),
        (
            arg("--listen", metavar="HOST:PORT", help=N_("the LGWAN-side address (console_listen, 127.0.0.1:8765)")),
            arg("--workers", dest="console_workers", type=int, default=2, metavar="N", help=N_("server processes (2)")),
            arg("--secure-cookies", action="store_true", help=N_("cookies only over HTTPS (behind a TLS reverse proxy)")),
        ),
    ),
    Command(
        "users add",
        cmd_users_add,
        N_("add a console account (the password is asked twice)"),
        ("audit",),
        (
            USER,
            arg("--role", required=True, choices=("staff", "approver", "admin"), help=N_("staff, approver or admin")),
            arg("--department", action="append", metavar="D", help=N_("a first folder under the inbox; again for more")),
            arg("--lang", choices=("ja", "en"), default="ja", help=N_("the console's language for this account (ja)")),
            PASSWORD_STDIN,
        ),
    ),
    Command("users passwd", cmd_users_passwd, N_("set a new password (ends the account's sessions)"), ("audit",), (USER, PASSWORD_STDIN)),
    Command("users disable", cmd_users_disable, N_("no more logins; ends the account's sessions"), ("audit",), (USER,)),
    Command("users enable", cmd_users_enable, N_("allow a disabled account to log in again"), ("audit",), (USER,)),
    Command("users list", cmd_users_list, N_("the accounts, their roles and departments"), ("json",)),
    Command("policy check", cmd_policy_check, N_("validate a policy file"), (), (arg("file", type=Path),)),
    Command("policy show", cmd_policy_show, N_("the effective policy, defaults filled in"), ("policy",)),
)


class CellsHelpFormatter(argparse.HelpFormatter):
    """argparse's help wrapped by terminal cells, not characters: a Japanese character takes
    two cells, and help wrapped at 78 characters ran to 117 cells in an 80-column terminal."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap(" ".join(text.split()), width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in wrap(" ".join(text.split()), width - len(indent)))


def _translated(options: dict[str, Any]) -> dict[str, Any]:
    return {**options, "help": _(options["help"])} if "help" in options else options


def _add_command(parent: Any, command: Command, name: str) -> None:
    parser = parent.add_parser(name, help=_(command.help), description=_(command.help), formatter_class=CellsHelpFormatter)
    for own in command.own:
        parser.add_argument(*own.flags, **_translated(own.options))
    for key in command.shared:
        shared = SHARED[key]
        parser.add_argument(f"--{key.replace('_', '-')}", *shared.flags, **_translated(shared.options))
    parser.set_defaults(func=command.func, **command.defaults)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cdr", description=_("無害化 — the file sanitization (CDR) appliance"), formatter_class=CellsHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"cdr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help=_("log each step on stderr"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    groups: dict[str, Any] = {}
    for command in COMMANDS:
        group, _space, action = command.words.rpartition(" ")
        if group and group not in groups:
            groups[group] = sub.add_parser(group, help=_(GROUPS[group]), formatter_class=CellsHelpFormatter).add_subparsers(
                dest="action", required=True, metavar="ACTION"
            )
        _add_command(groups[group] if group else sub, command, action)
    return parser


def main(argv: list[str] | None = None) -> int:
    speak_the_environment_language()  # Japanese under a Japanese locale (cdr/i18n.py)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="cdr: %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except CdrError as exc:  # a usage error too: EXIT_ERROR
        _error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        print(file=sys.stderr)  # after the ^C the terminal shows
        print(_("cdr: interrupted"), file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a folder or file of the appliance itself: one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return EXIT_ERROR


def _error(message: str) -> None:
    """Each problem on a line of its own (a policy with three mistakes names all three)."""
    for line in message.splitlines() or [""]:
        print(_("cdr: error: {message}").format(message=line), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
