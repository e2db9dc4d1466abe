"""The one ZIP reader: detection, Office packages, archives and their verifiers open ZIPs here.

Everything in a ZIP's directory is untrusted: the member count, the sizes it declares, the
names, the flags and the offsets. ``open_zip`` checks them against one ``ZipLimits`` value
before anything is inflated:

- member count, the total declared size, each member's size and its compression ratio;
- nesting depth (an archive inside an archive is opened one level deeper);
- names (``name_problem``) and names that collide once normalised (``name_key``), where the
  caller asks for that — an archive's names are instead rewritten safe when it is repacked;
- layout: every directory record must point at its own local header, that header must
  agree with the record (name, flags, method, CRC and sizes), and no two members' data may
  share or overlap bytes (David Fifield's "better zip bomb" makes one small file inflate
  many times that way) or reach into the central directory; our own outputs must also be
  contiguous, with nothing before, between or after the members.

``read`` then inflates a member with a hard cap on the bytes it actually produces, whatever
the directory declared. Encryption (general-purpose bit 0, the WinZip AES extra field
0x9901 or method 99) is the caller's to judge: an archive may be unlocked with a password,
an Office package never is. The stdlib's directory parser is used for the records;
the checks above are what it does not do (PKWARE APPNOTE 6.3.10 §4.3, §4.4).
"""

from __future__ import annotations

import math
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, replace
from typing import IO, BinaryIO

from cdr.errors import Encrypted, LimitExceeded, MalformedInput, WrongPassword
from cdr.names import decode_name, invisible
from cdr.policy import Limits

ENCRYPTED_FLAG = 0x1
DATA_DESCRIPTOR_FLAG = 0x8
UTF8_FLAG = 0x800
AES_EXTRA = 0x9901  # WinZip AE-1/AE-2 (its method field says 99)
AES_METHOD = 99
ZIP64_EXTRA = 0x0001
RATIO_FLOOR = 1 << 20  # ratios are judged only for members larger than this
MAX_NAME_LENGTH = 1024
MAX_PACKAGE_PARTS = 20_000  # Office packages: many small parts are normal (slides, sheets)

_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_SIGNATURE = b"PK\x03\x04"
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


@dataclass(frozen=True)
class ZipLimits:
    """What one kind of ZIP may hold; built from the policy's limits by the functions below."""

    label: str  # how messages name the container: "ZIP archive", "Office package"
    noun: str  # how messages name its members
    members: int
    member_size: int
    total_size: int
    ratio: float  # unpacked / packed, judged above RATIO_FLOOR
    depth: int
    strict_names: bool = False  # refuse a dangerous or colliding name instead of renaming it
    contiguous: bool = False  # nothing before, between or after the members (our own outputs)


def archive_limits(limits: Limits) -> ZipLimits:
    return ZipLimits(
        "ZIP archive",
        "members",
        limits.archive_members,
        limits.max_file_size,
        limits.archive_total_size,
        limits.archive_ratio,
        limits.archive_depth,
    )


def package_limits(limits: Limits) -> ZipLimits:
    return ZipLimits(
        "Office package",
        "package members",
        MAX_PACKAGE_PARTS,
        limits.max_stream_size,
        limits.archive_total_size,
        limits.archive_ratio,
        limits.archive_depth,
        strict_names=True,
    )


def as_written(limits: ZipLimits) -> ZipLimits:
    """The limits for a ZIP this appliance wrote: laid out member after member, and no ratio
    (our own deflate of a rebuilt, often more verbose, part says nothing about intent; the
    sizes it declares still count against the member and total limits)."""
    return replace(limits, contiguous=True, ratio=math.inf)


