"""The daemon's parts one by one: settling, retry timing, the shared tallies, the watcher.

The whole daemon is tested as an operator runs it in test_watch.py and its neighbours;
these pin down the rules each part keeps, with real files, real processes and real threads.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path, PurePosixPath

import pytest
from watchdog.events import DirMovedEvent, FileClosedEvent, FileCreatedEvent, FileDeletedEvent

from cdr.daemon import counters as counters_module
from cdr.daemon.claim import SpoolJob, claim
from cdr.daemon.counters import Counters, Trouble
from cdr.daemon.pids import alive
from cdr.daemon.retry import PlaceBackoff, Retry, RetryQueue
from cdr.daemon.settle import Settling
from cdr.daemon.watcher import InboxEvents
from cdr.model import Outcome

HOLDER = "import sys, time; f = open(sys.argv[1], sys.argv[2]); print('open', flush=True); time.sleep(30)"


def _holding(path: Path, mode: str) -> subprocess.Popen[str]:
    """Another process that keeps ``path`` open (``ab``: writing, ``rb``: reading)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "open\n"
    return proc


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout:
        proc.stdout.close()


def _watching(path: Path, seconds: float) -> Settling:
    """A Settling that has had its first look at ``path`` (at t=100)."""
    settling = Settling(seconds)
    settling.touch(path)
    assert settling.settled(100.0, room=4) == []  # first look: nothing to compare with yet
    return settling


