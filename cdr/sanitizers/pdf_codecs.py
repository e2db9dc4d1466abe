"""JPEG and JPEG 2000 data inside a PDF, rewritten with only what a decoder reads.

A PDF image's DCT or JPX data is a whole file in another format, and a viewer's codec reads
only part of it: a JPEG's comments, EXIF, XMP and other application segments, a JP2's
XML and UUID boxes, and anything after the end marker are skipped by the codec but would
be copied byte for byte into the released PDF (an HTML page, a whole ZIP). The picture
itself is kept losslessly: the tables, frame and scans of a JPEG (baseline, extended or
progressive, its several scans and tables alike) and the codestream of a JPEG 2000 file are
copied as they are; everything around them is written anew from parsed fields.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from cdr.sanitizers.icc import clean_profile

# SOF0-2 (Huffman frames: baseline, extended, progressive), DHT, DQT, DRI (ITU T.81 table
# B.1); lossless and arithmetic frames (SOF3, 5-7, 9-15) and DAC are no PDF image's and go
_SOF0, _SOF2, _DHT, _DQT, _DRI = 0xC0, 0xC2, 0xC4, 0xDB, 0xDD
_JPEG_KEPT = frozenset({_SOF0, 0xC1, _SOF2, _DHT, _DQT, _DRI})
_JPEG_DROPPED = frozenset({*range(0xE0, 0xF0), 0xFE})  # APPn and COM: a decoder skips them
_SOS, _EOI, _APP0, _APP14 = 0xDA, 0xD9, 0xE0, 0xEE
# the end of entropy-coded data: a marker that is neither stuffing (FF00) nor a restart (RSTn)
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_JFIF_FIELDS = struct.Struct(">BBBHH")  # version, units, x and y density
_ADOBE_FIELDS = struct.Struct(">HHHB")  # version, flags 0 and 1, colour transform


def _jfif(body: bytes) -> bytes | None:
    """APP0 JFIF rebuilt from its density fields, without a thumbnail."""
    if not body.startswith(b"JFIF\x00") or len(body) < 5 + _JFIF_FIELDS.size:
        return None
    major, minor, units, x_density, y_density = _JFIF_FIELDS.unpack_from(body, 5)
    fields = _JFIF_FIELDS.pack(1, min(minor, 2), min(units, 2), x_density, y_density)
    return b"JFIF\x00" + fields + b"\x00\x00"


def _adobe(body: bytes) -> bytes | None:
    """APP14 Adobe rebuilt from its colour transform: it decides whether a three or four
    component picture is YCbCr, RGB, YCCK or CMYK (Adobe technical note 5116)."""
    if not body.startswith(b"Adobe") or len(body) < 5 + _ADOBE_FIELDS.size:
        return None
    transform = _ADOBE_FIELDS.unpack_from(body, 5)[3]
    return b"Adobe" + _ADOBE_FIELDS.pack(100, 0, 0, min(transform, 2))


def _tables_fill(body: bytes, size: Callable[[bytes, int], int]) -> bool:
    """Whether ``body`` is tables one after another, each ``size`` long from where it starts,
    the last one ending at the body's end."""
    at = 0
    while at < len(body):
        at += size(body, at)
    return at == len(body)


def _dqt_size(body: bytes, at: int) -> int:
    precision = body[at] >> 4
    return 1 + 64 * (1 + precision) if precision < 2 else len(body) + 1


def _dht_size(body: bytes, at: int) -> int:
    return 17 + sum(body[at + 1 : at + 17]) if at + 17 <= len(body) else len(body) + 1


