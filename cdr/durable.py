"""Writes that survive a crash: a file is whole or absent, and its folder entry is on disk.

The one way this appliance writes a file someone else may read: the bytes go to a file
beside the target, which is flushed, given its permissions and fsync'd before it gets
its name — by ``rename`` where the name is ours to replace (meta.json, a pending record,
the audit head), by ``link`` where a name already taken belongs to somebody else (the
outbox). Whoever needs the new name itself to survive a power cut fsyncs the folder too.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO


def fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def durable_file(path: Path, mode: int | None = None, sync: bool = True) -> Iterator[BinaryIO]:
    """``path`` opened to write; when the block ends it is flushed, given ``mode`` (else the
    umask's) and fsync'd. If the block fails the file is removed: a full disk leaves nothing."""
    try:
        with open(path, "wb") as handle:
            yield handle
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            if sync:
                os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def replace_file(
    path: Path, data: bytes, mode: int | None = None, sync_folder: bool = False, sync: bool = True
) -> None:
    """``path`` holds ``data`` whole or what it held before, never a mix: temp, fsync, rename.
    ``sync=False`` is for what is rewritten every second and worthless after a power cut (the
    daemon's heartbeat): whole or old still, but no disk flush stalls the writer."""
    temp = path.with_name(path.name + ".tmp")
    with durable_file(temp, mode, sync) as handle:
        handle.write(data)
    os.replace(temp, path)
    if sync_folder:
        fsync_dir(path.parent)


def write_json(
    path: Path, data: dict[str, Any], indent: int | None = None, sync_folder: bool = False, sync: bool = True
) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=indent) + "\n"
    replace_file(path, text.encode("utf-8"), sync_folder=sync_folder, sync=sync)


def link_noreplace(temp: Path, target: Path) -> bool:
    """Give ``temp`` the name ``target`` unless that name is taken (then False, ``temp`` stays).

    ``link`` fails rather than overwrite. A file system without hard links (some SMB shares)
    gets a look and a rename, the closest it allows. The folder is fsync'd, so a released
    name survives a power cut.
    """
    try:
        os.link(temp, target)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno != errno.EPERM:
            raise
        if target.exists():
            return False
        os.rename(temp, target)
    else:
        os.unlink(temp)
    fsync_dir(target.parent)
    return True
