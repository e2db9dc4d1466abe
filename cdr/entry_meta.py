"""An entry's meta.json, read quickly: what `cdr quarantine list` reads ten thousand times.

Kept apart from cdr.quarantine (which brings the notices and the policy with it), so that a
listing starts without importing what it does not use.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

META = "meta.json"


def read_meta(path: Path | str) -> dict[str, Any] | None:
    """An entry's meta.json (None if it is not there), in one read when it is small."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return json.loads(_read_all(fd))
    finally:
        os.close(fd)


def _read_all(fd: int, block: int = 1 << 16) -> bytes:
    """A regular file's bytes: a short read is its end, so a small meta.json is one read."""
    chunks = [os.read(fd, block)]
    while len(chunks[-1]) == block:
        chunks.append(os.read(fd, block))
    return b"".join(chunks)
