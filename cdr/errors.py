"""The error tree.

Each class carries its own message, the process exit code the CLI uses for it, and — for
errors that can happen while sanitizing — the ``reason`` recorded in quarantine and audit
plus the small integer ``code`` a sandboxed child exits with. Errors cross the sandbox as
that code and are mapped back here, so the parent never unpickles anything from a child.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_ERROR = 2


class CdrError(Exception):
    """Base of every error the CLI turns into a one-line message."""

    exit_code: ClassVar[int] = EXIT_ERROR


class UsageError(CdrError):
    """The command line is wrong."""


class ConfigError(CdrError):
    """A policy or configuration file is wrong (names file, line, key)."""


class OperationalError(CdrError):
    """The appliance cannot work: a folder is unwritable, the sandbox cannot start."""


class FolderMissing(OperationalError):
    """The inbox or outbox root is gone (an unmounted share): waited on, never recreated."""


class CannotProcess(OperationalError):
    """This one file cannot be worked on right now (unreadable, the converter cannot start).

    Retried a bounded number of times with back-off, then quarantined with ``reason``
    and the real cause: the file is not at fault, but it must not wait for ever either.
    """

    reason: ClassVar[str] = "operational-error"


class InputUnreadable(CannotProcess):
    """The spooled or given file cannot be opened or read (permission, I/O error)."""


class ConverterCannotStart(CannotProcess):
    """LibreOffice is missing, its sandbox cannot be built, or its profile cannot be made."""


class AuditError(CdrError):
    """The audit log cannot be written or read."""


class SanitizeError(CdrError):
    """Something about one file means it cannot be released. Ends in quarantine."""

    exit_code: ClassVar[int] = EXIT_FOUND
    reason: ClassVar[str] = "sanitize-failed"
    code: ClassVar[int] = 10


class MalformedInput(SanitizeError):
    reason = "malformed"
    code = 11


class Encrypted(SanitizeError):
    reason = "encrypted"
    code = 12


class LimitExceeded(SanitizeError):
    reason = "limit-exceeded"
    code = 13


class UnsupportedType(SanitizeError):
    reason = "unsupported-type"
    code = 14


class ConverterUnavailable(SanitizeError):
    reason = "converter-unavailable"
    code = 15


class WrongPassword(SanitizeError):
    reason = "wrong-password"
    code = 16


class MemoryLimit(SanitizeError):
    reason = "memory-limit"
    code = 17


class VerificationFailed(SanitizeError):
    reason = "verification-failed"
    code = 18


class SandboxTimeout(SanitizeError):
    reason = "timeout"
    code = 19


class SandboxCrash(SanitizeError):
    reason = "sandbox-crash"
    code = 20


class CpuLimit(SanitizeError):
    reason = "cpu-limit"
    code = 21


class OutputTooLarge(SanitizeError):
    reason = "output-too-large"
    code = 22


class Blocked(SanitizeError):
    """The policy says this type never crosses."""

    reason = "blocked-type"
    code = 23


class ExtensionMismatch(SanitizeError):
    reason = "extension-mismatch"
    code = 24


class NotRegularFile(SanitizeError):
    """A link, FIFO, socket or device: refused without being read."""

    reason = "not-a-regular-file"
    code = 25


class BadAnswer(SanitizeError):
    """A sandboxed child answered outside its contract (cdr/wire.py): extra keys, a wrong
    type, a huge or non-JSON reply, an output other than the one decided. It is lying."""

    reason = "bad-answer"
    code = 26


SANITIZE_ERRORS: dict[int, type[SanitizeError]] = {
    cls.code: cls
    for cls in (
        SanitizeError,
        MalformedInput,
        Encrypted,
        LimitExceeded,
        UnsupportedType,
        ConverterUnavailable,
        WrongPassword,
        MemoryLimit,
        VerificationFailed,
        SandboxTimeout,
        SandboxCrash,
        CpuLimit,
        OutputTooLarge,
        Blocked,
        ExtensionMismatch,
        NotRegularFile,
        BadAnswer,
    )
}


def error_for_code(code: int, message: str) -> SanitizeError:
    """Map a child's exit code back to an exception; unknown codes are crashes."""
    cls = SANITIZE_ERRORS.get(code, SandboxCrash)
    return cls(message)
