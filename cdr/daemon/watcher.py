"""The inbox's file-system events (inotify, or polling where events do not reach), as paths to settle."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from cdr.daemon.inbox import ignored, inbox_files

# watchdog holds an unmatched IN_MOVED_FROM for 0.5 s to pair it with its IN_MOVED_TO, and
# every later event queues behind it. Each claim moves a file *out* of the inbox, so each
# claim would delay the next file's events by up to half a second. Both halves of a move
# arrive in one inotify read, so a short window still pairs them.
MOVE_PAIRING_SECONDS = 0.05
_HANDLED = ("created", "modified", "closed", "moved")


class InboxEvents(FileSystemEventHandler):
    """Every file an event names (a folder moved in: every file in it), told to ``touch``."""

    def __init__(self, touch: Callable[[Path], None]) -> None:
        self.touch = touch

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _HANDLED:
            return
        path = Path(os.fsdecode(event.dest_path if event.event_type == "moved" else event.src_path))
        if event.is_directory:
            for found in inbox_files(path) if path.is_dir() else []:
                self.touch(found)
        elif not ignored(path.name):
            self.touch(path)


def new_observer(polling: bool) -> BaseObserver:
    if polling:
        return PollingObserver(timeout=1)
    from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper

    InotifyMoveEventGrouper.delay = MOVE_PAIRING_SECONDS
    return Observer()


def watch_inbox(observer: BaseObserver, inbox: Path, touch: Callable[[Path], None]) -> None:
    """(Re)start watching ``inbox``: a watch on a folder that went away went with it."""
    observer.unschedule_all()
    observer.schedule(InboxEvents(touch), str(inbox), recursive=True)
