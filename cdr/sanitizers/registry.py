"""The built-in sanitizers, and the operations a sandboxed child can run.

Which sanitizer does what to which type comes from the catalogue (``cdr/types.py``): a
row names its family, and every action a policy may choose for the type, except block,
is done by that family. The families are listed explicitly here, never loaded from
configuration: on this appliance a plugin is code that runs on hostile input.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from types import MappingProxyType
from typing import Any, BinaryIO

from cdr.detect import identify
from cdr.errors import SanitizeError, UnsupportedType, error_for_code
from cdr.model import Action, FileType, Finding
from cdr.policy import policy_from_json
from cdr.sanitizers.archive import ArchiveSanitizer
from cdr.sanitizers.base import Context, Sanitizer
from cdr.sanitizers.html import HtmlSanitizer
from cdr.sanitizers.image import ImageSanitizer
from cdr.sanitizers.legacy import LegacySanitizer
from cdr.sanitizers.mail import MailSanitizer
from cdr.sanitizers.ooxml import OoxmlSanitizer
from cdr.sanitizers.pdf import PdfSanitizer
from cdr.sanitizers.svg import SvgSanitizer
from cdr.sanitizers.text import TextSanitizer
from cdr.types import CATALOGUE, row


def sanitizer_for(file_type: FileType, action: Action) -> Sanitizer:
    try:
        return TABLE[file_type][action]
    except KeyError:
        raise UnsupportedType(f"no sanitizer can {action.value} {file_type.value}") from None


# The family a catalogue row names → the one instance that does its work.
FAMILIES: Mapping[str, Sanitizer] = MappingProxyType(
    {
        "image": ImageSanitizer(),
        "text": TextSanitizer(),
        "html": HtmlSanitizer(),
        "svg": SvgSanitizer(),
        "pdf": PdfSanitizer(),
        "ooxml": OoxmlSanitizer(),
        "legacy": LegacySanitizer(),
        "archive": ArchiveSanitizer(sanitizer_for),  # its members are looked up in TABLE
        "mail": MailSanitizer(sanitizer_for),  # its attachments likewise
    }
)


def _table() -> dict[FileType, Mapping[Action, Sanitizer]]:
    table: dict[FileType, Mapping[Action, Sanitizer]] = {}
    for file_type, type_row in CATALOGUE.items():
        if type_row.sanitizer is not None:
            sanitizer = FAMILIES[type_row.sanitizer]
            done = [a for a in Action if a in type_row.actions and a != Action.BLOCK]
            table[file_type] = MappingProxyType(dict.fromkeys(done, sanitizer))
    return table


# file type → action → sanitizer; a pair missing here is refused whatever a policy says.
TABLE: Mapping[FileType, Mapping[Action, Sanitizer]] = MappingProxyType(_table())


def _context(params: dict[str, Any]) -> Context:
    return Context(
        file_type=FileType(params["file_type"]),
        action=Action(params["action"]),
        name=str(params.get("name", "")),
        policy=policy_from_json(params["policy"]),
        password=params.get("password"),
    )


def _stream(fd: int, mode: str) -> BinaryIO:
    return os.fdopen(fd, mode, closefd=False)  # type: ignore[return-value]


@contextmanager
def _readable_output(fd: int) -> Iterator[BinaryIO]:
    """A file a writer may read back (TIFF's does), copied whole to the output ``fd`` at
    the end: the job holds its output write-only (``cdr.sandbox.write_only``). It lies in
    the job's own ``/tmp``, a tmpfs as large as the job's memory limit (a memfd would be
    memory no limit of the job counts, so the job filter refuses those)."""
    with tempfile.TemporaryFile(dir=tempfile.gettempdir()) as dst:
        yield dst  # type: ignore[misc]
        dst.flush()
        size = dst.seek(0, os.SEEK_END)
        offset = 0
        while offset < size:
            sent = os.sendfile(fd, dst.fileno(), offset, size - offset)
            if sent == 0:
                raise OSError(errno.EIO, "the output took no more bytes")
            offset += sent


def op_identify(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    return identify(_stream(fds[0], "rb"), str(params.get("name", ""))).to_json()


def op_sanitize(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    ctx = _context(params)
    if "converted" in params or "unconverted" in params:  # an archive's second pass
        ctx = replace(
            ctx,
            converted=_converted(params.get("converted", {}), fds[2]),
            unconverted=_unconverted(params.get("unconverted", {})),
        )
    sanitizer = sanitizer_for(ctx.file_type, ctx.action)
    with _readable_output(fds[1]) as dst:  # TIFF writers read back what they wrote
        result = sanitizer.sanitize(_stream(fds[0], "rb"), dst, ctx)
    return result.to_json()


def _converted(lengths: dict[str, Any], bundle_fd: int) -> Mapping[int, bytes]:
    """The parent's converted members, one after another in index order in ``bundle_fd``."""
    converted: dict[int, bytes] = {}
    offset = 0
    for key in sorted(lengths, key=int):
        length = int(lengths[key])
        data = os.pread(bundle_fd, length, offset)
        if len(data) != length:
            raise UnsupportedType("the converted members are shorter than the parent said")
        converted[int(key)] = data
        offset += length
    return MappingProxyType(converted)


def _unconverted(reasons: dict[str, Any]) -> Mapping[int, SanitizeError]:
    return MappingProxyType(
        {int(key): error_for_code(int(code), str(message)) for key, (code, message) in reasons.items()}
    )


def op_member(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """One member of an archive, or attachment of a mail, copied out for the parent to
    convert (cdr/member_conversion.py)."""
    file_type = FileType(params["file_type"])
    archive = FAMILIES[row(file_type).sanitizer]
    if not isinstance(archive, ArchiveSanitizer):
        raise UnsupportedType(f"a {file_type.value} has no members to copy out")
    ctx = Context(
        file_type,
        Action.REBUILD,
        str(params["name"]),
        policy_from_json(params["policy"]),
        params.get("password"),
    )
    with _stream(fds[1], "wb") as dst:
        detection = archive.copy_member(_stream(fds[0], "rb"), dst, ctx, int(params["index"]))
        dst.flush()
    return detection.to_json()


def op_process(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Identify, and when nothing needs the parent first, decide and sanitize too (why,
    and whose decision counts: ``cdr.flow.Flow.run``)."""
    from cdr.decide import decide, needs_parent

    name = str(params.get("name", ""))
    src = _stream(fds[0], "rb")
    detection = identify(src, name)
    out: dict[str, Any] = {"detection": detection.to_json()}
    if needs_parent(detection):
        return out
    policy = policy_from_json(params["policy"])
    password = params.get("password")
    try:
        decision = decide(detection, policy, have_password=password is not None)
    except SanitizeError:
        return out  # the parent reaches the same verdict and records it
    ctx = Context(decision.file_type, decision.action, name, policy, password)
    try:
        sanitizer = sanitizer_for(decision.file_type, decision.action)
        with _readable_output(fds[1]) as dst:
            result = sanitizer.sanitize(src, dst, ctx)
    except SanitizeError as exc:
        out["error"] = {"code": exc.code, "message": str(exc)}
        return out
    except MemoryError:
        raise
    out.update(action=decision.action.value, result=result.to_json())
    return out


def op_inspect(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Identify, then let the type's sanitizer look for anything active (scan, verify)."""
    src = _stream(fds[0], "rb")
    detection = identify(src, str(params.get("name", "")))
    answer: dict[str, Any] = {"detection": detection.to_json(), "findings": [], "details": {}}
    sanitizers = TABLE.get(detection.file_type, {})
    if sanitizers and not detection.encrypted:
        ctx = Context(
            detection.file_type,
            Action(params.get("action", "rebuild")),
            str(params.get("name", "")),
            policy_from_json(params["policy"]),
        )
        # the rebuild sanitizer knows the format best; text-only types have only "text"
        sanitizer = sanitizers.get(Action.REBUILD) or next(iter(sanitizers.values()))
        try:
            answer["findings"] = [f.to_json() for f in sanitizer.inspect(src, ctx)]
            if params.get("details"):
                answer["details"] = sanitizer.details(src, ctx)
        except SanitizeError as exc:  # encrypted, damaged…: a finding, with the type still known
            answer.update(
                findings=[Finding(exc.reason, str(exc)[:300]).to_json()], details={}, refused=exc.reason
            )
    return answer


def op_verify(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Identify an output, then hold it against the allow-list of the type the parent
    expects (``cdr.verifiers``); the sanitizers' own inspectors take no part."""
    from cdr.verifiers import VerifyContext, verify_structure

    src = _stream(fds[0], "rb")
    name = str(params.get("name", ""))
    expected = FileType(params["expect"])
    detection = identify(src, name)
    findings: list[Finding] = []
    if detection.file_type != expected and {detection.file_type, expected} != {FileType.TEXT, FileType.CSV}:
        findings.append(Finding("wrong-type", f"{detection.file_type.value}, expected {expected.value}"))
    elif detection.encrypted:
        findings.append(Finding("encrypted-output"))
    else:
        findings = verify_structure(expected, src, VerifyContext(policy_from_json(params["policy"]), name))
    return {
        "detection": detection.to_json(),
        "findings": [f.to_json() for f in findings[:50]],
    }


def op_decrypt(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Office encryption (OOXML agile/standard, legacy RC4/CryptoAPI) with msoffcrypto-tool."""
    import msoffcrypto
    from msoffcrypto import exceptions as crypto_errors

    from cdr.errors import MalformedInput, WrongPassword

    try:
        document = msoffcrypto.OfficeFile(_stream(fds[0], "rb"))
        document.load_key(password=str(params["password"]))
        with _stream(fds[1], "wb") as dst:
            document.decrypt(dst)
    except crypto_errors.InvalidKeyError:
        raise WrongPassword("the password does not open this document") from None
    except (
        crypto_errors.DecryptionError,
        crypto_errors.FileFormatError,
        crypto_errors.ParseError,
        ValueError,
        KeyError,
        AssertionError,
    ) as exc:
        if "password" in str(exc).lower() or "key" in str(exc).lower():
            raise WrongPassword("the password does not open this document") from None
        raise MalformedInput(f"cannot decrypt: {str(exc)[:200]}") from None
    return {"decrypted": True}


def op_ocr_words(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Tesseract's TSV (made from pixels the parent rebuilt) → checked words (cdr/converters/ocr.py)."""
    from cdr.converters.ocr import read_tsv

    with _stream(fds[1], "wb") as dst:
        words = read_tsv(_stream(fds[0], "rb"), dst, int(params["pages"]))
    return {"words": words}


OPERATIONS = {
    "identify": op_identify,
    "process": op_process,
    "sanitize": op_sanitize,
    "inspect": op_inspect,
    "verify": op_verify,
    "decrypt": op_decrypt,
    "ocr-words": op_ocr_words,
    "member": op_member,
}


def run_operation(op: str, params: dict[str, Any], fds: list[int], allow_test_ops: bool) -> dict[str, Any]:
    if op.startswith("test:"):
        if not allow_test_ops:
            raise UnsupportedType("test operations are refused outside the test suite")
        from cdr.sanitizers.selftest import OPERATIONS as TEST_OPERATIONS

        return TEST_OPERATIONS[op](params, fds)
    if op not in OPERATIONS:
        raise UnsupportedType(f"unknown operation {op!r}")
    return OPERATIONS[op](params, fds)
