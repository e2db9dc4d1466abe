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
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from cdr.descriptors import copy_fd
from cdr.durable import durable_file, fsync_dir, write_json
from cdr.errors import OperationalError, UsageError
from cdr.names import display, id_as_typed, id_matches, reception_number, valid_id
from cdr.reasons import in_japanese
from cdr.release import FILE_MODE, candidates, destination, publish

log = logging.getLogger("cdr")

ORIGINAL = "original.bin"
META = "meta.json"
PENDING = ".notices-pending"
NOTICE_SUFFIX = ".quarantined.txt"

NOTICE_TEMPLATE = """\
【無害化できなかったファイルのお知らせ】

ファイル「{name}」は安全に無害化できなかったため、LGWAN 側には届けていません。
理由: {reason_ja}（{reason}）
詳細: {message}
受付番号: {number}
日時: {when}

このファイルが業務に必要な場合は、受付番号を添えて {contact} にご連絡ください。
送信元に、別の形式（PDF など）で送り直してもらうことでも解決できる場合があります。

--------------------------------------------------------------------
[Notice: a file could not be made safe]

The file "{name}" could not be made safe and was not delivered to the LGWAN side.
Reason: {reason} — {message}
Reception number: {number}
Time: {when}

If you need this file, contact {contact} and quote the reception number.

管理用 ID / ID for the administrator: {qid}
"""


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
            raise UsageError(f"{display(text)!r} は受付番号でも隔離 ID でもありません / is not a quarantine ID or 受付番号")
        found = sorted(
            folder.name
            for folder in (self.root.iterdir() if self.root.is_dir() else ())
            if valid_id(folder.name) and id_matches(folder.name, wanted)
        )
        if len(found) != 1:
            problem = "見つかりません / no entry" if not found else f"{len(found)} 件が該当します / matches {len(found)} entries"
            raise UsageError(f"{display(text)}: {problem} in {self.root}")
        return found[0]

    def get(self, qid: str) -> Entry:
        qid = self.resolve(qid)
        folder = self.root / qid
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"no quarantine entry {qid} in {self.root}") from None
        return Entry(qid, folder, meta)

    def entries(self) -> Iterator[Entry]:
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and valid_id(folder.name) and (folder / META).exists():
                yield self.get(folder.name)

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
    def notify(self, qid: str, outbox: Path, contact: str) -> PurePosixPath | None:
        """Write the entry's notice into ``outbox`` once; None while the outbox cannot take it."""
        owed = self._owe(qid, outbox, contact)
        with open(owed, "a+b") as record:
            fcntl.flock(record.fileno(), fcntl.LOCK_EX)  # one writer per notice, across processes
            entry = self.get(qid)
            if entry.meta.get("notice"):
                owed.unlink(missing_ok=True)
                return PurePosixPath(entry.meta["notice"])
            try:
                notice = _published_notice(entry, outbox) or write_notice(
                    outbox,
                    PurePosixPath(entry.meta.get("relative") or "file"),
                    qid,
                    entry.meta.get("reason") or "",
                    entry.meta.get("message") or "",
                    contact,
                    entry.meta.get("quarantined_at"),
                )
            except (OSError, OperationalError) as exc:
                log.warning("the notice for %s waits: the outbox cannot be written: %s", qid, exc)
                return None
            self.update(qid, notice=str(notice))
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

    def _owe(self, qid: str, outbox: Path, contact: str) -> Path:
        folder = self.root / PENDING
        folder.mkdir(mode=0o750, exist_ok=True)
        owed = folder / f"{qid}.json"
        if not owed.exists():
            write_json(owed, {"outbox": str(outbox.absolute()), "contact": contact}, sync_folder=True)
        return owed

    def older_than(self, seconds: float) -> list[Entry]:
        limit = time.time() - seconds
        return [e for e in self.entries() if (e.folder / META).stat().st_mtime < limit]


def _published_notice(entry: Entry, outbox: Path) -> PurePosixPath | None:
    """A notice for this entry already in the outbox (published just before a crash)."""
    relative = PurePosixPath(entry.meta.get("relative") or "file")
    first = relative.with_name(relative.name + NOTICE_SUFFIX)
    for candidate in itertools.islice(candidates(first), 200):
        try:
            if entry.id.encode() in (outbox / candidate).read_bytes():
                return candidate
        except FileNotFoundError:
            return None  # names are taken in order: the first free one ends the search
        except OSError:
            continue
    return None


def write_notice(
    outbox: Path,
    relative: PurePosixPath,
    qid: str,
    reason: str,
    message: str,
    contact: str,
    when: float | None = None,
) -> PurePosixPath:
    """A bilingual notice where the output would have gone: ``<name>.quarantined.txt``."""
    text = NOTICE_TEMPLATE.format(
        name=relative.name,
        reason=reason,
        reason_ja=in_japanese(reason),
        message=display(message),
        number=reception_number(qid),  # short enough to read over the phone
        qid=qid,  # the last line: how a notice published before a crash is recognised
        contact=contact,
        when=datetime.fromtimestamp(when or time.time(), UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
    )
    notice = relative.with_name(relative.name + NOTICE_SUFFIX)
    temp = destination(outbox, notice) / f".cdr-{qid}.notice.partial"
    with durable_file(temp, FILE_MODE) as handle:
        # UTF-8 with BOM and CRLF: Notepad on an older LGWAN PC shows it correctly.
        handle.write(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    return publish(temp, outbox, notice)