# ------------------------------------------------------------------ settle
def test_a_file_settles_once_it_has_held_still_for_the_settle_time(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("bear seen at the school gate\n")
    settling = _watching(path, 0.5)
    assert settling.settled(100.3, room=4) == []  # still, but not for long enough
    assert settling.settled(100.6, room=4) == [path]
    assert settling.counts() == (1, 0)  # queued for a worker, still waiting
    settling.claiming(path)
    assert settling.counts() == (0, 0)


def test_a_file_that_grows_starts_its_settle_time_again(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("first half\n")
    settling = _watching(path, 0.5)
    with path.open("a") as handle:
        handle.write("second half\n")
    assert settling.settled(100.6, room=4) == []
    assert settling.settled(101.0, room=4) == []
    assert settling.settled(101.2, room=4) == [path]


def test_a_writer_that_pauses_keeps_the_file_unsettled(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("half of it\n")
    writer = _holding(path, "ab")
    try:
        settling = _watching(path, 0.2)
        assert settling.settled(100.5, room=4) == []
        assert settling.counts() == (1, 1)  # waiting, and known to be still written
    finally:
        _stop(writer)
    assert settling.settled(100.6, room=4) == []  # the writer's close starts a whole settle time
    assert settling.settled(100.9, room=4) == [path]


def test_a_reader_does_not_hold_a_file_back(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("read by an indexer\n")
    reader = _holding(path, "rb")
    try:
        assert _watching(path, 0.2).settled(100.5, room=4) == [path]
    finally:
        _stop(reader)


def test_no_more_files_settle_than_there_is_room_for(tmp_path: Path) -> None:
    settling = Settling(0.1)
    for n in range(5):
        (tmp_path / f"{n}.txt").write_text(str(n))
        settling.touch(tmp_path / f"{n}.txt")
    settling.settled(100.0, room=2)
    assert len(settling.settled(100.5, room=2)) == 2
    assert len(settling.settled(100.6, room=2)) == 2
    assert len(settling.settled(100.7, room=2)) == 1


def test_a_file_that_vanishes_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("x")
    settling = _watching(path, 0.1)
    path.unlink()
    assert settling.settled(100.5, room=4) == []
    assert settling.counts() == (0, 0)


def test_a_held_job_is_released_once_its_writer_closes(tmp_path: Path) -> None:
    inbox, spool = tmp_path / "in", tmp_path / "spool"
    inbox.mkdir()
    spool.mkdir()
    path = inbox / "a.txt"
    path.write_text("half")
    writer = _holding(path, "ab")
    job = claim(path, inbox, spool)
    assert job is not None
    try:
        settling = Settling(0.2)
        settling.hold(job)
        assert settling.counts() == (1, 1)
        settling.settled_held(100.0)
        assert settling.settled_held(100.5) == []  # the writer still has it, in the spool now
    finally:
        _stop(writer)
    assert settling.settled_held(100.6) == []
    assert settling.settled_held(100.9) == [job]
    assert settling.counts() == (0, 0)
    job.finish()


# ------------------------------------------------------------------ retry
def test_a_failing_file_waits_twice_as_long_each_time_up_to_the_cap() -> None:
    retry = Retry(attempts=8, first_delay=2.0, max_delay=60.0)
    assert [retry.delay(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_a_job_waiting_for_the_places_backs_off_without_limit() -> None:
    backoff = PlaceBackoff(cap=60.0)
    assert [backoff.next("a") for _ in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.next("b") == 1  # each job its own
    backoff.forget("a")
    assert backoff.next("a") == 1


def test_retries_come_due_in_time_order(tmp_path: Path) -> None:
    queue = RetryQueue()
    jobs = [_job(tmp_path, n) for n in range(3)]
    queue.put(jobs[0], 30.0)
    queue.put(jobs[1], 0.0)
    queue.put(jobs[2], 0.0)
    assert len(queue) == 3
    assert queue.due(time.monotonic()) == [jobs[1], jobs[2]]  # equal times: first come first
    assert queue.waiting() == [jobs[0]]
    assert queue.due(time.monotonic() + 31) == [jobs[0]]
    assert len(queue) == 0
    for job in jobs:
        job.finish()


def _job(tmp_path: Path, n: int) -> SpoolJob:
    inbox, spool = tmp_path / "in", tmp_path / "spool"
    inbox.mkdir(exist_ok=True)
    spool.mkdir(exist_ok=True)
    (inbox / f"{n}.txt").write_text(str(n))
    job = claim(inbox / f"{n}.txt", inbox, spool)
    assert job is not None
    return job


# ------------------------------------------------------------------ counters
def test_counters_lose_no_verdict_when_workers_count_at_once() -> None:
    tally = Counters()

    def work() -> None:
        for _ in range(2000):
            tally.count(Outcome.RELEASED)
            tally.count(Outcome.QUARANTINED)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert tally.snapshot()["today"] == {"released": 8000, "quarantined": 8000}


def test_in_flight_lists_a_job_only_while_it_runs() -> None:
    tally = Counters()
    with tally.working_on("01A", "soumu/b.pdf"), tally.working_on("01B", "kikaku/a.docx"):
        assert tally.snapshot()["in_flight"] == ["kikaku/a.docx", "soumu/b.pdf"]
    with pytest.raises(RuntimeError), tally.working_on("01C", "c.xlsx"):
        raise RuntimeError("the job failed")
    assert tally.snapshot()["in_flight"] == []


def test_today_starts_from_nothing_after_midnight(monkeypatch: pytest.MonkeyPatch) -> None:
    tally = Counters()
    tally.count(Outcome.RELEASED)
    tally.error(Trouble.PLACE, "the outbox is full")

    tomorrow = counters_module.japan_today() + timedelta(days=1)
    monkeypatch.setattr(counters_module, "japan_today", lambda: tomorrow)
    snapshot = tally.snapshot()
    assert snapshot["today"] == {}
    assert [p["message"] for p in snapshot["problems"]] == ["the outbox is full"]  # a problem stays


# ------------------------------------------------------------------ pids
def test_alive_knows_a_process_that_has_ended() -> None:
    assert alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not alive(child.pid)


# ------------------------------------------------------------------ watcher
def test_the_watcher_reports_files_and_skips_litter(tmp_path: Path) -> None:
    seen: list[Path] = []
    events = InboxEvents(seen.append)
    events.dispatch(FileCreatedEvent(str(tmp_path / "a.pdf")))
    events.dispatch(FileClosedEvent(str(tmp_path / "b.pdf")))
    events.dispatch(FileCreatedEvent(str(tmp_path / "~$report.docx")))  # Word's lock file
    events.dispatch(FileCreatedEvent(str(tmp_path / "c.pdf.crdownload")))  # a download in progress
    events.dispatch(FileDeletedEvent(str(tmp_path / "d.pdf")))
    assert seen == [tmp_path / "a.pdf", tmp_path / "b.pdf"]


def test_a_folder_moved_into_the_inbox_brings_every_file_in_it(tmp_path: Path) -> None:
    dept = tmp_path / "soumu"
    (dept / "2026").mkdir(parents=True)
    (dept / "a.pdf").write_text("a")
    (dept / "2026" / "b.pdf").write_text("b")
    (dept / "Thumbs.db").write_text("litter")
    seen: list[Path] = []
    InboxEvents(seen.append).dispatch(DirMovedEvent(str(tmp_path / "elsewhere"), str(dept)))
    assert sorted(seen) == [dept / "2026" / "b.pdf", dept / "a.pdf"]


def test_a_restart_counts_today_from_the_audit_log(tmp_path: Path) -> None:
    """Today is Japan's day: a verdict at 23:30 UTC yesterday is 08:30 today in Japan; one
    at 14:59 UTC the day before is yesterday there. The log is read back at start."""
    from cdr.audit import AuditLog

    today = counters_module.japan_today()
    log_path = tmp_path / "audit.jsonl"
    audit = AuditLog(log_path, "default", "0" * 64)
    for event in ("released", "released", "quarantined", "received"):
        audit.append(event, "01ABC", "a.pdf", None)
    audit.close()
    lines = log_path.read_text().splitlines()
    stamps = [
        datetime.combine(today, clock(8, 30), counters_module.JAPAN),  # this morning in Japan
        datetime.combine(today - timedelta(days=1), clock(23, 59), counters_module.JAPAN),  # yesterday
        datetime.combine(today, clock(0, 1), counters_module.JAPAN),
        datetime.combine(today, clock(9, 0), counters_module.JAPAN),
    ]
    rewritten = []
    for line, stamp in zip(lines, stamps, strict=True):
        record = json.loads(line)
        record["ts"] = stamp.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        rewritten.append(json.dumps(record))
    log_path.write_text("\n".join(rewritten) + "\n")
    assert Counters(log_path).snapshot()["today"] == {"released": 1, "quarantined": 1}
    assert Counters(tmp_path / "none.jsonl").snapshot()["today"] == {}


def test_a_worker_survives_an_unexpected_error_before_the_job_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A claim that fails in a way nobody foresaw (here: a RuntimeError) costs that file a
    try and names it in `cdr status`; the worker goes on to the next file (it used to die,
    and with it a share of the daemon's capacity, silently)."""
    from cdr.config import Settings
    from cdr.daemon import service
    from cdr.policy import load_policy

    for name in ("inbox", "outbox", "spool", "quarantine"):
        (tmp_path / name).mkdir()
    settings = Settings(
        tmp_path / "inbox", tmp_path / "outbox", tmp_path / "spool", tmp_path / "quarantine",
        tmp_path / "audit.jsonl", None, 1,
    )
    daemon = service.Daemon(settings, load_policy(None), polling=True)
    taken: list[Path] = []

    def claim_or_fail(path: Path, inbox: Path, spool: Path) -> None:
        taken.append(path)
        if path.name == "first":
            raise RuntimeError("nobody saw this coming")
        daemon.stopping.set()  # the second file reached the same worker: it lived on

    monkeypatch.setattr(service, "claim", claim_or_fail)
    daemon.ready.put(tmp_path / "inbox" / "first")
    daemon.ready.put(tmp_path / "inbox" / "second")
    worker = threading.Thread(target=daemon._work)
    try:
        worker.start()
        worker.join(timeout=10)
        assert not worker.is_alive()
        assert [p.name for p in taken] == ["first", "second"]
        problems = daemon.counters.snapshot()["problems"]
        assert any("first" in p["message"] and "nobody saw this coming" in p["message"] for p in problems), problems
    finally:
        daemon.pipeline.close()
        daemon.pool.close()


def test_recovery_tells_this_jobs_release_from_an_identical_file_of_another_job(tmp_path: Path) -> None:
    """The same attachment reaches two staff: job A released report.pdf; job B, with the
    same bytes, was killed after its intent and before its link. B's recovery must not take
    A's file for its own (B's copy would be lost: nothing published it); it must find A's
    only from A's intent. The published name keeps the inode of the temp the intent names."""
    import hashlib

    from cdr.release import release

    inbox, spool, outbox = tmp_path / "inbox", tmp_path / "spool", tmp_path / "outbox"
    for folder in (inbox, spool, outbox):
        folder.mkdir()
    output = tmp_path / "rebuilt.pdf"
    output.write_bytes(b"%PDF-1.7 the same rebuilt bytes")
    sha = hashlib.sha256(output.read_bytes()).hexdigest()
    jobs = []
    for name in ("a.pdf", "b.pdf"):
        (inbox / name).write_bytes(b"original")
        job = claim(inbox / name, inbox, spool)
        assert job is not None
        jobs.append(job)
    first, second = jobs
    name = release(output, outbox, PurePosixPath("report.pdf"), first.id,
                   lambda temp: first.write_intent(PurePosixPath("report.pdf"), sha, temp.st_ino))  # fmt: skip
    assert name == PurePosixPath("report.pdf")
    # B got as far as its temp file and its intent, then died (its temp is cleared at start)
    temp = outbox / f".cdr-{second.id}.partial"
    temp.write_bytes(output.read_bytes())
    second.write_intent(PurePosixPath("report.pdf"), sha, temp.stat().st_ino)
    temp.unlink()
    assert first.released_already(outbox) == (PurePosixPath("report.pdf"), sha)
    assert second.released_already(outbox) is None  # run again: its own report (2).pdf
    for job in jobs:
        job.finish()


# ------------------------------------------------------------------ finish
def _claimed(tmp_path: Path, count: int) -> tuple[Path, list[SpoolJob]]:
    inbox, spool = tmp_path / "inbox", tmp_path / "spool"
    inbox.mkdir(exist_ok=True)
    spool.mkdir(exist_ok=True)
    jobs = []
    for n in range(count):
        (inbox / f"n{n}.txt").write_text(f"note {n}\n")
        job = claim(inbox / f"n{n}.txt", inbox, spool)
        assert job is not None
        jobs.append(job)
    return spool, jobs


def test_a_finish_cut_short_by_a_kill_is_never_run_again(tmp_path: Path) -> None:
    """A kill -9 inside the removal of a finished job's folder once left job.json without
    the release intent and the original: recovery ran the file again (released, then
    quarantined as unreadable). The job now leaves the spool in one rename first; what the
    kill leaves behind is removed at the next start and never taken for a job."""
    from cdr.daemon.claim import DONE_PREFIX, recover

    spool, (job,) = _claimed(tmp_path, 1)
    job.write_intent(PurePosixPath("n0.txt"), "0" * 64)
    job.release_lock()  # the process died: its lock went with it
    done = job.folder.with_name(DONE_PREFIX + job.id)
    os.rename(job.folder, done)  # finish's first step happened ...
    (done / "release-intent.json").unlink()  # ... and the removal got this far
    (done / "original").unlink()
    assert recover(spool) == []
    assert list(spool.iterdir()) == []


def test_recovery_beside_a_busy_worker_never_takes_a_finishing_job(tmp_path: Path) -> None:
    """A batch run starts beside a watcher whose worker is finishing jobs: the recovery
    never takes a job that is ending (it would run twice) and never leaves a folder
    behind (its lock file re-created inside a folder being removed kept the spool full)."""
    from cdr.daemon.claim import recover

    spool, jobs = _claimed(tmp_path, 150)
    taken: list[SpoolJob] = []
    finisher = threading.Thread(target=lambda: [job.finish() for job in jobs])
    finisher.start()
    while finisher.is_alive():
        for job in recover(spool):
            taken.append(job)
            job.release_lock()
    finisher.join()
    assert taken == []
    assert list(spool.iterdir()) == []
