"""Outlook's TNEF (``winmail.dat``, application/ms-tnef): the attachments and plain body inside.

A TNEF stream is a signature, a key, then attributes (level, id, length, bytes, checksum).
Only three things are taken: each attachment's data, its name (the long MAPI name when
present, else the 8-bit title in the stream's code page) and the plain-text body. Every
other attribute (RTF body, MAPI properties of the message, calendar data) is skipped by
its length. Written here from the MS-OXTNEF description; no library (the ones that exist
are GPL or unmaintained). Runs inside the sandbox.
"""

from __future__ import annotations

import struct

from cdr.errors import LimitExceeded, MalformedInput
from cdr.mail_charset import decode_text, one_line
from cdr.mail_model import Part
from cdr.policy import Limits

TNEF_SIGNATURE = b"\x78\x9f\x3e\x22"
# Attribute ids (the low 16 bits; the high ones name the attribute's type)
ATT_BODY = 0x800C
ATT_ATTACH_RENDDATA = 0x9002  # starts a new attachment
ATT_ATTACH_TITLE = 0x8010
ATT_ATTACH_DATA = 0x800F
ATT_ATTACHMENT = 0x9005  # the attachment's MAPI properties
ATT_OEM_CODEPAGE = 0x9007
PR_ATTACH_LONG_FILENAME = 0x3707
_HEADER = struct.Struct("<BII")  # level, attribute id, length


class _Attachment:
    def __init__(self) -> None:
        self.title = ""
        self.long_name = ""
        self.data = b""


def read_tnef(data: bytes, limits: Limits) -> tuple[str | None, list[Part]]:
    """The plain body (or None) and the attachments of a TNEF stream."""
    if not data.startswith(TNEF_SIGNATURE) or len(data) < 6:
        raise MalformedInput("winmail.dat is not a TNEF stream")
    codepage = "cp1252"
    body: str | None = None
    attachments: list[_Attachment] = []
    offset = 6
    while offset + _HEADER.size <= len(data):
        _level, attribute, length = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        value = data[start : start + length]
        if len(value) != length:
            raise MalformedInput("winmail.dat ends inside an attribute")
        offset = start + length + 2  # the checksum is not trusted for anything
        kind = attribute & 0xFFFF
        if kind == ATT_OEM_CODEPAGE and length >= 4:
            codepage = f"cp{struct.unpack_from('<I', value)[0]}"
        elif kind == ATT_BODY:
            body = decode_text(value.rstrip(b"\0"), codepage)
        elif kind == ATT_ATTACH_RENDDATA:
            if len(attachments) >= limits.archive_members:
                raise LimitExceeded(f"winmail.dat has more than {limits.archive_members} attachments")
            attachments.append(_Attachment())
        elif attachments and kind == ATT_ATTACH_TITLE:
            attachments[-1].title = decode_text(value.split(b"\0", 1)[0], codepage)
        elif attachments and kind == ATT_ATTACH_DATA:
            attachments[-1].data = value
        elif attachments and kind == ATT_ATTACHMENT:
            attachments[-1].long_name = _long_name(value, codepage)
    parts = [
        Part(one_line(a.long_name or a.title or f"attachment-{n}.bin", 255), a.data)
        for n, a in enumerate(attachments, 1)
        if a.data
    ]
    return body, parts


_FIXED_SIZES = {0x0002: 4, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x000B: 4, 0x0005: 8, 0x0006: 8, 0x0007: 8,
                0x0014: 8, 0x0040: 8, 0x0048: 16}
_VARIABLE = (0x001E, 0x001F, 0x0102, 0x000D)


def _long_name(props: bytes, codepage: str) -> str:
    """PR_ATTACH_LONG_FILENAME from an attachment's MAPI property list, or "" when the
    list holds a property of a kind this reader does not know before it."""
    try:
        (count,) = struct.unpack_from("<I", props)
        offset = 4
        for _ in range(min(count, 10_000)):
            prop_type, prop_id = struct.unpack_from("<HH", props, offset)
            offset += 4
            if prop_id >= 0x8000:  # a named property: GUID, then a number or a name
                (kind,) = struct.unpack_from("<I", props, offset + 16)
                offset += 20
                if kind == 1:
                    (length,) = struct.unpack_from("<I", props, offset)
                    offset += 4 + length + (-length % 4)
                else:
                    offset += 4
            values, offset = _values(props, offset, prop_type)
            if prop_id == PR_ATTACH_LONG_FILENAME and values:
                raw = values[0]
                if prop_type & 0x0FFF == 0x001F:
                    return raw.decode("utf-16-le", "replace").rstrip("\0")
                return decode_text(raw.rstrip(b"\0"), codepage)
    except (struct.error, ValueError):
        return ""
    return ""


def _values(props: bytes, offset: int, prop_type: int) -> tuple[list[bytes], int]:
    base = prop_type & 0x0FFF
    multiple = bool(prop_type & 0x1000)
    if base in _FIXED_SIZES and not multiple:
        size = _FIXED_SIZES[base]
        return [props[offset : offset + size]], offset + size
    if base not in _VARIABLE and not (multiple and base in _FIXED_SIZES):
        raise ValueError("a MAPI property type this reader does not know")
    (count,) = struct.unpack_from("<I", props, offset)
    offset += 4
    values: list[bytes] = []
    for _ in range(min(count, 10_000)):
        if base in _FIXED_SIZES:
            size = _FIXED_SIZES[base]
            values.append(props[offset : offset + size])
            offset += size
            continue
        (length,) = struct.unpack_from("<I", props, offset)
        values.append(props[offset + 4 : offset + 4 + length])
        offset += 4 + length + (-length % 4)
    return values, offset
