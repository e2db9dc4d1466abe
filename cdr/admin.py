"""What an administrator does to the quarantine: re-run an entry, hand over its original,
unlock it with a password, delete it, purge old entries.

Every operation is audited with who did it (the login name) and the entry's meta.json
says what became of it. The original leaves only through ``release_original`` — the one
path that copies input bytes out (DESIGN invariant 10) — which needs a reason, and whose
audit record names the real type found by content. A password given to unlock is used
once and never written anywhere. The CLI parses and prints; these functions decide and
write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdr.audit import AuditLog
from cdr.config import Settings
from cdr.errors import UsageError
from cdr.i18n import _, speaks_japanese
from cdr.model import Category, FileType, Outcome, Verdict
from cdr.names import safe_relative
from cdr.notices import WRONG_PASSWORD, type_words
from cdr.quarantine import Entry, QuarantineStore
from cdr.release import release
from cdr.types import row

if TYPE_CHECKING:
    from cdr.pipeline import Pipeline
    from cdr.policy import Policy

# Opens a pipeline under the configured policy and closes it (and its sandboxes) after.
PipelineFactory = Callable[[], AbstractContextManager["Pipeline"]]


@contextmanager
def open_pipeline(settings: Settings, policy: Policy) -> Iterator[Pipeline]:
    """A started pipeline under ``policy`` for one administrator's action (one sandbox);
    closed, with its sandboxes, after. The CLI and the console both hand it to Admin."""
    from cdr.daemon.claim import work_folder
    from cdr.pipeline import Pipeline, Places
    from cdr.sandbox import SandboxPool

    places = Places(settings.outbox, settings.quarantine, settings.audit, work=work_folder(settings.spool))
    pool = SandboxPool(1, policy.sandbox.isolation)
    try:
        pipeline = Pipeline(policy, places, pool)
        pipeline.start()
        try:
            yield pipeline
        finally:
            pipeline.close()
    finally:
        pool.close()


_PROGRAMS = (Category.EXECUTABLE, Category.SCRIPT)
# A disk image is an archive by category, but Windows mounts an .iso with a double-click
# and shows the programs inside it (the way mark-of-the-web is dodged): a program too. A
# file nothing identified is not known to be harmless (a .chm help file runs its scripts).
# A web page or an SVG picture runs its scripts in the browser that opens it (or as an
# .hta, in mshta with the user's rights): handed over as is, it is a program too.
_PROGRAM_TYPES = frozenset({FileType.DISK_IMAGE, FileType.UNKNOWN, FileType.HTML, FileType.SVG})


def headed_outbox(entry: Entry) -> Path | None:
    """The outbox a held file was headed for when it was held, if it is still there: it is
    released there, beside its notice, where its staff look (a batch run's entry goes to the
    batch outbox, not to the daemon's)."""
    headed = entry.meta.get("outbox")
    return Path(headed) if headed and Path(headed).is_dir() else None


def refuse_original(entry: Entry, reason: str | None, allow_program: bool) -> None:
    """Why the original may not be handed over as asked — said before anyone is asked to
    confirm it (a "yes" to a question that is then refused wastes the administrator's time)."""
    if not reason:
        raise UsageError(_("--original needs --reason TEXT: the reason is written to the audit log"))
    if is_program(entry) and not allow_program:
        refused = _("the original is a program ({type}): add --allow-program to hand it over")
        raise UsageError(refused.format(type=type_said(entry.meta.get("type"))))


def type_said(kind: object) -> str:
    """A held file's real type for the administrator: in words under Japanese
    (実行ファイル（プログラム）), the code under English (executable)."""
    return type_words(str(kind) if kind else None)[0] if speaks_japanese() else str(kind or "unknown")


def is_program(entry: Entry) -> bool:
    """Whether the held original is, by its content, something that runs when opened."""
    kind = entry.meta.get("type")
    if kind is None:  # never identified (refused unread, or unreadable)
        return False
    try:
        file_type = FileType(kind)
        return file_type in _PROGRAM_TYPES or row(file_type).category in _PROGRAMS
    except ValueError:  # a type this version does not know: not known to be harmless
        return True


@dataclass(frozen=True)
class Admin:
    settings: Settings
    user: str  # who, for the audit log and meta.json
    pipeline: PipelineFactory
    via: str = ""  # "console" when done from the web console: said in every record it writes

    @property
    def store(self) -> QuarantineStore:
        return QuarantineStore(self.settings.quarantine)

    def entry(self, qid: str) -> Entry:
        return self.store.get(qid)

    def rerun(self, qid: str, policy_file: Path | None) -> Verdict:
        """The entry through the pipeline again (typically under another ``--policy``)."""
        entry = self.entry(qid)
        self._audit("quarantine-rerun", entry, policy_file=str(policy_file or ""))
        return self._rerun(entry, None, "rerun")

    def unlock(self, entry: Entry, password: str) -> Verdict:
        """The entry decrypted with the password the sender mailed separately, and re-run."""
        if not password:
            raise UsageError(_("no password given"))
        self._audit("unlock", entry)  # the password itself is never written
        return self._rerun(entry, password, "unlock")

    def release_original(
        self, qid: str, reason: str | None, allow_program: bool = False, extra: dict[str, Any] | None = None
    ) -> Path:
        """The original bytes into the outbox, on the administrator's responsibility; a
        program (executable, script, shortcut) only when that is said explicitly too.
        ``extra`` goes into both audit records (the console's requester, approver and texts)."""
        extra = extra or {}
        entry = self.entry(qid)
        refuse_original(entry, reason, allow_program)
        outbox = self.settings.outbox
        self._owe_notice(entry)
        # said before the bytes leave: a crash between the release and its record below must
        # not leave an original in the outbox that the audit log knows nothing about
        self._audit("releasing-original", entry, reason=reason, type=entry.meta.get("type"), **extra)
        final = release(entry.original, outbox, safe_relative(entry.meta.get("relative", "file")), entry.id)
        self._audit(
            "released-original",
            entry,
            reason=reason,
            output=str(final),
            output_sha256=entry.meta.get("sha256"),
            type=entry.meta.get("type"),  # what it really is, whatever its name says
            **extra,
        )
        self.store.update(
            entry.id,
            status="released-original",
            released_as=str(outbox / final),
            released_by=self.user,
            release_reason=reason,
            released_at=time.time(),
            # the console's two people: whose request, and who approved it (the notice names both)
            **{key: extra[key] for key in ("requested_by", "approved_by") if extra.get(key)},
        )
        self._renew_notice(entry.id)
        return outbox / final

    def delete(self, qid: str) -> Entry:
        store = self.store
        entry = store.get(qid)
        store.delete(qid)
        self._audit("quarantine-deleted", entry)
        return entry

    def purge(self, older_than: float) -> list[Entry]:
        """Delete the entries older than ``older_than`` seconds (the retention period)."""
        store = self.store
        old = store.older_than(older_than)
        for entry in old:
            store.delete(entry.id)
            self._audit("quarantine-purged", entry)
        return old

    def _rerun(self, entry: Entry, password: str | None, via: str) -> Verdict:
        self._owe_notice(entry)
        with self.pipeline() as pipeline:
            verdict = pipeline.process(
                entry.original,
                entry.meta.get("relative") or entry.meta["input"],
                password=password,
                store_failures=False,  # it stays the same entry; no second copy of the original
                extra={"from_quarantine": entry.id, "via": via},
            )
        if verdict.verdict == Outcome.RELEASED:
            self.store.update(
                entry.id,
                status="released",
                released_as=verdict.output,
                released_by=self.user,
                release_mode=via,
                released_at=time.time(),
            )
        elif verdict.reason == WRONG_PASSWORD:
            self.store.update(entry.id, notice_reason=WRONG_PASSWORD)  # staff are asked for the right one
        self._renew_notice(entry.id)
        return verdict

    def _owe_notice(self, entry: Entry) -> None:
        """Said before the entry's state changes: a crash before its new notice is shown
        still ends with it shown, by the daemon's or the next batch's delivery of owed notices."""
        self.store.owe_notice(entry.id, self.settings.outbox, entry.meta.get("contact", ""))

    def _renew_notice(self, qid: str) -> None:
        """The notice in the outbox brought in line with the entry: 「…として届けました」 once
        released, the wrong-password notice after a failed unlock; unchanged otherwise."""
        store = self.store
        before = store.get(qid).meta
        store.notify(qid, self.settings.outbox, before.get("contact", ""))
        after = store.get(qid)
        shown = (after.meta.get("notice"), after.meta.get("notice_state"))
        if shown != (before.get("notice"), before.get("notice_state")):
            self._audit("notice-replaced", after, notice=shown[0], replaced=before.get("notice"))

    def _audit(self, event: str, entry: Entry, **fields: Any) -> None:
        audit = AuditLog(self.settings.audit)
        try:
            audit.append(
                event,
                entry.meta.get("file_id"),
                entry.meta.get("input"),
                entry.meta.get("sha256"),
                quarantine_id=entry.id,
                admin=self.user,
                **({"via": self.via} if self.via else {}),
                **fields,
            )
        finally:
            audit.close()
