"""The life of one file as the audit log tells it: its first run, what an administrator
did with it afterwards (a password unlock, a re-run, the original handed over, a deletion)
and how it ended. Reports and `cdr audit show` read lives, not single steps.

A life is named by its first run's file ID, which is also the ID of its quarantine entry.
Administrators' records (``unlock``, ``released-original``…) name the entry in
``quarantine_id``; a re-run is a new run with a new file ID whose ``received`` record names
the entry in ``from_quarantine``. The log is read oldest first, so a re-run's ID is known
to belong to its entry from its first record on (``LifeKeys``).

Everything here reads the log once or twice and keeps only the lives asked for: a year of
log is streamed, not held. One life (`audit show`) is read from shortly before its ID was
made (a ULID begins with its time), not from the start of the log.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cdr.audit import SLACK, id_time, records_newest_first, records_since
from cdr.daemon.counters import JAPAN
from cdr.names import id_matches

Record = dict[str, Any]

# What an administrator did, by the event that records it (the words of `cdr quarantine`).
ADMIN_EVENTS = {
    "unlock": "unlock",
    "quarantine-rerun": "rerun",
    "released-original": "original",
    "quarantine-deleted": "delete",
    "quarantine-purged": "purge",
}


class Ending(str, enum.Enum):
    """How a file's life ended, as far as the log goes."""

    RELEASED = "released"  # rebuilt and delivered on its first run
    QUARANTINED = "quarantined"  # held, and (still) not delivered
    RELEASED_LATER = "released-later"  # held, then delivered by an unlock or a re-run
    ORIGINAL_RELEASED = "original-released"  # held, then its original handed over by a person
    UNFINISHED = "unfinished"  # no final record: still in the spool, or the log was cut


def when(record: Record) -> datetime | None:
    """The record's time in Japan (the appliance's day), or None for a damaged ``ts``."""
    try:
        return datetime.fromisoformat(str(record.get("ts"))).astimezone(JAPAN)
    except ValueError:
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class LifeKeys:
    """Which life a record belongs to, learnt while the log is read in order."""

    def __init__(self) -> None:
        self._reruns: dict[str, str] = {}  # a re-run's file ID → the entry it re-ran (few)

    def key(self, record: Record) -> str | None:
        file_id = _text(record.get("file_id"))
        if file_id is None:  # the daemon's own records (started, policy reloaded)
            return None
        origin = _text(record.get("from_quarantine"))
        if origin is not None:
            self._reruns[file_id] = origin
        return self._reruns.get(file_id) or _text(record.get("quarantine_id")) or file_id


@dataclass(frozen=True)
class Handling:
    """What an administrator did to a held file: who, how (``ADMIN_EVENTS``), when, why."""

    how: str
    who: str
    when: datetime | None
    why: str = ""
    failed: bool = False  # an unlock or re-run whose run was held again (a wrong password)
    requested_by: str = ""  # an original handed over on a console request: who asked ("who" approved)


@dataclass
class Life:
    key: str
    received: datetime | None = None
    input: str = ""
    type: str | None = None
    ending: Ending = Ending.UNFINISHED
    reason: str | None = None  # why the first run held it
    actions: list[dict[str, Any]] = field(default_factory=list)  # of the run that was delivered
    output: str | None = None
    quarantine_id: str | None = None
    handling: Handling | None = None
    runs: list[str] = field(default_factory=list)  # file IDs, the first run's first
    _asked: Handling | None = None  # an unlock or re-run whose run has not ended yet
    _sanitized: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(self, record: Record) -> None:
        """One more record of this life, in log order."""
        file_id, event = str(record.get("file_id")), record.get("event")
        if file_id not in self.runs:
            self.runs.append(file_id)
        if self.received is None:  # normally the first run's `received`
            self.received, self.input = when(record), str(record.get("input") or "")
        self.type = self.type or _text(record.get("type"))
        if event in ADMIN_EVENTS:
            self._admin(record, ADMIN_EVENTS[event])
        elif event in ("sanitized", "cache-hit") and isinstance(record.get("actions"), list):  # cdr/reuse.py
            self._sanitized[file_id] = record["actions"]
        elif event == "released":
            self._released(record, file_id)
        elif event == "quarantined" and file_id == self.key:
            self.ending, self.reason = Ending.QUARANTINED, _text(record.get("reason"))
            self.quarantine_id = _text(record.get("quarantine_id")) or self.key
        elif event == "rejected" and self._asked is not None:  # the unlock or re-run failed
            asked = self._asked
            self.handling, self._asked = Handling(asked.how, asked.who, when(record), asked.why, True), None

    def _admin(self, record: Record, how: str) -> None:
        requester = str(record.get("requested_by") or "") if record.get("approved_by") else ""
        done = Handling(how, str(record.get("admin") or ""), when(record), str(record.get("reason") or ""), requested_by=requester)
        if how == "original":
            self.ending, self.output, self.handling = Ending.ORIGINAL_RELEASED, _text(record.get("output")), done
            self.actions = []  # nothing was removed from what was handed over
        elif how in ("unlock", "rerun"):
            self._asked = done
        elif self.ending == Ending.QUARANTINED:  # deleted while held: still not delivered
            self.handling = done

    def _released(self, record: Record, file_id: str) -> None:
        self.output = _text(record.get("output"))
        self.actions = self._sanitized.get(file_id, [])
        if file_id == self.key:
            self.ending = Ending.RELEASED
            return
        self.ending = Ending.RELEASED_LATER
        asked = self._asked or Handling(str(record.get("via") or "rerun"), "", None)
        self.handling, self._asked = Handling(asked.how, asked.who, when(record), asked.why), None


