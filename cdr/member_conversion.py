"""Members of an archive the parent must make first: legacy Office, RTF and OpenDocument
converted by LibreOffice, and PDFs the policy turns into page images (画像化). A top-level
mail's attachments take the same way (``MailSanitizer``: its parts are its members).

The archive's first pass (in the child) names them by index (``details["convert"]``).
Here the parent, one member at a time: has a child copy the member's bytes out of the
archive (``op_member``; never unpacked by name), decides again from the child's detection,
converts it in the converter sandbox (or has a child render its pixels and builds the PDF
itself, as for a PDF dropped alone), and appends the result to one bundle. Conversions stop
when the archive's time budget (the policy's ``limits.wall_time``, counted from the first
conversion) is spent; each conversion gets only what is left of it. The archive is then
sanitized again with the bundle (``op_sanitize`` with ``converted``): the converted members
go through the member path like any other, and the ones not converted are listed with why.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pikepdf

from cdr.converters.libreoffice import LibreOffice
from cdr.decide import decide, made_by_parent
from cdr.descriptors import write_all
from cdr.errors import BadAnswer, SandboxTimeout, SanitizeError
from cdr.model import Action, Decision, FileType
from cdr.policy import Policy
from cdr.sandbox import Sandbox
from cdr.types import row

log = logging.getLogger(__name__)

# Below this many seconds left, a conversion is not started: LibreOffice alone takes longer
# to start, and a member cut off half-way costs the same as one never begun.
MIN_SECONDS = 2.0

WorkFile = Callable[[], tuple[Path, int]]


@dataclass
class Conversions:
    """What became of each member the first pass named: bytes in the bundle, or why not."""

    lengths: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, list[Any]] = field(default_factory=dict)

    def params(self) -> dict[str, Any]:
        return {"converted": self.lengths, "unconverted": self.reasons}

    def refuse(self, index: int, error: SanitizeError) -> None:
        self.reasons[str(index)] = [error.code, str(error)[:300]]


@dataclass(frozen=True)
class MemberConverter:
    """The tools of one file's flow, lent for its archive's members."""

    sandbox: Sandbox
    libreoffice: LibreOffice
    policy: Policy
    policy_json: dict[str, Any]
    work_file: WorkFile

    def convert_all(
        self, archive_fd: int, decision: Decision, name: str, password: str | None, indices: list[int]
    ) -> tuple[Conversions, int]:
        """Each member converted into one bundle, in index order, within the time budget."""
        done = Conversions()
        _, bundle_fd = self.work_file()
        deadline = time.monotonic() + self.policy.limits.wall_time
        for index in sorted(set(indices)):
            left = deadline - time.monotonic()
            if left < MIN_SECONDS:
                done.refuse(index, _out_of_time(row(decision.file_type).sanitizer, self.policy.limits.wall_time))
                continue
            try:
                data = self._one(archive_fd, decision, name, password, index, left)
            except BadAnswer:
                raise  # a lying child costs the whole archive, as anywhere else
            except SanitizeError as exc:
                done.refuse(index, exc)
                continue
            os.lseek(bundle_fd, 0, os.SEEK_END)
            write_all(bundle_fd, data)
            done.lengths[str(index)] = len(data)
        return done, bundle_fd

    def _one(
        self, archive_fd: int, decision: Decision, name: str, password: str | None, index: int, left: float
    ) -> bytes:
        params: dict[str, Any] = {
            "file_type": decision.file_type.value,
            "name": name,
            "policy": self.policy_json,
            "index": index,
        }
        if password is not None:
            params["password"] = password  # crosses the socket only; never logged
        _, member_fd = self.work_file()
        detection = self.sandbox.run("member", params, [archive_fd, member_fd], self.policy.limits)
        # the parent decides again: the child's first pass only named the member
        member = decide(detection, self.policy)
        if not made_by_parent(member):
            raise BadAnswer(f"member {index} ({member.file_type.value}) needs no conversion")
        policy = replace(self.policy, limits=replace(self.policy.limits, wall_time=left))
        if row(member.file_type).converter is not None:
            path, _ = self.libreoffice.convert(member_fd, member.file_type, policy)
            try:
                return path.read_bytes()
            finally:
                shutil.rmtree(path.parent.parent, ignore_errors=True)
        return self._page_images(member_fd, name, policy)

    def _page_images(self, member_fd: int, name: str, policy: Policy) -> bytes:
        """The 画像化 PDF of a member, as for a PDF alone: a child renders, this process builds
        (and lays the OCR text over it when the policy asks; without it when OCR fails)."""
        from cdr.converters.pixels import assemble

        raw_path, raw_fd = self.work_file()
        params = {"file_type": FileType.PDF.value, "action": Action.PIXELS.value, "name": name}
        self.sandbox.run("sanitize", {**params, "policy": self.policy_json}, [member_fd, raw_fd], policy.limits)
        pdf_path, pdf_fd = self.work_file()
        with os.fdopen(os.dup(pdf_fd), "wb") as handle:
            pages = assemble(raw_path, handle, policy)
        if policy.pdf.ocr:
            with_text = self._with_text_layer(raw_path, pdf_path, pages, policy)
            if with_text is not None:
                return with_text
        return pdf_path.read_bytes()

    def _with_text_layer(
        self, raw_path: Path, pdf_path: Path, pages: list[tuple[int, int, int]], policy: Policy
    ) -> bytes | None:
        from cdr.converters.ocr import add_text_layer

        layered = io.BytesIO()
        try:
            add_text_layer(self.sandbox, raw_path, pdf_path, layered, pages, policy)
        except BadAnswer:
            raise
        except (SanitizeError, OSError, pikepdf.PdfError) as exc:
            log.warning("ocr failed for an archive member: %s", exc)
            return None
        return layered.getvalue()

def _out_of_time(container: str, budget: float) -> SanitizeError:
    """``container``: what holds the member, ``archive`` or ``mail``."""
    return SandboxTimeout(f"not converted: the {container}'s time budget of {budget:g}s was spent")
