"""What `cdr quarantine list` shows of each entry, kept beside the entries so that ten
thousand of them are listed without reading ten thousand meta.json files.

``<store>/.list-rows.json`` holds, for each entry, the few fields of its row (when, status,
reason, type, name) with the device, inode, size, mtime and ctime its meta.json had when
they were read. A listing stats each meta.json and reads again only those that changed —
meta.json is always replaced by a rename, which sets a ctime no one can set back (a freed
inode is handed to the next file, and a coarse clock stamps two updates in one tick alike,
so inode, size and mtime alone can repeat) — and the file is written again when anything
changed. An entry whose meta.json cannot be read is one row saying so (``DAMAGED``). It is a cache: unreadable, damaged or not writable, it is
rebuilt or left, and the listing is the same.

The folder belongs to the service user and the listing may run as root: the file is read
only if it is a regular file, and written through a new temporary name (never following a
link someone put there) renamed into place, given to the folder's owner.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from cdr.entry_meta import DAMAGED, META, DamagedMeta, read_meta
from cdr.names import valid_id

ROWS = ".list-rows.json"
SHOWN = ("quarantined_at", "status", "reason", "type", "input")  # what a row of the table needs


def listed(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """Each entry's ID and the fields of its row, in ID order (the order they came in)."""
    try:
        names = sorted(name for name in os.listdir(root) if valid_id(name))
    except (FileNotFoundError, NotADirectoryError):
        return []
    kept = _load(root / ROWS)
    rows: dict[str, list[Any]] = {}
    changed = False
    for name in names:
        meta_file = os.path.join(root, name, META)
        try:
            info = os.stat(meta_file)
        except (FileNotFoundError, NotADirectoryError):
            continue  # being deleted, or not an entry
        key = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]
        row = kept.get(name)
        if not (isinstance(row, list) and len(row) == 6 and row[:5] == key and isinstance(row[5], dict)):
            try:
                meta = read_meta(meta_file)
            except DamagedMeta:
                meta = {"status": "quarantined", "reason": DAMAGED}
            if meta is None:
                continue  # removed between the stat and the read
            row, changed = [*key, {k: meta.get(k) for k in SHOWN}], True
        rows[name] = row
    if changed or rows.keys() != kept.keys():
        _save(root, rows)
    return [(name, row[5]) for name, row in rows.items()]


def _load(path: Path) -> dict[str, Any]:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        with os.fdopen(os.dup(fd), "rb") as handle:
            found = json.loads(handle.read())
    except (OSError, ValueError):
        return {}
    finally:
        os.close(fd)
    return found if isinstance(found, dict) else {}


def _save(root: Path, rows: dict[str, list[Any]]) -> None:
    """Whole or not at all, best effort: a listing never fails for its cache."""
    temp = root / f"{ROWS}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o640)
    except OSError:
        return  # not ours to write (a reader without the right): listed all the same
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(json.dumps(rows, ensure_ascii=False, separators=(",", ":")).encode())
            if os.geteuid() == 0:  # root listing: the file stays the service's to rewrite
                owner = os.stat(root)
                os.fchown(handle.fileno(), owner.st_uid, owner.st_gid)
        os.replace(temp, root / ROWS)
    except OSError:
        with contextlib.suppress(OSError):
            temp.unlink()
