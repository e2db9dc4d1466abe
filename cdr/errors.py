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
    """A policy or configuration file is wrong: every problem found, one line each, each
    naming file, line and key (a file with three mistakes is not fixed in three rounds)."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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
    # The way out of the quarantine for any locked file (PPAP archive, Office, PDF), said once.
    HOW_TO_UNLOCK: ClassVar[str] = "an administrator can unlock it with the password (cdr quarantine unlock)"
    PDF_USER_PASSWORD: ClassVar[str] = f"the PDF needs a password to open (user password); {HOW_TO_UNLOCK}"


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


# A child's exit status carries the code (cdr/zygote.py): 0 means it answered, and the
# status is one byte. A job that died before it could answer exits JOB_DIED, which no
# class may take, so that it always reads as a crash.
CODE_RANGE = range(1, 256)
JOB_DIED = 99


def _subclasses(cls: type[SanitizeError]) -> list[type[SanitizeError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def _by_code() -> dict[int, type[SanitizeError]]:
    """Every SanitizeError class by its code, found by walking the tree: a new class cannot
    be forgotten, and a class without a code of its own, or one already taken, stops the import."""
    table: dict[int, type[SanitizeError]] = {}
    for cls in dict.fromkeys((SanitizeError, *_subclasses(SanitizeError))):  # once, even if inherited twice
        code = vars(cls).get("code")
        if code is None or code not in CODE_RANGE or code == JOB_DIED:
            raise TypeError(f"{cls.__name__} needs a code of its own in 1–255, other than {JOB_DIED}")
        if code in table:
            raise TypeError(f"{cls.__name__} and {table[code].__name__} share the code {code}")
        table[code] = cls
    return table


SANITIZE_ERRORS: dict[int, type[SanitizeError]] = _by_code()
# The reasons a sanitizing error carries: all a child's refusal may name.
SANITIZE_REASONS = frozenset(cls.reason for cls in SANITIZE_ERRORS.values())


def error_for_code(code: int, message: str) -> SanitizeError:
    """Map a child's exit code back to an exception; unknown codes are crashes."""
    cls = SANITIZE_ERRORS.get(code, SandboxCrash)
    return cls(message)
