"""Run one claimed spool job to its end, exactly once, for both watch and batch."""

from __future__ import annotations

import logging

from cdr.audit import has_final_event
from cdr.intake import SpoolJob
from cdr.model import Outcome, Verdict
from cdr.names import display
from cdr.pipeline import Pipeline

log = logging.getLogger("cdr")


def run_job(pipeline: Pipeline, job: SpoolJob) -> Verdict | None:
    """The verdict, or None when a crashed run had already finished this file.

    Operational errors (a full disk, an unwritable outbox) propagate with the job still in
    the spool and unlocked by the caller, so that it is retried later, whole.
    """
    if pipeline.quarantine.exists(job.id):
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
