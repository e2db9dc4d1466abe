"""Which files in the inbox are candidates: not the litter of desktops, Office or copy tools."""

from __future__ import annotations

import os
import re
from pathlib import Path

_IGNORED_NAMES = {"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", "icon\r"}
_IGNORED = re.compile(
    r"^(~\$.*|\.~lock\..*#|\.cdr-.*|\._.*|~.*\.tmp|\..+\.[A-Za-z0-9]{6})$"  # Office locks, rsync temps
    r"|.*\.(tmp|part|partial|crdownload|download|filepart|!ut|swp|sb-[0-9a-f]+-\w+)$",  # copy tools
    re.I,
)


def ignored(name: str) -> bool:
    """Lock files, desktop litter and the temporary names copy tools write under."""
    return name.lower() in _IGNORED_NAMES or bool(_IGNORED.match(name))


def inbox_files(inbox: Path) -> list[Path]:
    """Every candidate in the inbox, oldest first; folders are departments, never claimed."""
    found = []
    for root, dirs, files in os.walk(inbox):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not ignored(name):
                found.append(Path(root) / name)
    return sorted(found, key=lambda p: _mtime(p))


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except FileNotFoundError:
        return 0.0
