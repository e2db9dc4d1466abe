"""`cdr audit export --csv`: every audit record as one CSV row, with every field any
record has — the verdict, who did it, the message, the link from a re-run to its entry
(``from_quarantine``, ``via``), and the lists (``actions``, ``findings``) as compact JSON.

Columns in a stable order: the known ones first in the order a reader wants them, then
any other field sorted by name, and the chain (``prev``, ``hash``) last. Two passes over
the log: the first only learns the field names, the second writes rows as it reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import BinaryIO

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


def export_csv(path: Path, stream: BinaryIO) -> int:
    """Write the log to ``stream`` as CSV for Excel; how many records."""
    names = columns(path)
    count = 0
    with excel_csv(stream) as row:
        row(names)
        for record in records(path):
            row(cell(record.get(name)) for name in names)
            count += 1
    return count
