"""`cdr audit export --csv`: every audit record as one CSV row, with every field any
record has — the verdict, who did it, the message, the link from a re-run to its entry
(``from_quarantine``, ``via``), and the lists (``actions``, ``findings``) as compact JSON.

Columns in a stable order: the known ones first in the order a reader wants them, then
any other field sorted by name, and the chain (``prev``, ``hash``) last. Two passes over
the log: the first only learns the field names, the second writes rows as it reads.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from cdr.audit import records
from cdr.excel_csv import excel_csv

KNOWN = (
    "ts",
    "seq",
    "event",
    "file_id",
    "input",
    "sha256",
    "size",
    "type",
    "mime",
    "verdict",
    "action",
    "output_type",
    "output",
    "output_sha256",
    "quarantine_id",
    "reason",
    "message",
    "admin",
    "via",
    "from_quarantine",
    "notice",
    "policy",
    "policy_sha256",
)
CHAIN = ("prev", "hash")
CHUNK = 1 << 16  # bytes handed on at once by export_chunks
CONTRACT = ("ts", "seq", "event", "file_id", "input", "sha256", *CHAIN)  # every record has these


def columns(path: Path) -> list[str]:
    """The fields that occur in the log, in the export's order."""
    seen: set[str] = set(CONTRACT)  # an empty log still gets its header
    for record in records(path):
        seen.update(record)
    known = [c for c in KNOWN if c in seen]
    rest = sorted(seen - set(KNOWN) - set(CHAIN))
    return [*known, *rest, *[c for c in CHAIN if c in seen]]


def cell(value: object) -> str:
    """Text as it is; numbers as digits; lists, objects, true/false as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def export_csv(path: Path, stream: BinaryIO, wanted: Callable[[dict[str, Any]], bool] | None = None) -> int:
    """Write the log (the records ``wanted`` says yes to) to ``stream`` as CSV for Excel;
    how many records."""
    count = 0

    def counted(record: dict[str, Any]) -> bool:
        nonlocal count
        taken = wanted is None or wanted(record)
        count += taken
        return taken

    for chunk in export_chunks(path, counted):
        stream.write(chunk)
    return count


class _Chunks(io.RawIOBase):
    """A stream that keeps what is written until it is taken (for ``export_chunks``)."""

    def __init__(self) -> None:
        self.kept = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.kept += data
        return len(data)

    def take(self) -> bytes:
        taken, self.kept = bytes(self.kept), bytearray()
        return taken


def export_chunks(path: Path, wanted: Callable[[dict[str, Any]], bool] | None = None) -> Iterator[bytes]:
    """The same bytes as ``export_csv``, in pieces as the log is read (a web download)."""
    chunks = _Chunks()
    names = columns(path)
    with excel_csv(chunks) as row:  # type: ignore[arg-type]
        row(names)
        for record in records(path):
            if wanted is None or wanted(record):
                row(cell(record.get(name)) for name in names)
            if len(chunks.kept) >= CHUNK:
                yield chunks.take()
    yield chunks.take()
