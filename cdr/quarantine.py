"""The quarantine store: ``<store>/<id>/original.bin`` (read-only) and ``meta.json``.

An entry is built in a hidden ``.incoming-<id>`` folder and renamed into place, so an
entry either exists whole or not at all — crash recovery relies on that. The original
never keeps its own name here: a double-click in a file manager must not run it.

The notice for staff is owed from the moment an entry exists. A record in
``.notices-pending/`` says so until the notice is in the outbox; when the outbox cannot
be written (read-only, full, a share that went away) the record stays and the notice is
written later — by the daemon's next look, or by the next run after a restart. A notice
names its quarantine ID, so a notice already published before a crash is found, not
written twice.

A notice follows its entry: when the file is released later (unlock, re-run, the original
handed over) or a password turns out wrong, ``notify`` replaces the notice with the one
that fits now (the texts are ``cdr.notices``'; meta.json's ``notice_state`` says which one
the outbox shows).
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cdr.descriptors import copy_fd
from cdr.durable import durable_file, fsync_dir, write_json
from cdr.entry_meta import DAMAGED, META, DamagedMeta, read_meta
from cdr.errors import OperationalError, UsageError
from cdr.i18n import _
from cdr.names import display, id_as_typed, id_matches, valid_id
from cdr.notices import HELD, RELEASED, RELEASED_ORIGINAL, encoded, notice_text, state
from cdr.release import FILE_MODE, candidates, destination, publish

log = logging.getLogger("cdr")

ORIGINAL = "original.bin"
PENDING = ".notices-pending"
NOTICE_SUFFIX = ".quarantined.txt"
RELEASED_SUFFIX = ".released.txt"


@dataclass(frozen=True)
class Entry:
    id: str
    folder: Path
    meta: dict[str, Any]

    @property
    def original(self) -> Path:
        return self.folder / ORIGINAL


class QuarantineStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _ensure(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OperationalError(f"{self.root}: cannot create the quarantine: {exc.strerror}") from None

    def exists(self, qid: str) -> bool:
        return (self.root / qid / META).exists()

    def store(self, qid: str, original_fd: int | None, meta: dict[str, Any]) -> Entry:
        self._ensure()
        final = self.root / qid
        if final.exists():
            return self.get(qid)
        incoming = self.root / f".incoming-{qid}"
        shutil.rmtree(incoming, ignore_errors=True)
        incoming.mkdir(mode=0o750)
        if original_fd is not None:
            # read-only from the start: nothing in the appliance edits an original
            with durable_file(incoming / ORIGINAL, 0o400) as dst:
                copy_fd(original_fd, dst.write)
        meta = {**meta, "id": qid, "status": "quarantined"}
        write_json(incoming / META, meta, indent=2)
        os.rename(incoming, final)
        fsync_dir(self.root)
        return Entry(qid, final, meta)

    def resolve(self, text: str) -> str:
        """The full ID someone means: the ID itself, its 受付番号 (``K7QM-4T2P``, any case,
        with or without the hyphen) or a beginning of the ID that only one entry has."""
        wanted = id_as_typed(text)
        if valid_id(wanted):
            return wanted
        if not re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4,25}", wanted):
            raise UsageError(_("{typed} is not a quarantine ID or 受付番号").format(typed=repr(display(text))))
        found = sorted(
            folder.name
            for folder in (self.root.iterdir() if self.root.is_dir() else ())
            if valid_id(folder.name) and id_matches(folder.name, wanted)
        )
        if len(found) != 1:
            problem = _("no entry in {root}") if not found else _("matches {count} entries in {root}")
            raise UsageError(f"{display(text)}: " + problem.format(root=self.root, count=len(found)))
        return found[0]

    def get(self, qid: str) -> Entry:
        qid = self.resolve(qid)
        folder = self.root / qid
        try:
            meta = read_meta(folder / META)
        except DamagedMeta as exc:
            raise UsageError(_("the record of quarantine entry {id} is damaged ({problem}): its files are in {folder}").format(
                id=qid, problem=exc.problem, folder=folder)) from None
        if meta is None:
            raise UsageError(_("no quarantine entry {id} in {root}").format(id=qid, root=self.root))
        return Entry(qid, folder, meta)

    def entries(self) -> Iterator[Entry]:
        """Every entry, by ID (the order they came in). Ten thousand of them are listed in a
        blink: one listing, one read of each meta.json, nothing looked up twice."""
        try:
            names = sorted(name for name in os.listdir(self.root) if valid_id(name))
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in names:
            folder = self.root / name
            try:
                meta = read_meta(folder / META)
            except DamagedMeta as exc:  # listed, so that an administrator sees it and looks
                meta = {"status": "quarantined", "reason": DAMAGED, "message": exc.problem}
            if meta is not None:  # else deleted meanwhile, or no entry folder at all
                yield Entry(name, folder, meta)

    def update(self, qid: str, **changes: Any) -> Entry:
        entry = self.get(qid)
        meta = {**entry.meta, **changes}
        os.chmod(entry.folder, 0o750)
        write_json(entry.folder / META, meta, indent=2)
        return Entry(entry.id, entry.folder, meta)

    def delete(self, qid: str) -> None:
        entry = self.get(qid)
        graveyard = self.root / f".deleting-{entry.id}"
        os.rename(entry.folder, graveyard)
        shutil.rmtree(graveyard)

    # ------------------------------------------------------------ notices
    def notify(self, qid: str, outbox: Path, contact: str = "") -> PurePosixPath | None:
        """Make ``outbox`` show the notice that fits the entry now — written once, replaced
        when the entry's state changed since — and return its name; None while the outbox
        cannot take it (the notice stays owed)."""
        owed = self.owe_notice(qid, outbox, contact)
        with open(owed, "a+b") as record:
            fcntl.flock(record.fileno(), fcntl.LOCK_EX)  # one writer per notice, across processes
            entry = self.get(qid)
            shown = entry.meta.get("notice")
            if shown and entry.meta.get("notice_state", HELD) == state(entry.meta):
                owed.unlink(missing_ok=True)
                return PurePosixPath(shown)
            text = notice_text(entry.id, entry.meta, contact, kept=entry.original.exists())
            try:
                notice = _show(entry, outbox, text)
            except (OSError, OperationalError) as exc:
                log.warning("the notice for %s waits: the outbox cannot be written: %s", qid, exc)
                return None
            self.update(qid, notice=str(notice), notice_state=state(entry.meta))
            owed.unlink(missing_ok=True)
            return notice

    def deliver_pending(self, outbox: Path) -> list[tuple[Entry, PurePosixPath]]:
        """Write the notices still owed to ``outbox``; the entries whose notice went out."""
        folder = self.root / PENDING
        written: list[tuple[Entry, PurePosixPath]] = []
        if not folder.is_dir():
            return written
        for owed in sorted(folder.glob("*.json")):
            qid = owed.stem
            try:
                record = json.loads(owed.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if record.get("outbox") != str(outbox.absolute()):
                continue  # another run's outbox: that run delivers it
            if not self.exists(qid):
                if time.time() - owed.stat().st_mtime > 3600:
                    owed.unlink(missing_ok=True)  # the entry was deleted by an administrator
                continue
            notice = self.notify(qid, outbox, record.get("contact", ""))
            if notice is not None:
                written.append((self.get(qid), notice))
        return written

    def owe_notice(self, qid: str, outbox: Path, contact: str) -> Path:
        """Record that ``outbox`` is owed this entry's notice: said before a change of state
        that needs a new notice, a crash in between still ends with the right one shown."""
        folder = self.root / PENDING
        folder.mkdir(mode=0o750, exist_ok=True)
        owed = folder / f"{qid}.json"
        if not owed.exists():
            write_json(owed, {"outbox": str(outbox.absolute()), "contact": contact}, sync_folder=True)
        return owed

    def older_than(self, seconds: float) -> list[Entry]:
        limit = time.time() - seconds
        return [e for e in self.entries() if (e.folder / META).stat().st_mtime < limit]


def _suffix(meta: dict[str, Any]) -> str:
    return RELEASED_SUFFIX if state(meta) in (RELEASED, RELEASED_ORIGINAL) else NOTICE_SUFFIX


def _show(entry: Entry, outbox: Path, text: str) -> PurePosixPath:
    """Publish ``text`` as the entry's notice; the notice it replaces, if any, goes.

    A held notice rewritten (a wrong password) keeps its name: renamed over in one step,
    so the outbox shows the old text or the new, never a partial one. A released notice
    takes a name of its own, ``<name>.released.txt``, by ``link`` (never over anything),
    and the ``.quarantined.txt`` is removed after: what the name says in Explorer stays
    true without opening it, and for a moment both show rather than neither. A crash
    before the removal leaves both, the old one recognised later by its ID.
    """
    suffix = _suffix(entry.meta)
    relative = PurePosixPath(entry.meta.get("relative") or "file")
    old = entry.meta.get("notice")
    old_is_ours = bool(old) and _names(outbox / str(old), entry.id)
    if old_is_ours and str(old).endswith(suffix):
        temp = destination(outbox, PurePosixPath(str(old))) / f".cdr-{entry.id}.notice.partial"
        with durable_file(temp, FILE_MODE) as handle:
            handle.write(encoded(text))
        os.replace(temp, outbox / str(old))
        fsync_dir(temp.parent)
        return PurePosixPath(str(old))
    notice = _published_notice(entry, outbox, suffix) or _publish(outbox, relative, entry.id, text, suffix)
    if old_is_ours and str(old) != str(notice):
        (outbox / str(old)).unlink(missing_ok=True)
    return notice


def _names(path: Path, qid: str) -> bool:
    """Whether the file at ``path`` is a notice of entry ``qid``: its last line names the ID."""
    try:
        lines = path.read_bytes().rstrip().splitlines()
    except OSError:
        return False
    return bool(lines) and qid.encode() in lines[-1]


def _published_notice(entry: Entry, outbox: Path, suffix: str = NOTICE_SUFFIX) -> PurePosixPath | None:
    """A notice of this kind for this entry already in the outbox (published just before a crash)."""
    relative = PurePosixPath(entry.meta.get("relative") or "file")
    first = relative.with_name(relative.name + suffix)
    for candidate in itertools.islice(candidates(first), 200):
        if not (outbox / candidate).exists():
            return None  # names are taken in order: the first free one ends the search
        if _names(outbox / candidate, entry.id):
            return candidate
    return None


def _publish(outbox: Path, relative: PurePosixPath, qid: str, text: str, suffix: str) -> PurePosixPath:
    """``text`` as a new notice where the output would have gone: ``<name><suffix>``."""
    notice = relative.with_name(relative.name + suffix)
    temp = destination(outbox, notice) / f".cdr-{qid}.notice.partial"
    with durable_file(temp, FILE_MODE) as handle:
        handle.write(encoded(text))
    return publish(temp, outbox, notice)