def _fields_fit(marker: int, body: bytes) -> bool:
    """Whether a kept segment holds exactly what its decoder reads (T.81 B.2.2-B.2.4, B.2.3):
    bytes past a frame's components or a table's last entry are skipped or refused by
    libjpeg, and would be copied unseen."""
    if marker in (_SOF0, 0xC1, _SOF2):
        return len(body) >= 6 and len(body) == 6 + 3 * body[5]
    if marker == _SOS:
        return len(body) >= 1 and len(body) == 4 + 2 * body[0]
    if marker == _DRI:
        return len(body) == 2
    if marker == _DQT:
        return _tables_fill(body, _dqt_size)
    return _tables_fill(body, _dht_size)


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def jpeg_rebuilt(untrusted: bytes) -> bytes | None:
    """The JPEG with SOI, its tables, frame and scans, JFIF and Adobe fields, and EOI; None
    when it is not a JPEG a decoder could read (an unknown marker, a segment out of bounds)."""
    if not untrusted.startswith(b"\xff\xd8"):
        return None
    out, at, scans = [b"\xff\xd8"], 2, 0
    while at < len(untrusted):
        if untrusted[at] != 0xFF:
            return None
        while at < len(untrusted) and untrusted[at] == 0xFF:  # fill bytes before a marker
            at += 1
        if at >= len(untrusted):
            break
        marker, at = untrusted[at], at + 1
        if marker == _EOI:
            break
        if at + 2 > len(untrusted):
            return None
        length = struct.unpack_from(">H", untrusted, at)[0]
        if length < 2 or at + length > len(untrusted):
            return None
        body, at = untrusted[at + 2 : at + length], at + length
        if (marker == _SOS or marker in _JPEG_KEPT) and not _fields_fit(marker, body):
            return None
        if marker == _SOS:
            found = _SCAN_END.search(untrusted, at)
            end = found.start() if found else len(untrusted)
            out.append(_segment(marker, body) + untrusted[at:end])
            at, scans = end, scans + 1
        elif marker in _JPEG_KEPT:
            out.append(_segment(marker, body))
        elif marker in (_APP0, _APP14):
            rebuilt = _jfif(body) if marker == _APP0 else _adobe(body)
            if rebuilt is not None:
                out.append(_segment(marker, rebuilt))
        elif marker not in _JPEG_DROPPED:
            return None  # other frames, DAC, DHP, EXP, JPGn, reserved: nothing a PDF image needs
    # data cut inside the last scan ends there for a viewer too: the end marker is added
    return b"".join(out) + b"\xff\xd9" if scans else None


# ---------------------------------------------------------------- JPEG 2000 (ISO 15444-1)
_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_FILE_TYPE = struct.pack(">I4s4sI4s", 20, b"ftyp", b"jp2 ", 0, b"jp2 ")
_SOC, _SOT, _SOD, _EOC, _COM = 0xFF4F, 0xFF90, 0xFF93, 0xFFD9, 0xFF64
_MAX_TILE_PARTS = 65_536


