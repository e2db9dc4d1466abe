"""Copying what a descriptor holds: hashing a spooled file, sealing it, keeping it in the
quarantine, handing it to a converter. One loop, so every copy reads the same way."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

COPY_CHUNK = 1 << 20


def copy_fd(source: int, sink: Callable[[bytes], object]) -> int:
    """Feed ``source``'s bytes, from its first, to ``sink`` a chunk at a time; the byte count.

    ``pread`` leaves the descriptor's offset alone, so a descriptor shared by several
    steps (hash, seal, quarantine) reads the same whatever ran before."""
    offset = 0
    while chunk := os.pread(source, COPY_CHUNK, offset):
        sink(chunk)
        offset += len(chunk)
    return offset


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` may write less than asked (a pipe, a signal): go on until all is written."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def sha256_fd(fd: int) -> tuple[str, int]:
    """The SHA-256 and size of everything ``fd`` holds."""
    digest = hashlib.sha256()
    size = copy_fd(fd, digest.update)
    return digest.hexdigest(), size
