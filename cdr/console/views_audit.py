"""The audit log for the administrator: a search (file, user, event, days), the chain's
verification with its first bad record (``cdr.auditcheck``, as `cdr audit verify`), the
CSV export (``cdr.event_csv``, the bytes of `cdr audit export --csv`), and the browser's
CSP violation reports, which are written into the log."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Response, g, render_template, request, stream_with_context

from cdr.audit import records
from cdr.auditcheck import check
from cdr.console import security
from cdr.console.app import audit, db, settings, t
from cdr.console.words import EVENTS, WHO, event_words, record_row
from cdr.daemon.counters import japan_time
from cdr.event_csv import export_chunks
from cdr.names import display, id_as_typed, id_matches

bp = Blueprint("audit", __name__)
SHOWN = 200
CSP_REPORTS_PER_MINUTE = 30


@dataclass(frozen=True)
class Search:
    file: str
    user: str
    event: str
    start: date | None
    end: date | None

    @classmethod
    def from_args(cls) -> Search:
        args = request.args
        return cls(
            args.get("file", "").strip()[:200],
            args.get("user", "").strip()[:64],
            args.get("event", "").strip()[:64],
            _day(args.get("from", "")),
            _day(args.get("to", "")),
        )

    @property
    def everything(self) -> bool:
        return not (self.file or self.user or self.event or self.start or self.end)

    def wants(self, record: dict[str, Any]) -> bool:
        if self.event and record.get("event") != self.event:
            return False
        if self.user and not any(record.get(k) == self.user for k in WHO):
            return False
        if self.file and not _about(record, self.file):
            return False
        if self.start or self.end:
            moment = japan_time(record.get("ts"))
            if moment is None:
                return False
            if (self.start and moment.date() < self.start) or (self.end and moment.date() > self.end):
                return False
        return True


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _about(record: dict[str, Any], typed: str) -> bool:
    """The record names the file: one of its IDs (or a 受付番号), or words of its name."""
    wanted = id_as_typed(typed)
    for key in ("file_id", "quarantine_id", "from_quarantine"):
        value = record.get(key)
        if isinstance(value, str) and wanted and id_matches(value, wanted):
            return True
    return typed.casefold() in display(str(record.get("input") or "")).casefold()


@bp.get("/audit")
@security.requires("admin")
def search() -> str:
    wanted = Search.from_args()
    newest: deque[dict[str, Any]] = deque(maxlen=SHOWN)
    count = 0
    seen: set[str] = {wanted.event} if wanted.event else set()
    for record in records(settings().audit):
        seen.add(str(record.get("event") or ""))
        if wanted.wants(record):
            newest.append(record)
            count += 1
    rows = [record_row(g.lang, r) for r in reversed(newest)]
    return render_template(
        "audit.html", search=wanted, rows=rows, count=count, limit=SHOWN, args=request.args, events=event_choices(seen)
    )


def event_choices(seen: set[str]) -> list[tuple[str, str]]:
    """The events the log holds, for the search's list: in words, in the order of a file's
    life (``EVENTS``), then any this version has no words for, by their code."""
    known = [code for code in EVENTS if code in seen]
    others = sorted(code for code in seen - set(EVENTS) if code)
    return [(code, event_words(g.lang, code)) for code in known + others]


@bp.post("/audit/verify")
@security.requires("admin")
def verify() -> str:
    result = check(settings().audit)
    audit("console-audit-verified", ok=result.ok, records=result.records, problem=result.problem)
    if result.ok and result.records == 0:
        said, bad = t("a.verify_empty"), False
    elif result.ok:
        said, bad = t("a.verify_ok", count=result.records), False
    else:
        line = t("a.verify_line", line=result.line) if result.line else ""
        said, bad = t("a.verify_bad", count=result.records, problem=display(str(result.problem))) + line, True
    return render_template(
        "audit.html", search=Search("", "", "", None, None), rows=[], count=0, limit=SHOWN, args={},
        verified=said, verified_bad=bad, files=result.files, events=[],
    )


@bp.get("/audit/export.csv")
@security.requires("admin")
def export() -> Response:
    wanted = Search.from_args()
    chunks = export_chunks(settings().audit, None if wanted.everything else wanted.wants)
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=audit.csv"
    return response


@bp.post("/csp-report")
def csp_report() -> tuple[str, int]:
    """A browser's report of something the CSP blocked: into the audit log (bounded in
    size and rate: anyone who can reach the console can post here)."""
    now = time.time()
    if not db().allow(f"csp-report:{security.client_address()}", CSP_REPORTS_PER_MINUTE, 60.0, now):
        return "", 429
    try:
        report = json.loads(request.get_data(cache=False, as_text=True) or "{}")
    except (ValueError, RecursionError):  # not JSON, or nested deeper than a parser goes
        return "", 400
    body = report.get("csp-report", report) if isinstance(report, dict) else {}
    fields = {
        k.replace("-", "_"): display(str(body.get(k)))[:300]
        for k in ("document-uri", "violated-directive", "effective-directive", "blocked-uri", "source-file", "line-number")
        if isinstance(body, dict) and body.get(k) is not None
    }
    audit("console-csp-report", **fields)
    return "", 204
