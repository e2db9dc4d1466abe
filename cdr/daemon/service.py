"""`cdr watch`: the drop-folder daemon, wired from the package's parts.

Threads: watchdog's observer reports paths (watcher); the main loop settles them (settle),
feeds a bounded ready queue, puts jobs whose retry is due back on it (retry), writes
notices that are still owed, reloads the policy on SIGHUP and writes the status file; N
workers claim (claim) and run jobs to their end (jobs). Files wait in the inbox, not the
spool, while every worker is busy, so that another watcher or a batch run can take them.
A job whose file turns out to be open for writing after the claim is held, locked, until
the writer closes it and it settles again.

When the inbox or outbox root disappears (an unmounted share), nothing is claimed or
released until it is back; it is never created anew as an empty local folder (roots).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

from watchdog.observers.api import BaseObserver

from cdr.audit import now_iso
from cdr.cache import cache_place
from cdr.config import Settings
from cdr.daemon.claim import SpoolJob, claim, recover, work_folder
from cdr.daemon.counters import Counters, Trouble
from cdr.daemon.inbox import inbox_files
from cdr.daemon.jobs import deliver_owed_notices, run_job
from cdr.daemon.retry import MAX_BACKOFF, PLACE_ERRORS, Retrier, Retry
from cdr.daemon.roots import SharedRoots, same_filesystem
from cdr.daemon.settle import Settling, open_for_writing
from cdr.daemon.status import write_status
from cdr.daemon.watcher import new_observer, watch_inbox
from cdr.errors import CdrError, ConfigError
from cdr.names import display
from cdr.notify import sd_notify
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy, load_policy
from cdr.release import remove_partials
from cdr.sandbox import SandboxPool

log = logging.getLogger("cdr")

TICK = 0.05
RESCAN_SECONDS = 30.0
ROOTS_SECONDS = 1.0  # how often the inbox and outbox roots are checked for presence
NOTICE_SECONDS = 5.0  # how often notices still owed are tried again
STATUS_SECONDS = 1.0
ROOTS = "roots"  # what a missing inbox or outbox is a problem about


class Daemon:
    def __init__(self, settings: Settings, policy: Policy, polling: bool) -> None:
        self.settings = settings
        self.polling = polling or policy.watch.polling
        places = Places(settings.outbox, settings.quarantine, settings.audit, work_folder(settings.spool), cache_place(settings))
        self.pool = SandboxPool(settings.workers, policy.sandbox.isolation)
        self.pipeline = Pipeline(policy, places, self.pool)
        self.settling = Settling(policy.watch.settle_seconds)
        self.ready: queue.Queue[Path | SpoolJob] = queue.Queue()
        self.counters = Counters(settings.audit)  # today's verdicts so far, read back from the log
        retry = Retry(settings.retry_attempts, settings.retry_delay, MAX_BACKOFF)
        self.retries = Retrier(self.pipeline, retry, self.counters)
        self.roots = SharedRoots(inbox=settings.inbox, outbox=settings.outbox)
        self.missing: list[str] = []  # shared roots that are gone; the main loop's alone
        self.stopping = threading.Event()
        self.reload_requested = threading.Event()
        self.started = now_iso()

    # ---------------------------------------------------------------- workers
    def _work(self) -> None:
        while not self.stopping.is_set():
            try:
                item = self.ready.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._take(item)
            except Exception as exc:  # noqa: BLE001 - a worker must never die: one file's trouble, not the daemon's
                about = item.relative if isinstance(item, SpoolJob) else str(item)
                log.exception("unexpected error while taking %s", display(about))
                # a claimed job stays in the spool (the next start recovers it); a file not yet
                # claimed stays in the inbox and is offered again by the next scan
                self.counters.error(Trouble.JOB, f"{display(about)}: unexpected error: {exc}", about)

    def _take(self, item: Path | SpoolJob) -> None:
        job = item if isinstance(item, SpoolJob) else self._claim(item)
        if job is None:
            return
        if not job.refused and open_for_writing(job.original):
            # the rename did not stop a writer that kept the file open
            log.info("%s is still being written after the claim: held until it settles", display(job.relative))
            self.settling.hold(job)
            return
        self._run(job)

    def _run(self, job: SpoolJob) -> None:
        with self.counters.working_on(job.id, job.relative):
            try:
                verdict = run_job(self.pipeline, job)
            except PLACE_ERRORS as exc:
                self.retries.failed(job, exc)
                return
            except Exception as exc:  # noqa: BLE001 - a worker must never die; the job stays spooled
                log.exception("unexpected error on %s", display(job.relative))
                self.retries.failed(job, exc)
                return
        self.retries.succeeded(job)
        if verdict is not None:
            self.counters.count(verdict.verdict)

    def _claim(self, path: Path) -> SpoolJob | None:
        self.settling.claiming(path)
        try:
            job = claim(path, self.settings.inbox, self.settings.spool)
        except OSError as exc:
            self.counters.error(Trouble.CLAIM, f"cannot claim {display(str(path))}: {exc}")
            return None
        self.counters.resolved(Trouble.CLAIM)  # the spool took a file (or another taker did)
        return job

    # ---------------------------------------------------------------- the main loop's steps
    def _feed(self, now: float) -> None:
        """Settled files, held jobs whose writer is done, and retries that are due: to the workers."""
        room = self.settings.workers * 2 - self.ready.qsize()
        for item in [*self.settling.settled(now, room), *self.settling.settled_held(now), *self.retries.queue.due(now)]:
            self.ready.put(item)

    def _scan(self) -> None:
        for path in inbox_files(self.settings.inbox):
            self.settling.touch(path)

    def _reload(self) -> None:
        self.reload_requested.clear()
        path = self.settings.policy
        try:
            policy = load_policy(path)
        except ConfigError as exc:
            said = "; ".join(exc.problems)  # one line for status and the journal, however many mistakes
            self.counters.error(Trouble.POLICY_RELOAD, f"policy reload refused, the old policy stays in force: {said}")
            self.pipeline.audit.append("policy-reload-refused", reason=said)
            return
        self.pipeline.set_policy(policy)
        self.counters.resolved(Trouble.POLICY_RELOAD)
        self.settling.seconds = policy.watch.settle_seconds
        self.pipeline.audit.append("policy-reloaded", source=str(path))
        log.info("policy reloaded from %s (sha256 %s)", path, policy.sha256[:16])

    def _deliver_notices(self) -> None:
        """Notices that could not be written when their file was quarantined."""
        try:
            written = deliver_owed_notices(self.pipeline)
        except (CdrError, OSError) as exc:
            self.counters.error(Trouble.NOTICES, f"owed notices wait: {exc}")
            return
        self.counters.resolved(Trouble.NOTICES)
        if written:
            log.info("%d notice(s) owed since the outbox could not take them are now written", written)

    def status(self) -> dict[str, Any]:
        waiting, being_written = self.settling.counts()
        return {
            "pid": os.getpid(),
            "started": self.started,
            "heartbeat": time.time(),
            "inbox": str(self.settings.inbox),
            "outbox": str(self.settings.outbox),
            "queue": waiting + len(self.retries.queue),
            "being_written": being_written,
            "waiting_for": self.missing,
            **self.counters.snapshot(),
            "policy": self.pipeline.policy.name,
            "contact_placeholder": self.pipeline.policy.notice.contact_is_placeholder,
            "sandbox": self.pipeline.sandbox_layers,
            "workers": self.settings.workers,
        }

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
            self.counters.error(
                Trouble.PLACE,
                f"waiting for the {' and the '.join(missing)}: gone (an unmounted share?); "
                "nothing is claimed or released until it is back, and it is not created here",
                about=ROOTS,
            )
            return
        self.counters.resolved(Trouble.PLACE, about=ROOTS)
        sd_notify("STATUS=watching")
        if observer is not None:
            log.info("the shared folders are back: claiming and releasing resume")
            watch_inbox(observer, self.settings.inbox, self.settling.touch)  # the old watch went with the folder
            self._scan()

    # ---------------------------------------------------------------- the daemon
    def run(self) -> int:
        settings = self.settings
        settings.spool.mkdir(parents=True, exist_ok=True)
        self.pipeline.start()
        self.pipeline.audit.append(
            "daemon-started", inbox=str(settings.inbox), sandbox=self.pipeline.sandbox_layers
        )
        observer = new_observer(self.polling)
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
        watch_inbox(observer, settings.inbox, self.settling.touch)
        observer.start()

    def _loop(self, observer: BaseObserver) -> None:
        last_status = last_scan = last_roots = last_notices = 0.0
        while not self.stopping.is_set():
            now = time.monotonic()
            if now - last_roots >= ROOTS_SECONDS:
                self._check_roots(observer)
                last_roots = now
            if not self.missing:
                self._feed(now)
                if now - last_scan > RESCAN_SECONDS:
                    self._scan()  # events can be missed (SMB, overflow): look again
                    last_scan = now
                if now - last_notices > NOTICE_SECONDS:
                    self._deliver_notices()
                    last_notices = now
            if self.reload_requested.is_set():
                self._reload()
            if now - last_status > STATUS_SECONDS:
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
        for job in [*self.retries.queue.waiting(), *self.settling.held()]:
            job.release_lock()  # the next start takes it from the spool
        self.pipeline.audit.append("daemon-stopped")
        self.pipeline.close()
        self.pool.close()
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
