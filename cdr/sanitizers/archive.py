"""ZIP archives: unpack with limits, rebuild every member, repack.

Each member is identified from its content and goes through the same policy and the same
sanitizer as a file dropped on its own, inside this child. A member that cannot be made
safe (blocked type, a legacy document that needs LibreOffice, damaged, …) is left out and
named in ``cdr-removed.txt`` inside the new archive; an archive with nothing safe left is
quarantined. Password-protected archives (PPAP, ZipCrypto and AES) are quarantined until
an administrator unlocks them with ``cdr quarantine unlock``. Member names written by
Japanese Windows in CP932 without the UTF-8 flag are decoded as such.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from dataclasses import replace
from pathlib import PurePosixPath
from typing import BinaryIO

import pyzipper

from cdr.errors import (
    Encrypted,
    LimitExceeded,
    MalformedInput,
    SanitizeError,
    UnsupportedType,
    WrongPassword,
)
from cdr.model import TYPE_INFO, Action, ActionTaken, FileType, Finding, SanitizeResult
from cdr.names import display, safe_relative, with_extension
from cdr.sanitizers.base import Context, Sanitizer

REMOVED_LIST = "cdr-removed.txt"
_UTF8_FLAG = 0x800


def member_name(info: zipfile.ZipInfo) -> str:
    """The name as the sender saw it: CP932 when the archive does not say UTF-8."""
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("cp932")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _open(src: BinaryIO, ctx: Context) -> tuple[pyzipper.AESZipFile, list[zipfile.ZipInfo]]:
    src.seek(0)
    limits = ctx.policy.limits
    try:
        archive = pyzipper.AESZipFile(src)
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise MalformedInput(f"not a readable ZIP archive: {exc}") from None
    if len(infos) > limits.archive_members:
        raise LimitExceeded(f"{len(infos)} members (limit {limits.archive_members})")
    total = sum(i.file_size for i in infos)
    if total > limits.archive_total_size:
        raise LimitExceeded(f"{total} bytes when unpacked (limit {limits.archive_total_size})")
    for info in infos:
        if info.file_size > (1 << 20) and info.file_size > limits.archive_ratio * max(info.compress_size, 1):
            raise LimitExceeded(
                f"{member_name(info)}: compression ratio above {limits.archive_ratio} (zip bomb?)"
            )
        if info.file_size > limits.max_file_size:
            raise LimitExceeded(f"{member_name(info)}: larger than the file size limit")
    return archive, infos


def _read(archive: pyzipper.AESZipFile, info: zipfile.ZipInfo, password: str | None) -> bytes:
    try:
        if password is not None:
            return archive.read(info, pwd=password.encode("utf-8"))
        return archive.read(info)
    except RuntimeError as exc:  # zipfile's way of saying "password required / bad password"
        if password is None:
            raise Encrypted(
                "the archive is password-protected (PPAP); an administrator can "
                "unlock it with the password (cdr quarantine unlock)"
            ) from None
        raise WrongPassword("the password does not open this archive") from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise MalformedInput(f"{member_name(info)}: {exc}") from None


class ArchiveSanitizer(Sanitizer):
    handles = frozenset({FileType.ZIP})

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        from cdr.detect import identify_bytes
        from cdr.sanitizers.registry import TABLE

        archive, infos = _open(src, ctx)
        findings: list[Finding] = []
        for info in infos:
            name = member_name(info)
            if info.flag_bits & 0x1:
                findings.append(Finding("encrypted-member", name))
                continue
            data = _read(archive, info, ctx.password)
            detection = identify_bytes(data, name)
            findings += [replace(f, detail=f"{name}: {f.detail}") for f in detection.findings]
            sanitizers = TABLE.get(detection.file_type, {})
            inner = sanitizers.get(Action.REBUILD) or sanitizers.get(Action.TEXT)
            if inner is None:
                findings.append(Finding("blocked-member", f"{name} ({detection.file_type.value})"))
                continue
            member_ctx = Context(detection.file_type, Action.REBUILD, name, ctx.policy, ctx.password)
            try:
                found = inner.inspect(io.BytesIO(data), member_ctx)
            except SanitizeError as exc:
                found = [Finding(exc.reason, str(exc))]
            findings += [replace(f, detail=f"{name}: {f.detail}") for f in found]
        return findings

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        archive, infos = _open(src, ctx)
        if any(info.flag_bits & 0x1 for info in infos) and ctx.password is None:
            raise Encrypted(
                "the archive is password-protected (PPAP); an administrator can unlock "
                "it with the password (cdr quarantine unlock)"
            )
        buffer = io.BytesIO()
        kept, removed = 0, []
        reasons: Counter[str] = Counter()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            used: set[str] = {REMOVED_LIST}  # a member cannot pose as the appliance's own list
            for info in infos:
                name = member_name(info)
                try:
                    data = _read(archive, info, ctx.password)
                    clean, out_type = self._member(data, name, ctx)
                except WrongPassword:
                    raise
                except SanitizeError as exc:
                    removed.append(f"{display(name)[:200]}\t{exc.reason}\t{display(str(exc))[:300]}")
                    reasons[exc.reason] += 1
                    continue
                info_type = TYPE_INFO[out_type]
                target = str(with_extension(safe_relative(name), info_type.extension, info_type.aliases))
                while target.lower() in used:
                    path = PurePosixPath(target)
                    target = str(path.with_name(f"{path.stem}_{len(used)}{path.suffix}"))
                used.add(target.lower())
                out.writestr(target, clean)
                kept += 1
            if removed:
                listing = (
                    "無害化できず取り除いたファイル / members removed (name, reason, detail)\r\n"
                    + "\r\n".join(removed)
                    + "\r\n"
                )
                out.writestr(REMOVED_LIST, b"\xef\xbb\xbf" + listing.encode("utf-8"))
        if kept == 0:
            raise UnsupportedType(
                f"no member of the archive could be made safe ({', '.join(sorted(reasons))})"
            )
        dst.write(buffer.getbuffer())
        actions = [ActionTaken("archive-members", "rebuilt", kept)]
        actions += [
            ActionTaken(f"member:{reason}", "removed", count) for reason, count in sorted(reasons.items())
        ]
        if ctx.password is not None:
            actions.append(ActionTaken("archive-password", "removed"))
        return SanitizeResult(FileType.ZIP, tuple(actions), {"members": kept, "removed": len(removed)})

    def _member(self, data: bytes, name: str, ctx: Context) -> tuple[bytes, FileType]:
        """One member through detect → decide → its sanitizer, as if dropped alone."""
        from cdr.decide import decide, needs_parent
        from cdr.detect import identify_bytes
        from cdr.sanitizers.registry import sanitizer_for

        detection = identify_bytes(data, name)
        if detection.file_type == FileType.ZIP and ctx.depth + 1 >= ctx.policy.limits.archive_depth:
            raise LimitExceeded(f"archives nested deeper than {ctx.policy.limits.archive_depth}")
        if needs_parent(detection):
            raise UnsupportedType(f"{detection.file_type.value} needs LibreOffice; send it on its own")
        decision = decide(detection, ctx.policy)
        if decision.action == Action.PIXELS:
            raise UnsupportedType("page images are made outside archives; send the PDF on its own")
        inner = sanitizer_for(decision.file_type, decision.action)
        member_ctx = Context(decision.file_type, decision.action, name, ctx.policy, depth=ctx.depth + 1)
        out = io.BytesIO()
        result = inner.sanitize(io.BytesIO(data), out, member_ctx)
        return out.getvalue(), result.output_type
