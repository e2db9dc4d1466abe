"""``cdr audit verify``: walk the chain over every segment of the log, oldest first.

The walk names the first record or file that does not fit: an edited, removed or
reordered record (by file and line), a segment removed from the middle, cut short or
replaced (at the boundary, and by the SHA-256 the next file's ``audit-rotated`` record
kept), a log that does not start at seq 1 without an ``audit-pruned`` record saying
retention removed the beginning, records cut off the end (the head file), and a log that
was deleted or moved away and started again (the head, and the anchors kept outside the
log: see cdr/anchor.py). Where the trouble lies is said once, in the problem; the
per-file lines say how far each file was good. The problems are in the administrator's
language (``_`` is English until the CLI chooses one); the seqs and file names stay as
they are, since they are what a person compares with the log.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from cdr.anchor import Anchor, read_anchors
from cdr.audit import GENESIS, HEAD_MISSING, PRUNED, ROTATED, head_path, log_files, read_head, record_hash
from cdr.i18n import _

# A line as cdr.audit.record_line writes it ends with its hash as the last field.
_HASH_KEY = b',"hash":"'
_TAIL = len(_HASH_KEY) + 64 + len(b'"}')
_PREV_KEY = b',"prev":"'
_SEQ_KEY = b',"seq":'
_EVENT_KEY = b'"event":"'
BLOCK = 1 << 20  # read (and hashed, for the file's SHA-256) a block at a time


@dataclass(frozen=True)
class FileCheck:
    """How one file of the log read: its name, the seqs it holds, how many good records."""

    name: str
    first_seq: int | None
    last_seq: int | None
    records: int
    ok: bool


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    records: int
    problem: str | None = None
    line: int | None = None  # in the file named by the problem
    files: tuple[FileCheck, ...] = ()
    anchors: int = 0  # anchors (outside the log) that were checked and found in the chain


class Broken(Exception):
    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem, self.line = problem, line


@dataclass
class _Walk:
    """The state of one walk along the chain."""

    anchors: dict[int, list[Anchor]]
    seq: int = 0
    prev: str = GENESIS
    count: int = 0
    start: tuple[int, str] | None = None  # where the chain begins if not at seq 1
    last_file: str | None = None
    closed: dict[str, tuple[str, int]] = field(default_factory=dict)  # name → (sha256, last seq)
    pruned: set[tuple[int, str]] = field(default_factory=set)  # (last seq, last hash) removed by retention
    # seq ranges removed before the oldest segment a prune removed, as the latest audit-pruned
    # record carries them forward: segments deleted by hand, not by retention
    unaccounted: list[Any] = field(default_factory=list)
    matched: int = 0

    def file(self, name: str, handle: BinaryIO) -> FileCheck:
        digest, first, good, rest = hashlib.sha256(), None, 0, b""
        while block := handle.read(BLOCK):
            digest.update(block)
            *lines, rest = (rest + block).split(b"\n")
            for line in lines:
                if not (good and self.plain(line)):
                    self.record(line + b"\n", good + 1, name, first_in_file=good == 0)
                first = self.seq if first is None else first
                good += 1
        if rest:  # no line end: named as cut short
            self.record(rest, good + 1, name, first_in_file=good == 0)
        if good:
            self.closed[name] = (digest.hexdigest(), self.seq)
            self.last_file = name
        return FileCheck(name, first, self.seq if good else None, good, True)

    def plain(self, line: bytes) -> bool:
        """The common record, checked on its bytes: stored in the canonical form (as
        ``record_line`` writes it), its hash over those bytes, the next seq and the last
        hash as its top-level ``seq`` and ``prev`` (a quote inside a JSON string is escaped,
        so ``,"seq":`` is a key), no anchor at it, no event that says something about the
        log's files. Anything else — an older line, a damaged one, the first record — goes
        the long way (``record``), which says what is wrong.

        Hashing the bytes as stored binds the record as firmly as hashing a re-serialised
        form: any change to the line changes its hash, and so the next record's ``prev``."""
        end = len(line) - _TAIL
        if line[end : end + len(_HASH_KEY)] != _HASH_KEY or line[-2:] != b'"}' or (self.seq + 1) in self.anchors:
            return False
        # What the canonical writer never emits goes the long way (which names it): whitespace
        # (none outside strings; a space inside one is rare enough to read the long way) and
        # backslashes (\u escapes, and any escape at all: rare, and read the long way).
        if b" " in line or b"\\" in line or b"\t" in line or b"\r" in line:
            return False
        # the keys are in sorted order: "event" near the start, "prev" then "seq" near the end
        event = line.find(_EVENT_KEY) + len(_EVENT_KEY)
        prev = line.rfind(_PREV_KEY, 0, end) + len(_PREV_KEY)
        seq = line.find(_SEQ_KEY, prev) + len(_SEQ_KEY)
        number = b"%d," % (self.seq + 1)
        if (
            event < len(_EVENT_KEY)
            or line.startswith(b"audit-", event)
            or line[prev : prev + 65] != self.prev.encode() + b'"'
            or not line.startswith(number, seq)
            # a second event or seq key after the one found: json.loads, and so every
            # reader, would see that one (a second prev after the last is not possible)
            or line.find(b'"event":', event, end) >= 0
            or line.find(_SEQ_KEY, seq, end) >= 0
        ):
            return False
        digest = line[end + len(_HASH_KEY) : -2].decode("ascii", "replace")
        if hashlib.sha256(line[:end] + b"}").hexdigest() != digest:
            return False
        self.seq, self.prev, self.count = self.seq + 1, digest, self.count + 1
        return True

    def record(self, raw: bytes, line: int, name: str, first_in_file: bool) -> None:
        where = _("{file} line {line}").format(file=name, line=line)
        if not raw.endswith(b"\n"):
            raise Broken(_("{where}: the record is cut short").format(where=where), line)
        try:
            record = json.loads(raw)
        except ValueError:
            raise Broken(_("{where}: not a JSON record").format(where=where), line) from None
        seq = record.get("seq") if isinstance(record, dict) else None
        if not isinstance(seq, int) or isinstance(seq, bool):
            raise Broken(_("{where}: a record without a seq").format(where=where), line)
        if self.count == 0 and (seq != 1 or record.get("prev") != GENESIS):
            self.start = (seq, str(record.get("prev")))  # explained by an audit-pruned record, or not
        elif self.count and seq != self.seq + 1:
            raise Broken(self._gap(where, record, name, first_in_file), line)
        elif self.count and record.get("prev") != self.prev:
            raise Broken(self._mismatch(where, seq, name, first_in_file), line)
        if record.get("hash") != record_hash(record):
            raise Broken(_("{where} (seq {seq}): the record was edited (its hash does not match)").format(where=where, seq=seq), line)
        self._meaning(record, where, line)
        for anchor in self.anchors.get(seq, ()):
            if anchor.hash != record["hash"]:
                said = _(
                    "{where} (seq {seq}): not the record {anchor} names "
                    "(the log was replaced, or moved away and started again)"
                )
                raise Broken(said.format(where=where, seq=seq, anchor=anchor.where), line)
            self.matched += anchor.kept_outside
        self.seq, self.prev, self.count = seq, record["hash"], self.count + 1

    def _gap(self, where: str, record: dict[str, Any], name: str, first_in_file: bool) -> str:
        seq, expected = record["seq"], self.seq + 1
        known = {"where": where, "file": name, "seq": seq, "expected": expected, "last_file": self.last_file}
        if seq < expected:
            if first_in_file:
                said = _(
                    "{file}: starts at seq {seq}, but {last_file} already ends at seq {last}: "
                    "records appear twice (an old segment was put back?)"
                )
                return said.format(**known, last=self.seq)
            return _("{where}: seq {seq} where {expected} was expected (a record was removed or moved)").format(**known)
        if seq - 1 > expected:
            missing = _("records {first}–{last}").format(first=expected, last=seq - 1)
        else:
            missing = _("record {seq}").format(seq=expected)
        if not first_in_file:
            said = _("{where}: seq {seq} where {expected} was expected: {missing} missing (a record was removed or moved)")
            return said.format(**known, missing=missing)
        named = record.get("segment") if record.get("event") == ROTATED else None
        if named == self.last_file:
            return _cut_short(named, self.seq, record.get("segment_last_seq"))
        if isinstance(named, str):
            said = _("{file}: missing: {missing} between {last_file} and {next_file} are gone (a segment was removed)")
            return said.format(file=named, missing=missing, last_file=self.last_file, next_file=name)
        said = _(
            "{file}: starts at seq {seq}, but {last_file} ends at seq {last}: {missing} "
            "missing (a segment was removed, or {last_file} was cut short)"
        )
        return said.format(**known, last=self.seq, missing=missing)

    def _mismatch(self, where: str, seq: int, name: str, first_in_file: bool) -> str:
        if first_in_file:
            said = _("{file}: its first record (seq {seq}) does not follow {last_file}: {last_file} or {file} was replaced")
            return said.format(file=name, seq=seq, last_file=self.last_file)
        return _("{where} (seq {seq}): does not follow the previous record (removed, moved or edited)").format(where=where, seq=seq)

    def _meaning(self, record: dict[str, Any], where: str, line: int) -> None:
        """What the log's own records say about its files, checked against the files."""
        if record.get("event") == PRUNED:
            for item in record.get("segments") or ():
                if isinstance(item, dict):
                    self.pruned.add((item.get("last_seq"), item.get("last_hash")))  # type: ignore[arg-type]
            self.unaccounted = list(record.get("unaccounted") or ())
        if record.get("event") == HEAD_MISSING:
            said = _(
                "{where} (seq {seq}): written when the log's head file was deleted or damaged: "
                "records before it may have been cut off the end with it"
            )
            raise Broken(said.format(where=where, seq=record["seq"]), line)
        if record.get("event") != ROTATED:
            return
        named = record.get("segment")
        if record.get("head_missing"):
            said = _(
                "{where} (seq {seq}): this file was started after the log's head file was "
                "deleted: records after {file} (seq {last}) may have been "
                "removed with it (the active file and its head deleted)"
            )
            raise Broken(said.format(where=where, seq=record["seq"], file=named, last=record.get("segment_last_seq")), line)
        if named not in self.closed:
            if self.count:  # not the first record left after pruning: the segment it names is gone
                said = _("{file}: missing (closed before seq {seq}, {where})")
                raise Broken(said.format(file=named, seq=record["seq"], where=where), line)
            return
        sha256, last = self.closed[named]
        if last != record.get("segment_last_seq"):
            raise Broken(_cut_short(named, last, record.get("segment_last_seq")), line)
        if sha256 != record.get("segment_sha256"):
            said = _(
                "{file}: changed after it was closed (its SHA-256 is not the one "
                "recorded at seq {seq}): replaced or edited"
            )
            raise Broken(said.format(file=named, seq=record["seq"]), line)

    def end(self) -> str | None:
        """What the whole walk shows once every file is read, or None."""
        if self.start and (self.start[0] - 1, self.start[1]) not in self.pruned:
            first = self.start[0]
            if first == 1:
                return _("seq 1 does not start a chain (its prev is not the beginning)")
            said = _(
                "the log starts at seq {first}: records 1–{before} are missing, and no audit-pruned "
                "record says retention removed them (the log was moved away, or deleted, and writing went on)"
            )
            return said.format(first=first, before=first - 1)
        if self.start and self.unaccounted:
            first, last = self.unaccounted[0]
            said = _(
                "records {first}–{last} are missing: the audit-pruned records account for seq {named} "
                "onwards only (segments were removed before a prune, not by it)"
            )
            return said.format(first=first, last=last, named=last + 1)
        for seq in sorted(self.anchors, reverse=True):
            if seq > self.seq:
                said = _(
                    "the log ends at seq {seq}, but {anchor} names seq {anchored}: records were "
                    "cut off the end, or the log was moved away or deleted and started again"
                )
                return said.format(seq=self.seq, anchor=self.anchors[seq][0].where, anchored=seq)
        return None


