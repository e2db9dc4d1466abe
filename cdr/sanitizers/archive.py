"""ZIP archives: unpack with limits, rebuild every member, repack.

Each member is identified from its content and goes through the same policy and the same
sanitizer as a file dropped on its own, inside this child. A member that cannot be made
safe (blocked type, a legacy document that needs LibreOffice, damaged, …) is left out and
named in ``cdr-removed.txt`` inside the new archive; an archive with nothing safe left is
quarantined. Password-protected archives (PPAP, ZipCrypto and AES) are quarantined until
an administrator unlocks them with ``cdr quarantine unlock``. Member names written by
Japanese Windows in CP932 without the UTF-8 flag are decoded as such.

The ZIP is opened by ``cdr.zipreader`` under the policy's archive limits (members, sizes,
ratio, nesting, overlapping or lying entries); names are not refused but rewritten safe
(``names.safe_relative``) and unique. The new archive is written by ``cdr.zipwriter``, in
the members' order, so the same input gives the same bytes.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePosixPath
from typing import BinaryIO
from zipfile import ZipInfo

from cdr.decide import decide, needs_parent
from cdr.detect import identify_bytes
from cdr.errors import Encrypted, SanitizeError, UnsupportedType, WrongPassword
from cdr.model import Action, ActionTaken, FileType, Finding, SanitizeResult
from cdr.names import display, safe_relative, with_extension
from cdr.reasons import in_japanese
from cdr.sanitizers.base import Context, Sanitizer
from cdr.types import row, types_where
from cdr.zipreader import (
    MAX_NAME_LENGTH,
    ZipReader,
    archive_limits,
    is_encrypted,
    member_name,
    name_key,
    open_zip,
)
from cdr.zipwriter import write_zip

REMOVED_LIST = "cdr-removed.txt"
# A member path longer than a reader accepts is cut from the front; the room left is for
# a collision suffix and an extension that names the output type.
MAX_MEMBER_PATH = MAX_NAME_LENGTH - 48
PPAP_MESSAGE = f"the archive is password-protected (PPAP); {Encrypted.HOW_TO_UNLOCK}"

# How an archive finds the sanitizer for one of its members: given by the registry that
# builds the table, so this module needs nothing from it (a member may be an archive too).
MemberSanitizers = Callable[[FileType, Action], Sanitizer]


def _prefixed(name: str, findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    return [replace(f, detail=f"{name}: {f.detail}") for f in findings]


class ArchiveSanitizer(Sanitizer):
    handles = types_where(sanitizer="archive")

    def __init__(self, member_sanitizers: MemberSanitizers) -> None:
        self._sanitizer_for = member_sanitizers

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        reader = open_zip(src, archive_limits(ctx.policy.limits), ctx.depth)
        findings: list[Finding] = []
        for info in reader.entries:
            name = member_name(info)
            if is_encrypted(info):
                findings.append(Finding("encrypted-member", name))
                continue
            data = self._read(reader, info, ctx)
            detection = identify_bytes(data, name)
            findings += _prefixed(name, detection.findings)
            inner = self._inspector(detection.file_type)
            if inner is None:
                findings.append(Finding("blocked-member", f"{name} ({detection.file_type.value})"))
                continue
            member_ctx = Context(
                detection.file_type, Action.REBUILD, name, ctx.policy, ctx.password, depth=ctx.depth + 1
            )
            try:
                found = inner.inspect(io.BytesIO(data), member_ctx)
            except SanitizeError as exc:
                found = [Finding(exc.reason, str(exc))]
            findings += _prefixed(name, found)
        return findings

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        reader = open_zip(src, archive_limits(ctx.policy.limits), ctx.depth)
        if reader.encrypted and ctx.password is None:
            raise Encrypted(PPAP_MESSAGE)
        members: list[tuple[str, bytes]] = []
        removed: list[str] = []
        reasons: Counter[str] = Counter()
        used: set[str] = {name_key(REMOVED_LIST)}  # a member cannot pose as the appliance's own list
        for info in reader.entries:
            name = member_name(info)
            try:
                clean, out_type = self._member(self._read(reader, info, ctx), name, ctx)
            except WrongPassword:
                raise
            except SanitizeError as exc:
                removed.append(_removed_line(name, exc))
                reasons[exc.reason] += 1
                continue
            members.append((_unique_target(name, out_type, used), clean))
        if not members:
            raise UnsupportedType(
                f"no member of the archive could be made safe ({', '.join(sorted(reasons))})"
            )
        kept = len(members)
        if removed:
            members.append((REMOVED_LIST, _removed_list(removed)))
        write_zip(dst, members)
        actions = [ActionTaken("archive-members", "rebuilt", kept)]
        actions += [
            ActionTaken(f"member:{reason}", "removed", count) for reason, count in sorted(reasons.items())
        ]
        if ctx.password is not None:
            actions.append(ActionTaken("archive-password", "removed"))
        return SanitizeResult(FileType.ZIP, tuple(actions), {"members": kept, "removed": len(removed)})

    def _read(self, reader: ZipReader, info: ZipInfo, ctx: Context) -> bytes:
        return reader.read(info, ctx.policy.limits.max_file_size, ctx.password, PPAP_MESSAGE)

    def _inspector(self, file_type: FileType) -> Sanitizer | None:
        """The sanitizer that knows the type best: its rebuild, or text for text-only types."""
        for action in (Action.REBUILD, Action.TEXT):
            try:
                return self._sanitizer_for(file_type, action)
            except UnsupportedType:
                continue
        return None

    def _member(self, data: bytes, name: str, ctx: Context) -> tuple[bytes, FileType]:
        """One member through detect → decide → its sanitizer, as if dropped alone. A nested
        archive is opened one level deeper; past the policy's depth its reader refuses it."""
        detection = identify_bytes(data, name)
        if needs_parent(detection):
            raise UnsupportedType(f"{detection.file_type.value} needs LibreOffice; send it on its own")
        decision = decide(detection, ctx.policy)
        if decision.action == Action.PIXELS:
            raise UnsupportedType("page images are made outside archives; send the PDF on its own")
        inner = self._sanitizer_for(decision.file_type, decision.action)
        member_ctx = Context(decision.file_type, decision.action, name, ctx.policy, depth=ctx.depth + 1)
        out = io.BytesIO()
        result = inner.sanitize(io.BytesIO(data), out, member_ctx)
        return out.getvalue(), result.output_type


