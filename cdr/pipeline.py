"""One file through the whole flow: identify → decide → sanitize → verify → release,
or quarantine. Every step is audited; every untrusted parse happens in the sandbox.

The parent only opens, hashes and copies bytes. Nothing here copies input bytes to the
outbox: what is released is always the sanitizer's output, verified by a second child.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pikepdf

from cdr import wire
from cdr.audit import AuditLog
from cdr.converters.libreoffice import LibreOffice
from cdr.decide import decide
from cdr.errors import (
    BadAnswer,
    CdrError,
    Encrypted,
    InputUnreadable,
    LimitExceeded,
    NotRegularFile,
    SanitizeError,
    WrongPassword,
)
from cdr.model import (
    Action,
    Decision,
    Detection,
    FileType,
    Finding,
    Outcome,
    SanitizeResult,
    Verdict,
)
from cdr.names import display, new_id, safe_relative, with_extension
from cdr.policy import Policy
from cdr.quarantine import QuarantineStore
from cdr.release import release
from cdr.sandbox import Sandbox, SandboxPool, sealed_copy
from cdr.types import DECRYPTABLE, row
from cdr.verify import verify_output

log = logging.getLogger(__name__)

# Excel encrypts "read-only recommended" workbooks with this well-known password; Excel
# opens them without asking, so we do too (policy office.default_password_unlock).
DEFAULT_EXCEL_PASSWORD = "VelvetSweatshop"


@dataclass
class Places:
    outbox: Path
    quarantine: Path
    audit: Path
    work: Path | None = None  # where sanitizer outputs are written before release


@dataclass
class _Run:
    """What one file's trip through the flow carries from step to step."""

    sandbox: Sandbox
    cleanup: ExitStack
    rel: PurePosixPath
    verdict: Verdict
    policy: Policy
    policy_json: dict[str, Any]
    detection: Detection | None = None


