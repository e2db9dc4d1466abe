"""`cdr batch`: one pass over an inbox with the same settle and claim rules as `watch`
(it consumes the inbox), safe to run beside a watcher on the same folders.

A file still open for writing is left for the next run. One that a writer reopened
between the look and the claim is waited for (up to ``HOLD_SECONDS``), then left in the
spool, where the next run's crash recovery picks it up.

``--workers N`` runs N files at once, each in a sandbox of its own, through one pipeline
(one audit log, one quarantine), as ``watch`` does. A file is claimed only when a worker
is free for it, so the rest stay in the inbox for a watcher or another batch run. With one
worker, files go oldest first; with more, biggest first (equal sizes oldest first): a big
file started last would keep one worker busy while the others have nothing left, and
the run would take that much longer. Result lines come as files finish: with one worker
in that order, with more in the order they end. The workers' sandboxes start together before the first file (as many as there are
files to run), not each on its worker's first file: the second would otherwise start while
the first worker is already at work, and its worker wait for it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from pathlib import Path
from typing import TypeVar

from cdr.cache import cache_place
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
from cdr.sandbox import Sandbox, SandboxPool

Report = Callable[[Iterator[Verdict], bool, int], int]
HOLD_SECONDS = 30.0
Item = TypeVar("Item")
Done = TypeVar("Done")


def run_batch(args: argparse.Namespace, settings: Settings, policy: Policy, report: Report) -> int:
    require_roots(inbox=settings.inbox, outbox=settings.outbox)
    same_filesystem(settings.inbox, settings.spool)
    remove_partials(settings.outbox)
    places = Places(settings.outbox, settings.quarantine, settings.audit, work_folder(settings.spool), cache_place(settings))
    workers = settings.workers
    pool = SandboxPool(workers, policy.sandbox.isolation)
    pipeline = Pipeline(policy, places, pool)
    # the first sandbox before the inbox is looked at: a file dropped just before the run
    # has had that second to settle (a scan first left it "still being written" for the next run)
    pipeline.start()
    deliver_owed_notices(pipeline)
    retry = Retry(settings.retry_attempts, settings.retry_delay)
    settle = policy.watch.settle_seconds
    recovered = recover(settings.spool)
    candidates = inbox_files(settings.inbox)
    waiting = [p for p in candidates if not settled_now(p, settle)]
    still = set(waiting)  # once: ten thousand files must not cost ten thousand sets
    ready = [p for p in candidates if p not in still]
    if workers > 1:
        ready.sort(key=_size, reverse=True)  # stable: equal sizes stay oldest first
    start_sandboxes(pool, min(workers, len(recovered) + len(ready)))  # the others, side by side

    counts: Counter[str] = Counter()

    def take(item: SpoolJob | Path) -> tuple[str, Verdict | None]:
        """One file to its end in a worker: what to count, and its verdict if it has one."""
        job = item if isinstance(item, SpoolJob) else claim(item, settings.inbox, settings.spool)
        if job is None:
            return "taken by another run", None  # a watcher or another batch took it first
        if not _writer_done(job, settle):
            return "still being written, left in the spool", None
        verdict = run_with_retries(pipeline, job, retry)
        return (verdict.verdict.value, verdict) if verdict is not None else ("", None)

    def verdicts() -> Iterator[Verdict]:
        for what, verdict in at_most(workers, take, [*recovered, *ready]):
            if what:
                counts[what] += 1
            if verdict is not None:
                yield verdict

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


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except FileNotFoundError:
        return 0  # gone since the look: its claim will say so


def start_sandboxes(pool: SandboxPool, count: int) -> None:
    """Start ``count`` of the pool's sandboxes at once, each in a thread of its own (a
    zygote's start is mostly its child's imports, which run side by side). All are leased
    together, so each thread starts a different one; a start that fails ends the run, as
    the pipeline's own start would."""
    if count < 2:
        return  # one sandbox: the pipeline's start is the same thing
    with ExitStack() as leases, ThreadPoolExecutor(count, thread_name_prefix="cdr-start") as starting:
        sandboxes = [leases.enter_context(pool.lease()) for _ in range(count)]
        for _ in starting.map(Sandbox.start, sandboxes):
            pass


def at_most(workers: int, task: Callable[[Item], Done], items: Iterable[Item]) -> Iterator[Done]:
    """``task`` over ``items`` in ``workers`` threads, each result as soon as it is there.

    An item is handed out only when a worker is free (a file is claimed when it can start,
    not before). When a task fails, no new item starts; those under way finish and their
    results still come, then the first failure is raised (an unwritable outbox ends the
    run as it did with one worker)."""
    pending = iter(items)
    running: set[Future[Done]] = set()
    failure: BaseException | None = None
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="cdr-batch") as executor:

        def start_more() -> None:
            while failure is None and len(running) < max(1, workers):
                item = next(pending, _NOTHING_LEFT)
                if item is _NOTHING_LEFT:
                    return
                running.add(executor.submit(task, item))  # type: ignore[arg-type]

        start_more()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            results = []
            for future in done:
                running.discard(future)
                try:
                    results.append(future.result())
                except BaseException as exc:  # noqa: BLE001 - raised below, once the others end
                    failure = failure or exc
            start_more()  # a freed worker takes its next file before the results are printed
            yield from results
    if failure is not None:
        raise failure


_NOTHING_LEFT = object()


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
