"""Detection + policy → Decision. Pure: no I/O, so every rule is easy to test."""

from __future__ import annotations

from cdr.errors import Blocked, Encrypted, ExtensionMismatch
from cdr.model import CONVERTED_TYPES, Action, Decision, Detection, FileType
from cdr.policy import Policy

# Types whose sanitizer can open them with a password (cdr quarantine unlock).
PASSWORD_TYPES = frozenset(
    {FileType.PDF, FileType.ENCRYPTED_OFFICE, FileType.DOC, FileType.XLS, FileType.PPT, FileType.ZIP}
)

# Encrypted formats msoffcrypto-tool can open once a password is known.
DECRYPTABLE = frozenset({FileType.ENCRYPTED_OFFICE, FileType.DOC, FileType.XLS, FileType.PPT})


def needs_parent(detection: Detection) -> bool:
    """Whether the parent must act (decrypt, convert) between identifying and sanitizing."""
    return (
        detection.encrypted and detection.file_type in DECRYPTABLE
    ) or detection.file_type in CONVERTED_TYPES


# What a rebuild turns each type into; anything not listed stays itself.
REBUILD_OUTPUT: dict[FileType, FileType] = {
    FileType.DOCM: FileType.DOCX,
    FileType.DOTM: FileType.DOTX,
    FileType.XLSM: FileType.XLSX,
    FileType.XLTM: FileType.XLTX,
    FileType.PPTM: FileType.PPTX,
    FileType.POTM: FileType.POTX,
    FileType.PPSM: FileType.PPSX,
    FileType.DOC: FileType.DOCX,
    FileType.RTF: FileType.DOCX,
    FileType.XLS: FileType.XLSX,
    FileType.PPT: FileType.PPTX,
    FileType.HEIC: FileType.JPEG,
    FileType.ODT: FileType.DOCX,
    FileType.ODS: FileType.XLSX,
    FileType.ODP: FileType.PPTX,
    FileType.ENCRYPTED_OFFICE: FileType.UNKNOWN,  # decided by the decrypted content
}


def output_type(file_type: FileType, action: Action) -> FileType:
    if action == Action.TEXT:
        return FileType.CSV if file_type == FileType.CSV else FileType.TEXT
    if action == Action.PIXELS:
        return FileType.PDF
    return REBUILD_OUTPUT.get(file_type, file_type)


def decide(detection: Detection, policy: Policy, have_password: bool = False) -> Decision:
    """Raise the SanitizeError that ends in quarantine, or say what to do."""
    file_type = detection.file_type
    mismatch = next((f for f in detection.findings if f.kind == "extension-mismatch"), None)
    if mismatch and mismatch.detail.endswith("suspicious") and policy.extension_mismatch == "quarantine":
        raise ExtensionMismatch(mismatch.detail.removesuffix("; suspicious"))
    action = policy.action_for(file_type)
    if action == Action.BLOCK:
        raise Blocked(f"{file_type.value} files are blocked by the policy ({detection.description[:80]})")
    if detection.encrypted and not (have_password and file_type in PASSWORD_TYPES):
        raise Encrypted(
            f"the {file_type.value} file is encrypted; an administrator can unlock "
            "it with the password (cdr quarantine unlock)"
        )
    return Decision(action, file_type, output_type(file_type, action))