# ------------------------------------------------------------------------------ names
def member_name(info: zipfile.ZipInfo) -> str:
    """The name as the sender saw it. Without the UTF-8 flag (zipfile reads such names as
    CP437) the bytes are read by ``decode_name``: Linux zip and macOS write UTF-8 without
    setting the flag, Japanese Windows writes CP932."""
    if info.flag_bits & UTF8_FLAG:
        return info.filename
    try:
        return decode_name(info.filename.encode("cp437"))
    except UnicodeEncodeError:
        return info.filename


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """The name's bytes as the directory holds them, NUL and all."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & UTF8_FLAG else "cp437")


def name_problem(name: str) -> str | None:
    """Why a member name could write outside the folder it is unpacked into, or fool a
    person reading it; None for a plain relative path."""
    parts = name.rstrip("/").split("/")
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name or any(part in ("..", ".", "") for part in parts):
        return "path that climbs or uses backslashes"
    if any(map(invisible, name)):  # the same test that names made safe pass (cdr.names)
        return "control or format character"
    if len(name) > MAX_NAME_LENGTH:
        return "name too long"
    return None


def name_key(name: str) -> str:
    """Two names with one key are one file to Windows Explorer and most unzip tools."""
    return unicodedata.normalize("NFC", name).lower()


def is_encrypted(info: zipfile.ZipInfo) -> bool:
    """Bit 0 (ZipCrypto, and AES writers set it too), or WinZip AES's method or extra field
    even where a hostile writer left bit 0 clear."""
    if info.flag_bits & ENCRYPTED_FLAG or info.compress_type == AES_METHOD:
        return True
    return AES_EXTRA in _extra_ids(info.extra)


def _extra_ids(extra: bytes) -> set[int]:
    ids, at = set(), 0
    while at + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, at)
        ids.add(header_id)
        at += 4 + size
    return ids


# ------------------------------------------------------------------------------ reader
class ZipReader:
    """An opened ZIP: its file members in directory order, read with a cap."""

    def __init__(self, stream: BinaryIO, archive: zipfile.ZipFile) -> None:
        self.stream = stream
        self.archive = archive
        self.entries = [info for info in archive.infolist() if not info.is_dir()]
        self.all_entries = archive.infolist()
        self._unlocked: zipfile.ZipFile | None = None

    @property
    def comment(self) -> bytes:
        return self.archive.comment

    @property
    def encrypted(self) -> bool:
        return any(is_encrypted(info) for info in self.all_entries)

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """The member with exactly this name, if there is one (the last, as zipfile has it)."""
        return next((info for info in reversed(self.entries) if info.filename == name), None)

    def read(
        self, info: zipfile.ZipInfo, cap: int, password: str | None = None, encrypted_message: str = ""
    ) -> bytes:
        """The member's bytes; more than ``cap`` of them is a bomb, whatever was declared."""
        name = member_name(info)[:100]
        try:
            with self._open_member(info, password) as member:
                data = member.read(cap + 1)
        except RuntimeError as exc:  # zipfile's way of saying "password required / bad password"
            if password is None:
                raise Encrypted(encrypted_message or f"{name}: the member is encrypted") from None
            raise WrongPassword("the password does not open this archive") from exc
        except _UNREADABLE as exc:
            raise MalformedInput(f"{name}: damaged member ({str(exc)[:80]})") from None
        if len(data) > cap:
            raise LimitExceeded(f"{name}: inflates to more than {cap} bytes (zip bomb?)")
        return data

    def head(self, info: zipfile.ZipInfo, size: int) -> bytes:
        """The first ``size`` bytes of a member, inflating no more than that."""
        try:
            with self.archive.open(info) as member:
                return member.read(size)
        except _UNREADABLE as exc:
            raise MalformedInput(f"{member_name(info)[:100]}: damaged member ({str(exc)[:80]})") from None

    def _open_member(self, info: zipfile.ZipInfo, password: str | None) -> IO[bytes]:
        if password is None:
            return self.archive.open(info)
        # pyzipper reads ZipCrypto and WinZip AES; importing it costs ~80 ms, so only an
        # unlock by an administrator pays for it. Its own record of the member carries the
        # AES fields, found by the offset the checks above have vouched for.
        import pyzipper

        if self._unlocked is None:
            self.stream.seek(0)
            self._unlocked = pyzipper.AESZipFile(self.stream)
        twin = next((i for i in self._unlocked.infolist() if i.header_offset == info.header_offset), None)
        if twin is None:  # the two readers disagree about the archive: it is not what it claims
            raise MalformedInput(f"{member_name(info)[:100]}: no such member when unlocked")
        return self._unlocked.open(twin, pwd=password.encode("utf-8"))


def read_directory(stream: BinaryIO, label: str = "ZIP archive") -> ZipReader:
    """The directory only, no limits applied: enough to tell what kind of ZIP this is."""
    stream.seek(0)
    try:
        return ZipReader(stream, zipfile.ZipFile(stream))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise MalformedInput(f"not a readable {label}: {exc}") from None


