"""The dashboard's counts: today's and this month's files per department and how each
ended, and the released and quarantined records per day for the last 30 days.

The tables count files as `cdr status` (its "today") and `cdr report` do (``cdr.report.rows``):
a file received in the period, or received earlier and delivered in it by a person, by how it
stands now — 送付, 後日送付 (an unlock or a re-run), 原本送付, 隔離, 処理中. The chart counts
the ``released`` and ``quarantined`` records of each day, as the daemon's counters do
(``cdr.daemon.counters``), read from the end of the log back to the first day drawn; the
department is the first folder of the file's input (``cdr.report.department_and_name``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from cdr.daemon.counters import JAPAN, final_records_between, japan_time
from cdr.lifeline import Ending
from cdr.report import ENDINGS_JA, Period, day_period, department_and_name, month_period, rows

ENDINGS = tuple(ending.value for ending in ENDINGS_JA)  # the reports' order: 送付, 後日送付, 原本送付, 隔離, 処理中
CHART_DAYS = 30


@dataclass(frozen=True)
class Tallies:
    today: Counter[tuple[str, str]]  # (department, ending) → files
    month: Counter[tuple[str, str]]
    days: list[tuple[date, int, int]]  # the last 30 days, oldest first: (day, released, quarantined)


def endings(audit: Path, period: Period, departments: tuple[str, ...] | None) -> Counter[tuple[str, str]]:
    """(department, ending) → the period's files, as the reports count them."""
    return Counter(
        (r.department, r.ending.value) for r in rows(audit, period) if departments is None or r.department in departments
    )


def tallies(audit: Path, today: date | None = None, departments: tuple[str, ...] | None = None) -> Tallies:
    """The counts up to now; only ``departments``' files when named (None: all)."""
    today = today or datetime.now(JAPAN).date()
    this_day = endings(audit, day_period(today.isoformat()), departments)
    this_month = endings(audit, month_period(today.strftime("%Y-%m")), departments)
    first_of_month = today.replace(day=1)
    first_day = min(first_of_month, today - timedelta(days=CHART_DAYS - 1))
    by_day: Counter[tuple[date, str]] = Counter()
    for record in final_records_between(first_day, today, audit):
        department = department_and_name(str(record.get("input") or ""))[0]
        if departments is not None and department not in departments:
            continue
        when = japan_time(record.get("ts"))
        assert when is not None  # final_records_between yields only records with a readable time
        by_day[(when.date(), str(record.get("event")))] += 1
    days = [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    return Tallies(this_day, this_month, [(d, by_day[(d, "released")], by_day[(d, "quarantined")]) for d in days])


def table(counted: Counter[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """Rows (department, ending, count) in department order, endings in the reports' order."""
    return sorted(((d, e, n) for (d, e), n in counted.items()), key=lambda r: (r[0], ENDINGS.index(r[1])))


def totals(counted: Counter[tuple[str, str]]) -> dict[str, int]:
    """Files per ending over all departments, in the reports' order; released and quarantined
    always shown, the others where there are any."""
    summed: Counter[str] = Counter()
    for (_department, ending), n in counted.items():
        summed[ending] += n
    always = (Ending.RELEASED.value, Ending.QUARANTINED.value)
    return {e: summed[e] for e in ENDINGS if summed[e] or e in always}