def _cut_short(name: str, last: int, held: Any) -> str:
    said = _("{file}: cut short: it ends at seq {last}, but held records up to seq {held} when it was closed")
    return said.format(file=name, last=last, held=held)


def _anchors(path: Path, anchors: Path | None) -> dict[int, list[Anchor]]:
    found: dict[int, list[Anchor]] = {}
    head = read_head(path)
    if head and head[0]:  # seq 0: written before the first record, it vouches for none
        found.setdefault(head[0], []).append(Anchor(head[0], head[1], _("the head file"), kept_outside=False))
    for anchor in read_anchors(anchors, path) if anchors else ():
        found.setdefault(anchor.seq, []).append(anchor)
    return found


def check(path: Path, anchors: Path | None = None) -> VerifyReport:
    head = head_path(path)
    if head.exists() and read_head(path) is None:
        return VerifyReport(False, 0, _("{file}: damaged").format(file=head))
    walk = _Walk(_anchors(path, anchors))
    files: list[FileCheck] = []
    for name, handle in log_files(path):
        try:
            files.append(walk.file(name, handle))
        except Broken as broken:
            files.append(FileCheck(name, None, None, 0, False))
            return VerifyReport(False, walk.count, broken.problem, broken.line, tuple(files))
    if walk.count == 0 and not walk.anchors:
        return VerifyReport(True, 0, "no records yet")  # a fresh install: nothing to check
    if walk.count == 0:
        newest = max(walk.anchors)
        said = _("{path}: the audit log is missing, but {anchor} says records up to seq {seq} were written")
        return VerifyReport(False, 0, said.format(path=path, anchor=walk.anchors[newest][0].where, seq=newest))
    problem = walk.end()
    if problem is None and not head.exists():
        said = _("{head}: missing, but the log holds records up to seq {seq}: records may have been cut off the end with it")
        problem = said.format(head=head, seq=walk.seq)
    if problem:
        return VerifyReport(False, walk.count, problem, None, tuple(files))
    return VerifyReport(True, walk.count, None, None, tuple(files), walk.matched)
