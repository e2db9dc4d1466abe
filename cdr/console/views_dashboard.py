"""The dashboard: is the watcher alive, what waits, today's and this month's files per
department and verdict, free disk space, the last error, the sandbox's layers, 30 days."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from flask import Blueprint, g, render_template

from cdr.console import security
from cdr.console.app import day, settings, t
from cdr.console.chart import chart_svg
from cdr.console.tallies import table, tallies, totals
from cdr.console.words import layer_words, trouble_words
from cdr.daemon.status import status_report
from cdr.report import department_and_name
from cdr.sandbox_layers import layer_names

bp = Blueprint("dashboard", __name__)


def _disk(label: str, place: Path) -> dict[str, Any]:
    """Free space where ``place`` is (its nearest existing folder: a fresh install's
    quarantine may not exist yet)."""
    folder = place
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        usage = shutil.disk_usage(folder)
    except OSError:
        return {"label": label, "path": str(place), "free": None, "total": None, "percent": None}
    return {
        "label": label,
        "path": str(place),
        "free": usage.free,
        "total": usage.total,
        "percent": round(100 * usage.free / usage.total) if usage.total else None,
    }


def _size(count: int | None) -> str:
    if count is None:
        return ""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def _scope() -> tuple[str, ...] | None:
    """Whose files the counts are of: an administrator's, everyone's; others' departments."""
    return None if g.user.role == "admin" else tuple(g.user.departments)


def _theirs(paths: list[str]) -> list[str]:
    """The files in flight this person may know of: another department's file names are
    not theirs to read (an administrator sees all)."""
    scope = _scope()
    return [p for p in map(str, paths) if scope is None or department_and_name(p)[0] in scope]


@bp.get("/")
@security.requires()
def index() -> str:
    conf = settings()
    status = status_report(conf)
    counted = tallies(conf.audit, departments=_scope())
    disks = [
        _disk(t("dash.spool"), conf.spool),
        _disk(t("dash.outbox"), conf.outbox),
        _disk(t("dash.quarantine"), conf.quarantine),
    ]
    chart = chart_svg(counted.days, t("dash.chart"), t("verdict.released"), t("verdict.quarantined"), day)
    return render_template(
        "dashboard.html",
        status=status,
        today=table(counted.today),
        month=table(counted.month),
        today_total=totals(counted.today),
        month_total=totals(counted.month),
        days=counted.days,
        chart=chart,
        disks=disks,
        size=_size,
        layers=[(layer, layer_words(g.lang, layer)) for layer in layer_names(status.get("sandbox"))],
        trouble=lambda kind: trouble_words(g.lang, str(kind)),
        in_flight=_theirs(status.get("in_flight") or []),
    )