def _named(record: Record, typed: str) -> bool:
    return any(
        isinstance(record.get(k), str) and id_matches(record[k], typed)
        for k in ("file_id", "quarantine_id", "from_quarantine")
    )


def _keys_where(
    path: Path, wanted: Callable[[Record, str], bool], stop: datetime | None = None, since: float | None = None
) -> set[str]:
    """The lives that have a record ``wanted`` says yes to (reading no further than ``stop``,
    from about ``since``: epoch seconds, None for the start)."""
    keys, found = LifeKeys(), set()
    for record in records_since(path, since):
        key = keys.key(record)
        if key is None:
            continue
        if stop is not None and (moment := when(record)) is not None and moment >= stop:
            break  # records are written in time order: nothing later can be wanted
        if wanted(record, key):
            found.add(key)
    return found


def records_of(path: Path, keys: set[str], since: float | None = None) -> Iterator[tuple[str, Record]]:
    """Every record of the named lives, oldest first, with its life's key (lives that began
    after ``since``, if it is given)."""
    if not keys:
        return
    lives = LifeKeys()
    for record in records_since(path, since):
        key = lives.key(record)
        if key in keys:
            yield key, record


def life_records(path: Path, typed: str, held: Iterable[str] = ()) -> Iterator[Record]:
    """Every record of the lives one of whose IDs ``typed`` names (an ID, a beginning of
    one, or a 受付番号, as ``names.id_as_typed`` gives it): the first run, the unlock or
    re-run and its run, the original handed over, the deletion. ``held``: the IDs in the
    quarantine, which tell when a 受付番号's file came."""
    since = earliest(typed, held)
    keys = _keys_where(path, lambda r, _key: _named(r, typed), since=since)
    if not keys and since is not None:  # the clock stepped (or the ID came from one ahead): the whole log
        since = None
        keys = _keys_where(path, lambda r, _key: _named(r, typed))
    for _, record in records_of(path, keys, since):
        yield record


def earliest(typed: str, held: Iterable[str] = ()) -> float | None:
    """How far back (epoch seconds) the lives ``typed`` names can begin; None: the whole log.
    A beginning of an ID says its time (the ID's first characters are the time it was
    made, and a life's records all come after); a 受付番号, the ID's last characters, says
    none, but the quarantine entries whose IDs end with it do (a deleted one: no time)."""
    moments = [id_time(typed)]
    if len(typed) == 8:  # also read as a 受付番号
        moments += [id_time(qid) for qid in held if qid.endswith(typed)] or [None]
    if None in moments:
        return None
    return min(m for m in moments if m is not None) - SLACK


def lives(path: Path, keys: set[str]) -> list[Life]:
    """The named lives, in the order they began."""
    found: dict[str, Life] = {}
    for key, record in records_of(path, keys):
        found.setdefault(key, Life(key)).add(record)
    return list(found.values())


def counted_from(record: Record, key: str, start: datetime) -> bool:
    """Whether this record puts its life into a report that begins at ``start``: the file
    arrived then or later, or an administrator delivered it (an unlock's or re-run's
    release, the original handed over) then or later."""
    moment = when(record)
    if moment is None or moment < start:
        return False
    event = record.get("event")
    arrived = event == "received" and record.get("file_id") == key
    released_later = event == "released-original" or (event == "released" and record.get("file_id") != key)
    return arrived or released_later


def lives_between(path: Path, start: datetime, end: datetime) -> list[Life]:
    """The files received in [start, end) — and files received earlier that an
    administrator released in it, so that a month's report names every delivery its
    staff made. Each as it stands now: a release after ``end`` shows too."""
    return lives(path, _keys_where(path, lambda record, key: counted_from(record, key, start), stop=end))


def endings_since(path: Path, start: datetime) -> Counter[Ending]:
    """How the files a report from ``start`` until now names (``lives_between``) stand now,
    by ending — for `cdr status`'s "today", which must be fast on a year of log."""
    return Counter(life.ending for life in recent_lives(path, start))


def recent_lives(path: Path, start: datetime, end: datetime | None = None) -> list[Life]:
    """The lives a report of [start, end) names (``lives_between``; ``end`` None: until
    now), each as it stands now, in the order they began. Read from the end of the log back
    to an hour before ``start`` (records are written in time order; the hour covers writers
    that raced at midnight): a life that began earlier is seen only through its records
    since then, which is enough to know how it ended (its unlock's re-run names the entry,
    a handed-over original names it too). For the recent days that `cdr status` and the
    daily mail count, on a year of log."""
    recent: list[Record] = []
    before = start - timedelta(hours=1)
    for record in records_newest_first(path):
        moment = when(record)
        if moment is not None and moment < before:
            break
        recent.append(record)
    keys, found, counted = LifeKeys(), dict[str, Life](), dict[str, None]()
    for record in reversed(recent):
        key = keys.key(record)
        if key is None:
            continue
        found.setdefault(key, Life(key)).add(record)
        if counted_from(record, key, start) and (end is None or (moment := when(record)) is None or moment < end):
            counted[key] = None  # a dict: the order the lives began
    return [found[key] for key in counted]
