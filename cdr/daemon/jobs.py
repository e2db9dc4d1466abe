"""Run one claimed spool job to its end, exactly once, for both watch and batch.

Operational errors propagate with the job still in the spool; what happens next (try
again, wait, give up) is cdr/daemon/retry.py's. ``give_up`` is the end of a file that
failed its last try: quarantined as ``operational-error`` with the real cause.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os

from cdr.audit import has_final_event
from cdr.daemon.claim import SpoolJob
from cdr.errors import CannotProcess
from cdr.model import Outcome, Verdict
from cdr.names import display
from cdr.pipeline import Pipeline
from cdr.quarantine import ORIGINAL as QUARANTINED_ORIGINAL

log = logging.getLogger("cdr")


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
    log_verdict(verdict)
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
            stored = pipeline.quarantine.get(job.id).meta  # the contact of the policy the file ran with
            contact = stored.get("contact", pipeline.policy.notice.contact)
            pipeline.quarantine.notify(job.id, pipeline.places.outbox, contact)
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
    log_verdict(verdict)
    return verdict


def _close_in_audit(pipeline: Pipeline, job: SpoolJob, event: str, **fields: object) -> None:
    if not has_final_event(pipeline.places.audit, job.id):
        pipeline.audit.append(event, job.id, job.relative, None, **fields)
    log.info("recovered %s: it was already %s before a restart", display(job.relative), event)


def log_verdict(verdict: Verdict) -> None:
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
