"""The tamper-evident audit log: hash-chained JSON Lines, durable by group commit.

Every record carries ``seq`` (1, 2, …), ``prev`` (the previous record's ``hash``) and its
own ``hash`` = SHA-256 of its canonical JSON without ``hash``. Editing, deleting or
reordering a record breaks the chain at that record. Cutting records off the end keeps
the chain intact, so a small ``<log>.head`` file remembers the last seq and hash made
durable; a log shorter than its head was truncated.

**Group commit.** ``append(..., durable=False)`` writes a record without its own fsync;
``commit()`` makes everything this log object appended so far durable with one fsync,
shared by the threads that append through it (the daemon's workers share the pipeline's
log): a thread whose records another thread's fsync already covered does not fsync again.
A file's intermediate records may wait; its final record and all before it are committed
before the job leaves the spool, so a power cut loses only records of a file that is then
run again. ``append`` without ``durable=False`` commits at once, as before. The head is
written at each commit, rotation and close, after the fsync that covers its record: it may
be behind the log (a writer that stopped before its commit), never ahead of what is on
disk. It is overwritten in place without its own fsync: a power cut leaves the old head,
which is behind, never a damaged one (one short write within the first disk sector).

**Rotation.** The file being written keeps its name (``audit.jsonl``, so ``tail -F`` and
log forwarding follow it). When it is due (``audit_rotate`` in the site config: ``daily``
in Japan time, a size such as ``100MiB``, or ``never``) it is renamed to a closed segment
``audit.jsonl.<day of its first record>.<its first seq, 12 digits>`` — names that sort in
order — and a new file is started. The chain runs on across files: the first record of
the new file is ``audit-rotated``, following the last record of the segment and naming it
with its last seq and SHA-256, so a segment cut short or replaced later is named by
``cdr audit verify``. Writers in several processes serialise on ``flock`` of the log's
folder (the file itself is renamed away, a lock on it would not exclude the next writer);
a writer holding a file that was rotated under it reopens the name first. A rename is one
step, so kill -9 anywhere leaves either the old state or a closed segment and no (or an
empty) active file; the next writer carries on from the segment's last record and writes
the ``audit-rotated`` record then.

**Retention.** ``cdr audit prune`` (``audit_retention``; by default nothing is removed)
first appends ``audit-pruned`` naming each closed segment it removes with its last seq and
hash, then removes them; verify accepts a chain that does not start at seq 1 only where
such a record names the record before its first.

**Threat model — who can defeat what.** This is tamper-*evident*, not tamper-proof:
- a person or program that can only append through cdr cannot rewrite history;
- someone who edits, removes, reorders or truncates records or whole segments as the
  service user, but does not recompute the chain, is named by ``cdr audit verify`` — also
  when the head file goes with them (a writer carrying on without one writes an
  ``audit-head-missing`` record first, or marks the next file's ``audit-rotated`` record
  ``head_missing``);
- someone who deletes the whole log and its head (or moves it away and lets a new one
  start) is found only by evidence kept elsewhere: the chain head sent to syslog/journald
  (``cdr-audit-anchor seq=… hash=…``, at each rotation and at most once a minute) and the
  anchors a root-owned timer appends to a file the service user cannot write
  (``cdr audit anchor``, ``verify --anchors``). Records written after the last anchor
  can still be lost unnoticed;
- root on this machine can rewrite everything here, the anchor file included; only the
  copy journald forwards to another host (or a printed anchor) stands against that.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import stat
import syslog
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from cdr.durable import replace_file
from cdr.errors import AuditError

if TYPE_CHECKING:
    from cdr.auditcheck import VerifyReport

GENESIS = "0" * 64
TAIL_WINDOW = 1 << 16
FIRST_LINE_LIMIT = 1 << 20
JAPAN = timezone(timedelta(hours=9), "JST")  # the day a town's log rotates on
ROTATED = "audit-rotated"
PRUNED = "audit-pruned"
HEAD_MISSING = "audit-head-missing"  # the head was gone or unreadable when this writer carried on
SYSLOG_EVERY = 60.0  # seconds between chain heads sent to syslog (and at every rotation)
_SEGMENT = re.compile(r"\.(\d{4}-\d{2}-\d{2})\.(\d{12})")
HEAD_WIDTH = 160  # the head is padded to this: rewritten in place, it never leaves a tail behind

# Tests inject a kill -9 here to prove that every point of a rotation is recoverable.
def hook(point: str) -> None:  # noqa: ARG001
    """Tests replace this to inject a kill -9 at every point of a rotation."""


def _canonical(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(record)).hexdigest()


def record_line(record: dict[str, Any]) -> bytes:
    """The line stored for ``record``, whose ``hash`` it sets: the canonical JSON itself with
    the hash added as the last field. What is hashed is then the line's own bytes up to
    that field, and ``audit verify`` checks them without parsing and serialising again
    (cdr/auditcheck.py). Lines written before this were in the fields' order of writing;
    verify reads those the long way."""
    body = _canonical(record)
    record["hash"] = hashlib.sha256(body).hexdigest()
    return body[:-1] + b',"hash":"' + record["hash"].encode() + b'"}\n'


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def japan_day(ts: str) -> str:
    """The day (Japan time) of a record's ``ts``, as ``YYYY-MM-DD`` ("" if it is not a time)."""
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(JAPAN).date().isoformat()
    except ValueError:
        return ""


