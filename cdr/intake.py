"""From a dropped file to a claimed spool job, and back after a crash.

Settle: a file is taken only when its size and mtime have not changed for the policy's
settle time *and* the kernel says no process holds it open for writing (a writer that
pauses longer than the settle time — a stalled SMB copy, an upload on a slow line — still
has it open). The same question is asked again after the claim, because a rename does
not stop a writer that holds the file open: its bytes then land in the spool. Claim: one atomic ``rename`` moves it from the inbox into the spool, so two
watchers, or a watcher and a batch run, can never both take it. A spool job is owned by
whoever holds ``flock`` on its lock file; a process that dies loses the lock with it,
and the next one to start finishes the job. A job is finished exactly once: the
quarantine entry, or the release intent written just before publishing, tells recovery
that the file already reached its end.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from cdr.durable import write_json
from cdr.errors import ConfigError, FolderMissing
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
    """For batch runs: unchanged for ``settle`` seconds by its mtime, and nobody writing."""
    try:
        still = time.time() - path.lstat().st_mtime >= settle
    except FileNotFoundError:
        return False
    return still and not open_for_writing(path)


# A read lease is refused (EAGAIN) while any process, in any namespace, has the file open
# for writing — Samba's smbd included, which holds a file open while a client copies it.
# Taking the lease needs the file's owner or CAP_LEASE; without them the /proc scan below
# answers instead. Should a writer open the file during the microseconds the lease is
# held, the kernel breaks it by sending SIGIO, whose default action ends the process.
if threading.current_thread() is threading.main_thread():
    signal.signal(signal.SIGIO, signal.SIG_IGN)


def open_for_writing(path: Path) -> bool:
    """Does any process still hold this regular file open for writing?"""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False  # links, FIFOs and devices are refused unread: never opened here
    verdict = _lease_probe(path)
    return verdict if verdict is not None else _writer_in_proc(info)


def _lease_probe(path: Path) -> bool | None:
    """True: open for writing; False: nobody writing; None: the kernel would not say."""
    if signal.getsignal(signal.SIGIO) is not signal.SIG_IGN:
        return None  # a lease break would kill this process
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
    except OSError as exc:
        return True if exc.errno == errno.EAGAIN else None  # EACCES, EPERM, EINVAL: no lease here
    else:
        fcntl.fcntl(fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
        return False
    finally:
        os.close(fd)


def _writer_in_proc(info: os.stat_result) -> bool:
    """Scan every visible process's descriptors for this inode opened write-only or read-write.

    Sees only processes this one may inspect (same user, or root); used where a lease
    cannot be taken. Slow-ish (one stat per open descriptor), so only asked once size
    and mtime have held still.
    """
    target = (info.st_dev, info.st_ino)
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            descriptors = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # gone, or not ours to look at
        for fd in descriptors:
            try:
                opened = os.stat(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if (opened.st_dev, opened.st_ino) == target and _writable(pid, fd):
                return True
    return False


def _writable(pid: str, fd: str) -> bool:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("flags:"):
                    return (int(line.split()[1], 8) & os.O_ACCMODE) in (os.O_WRONLY, os.O_RDWR)
    except (OSError, ValueError, IndexError):
        return False
    return False


def missing_roots(**roots: Path) -> list[str]:
    """Which of the shared folders (inbox, outbox) are gone — an unmounted share, usually."""
    return [f"{what} {path}" for what, path in roots.items() if not path.is_dir()]


class SharedRoots:
    """The inbox and outbox as a long-running process first found them.

    A share that is unmounted usually leaves its mount point behind as an empty local
    folder; one that was a mount point when first seen and is no longer one counts as
    missing, so nothing is released into a folder nobody on the other side can see.
    """

    def __init__(self, **roots: Path) -> None:
        self.roots = roots
        self.mounted: dict[str, bool] = {}

    def missing(self) -> list[str]:
        gone = []
        for what, path in self.roots.items():
            if not path.is_dir():
                gone.append(f"{what} {path}")
                continue
            mounted = os.path.ismount(path)
            if self.mounted.setdefault(what, mounted) and not mounted:
                gone.append(f"{what} {path} (no longer mounted)")
        return gone


def require_roots(**roots: Path) -> None:
    """Refuse to work on a missing inbox or outbox root instead of creating an empty one."""
    missing = missing_roots(**roots)
    if missing:
        raise FolderMissing(
            f"the {' and the '.join(missing)} does not exist (an unmounted share?); "
            "it is not created here — mount it or create it, then start again"
        )


def same_filesystem(inbox: Path, spool: Path) -> None:
    """The spool may be created; the inbox, a share, must already be there."""
    require_roots(inbox=inbox)
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
    attempts: int = 0  # operational failures so far (kept in job.json across restarts)

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

    def failed(self, cause: str) -> int:
        """Count one operational failure in the job's record; the new count."""
        path = self.folder / JOB_FILE
        meta = json.loads(path.read_text(encoding="utf-8"))
        self.attempts = int(meta.get("attempts", 0)) + 1
        write_json(path, {**meta, "attempts": self.attempts, "last_error": cause[:500]})
        return self.attempts

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
    for found in sorted(spool.iterdir()):
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
