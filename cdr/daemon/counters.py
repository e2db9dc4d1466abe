"""The daemon's tallies for `cdr status`: today's verdicts, the jobs in hand, the last error.

Workers, the main loop and the status writer use them at the same time: one lock.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from cdr.audit import now_iso
from cdr.model import Outcome

log = logging.getLogger("cdr")


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._today: Counter[str] = Counter()
        self._day = date.today()
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
        """At midnight "today" starts again from nothing (the caller holds the lock)."""
        if date.today() != self._day:
            self._today.clear()
            self._day = date.today()
