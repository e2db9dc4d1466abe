"""Cleaning the outbox: released files and notices older than the site's retention go.

Off unless ``outbox_retention`` (site config) or ``--older-than`` says otherwise; run by
the purge timer. Staff pick a file up within days; a share that keeps every released
file for ever fills up and keeps copies nobody manages. Each removal is audited
(``outbox-cleaned``: ``output`` and ``output_sha256`` of what was removed, as its
``released`` record names them, and ``age_days``) before
the file goes, so nothing leaves unrecorded.

What is never touched: anything that is not a regular file (a link is not followed, not
removed; a linked folder is not entered), the daemon's hidden ``.cdr-*`` files (a release
or notice in flight; crash leftovers are cdr/release.py's to remove), the folders
themselves, and anything outside the outbox — every name is opened and removed relative
to a descriptor of its folder, so a folder swapped for a link meanwhile leads nowhere.
The age is since the file last changed in the outbox (the later of mtime and ctime), so a
file released today with an old modification time is not taken for old.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from cdr.audit import AuditLog
from cdr.names import from_disk

log = logging.getLogger("cdr")
IN_FLIGHT = ".cdr-"  # the prefix of the daemon's temp files (cdr/release.py, cdr/quarantine.py)


@dataclass(frozen=True)
class Cleaned:
    name: str  # relative to the outbox
    sha256: str
    age_days: float


def _sha256_at(folder: int, name: str, expected: os.stat_result) -> str | None:
    """The SHA-256 of the regular file ``name`` in ``folder``; None if it is not the file
    that was looked at (replaced meanwhile, or a link now)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
    except OSError:
        return None
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_ino, opened.st_dev) != (expected.st_ino, expected.st_dev):
            return None
        digest = hashlib.sha256()
        while block := os.read(fd, 1 << 20):
            digest.update(block)
        return digest.hexdigest()
    finally:
        os.close(fd)


def clean(outbox: Path, older_than: float, audit_path: Path, now: float | None = None) -> list[Cleaned]:
    """Remove regular files under ``outbox`` unchanged for ``older_than`` seconds; audited."""
    now = time.time() if now is None else now
    top = outbox.resolve()  # the configured outbox may itself be a link to the share
    if not top.is_dir():
        return []
    cleaned: list[Cleaned] = []
    audit = AuditLog(audit_path)
    try:
        for folder, _dirs, names, folder_fd in os.fwalk(top, follow_symlinks=False):
            for name in sorted(names):
                done = _clean_one(top, Path(folder), folder_fd, name, older_than, now, audit)
                if done:
                    cleaned.append(done)
    finally:
        audit.close()
    return cleaned


def _clean_one(
    top: Path, folder: Path, folder_fd: int, name: str, older_than: float, now: float, audit: AuditLog
) -> Cleaned | None:
    if name.startswith(IN_FLIGHT):
        return None
    try:
        seen = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    age = now - max(seen.st_mtime, seen.st_ctime)
    if not stat.S_ISREG(seen.st_mode) or age < older_than:
        return None
    digest = _sha256_at(folder_fd, name, seen)
    if digest is None:
        return None
    relative = from_disk((folder / name).relative_to(top).as_posix())  # the audit log is UTF-8
    # named like the release it undoes (output, output_sha256), so the two can be matched
    audit.append("outbox-cleaned", output=relative, output_sha256=digest, age_days=round(age / 86400, 2))
    try:
        os.unlink(name, dir_fd=folder_fd)
    except OSError as exc:
        log.warning("%s: could not be removed: %s", relative, exc.strerror)
        audit.append("outbox-clean-failed", output=relative, reason=exc.strerror)
        return None
    return Cleaned(relative, digest, age / 86400)
