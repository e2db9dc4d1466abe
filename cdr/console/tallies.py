"""The dashboard's counts: files whose life ended (released or quarantined) per department
and verdict, today and this month, and per day for the last 30 days.

The same records the daemon counts its "today" from (``cdr.daemon.counters``: a
``released`` or ``quarantined`` record, its day in Japan time), read from the end of the
log back to the first day asked for; the department is the first folder of the record's
input, as the reports have it (``cdr.report.department_and_name``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from cdr.audit import records_newest_first
from cdr.daemon.counters import FINAL_EVENTS, JAPAN, japan_time
from cdr.report import department_and_name

VERDICTS = ("released", "quarantined")
CHART_DAYS = 30


@dataclass(frozen=True)
class Tallies:
    today: Counter[tuple[str, str]]  # (department, verdict) → files
    month: Counter[tuple[str, str]]
    days: list[tuple[date, int, int]]  # the last 30 days, oldest first: (day, released, quarantined)


def tallies(audit: Path, today: date | None = None, departments: tuple[str, ...] | None = None) -> Tallies:
    """The counts up to now; only ``departments``' files when named (None: all)."""
    today = today or datetime.now(JAPAN).date()
    first_of_month = today.replace(day=1)
    first_day = min(first_of_month, today - timedelta(days=CHART_DAYS - 1))
    stop = datetime.combine(first_day, datetime.min.time(), JAPAN) - timedelta(hours=1)  # as counters does
    by_day: Counter[tuple[date, str]] = Counter()
    this_month: Counter[tuple[str, str]] = Counter()
    this_day: Counter[tuple[str, str]] = Counter()
    for record in records_newest_first(audit):
        when = japan_time(record.get("ts"))
        if when is None:
            continue
        if when < stop:
            break
        event = record.get("event")
        if event not in FINAL_EVENTS or not first_day <= when.date() <= today:
            continue
        department = department_and_name(str(record.get("input") or ""))[0]
        if departments is not None and department not in departments:
            continue
        by_day[(when.date(), event)] += 1
        if when.date() >= first_of_month:
            this_month[(department, event)] += 1
        if when.date() == today:
            this_day[(department, event)] += 1
    days = [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    return Tallies(this_day, this_month, [(d, by_day[(d, "released")], by_day[(d, "quarantined")]) for d in days])


def table(counted: Counter[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """Rows (department, verdict, count) in department order, released before quarantined."""
    return sorted(((d, v, n) for (d, v), n in counted.items()), key=lambda r: (r[0], VERDICTS.index(r[1])))
