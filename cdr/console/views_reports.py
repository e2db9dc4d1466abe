"""The monthly report per department (月報), on the page and as the CSV and the Excel
workbook `cdr report monthly --csv/--xlsx` writes (``cdr.report``, ``cdr.report_files``).
An approver sees the departments they approve for; an administrator all."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, g, render_template, request

from cdr.console import security
from cdr.console.app import settings
from cdr.errors import UsageError
from cdr.report import ENDINGS_JA, Period, Row, month_period, rows, totals
from cdr.report_files import write_csv, write_xlsx

bp = Blueprint("reports", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _chosen() -> tuple[Period, str, list[Row]]:
    """The month and department asked for, and the rows this person may see of them."""
    month = request.args.get("month", "").strip()
    try:
        period = month_period(month or None)
    except UsageError:
        abort(400)
    department = request.args.get("department", "").strip()
    scope = None if g.user.role == "admin" else set(g.user.departments)
    if department and scope is not None and department not in scope:
        abort(404)  # not theirs: as if there were no such department
    found = rows(settings().audit, period, department or None)
    if scope is not None:
        found = [r for r in found if r.department in scope]
    return period, department, found


@bp.get("/reports")
@security.requires("approver", "admin")
def monthly() -> str:
    period, department, found = _chosen()
    departments = sorted(set(g.user.departments)) if g.user.role != "admin" else None
    return render_template(
        "reports.html",
        period=period,
        month=period.start.strftime("%Y-%m"),
        department=department,
        departments=departments,
        found=found,
        totals=totals(found),
        endings=ENDINGS_JA,
        args={k: v for k, v in (("month", period.start.strftime("%Y-%m")), ("department", department)) if v},
    )


def _filename(period: Period, department: str, suffix: str) -> str:
    # ASCII only: the department (a folder name) may be Japanese; the month says enough
    return f"report-{period.start:%Y-%m}{'-dept' if department else ''}.{suffix}"


@bp.get("/reports/monthly.csv")
@security.requires("approver", "admin")
def monthly_csv() -> Response:
    period, department, found = _chosen()
    buffer = io.BytesIO()
    write_csv(found, buffer)
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f"attachment; filename={_filename(period, department, 'csv')}"
    return response


@bp.get("/reports/monthly.xlsx")
@security.requires("approver", "admin")
def monthly_xlsx() -> Response:
    period, department, found = _chosen()
    with tempfile.TemporaryDirectory(prefix="cdr-console-") as folder:
        path = Path(folder) / "report.xlsx"
        write_xlsx(found, path, period.title)
        data = path.read_bytes()
    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename={_filename(period, department, 'xlsx')}"
    return response
