"""`cdr watch`: the drop-folder daemon.

Threads: watchdog's observer reports paths (created, modified, closed after writing,
moved); the main loop settles them (size and mtime still for the settle time, and no
process holding the file open for writing), feeds a bounded ready queue, retries jobs that
hit an operational error with back-off, writes notices that are still owed, reloads the
policy on SIGHUP and writes the status file; N workers claim and process. Files wait in
the inbox, not the spool, while every worker is busy, so that another watcher or a batch
run can take them. A job whose file turns out to be open for writing after the claim is
held, locked, until the writer closes it and it settles again.

When the inbox or outbox root disappears (an unmounted share), nothing is claimed or
released until it is back; it is never created anew as an empty local folder.
"""

from __future__ import annotations

import heapq
import logging
import os
import queue
import signal
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from cdr.audit import now_iso
from cdr.config import Settings
from cdr.errors import AuditError, CannotProcess, CdrError, ConfigError, OperationalError
from cdr.intake import (
    Seen,
    SharedRoots,
    SpoolJob,
    claim,
    ignored,
    inbox_files,
    observe,
    open_for_writing,
    recover,
    same_filesystem,
    work_folder,
)
from cdr.jobs import Retry, deliver_owed_notices, give_up, run_job
from cdr.model import Outcome
from cdr.names import display
from cdr.notify import sd_notify
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy, load_policy
from cdr.release import remove_partials
from cdr.status import write_status

log = logging.getLogger("cdr")

TICK = 0.05
# watchdog holds an unmatched IN_MOVED_FROM for 0.5 s to pair it with its IN_MOVED_TO, and
# every later event queues behind it. Each claim moves a file *out* of the inbox, so each
# claim would delay the next file's events by up to half a second. Both halves of a move
# arrive in one inotify read, so a short window still pairs them.
MOVE_PAIRING_SECONDS = 0.05
RESCAN_SECONDS = 30.0
ROOTS_SECONDS = 1.0  # how often the inbox and outbox roots are checked for presence
NOTICE_SECONDS = 5.0  # how often notices still owed are tried again
MAX_BACKOFF = 60.0
_HANDLED = ("created", "modified", "closed", "moved")


class _Events(FileSystemEventHandler):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _HANDLED:
            return
        path = Path(os.fsdecode(event.dest_path if event.event_type == "moved" else event.src_path))
        if event.is_directory:
            for found in inbox_files(path) if path.is_dir() else []:
                self.daemon.touch(found)
        elif not ignored(path.name):
            self.daemon.touch(path)