# ------------------------------------------------------------------ rotation and segments
@dataclass(frozen=True)
class Rotation:
    """When the active file becomes a closed segment: each new day, at a size, or never."""

    daily: bool = True
    max_bytes: int | None = None

    @classmethod
    def parse(cls, value: Any) -> Rotation:
        from cdr import units

        if value in ("daily", "never"):
            return cls(daily=value == "daily")
        return cls(daily=False, max_bytes=units.size(value))  # else ValueError, worded by the caller

    def due(self, size: int, first_day: str) -> bool:
        """``size`` and ``first_day`` describe the active file, which holds records."""
        if self.max_bytes is not None:
            return size >= self.max_bytes
        return self.daily and first_day < japan_day(now_iso())  # the day of the record to be written


def configured_rotation() -> Rotation:
    from cdr.config import value

    return value("audit_rotate")


@dataclass(frozen=True)
class Segment:
    path: Path
    first_seq: int


def head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def segment_name(path: Path, day: str, first_seq: int) -> str:
    return f"{path.name}.{day}.{first_seq:012d}"


def segments(path: Path) -> list[Segment]:
    """The closed segments of the log at ``path``, oldest first (by their first seq)."""
    found = []
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    for name in names:
        match = _SEGMENT.fullmatch(name[len(path.name) :]) if name.startswith(path.name) else None
        if match:
            found.append(Segment(path.with_name(name), int(match.group(2))))
    return sorted(found, key=lambda s: s.first_seq)


def read_head(path: Path) -> tuple[int, str] | None:
    """The last (seq, hash) written, as the head file says; None if absent or unreadable."""
    try:
        with open_regular(head_path(path)) as handle:  # root reads it too: no FIFO hangs it
            head = json.loads(handle.read(1 << 16))
        return int(head["seq"]), str(head["hash"])
    except (OSError, ValueError, KeyError, TypeError, AuditError):
        return None


def _last_record(fd: int, size: int, name: Path) -> dict[str, Any]:
    start = max(0, size - TAIL_WINDOW)
    lines = os.pread(fd, size - start, start).rstrip(b"\n").split(b"\n")
    try:
        record = json.loads(lines[-1])
        int(record["seq"]), str(record["hash"])
    except (ValueError, KeyError, TypeError):
        raise AuditError(f"{name}: the last record is damaged; run `cdr audit verify`") from None
    return record


def last_record_of(path: Path) -> dict[str, Any] | None:
    """The last record of one file (None if the file is empty or gone)."""
    try:
        handle = open_regular(path)
    except FileNotFoundError:
        return None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        return _last_record(handle.fileno(), size, path) if size else None


