"""`cdr batch`: one pass over an inbox with the same settle and claim rules as `watch`
(it consumes the inbox), safe to run beside a watcher on the same folders."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Iterator

from cdr.config import Settings
from cdr.intake import claim, inbox_files, recover, same_filesystem, settled_now, work_folder
from cdr.jobs import run_job
from cdr.model import Verdict
from cdr.pipeline import Pipeline, Places
from cdr.policy import Policy
from cdr.release import remove_partials

Report = Callable[[Iterator[Verdict], bool, int], int]


def run_batch(args: argparse.Namespace, settings: Settings, policy: Policy, report: Report) -> int:
    same_filesystem(settings.inbox, settings.spool)
    remove_partials(settings.outbox)
    places = Places(settings.outbox, settings.quarantine, settings.audit, work_folder(settings.spool))
    pipeline = Pipeline(policy, places, workers=1)
    pipeline.start()
    recovered = recover(settings.spool)
    candidates = inbox_files(settings.inbox)
    waiting = [p for p in candidates if not settled_now(p, policy.watch.settle_seconds)]
    ready = [p for p in candidates if p not in set(waiting)]

    counts: Counter[str] = Counter()

    def verdicts() -> Iterator[Verdict]:
        for job in recovered:
            verdict = run_job(pipeline, job)
            if verdict is not None:
                counts[verdict.verdict.value] += 1
                yield verdict
        for path in ready:
            job = claim(path, settings.inbox, settings.spool)
            if job is None:
                counts["taken by another run"] += 1
                continue  # a watcher or another batch took it first
            verdict = run_job(pipeline, job)
            if verdict is not None:
                counts[verdict.verdict.value] += 1
                yield verdict

    try:
        status = report(verdicts(), getattr(args, "json", False), len(ready) + len(recovered))
    finally:
        pipeline.close()
    summary = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "nothing to do"
    print(f"batch: {summary}", file=sys.stderr)
    if waiting:
        print(f"batch: {len(waiting)} file(s) still being written, left for the next run", file=sys.stderr)
    return status
