"""Is a process still there? Asked of a pid written down earlier (a work folder, the status file)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True while ``pid`` names a process, ours or another user's (signal 0 only asks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # there, but not ours to signal
    return True