def open_regular(path: Path) -> BinaryIO:
    """``path`` open for reading, if it is a regular file. The service user can put a FIFO
    or a device in the log's place; root's readers (the anchor timer, verify, reports) would
    hang on it or read without end. O_NONBLOCK changes nothing for a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise AuditError(f"{path}: not a regular file (the audit log must be one)")
    return os.fdopen(fd, "rb")


def _first_record(fd: int) -> dict[str, Any] | None:
    line = os.pread(fd, FIRST_LINE_LIMIT, 0).split(b"\n", 1)[0]
    try:
        record = json.loads(line)
        return record if isinstance(record.get("seq"), int) and isinstance(record.get("ts"), str) else None
    except (ValueError, AttributeError):
        return None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def send_to_syslog(path: Path, seq: int, digest: str) -> None:
    """The chain head, where journald keeps it out of the service's reach (see the docstring)."""
    syslog.openlog("cdr-audit", syslog.LOG_PID, syslog.LOG_AUTHPRIV)
    syslog.syslog(syslog.LOG_NOTICE, f"cdr-audit-anchor log={path.absolute()} seq={seq} hash={digest}")


# ------------------------------------------------------------------ writing
class AuditLog:
    def __init__(
        self, path: Path, policy_name: str = "", policy_sha256: str = "", rotation: Rotation | None = None
    ) -> None:
        self.path = path
        self.head_path = head_path(path)
        self.policy_name = policy_name
        self.policy_sha256 = policy_sha256
        self.rotation = rotation if rotation is not None else configured_rotation()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            self._fd = self._open()
        except OSError as exc:
            raise AuditError(f"{path}: cannot open the audit log: {exc.strerror}") from None
        self._cached: tuple[int, int, int, str] | None = None  # (inode, size, seq, hash)
        self._first_day: str | None = None  # of the active file's first record ("" unreadable)
        self._sent_at = 0.0  # when the chain head last went to syslog (monotonic)
        # flock excludes other processes; threads sharing this object need a lock too
        self._thread_lock = threading.Lock()
        # group commit: records appended through this object, and how many are fsync'd;
        # the sync lock lets one thread's fsync cover the records the others wait on
        self._sync_lock = threading.Lock()
        self._appended = 0
        self._durable = 0
        self._newest: tuple[int, str] | None = None  # (seq, hash) of the last record appended
        self._syslog_owed = False
        # a head this writer found or wrote, then gone or unreadable: records may have been cut
        # off the end with it, and the next record says so (``head_missing``) for verify
        self._head_seen = False
        self._head_lost = False
        try:
            self._repair_head()
        except OSError as exc:
            raise AuditError(f"{path}: cannot write the audit log: {exc.strerror}") from None

    def _open(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        if os.geteuid() == 0:
            # a file root starts (a rotation during an administrator's command) goes to the
            # log folder's owner: the service must still be able to write the active file
            folder, mine = os.fstat(self._folder), os.fstat(fd)
            if mine.st_uid == 0 and mine.st_size == 0 and folder.st_uid != 0:
                os.fchown(fd, folder.st_uid, folder.st_gid)
        return fd

    def close(self) -> None:
        """Commit what is still pending, then let go of the files."""
        try:
            self.commit()
        finally:
            os.close(self._fd)
            os.close(self._folder)

    def append(
        self,
        event: str,
        file_id: str | None = None,
        input: str | None = None,
        sha256: str | None = None,
        *,
        durable: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """Write one record. ``durable=False`` leaves its fsync to a later ``commit()``
        (of this or another thread): for a file's intermediate records only."""
        with self._thread_lock:
            try:
                fcntl.flock(self._folder, fcntl.LOCK_EX)
                try:
                    record = self._append_locked(event, file_id, input, sha256, fields)
                finally:
                    fcntl.flock(self._folder, fcntl.LOCK_UN)
            except OSError as exc:
                raise AuditError(f"{self.path}: cannot write the audit log: {exc.strerror}") from None
            self._appended += 1
            self._newest = (record["seq"], record["hash"])
        if durable or record["seq"] == 1:  # a new log has its head from its first record on
            self.commit()
        return record

    def commit(self) -> None:
        """Every record appended through this object so far is on disk when this returns:
        one fsync covers all the threads' records written before it began."""
        with self._thread_lock:
            wanted = self._appended
        if self._durable >= wanted:
            return
        with self._sync_lock:  # a thread waiting here is often covered by the fsync before it
            with self._thread_lock:
                if self._durable >= wanted:
                    return
                upto, newest = self._appended, self._newest
                # a duplicate, since an append may reopen (and close) self._fd meanwhile; the
                # records of a file let go were fsync'd when it was (_reopen, rotation)
                fd = os.dup(self._fd)
            try:
                os.fsync(fd)
            except OSError as exc:
                raise AuditError(f"{self.path}: cannot write the audit log: {exc.strerror}") from None
            finally:
                os.close(fd)
            self._durable = upto
            hook("commit:synced")
            if newest is not None:
                self._advance_head(*newest)
                if self._syslog_owed:
                    self._syslog_owed = False
                    send_to_syslog(self.path, *newest)
                    self._sent_at = time.monotonic()

    def _advance_head(self, seq: int, digest: str) -> None:
        """The head moves on to (seq, digest), never back: under the writers' lock, so that
        a commit that finished late does not put an older head over a newer one (the anchor
        timer would read a head going backwards as records lost). The flock belongs to the
        folder descriptor the threads share: taken and let go here while another thread of
        this process is inside ``append``, it would let another process write the same seq,
        so the thread lock is held too."""
        try:
            with self._thread_lock:
                fcntl.flock(self._folder, fcntl.LOCK_EX)
                try:
                    head = read_head(self.path)
                    if head is None and self._head_seen:
                        self._head_lost = True  # deleted or damaged under this writer
                    if head is None or head[0] < seq:
                        self._write_head(seq, digest)
                        self._head_seen = True
                finally:
                    fcntl.flock(self._folder, fcntl.LOCK_UN)
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot write the audit head: {exc.strerror}") from None

    def _append_locked(
        self, event: str, file_id: str | None, input: str | None, sha256: str | None, fields: dict[str, Any]
    ) -> dict[str, Any]:
        self._follow()
        rotated = self._rotate_if_due()
        seq, prev = self._last()
        noted = self._note_rotation(seq, prev)
        if noted:
            seq, prev = noted["seq"], noted["hash"]
        elif not seq and not self.head_path.exists():
            # the head exists from before the first record (behind it until the first commit):
            # records without a head are then always a head deleted or damaged since
            self._write_head(0, GENESIS)
            self._head_seen = True
        elif self._head_lost and seq:  # said in a record of its own, which verify reads the long way
            lost = self._write(HEAD_MISSING, None, None, None, {"after_seq": seq}, seq, prev)
            seq, prev = lost["seq"], lost["hash"]
        self._head_lost = False
        record = self._write(event, file_id, input, sha256, fields, seq, prev)
        if rotated or noted or time.monotonic() - self._sent_at >= SYSLOG_EVERY:
            self._syslog_owed = True  # sent by the commit: only a record on disk is an anchor
        return record

    def _follow(self) -> None:
        """Another writer may have rotated the file this one holds (or it was removed):
        write to the file that has the name now."""
        mine = os.fstat(self._fd)
        try:
            named = os.stat(self.path)
            if (named.st_ino, named.st_dev) == (mine.st_ino, mine.st_dev):
                return
        except FileNotFoundError:
            pass
        self._reopen()

    def _reopen(self) -> None:
        fresh = self._open()
        if self._durable < self._appended:
            os.fsync(self._fd)  # records not yet committed go with the file let go
        os.close(self._fd)
        self._fd = fresh
        self._cached = self._first_day = None  # both described the file let go

    def _rotate_if_due(self) -> bool:
        size = os.fstat(self._fd).st_size
        if size and self._first_day is None:
            first = _first_record(self._fd)
            self._first_day = japan_day(first["ts"]) if first else ""
        if not size or not self._first_day or not self.rotation.due(size, self._first_day):
            return False  # an unreadable first line is left in place for verify to name
        first = _first_record(self._fd)
        if first is None:
            return False
        target = self.path.with_name(segment_name(self.path, self._first_day, first["seq"]))
        if target.exists():
            raise AuditError(f"{target}: a segment with this name exists already; run `cdr audit verify`")
        # every writer's records in the file are on disk before it closes: the next file's
        # audit-rotated record names the segment's last record and its SHA-256
        os.fsync(self._fd)
        if self.head_path.exists():  # one deleted stays missing: the next file's first record says so
            last = _last_record(self._fd, size, self.path)
            self._write_head(int(last["seq"]), str(last["hash"]))
        hook("rotate:before-rename")
        os.rename(self.path, target)
        os.fsync(self._folder)
        hook("rotate:after-rename")
        self._reopen()
        hook("rotate:after-open")
        return True

    def _last(self) -> tuple[int, str]:
        state = os.fstat(self._fd)
        if self._cached and self._cached[:2] == (state.st_ino, state.st_size):
            return self._cached[2], self._cached[3]
        found: tuple[int, str] | None = None
        if state.st_size:
            last = _last_record(self._fd, state.st_size, self.path)
            found = int(last["seq"]), str(last["hash"])
        else:
            closed = segments(self.path)
            last_closed = last_record_of(closed[-1].path) if closed else None
            found = (int(last_closed["seq"]), str(last_closed["hash"])) if last_closed else None
        head = read_head(self.path)
        if head and (found is None or head[0] > found[0]):
            # records the head saw are gone: go on after them, so verify names the gap
            found = head
        return found or (0, GENESIS)

    def _note_rotation(self, seq: int, prev: str) -> dict[str, Any] | None:
        """The first record of a new file names the segment closed before it (last seq,
        SHA-256): a segment cut short or replaced later is then told from one removed."""
        if os.fstat(self._fd).st_size:
            return None
        closed = segments(self.path)
        last = last_record_of(closed[-1].path) if closed else None
        if not last or (last["seq"], last["hash"]) != (seq, prev):
            return None
        # The head is written at every commit and rotation and never removed: gone with the
        # active file, it was deleted with it, and the records that file held are lost unseen.
        head_gone = {} if self.head_path.exists() else {"head_missing": True}
        noted = self._write(
            ROTATED,
            None,
            None,
            None,
            {
                "segment": closed[-1].path.name,
                "segment_first_seq": closed[-1].first_seq,
                "segment_last_seq": seq,
                "segment_sha256": file_sha256(closed[-1].path),
                **head_gone,
            },
            seq,
            prev,
        )
        hook("rotate:noted")
        return noted

    def _write(
        self,
        event: str,
        file_id: str | None,
        input: str | None,
        sha256: str | None,
        fields: dict[str, Any],
        seq: int,
        prev: str,
    ) -> dict[str, Any]:
        record = {
            "ts": now_iso(),
            "seq": seq + 1,
            "event": event,
            "file_id": file_id,
            "input": input,
            "sha256": sha256,
            "policy": self.policy_name,
            "policy_sha256": self.policy_sha256,
            **fields,
            "prev": prev,
        }
        os.write(self._fd, record_line(record))
        state = os.fstat(self._fd)
        self._cached = (state.st_ino, state.st_size, record["seq"], record["hash"])
        hook("record:written")
        return record

    def _write_head(self, seq: int, digest: str) -> None:
        """The head, after the fsync that made its record durable. Overwritten in place, padded
        to one width: a power cut leaves the old (behind) head or this one, not an empty file
        as a rename without fsync could. Created once durably, by a fsync'd rename."""
        data = head_bytes(seq, digest)
        try:
            fd = os.open(self.head_path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:  # absent (or a link put in its place): created whole, by a rename
            replace_file(self.head_path, data, sync_folder=True)
            return
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise AuditError(f"{self.head_path}: not a regular file (the audit head must be one)")
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)

    def _repair_head(self) -> None:
        """A head behind the log (a writer stopped before its commit) is brought up to the
        log's last record, once it is on disk. A head ahead of the log is left: records the
        head saw are gone, and verify must say so."""
        size = os.fstat(self._fd).st_size
        head = read_head(self.path)
        self._head_seen = head is not None
        if not size:
            return
        # records and no readable head: it was deleted or damaged (or the writer of a new log
        # stopped before its first commit); carrying on would hide a cut, so it is said
        self._head_lost = head is None
        try:
            last = _last_record(self._fd, size, self.path)
        except AuditError:
            return  # verify names a damaged record; a writer refuses it when it appends
        if head is not None and head[0] < int(last["seq"]):
            os.fsync(self._fd)
            self._advance_head(int(last["seq"]), str(last["hash"]))


def head_bytes(seq: int, digest: str) -> bytes:
    return (json.dumps({"seq": seq, "hash": digest}).ljust(HEAD_WIDTH - 1) + "\n").encode()


# ------------------------------------------------------------------ reading
def _files(path: Path) -> tuple[list[Segment], BinaryIO | None]:
    """The closed segments and the open active file as one moment sees them: listed under a
    shared lock, so no rotation falls between the listing and the opening (a record read
    twice or missed). Segments do not change once closed; the active file only grows."""
    try:
        folder: int | None = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        return [], None
    except OSError:
        folder = None  # a reader that may not lock still reads; a rotation is rare
    try:
        if folder is not None:
            fcntl.flock(folder, fcntl.LOCK_SH)
        closed = segments(path)
        try:
            active: BinaryIO | None = open_regular(path)
        except FileNotFoundError:
            active = None
        return closed, active
    finally:
        if folder is not None:
            os.close(folder)  # and with it the lock


def log_files(path: Path) -> Iterator[tuple[str, BinaryIO]]:
    """Each file of the log, oldest first, open for reading: the segments, then the active file."""
    closed, active = _files(path)
    with active or contextlib.nullcontext():
        for segment in closed:
            try:
                handle = open_regular(segment.path)
            except FileNotFoundError:
                continue  # pruned since it was listed
            with handle:
                yield segment.path.name, handle
        if active is not None:
            yield path.name, active


def records(path: Path) -> Iterator[dict[str, Any]]:
    """Every record of the log, over all its segments, oldest first. A whole line that is not
    JSON stops the reading with an AuditError naming it (never skipped: ``audit verify``
    counts every line, and a reader must not tell a different story); a last line still
    being written (no line end yet) is left for the next reading."""
    for name, handle in log_files(path):
        for number, raw in enumerate(handle, 1):
            try:
                yield json.loads(raw)
            except ValueError:
                if not raw.endswith(b"\n"):
                    continue
                raise AuditError(f"{name} line {number}: not a JSON record; run `cdr audit verify`") from None


def _backwards(handle: BinaryIO, block: int) -> Iterator[dict[str, Any]]:
    end = handle.seek(0, os.SEEK_END)
    partial = b""  # the start of a line whose beginning lies in an earlier block
    while end > 0:
        start = max(0, end - block)
        handle.seek(start)
        lines = (handle.read(end - start) + partial).split(b"\n")
        partial = lines.pop(0) if start > 0 else b""
        for raw in reversed(lines):
            if raw.strip():
                try:
                    yield json.loads(raw)
                except ValueError:
                    continue
        end = start


def records_newest_first(path: Path, block: int = 1 << 16) -> Iterator[dict[str, Any]]:
    """The records from the last one back, read a block at a time from the end, through the
    segments newest first: a question about today (the caller stops iterating) need not
    read a year of log."""
    closed, active = _files(path)
    with active or contextlib.nullcontext():
        if active is not None:
            yield from _backwards(active, block)
    for segment in reversed(closed):
        try:
            handle = open_regular(segment.path)
        except FileNotFoundError:
            continue
        with handle:
            yield from _backwards(handle, block)


SLACK = 86400.0  # seconds a record may lie before the time its ID or position says (clocks step)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def id_time(typed: str) -> float | None:
    """The earliest moment (epoch seconds) an ID beginning with ``typed`` can have been made:
    a ULID starts with its milliseconds (cdr.names.new_id). None if ``typed`` is no such
    beginning. A file's records all come after its ID was made."""
    value = 0
    for char in typed[:10].ljust(10, "0"):
        digit = _CROCKFORD.find(char)
        if digit < 0:
            return None
        value = value * 32 + digit
    return value / 1000


def _ts_text(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _line_ts(raw: bytes) -> str | None:
    try:
        ts = json.loads(raw).get("ts")
    except (ValueError, AttributeError):
        return None
    return ts if isinstance(ts, str) else None


def _last_ts(fd: int) -> str | None:
    size = os.fstat(fd).st_size
    tail = os.pread(fd, TAIL_WINDOW, max(0, size - TAIL_WINDOW))
    return _line_ts(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])


def _start_of(handle: BinaryIO, since: str) -> int:
    """An offset at or before the first line of ``handle`` written at ``since`` or later: a
    binary search over the file's lines, which are in time order. A line that does not say
    its time keeps the search early (more read, nothing missed)."""
    low, high = 0, handle.seek(0, os.SEEK_END)
    while high - low > TAIL_WINDOW:
        middle = (low + high) // 2
        handle.seek(middle)
        handle.readline()  # the rest of the line the middle fell in
        ts = _line_ts(handle.readline())
        if ts is not None and ts < since:
            low = middle  # the line after the middle is older: so is everything up to it
        else:
            high = middle
    return low


def records_since(path: Path, since: float | None) -> Iterator[dict[str, Any]]:
    """The records written at ``since`` (epoch seconds) or later, oldest first — and some
    before it: closed segments that end before it are skipped, the first file read is
    entered by a binary search on time. ``None``: every record."""
    if since is None:
        yield from records(path)
        return
    cutoff = _ts_text(since)
    entered = False
    for name, handle in log_files(path):
        if not entered and name != path.name:
            last = _last_ts(handle.fileno())
            if last is not None and last < cutoff:
                continue  # the whole segment is older
        if not entered:
            start = _start_of(handle, cutoff)
            handle.seek(start)
            if start:
                handle.readline()  # part of a line older than the one the search found
            entered = True
        for raw in handle:
            try:
                yield json.loads(raw)
            except ValueError:
                continue


def has_final_event(path: Path, file_id: str) -> bool:
    """Used by crash recovery: is this file's life already closed in the log? Read from
    a day before its ID was made, so a restart with many jobs does not read a year of log
    once per job. That window runs to the log's end, so once it holds the file's
    ``received`` record it holds all that came after; without it the clock stepped (back
    after the claim, or the ID came from a clock ahead) and the whole log is read."""
    since = id_time(file_id)
    if since is not None:
        final, began = _closed_since(path, file_id, since - SLACK)
        if final or began:
            return final
    return _closed_since(path, file_id, None)[0]


def _closed_since(path: Path, file_id: str, since: float | None) -> tuple[bool, bool]:
    """(a final record of the file, its received record) among the records from ``since``."""
    began = False
    for record in records_since(path, since):
        if record.get("file_id") != file_id:
            continue
        if record.get("event") in ("released", "quarantined"):
            return True, True
        began = began or record.get("event") == "received"
    return False, began


def verify(path: Path, anchors: Path | None = None) -> VerifyReport:
    """Walk the chain over every segment; name the first record or file that does not fit."""
    from cdr.auditcheck import check

    return check(path, anchors)


# ------------------------------------------------------------------ retention
def _pruned_before(path: Path) -> tuple[int, list[list[int]]]:
    """What the last prune said: every seq up to ``pruned_to`` is gone, by retention except
    the ``unaccounted`` ranges. Each prune carries both forward, since the next one may
    remove the segment its own record is in; with no prune before, nothing is gone."""
    for record in records_newest_first(path):
        if record.get("event") == PRUNED:
            done = record.get("pruned_to")
            if not isinstance(done, int):  # written before prunes carried it
                done = max((int(s.get("last_seq", 0)) for s in record.get("segments") or ()), default=0)
            return done, [list(r) for r in record.get("unaccounted") or ()]
    return 0, []


def prune(path: Path, older_than: float, now: float | None = None) -> list[dict[str, Any]]:
    """Remove the closed segments whose last record is older than ``older_than`` seconds,
    oldest first; the removal is recorded (``audit-pruned``) before any file goes."""
    cutoff = (time.time() if now is None else now) - older_than
    old = []
    for segment in segments(path):
        last = last_record_of(segment.path)
        try:
            when = datetime.fromisoformat(str(last["ts"]).replace("Z", "+00:00")).timestamp() if last else None
        except ValueError:
            when = None
        if when is None or when >= cutoff:
            break  # segments are in time order: the rest are newer
        old.append(
            {
                "segment": segment.path.name,
                "first_seq": segment.first_seq,
                "last_seq": last["seq"],
                "last_hash": last["hash"],
                "sha256": file_sha256(segment.path),
            }
        )
    if not old:
        return []
    pruned_to, unaccounted = _pruned_before(path)
    if old[0]["first_seq"] > pruned_to + 1:  # the segments before it went, but not by a prune
        unaccounted.append([pruned_to + 1, old[0]["first_seq"] - 1])
    log = AuditLog(path)
    try:
        log.append(
            PRUNED,
            segments=old,
            retention_days=round(older_than / 86400, 3),
            pruned_to=old[-1]["last_seq"],
            unaccounted=unaccounted,
        )
    finally:
        log.close()
    for item in old:
        path.with_name(item["segment"]).unlink(missing_ok=True)
    from cdr.durable import fsync_dir

    fsync_dir(path.parent)
    return old

