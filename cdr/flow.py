"""One file from its spooled bytes to a verified output, in one leased sandbox, under one
policy: identify → [decrypt] → decide → [convert] → sanitize → [assemble pixels / OCR] →
verify. What happens then (release or quarantine) is ``cdr.finish``'s.

The parent only opens, hashes and copies bytes here; every parse of untrusted bytes is a
job in the sandbox. The flow records what it learns on the verdict (type, findings,
actions) and returns a ``Rebuilt``: the verified output and the name to release it as.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pikepdf

from cdr import wire
from cdr.converters.libreoffice import LibreOffice
from cdr.decide import decide
from cdr.errors import BadAnswer, Encrypted, SanitizeError, VerificationFailed, WrongPassword
from cdr.member_conversion import MemberConverter
from cdr.model import HTML_CHARSET, Action, Decision, Detection, FileType, Finding, SanitizeResult, Verdict
from cdr.names import display, with_extension
from cdr.policy import Policy
from cdr.sandbox import Sandbox, sealed_copy
from cdr.trail import Trail
from cdr.types import DECRYPTABLE, row
from cdr.verify import keeps_promise, promised_type, verify_output

log = logging.getLogger(__name__)

# Excel encrypts "read-only recommended" workbooks with this well-known password; Excel
# opens them without asking, so we do too (policy office.default_password_unlock).
DEFAULT_EXCEL_PASSWORD = "VelvetSweatshop"


@dataclass(frozen=True)
class PolicySnapshot:
    """The policy one file runs under from start to end, and the JSON its jobs are sent."""

    policy: Policy
    as_json: dict[str, Any]

    @classmethod
    def of(cls, policy: Policy) -> PolicySnapshot:
        return cls(policy, policy.to_json())


@dataclass(frozen=True)
class Rebuilt:
    """A verified output, still in the work folder (gone when the flow's cleanup closes)."""

    path: Path
    name: PurePosixPath  # relative to the outbox, with the extension of what it now is
    output_type: FileType


@dataclass(frozen=True)
class Tools:
    """What every file's flow borrows: a sandbox leased for this file, the LibreOffice
    converter, and the folder where outputs wait for release."""

    sandbox: Sandbox
    libreoffice: LibreOffice
    work: Path | None


class Flow:
    def __init__(
        self, tools: Tools, snapshot: PolicySnapshot, trail: Trail, rel: PurePosixPath, cleanup: ExitStack
    ) -> None:
        self.tools = tools
        self.policy = snapshot.policy
        self.policy_json = snapshot.as_json
        self.trail = trail
        self.verdict: Verdict = trail.verdict
        self.rel = rel
        self.cleanup = cleanup  # removes every work file and conversion when the file is done
        self.detection: Detection | None = None  # known once identified; the quarantine keeps it
        # why the output holds for this run only (a password opened it, a member was not
        # converted, OCR failed): never kept for another copy of the same bytes (cdr/reuse.py)
        self.one_off: str | None = None

    def run(self, fd: int, password: str | None, depth: int = 0) -> Rebuilt:
        out_path, out_fd = self.cleanup.enter_context(self._work_file())
        # Identify and sanitize share one child when nothing needs the parent in between
        # (no decryption, no conversion): the child applies the same pure ``decide`` and
        # sanitizes at once. Its answer only saves a fork: the parent decides again from the
        # detection, and a result that does not match that decision is a lie (_hold_to_decision).
        early = self._identify(fd, out_fd, password)
        plain_fd = self._unlocked(fd, password) if depth == 0 else None
        if plain_fd is not None:
            return self.run(plain_fd, None, depth + 1)
        decision = self._decide(have_password=password is not None)
        if early is not None:
            _hold_to_decision(*early, decision)
            result = early[1]
            self._record_sanitized(decision, result)
        else:
            out_path, out_fd, result = self._convert_and_sanitize(fd, decision, password)
        if result.details.get("convert"):  # an archive or mail with members the parent must make
            out_path, out_fd, result = self._archive_again(fd, decision, password, result)
        if decision.action == Action.PIXELS and decision.output_type == FileType.PDF:
            # The parent's decision, not the child's word: the child wrote raw pixel rows
            # (or anything else, which assembling refuses) and this process builds the PDF.
            raw_path = out_path
            out_path, out_fd = self.cleanup.enter_context(self._work_file())
            pages = self._assemble_pixels(raw_path, out_fd)
            if self.policy.pdf.ocr:
                out_path, out_fd = self._with_text_layer(raw_path, out_path, out_fd, pages)
        return self._verified(out_path, out_fd, decision, result)

    # ------------------------------------------------------------- the steps
    def _note(self, event: str, **fields: Any) -> None:
        """A step on the way, written without its own fsync: the file's final record
        (``cdr.finish``) commits it with the rest, one fsync per file (cdr/audit.py)."""
        self.trail.step(event, durable=False, **fields)

    def _identify(self, fd: int, out_fd: int, password: str | None) -> tuple[Action, SanitizeResult] | None:
        """Identify in a child that also sanitizes when it may; the early result, if any."""
        params: dict[str, Any] = {"name": self.rel.name, "policy": self.policy_json}
        if password is not None:
            params["password"] = password  # crosses the socket only; never logged
        answer: wire.ProcessAnswer = self.tools.sandbox.run(
            "process", params, [fd, out_fd], self.policy.limits
        )
        detection = answer.detection
        self.detection = detection
        self.verdict.type = detection.file_type.value
        self.verdict.findings = [f.to_json() for f in detection.findings]
        self._note(
            "identified",
            type=detection.file_type.value,
            mime=detection.mime,
            encrypted=detection.encrypted,
            findings=self.verdict.findings,
        )
        if answer.refused is not None:  # the sanitizer refused the file: same codes as a failed child
            raise answer.refused
        if answer.action is None or answer.result is None:
            return None
        return answer.action, answer.result

    def _unlocked(self, fd: int, password: str | None) -> int | None:
        """The decrypted copy of an encrypted Office file, when a password is at hand (the
        administrator's, or Excel's well-known default); None when there is nothing to do."""
        detection = self.detection
        assert detection is not None
        if not (detection.encrypted and detection.file_type in DECRYPTABLE):
            return None
        key = password
        if key is None and self.policy.office.default_password_unlock:
            key = DEFAULT_EXCEL_PASSWORD
        return None if key is None else self._decrypt(fd, key, password is None)

    def _decide(self, have_password: bool) -> Decision:
        assert self.detection is not None
        decision = decide(self.detection, self.policy, have_password=have_password)
        self._note(
            "decided",
            action=decision.action.value,
            output_type=decision.output_type.value if decision.output_type else None,
        )
        return decision

    def _decrypt(self, fd: int, password: str, is_default: bool) -> int:
        _, plain_fd = self.cleanup.enter_context(self._work_file())
        try:
            self.tools.sandbox.run("decrypt", {"password": password}, [fd, plain_fd], self.policy.limits)
        except WrongPassword:
            if is_default:
                raise Encrypted(f"the document is encrypted; {Encrypted.HOW_TO_UNLOCK}") from None
            raise
        # the password itself is never written; only that one was used
        self.one_off = "opened with a password"
        self._note("decrypted", default_password=is_default)
        return plain_fd

    def _convert_and_sanitize(
        self, fd: int, decision: Decision, password: str | None
    ) -> tuple[Path, int, SanitizeResult]:
        source_fd, file_type, found_before = fd, decision.file_type, []
        if row(file_type).converter is not None:
            found_before = self._analyse(fd)
            source_fd, file_type = self._convert(fd, file_type)
        out_path, out_fd = self.cleanup.enter_context(self._work_file())
        result = self._sanitize(
            source_fd, out_fd, Decision(decision.action, file_type, decision.output_type), password
        )
        if found_before:
            # What oletools saw in the original is gone from the verified output: say so.
            self.verdict.actions[:0] = [
                {"what": f.kind, "action": "removed", "count": f.count} for f in found_before
            ]
        return out_path, out_fd, result

    def _archive_again(
        self, fd: int, decision: Decision, password: str | None, first: SanitizeResult
    ) -> tuple[Path, int, SanitizeResult]:
        """The archive (or mail) sanitized again with the members (attachments) the parent
        converted (the first pass named them: cdr/member_conversion.py)."""
        if row(decision.file_type).sanitizer not in ("archive", "mail"):  # containers of members
            raise BadAnswer(f"a {decision.file_type.value} asked for members to be converted")
        indices = [_member_index(item) for item in first.details["convert"]]
        converter = MemberConverter(
            self.tools.sandbox,
            self.tools.libreoffice,
            self.policy,
            self.policy_json,
            lambda: self.cleanup.enter_context(self._work_file()),
        )
        done, bundle_fd = converter.convert_all(fd, decision, self.rel.name, password, indices)
        if done.reasons:
            self.one_off = "members not converted"
        self._note("members-converted", converted=len(done.lengths), not_converted=len(done.reasons))
        out_path, out_fd = self.cleanup.enter_context(self._work_file())
        result = self._sanitize(fd, out_fd, decision, password, (done.params(), bundle_fd))
        return out_path, out_fd, result

    def _analyse(self, fd: int) -> list[Finding]:
        """oletools' view of a legacy document before conversion (macros, objects, DDE)."""
        answer: wire.InspectAnswer = self.tools.sandbox.run(
            "inspect", {"name": self.rel.name, "policy": self.policy_json}, [fd], self.policy.limits
        )
        findings = list(answer.findings)
        self._note("analysed", findings=[f.to_json() for f in findings])
        return findings

    def _convert(self, fd: int, file_type: FileType) -> tuple[int, FileType]:
        assert self.detection is not None
        # an HTML table that does not name its encoding: detect's guess (only a name the
        # converter knows is ever written ahead of the table)
        charset = next((f.detail for f in self.detection.findings if f.kind == HTML_CHARSET), None)
        path, converted = self.tools.libreoffice.convert(fd, file_type, self.policy, charset)
        self.cleanup.callback(shutil.rmtree, path.parent.parent, True)
        converted_fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        self.cleanup.callback(os.close, converted_fd)
        self._note("converted", converter="libreoffice", to=converted.value)
        return converted_fd, converted

    def _sanitize(
        self,
        fd: int,
        out_fd: int,
        decision: Decision,
        password: str | None,
        members: tuple[dict[str, Any], int] | None = None,
    ) -> SanitizeResult:
        """``members``: an archive's converted members (what became of each, and the bundle)."""
        params = {
            "file_type": decision.file_type.value,
            "action": decision.action.value,
            "name": self.rel.name,
            "policy": self.policy_json,
        }
        fds = [fd, out_fd]
        if members is not None:
            params.update(members[0])
            fds.append(members[1])
        if password is not None:
            params["password"] = password  # crosses the socket only; never logged
        result: SanitizeResult = self.tools.sandbox.run("sanitize", params, fds, self.policy.limits)
        self._record_sanitized(decision, result)
        return result

    def _record_sanitized(self, decision: Decision, result: SanitizeResult) -> None:
        self.verdict.actions = [
            {"what": a.what, "action": a.action, "count": a.count} for a in result.actions
        ]
        self._note(
            "sanitized",
            action=decision.action.value,
            output_type=result.output_type.value,
            actions=self.verdict.actions,
        )

    def _assemble_pixels(self, raw_path: Path, pdf_fd: int) -> list[tuple[int, int, int]]:
        """Build the 画像化 PDF in this process from the child's bounds-checked pixels."""
        from cdr.converters.pixels import assemble

        with os.fdopen(os.dup(pdf_fd), "wb") as handle:
            return assemble(raw_path, handle, self.policy)

    def _with_text_layer(
        self, raw_path: Path, pdf_path: Path, pdf_fd: int, pages: list[tuple[int, int, int]]
    ) -> tuple[Path, int]:
        """The 画像化 PDF with an OCR text layer, as a new work file (the one verified and
        released); the image PDF itself when OCR fails, which is safe without it."""
        from cdr.converters.ocr import add_text_layer

        layered_path, layered_fd = self.cleanup.enter_context(self._work_file())
        try:
            with os.fdopen(os.dup(layered_fd), "wb") as target:
                add_text_layer(self.tools.sandbox, raw_path, pdf_path, target, pages, self.policy)
        except BadAnswer:
            raise  # a lying child costs the file, as anywhere else
        except (SanitizeError, OSError, pikepdf.PdfError) as exc:
            log.warning("ocr failed for %s: %s", display(self.verdict.input), exc)
            self.verdict.actions.append({"what": "ocr-text-layer", "action": "failed", "count": 1})
            self.one_off = "no text layer"
            return pdf_path, pdf_fd
        self.verdict.actions.append({"what": "ocr-text-layer", "action": "added", "count": len(pages)})
        return layered_path, layered_fd

    def _verified(self, out_path: Path, out_fd: int, decision: Decision, result: SanitizeResult) -> Rebuilt:
        """Named as what the decision promised (or, when only the content could tell, as
        what was made) and held against that type's allow-list in a fresh child.

        What is verified and then released (and kept in the cache) is one sealed snapshot
        of the output, taken once the sanitizing job has answered: nothing that writes to
        the work file later — a job the zygote answered for before the kernel tore it
        down, anyone else — can change the bytes between the check and the release."""
        if not os.path.samestat(os.fstat(out_fd), os.stat(out_path, follow_symlinks=False)):
            raise VerificationFailed("the output changed files between rebuild and verification")
        snapshot = sealed_copy(out_fd)
        self.cleanup.callback(os.close, snapshot)
        output_type = promised_type(decision) or result.output_type
        entry = row(output_type)
        name = with_extension(self.rel, entry.extension, entry.aliases)
        verify_output(self.tools.sandbox, snapshot, name.name, decision, result, self.policy, self.policy_json)
        self._note("verified", output_type=result.output_type.value)
        return Rebuilt(Path(f"/proc/self/fd/{snapshot}"), name, output_type)

    @contextmanager
    def _work_file(self) -> Iterator[tuple[Path, int]]:
        work = self.tools.work
        if work is not None:
            work.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="out-", dir=work)
        try:
            yield Path(name), fd
        finally:
            os.close(fd)
            os.unlink(name)


def _member_index(item: object) -> int:
    """A member index from the child's details: a short run of digits, nothing else."""
    if not isinstance(item, str) or not (item.isascii() and item.isdigit()) or len(item) > 9:
        raise BadAnswer("a member to convert is not named by its index")
    return int(item)


def _hold_to_decision(action: Action, result: SanitizeResult, decision: Decision) -> None:
    """An early answer with another action or output type than the parent's decision is a
    lie, not a variant."""
    promised = promised_type(decision)
    if action != decision.action or (
        promised is not None and not keeps_promise(result.output_type, promised)
    ):
        raise BadAnswer(
            f"the child answered {action.value} to {result.output_type.value}; "
            f"the decision was {decision.action.value}"
        )