def _sha256_fd(fd: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    os.lseek(fd, 0, os.SEEK_SET)
    while chunk := os.read(fd, 1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _snapshot(fd: int, verdict: Verdict, size_limit: int) -> int:
    """Hash the spooled file and, within the size limit, copy it into a sealed memfd that
    every job and the quarantine then read instead (the spooled file is closed): the bytes
    hashed are the bytes judged and kept, and no job can write to them."""
    if os.fstat(fd).st_size > size_limit:
        verdict.sha256, verdict.size = _sha256_fd(fd)
        return fd
    digest = hashlib.sha256()
    try:
        copy = sealed_copy(fd, digest.update)
    finally:
        os.close(fd)
    verdict.sha256, verdict.size = digest.hexdigest(), os.fstat(copy).st_size
    return copy


def _hold_to_decision(action: Action, result: SanitizeResult, decision: Decision) -> None:
    """The child that sanitized early applied the same pure ``decide``: an answer with
    another action or output type than the parent's decision is a lie, not a variant."""
    promised = {decision.output_type}
    if decision.output_type in (FileType.TEXT, FileType.CSV):
        promised = {FileType.TEXT, FileType.CSV}  # a text file may turn out to be a table
    if action != decision.action or (
        decision.output_type not in (None, FileType.UNKNOWN) and result.output_type not in promised
    ):
        raise BadAnswer(
            f"the child answered {action.value} to {result.output_type.value}; "
            f"the decision was {decision.action.value}"
        )


def open_untrusted(path: Path) -> int:
    """Open for reading without following a link or blocking on a FIFO or device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (40, 6):  # ELOOP (a symlink), ENXIO (a socket)
            raise NotRegularFile("links, devices and sockets are refused") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegularFile("only regular files are accepted")
    os.set_blocking(fd, True)
    return fd


def _open_input(source: Path) -> int:
    """The file to process; one that cannot be opened or read now is an operational failure."""
    try:
        fd = open_untrusted(source)
    except OSError as exc:
        raise InputUnreadable(f"cannot read the file: {exc.strerror or exc}") from None
    try:
        os.pread(fd, 1, 0)  # a read error (EIO, a share gone stale) shows here, not mid-parse
    except OSError as exc:
        os.close(fd)
        raise InputUnreadable(f"cannot read the file: {exc.strerror or exc}") from None
    return fd


class Pipeline:
    def __init__(self, policy: Policy, places: Places, pool: SandboxPool, notices: bool = True) -> None:
        self.policy = policy
        self.places = places
        self.notices = notices
        self.audit = AuditLog(places.audit, policy.name, policy.sha256)
        self.quarantine = QuarantineStore(places.quarantine)
        self.pool = pool  # the caller's: it closes the pool after the pipeline
        self.converter = LibreOffice(places.work, policy)
        self._policy_json = policy.to_json()
        self.sandbox_layers = ""

    def start(self) -> None:
        self.sandbox_layers = self.pool.start()

    def close(self) -> None:
        self.converter.close()
        if self.places.work is not None:
            shutil.rmtree(self.places.work, ignore_errors=True)  # scratch only: outputs were released
        self.audit.close()

    def set_policy(self, policy: Policy) -> None:
        """Swap the policy (SIGHUP); jobs already running finish under the old one."""
        self.policy = policy
        self._policy_json = policy.to_json()
        self.converter.policy = policy
        self.audit.policy_name, self.audit.policy_sha256 = policy.name, policy.sha256

    # ----------------------------------------------------------------- the flow
    def process(
        self,
        source: Path,
        relative: str,
        file_id: str | None = None,
        password: str | None = None,
        store_failures: bool = True,
        extra: dict[str, Any] | None = None,
        on_intent: Callable[[PurePosixPath, str], None] | None = None,
    ) -> Verdict:
        """Run one file to its verdict. Raises only CdrError for operational failures
        (unwritable outbox, audit log); everything about the file itself ends in a verdict."""
        started = time.monotonic()
        file_id = file_id or new_id()
        policy, policy_json = self.policy, self._policy_json
        rel = safe_relative(relative)
        verdict = Verdict(file_id, relative, "", 0, None, Outcome.QUARANTINED)
        fd: int | None = None
        run: _Run | None = None
        try:
            fd = _snapshot(_open_input(source), verdict, policy.limits.max_file_size)
            self._audit(verdict, "received", size=verdict.size, **(extra or {}))
            if verdict.size > policy.limits.max_file_size:
                raise LimitExceeded(
                    f"{verdict.size} bytes is over the limit of {policy.limits.max_file_size}"
                )
            with self.pool.lease() as sandbox, ExitStack() as cleanup:
                run = _Run(sandbox, cleanup, rel, verdict, policy, policy_json)
                out_path, out_rel = self._flow(run, fd, password)
                with open(out_path, "rb") as released:
                    output_sha = hashlib.file_digest(released, "sha256").hexdigest()
                if on_intent is not None:
                    on_intent(out_rel, output_sha)  # crash recovery finds the release by this
                final = release(out_path, self.places.outbox, out_rel, file_id)
            verdict.verdict = Outcome.RELEASED
            verdict.output = str(self.places.outbox / final)
            verdict.output_sha256 = output_sha
            self._audit(verdict, "released", output=str(final), output_sha256=output_sha, type=verdict.type)
        except SanitizeError as exc:
            verdict.reason, verdict.message = exc.reason, str(exc)
            self._quarantine(fd, rel, verdict, run.detection if run else None, store_failures, extra)
        except (CdrError, OSError):
            raise  # operational (disk full, unwritable outbox): the file waits and is retried
        except Exception as exc:  # noqa: BLE001 - a bug or a malformed answer from a child
            # Fail closed on this one file; the daemon goes on with the next.
            log.exception("internal error on %s", display(relative))
            verdict.reason, verdict.message = "internal-error", f"{type(exc).__name__}: {str(exc)[:300]}"
            self._quarantine(fd, rel, verdict, run.detection if run else None, store_failures, extra)
        finally:
            if fd is not None:
                os.close(fd)
            verdict.duration_ms = int((time.monotonic() - started) * 1000)
        return verdict

    def refuse(self, relative: str, file_id: str, why: str) -> Verdict:
        """A link, FIFO or device taken from the inbox: recorded, never opened for reading."""
        verdict = Verdict(
            file_id,
            relative,
            "",
            0,
            None,
            Outcome.QUARANTINED,
            reason=NotRegularFile.reason,
            message=f"refused: {why}",
        )
        self._audit(verdict, "received", refused=why)
        self._quarantine(None, safe_relative(relative), verdict, None, True, None)
        return verdict

    def give_up(self, source: Path | None, relative: str, file_id: str, cause: str) -> Verdict:
        """An operational failure that outlasted its retries: quarantined as
        ``operational-error`` with the real cause; the original is kept if it can be read."""
        verdict = Verdict(file_id, relative, "", 0, None, Outcome.QUARANTINED)
        verdict.reason, verdict.message = InputUnreadable.reason, cause
        fd = None
        if source is not None:
            try:
                fd = open_untrusted(source)
                verdict.sha256, verdict.size = _sha256_fd(fd)
            except (OSError, NotRegularFile):
                if fd is not None:
                    os.close(fd)
                fd = None  # unreadable still: the entry records the cause without the bytes
        try:
            self._quarantine(fd, safe_relative(relative), verdict, None, True, None)
        finally:
            if fd is not None:
                os.close(fd)
        return verdict

    def _flow(self, run: _Run, fd: int, password: str | None, depth: int = 0) -> tuple[Path, PurePosixPath]:
        """identify → [decrypt] → decide → [convert] → sanitize → verify; the output to release.

        Identifying and sanitizing share one child when nothing needs the parent in between
        (the child applies the same pure ``decide``; the parent decides again from the
        child's detection and uses the result only if both agree).
        """
        out_path, out_fd = run.cleanup.enter_context(self._work_file())
        early = self._identify(run, fd, out_fd, password)
        detection = run.detection
        assert detection is not None
        if detection.encrypted and detection.file_type in DECRYPTABLE and depth == 0:
            key = password
            if key is None and run.policy.office.default_password_unlock:
                key = DEFAULT_EXCEL_PASSWORD
            if key is not None:
                return self._flow(run, self._decrypt(run, fd, key, password is None), None, depth + 1)
        decision = decide(detection, run.policy, have_password=password is not None)
        self._audit(
            run.verdict,
            "decided",
            action=decision.action.value,
            output_type=decision.output_type.value if decision.output_type else None,
        )
        if early is not None:
            _hold_to_decision(*early, decision)
            result = early[1]
            self._record_sanitized(run, decision, result)
        else:
            source_fd, file_type, found_before = fd, decision.file_type, []
            if row(file_type).converter is not None:
                found_before = self._analyse(run, fd)
                source_fd, file_type = self._convert(run, fd, file_type)
            out_path, out_fd = run.cleanup.enter_context(self._work_file())
            result = self._sanitize(
                run, source_fd, out_fd, Decision(decision.action, file_type, decision.output_type), password
            )
            if found_before:
                # What oletools saw in the original is gone from the verified output: say so.
                run.verdict.actions[:0] = [
                    {"what": f.kind, "action": "removed", "count": f.count} for f in found_before
                ]
        if decision.action == Action.PIXELS:
            # The parent's decision, not the child's word: the child wrote raw pixel rows
            # (or anything else, which assembling refuses) and this process builds the PDF.
            raw_path = out_path
            out_path, out_fd = run.cleanup.enter_context(self._work_file())
            self._assemble_pixels(run.sandbox, raw_path, out_path, out_fd, run.policy, run.verdict)
        promised = decision.output_type if decision.output_type not in (None, FileType.UNKNOWN) else None
        info = row(promised or result.output_type)
        out_rel = with_extension(run.rel, info.extension, info.aliases)
        verify_output(run.sandbox, out_fd, out_rel.name, decision, result, run.policy, run.policy_json)
        self._audit(run.verdict, "verified", output_type=result.output_type.value)
        return out_path, out_rel

    def _decrypt(self, run: _Run, fd: int, password: str, is_default: bool) -> int:
        plain_path, plain_fd = run.cleanup.enter_context(self._work_file())
        try:
            run.sandbox.run("decrypt", {"password": password}, [fd, plain_fd], run.policy.limits)
        except WrongPassword:
            if is_default:
                raise Encrypted(
                    "the document is encrypted; an administrator can unlock it with the "
                    "password (cdr quarantine unlock)"
                ) from None
            raise
        # the password itself is never written; only that one was used
        self._audit(run.verdict, "decrypted", default_password=is_default)
        return plain_fd

    def _analyse(self, run: _Run, fd: int) -> list[Finding]:
        """oletools' view of a legacy document before conversion (macros, objects, DDE)."""
        answer: wire.InspectAnswer = run.sandbox.run(
            "inspect", {"name": run.rel.name, "policy": run.policy_json}, [fd], run.policy.limits
        )
        findings = list(answer.findings)
        self._audit(
            run.verdict,
            "analysed",
            findings=[f.to_json() for f in findings],
        )
        return findings

    def _convert(self, run: _Run, fd: int, file_type: FileType) -> tuple[int, FileType]:
        path, converted = self.converter.convert(fd, file_type)
        run.cleanup.callback(shutil.rmtree, path.parent.parent, True)
        converted_fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        run.cleanup.callback(os.close, converted_fd)
        self._audit(run.verdict, "converted", converter="libreoffice", to=converted.value)
        return converted_fd, converted

    def _audit(self, verdict: Verdict, event: str, **fields: Any) -> None:
        """One step of this file's life in the audit log."""
        self.audit.append(event, verdict.id, verdict.input, verdict.sha256, **fields)

    def _identify(
        self, run: _Run, fd: int, out_fd: int, password: str | None
    ) -> tuple[Action, SanitizeResult] | None:
        """Identify in a child that also sanitizes when it may; the early result, if any."""
        params: dict[str, Any] = {"name": run.rel.name, "policy": run.policy_json}
        if password is not None:
            params["password"] = password  # crosses the socket only; never logged
        answer: wire.ProcessAnswer = run.sandbox.run("process", params, [fd, out_fd], run.policy.limits)
        detection = answer.detection
        run.detection = detection
        run.verdict.type = detection.file_type.value
        run.verdict.findings = [f.to_json() for f in detection.findings]
        self._audit(
            run.verdict,
            "identified",
            type=detection.file_type.value,
            mime=detection.mime,
            encrypted=detection.encrypted,
            findings=run.verdict.findings,
        )
        if answer.refused is not None:  # the sanitizer refused the file: same codes as a failed child
            raise answer.refused
        if answer.action is None or answer.result is None:
            return None
        return answer.action, answer.result

    def _sanitize(
        self, run: _Run, fd: int, out_fd: int, decision: Decision, password: str | None
    ) -> SanitizeResult:
        params = {
            "file_type": decision.file_type.value,
            "action": decision.action.value,
            "name": run.rel.name,
            "policy": run.policy_json,
        }
        if password is not None:
            params["password"] = password  # crosses the socket only; never logged
        result: SanitizeResult = run.sandbox.run("sanitize", params, [fd, out_fd], run.policy.limits)
        self._record_sanitized(run, decision, result)
        return result

    def _record_sanitized(self, run: _Run, decision: Decision, result: SanitizeResult) -> None:
        run.verdict.actions = [{"what": a.what, "action": a.action, "count": a.count} for a in result.actions]
        self._audit(
            run.verdict,
            "sanitized",
            action=decision.action.value,
            output_type=result.output_type.value,
            actions=run.verdict.actions,
        )

    def _assemble_pixels(
        self, sandbox: Sandbox, raw_path: Path, pdf_path: Path, pdf_fd: int, policy: Policy, verdict: Verdict
    ) -> None:
        """Build the 画像化 PDF in this process from the child's bounds-checked pixels."""
        from cdr.converters.pixels import assemble

        with os.fdopen(os.dup(pdf_fd), "wb") as handle:
            pages = assemble(raw_path, handle, policy)
        if policy.pdf.ocr:
            from cdr.converters.ocr import add_text_layer

            try:
                add_text_layer(sandbox, raw_path, pdf_path, pages, policy)
            except BadAnswer:
                raise  # a lying child costs the file, as anywhere else
            except (SanitizeError, OSError, pikepdf.PdfError) as exc:
                # The image PDF is safe without it; say so instead of failing the file.
                log.warning("ocr failed for %s: %s", display(verdict.input), exc)
                verdict.actions.append({"what": "ocr-text-layer", "action": "failed", "count": 1})
            else:
                verdict.actions.append({"what": "ocr-text-layer", "action": "added", "count": len(pages)})

    @contextmanager
    def _work_file(self) -> Iterator[tuple[Path, int]]:
        work = self.places.work
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="out-", dir=work)
        try:
            yield Path(name), fd
        finally:
            os.close(fd)
            os.unlink(name)

    def _quarantine(
        self,
        fd: int | None,
        rel: PurePosixPath,
        verdict: Verdict,
        detection: Detection | None,
        store: bool,
        extra: dict[str, Any] | None,
    ) -> None:
        log.info(
            "quarantine %s: %s (%s)", display(verdict.input), verdict.reason, display(verdict.message or "")
        )
        if not store:
            self._audit(verdict, "rejected", reason=verdict.reason, message=verdict.message)
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
            "policy": self.policy.name,
            "policy_sha256": self.policy.sha256,
            "quarantined_at": time.time(),
            **(extra or {}),
        }
        self.quarantine.store(verdict.id, fd, meta)
        verdict.quarantine_id = verdict.id
        notice = None
        if self.notices:
            # None while the outbox cannot take it: the store keeps it owed (cdr/quarantine.py)
            notice = self.quarantine.notify(verdict.id, self.places.outbox, self.policy.notice.contact)
        self._audit(
            verdict,
            "quarantined",
            quarantine_id=verdict.id,
            reason=verdict.reason,
            message=verdict.message,
            notice=str(notice) if notice else None,
            type=verdict.type,
        )
