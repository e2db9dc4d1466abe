"""`cdr batch`: one pass over an inbox with the same settle and claim rules as `watch`
(it consumes the inbox), safe to run beside a watcher on the same folders.

A file still open for writing is left for the next run. One that a writer reopened
between the look and the claim is waited for (up to ``HOLD_SECONDS``), then left in the
spool, where the next run's crash recovery picks it up.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator

from cdr.config import Settings
from cdr.daemon.claim import SpoolJob, claim, recover, work_folder
from cdr.daemon.inbox import inbox_files
from cdr.daemon.jobs import deliver_owed_notices
from cdr.daemon.retry import Retry, run_with_retries
from cdr.daemon.roots import require_roots, same_filesystem
from cdr.daemon.settle import observe, open_for_writing, settled_now
from cdr.model import Verdict
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy
from cdr.release import remove_partials
from cdr.sandbox import SandboxPool

Report = Callable[[Iterator[Verdict], bool, int], int]
HOLD_SECONDS = 30.0


def run_batch(args: argparse.Namespace, settings: Settings, policy: Policy, report: Report) -> int:
    require_roots(inbox=settings.inbox, outbox=settings.outbox)
    same_filesystem(settings.inbox, settings.spool)
    remove_partials(settings.outbox)
    places = Places(settings.outbox, settings.quarantine, settings.audit, work_folder(settings.spool))
    pool = SandboxPool(1, policy.sandbox.isolation)
    pipeline = Pipeline(policy, places, pool)
    pipeline.start()
    deliver_owed_notices(pipeline)
    retry = Retry(settings.retry_attempts, settings.retry_delay)
    settle = policy.watch.settle_seconds
    recovered = recover(settings.spool)
    candidates = inbox_files(settings.inbox)
    waiting = [p for p in candidates if not settled_now(p, settle)]
    ready = [p for p in candidates if p not in set(waiting)]

    counts: Counter[str] = Counter()

    def finished(job: SpoolJob) -> Iterator[Verdict]:
        verdict = run_with_retries(pipeline, job, retry)
        if verdict is not None:
            counts[verdict.verdict.value] += 1
            yield verdict

    def verdicts() -> Iterator[Verdict]:
        for job in recovered:
            if _writer_done(job, settle):
                yield from finished(job)
            else:
                counts["still being written, left in the spool"] += 1
        for path in ready:
            job = claim(path, settings.inbox, settings.spool)
            if job is None:
                counts["taken by another run"] += 1
                continue  # a watcher or another batch took it first
            if _writer_done(job, settle):
                yield from finished(job)
            else:
                counts["still being written, left in the spool"] += 1

    try:
        status = report(verdicts(), getattr(args, "json", False), len(ready) + len(recovered))
    finally:
        pipeline.close()
        pool.close()
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing to do"
    print(f"batch: {summary}", file=sys.stderr)
    if waiting:
        print(f"batch: {len(waiting)} file(s) still being written, left for the next run", file=sys.stderr)
    return status


def _writer_done(job: SpoolJob, settle: float) -> bool:
    """After the claim: nobody writing, or the writer closes and the file settles in time.

    A job whose writer outlasts the wait keeps its place in the spool, unlocked.
    """
    if job.refused or not open_for_writing(job.original):
        return True
    deadline = time.monotonic() + max(HOLD_SECONDS, settle * 10)
    seen = None
    while time.monotonic() < deadline:
        now = time.monotonic()
        seen, still = observe(job.original, seen, now)
        if seen is not None and still and now - seen.since >= settle:
            if not open_for_writing(job.original):
                return True
            seen = None
        time.sleep(min(0.1, settle))
    job.release_lock()
    return False
