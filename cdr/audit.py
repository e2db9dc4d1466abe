"""The tamper-evident audit log: hash-chained JSON Lines, one fsync'd record per step.

Every record carries ``seq`` (1, 2, …), ``prev`` (the previous record's ``hash``) and its
own ``hash`` = SHA-256 of its canonical JSON without ``hash``. Editing, deleting or
reordering a record breaks the chain at that record. Cutting records off the end keeps
the chain intact, so a small ``<log>.head`` file remembers the last seq and hash; a log
shorter than its head was truncated. This is tamper-*evident*: someone who can rewrite
both files and recompute every hash is not stopped, which is why the log should also be
shipped off the box (journald, syslog) — see the README.

Writers in several processes (watch and batch on one box) serialise on ``flock``.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cdr.durable import replace_file
from cdr.errors import AuditError

GENESIS = "0" * 64
TAIL_WINDOW = 1 << 16


def _canonical(record: dict[str, Any]) -> bytes:
    body = {k: v for k, v in record.items() if k != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(record)).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AuditLog:
    def __init__(self, path: Path, policy_name: str = "", policy_sha256: str = "") -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self.policy_name = policy_name
        self.policy_sha256 = policy_sha256
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
        except OSError as exc:
            raise AuditError(f"{path}: cannot open the audit log: {exc.strerror}") from None
        self._cached: tuple[int, int, str] | None = None  # (file size, seq, hash)
        # flock excludes other processes; threads sharing this descriptor need a lock too
        self._thread_lock = threading.Lock()

    def close(self) -> None:
        os.close(self._fd)

    def _last(self) -> tuple[int, str]:
        size = os.fstat(self._fd).st_size
        if self._cached and self._cached[0] == size:
            return self._cached[1], self._cached[2]
        if size == 0:
            return 0, GENESIS
        start = max(0, size - TAIL_WINDOW)
        tail = os.pread(self._fd, size - start, start)
        lines = tail.rstrip(b"\n").split(b"\n")
        try:
            last = json.loads(lines[-1])
            return int(last["seq"]), str(last["hash"])
        except (ValueError, KeyError, TypeError):
            raise AuditError(f"{self.path}: the last record is damaged; run `cdr audit verify`") from None

    def append(
        self,
        event: str,
        file_id: str | None = None,
        input: str | None = None,
        sha256: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        with self._thread_lock:
            return self._append_locked(event, file_id, input, sha256, fields)

    def _append_locked(
        self, event: str, file_id: str | None, input: str | None, sha256: str | None, fields: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                seq, prev = self._last()
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
                record["hash"] = record_hash(record)
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
                os.write(self._fd, line)
                os.fsync(self._fd)
                self._cached = (os.fstat(self._fd).st_size, record["seq"], record["hash"])
                self._write_head(record["seq"], record["hash"])
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot write the audit log: {exc.strerror}") from None
        return record

    def _write_head(self, seq: int, digest: str) -> None:
        # fsync'd like the log: a head emptied by a power cut would read as tampering
        replace_file(self.head_path, (json.dumps({"seq": seq, "hash": digest}) + "\n").encode())


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    records: int
    problem: str | None = None
    line: int | None = None


def verify(path: Path) -> VerifyReport:
    """Walk the chain; name the first record that does not fit."""
    if not path.exists():
        if path.with_name(path.name + ".head").exists():  # records were written, and the log is gone
            return VerifyReport(False, 0, f"{path}: the audit log is missing, but its head says records were written")
        return VerifyReport(True, 0, "no records yet")  # a fresh install: nothing to check
    prev, seq, count = GENESIS, 0, 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return VerifyReport(False, count, f"line {number}: the record is cut short", number)
            try:
                record = json.loads(raw)
            except ValueError:
                return VerifyReport(False, count, f"line {number}: not a JSON record", number)
            if not isinstance(record, dict) or record.get("seq") != seq + 1:
                got = record.get("seq") if isinstance(record, dict) else None
                return VerifyReport(
                    False,
                    count,
                    f"line {number}: seq {got} where {seq + 1} was expected (a record was removed or moved)",
                    number,
                )
            if record.get("prev") != prev:
                return VerifyReport(
                    False,
                    count,
                    f"line {number} (seq {seq + 1}): does not follow "
                    "the previous record (removed, moved or edited)",
                    number,
                )
            if record.get("hash") != record_hash(record):
                return VerifyReport(
                    False,
                    count,
                    f"line {number} (seq {seq + 1}): the record was edited (its hash does not match)",
                    number,
                )
            prev, seq, count = record["hash"], record["seq"], count + 1
    head_path = path.with_name(path.name + ".head")
    if head_path.exists():
        try:
            head = json.loads(head_path.read_text())
            head_seq, head_hash = int(head["seq"]), str(head["hash"])
        except (ValueError, KeyError, TypeError):
            return VerifyReport(False, count, f"{head_path}: damaged")
        if head_seq > seq:
            return VerifyReport(
                False,
                count,
                f"the log ends at seq {seq} but seq {head_seq} was written: records were cut off the end",
                count + 1,
            )
        if head_seq == seq and head_hash != prev:
            return VerifyReport(
                False,
                count,
                f"seq {seq}: differs from the record written (its hash does not match the head)",
                count,
            )
    return VerifyReport(True, count)


def records(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open("rb") as handle:
        for raw in handle:
            try:
                yield json.loads(raw)
            except ValueError:
                continue


def records_newest_first(path: Path, block: int = 1 << 16) -> Iterator[dict[str, Any]]:
    """The records from the last one back, read a block at a time from the end: a question
    about today (the caller stops iterating) need not read a year of log."""
    if not path.exists():
        return
    with path.open("rb") as handle:
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


def has_final_event(path: Path, file_id: str) -> bool:
    """Used by crash recovery: is this file's life already closed in the log?"""
    return any(
        r.get("file_id") == file_id and r.get("event") in ("released", "quarantined") for r in records(path)
    )


CSV_COLUMNS = (
    "ts",
    "seq",
    "event",
    "file_id",
    "input",
    "sha256",
    "type",
    "verdict",
    "output",
    "output_sha256",
    "quarantine_id",
    "reason",
    "policy",
)


def export_csv(path: Path) -> bytes:
    """UTF-8 with a BOM, so that Excel opens Japanese file names correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    from cdr.sanitizers.text import neutralise_cell

    for record in records(path):
        writer.writerow(
            [neutralise_cell(str(record.get(c) if record.get(c) is not None else ""))[0] for c in CSV_COLUMNS]
        )
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
