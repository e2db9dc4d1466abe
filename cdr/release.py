"""Atomic release into the outbox.

The bytes go to a hidden temp file in the destination folder (Samba hides dot files by
default), are fsync'd, and are then linked to the final name — ``link`` fails rather than
overwrite, so a collision takes the next free ``name (2).ext``. The folder is fsync'd
last. The outbox never shows a partial file, and nothing in it is executable.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from cdr.durable import durable_file, link_noreplace
from cdr.errors import FolderMissing, OperationalError

MAX_COLLISIONS = 10_000
COPY_CHUNK = 1 << 20
FILE_MODE = 0o644


def temp_name(file_id: str) -> str:
    return f".cdr-{file_id}.partial"


def candidates(relative: PurePosixPath) -> Iterator[PurePosixPath]:
    """``a.pdf``, then ``a (2).pdf``, ``a (3).pdf``, … (lazily: almost always the first fits)."""
    yield relative
    stem, suffix = relative.stem, relative.suffix
    for number in range(2, MAX_COLLISIONS):
        yield relative.with_name(f"{stem} ({number}){suffix}")


def destination(outbox: Path, relative: PurePosixPath) -> Path:
    """The folder ``relative`` goes into, department folders created — never the outbox itself.

    An outbox that is missing is a share that went away; creating it would publish files
    into a local folder nobody on the LGWAN side sees.
    """
    if not outbox.is_dir():
        raise FolderMissing(
            f"the outbox {outbox} does not exist (an unmounted share?); it is not created here"
        )
    folder = (outbox / relative).parent
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def publish(temp: Path, outbox: Path, relative: PurePosixPath) -> PurePosixPath:
    """Give ``temp`` its final name without overwriting anything; returns that name.

    The temp file is gone afterwards either way: named, or removed when no name could be had.
    """
    try:
        for candidate in candidates(relative):
            if link_noreplace(temp, outbox / candidate):
                return candidate
        raise OperationalError(f"{outbox / relative}: too many files with this name")
    finally:
        temp.unlink(missing_ok=True)


def release(
    source: Path,
    outbox: Path,
    relative: PurePosixPath,
    file_id: str,
    before_link: Callable[[os.stat_result], None] | None = None,
    on_chunk: Callable[[bytes], None] | None = None,
) -> PurePosixPath:
    """``source`` copied into the outbox under ``relative`` (or the next free name).

    ``before_link`` is shown the finished temp file's stat just before it is linked: its
    inode is the one the published name will have, so crash recovery can tell this job's
    release from an identical file another job released (cdr.daemon.claim). ``on_chunk``
    sees the bytes as they are copied (the caller hashes what is released in the same pass)."""
    temp = destination(outbox, relative) / temp_name(file_id)
    with source.open("rb") as src, durable_file(temp, FILE_MODE) as dst:
        if on_chunk is None:
            shutil.copyfileobj(src, dst, COPY_CHUNK)
        else:
            while chunk := src.read(COPY_CHUNK):
                on_chunk(chunk)
                dst.write(chunk)
    if before_link is not None:
        before_link(temp.stat())
    return publish(temp, outbox, relative)


def remove_partials(outbox: Path) -> int:
    """Crash recovery: temp files left by an interrupted release are deleted."""
    removed = 0
    if not outbox.is_dir():
        return removed
    for temp in outbox.rglob(".cdr-*.partial"):
        temp.unlink(missing_ok=True)
        removed += 1
    return removed
