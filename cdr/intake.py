"""From a dropped file to a claimed spool job, and back after a crash.

Settle: a file is taken only when its size and mtime have not changed for the policy's
settle time. Claim: one atomic ``rename`` moves it from the inbox into the spool, so two
watchers, or a watcher and a batch run, can never both take it. A spool job is owned by
whoever holds ``flock`` on its lock file; a process that dies loses the lock with it,
and the next one to start finishes the job. A job is finished exactly once: the
quarantine entry, or the release intent written just before publishing, tells recovery
that the file already reached its end.
"""

from __future__ import annotations

import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cdr.durable import write_json
from cdr.errors import ConfigError
from cdr.names import new_id, valid_id
from cdr.release import candidates

JOB_FILE = "job.json"
INTENT_FILE = "release-intent.json"
LOCK_FILE = "lock"
ORIGINAL = "original"

_IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", "icon\r"}
_IGNORED = re.compile(
    r"^(~\$.*|\.~lock\..*#|\.cdr-.*|\._.*|~.*\.tmp|\..+\.[A-Za-z0-9]{6})$"  # Office locks, rsync temps
    r"|.*\.(tmp|part|partial|crdownload|download|filepart|!ut|swp|sb-[0-9a-f]+-\w+)$",  # copy tools
    re.I,
)


def ignored(name: str) -> bool:
    """Lock files, desktop litter and the temporary names copy tools write under."""
    return name.lower() in _IGNORED_NAMES or bool(_IGNORED.match(name))


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int
    since: float


def observe(path: Path, seen: Seen | None, now: float) -> tuple[Seen | None, bool]:
    """Track size and mtime; True once they have held still for the settle time."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None, False
    if seen is None or (info.st_size, info.st_mtime_ns) != (seen.size, seen.mtime_ns):
        return Seen(info.st_size, info.st_mtime_ns, now), False
    return seen, True


def settled_now(path: Path, settle: float) -> bool:
    """For batch runs: unchanged for ``settle`` seconds according to its mtime."""
    try:
        return time.time() - path.lstat().st_mtime >= settle
    except FileNotFoundError:
        return False


def same_filesystem(inbox: Path, spool: Path) -> None:
    inbox.mkdir(parents=True, exist_ok=True)
    spool.mkdir(parents=True, exist_ok=True)
    if inbox.stat().st_dev != spool.stat().st_dev:
        raise ConfigError(
            f"the inbox ({inbox}) and the spool ({spool}) must be on one file system: "
            "files are claimed by an atomic rename"
        )


@dataclass
class SpoolJob:
    id: str
    folder: Path
    relative: str
    lock_fd: int
    refused: str | None = None  # why the file was not a regular file

    @property
    def original(self) -> Path:
        return self.folder / ORIGINAL

    def write_intent(self, output: PurePosixPath, sha256: str) -> None:
        write_json(self.folder / INTENT_FILE, {"output": str(output), "sha256": sha256})

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
            with open(target, "rb") as handle:
                if hashlib.file_digest(handle, "sha256").hexdigest() == intent["sha256"]:
                    return candidate, intent["sha256"]
        return None

    def finish(self) -> None:
        """The file reached its end: the job disappears (then the lock goes with it)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        os.close(self.lock_fd)

    def release_lock(self) -> None:
        os.close(self.lock_fd)


def _lock(folder: Path) -> int | None:
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
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
    relative = path.relative_to(inbox).as_posix()
    lock_fd = _lock(staging)
    assert lock_fd is not None
    try:
        info = path.lstat()
    except FileNotFoundError:
        os.close(lock_fd)
        shutil.rmtree(staging, ignore_errors=True)
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
        os.close(lock_fd)
        shutil.rmtree(staging, ignore_errors=True)
        return None
    os.rename(staging, spool / job_id)
    return SpoolJob(job_id, spool / job_id, relative, lock_fd, refused)


def recover(spool: Path) -> list[SpoolJob]:
    """Jobs left by a process that died, now locked by us; oldest first."""
    jobs = []
    if not spool.is_dir():
        return jobs
    for folder in sorted(spool.iterdir()):
        if folder.name.startswith(".claiming-"):
            job_id = folder.name.removeprefix(".claiming-")
            if (folder / ORIGINAL).exists() and (folder / JOB_FILE).exists() and valid_id(job_id):
                os.rename(folder, spool / job_id)  # the claim had happened
                folder = spool / job_id
            else:
                shutil.rmtree(folder, ignore_errors=True)  # nothing was taken yet
                continue
        if not (valid_id(folder.name) and folder.is_dir()):
            continue
        lock_fd = _lock(folder)
        if lock_fd is None:
            continue  # another live process is working on it
        try:
            meta = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            os.close(lock_fd)
            continue
        jobs.append(SpoolJob(folder.name, folder, meta["relative"], lock_fd, meta.get("refused")))
    return jobs


def work_folder(spool: Path) -> Path:
    """This process's scratch folder under ``spool/work``; those of dead processes go.

    Per process, so that a batch run starting beside a watcher never deletes the
    watcher's files in use; a crashed run's leftovers are removed by the next start.
    """
    root = spool / "work"
    root.mkdir(parents=True, exist_ok=True)
    for folder in root.iterdir():
        if folder.is_dir() and folder.name.isdigit() and not _alive(int(folder.name)):
            shutil.rmtree(folder, ignore_errors=True)
    mine = root / str(os.getpid())
    mine.mkdir(exist_ok=True)
    return mine


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def inbox_files(inbox: Path) -> list[Path]:
    """Every candidate in the inbox, oldest first; folders are departments, never claimed."""
    found = []
    for root, dirs, files in os.walk(inbox):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not ignored(name):
                found.append(Path(root) / name)
    return sorted(found, key=lambda p: _mtime(p))


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return 0.0
