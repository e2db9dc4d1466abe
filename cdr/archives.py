"""Every archive format behind one reader: the archive sanitizer walks members the same way
whether they come from a ZIP, a 7z, a RAR, a tar (plain or compressed), an LZH or a CAB.

Runs inside the sandbox. Nothing is ever extracted to disk: a member's bytes are streamed
into memory with a cap on what is actually produced, whatever its header declared.

- ZIP keeps its own reader (``cdr.zipreader``: layout checks, PPAP unlock with pyzipper).
- 7z, RAR 4 and 5, tar (with gzip, bzip2 or xz round it), LZH/LHA and CAB are read by
  libarchive (``libarchive-c``), told the one format detection found, so a polyglot is
  never read as another kind. A compressed file that is not a tar is one member, named
  after the archive without its compression suffix.
- An encrypted 7z is read with py7zr once an administrator gives the password. libarchive
  3.6 decrypts neither 7z nor RAR, and no free library decrypts RAR (rarfile calls the
  non-free unrar), so an encrypted RAR stays in quarantine.

``check_headers`` holds every archive to the same limits before a byte is inflated:
members, declared sizes (each and in total) and the ratio to the archive's own size;
``read_capped`` then counts the bytes really produced. Member names are decoded by one
rule for every format (``cdr.names.decode_name``).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import locale
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, BinaryIO, Protocol

from cdr.errors import Encrypted, LimitExceeded, MalformedInput, WrongPassword
from cdr.model import FileType
from cdr.names import decode_name
from cdr.zipreader import RATIO_FLOOR, ZipLimits, ZipReader, is_encrypted, member_name, open_zip

# dlopen by soname: ctypes' find_library would run ldconfig, and a job may not exec.
os.environ.setdefault("LIBARCHIVE", "libarchive.so.13")
import libarchive  # noqa: E402  (after the soname is set)
import libarchive.exception  # noqa: E402
import libarchive.ffi as _ffi  # noqa: E402
from libarchive.read import ArchiveRead  # noqa: E402

_ffi.ffi("entry_is_encrypted", [_ffi.c_archive_entry_p], ctypes.c_int)
_ffi.ffi("entry_pathname_utf8", [_ffi.c_archive_entry_p], ctypes.c_char_p)

FILE, DIRECTORY, LINK, DEVICE = "file", "directory", "link", "device"
_COMPRESSION_SUFFIXES = (".gz", ".tgz", ".bz2", ".tbz", ".tbz2", ".xz", ".txz", ".zst", ".z")
_CHUNK = 1 << 16
PPAP_MESSAGE = f"the archive is password-protected (PPAP); {Encrypted.HOW_TO_UNLOCK}"


@dataclass(frozen=True)
class Member:
    """One entry as its header describes it: all untrusted until the limits have passed."""

    index: int
    name: str
    kind: str  # FILE, DIRECTORY, LINK (symbolic or hard) or DEVICE (fifo, socket, device)
    declared_size: int  # -1 when the header does not say
    encrypted: bool


class MemberReader(Protocol):
    """What the archive sanitizer needs of any format."""

    label: str
    members: list[Member]

    @property
    def encrypted(self) -> bool: ...

    def contents(self, cap: int, password: str | None) -> Iterator[tuple[Member, bytes]]:
        """Every FILE member with its bytes, in archive order; more than ``cap`` bytes of
        one member is LimitExceeded."""
        ...


def check_headers(reader: MemberReader, limits: ZipLimits, packed_size: int) -> None:
    """The limits of the policy against what the headers declare (one place for every format)."""
    files = [m for m in reader.members if m.kind == FILE]
    if len(reader.members) > limits.members:
        raise LimitExceeded(f"{len(reader.members)} {limits.noun} (limit {limits.members})")
    declared = sum(max(m.declared_size, 0) for m in files)
    if declared > limits.total_size:
        raise LimitExceeded(f"{declared} bytes when unpacked (limit {limits.total_size})")
    for member in files:
        if member.declared_size > limits.member_size:
            raise LimitExceeded(
                f"{member.name[:100]}: {member.declared_size} bytes unpacked (limit {limits.member_size})"
            )
    _check_ratio(declared, packed_size, limits)


def _check_ratio(unpacked: int, packed_size: int, limits: ZipLimits) -> None:
    if unpacked > RATIO_FLOOR and unpacked > limits.ratio * max(packed_size, 1):
        raise LimitExceeded(f"compression ratio above {limits.ratio} (archive bomb?)")


class Budget:
    """The bytes members really produce, against the total and the ratio (headers may lie)."""

    def __init__(self, limits: ZipLimits, packed_size: int) -> None:
        self.limits = limits
        self.packed_size = packed_size
        self.produced = 0

    def member_cap(self, member_size: int) -> int:
        """The most one member may produce: past it, the member or the whole would be over a
        limit anyway, so a bomb is stopped while it inflates, not after."""
        by_ratio = max(RATIO_FLOOR, int(min(self.limits.ratio * max(self.packed_size, 1), 2**62)))
        return min(member_size, self.limits.total_size, by_ratio)

    def spend(self, size: int) -> None:
        self.produced += size
        if self.produced > self.limits.total_size:
            raise LimitExceeded(f"more than {self.limits.total_size} bytes when unpacked (archive bomb?)")
        _check_ratio(self.produced, self.packed_size, self.limits)


# ------------------------------------------------------------------------------ ZIP
class ZipMembers:
    """A ZIP through the common interface; its own reader keeps the layout checks."""

    label = "ZIP archive"

    def __init__(self, reader: ZipReader) -> None:
        self.reader = reader
        self._infos = reader.entries
        self.members = [
            Member(i, member_name(info), FILE, info.file_size, is_encrypted(info))
            for i, info in enumerate(self._infos)
        ]

    @property
    def encrypted(self) -> bool:
        return self.reader.encrypted

    def contents(self, cap: int, password: str | None) -> Iterator[tuple[Member, bytes]]:
        for member, info in zip(self.members, self._infos, strict=True):
            yield member, self.reader.read(info, cap, password, PPAP_MESSAGE)


# ------------------------------------------------------------------------------ libarchive
_ffi.ffi("read_set_options", [_ffi.c_archive_p, ctypes.c_char_p], ctypes.c_int, _ffi.check_int)
_ffi.ffi("read_open_memory", [_ffi.c_archive_p, ctypes.c_void_p, ctypes.c_size_t], ctypes.c_int, _ffi.check_int)
# Formats whose reader converts stored name bytes itself (tar hands them over raw)
_CHARSET_FORMATS = frozenset({"lha", "cab", "rar"})
RAR_ENCRYPTED = (
    "no free library decrypts RAR here; ask the sender for a ZIP or 7z, or for the files without a password"
)

# Each type is read only as the format detection found (by its magic bytes).
_FORMATS: dict[FileType, tuple[str, str]] = {
    FileType.SEVEN_ZIP: ("7zip", "none"),
    FileType.TAR: ("tar", "none"),
    FileType.GZIP: ("tar", "all"),
    FileType.LZH: ("lha", "none"),
    FileType.CAB: ("cab", "none"),
}


def _rar_format(head: bytes) -> str:
    return "rar5" if head.startswith(b"Rar!\x1a\x07\x01\x00") else "rar"


class LibarchiveMembers:
    """7z, RAR, tar, compressed tar, a single compressed file, LZH and CAB, read from memory
    (the input is bounded by the policy's file size)."""

    def __init__(self, stream: BinaryIO, file_type: FileType, archive_name: str, max_members: int) -> None:
        _unicode_locale()
        self.max_members = max_members
        stream.seek(0)
        self.data = stream.read()
        self.label = f"{file_type.value} archive"
        self.format, self.filter = (
            (_rar_format(self.data), "none") if file_type == FileType.RAR else _FORMATS[file_type]
        )
        self._single_name = _without_compression(archive_name)
        self.charset: str | None = None
        self.members: list[Member] = self._walk_headers(file_type)

    @property
    def encrypted(self) -> bool:
        return any(m.encrypted for m in self.members)

    def _walk_headers(self, file_type: FileType) -> list[Member]:
        if self.format in _CHARSET_FORMATS:
            return self._by_charset()
        try:
            members = self._headers()
        except MalformedInput:
            if file_type != FileType.GZIP:
                raise
        else:
            # zeros read as a tar are its end marker: an empty tar, or a gzip bomb of zeros,
            # which read as the one file it is meets the size limit while it inflates
            if members or file_type != FileType.GZIP:
                return members
        self.format = "raw"  # gzip, bzip2 or xz round one file, not a tar
        return self._headers()

    def _by_charset(self) -> list[Member]:
        """Formats that store names as bytes: UTF-8 when every name is UTF-8, else CP932
        (libarchive converts them itself and refuses bytes the charset does not allow)."""
        for charset in ("UTF-8", "CP932"):
            self.charset = charset
            try:
                return self._headers(next_charset=True)
            except _NameNotInCharset:
                continue
        raise MalformedInput(f"{self.label}: member names neither UTF-8 nor CP932")

    def _open(self) -> contextlib.AbstractContextManager[libarchive.read.ArchiveRead]:
        options = f"hdrcharset={self.charset}" if self.charset else None
        return _reading(self.data, self.format, self.filter, options)

    def _headers(self, next_charset: bool = False) -> list[Member]:
        """The members' headers; a name libarchive cannot read is malformed input, or — when
        the caller tries the charsets one by one — the signal to try the next."""
        members: list[Member] = []
        try:
            with self._open() as archive:
                for entry in archive:
                    members.append(self._member(len(members), entry))
                    if len(members) > self.max_members:  # one past the limit says enough
                        break
        except libarchive.exception.ArchiveError as exc:
            raise _archive_error(exc, self.label) from None
        except _NameNotInCharset:
            if next_charset:
                raise
            raise MalformedInput(f"{self.label}: a member without a readable name") from None
        return members

    def _member(self, index: int, entry: libarchive.entry.ArchiveEntry) -> Member:
        name = self._single_name if self.format == "raw" else _entry_name(entry)
        size = entry.size if _ffi.entry_size_is_set(entry._entry_p) else -1
        encrypted = bool(_ffi.entry_is_encrypted(entry._entry_p))
        return Member(index, name, _kind(entry), -1 if size is None else size, encrypted)

    def contents(self, cap: int, password: str | None) -> Iterator[tuple[Member, bytes]]:
        if self.encrypted:
            raise Encrypted(f"the {self.label} is encrypted; {_unlock_hint(self.format)}")
        try:
            with self._open() as archive:
                # a header walk cut past the member limit is shorter than the archive
                for member, entry in zip(self.members, archive, strict=False):
                    if member.kind == FILE:
                        yield member, _read_capped(entry.get_blocks(_CHUNK), cap, member.name)
        except libarchive.exception.ArchiveError as exc:
            raise _archive_error(exc, self.label) from None


def _unicode_locale() -> None:
    """libarchive converts stored names to the process's locale and refuses what it cannot
    convert: under plain C, every non-ASCII name would be refused."""
    if locale.nl_langinfo(locale.CODESET).upper().replace("-", "") != "UTF8":
        locale.setlocale(locale.LC_CTYPE, "C.UTF-8")


class _NameNotInCharset(Exception):  # noqa: N818 - a signal inside the reader, never raised out of it
    """libarchive could not convert a member name from the charset it was told: the header
    walk tries the next charset. Not a SanitizeError: those cross the sandbox as exit codes
    and each needs its own (cdr.errors); this one never leaves the reader (``_headers``)."""


@contextlib.contextmanager
def _reading(data: bytes, format_name: str, filter_name: str, options: str | None) -> Iterator[ArchiveRead]:
    archive_p = _ffi.read_new()
    try:
        _ffi.get_read_filter_function(filter_name)(archive_p)
        _ffi.get_read_format_function(format_name)(archive_p)
        if options:
            _ffi.read_set_options(archive_p, options.encode("ascii"))
        _ffi.read_open_memory(archive_p, ctypes.cast(data, ctypes.c_void_p), len(data))
        yield ArchiveRead(archive_p)
    finally:
        _ffi.read_free(archive_p)


def _entry_name(entry: libarchive.entry.ArchiveEntry) -> str:
    """The stored bytes by the one rule; formats that store Unicode (7z, RAR) come as UTF-8."""
    raw = _ffi.entry_pathname(entry._entry_p) or _ffi.entry_pathname_utf8(entry._entry_p)
    if raw is None:  # libarchive could not convert it from the charset it was told
        raise _NameNotInCharset("a member without a readable name")
    return decode_name(raw)


def _kind(entry: libarchive.entry.ArchiveEntry) -> str:
    if entry.issym or entry.islnk:
        return LINK
    if entry.isdir:
        return DIRECTORY
    if entry.isreg:
        return FILE
    return DEVICE


def _read_capped(blocks: Iterator[bytes], cap: int, name: str) -> bytes:
    data = bytearray()
    for block in blocks:
        data += block
        if len(data) > cap:
            raise LimitExceeded(f"{name[:100]}: unpacks to more than {cap} bytes (archive bomb?)")
    return bytes(data)


def _archive_error(exc: Exception, label: str) -> Exception:
    message = str(exc).split(" (errno")[0][:150]
    if "encrypt" in message.lower():
        return Encrypted(f"the {label} is encrypted; {_unlock_hint(label)}")
    if "cannot be converted" in message:
        return _NameNotInCharset(f"{label}: {message}")
    return MalformedInput(f"not a readable {label}: {message}")


def _unlock_hint(label: str) -> str:
    if label.startswith("rar"):
        return RAR_ENCRYPTED
    return Encrypted.HOW_TO_UNLOCK


def _without_compression(name: str) -> str:
    base = os.path.basename(name.replace("\\", "/")) or "file"
    lower = base.lower()
    for suffix in _COMPRESSION_SUFFIXES:
        if lower.endswith(suffix) and len(base) > len(suffix):
            stem = base[: -len(suffix)]
            return stem + ".tar" if suffix.startswith(".t") else stem
    return base + ".out"


# ------------------------------------------------------------------------------ 7z with a password
class SevenZipUnlocked:
    """An encrypted 7z read with py7zr and the administrator's password (AES-256); its
    headers may be encrypted too, so the members are listed here, after the password."""

    label = "7z archive"

    def __init__(self, stream: BinaryIO, password: str) -> None:
        import py7zr  # ~100 ms: only an unlock pays for it

        self.stream = stream
        self.password = password
        with self._opened(py7zr) as archive:
            self.members = [_seven_zip_member(i, info) for i, info in enumerate(archive.list())]

    @property
    def encrypted(self) -> bool:
        return True

    @contextlib.contextmanager
    def _opened(self, py7zr: ModuleType) -> Iterator[Any]:
        self.stream.seek(0)
        try:
            with py7zr.SevenZipFile(self.stream, password=self.password) as archive:
                yield archive
        except (*_WRONG_KEY_SIGNS, *_py7zr_errors(py7zr)) as exc:
            # A wrong AES key gives garbage to the decompressor: whatever it says, the
            # password (or the archive) is wrong; the administrator can try again.
            raise WrongPassword(f"the password does not open this archive ({type(exc).__name__})") from None

    def contents(self, cap: int, password: str | None) -> Iterator[tuple[Member, bytes]]:
        import py7zr

        factory = _CappedFactory(cap)
        with self._opened(py7zr) as archive:
            archive.extractall(factory=factory)
        for member in self.members:
            if member.kind == FILE:
                product = factory.products.get(member.name)
                if product is None:  # the two listings disagree about the archive
                    raise MalformedInput(f"{member.name[:100]}: no such member when unlocked")
                yield member, product.getvalue()


def _seven_zip_member(index: int, info: object) -> Member:
    name = str(getattr(info, "filename", ""))
    if getattr(info, "is_symlink", False):
        kind = LINK
    elif getattr(info, "is_directory", False):
        kind = DIRECTORY
    else:
        kind = FILE
    return Member(index, name, kind, int(getattr(info, "uncompressed", -1) or 0), True)


def _wrong_key_signs() -> tuple[type[BaseException], ...]:
    import lzma
    import zlib

    return (lzma.LZMAError, zlib.error, ValueError, TypeError, OSError, EOFError, LookupError, struct.error)


def _py7zr_errors(py7zr: ModuleType) -> tuple[type[BaseException], ...]:
    errors = vars(py7zr.exceptions).values()
    return tuple(e for e in errors if isinstance(e, type) and issubclass(e, Exception))


_WRONG_KEY_SIGNS = _wrong_key_signs()


class _CappedMember(io.BytesIO):
    """py7zr's writer interface over memory, refusing more than ``cap`` bytes."""

    def __init__(self, name: str, cap: int) -> None:
        super().__init__()
        self.member_name, self.cap = name, cap

    def write(self, data: bytes | bytearray) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.cap:
            raise LimitExceeded(f"{self.member_name[:100]}: unpacks to more than {self.cap} bytes (archive bomb?)")
        return super().write(data)

    def size(self) -> int:
        return len(self.getbuffer())

    def close(self) -> None:
        """py7zr closes each member when it is complete; its bytes are read afterwards."""


class _CappedFactory:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.products: dict[str, _CappedMember] = {}

    def create(self, filename: str) -> _CappedMember:
        self.products[filename] = _CappedMember(filename, self.cap)
        return self.products[filename]


# ------------------------------------------------------------------------------ opening
def open_members(
    stream: BinaryIO, file_type: FileType, name: str, limits: ZipLimits, depth: int, password: str | None
) -> MemberReader:
    """The archive's reader, its headers already held to ``limits``."""
    if depth >= limits.depth:
        raise LimitExceeded(f"archives nested deeper than {limits.depth}")
    if file_type == FileType.ZIP:
        reader: MemberReader = ZipMembers(open_zip(stream, limits, depth))
    elif file_type == FileType.SEVEN_ZIP and password is not None:
        reader = SevenZipUnlocked(stream, password)
    else:
        reader = LibarchiveMembers(stream, file_type, name, limits.members)
    check_headers(reader, limits, _size(stream))
    return reader


def _size(stream: BinaryIO) -> int:
    return stream.seek(0, io.SEEK_END)
