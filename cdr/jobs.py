"""Run one claimed spool job to its end, exactly once, for both watch and batch.

Operational failures come in two kinds. A failure of *this file* (it cannot be read, the
converter cannot start for it: ``CannotProcess``) is retried ``Retry.attempts`` times with
doubling back-off, then the file is quarantined as ``operational-error`` with the real
cause — it must neither wait for ever nor be dropped. A failure of *the appliance's
places* (outbox missing or full, audit log unwritable) is no fault of any file: the job
waits in the spool, unlimited, until the place is back.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cdr.audit import has_final_event
from cdr.errors import CannotProcess
from cdr.intake import SpoolJob
from cdr.model import Outcome, Verdict
from cdr.names import display, new_id
from cdr.pipeline import Pipeline
from cdr.quarantine import ORIGINAL as QUARANTINED_ORIGINAL

log = logging.getLogger("cdr")


@dataclass(frozen=True)
class Retry:
    """How often a file that fails for an operational reason is tried, and how far apart."""

    attempts: int = 5
    first_delay: float = 2.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th failure: 2, 4, 8, 16 … up to the cap."""
        return min(self.first_delay * 2 ** (attempt - 1), self.max_delay)


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
                _log(verdict)
                return verdict
            log.warning("%s: %s; try %d of %d", display(relative), exc, attempt + 1, retry.attempts)
            sleep(retry.delay(attempt))
            attempt += 1


def give_up(pipeline: Pipeline, job: SpoolJob, exc: CannotProcess) -> Verdict:
    """The last try failed too: quarantine with the cause, and end the job."""
    cause = f"{exc} (gave up after {job.attempts} tries)"
    verdict = pipeline.give_up(job.original, job.relative, job.id, cause)
    if verdict.sha256 or _move_unreadable(pipeline, job):
        job.finish()
    else:
        kept = job.folder.with_name(f"kept-{job.id}")
        os.rename(job.folder, kept)  # no longer a job, but the bytes stay for the administrator
        job.release_lock()
        log.error("%s: the unreadable original stays in %s", display(job.relative), kept)
    _log(verdict)
    return verdict


def _move_unreadable(pipeline: Pipeline, job: SpoolJob) -> bool:
    """An original that cannot be read is moved, not copied, into its entry: never lost."""
    entry = pipeline.quarantine.root / job.id
    try:
        os.chmod(entry, 0o750)
        os.rename(job.original, entry / QUARANTINED_ORIGINAL)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            log.error("%s: cannot move the original into quarantine: %s", display(job.relative), exc)
        return False
    with contextlib.suppress(OSError):
        os.chmod(entry / QUARANTINED_ORIGINAL, 0o400)  # as every stored original: read-only
    return True


def deliver_owed_notices(pipeline: Pipeline) -> int:
    """Notices that waited for the outbox, written now and audited; how many."""
    if not pipeline.notices:
        return 0
    written = pipeline.quarantine.deliver_pending(pipeline.places.outbox)
    for entry, notice in written:
        meta = entry.meta
        pipeline.audit.append(
            "notice-written",
            meta.get("file_id"),
            meta.get("input"),
            meta.get("sha256"),
            quarantine_id=entry.id,
            notice=str(notice),
            late=True,
        )
    return len(written)


def run_job(pipeline: Pipeline, job: SpoolJob) -> Verdict | None:
    """The verdict, or None when a crashed run had already finished this file.

    Operational errors (a full disk, an unwritable outbox) propagate with the job still in
    the spool and unlocked by the caller, so that it is retried later, whole.
    """
    if pipeline.quarantine.exists(job.id):
        # The entry was stored before a crash; its notice may not have been written yet.
        if pipeline.notices:
            pipeline.quarantine.notify(job.id, pipeline.places.outbox, pipeline.policy.notice.contact)
        _close_in_audit(pipeline, job, "quarantined", quarantine_id=job.id, recovered=True)
        job.finish()
        return None
    published = job.released_already(pipeline.places.outbox)
    if published is not None:
        output, sha = published
        _close_in_audit(pipeline, job, "released", output=str(output), output_sha256=sha, recovered=True)
        job.finish()
        return None
    if job.refused:
        verdict = pipeline.refuse(job.relative, job.id, job.refused)
    else:
        verdict = pipeline.process(job.original, job.relative, file_id=job.id, on_intent=job.write_intent)
    job.finish()
    _log(verdict)
    return verdict


def _close_in_audit(pipeline: Pipeline, job: SpoolJob, event: str, **fields: object) -> None:
    if not has_final_event(pipeline.places.audit, job.id):
        pipeline.audit.append(event, job.id, job.relative, None, **fields)
    log.info("recovered %s: it was already %s before a restart", display(job.relative), event)


def _log(verdict: Verdict) -> None:
    if verdict.verdict == Outcome.RELEASED:
        log.info(
            "released %s → %s (%d ms)",
            display(verdict.input),
            display(verdict.output or ""),
            verdict.duration_ms,
        )
    else:
        log.warning(
            "quarantined %s [%s] %s id=%s",
            display(verdict.input),
            verdict.reason,
            display(verdict.message or ""),
            verdict.quarantine_id,
        )