def _boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, contents) of each box, in order, up to the first that runs out of bounds
    (whatever follows a codestream is no box a decoder reads)."""
    boxes, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        header = 8
        if size == 1 and at + 16 <= len(data):
            size, header = struct.unpack_from(">Q", data, at + 8)[0], 16
        elif size == 0:
            size = len(data) - at  # the last box runs to the end
        if size < header or at + size > len(data):
            break
        boxes.append((kind, data[at + header : at + size]))
        at += size
    return boxes


def _box(kind: bytes, contents: bytes) -> bytes:
    return struct.pack(">I4s", len(contents) + 8, kind) + contents


def codestream_rebuilt(untrusted: bytes) -> bytes | None:
    """A JPEG 2000 codestream from SOC to EOC, main-header and tile-part comments left out;
    None when its tile-parts do not lead to an end marker."""
    if not untrusted.startswith(b"\xff\x4f\xff\x51"):
        return None
    out, at = [untrusted[:2]], 2
    while at + 4 <= len(untrusted):  # main header: marker segments up to the first tile-part
        marker, length = struct.unpack_from(">HH", untrusted, at)
        if marker == _SOT:
            break
        if marker >> 8 != 0xFF or length < 2 or at + 2 + length > len(untrusted):
            return None
        if marker != _COM:
            out.append(untrusted[at : at + 2 + length])
        at += 2 + length
    for _ in range(_MAX_TILE_PARTS):  # each tile-part says its own length (A.4.2)
        if at + 2 <= len(untrusted) and struct.unpack_from(">H", untrusted, at)[0] == _EOC:
            return b"".join(out) + untrusted[at : at + 2]
        part = _tile_part(untrusted, at)
        if part is None:
            return None
        out.append(part[0])
        at = part[1]
    return None


def _tile_part(untrusted: bytes, at: int) -> tuple[bytes, int] | None:
    """The tile-part at ``at`` written with its header's segments but comments (a decoder
    skips a COM there as in the main header), its SOD and data; and where the next begins."""
    if at + 12 > len(untrusted) or untrusted[at : at + 4] != b"\xff\x90\x00\x0a":
        return None
    untrusted_length = struct.unpack_from(">I", untrusted, at + 6)[0]
    if untrusted_length == 0:  # the last tile-part, to the end marker
        end = untrusted.find(b"\xff\xd9", at + 12)  # packet data never holds FFD9
    else:
        end = at + untrusted_length if untrusted_length >= 14 else -1
    if end < 0 or end > len(untrusted):
        return None
    header, cursor = [], at + 12
    while cursor + 2 <= end and struct.unpack_from(">H", untrusted, cursor)[0] != _SOD:
        if cursor + 4 > end:
            return None
        marker, length = struct.unpack_from(">HH", untrusted, cursor)
        if marker >> 8 != 0xFF or length < 2 or cursor + 2 + length > end:
            return None
        if marker != _COM:
            header.append(untrusted[cursor : cursor + 2 + length])
        cursor += 2 + length
    if cursor + 2 > end:
        return None  # no start of data
    data = untrusted[cursor:end]
    size = 12 + sum(map(len, header)) + len(data) if untrusted_length else 0
    sot = untrusted[at : at + 6] + struct.pack(">I", size) + untrusted[at + 10 : at + 12]
    return sot + b"".join(header) + data, end


def jpx_rebuilt(untrusted: bytes) -> bytes | None:
    """JPX data with the signature, a file type, the JP2 header's decoding boxes and the
    codestream; a bare codestream cut at its end. None when it is neither."""
    if untrusted.startswith(b"\xff\x4f\xff\x51"):
        return codestream_rebuilt(untrusted)
    if not untrusted.startswith(_SIGNATURE):
        return None
    boxes = _boxes(untrusted)
    header = next((contents for kind, contents in boxes if kind == b"jp2h"), None)
    stream = next((contents for kind, contents in boxes if kind == b"jp2c"), None)
    inner = _boxes(header) if header is not None else None
    codestream = codestream_rebuilt(stream) if stream is not None else None
    if not inner or codestream is None or inner[0][0] != b"ihdr":
        return None
    kept = _header_rebuilt(inner)
    if kept is None:
        return None
    return _SIGNATURE + _FILE_TYPE + _box(b"jp2h", kept) + _box(b"jp2c", codestream)


def _header_rebuilt(inner: list[tuple[bytes, bytes]]) -> bytes | None:
    """The JP2 header's boxes, each cut to the fields its decoder reads (annex I.5.3;
    OpenJPEG skips what follows them); None when one is shorter than its fields."""
    out, components, palette_channels = [], 0, 0
    for kind, contents in inner:
        if kind == b"ihdr":
            fields = contents if len(contents) == 14 else None  # OpenJPEG refuses another size
            components = struct.unpack_from(">H", contents, 8)[0] if fields else 0
        elif kind == b"bpcc":
            fields = contents[:components] if len(contents) >= components > 0 else None
        elif kind == b"colr":
            fields = _colour(contents)
        elif kind == b"pclr":
            fields = _palette(contents)
            palette_channels = contents[2] if fields else 0
        elif kind == b"cmap":
            size = 4 * palette_channels
            fields = contents[:size] if len(contents) >= size > 0 else None
        elif kind == b"cdef":
            size = 2 + 6 * struct.unpack_from(">H", contents)[0] if len(contents) >= 2 else len(contents) + 1
            fields = contents[:size] if len(contents) >= size else None
        else:
            continue  # res (capture and display resolution: no PDF viewer reads it), anything else
        if fields is None:
            return None
        out.append(_box(kind, fields))
    return b"".join(out)


def _colour(contents: bytes) -> bytes | None:
    """colr: an enumerated colour space (seven bytes, 35 for CIELab with its parameters) or
    an ICC profile, rebuilt from its tags like any other profile."""
    if len(contents) < 7 or contents[0] not in (1, 2, 3):
        return None
    if contents[0] == 1:
        enumerated = struct.unpack_from(">I", contents, 3)[0]
        return contents[:35] if enumerated == 14 and len(contents) >= 35 else contents[:7]
    profile, _ = clean_profile(contents[3:])
    return contents[:3] + profile if profile is not None else None


def _palette(contents: bytes) -> bytes | None:
    """pclr: entries and columns, each column's depth, then entries × the columns' bytes."""
    if len(contents) < 3:
        return None
    entries, columns = struct.unpack_from(">HB", contents)
    if len(contents) < 3 + columns:
        return None
    size = 3 + columns + entries * sum(((depth & 0x7F) + 8) // 8 for depth in contents[3 : 3 + columns])
    return contents[:size] if len(contents) >= size else None
