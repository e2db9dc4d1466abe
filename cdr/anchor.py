"""Anchors: the audit chain's head, kept where the service that writes the log cannot reach.

A hash chain shows an edit, but not a log deleted whole with its head and started again.
``cdr audit anchor`` — run as root by ``systemd/cdr-anchor.timer`` — appends the chain's
last (seq, hash) to a file in a folder only root can write (``/var/lib/cdr-anchor``,
0700); ``cdr audit verify --anchors F`` then requires every anchored (seq, hash) to be in
the chain still. The service user cannot rewrite these lines; root can, which is why the
audit log also sends each head to syslog/journald (cdr/audit.py), from where it can be
forwarded off the box.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cdr.audit import last_record_of, now_iso, read_head, segments
from cdr.errors import AuditError
from cdr.i18n import _

DEFAULT_ANCHORS = Path("/var/lib/cdr-anchor/anchors.jsonl")


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    where: str  # for messages: "anchors.jsonl line 12 (2026-11-29T03:00:00Z)"
    kept_outside: bool = True  # False for the head file, which lives beside the log


def default_anchors() -> Path | None:
    """The installed anchor file when this user may read it (root), else None."""
    return DEFAULT_ANCHORS if os.access(DEFAULT_ANCHORS, os.R_OK) else None


def anchors_out_of_reach() -> bool:
    """The installed anchor folder exists, and this user may not read it (not root)."""
    return os.path.isdir(DEFAULT_ANCHORS.parent) and not os.access(DEFAULT_ANCHORS.parent, os.R_OK | os.X_OK)


def read_anchors(anchors: Path, log: Path) -> list[Anchor]:
    """The anchors kept for the log at ``log`` (an anchor file may serve several logs)."""
    try:
        lines = anchors.read_bytes().splitlines()
    except OSError as exc:
        raise AuditError(_("{file}: cannot read the anchors: {why}").format(file=anchors, why=exc.strerror)) from None
    found = []
    for number, raw in enumerate(lines, start=1):
        try:
            entry = json.loads(raw)
            if entry["log"] != str(log.absolute()):
                continue
            where = _("{file} line {line}").format(file=anchors.name, line=number) + f" ({entry['ts']})"
            found.append(Anchor(int(entry["seq"]), str(entry["hash"]), where))
        except (ValueError, KeyError, TypeError):
            where = _("{file} line {line}").format(file=anchors, line=number)
            raise AuditError(_("{where}: not an anchor record").format(where=where)) from None
    return found


def chain_head(log: Path) -> dict[str, Any] | None:
    """The last record known to be on disk: the head file's, which a writer moves on only
    after the fsync that covers it (records of a file still being made wait for one group
    commit: anchored before it, a power cut would make them look removed). Without a
    head: the last record, in the active file, else in the newest segment."""
    last = last_record_of(log)  # read even so: a FIFO or device in the log's place is refused
    head = read_head(log)
    if head is not None:
        return {"seq": head[0], "hash": head[1]}
    if last is None:
        closed = segments(log)
        last = last_record_of(closed[-1].path) if closed else None
    return last


def append_anchor(anchors: Path, log: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Anchor the log's head now; returns what was anchored and what looks wrong, if anything:
    a head behind the last anchor means the log lost records or was started again."""
    last = chain_head(log)
    earlier = read_anchors(anchors, log) if anchors.exists() else []
    if last is None:
        if not earlier:
            return None, None
        return None, _("{log}: no records, but seq {seq} was anchored before").format(log=log, seq=earlier[-1].seq)
    entry = {"ts": now_iso(), "log": str(log.absolute()), "seq": last["seq"], "hash": last["hash"]}
    anchors.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(anchors, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, (json.dumps(entry) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    problem = None
    if earlier and (earlier[-1].seq > last["seq"] or (earlier[-1].seq == last["seq"] and earlier[-1].hash != last["hash"])):
        said = _(
            "{log}: the chain now ends at seq {seq}, but {anchor} anchored seq "
            "{anchored}: records were lost, or the log was started again"
        )
        problem = said.format(log=log, seq=last["seq"], anchor=earlier[-1].where, anchored=earlier[-1].seq)
    return entry, problem
