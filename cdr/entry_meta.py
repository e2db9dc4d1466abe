"""An entry's meta.json, read quickly: what `cdr quarantine list` reads ten thousand times.

Kept apart from cdr.quarantine (which brings the notices and the policy with it), so that a
listing starts without importing what it does not use.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

META = "meta.json"
DAMAGED = "damaged-entry"  # the reason shown for an entry whose meta.json cannot be read


class DamagedMeta(ValueError):
    """A meta.json that is not a readable JSON object in a regular file: a power cut in an
    old version, an edit by hand, or something put in its place (a FIFO, a link)."""

    def __init__(self, path: Path | str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.problem = problem


def read_meta(path: Path | str) -> dict[str, Any] | None:
    """An entry's meta.json (None if it is not there), in one read when it is small.
    Opened without blocking and without following a link, and read only when it is a regular
    file: a FIFO in its place would hang a listing run by root."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:  # ELOOP: a link in its place
        raise DamagedMeta(path, str(exc.strerror)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise DamagedMeta(path, "not a regular file")
        try:
            meta = json.loads(_read_all(fd))
        except ValueError:  # not UTF-8 or not JSON
            raise DamagedMeta(path, "not JSON") from None
    finally:
        os.close(fd)
    if not isinstance(meta, dict):
        raise DamagedMeta(path, "not a JSON object")
    return meta


def _read_all(fd: int, block: int = 1 << 16) -> bytes:
    """A regular file's bytes: a short read is its end, so a small meta.json is one read."""
    chunks = [os.read(fd, block)]
    while len(chunks[-1]) == block:
        chunks.append(os.read(fd, block))
    return b"".join(chunks)
