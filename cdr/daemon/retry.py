"""Trying again: how often, how far apart, and when to give up.

A failure of *this file* (it cannot be read, the converter cannot start for it:
``CannotProcess``) is retried ``Retry.attempts`` times with doubling back-off, then the file
is quarantined as ``operational-error`` with the real cause — it must neither wait for
ever nor be dropped. A failure of *the appliance's places* (outbox missing or full, audit
log unwritable) is no fault of any file: the job waits in the spool, unlimited, until the
place is back (``PlaceBackoff``).
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cdr.daemon.claim import SpoolJob
from cdr.daemon.counters import Counters, Trouble
from cdr.daemon.jobs import give_up, log_verdict, run_job
from cdr.errors import AuditError, CannotProcess, OperationalError
from cdr.model import Verdict
from cdr.names import display, new_id
from cdr.pipeline import Pipeline

log = logging.getLogger("cdr")

MAX_BACKOFF = 60.0
# Failures of the appliance's places (outbox, audit log, spool): no fault of the file.
PLACE_ERRORS = (OperationalError, AuditError, OSError)


@dataclass(frozen=True)
class Retry:
    """How often a file that fails for an operational reason is tried, and how far apart."""

    attempts: int = 5
    first_delay: float = 2.0
    max_delay: float = MAX_BACKOFF

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failure: 2, 4, 8, 16 … up to the cap."""
        return min(self.first_delay * 2 ** (attempt - 1), self.max_delay)


class PlaceBackoff:
    """Per job, while the appliance's places fail it: 1, 2, 4 … up to a minute, no limit."""

    def __init__(self, cap: float = MAX_BACKOFF) -> None:
        self.cap = cap
        self._lock = threading.Lock()
        self._delays: dict[str, float] = {}

    def next(self, job_id: str) -> float:
        with self._lock:
            delay = min(self._delays.get(job_id, 0.5) * 2, self.cap)
            self._delays[job_id] = delay
            return delay

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._delays.pop(job_id, None)


class RetryQueue:
    """Jobs waiting in the spool to be tried again, each at its own time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, SpoolJob]] = []
        self._seq = 0  # ties on the time go first come, first served; jobs never compare

    def put(self, job: SpoolJob, delay: float) -> None:
        with self._lock:
            self._seq += 1
            heapq.heappush(self._heap, (time.monotonic() + delay, self._seq, job))

    def due(self, now: float) -> list[SpoolJob]:
        with self._lock:
            due = []
            while self._heap and self._heap[0][0] <= now:
                due.append(heapq.heappop(self._heap)[2])
            return due

    def waiting(self) -> list[SpoolJob]:
        with self._lock:
            return [job for _, _, job in self._heap]

    def __len__(self) -> int:
        with self._lock:
            return len(self._heap)


class Retrier:
    """The daemon's answer to a failed job: tried again later, or given up and quarantined.

    The job keeps its lock while it waits, so no other watcher or batch run takes it.
    """

    def __init__(self, pipeline: Pipeline, retry: Retry, counters: Counters) -> None:
        self.pipeline = pipeline
        self.retry = retry
        self.counters = counters
        self.queue = RetryQueue()
        self.backoff = PlaceBackoff(MAX_BACKOFF)

    def failed(self, job: SpoolJob, exc: Exception) -> None:
        """Wait twice as long each time: a bounded number of times for a failure of the file
        itself (then quarantine), for as long as it lasts for a failure of the places."""
        if isinstance(exc, CannotProcess):
            attempts = self._count_failure(job, exc)
            limit = self.retry.attempts
            if attempts is not None and attempts < limit:
                delay = self.retry.delay(attempts)
                self._later(job, delay, f"try {attempts + 1} of {limit} in {delay:g}s", exc)
                return
            if attempts is not None and self._give_up(job, exc):
                return
        delay = self.backoff.next(job.id)
        self._later(job, delay, f"retry in {delay:g}s", exc)

    def succeeded(self, job: SpoolJob) -> None:
        self.backoff.forget(job.id)
        self.counters.resolved_about(job.id)  # whatever held it up (the outbox, its own failure) is over

    def _later(self, job: SpoolJob, delay: float, what: str, exc: Exception) -> None:
        self.queue.put(job, delay)
        kind = Trouble.JOB if isinstance(exc, CannotProcess) else Trouble.PLACE
        self.counters.error(kind, f"{display(job.relative)} waits in the spool, {what}: {exc}", about=job.id)

    def _count_failure(self, job: SpoolJob, exc: Exception) -> int | None:
        """The job's failures so far, or None when even the count cannot be written."""
        try:
            return job.failed(str(exc))
        except OSError as place:
            self.counters.error(
                Trouble.PLACE, f"{display(job.relative)}: cannot record the failure in the spool: {place}", about=job.id
            )
            return None

    def _give_up(self, job: SpoolJob, exc: CannotProcess) -> bool:
        try:
            verdict = give_up(self.pipeline, job, exc)
        except PLACE_ERRORS as place:
            self.counters.error(
                Trouble.PLACE, f"{display(job.relative)}: cannot quarantine it yet: {place}", about=job.id
            )
            return False
        self.backoff.forget(job.id)
        self.counters.resolved_about(job.id)  # its end: quarantined with the cause
        self.counters.count(verdict.verdict)
        return True


def run_with_retries(
    pipeline: Pipeline, job: SpoolJob, retry: Retry, sleep: Callable[[float], None] = time.sleep
) -> Verdict | None:
    """``run_job`` for a run that may wait (batch): retried in place, then given up."""
    while True:
        try:
            return run_job(pipeline, job)
        except CannotProcess as exc:
            attempts = job.failed(str(exc))
            if attempts >= retry.attempts:
                return give_up(pipeline, job, exc)
            log.warning("%s: %s; try %d of %d", display(job.relative), exc, attempts + 1, retry.attempts)
            sleep(retry.delay(attempts))


def process_with_retries(
    pipeline: Pipeline, source: Path, relative: str, retry: Retry, sleep: Callable[[float], None] = time.sleep
) -> Verdict:
    """``cdr sanitize``: the same bounded retries for a file that is not spooled."""
    file_id, attempt = new_id(), 1
    while True:
        try:
            return pipeline.process(source, relative, file_id=file_id)
        except CannotProcess as exc:
            if attempt >= retry.attempts:
                verdict = pipeline.give_up(
                    source, relative, file_id, f"{exc} (gave up after {attempt} tries)"
                )
                log_verdict(verdict)
                return verdict
            log.warning("%s: %s; try %d of %d", display(relative), exc, attempt + 1, retry.attempts)
            sleep(retry.delay(attempt))
            attempt += 1
