"""An embedded TrueType or OpenType program written anew from its tables.

A font engine reads a TrueType program through its table directory (OpenType 1.9, "font
file organisation"), so bytes outside every table — a ZIP after the last one, a page in a
gap — are never seen by the viewer but would be copied into the released PDF. The program
is rebuilt from the tables a PDF viewer draws glyphs with (ISO 32000-1 §9.6.6.4: the
outlines, metrics, character maps, hinting and layout tables): each table copied once, in
tag order, padded to four bytes, its checksum computed again. A table out of the program's
bounds, or two tables sharing bytes, make the program unreadable as a font: it is left
out and the viewer substitutes a font for it. A collection (``ttcf``) is left out too.
"""

from __future__ import annotations

import array
import struct
import sys

import pikepdf
from pikepdf import Stream

SFNT_VERSIONS = (b"\x00\x01\x00\x00", b"true", b"OTTO")
KEPT_TABLES = frozenset(
    {
        *(b"head", b"hhea", b"hmtx", b"maxp", b"loca", b"glyf", b"cmap", b"post", b"name", b"OS/2"),
        *(b"cvt ", b"fpgm", b"prep", b"gasp", b"kern", b"vhea", b"vmtx", b"hdmx", b"VDMX", b"LTSH"),
        *(b"PCLT", b"GDEF", b"GSUB", b"GPOS", b"BASE", b"JSTF", b"CFF ", b"CFF2", b"VORG"),
    }
)
MAX_TABLES = 64
_ENTRY = struct.Struct(">4sIII")
_CHECKSUM_MAGIC = 0xB1B0AFBA  # head.checkSumAdjustment makes the whole font sum to this
_ADJUSTMENT_AT = 8  # where checkSumAdjustment sits inside head


def _checksum(table: bytes) -> int:
    words = array.array("I", table + b"\x00" * (-len(table) % 4))  # 4-byte items on Linux
    if sys.byteorder == "little":
        words.byteswap()  # the font's words are big-endian
    return sum(words) & 0xFFFFFFFF


def _tables(untrusted: bytes) -> dict[bytes, bytes] | None:
    """The kept tables by tag; None when the directory or a table is out of bounds, two
    tables overlap, or a tag comes twice."""
    if len(untrusted) < 12 or untrusted[:4] not in SFNT_VERSIONS:
        return None
    untrusted_count = struct.unpack_from(">H", untrusted, 4)[0]
    directory_end = 12 + _ENTRY.size * untrusted_count
    if not 0 < untrusted_count <= MAX_TABLES or directory_end > len(untrusted):
        return None
    spans, tables = [], {}
    for number in range(untrusted_count):
        tag, _, offset, length = _ENTRY.unpack_from(untrusted, 12 + _ENTRY.size * number)
        if offset < directory_end or offset + length > len(untrusted) or tag in tables:
            return None
        spans.append((offset, offset + length))
        if tag in KEPT_TABLES:
            tables[tag] = untrusted[offset : offset + length]
    spans.sort()
    if any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)):
        return None
    return tables


def sfnt_rebuilt(untrusted: bytes) -> bytes | None:
    """The program from its kept tables, nothing before, between or after them but padding."""
    tables = _tables(untrusted)
    if not tables or b"head" not in tables or len(tables[b"head"]) < 12:
        return None
    tables[b"head"] = tables[b"head"][:_ADJUSTMENT_AT] + b"\x00" * 4 + tables[b"head"][_ADJUSTMENT_AT + 4 :]
    count = len(tables)
    power = 1 << (count.bit_length() - 1)
    header = untrusted[:4] + struct.pack(">HHHH", count, power * 16, power.bit_length() - 1, (count - power) * 16)
    offset, directory, body, head_at, tables_sum = 12 + _ENTRY.size * count, [], [], 0, 0
    for tag in sorted(tables):
        table = tables[tag]
        head_at = offset if tag == b"head" else head_at
        checksum = _checksum(table)
        tables_sum += checksum
        directory.append(_ENTRY.pack(tag, checksum, offset, len(table)))
        body.append(table + b"\x00" * (-len(table) % 4))
        offset += len(table) + (-len(table) % 4)
    front = header + b"".join(directory)
    font = bytearray(front + b"".join(body))
    # Every part starts on a 4-byte boundary and is padded with zeros, so the whole font's
    # sum of words is the front's plus each table's: the tables are not read a second time.
    whole = (_checksum(front) + tables_sum) & 0xFFFFFFFF
    struct.pack_into(">I", font, head_at + _ADJUSTMENT_AT, (_CHECKSUM_MAGIC - whole) & 0xFFFFFFFF)
    return bytes(font)


def font_program_rebuilt(stream: Stream) -> bool:
    """Rewrite a FontFile2 or OpenType FontFile3 in place from its tables; False: the font
    goes. CFF and Type 1 programs are not table files and are held elsewhere (pdf_payload,
    pdf_postscript)."""
    try:
        data = stream.read_bytes(decode_level=pikepdf.StreamDecodeLevel.specialized)
    except pikepdf.PdfError:
        return False
    if data[:4] not in (*SFNT_VERSIONS, b"ttcf"):
        return True
    rebuilt = sfnt_rebuilt(data)
    if rebuilt is None:
        return False
    stream.write(rebuilt)
    for key in ("/Length1", "/Length2", "/Length3"):
        if key in stream:
            del stream[key]
    stream.Length1 = len(rebuilt)
    return True
