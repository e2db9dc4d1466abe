"""The daemon's tallies for `cdr status`: today's verdicts, the jobs in hand, the problems.

Workers, the main loop and the status writer use them at the same time: one lock. "Today"
is the day in Japan (UTC+9, no summer time), and a start reads today's verdicts back from
the audit log, so a restart at noon does not report a morning of nothing.

A problem has a kind (``Trouble``) and what it is about (a job's ID, or nothing for the
daemon as a whole). It stays "current" only until whoever reported it sees the condition
gone — the outbox took the file, the next policy reload worked — and then becomes the
last resolved one, with when it cleared: a status that still shows yesterday's full disk
sends the clerk looking for a problem that is not there.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from cdr.audit import now_iso, records_newest_first
from cdr.model import Outcome

JAPAN = timezone(timedelta(hours=9), "JST")
FINAL_EVENTS = frozenset(outcome.value for outcome in Outcome)  # "released", "quarantined"


def japan_today() -> date:
    return datetime.now(JAPAN).date()


def japan_time(ts: object) -> datetime | None:
    """An audit record's ``ts`` (UTC, ISO 8601) in Japan time; None if it is no time."""
    try:
        return datetime.fromisoformat(str(ts).replace("Z", "+00:00")).astimezone(JAPAN)
    except ValueError:
        return None


def final_records_between(first: date, last: date, audit: Path) -> Iterator[dict[str, Any]]:
    """The records that ended a file's life from ``first`` to ``last`` (Japan time days, both
    included), newest first. Read from the end back to the first record well before ``first``
    (records are written in time order; an hour's slack covers writers that raced at midnight)."""
    before = datetime.combine(first, datetime.min.time(), JAPAN) - timedelta(hours=1)
    for record in records_newest_first(audit):
        when = japan_time(record.get("ts"))
        if when is None:
            continue
        if when < before:
            break
        if record.get("event") in FINAL_EVENTS and first <= when.date() <= last:
            yield record


def final_records_on(day: date, audit: Path) -> Iterator[dict[str, Any]]:
    """The records that ended a file's life on ``day`` (Japan time), newest first."""
    return final_records_between(day, day, audit)


def verdicts_on(day: date, audit: Path) -> Counter[str]:
    """The files whose life ended on ``day`` (Japan time), by verdict, as the log has them."""
    return Counter(record["event"] for record in final_records_on(day, audit))


log = logging.getLogger("cdr")


class Trouble(StrEnum):
    """What went wrong, by what clears it."""

    PLACE = "place"  # a shared folder missing, or one that cannot take a file (read-only, full)
    POLICY_RELOAD = "policy-reload"  # a SIGHUP's policy was refused; the old one stays
    NOTICES = "notices"  # notices owed to staff could not be looked at
    CLAIM = "claim"  # a file could not be moved into the spool
    JOB = "job"  # a file that failed for a reason of its own waits for its next try


@dataclass(frozen=True)
class Problem:
    kind: Trouble
    message: str
    since: str  # when it was first seen (UTC, ISO 8601); a repeat keeps it
    about: str = ""  # a job's ID, or "" for the daemon as a whole


class Counters:
    def __init__(self, audit: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._day = japan_today()
        self._today: Counter[str] = verdicts_on(self._day, audit) if audit is not None else Counter()
        self._in_flight: dict[str, str] = {}  # job id → the file's path in the inbox
        self._problems: dict[tuple[Trouble, str], Problem] = {}
        self._resolved: dict[str, Any] | None = None  # the last problem that went away, and when

    def count(self, outcome: Outcome) -> None:
        with self._lock:
            self._roll_over()
            self._today[outcome.value] += 1

    def error(self, kind: Trouble, message: str, about: str = "") -> None:
        """Logged now, and shown by `cdr status` until ``resolved`` says it is gone."""
        with self._lock:
            seen = self._problems.get((kind, about))
            self._problems[(kind, about)] = Problem(kind, message, seen.since if seen else now_iso(), about)
        log.error(message)

    def resolved(self, kind: Trouble, about: str = "") -> None:
        """The condition behind ``kind`` (for ``about``) is seen gone."""
        with self._lock:
            self._clear([(kind, about)])

    def resolved_about(self, about: str) -> None:
        """Everything about one job is over: it finished, or it was given up and quarantined."""
        with self._lock:
            self._clear([key for key in self._problems if key[1] == about])

    def _clear(self, keys: list[tuple[Trouble, str]]) -> None:
        for key in keys:
            problem = self._problems.pop(key, None)
            if problem is not None:
                self._resolved = {**asdict(problem), "cleared": now_iso()}
                log.info("resolved (%s): %s", problem.kind, problem.message)

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
            problems = sorted(self._problems.values(), key=lambda p: p.since)
            return {
                "in_flight": sorted(self._in_flight.values()),
                "today": dict(self._today),
                "problems": [asdict(problem) for problem in problems],
                "resolved": self._resolved,
                # the newest current problem, for readers of the older status file
                "last_error": f"{problems[-1].since} {problems[-1].message}" if problems else None,
            }

    def _roll_over(self) -> None:
        """At midnight in Japan "today" starts again from nothing (the caller holds the lock)."""
        if japan_today() != self._day:
            self._today.clear()
            self._day = japan_today()