def _unique_target(name: str, out_type: FileType, used: set[str]) -> str:
    """The member's name made safe, named for its output type, unique in the new archive."""
    info_type = row(out_type)
    path = safe_relative(name)
    while len(str(path)) > MAX_MEMBER_PATH and len(path.parts) > 1:
        path = PurePosixPath(*path.parts[1:])  # too deep a path: the outer folders go first
    target = str(with_extension(path, info_type.extension, info_type.aliases))
    while name_key(target) in used:
        path = PurePosixPath(target)
        target = str(path.with_name(f"{path.stem}_{len(used)}{path.suffix}"))
    used.add(name_key(target))
    return target


def _removed_line(name: str, exc: SanitizeError) -> str:
    """One member that was left out: its name, why in Japanese, and the English code and detail."""
    return f"{display(name)[:200]}\t{in_japanese(exc.reason)}\t{exc.reason}: {display(str(exc))[:300]}"


def _removed_list(removed: list[str]) -> bytes:
    listing = (
        "無害化できなかったため、次のファイルを取り除きました（ファイル名、理由、詳細）。\r\n"
        "These members could not be made safe and were left out (name, reason, detail).\r\n"
        + "\r\n".join(removed)
        + "\r\n"
    )
    return b"\xef\xbb\xbf" + listing.encode("utf-8")
