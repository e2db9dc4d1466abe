"""The end of one file's life: released into the outbox, or quarantined with a notice to
the sender — audited either way, and always under the policy the file ran with (the
``Trail``'s), never one a SIGHUP swapped in while the file was on its way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from cdr.flow import Rebuilt
from cdr.model import Detection, Outcome
from cdr.names import display
from cdr.quarantine import QuarantineStore
from cdr.release import release
from cdr.trail import Trail

log = logging.getLogger(__name__)

# Told the released name, the output's hash and the inode its published name will have,
# just before the link, so that crash recovery can find a release that happened just before
# a kill — this job's, not an identical file another job released (cdr.daemon).
OnIntent = Callable[[PurePosixPath, str, int], None]


@dataclass(frozen=True)
class Finish:
    outbox: Path
    quarantine: QuarantineStore

    def release(self, rebuilt: Rebuilt, trail: Trail, on_intent: OnIntent | None = None) -> None:
        """Publish the verified output atomically; the verdict's release fields follow."""
        verdict = trail.verdict
        digest = hashlib.sha256()  # of the bytes copied into the outbox, in the same pass
        before_link = None
        if on_intent is not None:
            intent = on_intent

            def before_link(temp: os.stat_result) -> None:
                intent(rebuilt.name, digest.hexdigest(), temp.st_ino)

        final = release(rebuilt.path, self.outbox, rebuilt.name, verdict.id, before_link, digest.update)
        output_sha = digest.hexdigest()
        verdict.verdict = Outcome.RELEASED
        verdict.output = str(self.outbox / final)
        verdict.output_sha256 = output_sha
        # the final record commits the file's earlier ones with it: one audit fsync per file
        trail.step("released", output=str(final), output_sha256=output_sha, type=verdict.type)

    def quarantine_file(
        self,
        fd: int | None,
        rel: PurePosixPath,
        trail: Trail,
        detection: Detection | None = None,
        store: bool = True,
        notify: bool = True,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Keep the original (``fd``, when it could be read) with the reason already on the
        verdict, and leave a notice in the outbox. ``store=False`` (an admin's re-run of an
        entry that is already kept) only records the rejection."""
        verdict = trail.verdict
        log.info(
            "quarantine %s: %s (%s)", display(verdict.input), verdict.reason, display(verdict.message or "")
        )
        if not store:
            trail.step("rejected", reason=verdict.reason, message=verdict.message)
            return
        meta = {
            "reason": verdict.reason,
            "message": verdict.message,
            "input": verdict.input,
            "relative": str(rel),
            "sha256": verdict.sha256,
            "size": verdict.size,
            "type": verdict.type,
            "mime": detection.mime if detection else None,
            "findings": verdict.findings,
            "file_id": verdict.id,
            "policy": trail.policy.name,
            "policy_sha256": trail.policy.sha256,
            "contact": trail.policy.notice.contact,  # a notice written after a crash names it too
            "retention": trail.policy.quarantine.retention,  # what the notice promises (cdr.notices)
            # where it was headed, so a later release goes there by default (a batch run's
            # entry to the batch outbox, where its notice and its staff are)
            "outbox": str(self.outbox.absolute()),
            "quarantined_at": time.time(),
            **(extra or {}),
        }
        self.quarantine.store(verdict.id, fd, meta)
        verdict.quarantine_id = verdict.id
        notice = None
        if notify:
            # None while the outbox cannot take it: the store keeps it owed (cdr/quarantine.py)
            notice = self.quarantine.notify(verdict.id, self.outbox, trail.policy.notice.contact)
        trail.step(
            "quarantined",
            quarantine_id=verdict.id,
            reason=verdict.reason,
            message=verdict.message,
            notice=str(notice) if notice else None,
            type=verdict.type,
        )