def open_zip(stream: BinaryIO, limits: ZipLimits, depth: int = 0) -> ZipReader:
    """Open and check everything the directory claims; raises LimitExceeded or MalformedInput.

    ``depth`` counts the archives this one sits in. Encrypted members pass: see ``encrypted``.
    """
    if depth >= limits.depth:
        raise LimitExceeded(f"archives nested deeper than {limits.depth}")
    reader = read_directory(stream, limits.label)
    _check_sizes(reader.entries, limits)
    if limits.strict_names:
        _check_names(reader.all_entries, limits)
    _check_layout(reader, limits.contiguous)
    return reader


def _check_sizes(entries: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    if len(entries) > limits.members:
        raise LimitExceeded(f"{len(entries)} {limits.noun} (limit {limits.members})")
    total = sum(info.file_size for info in entries)
    if total > limits.total_size:
        raise LimitExceeded(f"{total} bytes when unpacked (limit {limits.total_size})")
    for info in entries:
        name = member_name(info)[:100]
        if info.file_size > RATIO_FLOOR and info.file_size > limits.ratio * max(info.compress_size, 1):
            raise LimitExceeded(f"{name}: compression ratio above {limits.ratio} (zip bomb?)")
        if info.file_size > limits.member_size:
            raise LimitExceeded(f"{name}: {info.file_size} bytes unpacked (limit {limits.member_size})")


def _check_names(entries: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    seen: set[str] = set()
    for info in entries:
        for name in _readings(info):
            problem = name_problem(name)
            if problem:
                raise MalformedInput(f"{limits.noun} with a dangerous name: {name[:100]!r} ({problem})")
        key = name_key(info.orig_filename)
        if key in seen:
            raise MalformedInput(f"duplicate {limits.noun} {info.orig_filename[:100]!r}")
        seen.add(key)


def _readings(info: zipfile.ZipInfo) -> list[str]:
    """The name as every reader may see it: zipfile's (before it cuts at a NUL), and UTF-8
    when the bytes are UTF-8 though the flag says otherwise (an override hides there)."""
    readings = [info.orig_filename]
    if not info.flag_bits & UTF8_FLAG:
        try:
            readings.append(_raw_name(info).decode("utf-8"))
        except UnicodeDecodeError:
            pass
    return readings


def _check_layout(reader: ZipReader, contiguous: bool) -> None:
    """Each member's bytes are its own: local header, data and descriptor, in one span."""
    spans = sorted((_span(reader.stream, info), member_name(info)[:100]) for info in reader.all_entries)
    end = 0 if contiguous else None
    for (start, stop), name in spans:
        if end is not None and start < end:
            raise MalformedInput(f"{name}: its data overlaps another member's (a zip bomb?)")
        if contiguous and start != end:
            raise MalformedInput(f"{name}: bytes outside any member before it")
        end = stop
    if end is not None and end > reader.archive.start_dir:
        raise MalformedInput("member data runs into the central directory")
    if contiguous and end is not None and end != reader.archive.start_dir:
        raise MalformedInput("bytes outside any member before the central directory")


def _span(stream: BinaryIO, info: zipfile.ZipInfo) -> tuple[int, int]:
    name = member_name(info)[:100]
    stream.seek(info.header_offset)
    header = stream.read(_LOCAL.size)
    if len(header) < _LOCAL.size or not header.startswith(_LOCAL_SIGNATURE):
        raise MalformedInput(f"{name}: no local header where the directory points")
    _, _, flags, method, _, _, crc, packed, size, name_length, extra_length = _LOCAL.unpack(header)
    local_name = stream.read(name_length)
    extra = stream.read(extra_length)
    disagrees = (
        local_name != _raw_name(info)
        or (flags ^ info.flag_bits) & (ENCRYPTED_FLAG | DATA_DESCRIPTOR_FLAG)
        or method != info.compress_type
    )
    if not flags & DATA_DESCRIPTOR_FLAG:
        disagrees = disagrees or crc != info.CRC
        disagrees = disagrees or packed not in (info.compress_size, 0xFFFFFFFF)
        disagrees = disagrees or size not in (info.file_size, 0xFFFFFFFF)
    if disagrees:
        raise MalformedInput(f"{name}: the local header disagrees with the directory")
    data_end = info.header_offset + _LOCAL.size + name_length + extra_length + info.compress_size
    if flags & DATA_DESCRIPTOR_FLAG:
        stream.seek(data_end)
        signed = stream.read(4) == _DESCRIPTOR_SIGNATURE
        data_end += (4 if signed else 0) + (20 if ZIP64_EXTRA in _extra_ids(extra) else 12)
    return info.header_offset, data_end
