"""Archives: unpack with limits, rebuild every member, repack as a new ZIP.

ZIP, 7z, RAR (4 and 5), tar (plain, gzip, bzip2, xz), LZH and CAB are read through one
interface (``cdr.archives``), held to the policy's archive limits in one place (members,
declared and produced sizes, ratio, nesting). Each member is identified from its content
and goes through the same policy and the same sanitizer as a file dropped on its own,
inside this child. A member that cannot be made safe (blocked type, damaged, a link or a
device, a name that climbs out of its folder or is absolute, …) is left out and named in
``cdr-removed.txt`` inside the new archive; an archive with nothing safe left is quarantined.

A member the parent must convert first (a legacy document for LibreOffice, a PDF the policy
turns into page images) takes two passes: the first lists its index in the result's
details (``convert``); the parent copies it out (``op_member``), converts it in the
converter sandbox within the archive's time budget, and sanitizes the archive again with
the converted bytes by index (``Context.converted``), which go through the member path
like any other member; what could not be converted is listed with the parent's reason.
Only a top-level archive's own members are converted; deeper ones are listed.

Password-protected archives (PPAP ZIP with ZipCrypto or AES, 7z with AES) are quarantined
until an administrator unlocks them with ``cdr quarantine unlock``; an encrypted RAR cannot
be unlocked (no free decrypter).

Member names are decoded by one rule for every format (UTF-8 when valid, else CP932),
rewritten safe (``names.safe_relative``) and unique. Whatever the input format, the output
is a ZIP with UTF-8 names written by ``cdr.zipwriter``, in the members' order, so the same
input gives the same bytes.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import PurePosixPath
from typing import BinaryIO

from cdr.archives import (
    DIRECTORY,
    FILE,
    LINK,
    PPAP_MESSAGE,
    RAR_ENCRYPTED,
    Budget,
    Member,
    MemberReader,
    open_members,
)
from cdr.decide import decide, made_by_parent, parent_made
from cdr.detect import identify_bytes
from cdr.errors import (
    Encrypted,
    LimitExceeded,
    MalformedInput,
    NotRegularFile,
    SanitizeError,
    UnsupportedType,
    WrongPassword,
)
from cdr.model import Action, ActionTaken, Detection, FileType, Finding, SanitizeResult
from cdr.names import capped, display, folded, safe_relative, with_extension
from cdr.reasons import in_japanese
from cdr.sanitizers.base import Context, Sanitizer
from cdr.types import row, types_where
from cdr.zipreader import archive_limits, name_key
from cdr.zipwriter import write_zip

REMOVED_LIST = "cdr-removed.txt"

# How an archive finds the sanitizer for one of its members: given by the registry that
# builds the table, so this module needs nothing from it (a member may be an archive too).
MemberSanitizers = Callable[[FileType, Action], Sanitizer]


def _prefixed(name: str, findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    return [replace(f, detail=f"{name}: {f.detail}") for f in findings]


class ArchiveSanitizer(Sanitizer):
    handles = types_where(sanitizer="archive")

    def __init__(self, member_sanitizers: MemberSanitizers) -> None:
        self._sanitizer_for = member_sanitizers

    def _open(self, src: BinaryIO, ctx: Context) -> MemberReader:
        limits = archive_limits(ctx.policy.limits)
        return open_members(src, ctx.file_type, ctx.name, limits, ctx.depth, ctx.password)

    def _unlocked(self, src: BinaryIO, ctx: Context) -> MemberReader:
        """The reader of an archive whose members can be read: not locked, or unlocked."""
        reader = self._open(src, ctx)
        if reader.encrypted and ctx.file_type == FileType.RAR:
            raise Encrypted(f"the RAR archive is encrypted; {RAR_ENCRYPTED}")
        if reader.encrypted and ctx.password is None:
            raise Encrypted(PPAP_MESSAGE)
        return reader

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        reader = self._open(src, ctx)
        findings = [Finding(*_refusal(m)) for m in reader.members if _refusal(m)]
        if reader.encrypted and ctx.password is None:
            return findings + [Finding("encrypted-member", m.name) for m in reader.members if m.encrypted]
        for member, data in self._contents(reader, src, ctx):
            if _refusal(member):
                continue
            findings += self._inspect_member(member.name, data, ctx)
        return findings

    def _inspect_member(self, name: str, data: bytes, ctx: Context) -> list[Finding]:
        detection = identify_bytes(data, name)
        findings = _prefixed(name, detection.findings)
        inner = self._inspector(detection.file_type)
        if inner is None:
            return [*findings, Finding("blocked-member", f"{name} ({detection.file_type.value})")]
        member_ctx = Context(detection.file_type, Action.REBUILD, name, ctx.policy, depth=ctx.depth + 1)
        try:
            found = inner.inspect(io.BytesIO(data), member_ctx)
        except SanitizeError as exc:
            found = [Finding(exc.reason, str(exc))]
        return findings + _prefixed(name, found)

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        reader = self._unlocked(src, ctx)
        members: list[tuple[str, bytes]] = []
        removed: list[str] = []
        reasons: Counter[str] = Counter()
        pending: list[int] = []  # members the parent must convert (first pass)
        used: set[str] = {name_key(REMOVED_LIST)}  # a member cannot pose as the appliance's own list
        for member in reader.members:  # links, devices and escaping names: refused from the headers
            refusal = _refusal(member)
            if refusal:
                error = _REFUSALS[refusal[0]](refusal[1])
                removed.append(_removed_line(member.name, error))
                reasons[error.reason] += 1
        for member, data in self._contents(reader, src, ctx):
            if _refusal(member):
                continue
            try:
                clean, out_type = self._member(data, member.name, ctx, member.index)
            except WrongPassword:
                raise
            except _BombInside as bomb:
                raise bomb.error from None
            except NeedsParent as signal:
                pending.append(member.index)
                removed.append(_removed_line(member.name, signal.error))
                reasons[signal.error.reason] += 1
                continue
            except SanitizeError as exc:
                removed.append(_removed_line(member.name, exc))
                reasons[exc.reason] += 1
                continue
            members.append((_unique_target(member.name, out_type, used), clean))
        if not members and not pending:
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
        if ctx.converted:
            actions.append(ActionTaken("archive-members", "converted", len(ctx.converted)))
        if ctx.password is not None:
            actions.append(ActionTaken("archive-password", "removed"))
        details: dict[str, object] = {"members": kept, "removed": len(removed), **to_convert(pending)}
        return SanitizeResult(FileType.ZIP, tuple(actions), details)

    def copy_member(self, src: BinaryIO, dst: BinaryIO, ctx: Context, index: int) -> Detection:
        """One member's bytes, as the sanitizer reads them, written to ``dst`` for the parent
        to convert; what the member is, for the parent to decide again."""
        reader = self._unlocked(src, ctx)
        for member, data in self._contents(reader, src, ctx):
            if member.index == index and not _refusal(member):
                dst.write(data)
                return identify_bytes(data, member.name)
        raise MalformedInput(f"the archive has no member {index} to convert")

    def _contents(self, reader: MemberReader, src: BinaryIO, ctx: Context) -> Iterator[tuple[Member, bytes]]:
        """Every file member's bytes, the bytes really produced held to the total and ratio."""
        limits = archive_limits(ctx.policy.limits)
        budget = Budget(limits, src.seek(0, io.SEEK_END))
        for member, data in reader.contents(budget.member_cap(ctx.policy.limits.max_file_size), ctx.password):
            budget.spend(len(data))
            yield member, data

    def _inspector(self, file_type: FileType) -> Sanitizer | None:
        """The sanitizer that knows the type best: its rebuild, or text for text-only types."""
        for action in (Action.REBUILD, Action.TEXT):
            try:
                return self._sanitizer_for(file_type, action)
            except UnsupportedType:
                continue
        return None

    def _member(self, data: bytes, name: str, ctx: Context, index: int | None = None) -> tuple[bytes, FileType]:
        """One member through detect → decide → its sanitizer, as if dropped alone. A nested
        archive is opened one level deeper; past the policy's depth its reader refuses it.
        ``index``: the member's place in a top-level archive or mail (a deeper one's parts
        have none), by which the parent's conversions are found."""
        detection = identify_bytes(data, name)
        decision = decide(detection, ctx.policy)  # blocked and encrypted members end here
        if not made_by_parent(decision):
            return self._sanitized(data, decision.file_type, decision.action, name, ctx)
        if index is None or ctx.depth > 0:  # only a top-level archive's own members are converted
            raise UnsupportedType(
                f"{detection.file_type.value} is not converted inside a mail or a nested archive; send it on its own"
            )
        converted = ctx.converted.get(index)
        if converted is not None:
            made, action = parent_made(decision)
            found = identify_bytes(converted, name).file_type
            if found != made:
                raise MalformedInput(f"the conversion made {found.value}, not {made.value}")
            return self._sanitized(converted, made, action, name, ctx)
        if index in ctx.unconverted:
            raise ctx.unconverted[index]
        raise NeedsParent(UnsupportedType(f"{detection.file_type.value} was not converted (LibreOffice or page images)"))

    def _sanitized(
        self, data: bytes, file_type: FileType, action: Action, name: str, ctx: Context
    ) -> tuple[bytes, FileType]:
        inner = self._sanitizer_for(file_type, action)
        member_ctx = Context(file_type, action, name, ctx.policy, depth=ctx.depth + 1)
        out = io.BytesIO()
        try:
            result = inner.sanitize(io.BytesIO(data), out, member_ctx)
        except LimitExceeded as exc:
            if inner is self:  # nested too deep, or a bomb inside: the whole archive is one
                raise _BombInside(exc) from None
            raise
        return out.getvalue(), result.output_type


