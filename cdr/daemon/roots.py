"""The shared roots (inbox, outbox): there, still mounted, or waited for — never made anew."""

from __future__ import annotations

import os
from pathlib import Path

from cdr.errors import ConfigError, FolderMissing


def missing_roots(**roots: Path) -> list[str]:
    """Which of the shared folders (inbox, outbox) are gone — an unmounted share, usually."""
    return [f"{what} {path}" for what, path in roots.items() if not path.is_dir()]


class SharedRoots:
    """The inbox and outbox as a long-running process first found them.

    A share that is unmounted usually leaves its mount point behind as an empty local
    folder; one that was a mount point when first seen and is no longer one counts as
    missing, so nothing is released into a folder nobody on the other side can see.
    """

    def __init__(self, **roots: Path) -> None:
        self.roots = roots
        self.mounted: dict[str, bool] = {}

    def missing(self) -> list[str]:
        gone = []
        for what, path in self.roots.items():
            if not path.is_dir():
                gone.append(f"{what} {path}")
                continue
            mounted = os.path.ismount(path)
            if self.mounted.setdefault(what, mounted) and not mounted:
                gone.append(f"{what} {path} (no longer mounted)")
        return gone


def require_roots(**roots: Path) -> None:
    """Refuse to work on a missing inbox or outbox root instead of creating an empty one."""
    missing = missing_roots(**roots)
    if missing:
        raise FolderMissing(
            f"the {' and the '.join(missing)} does not exist (an unmounted share?); "
            "it is not created here — mount it or create it, then start again"
        )


def same_filesystem(inbox: Path, spool: Path) -> None:
    """The spool may be created; the inbox, a share, must already be there."""
    require_roots(inbox=inbox)
    spool.mkdir(parents=True, exist_ok=True)
    if inbox.stat().st_dev != spool.stat().st_dev:
        raise ConfigError(
            f"the inbox ({inbox}) and the spool ({spool}) must be on one file system: "
            "files are claimed by an atomic rename"
        )