class Daemon:
    def __init__(self, settings: Settings, policy: Policy, polling: bool) -> None:
        self.settings = settings
        self.polling = polling or policy.watch.polling
        self.settle = policy.watch.settle_seconds
        places = Places(settings.outbox, settings.quarantine, settings.audit, work_folder(settings.spool))
        self.pipeline = Pipeline(policy, places, workers=settings.workers)
        self.retry_policy = Retry(settings.retry_attempts, settings.retry_delay, MAX_BACKOFF)
        self.pending: dict[Path, Seen | None] = {}
        self.writing: set[Path] = set()  # settled by size and mtime, but still open for writing
        self.held: dict[str, tuple[SpoolJob, Seen | None]] = {}  # claimed while still being written
        self.roots = SharedRoots(inbox=settings.inbox, outbox=settings.outbox)
        self.missing: list[str] = []  # shared roots that are gone
        self.queued: set[Path] = set()
        self.ready: queue.Queue[Path | SpoolJob] = queue.Queue()
        self.retry: list[tuple[float, int, SpoolJob]] = []
        self.backoff: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.in_flight: dict[str, str] = {}
        self.counts: Counter[str] = Counter()
        self.day = date.today()
        self.last_error: str | None = None
        self.started = now_iso()
        self._retry_seq = 0

    # ---------------------------------------------------------------- intake
    def touch(self, path: Path) -> None:
        with self.lock:
            if path not in self.queued:
                self.pending.setdefault(path, None)

    def _settle(self, now: float) -> None:
        room = self.settings.workers * 2 - self.ready.qsize()
        with self.lock:
            for path in list(self.pending):
                seen, still = observe(path, self.pending[path], now)
                if seen is None:
                    del self.pending[path]
                    self.writing.discard(path)
                elif still and now - seen.since >= self.settle and room > 0:
                    if open_for_writing(path):  # a writer paused: wait for it a whole settle time
                        self.pending[path] = Seen(seen.size, seen.mtime_ns, now)
                        self.writing.add(path)
                        continue
                    del self.pending[path]
                    self.writing.discard(path)
                    self.queued.add(path)
                    self.ready.put(path)
                    room -= 1
                else:
                    self.pending[path] = seen

    def _hold(self, job: SpoolJob) -> None:
        """Claimed, yet a writer still holds the file: wait (locked) for it to close and settle."""
        log.info("%s is still being written after the claim: held until it settles", display(job.relative))
        with self.lock:
            self.held[job.id] = (job, None)

    def _settle_held(self, now: float) -> None:
        with self.lock:
            for job_id, (job, seen) in list(self.held.items()):
                seen, still = observe(job.original, seen, now)
                if seen is not None and still and now - seen.since >= self.settle:
                    if open_for_writing(job.original):
                        seen = Seen(seen.size, seen.mtime_ns, now)
                    else:
                        del self.held[job_id]
                        self.ready.put(job)
                        continue
                self.held[job_id] = (job, seen)

    # ---------------------------------------------------------------- workers
    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                item = self.ready.get(timeout=0.2)
            except queue.Empty:
                continue
            job = item if isinstance(item, SpoolJob) else self._claim(item)
            if job is None:
                continue
            if not job.refused and open_for_writing(job.original):
                self._hold(job)  # the rename did not stop a writer that kept the file open
                continue
            self.in_flight[job.id] = job.relative
            try:
                verdict = run_job(self.pipeline, job)
            except (OperationalError, AuditError, OSError) as exc:
                self._failed(job, exc)
                continue
            except Exception as exc:  # noqa: BLE001 - a worker must never die; the job stays spooled
                log.exception("unexpected error on %s", display(job.relative))
                self._failed(job, exc)
                continue
            finally:
                self.in_flight.pop(job.id, None)
            self.backoff.pop(job.id, None)
            if verdict is not None:
                self._count(verdict.verdict)

    def _claim(self, path: Path) -> SpoolJob | None:
        with self.lock:
            self.queued.discard(path)
        try:
            return claim(path, self.settings.inbox, self.settings.spool)
        except OSError as exc:
            self._error(f"cannot claim {display(str(path))}: {exc}")
            return None

    def _failed(self, job: SpoolJob, exc: Exception) -> None:
        """Keep the job (and its lock) and try again later, waiting twice as long each time.

        A failure of the file itself is tried a bounded number of times, then quarantined;
        a failure of the appliance's places waits for as long as it lasts (cdr/jobs.py).
        """
        if isinstance(exc, CannotProcess):
            attempts = self._count_failure(job, exc)
            limit = self.retry_policy.attempts
            if attempts is not None and attempts < limit:
                delay = self.retry_policy.delay(attempts)
                self._retry_later(job, delay, f"try {attempts + 1} of {limit} in {delay:g}s", exc)
                return
            if attempts is not None and self._give_up(job, exc):
                return
        backoff = min(self.backoff.get(job.id, 0.5) * 2, MAX_BACKOFF)
        self.backoff[job.id] = backoff
        self._retry_later(job, backoff, f"retry in {backoff:g}s", exc)

    def _retry_later(self, job: SpoolJob, delay: float, what: str, exc: Exception) -> None:
        with self.lock:
            self._retry_seq += 1
            heapq.heappush(self.retry, (time.monotonic() + delay, self._retry_seq, job))
        self._error(f"{display(job.relative)} waits in the spool, {what}: {exc}")

    def _count_failure(self, job: SpoolJob, exc: Exception) -> int | None:
        """The job's failures so far, or None when even the count cannot be written."""
        try:
            return job.failed(str(exc))
        except OSError as place:
            self._error(f"{display(job.relative)}: cannot record the failure in the spool: {place}")
            return None

    def _give_up(self, job: SpoolJob, exc: CannotProcess) -> bool:
        try:
            verdict = give_up(self.pipeline, job, exc)
        except (OperationalError, AuditError, OSError) as place:
            self._error(f"{display(job.relative)}: cannot quarantine it yet: {place}")
            return False
        self.backoff.pop(job.id, None)
        self._count(verdict.verdict)
        return True

    def _requeue(self, now: float) -> None:
        with self.lock:
            while self.retry and self.retry[0][0] <= now:
                self.ready.put(heapq.heappop(self.retry)[2])

    def _count(self, outcome: Outcome) -> None:
        if date.today() != self.day:
            self.counts.clear()
            self.day = date.today()
        self.counts[outcome.value] += 1

    def _error(self, message: str) -> None:
        self.last_error = f"{now_iso()} {message}"
        log.error(message)

    # ---------------------------------------------------------------- control
    def _reload(self) -> None:
        self.reload_requested.clear()
        path = self.settings.policy
        try:
            policy = load_policy(path)
        except ConfigError as exc:
            self._error(f"policy reload refused, the old policy stays in force: {exc}")
            self.pipeline.audit.append("policy-reload-refused", reason=str(exc))
            return
        self.pipeline.set_policy(policy)
        self.settle = policy.watch.settle_seconds
        self.pipeline.audit.append("policy-reloaded", source=str(path))
        log.info("policy reloaded from %s (sha256 %s)", path, policy.sha256[:16])

    def status(self) -> dict[str, Any]:
        with self.lock:
            waiting = len(self.pending) + len(self.queued) + len(self.retry) + len(self.held)
            being_written = len(self.writing) + len(self.held)
        return {
            "pid": os.getpid(),
            "started": self.started,
            "heartbeat": time.time(),
            "inbox": str(self.settings.inbox),
            "outbox": str(self.settings.outbox),
            "queue": waiting,
            "being_written": being_written,
            "waiting_for": self.missing,
            "in_flight": sorted(self.in_flight.values()),
            "today": dict(self.counts),
            "last_error": self.last_error,
            "policy": self.pipeline.policy.name,
            "sandbox": self.pipeline.sandbox_layers,
            "workers": self.settings.workers,
        }

    def _scan(self) -> None:
        for path in inbox_files(self.settings.inbox):
            self.touch(path)

    # ---------------------------------------------------------------- shared roots
    def _wait_for_roots(self) -> bool:
        """At start: wait for a missing inbox or outbox instead of creating an empty one."""
        while not self.stopping.is_set():
            self._check_roots(None)
            if not self.missing:
                return True
            write_status(self.settings.spool, self.status())
            self.stopping.wait(ROOTS_SECONDS)
        return False

    def _check_roots(self, observer: BaseObserver | None) -> None:
        missing = self.roots.missing()
        if missing == self.missing:
            return
        self.missing = missing
        if missing:
            sd_notify(f"STATUS=waiting for the {' and the '.join(missing)}")
            self._error(
                f"waiting for the {' and the '.join(missing)}: gone (an unmounted share?); "
                "nothing is claimed or released until it is back, and it is not created here"
            )
            return
        sd_notify("STATUS=watching")
        if observer is not None:
            log.info("the shared folders are back: claiming and releasing resume")
            observer.unschedule_all()  # the old watch went with the folder
            observer.schedule(_Events(self), str(self.settings.inbox), recursive=True)
            self._scan()

    def _deliver_notices(self) -> None:
        """Notices that could not be written when their file was quarantined."""
        try:
            written = deliver_owed_notices(self.pipeline)
        except (CdrError, OSError) as exc:
            self._error(f"owed notices wait: {exc}")
            return
        if written:
            log.info("%d notice(s) owed since the outbox could not take them are now written", written)

    # ---------------------------------------------------------------- the daemon
    def run(self) -> int:
        settings = self.settings
        settings.spool.mkdir(parents=True, exist_ok=True)
        self.pipeline.start()
        self.pipeline.audit.append(
            "daemon-started", inbox=str(settings.inbox), sandbox=self.pipeline.sandbox_layers
        )
        observer = PollingObserver(timeout=1) if self.polling else Observer()
        workers = [
            threading.Thread(target=self._work, name=f"cdr-worker-{n}", daemon=True)
            for n in range(settings.workers)
        ]
        # Ready before the shares are: waiting for one is the service working, not starting.
        sd_notify("READY=1")
        try:
            if self._wait_for_roots():
                self._open(observer)
                for worker in workers:
                    worker.start()
                log.info(
                    "watching %s → %s with %d workers (%s), policy %r from %s",
                    settings.inbox,
                    settings.outbox,
                    settings.workers,
                    self.pipeline.sandbox_layers,
                    self.pipeline.policy.name,
                    self.pipeline.policy.source,
                )
                self._loop(observer)
        finally:
            self._shut_down(observer, workers)
        return 0

    def _open(self, observer: BaseObserver) -> None:
        """Crash recovery first, then the inbox as it is, then its events."""
        settings = self.settings
        same_filesystem(settings.inbox, settings.spool)
        remove_partials(settings.outbox)
        self._deliver_notices()
        for job in recover(settings.spool):
            self.ready.put(job)
        self._scan()
        if not self.polling:
            from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper

            InotifyMoveEventGrouper.delay = MOVE_PAIRING_SECONDS
        observer.schedule(_Events(self), str(settings.inbox), recursive=True)
        observer.start()

    def _loop(self, observer: BaseObserver) -> None:
        last_status = last_scan = last_roots = last_notices = 0.0
        while not self.stopping.is_set():
            now = time.monotonic()
            if now - last_roots >= ROOTS_SECONDS:
                self._check_roots(observer)
                last_roots = now
            if not self.missing:
                self._settle(now)
                self._settle_held(now)
                self._requeue(now)
                if now - last_scan > RESCAN_SECONDS:
                    self._scan()  # events can be missed (SMB, overflow): look again
                    last_scan = now
                if now - last_notices > NOTICE_SECONDS:
                    self._deliver_notices()
                    last_notices = now
            if self.reload_requested.is_set():
                self._reload()
            if now - last_status > 1.0:
                write_status(self.settings.spool, self.status())
                last_status = now
            self.stopping.wait(TICK)

    def _shut_down(self, observer: BaseObserver, workers: list[threading.Thread]) -> None:
        sd_notify("STOPPING=1")
        # watchdog logs an error for events that arrive while its thread winds down
        logging.getLogger("watchdog").setLevel(logging.CRITICAL)
        if observer.is_alive():
            observer.stop()
            observer.join()
        for worker in workers:
            if worker.is_alive():
                worker.join()  # each finishes the file it holds
        with self.lock:
            for _, _, job in self.retry:
                job.release_lock()  # the next start takes it from the spool
            for job, _ in self.held.values():
                job.release_lock()
        self.pipeline.audit.append("daemon-stopped")
        self.pipeline.close()
        write_status(self.settings.spool, {**self.status(), "stopped": True})
        log.info("stopped")


def run_watch(settings: Settings, policy: Policy, polling: bool = False) -> int:
    if not os.environ.get("JOURNAL_STREAM"):
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s cdr-watch %(levelname)s %(message)s", force=True
        )
    else:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", force=True)
    daemon = Daemon(settings, policy, polling)
    signal.signal(signal.SIGTERM, lambda *_: daemon.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: daemon.stopping.set())
    signal.signal(signal.SIGHUP, lambda *_: daemon.reload_requested.set())
    return daemon.run()