# At most this many members of one archive wait for the parent in one answer (its details
# carry short lists only); the ones past it are listed as not converted.
MAX_PENDING = 50


def to_convert(pending: list[int]) -> dict[str, object]:
    """The first pass's word to the parent: the members it must convert, by index."""
    return {"convert": [str(index) for index in pending[:MAX_PENDING]]} if pending else {}


class NeedsParent(Exception):
    """A member the parent converts (first pass): listed with ``error``, and its index handed
    back. Not a SanitizeError: those cross the sandbox as exit codes and each needs a code of
    its own (cdr.errors); this one never leaves the container's loop."""

    def __init__(self, error: UnsupportedType) -> None:
        super().__init__(str(error))
        self.error = error


class _BombInside(Exception):
    """A nested archive over a limit: carried past the loop that leaves members out."""

    def __init__(self, error: LimitExceeded) -> None:
        super().__init__(str(error))
        self.error = error


_REFUSALS: dict[str, type[SanitizeError]] = {
    "link-member": NotRegularFile,
    "device-member": NotRegularFile,
    "escaping-name": MalformedInput,
}


def _refusal(member: Member) -> tuple[str, str] | None:
    """Why a member is refused from its header alone: (finding kind, detail), or None."""
    if member.kind == LINK:
        return "link-member", f"{member.name}: a link inside an archive"
    if member.kind not in (FILE, DIRECTORY):
        return "device-member", f"{member.name}: a device, pipe or socket inside an archive"
    problem = _escapes(member.name)
    if problem:
        return "escaping-name", f"{member.name}: {problem}"
    return None


def _escapes(name: str) -> str | None:
    """Why a name would write outside the folder the archive is unpacked into. Such a member
    is refused (left out and listed), not renamed: nothing honest is packed that way. Other
    odd names (backslashes, as old Windows tools write, control characters) are made safe.
    The name is judged as the least careful extractor reads it (``names.folded``): ``..¥``
    is ``..\\`` on Japanese Windows, ``．．／`` is ``../`` after NFKC."""
    path = folded(name)
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "absolute path"
    if ".." in path.split("/"):
        return "path that climbs out of its folder"
    return None


def _unique_target(name: str, out_type: FileType, used: set[str]) -> str:
    """The member's name made safe, named for its output type, unique in the new archive. A
    path longer than Explorer can unpack is shortened (``names.capped``: 200 characters, each
    component 100), which leaves room for a collision suffix and the output extension."""
    info_type = row(out_type)
    path = capped(safe_relative(name))
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
