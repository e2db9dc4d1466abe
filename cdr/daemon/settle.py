"""Is a dropped file completely written? Size and mtime held still, and nobody writing.

A file is taken only when its size and mtime have not changed for the policy's settle time
*and* the kernel says no process holds it open for writing (a writer that pauses longer
than the settle time — a stalled SMB copy, an upload on a slow line — still has it open).
The same question is asked again after the claim, because a rename does not stop a writer
that holds the file open: its bytes then land in the spool.
"""

from __future__ import annotations

import errno
import fcntl
import heapq
import itertools
import os
import signal
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cdr.daemon.claim import SpoolJob


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



CHANGING_CHECKS = 4  # a file still changing is looked at this often per settle time


class Settling:
    """Inbox files seen but not yet taken, and claimed jobs held for a writer that came back.

    The observer thread reports paths, the main loop asks which have settled, the workers
    say what they claimed or must hold: one lock guards it all.

    Each pending file has the time it is next looked at, in a heap: a file that held still
    when last seen is looked at again when its settle time can have passed, one still
    changing a few times per settle time, and a file whose time has come waits unlooked-at
    while the workers have no room. A backlog of thousands costs a stat per file per
    settle time, not one per file per tick.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds  # the policy's settle time; a reload may change it
        self._lock = threading.Lock()
        self._pending: dict[Path, Seen | None] = {}
        self._turn: dict[Path, int] = {}  # the pending file's heap entry (older entries are stale)
        self._due: list[tuple[float, int, Path]] = []  # (when to look next, turn, path)
        self._turns = itertools.count()
        self._writing: set[Path] = set()  # settled by size and mtime, but still open for writing
        self._queued: set[Path] = set()  # handed to the workers, not claimed yet
        self._held: dict[str, tuple[SpoolJob, Seen | None]] = {}  # claimed while still being written

    def touch(self, path: Path) -> None:
        with self._lock:
            if path not in self._queued and path not in self._pending:
                self._pending[path] = None
                self._look_at(path, 0.0)  # at the next tick: its first size and mtime

    def _look_at(self, path: Path, when: float) -> None:
        turn = next(self._turns)
        self._turn[path] = turn
        heapq.heappush(self._due, (when, turn, path))

    def _forget(self, path: Path) -> None:
        del self._pending[path]
        del self._turn[path]
        self._writing.discard(path)

    def settled(self, now: float, room: int) -> list[Path]:
        """Up to ``room`` files that have held still and that nobody writes: queued now.
        Only files whose time to be looked at has come are stat'ed, while there is room."""
        ready: list[Path] = []
        with self._lock:
            while self._due and self._due[0][0] <= now and len(ready) < room:
                _, turn, path = heapq.heappop(self._due)
                if self._turn.get(path) != turn:
                    continue  # taken, gone or looked at again since this entry was made
                seen, still = observe(path, self._pending[path], now)
                if seen is None:
                    self._forget(path)
                elif not still:  # new, or changed since last looked at
                    self._pending[path] = seen
                    self._look_at(path, now + max(self.seconds / CHANGING_CHECKS, 0.0))
                elif now < seen.since + self.seconds:  # the sum it is scheduled at: no float gap
                    self._look_at(path, seen.since + self.seconds)
                elif open_for_writing(path):  # a writer paused: wait for it a whole settle time
                    self._pending[path] = Seen(seen.size, seen.mtime_ns, now)
                    self._writing.add(path)
                    self._look_at(path, now + self.seconds)
                else:
                    self._forget(path)
                    self._queued.add(path)
                    ready.append(path)
        return ready

    def claiming(self, path: Path) -> None:
        """A worker took ``path`` off the queue: from now on its events are news again."""
        with self._lock:
            self._queued.discard(path)

    def hold(self, job: SpoolJob) -> None:
        with self._lock:
            self._held[job.id] = (job, None)

    def settled_held(self, now: float) -> list[SpoolJob]:
        """Held jobs whose writer has closed the file and whose bytes have held still."""
        done: list[SpoolJob] = []
        with self._lock:
            for job_id, (job, seen) in list(self._held.items()):
                seen, still = observe(job.original, seen, now)
                if seen is not None and still and now - seen.since >= self.seconds:
                    if open_for_writing(job.original):
                        seen = Seen(seen.size, seen.mtime_ns, now)
                    else:
                        del self._held[job_id]
                        done.append(job)
                        continue
                self._held[job_id] = (job, seen)
        return done

    def held(self) -> list[SpoolJob]:
        with self._lock:
            return [job for job, _ in self._held.values()]

    def counts(self) -> tuple[int, int]:
        """(waiting, being written) as `cdr status` reports them; held jobs are both."""
        with self._lock:
            held = len(self._held)
            return len(self._pending) + len(self._queued) + held, len(self._writing) + held
