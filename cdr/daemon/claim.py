"""Claim a settled file into the spool exactly once, and take jobs back after a crash.

One atomic ``rename`` moves the file from the inbox into the spool, so two watchers, or a
watcher and a batch run, can never both take it. A spool job is owned by whoever holds
``flock`` on its lock file; a process that dies loses the lock with it, and the next one
to start finishes the job. A job is finished exactly once: the quarantine entry, or the
release intent written just before publishing, tells recovery that the file already
reached its end.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cdr.daemon.pids import alive
from cdr.durable import write_json
from cdr.names import from_disk, new_id, valid_id
from cdr.release import candidates

JOB_FILE = "job.json"
INTENT_FILE = "release-intent.json"
LOCK_FILE = "lock"
ORIGINAL = "original"
DONE_PREFIX = ".done-"  # a finished job's folder on its way out (see SpoolJob.finish)


@dataclass
class SpoolJob:
    id: str
    folder: Path
    relative: str
    lock_fd: int
    refused: str | None = None  # why the file was not a regular file
    attempts: int = 0  # operational failures so far (kept in job.json across restarts)

    @property
    def original(self) -> Path:
        return self.folder / ORIGINAL

    def write_intent(self, output: PurePosixPath, sha256: str, inode: int | None = None) -> None:
        write_json(self.folder / INTENT_FILE, {"output": str(output), "sha256": sha256, "inode": inode})

    def released_already(self, outbox: Path) -> tuple[PurePosixPath, str] | None:
        """After a crash: was the output published before the process died?"""
        try:
            intent = json.loads((self.folder / INTENT_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None
        for candidate in itertools.islice(candidates(PurePosixPath(intent["output"])), 200):
            target = outbox / candidate
            if not target.exists():
                continue
            if intent.get("inode") is not None and target.stat().st_ino != intent["inode"]:
                continue  # the same bytes, released by another job (the same attachment twice)
            with open(target, "rb") as handle:
                if hashlib.file_digest(handle, "sha256").hexdigest() == intent["sha256"]:
                    return candidate, intent["sha256"]
        return None

    def failed(self, cause: str) -> int:
        """Count one operational failure in the job's record; the new count."""
        path = self.folder / JOB_FILE
        meta = json.loads(path.read_text(encoding="utf-8"))
        self.attempts = int(meta.get("attempts", 0)) + 1
        write_json(path, {**meta, "attempts": self.attempts, "last_error": cause[:500]})
        return self.attempts

    def finish(self) -> None:
        """The file reached its end: the job leaves the spool in one rename, then its
        folder is removed. Removing it in place was not one step: a kill -9 inside the
        removal could leave job.json without the release intent or the original, and
        recovery then ran the file a second time (released, then quarantined as unreadable)."""
        done = self.folder.with_name(DONE_PREFIX + self.id)
        os.rename(self.folder, done)
        os.close(self.lock_fd)
        shutil.rmtree(done, ignore_errors=True)

    def release_lock(self) -> None:
        os.close(self.lock_fd)


def _lock(folder: Path) -> int | None:
    """Our lock on ``folder``'s job; None when a live process holds it or the folder went."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except FileNotFoundError:
        return None  # finished and moved away by its owner since we listed the spool
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def claim(path: Path, inbox: Path, spool: Path) -> SpoolJob | None:
    """Move ``path`` into the spool; None when someone else took it first."""
    job_id = new_id()
    staging = spool / f".claiming-{job_id}"
    staging.mkdir(mode=0o700)
    relative = from_disk(path.relative_to(inbox).as_posix())  # the job file is UTF-8
    lock_fd = _lock(staging)
    assert lock_fd is not None
    try:
        info = path.lstat()
    except FileNotFoundError:
        shutil.rmtree(staging, ignore_errors=True)  # still locked: no one re-creates its lock file
        os.close(lock_fd)
        return None
    refused = None
    if stat.S_ISLNK(info.st_mode):
        refused = "a symbolic link"
    elif not stat.S_ISREG(info.st_mode):
        refused = "a FIFO, socket or device"
    elif info.st_nlink > 1:
        refused = "a hard link to another file"
    write_json(
        staging / JOB_FILE,
        {"id": job_id, "relative": relative, "claimed_at": time.time(), "refused": refused},
    )
    try:
        os.rename(path, staging / ORIGINAL)  # the claim: atomic, first one wins
    except FileNotFoundError:
        shutil.rmtree(staging, ignore_errors=True)  # still locked: no one re-creates its lock file
        os.close(lock_fd)
        return None
    os.rename(staging, spool / job_id)
    return SpoolJob(job_id, spool / job_id, relative, lock_fd, refused)


def recover(spool: Path) -> list[SpoolJob]:
    """Jobs left by a process that died, now locked by us; oldest first."""
    jobs = []
    if not spool.is_dir():
        return jobs
    for found in sorted(spool.iterdir()):
        if found.name.startswith(DONE_PREFIX):
            shutil.rmtree(found, ignore_errors=True)  # a finish cut short: the job had ended
            continue
        folder = _finish_claim(found, spool) if found.name.startswith(".claiming-") else found
        if folder is None or not (valid_id(folder.name) and folder.is_dir()):
            continue
        lock_fd = _lock(folder)
        if lock_fd is None:
            continue  # another live process is working on it
        try:
            meta = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            os.close(lock_fd)
            continue
        relative, refused, attempts = meta["relative"], meta.get("refused"), int(meta.get("attempts", 0))
        jobs.append(SpoolJob(folder.name, folder, relative, lock_fd, refused, attempts))
    return jobs


def _finish_claim(staging: Path, spool: Path) -> Path | None:
    """A claim cut short by a crash: the job folder if the file had moved, else nothing."""
    staging_fd = _lock(staging)
    if staging_fd is None:
        return None  # a live process is claiming right now
    try:
        job_id = staging.name.removeprefix(".claiming-")
        if (staging / ORIGINAL).exists() and (staging / JOB_FILE).exists() and valid_id(job_id):
            os.rename(staging, spool / job_id)  # the claim had happened
            return spool / job_id
        shutil.rmtree(staging, ignore_errors=True)  # nothing was taken yet
        return None
    finally:
        os.close(staging_fd)


def work_folder(spool: Path) -> Path:
    """This process's scratch folder under ``spool/work``; those of dead processes go.

    Per process, so that a batch run starting beside a watcher never deletes the
    watcher's files in use; a crashed run's leftovers are removed by the next start.
    """
    root = spool / "work"
    root.mkdir(parents=True, exist_ok=True)
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit() and not alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
    mine = root / str(os.getpid())
    mine.mkdir(exist_ok=True)
    return mine
