"""Archives the way real tools write them, for tests/test_archives_more.py.

tar comes from Python's tarfile, 7z from py7zr. No free tool writes LZH, CAB or RAR here
(lhasa only extracts, gcab is not installed, rar is not free), so those three are laid out
byte by byte from their format notes, stored (uncompressed), which every reader accepts:
- LZH: a level-0 header per member, method ``-lh0-``, CRC-16/ARC of the data, a 0 byte at
  the end (the LHa for UNIX format notes; Japanese LHA writes names in CP932).
- CAB: CFHEADER, one CFFOLDER with no compression, CFFILE entries, CFDATA blocks of at
  most 32 KiB with checksum 0 ("not computed", [MS-CAB] 2.4).
- RAR 5: the signature, a main header, a file header per member with method 0 (store) and
  its data CRC-32, an end-of-archive header; every header with its CRC-32 (RAR 5.0
  technote).
"""

from __future__ import annotations

import io
import struct
import tarfile
import zlib

Members = list[tuple[str, bytes]]


# ------------------------------------------------------------------------------ tar
def tar_archive(members: Members, mode: str = "w", encoding: str = "utf-8", links: bool = False) -> bytes:
    """A tar by tarfile (``w``, ``w:gz``, ``w:bz2``, ``w:xz``); GNU format so the names are
    written in ``encoding`` as bytes, as GNU tar on a Japanese system does."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.GNU_FORMAT, encoding=encoding) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        if links:
            for kind, name, target in ((tarfile.SYMTYPE, "passwd", "/etc/passwd"), (tarfile.LNKTYPE, "hard", "x")):
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, target
                tar.addfile(info)
            device = tarfile.TarInfo("null")
            device.type, device.devmajor, device.devminor = tarfile.CHRTYPE, 1, 3
            tar.addfile(device)
    return buffer.getvalue()


# ------------------------------------------------------------------------------ 7z
def seven_zip(members: Members, password: str | None = None, header_encryption: bool = False) -> bytes:
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w", password=password, header_encryption=header_encryption) as archive:
        for name, data in members:
            archive.writestr(data, name)
    return buffer.getvalue()


# ------------------------------------------------------------------------------ LZH
def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def lzh_archive(members: Members, encoding: str = "cp932", declared_size: int | None = None) -> bytes:
    out = bytearray()
    for name, data in members:
        raw_name = name.encode(encoding)
        size = len(data) if declared_size is None else declared_size
        body = b"-lh0-" + struct.pack("<IIIBBB", len(data), size, 0x21210000, 0x20, 0, len(raw_name))
        body += raw_name + struct.pack("<H", _crc16(data))
        out += bytes([len(body), sum(body) & 0xFF]) + body + data
    return bytes(out + b"\x00")


# ------------------------------------------------------------------------------ CAB
def cab_archive(members: Members, declared_size: int | None = None) -> bytes:
    files = bytearray()
    offset = 0
    for name, data in members:
        raw = name.encode("utf-8")
        utf = 0x80 if any(b > 0x7F for b in raw) else 0  # _A_NAME_IS_UTF
        size = len(data) if declared_size is None else declared_size
        files += struct.pack("<IIHHHH", size, offset, 0, 0x5821, 0, 0x20 | utf) + raw + b"\x00"
        offset += len(data)
    payload = b"".join(data for _, data in members)
    blocks = [payload[at : at + 32768] for at in range(0, len(payload), 32768)] or [b""]
    data_start = 36 + 8 + len(files)
    cfdata = b"".join(struct.pack("<IHH", 0, len(b), len(b)) + b for b in blocks)
    header = b"MSCF" + struct.pack(
        "<IIIIIBBHHHHH", 0, data_start + len(cfdata), 0, 44, 0, 3, 1, 1, len(members), 0, 0x1234, 0
    )
    folder = struct.pack("<IHH", data_start, len(blocks), 0)
    return header + folder + bytes(files) + cfdata


# ------------------------------------------------------------------------------ RAR 5
def _vint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _rar5_header(fields: bytes) -> bytes:
    sized = _vint(len(fields)) + fields
    return struct.pack("<I", zlib.crc32(sized)) + sized


def rar5_archive(members: Members, encrypted_flag: bool = False, declared_size: int | None = None) -> bytes:
    out = bytearray(b"Rar!\x1a\x07\x01\x00")
    out += _rar5_header(_vint(1) + _vint(0) + _vint(0))  # main header, no flags
    for name, data in members:
        raw = name.encode("utf-8")
        extra = b""
        if encrypted_flag:  # an encryption record (type 1) in the extra area, as WinRAR writes
            record = _vint(1) + _vint(0) + _vint(0) + _vint(15) + bytes(16) + bytes(16)
            extra = _vint(len(record)) + record
        fields = _vint(2) + _vint(0x0002 | (0x0001 if extra else 0))
        if extra:
            fields += _vint(len(extra))
        fields += _vint(len(data))
        size = len(data) if declared_size is None else declared_size
        fields += _vint(0x0004) + _vint(size) + _vint(0x20)  # CRC32 present, unpacked size, attributes
        fields += struct.pack("<I", zlib.crc32(data)) + _vint(0) + _vint(0)  # store, Windows
        fields += _vint(len(raw)) + raw + extra
        out += _rar5_header(fields) + data
    out += _rar5_header(_vint(5) + _vint(0) + _vint(0))
    return bytes(out)


# ------------------------------------------------------------------------------ RAR 4
def _rar4_block(head_type: int, flags: int, body: bytes) -> bytes:
    rest = struct.pack("<BHH", head_type, flags, 7 + len(body)) + body
    return struct.pack("<H", zlib.crc32(rest) & 0xFFFF) + rest


def rar4_archive(members: Members, password_flag: bool = False) -> bytes:
    """RAR 1.5-4.x blocks (technote.txt of RAR 4): marker, archive header, one stored file
    block per member (method 0x30; flag 0x04 marks the data encrypted, as WinRAR sets it
    with a password), end-of-archive block."""
    out = bytearray(b"Rar!\x1a\x07\x00")
    out += _rar4_block(0x73, 0, bytes(6))
    for name, data in members:
        raw = name.encode("utf-8")
        # LONG_BLOCK (ADD_SIZE present) and, for a non-ASCII name, FHD_UNICODE: the name is
        # then stored as its plain form, a NUL and an encoded form; an empty encoded form
        # leaves libarchive with the plain bytes, so only ASCII names are written here
        flags = 0x8000 | (0x04 if password_flag else 0)
        body = struct.pack("<IIBIIBBHI", len(data), len(data), 3, zlib.crc32(data), 0x21210000, 20, 0x30, len(raw), 0o100644)
        out += _rar4_block(0x74, flags, body + raw) + data
    out += _rar4_block(0x7B, 0x4000, b"")
    return bytes(out)


def with_declared_size(tar: bytes, size: int) -> bytes:
    """A tar whose first header claims ``size`` bytes (octal field at 124, checksum at 148)."""
    header = bytearray(tar[:512])
    header[124:136] = b"%011o\x00" % size
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\x00 " % sum(header)
    return bytes(header) + tar[512:]
