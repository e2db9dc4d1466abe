"""The daemon's tallies for `cdr status`: today's verdicts, the jobs in hand, the last error.

Workers, the main loop and the status writer use them at the same time: one lock. "Today"
is the day in Japan (UTC+9, no summer time), and a start reads today's verdicts back from
the audit log, so a restart at noon does not report a morning of nothing.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cdr.audit import now_iso, records_newest_first
from cdr.model import Outcome

JAPAN = timezone(timedelta(hours=9), "JST")
FINAL_EVENTS = frozenset(outcome.value for outcome in Outcome)  # "released", "quarantined"


def japan_today() -> date:
    return datetime.now(JAPAN).date()


def verdicts_on(day: date, audit: Path) -> Counter[str]:
    """The files whose life ended on ``day`` (Japan time), by verdict, as the log has them.
    Read from the end back to the first record well before that day (records are written in
    time order; an hour's slack covers writers that raced at midnight)."""
    counted: Counter[str] = Counter()
    before = datetime.combine(day, datetime.min.time(), JAPAN) - timedelta(hours=1)
    for record in records_newest_first(audit):
        try:
            when = datetime.fromisoformat(str(record.get("ts")).replace("Z", "+00:00")).astimezone(JAPAN)
        except ValueError:
            continue
        if when < before:
            break
        if record.get("event") in FINAL_EVENTS and when.date() == day:
            counted[record["event"]] += 1
    return counted

log = logging.getLogger("cdr")


class Counters:
    def __init__(self, audit: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._day = japan_today()
        self._today: Counter[str] = verdicts_on(self._day, audit) if audit is not None else Counter()
        self._in_flight: dict[str, str] = {}  # job id → the file's path in the inbox
        self._last_error: str | None = None

    def count(self, outcome: Outcome) -> None:
        with self._lock:
            self._roll_over()
            self._today[outcome.value] += 1

    def error(self, message: str) -> None:
        """Logged now, and shown by `cdr status` until the next one."""
        with self._lock:
            self._last_error = f"{now_iso()} {message}"
        log.error(message)

    @contextmanager
    def working_on(self, job_id: str, relative: str) -> Iterator[None]:
        with self._lock:
            self._in_flight[job_id] = relative
        try:
            yield
        finally:
            with self._lock:
                self._in_flight.pop(job_id, None)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            self._roll_over()
            return {
                "in_flight": sorted(self._in_flight.values()),
                "today": dict(self._today),
                "last_error": self._last_error,
            }

    def _roll_over(self) -> None:
        """At midnight in Japan "today" starts again from nothing (the caller holds the lock)."""
        if japan_today() != self._day:
            self._today.clear()
            self._day = japan_today()
