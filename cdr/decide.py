"""Detection + policy → Decision. Pure: no I/O, so every rule is easy to test."""

from __future__ import annotations

from cdr.errors import Blocked, Encrypted, ExtensionMismatch, UnsupportedType
from cdr.model import EXTENSION_MISMATCH, Action, Decision, Detection, FileType
from cdr.policy import Policy
from cdr.types import CONVERTED_TYPES, DECRYPTABLE, PASSWORD_TYPES, output_type, row


def needs_parent(detection: Detection) -> bool:
    """Whether the parent must act (decrypt, convert) between identifying and sanitizing."""
    return (
        detection.encrypted and detection.file_type in DECRYPTABLE
    ) or detection.file_type in CONVERTED_TYPES


def decide(detection: Detection, policy: Policy, have_password: bool = False) -> Decision:
    """Raise the SanitizeError that ends in quarantine, or say what to do."""
    file_type = detection.file_type
    mismatch = next((f for f in detection.findings if f.kind == EXTENSION_MISMATCH), None)
    if mismatch and mismatch.suspicious and policy.extension_mismatch == "quarantine":
        raise ExtensionMismatch(mismatch.detail)
    action = policy.action_for(file_type)
    type_row = row(file_type)
    if action == Action.BLOCK and type_row.unsupported:
        raise UnsupportedType(f"no converter for {file_type.value} files exists here; a PDF of it can be sent instead")
    if action == Action.BLOCK:
        raise Blocked(f"{file_type.value} files are blocked by the policy ({detection.description[:80]})")
    if detection.encrypted and not (have_password and file_type in PASSWORD_TYPES):
        raise Encrypted(f"the {file_type.value} file is encrypted; {Encrypted.HOW_TO_UNLOCK}")
    # what the sanitizer reads it as: an HTML spreadsheet's text is its HTML's
    treated = type_row.text_as if action == Action.TEXT and type_row.text_as else file_type
    return Decision(action, treated, output_type(file_type, action))


def made_by_parent(decision: Decision) -> bool:
    """Whether the parent must make an archive member first: LibreOffice, or the 画像化 PDF the
    parent assembles from pixels (a picture drawn from an SVG is made by the child alone)."""
    return decision.file_type in CONVERTED_TYPES or (
        decision.action == Action.PIXELS and decision.output_type == FileType.PDF
    )


def parent_made(decision: Decision) -> tuple[FileType, Action]:
    """What the parent's conversion of an archive member is, and how it is then sanitized: an
    OOXML package rebuilt like any dropped one, or the parent's own image PDF rebuilt."""
    conversion = row(decision.file_type).converter
    if conversion is not None:
        return conversion.to, decision.action
    return FileType.PDF, Action.REBUILD
