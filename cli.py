"""cdr — the admin command line. One small function per subcommand; see README."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cdr import __version__
from cdr.errors import EXIT_ERROR, EXIT_FOUND, EXIT_OK, CannotProcess, CdrError, UsageError
from cdr.model import Outcome, Verdict
from cdr.names import display

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


def _pipeline(args: argparse.Namespace, policy: Any = None, workers: int = 1) -> Any:
    from cdr.daemon.claim import work_folder
    from cdr.pipeline import Pipeline, Places

    conf = _settings(args)
    places = Places(conf.outbox, conf.quarantine, conf.audit, work=work_folder(conf.spool))
    pipeline = Pipeline(policy or _policy(args), places, workers=workers)
    pipeline.start()
    return pipeline


def _walk(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """Each file under the given paths with its path relative to what was given."""
    for path in paths:
        if path.is_symlink() or path.is_file() or (path.exists() and not path.is_dir()):
            yield path, path.name
        elif path.is_dir():
            if not os.access(path, os.R_OK | os.X_OK):
                raise UsageError(f"{path}: the folder cannot be read")
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    full = Path(root) / name
                    yield full, full.relative_to(path).as_posix()
        else:
            raise UsageError(f"{path}: no such file or folder")


def _human(verdict: Verdict) -> str:
    name = display(verdict.input)
    if verdict.verdict == Outcome.RELEASED:
        did = ", ".join(
            f"{a['what']} {a['action']}" + (f" ×{a['count']}" if a["count"] > 1 else "")
            for a in verdict.actions
            if a["what"] not in ("pixels", "text")
        )
        return f"released     {name} → {display(verdict.output or '')}" + (f"  ({did})" if did else "")
    return f"quarantined  {name}  [{verdict.reason}] {display(verdict.message or '')}" + (
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
    progress.add_task("無害化 sanitizing", total=total)
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
        raise UsageError(f"{conf.outbox}: cannot create the output folder: {exc.strerror}") from None
    pipeline = _pipeline(args)
    retry = Retry(conf.retry_attempts, conf.retry_delay)
    try:
        deliver_owed_notices(pipeline)  # an earlier run's, to this --out, now it can take them
        verdicts = (process_with_retries(pipeline, path, rel, retry) for path, rel in files)
        return report(verdicts, args.json, len(files))
    finally:
        pipeline.close()


def cmd_scan(args: argparse.Namespace) -> int:
    from cdr.scan import scan_file

    policy = _policy(args)
    files = list(_walk(args.paths))
    worst = EXIT_OK
    from cdr.sandbox import Sandbox

    with Sandbox(policy.sandbox.isolation) as sandbox:
        for path, rel in files:
            report_ = scan_file(sandbox, path, rel, policy)
            if report_["would"] != "release" or report_["findings"]:
                worst = EXIT_FOUND
            if args.json:
                print(json.dumps(report_, ensure_ascii=False), flush=True)
            else:
                print(_scan_text(report_), flush=True)
    return worst


def _scan_text(report_: dict[str, Any]) -> str:
    lines = [
        f"{display(report_['input'])}: {report_['type']} ({display(report_.get('mime') or '')})"
        f" → policy: {report_['would']}" + (f" ({report_['reason']})" if report_.get("reason") else "")
    ]
    for finding in report_["findings"]:
        count = f" ×{finding['count']}" if finding.get("count", 1) > 1 else ""
        lines.append(f"    {finding['kind']}{count}: {display(finding.get('detail') or '')}")
    for key, value in (report_.get("details") or {}).items():
        lines.append(f"    {key}: {value}")
    return "\n".join(lines)


def cmd_policy_check(args: argparse.Namespace) -> int:
    from cdr.policy import load_policy

    policy = load_policy(args.file)
    print(f"{args.file}: OK (policy {policy.name!r}, sha256 {policy.sha256[:16]}…)")
    return EXIT_OK


def cmd_policy_show(args: argparse.Namespace) -> int:
    import yaml

    policy = _policy(args)
    print(f"# effective policy from {policy.source}; sha256 {policy.sha256}")
    print(yaml.safe_dump(policy.to_json(), allow_unicode=True, sort_keys=False), end="")
    return EXIT_OK


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from cdr.audit import verify

    path = _settings(args).audit
    result = verify(path)
    if result.ok:
        print(f"{path}: OK, {result.records} records, chain intact")
        return EXIT_OK
    print(f"{path}: BROKEN after {result.records} good records: {result.problem}")
    return EXIT_FOUND


def cmd_audit_tail(args: argparse.Namespace) -> int:
    from collections import deque

    from cdr.audit import records

    for record in deque(records(_settings(args).audit), maxlen=args.n):
        print(_audit_line(record) if not args.json else json.dumps(record, ensure_ascii=False))
    return EXIT_OK


def _audit_line(record: dict[str, Any]) -> str:
    extra = {
        k: record[k]
        for k in ("type", "action", "output", "reason", "quarantine_id", "message")
        if record.get(k)
    }
    detail = " ".join(f"{k}={display(str(v))}" for k, v in extra.items())
    return (
        f"{record.get('ts')} #{record.get('seq')} {record.get('event'):<12} "
        f"{record.get('file_id') or '-'} {display(str(record.get('input') or ''))} {detail}"
    ).rstrip()


def cmd_audit_show(args: argparse.Namespace) -> int:
    from cdr.audit import records

    found = [
        r for r in records(_settings(args).audit) if args.id in (r.get("file_id"), r.get("quarantine_id"))
    ]
    if not found:
        raise UsageError(f"no audit records for {args.id}")
    for record in found:
        print(json.dumps(record, ensure_ascii=False) if args.json else _audit_line(record))
    return EXIT_OK


def cmd_audit_export(args: argparse.Namespace) -> int:
    from cdr.audit import export_csv

    sys.stdout.buffer.write(export_csv(_settings(args).audit))
    return EXIT_OK


def _store(args: argparse.Namespace) -> Any:
    from cdr.quarantine import QuarantineStore

    return QuarantineStore(_settings(args).quarantine)


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    entries = list(_store(args).entries())
    if args.json:
        for entry in entries:
            print(json.dumps(entry.meta, ensure_ascii=False))
        return EXIT_OK
    from datetime import datetime

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"quarantine: {len(entries)} entries")
    for column in ("ID", "when", "status", "reason", "type", "file"):
        table.add_column(column)
    for entry in entries:
        meta = entry.meta
        when = datetime.fromtimestamp(meta.get("quarantined_at", 0)).strftime("%Y-%m-%d %H:%M")
        table.add_row(
            entry.id,
            when,
            meta.get("status", ""),
            meta.get("reason", ""),
            meta.get("type") or "",
            display(meta.get("input", "")),
        )
    Console().print(table)
    return EXIT_OK


def cmd_quarantine_show(args: argparse.Namespace) -> int:
    print(json.dumps(_store(args).get(args.id).meta, ensure_ascii=False, indent=2))
    return EXIT_OK


def _admin_audit(args: argparse.Namespace, event: str, entry: Any, **fields: Any) -> None:
    from cdr.audit import AuditLog

    audit = AuditLog(_settings(args).audit)
    try:
        audit.append(
            event,
            entry.meta.get("file_id"),
            entry.meta.get("input"),
            entry.meta.get("sha256"),
            quarantine_id=entry.id,
            admin=getpass.getuser(),
            **fields,
        )
    finally:
        audit.close()


def _rerun(args: argparse.Namespace, entry: Any, password: str | None, event: str) -> int:
    pipeline = _pipeline(args)
    try:
        verdict = pipeline.process(
            entry.original,
            entry.meta.get("relative") or entry.meta["input"],
            password=password,
            store_failures=False,
            extra={"from_quarantine": entry.id, "via": event},
        )
    finally:
        pipeline.close()
    if verdict.verdict == Outcome.RELEASED:
        _store(args).update(
            entry.id,
            status="released",
            released_as=verdict.output,
            released_by=getpass.getuser(),
            release_mode=event,
        )
        print(f"released {entry.id} → {verdict.output}")
        return EXIT_OK
    print(f"{entry.id} stays in quarantine: [{verdict.reason}] {verdict.message}")
    return EXIT_FOUND


def cmd_quarantine_release(args: argparse.Namespace) -> int:
    entry = _store(args).get(args.id)
    if not args.original:
        _admin_audit(args, "quarantine-rerun", entry, policy_file=str(args.policy or ""))
        return _rerun(args, entry, None, "rerun")
    if not args.reason:
        raise UsageError("--original needs --reason TEXT: the reason is written to the audit log")
    from cdr.names import safe_relative
    from cdr.release import release

    outbox = _settings(args).outbox
    final = release(entry.original, outbox, safe_relative(entry.meta.get("relative", "file")), entry.id)
    os.chmod(outbox / final, 0o644)
    _admin_audit(
        args,
        "released-original",
        entry,
        reason=args.reason,
        output=str(final),
        output_sha256=entry.meta.get("sha256"),
    )
    _store(args).update(
        entry.id,
        status="released-original",
        released_as=str(outbox / final),
        released_by=getpass.getuser(),
        release_reason=args.reason,
    )
    print(f"released the ORIGINAL of {entry.id} → {outbox / final} (on your responsibility; audited)")
    return EXIT_OK


def cmd_quarantine_unlock(args: argparse.Namespace) -> int:
    entry = _store(args).get(args.id)
    if args.password_file:
        try:
            password = args.password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"{args.password_file}: {exc.strerror}") from None
    elif sys.stdin.isatty():
        password = getpass.getpass(f"password for {entry.meta.get('input')}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("no password given")
    _admin_audit(args, "unlock", entry)  # the password itself is never written
    return _rerun(args, entry, password, "unlock")


def cmd_quarantine_delete(args: argparse.Namespace) -> int:
    store = _store(args)
    entry = store.get(args.id)
    store.delete(args.id)
    _admin_audit(args, "quarantine-deleted", entry)
    print(f"deleted {args.id}")
    return EXIT_OK


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)\s*([dhm]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not an age such as 30d, 12h or 90m")
    return int(match.group(1)) * {"d": 86400, "h": 3600, "m": 60, "": 86400}[match.group(2)]


def cmd_quarantine_purge(args: argparse.Namespace) -> int:
    store = _store(args)
    old = store.older_than(args.older_than)
    for entry in old:
        store.delete(entry.id)
        _admin_audit(args, "quarantine-purged", entry)
    print(f"purged {len(old)} entries older than {args.older_than / 86400:g} days")
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from cdr.daemon.batch import run_batch

    return run_batch(args, _settings(args), _policy(args), report)


def cmd_watch(args: argparse.Namespace) -> int:
    from cdr.daemon.service import run_watch

    return run_watch(_settings(args), _policy(args), polling=args.polling)


def cmd_status(args: argparse.Namespace) -> int:
    from cdr.daemon.status import show_status

    return show_status(_settings(args), as_json=args.json)


# ------------------------------------------------------------------ the parser
def _places(parser: argparse.ArgumentParser, outbox: bool = True) -> None:
    if outbox:
        parser.add_argument("--outbox", type=Path, help="LGWAN-side folder")
    parser.add_argument("--quarantine", type=Path, metavar="DIR", help="quarantine store")
    parser.add_argument("--audit", type=Path, metavar="F", help="audit log (JSON Lines)")
    parser.add_argument("--spool", type=Path, metavar="DIR", help="work folder")
    parser.add_argument("--policy", type=Path, metavar="F", help="policy YAML")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cdr", description="無害化 — file sanitization (CDR) appliance")
    parser.add_argument("--version", action="version", version=f"cdr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each step on stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sanitize", help="sanitize files or folders into --out")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--json", action="store_true", help="one JSON result line per file")
    _places(p, outbox=False)
    p.set_defaults(func=cmd_sanitize)

    p = sub.add_parser("scan", help="report what files hold; changes nothing")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument("--json", action="store_true")
    p.add_argument("--policy", type=Path, metavar="F")
    p.set_defaults(func=cmd_scan)

    for name, func, text in (
        ("batch", cmd_batch, "one pass over an inbox (consumes it)"),
        ("watch", cmd_watch, "the drop-folder daemon"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--inbox", type=Path, metavar="DIR")
        _places(p)
        p.add_argument("--workers", type=int, metavar="N")
        if name == "watch":
            p.add_argument("--polling", action="store_true", help="poll instead of inotify (SMB/NFS)")
        else:
            p.add_argument("--json", action="store_true")
        p.set_defaults(func=func)

    p = sub.add_parser("status", help="is the daemon alive, queue, today's counts")
    p.add_argument("--spool", type=Path, metavar="DIR")
    p.add_argument("--audit", type=Path, metavar="F")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_status)

    q = sub.add_parser("quarantine", help="list, inspect, release, unlock or delete").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = q.add_parser("list", help="a table of entries")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_quarantine_list)
    for name, func, text in (
        ("show", cmd_quarantine_show, "one entry's meta.json"),
        ("delete", cmd_quarantine_delete, "delete an entry"),
    ):
        p = q.add_parser(name, help=text)
        p.add_argument("id")
        p.set_defaults(func=func)
    p = q.add_parser("release", help="re-run with another policy, or hand over the original")
    p.add_argument("id")
    p.add_argument("--original", action="store_true", help="release the original bytes (audited)")
    p.add_argument("--reason", help="why (required with --original)")
    p = q.add_parser("unlock", help="decrypt with a password and re-run the pipeline")
    p.add_argument("id")
    p.add_argument("--password-file", type=Path, metavar="F")
    p = q.add_parser("purge", help="delete entries older than an age")
    p.add_argument("--older-than", type=_seconds, default=_seconds("30d"), metavar="AGE")
    for action in q.choices.values():
        action.add_argument("--quarantine", type=Path, metavar="DIR")
        action.add_argument("--audit", type=Path, metavar="F")
    for name in ("release", "unlock"):
        q.choices[name].add_argument("--outbox", type=Path, metavar="DIR")
        q.choices[name].add_argument("--policy", type=Path, metavar="F")
        q.choices[name].add_argument("--spool", type=Path, metavar="DIR")
    q.choices["release"].set_defaults(func=cmd_quarantine_release)
    q.choices["unlock"].set_defaults(func=cmd_quarantine_unlock)
    q.choices["purge"].set_defaults(func=cmd_quarantine_purge)

    a = sub.add_parser("audit", help="verify, tail, show or export the audit log").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    a.add_parser("verify", help="check the hash chain").set_defaults(func=cmd_audit_verify)
    p = a.add_parser("tail", help="the last records")
    p.add_argument("-n", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_tail)
    p = a.add_parser("show", help="the life of one file (file or quarantine ID)")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_show)
    p = a.add_parser("export", help="CSV for Excel (UTF-8 with BOM) on stdout")
    p.add_argument("--csv", action="store_true", required=True)
    p.set_defaults(func=cmd_audit_export)
    for action in a.choices.values():
        action.add_argument("--audit", type=Path, metavar="F")

    pol = sub.add_parser("policy", help="check or show a policy").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    p = pol.add_parser("check", help="validate a policy file")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_policy_check)
    p = pol.add_parser("show", help="the effective policy, defaults filled in")
    p.add_argument("--policy", type=Path, metavar="F")
    p.set_defaults(func=cmd_policy_show)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="cdr: %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"cdr: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except CdrError as exc:
        print(f"cdr: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("cdr: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a folder or file of the appliance itself: one line, never a traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"cdr: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
