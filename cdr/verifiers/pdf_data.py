"""What a released PDF's coded data may hold: only what its decoder reads.

A decoder stops at its data's end and skips the parts of a file format it has no use for,
so anything stored there crosses unseen (a ZIP after deflate's final block or a JPEG's end
marker, an HTML page in a JPEG comment, a script in a JPEG 2000 XML box, a file after a
font's last table). A released PDF holds:

* deflate data with nothing after its final block, ASCII data with nothing after its end;
* no CCITT fax or JBIG2 data (the rebuild writes such pictures as decoded samples);
* JPEG data (ITU T.81) of SOI, Huffman frames, tables, restart intervals, scans, a JFIF
  header without a thumbnail and an Adobe colour-transform segment, each segment holding
  its fields and nothing more, ending at its EOI;
* JPEG 2000 data (ISO 15444-1 annex I) of the signature, file type, a JP2 header of the
  boxes a decoder reads (each as long as its fields) and one codestream, or a bare
  codestream, each ending at its EOC marker, with no comment in the main header or a
  tile-part's;
* TrueType and OpenType programs of known tables, each named once, inside the program, one
  after another with no gap, ending at the last.

Written against the specifications, not against the sanitizer: nothing here is imported
from ``cdr.sanitizers``.
"""

from __future__ import annotations

import re
import struct
import zlib

import pikepdf

from cdr.model import Finding

SCANNED_CODECS = frozenset({"/CCITTFaxDecode", "/CCF", "/JBIG2Decode"})
_ASCII_ENDS = {"/ASCIIHexDecode": b">", "/AHx": b">", "/ASCII85Decode": b"~>", "/A85": b"~>"}
_DCT, _JPX = frozenset({"/DCTDecode", "/DCT"}), frozenset({"/JPXDecode"})
# T.81 table B.1: the Huffman frames SOF0-2, DHT, DQT, DRI (no lossless or arithmetic frame)
_JPEG_FRAMES = frozenset({0xC0, 0xC1, 0xC2})
_JPEG_TABLES = _JPEG_FRAMES | {0xC4, 0xDB, 0xDD}
_JPEG_APP = {0xE0: (b"JFIF\x00", 14), 0xEE: (b"Adobe", 12)}  # identifier, body length
_ENTROPY_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_JP2_TOP = (b"ftyp", b"jp2h", b"jp2c")
_JP2_HEADER = frozenset({b"ihdr", b"bpcc", b"colr", b"pclr", b"cmap", b"cdef"})  # no res: no viewer reads it
_SFNT = (b"\x00\x01\x00\x00", b"true", b"OTTO")
# the tables a viewer draws glyphs with (ISO 32000-1 §9.6.6.4, OpenType 1.9)
_FONT_TABLES = frozenset(
    t.encode()
    for t in "head hhea hmtx maxp loca glyf cmap post name OS/2 fpgm prep gasp kern vhea vmtx hdmx VDMX "
    "LTSH PCLT GDEF GSUB GPOS BASE JSTF CFF2 VORG".split()
) | {b"cvt ", b"CFF "}


def inflated(raw: bytes, limit: int) -> tuple[int, int]:
    """Bytes the deflate data inflates to (the count stops past ``limit``) and bytes stored
    after its final block. A damaged stream ends where a viewer stops, with nothing after."""
    inflater, total, pending = zlib.decompressobj(), 0, raw
    try:
        while pending and not inflater.eof and total <= limit:
            total += len(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
        total += len(inflater.flush())
    except zlib.error:
        return total, 0
    return total, len(inflater.unused_data) if inflater.eof else 0


def _jpeg_tables_end(marker: int, body: bytes) -> bool:
    """Whether DQT or DHT tables (T.81 B.2.4.1, B.2.4.2) end exactly where the segment ends."""
    at = 0
    while at < len(body):
        if marker == 0xDB:
            at += 65 if body[at] >> 4 == 0 else 129 if body[at] >> 4 == 1 else len(body) + 1
        else:
            at += 17 + sum(body[at + 1 : at + 17]) if len(body) - at >= 17 else len(body) + 1
    return at == len(body)


def _jpeg_body_problem(marker: int, body: bytes) -> str | None:
    """Bytes in a kept segment beyond its fields: libjpeg skips or refuses them, unseen."""
    if marker in _JPEG_FRAMES:
        fits = len(body) >= 6 and len(body) == 6 + 3 * body[5]
    elif marker == 0xDA:
        fits = len(body) >= 1 and len(body) == 4 + 2 * body[0]
    elif marker == 0xDD:
        fits = len(body) == 2
    else:
        fits = _jpeg_tables_end(marker, body)
    return None if fits else f"JPEG segment FF{marker:02X} of {len(body)} bytes beyond its fields"


def _jpeg_problem(data: bytes) -> str | None:
    if not data.startswith(b"\xff\xd8"):
        return "DCT data without a JPEG start"
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        length = struct.unpack_from(">H", data, at + 2)[0]
        body = data[at + 4 : at + 2 + length]
        if marker in _JPEG_APP:
            identifier, size = _JPEG_APP[marker]
            if not body.startswith(identifier) or length - 2 != size:
                return f"JPEG application segment FF{marker:02X} holding {body[:12]!r}"
        elif marker not in _JPEG_TABLES and marker != 0xDA:
            return f"JPEG segment FF{marker:02X}"
        elif problem := _jpeg_body_problem(marker, body):
            return problem
        at += 2 + length
        if marker == 0xDA:
            end = _ENTROPY_END.search(data, at)
            at = end.start() if end else len(data)
        if data[at : at + 2] == b"\xff\xd9":
            return None if at + 2 == len(data) else f"{len(data) - at - 2} bytes after the JPEG end"
    return "JPEG data that does not end with its end marker"


def _codestream_problem(data: bytes) -> str | None:
    if not data.startswith(b"\xff\x4f\xff\x51") or not data.endswith(b"\xff\xd9"):
        return "a JPEG 2000 codestream that does not end at its end marker"
    at = 2
    while at + 4 <= len(data):
        marker, length = struct.unpack_from(">HH", data, at)
        if marker == 0xFF90:
            return _tile_parts_problem(data, at)
        if marker == 0xFF64:
            return "a comment in a JPEG 2000 codestream's header"
        at += 2 + length
    return "a JPEG 2000 codestream without a tile"


def _tile_parts_problem(data: bytes, at: int) -> str | None:
    """Tile-parts (A.4.2) from ``at`` one after another to the end marker, no comment in
    their headers (a decoder skips it there too)."""
    while at < len(data) - 2:
        if data[at : at + 4] != b"\xff\x90\x00\x0a" or at + 12 > len(data):
            return "a JPEG 2000 tile-part without its start"
        part_length = struct.unpack_from(">I", data, at + 6)[0]
        end = at + part_length if part_length else len(data) - 2
        if part_length and part_length < 14 or end > len(data) - 2:
            return "a JPEG 2000 tile-part beyond the codestream"
        cursor = at + 12
        while cursor + 4 <= end and data[cursor : cursor + 2] != b"\xff\x93":
            marker, length = struct.unpack_from(">HH", data, cursor)
            if marker == 0xFF64:
                return "a comment in a JPEG 2000 tile-part's header"
            cursor += 2 + max(length, 2)
        at = end
    return None if at == len(data) - 2 else "a JPEG 2000 tile-part beyond the codestream"


def _boxes(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """Each box with its declared length; None unless they fill ``data`` exactly."""
    boxes, at = [], 0
    while at < len(data):
        if at + 8 > len(data):
            return None
        size, kind = struct.unpack_from(">I4s", data, at)
        if size < 8 or at + size > len(data):
            return None
        boxes.append((kind, data[at + 8 : at + size]))
        at += size
    return boxes


def _jpx_problem(data: bytes) -> str | None:
    if data.startswith(b"\xff\x4f"):
        return _codestream_problem(data)
    if not data.startswith(_JP2_SIGNATURE):
        return "JPX data that is not JPEG 2000"
    boxes = _boxes(data[len(_JP2_SIGNATURE) :])
    if boxes is None or tuple(kind for kind, _ in boxes) != _JP2_TOP:
        return "a JPEG 2000 file of other boxes than its signature, type, header and codestream"
    header = _boxes(boxes[1][1])
    if header is None or any(kind not in _JP2_HEADER for kind, _ in header):
        return "a JPEG 2000 header with a box no decoder reads"
    return _jp2_header_problem(header) or _codestream_problem(boxes[2][1])


def _jp2_header_problem(header: list[tuple[bytes, bytes]]) -> str | None:
    """Each header box exactly as long as its fields (I.5.3): OpenJPEG skips the rest."""
    components = channels = 0
    for kind, body in header:
        if kind == b"ihdr" and len(body) == 14:
            components = int.from_bytes(body[8:10], "big")
            continue
        if kind == b"pclr" and len(body) >= 3 and len(body) >= 3 + body[2]:
            channels = body[2]
            sizes = [((depth & 0x7F) + 8) // 8 for depth in body[3 : 3 + channels]]
            if len(body) == 3 + channels + int.from_bytes(body[:2], "big") * sum(sizes):
                continue
        expected = {
            b"bpcc": components,
            b"cmap": 4 * channels,
            b"cdef": 2 + 6 * int.from_bytes(body[:2], "big"),
            b"colr": _colr_length(body),
        }.get(kind)
        if expected is None or len(body) != expected or expected == 0:
            return f"a JPEG 2000 header box {kind!r} of {len(body)} bytes beyond its fields"
    return None


def _colr_length(body: bytes) -> int:
    """An enumerated space's 7 bytes (35 for CIELab with its parameters), or 3 and the ICC
    profile's own size."""
    if body[:1] == b"\x01" and len(body) >= 7:
        return 35 if int.from_bytes(body[3:7], "big") == 14 and len(body) == 35 else 7
    if body[:1] in (b"\x02", b"\x03") and len(body) >= 7:
        return 3 + int.from_bytes(body[3:7], "big")
    return 0


def _font_problem(data: bytes) -> str | None:
    if data[:4] == b"ttcf":
        return "a font collection"
    if data[:4] not in _SFNT:
        return None  # CFF and Type 1 programs are read elsewhere (pdf_streams)
    count = struct.unpack_from(">H", data, 4)[0] if len(data) >= 6 else 0
    directory_end = 12 + 16 * count
    if count == 0 or directory_end > len(data):
        return "a TrueType program without a table directory"
    spans = []
    for number in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * number)
        if tag not in _FONT_TABLES:
            return f"TrueType table {tag!r}"
        if offset < directory_end or offset + length > len(data):
            return f"TrueType table {tag!r} outside the program"
        spans.append((offset, offset + length))
    if len({tag for tag, *_ in (struct.unpack_from(">4s", data, 12 + 16 * n) for n in range(count))}) < count:
        return "a TrueType table directory naming a table twice"
    spans.sort()
    if any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)):
        return "TrueType tables that overlap"
    # tables follow one another, padded to four bytes: a gap is bytes no font engine reads
    gaps = [later[0] - earlier[1] for earlier, later in zip([(0, directory_end), *spans], spans, strict=False)]
    if max(gaps) > 3:
        return f"{max(gaps)} bytes between a TrueType program's tables"
    if len(data) - spans[-1][1] > 3:
        return f"{len(data) - spans[-1][1]} bytes after a TrueType program's last table"
    return None


def _chain(entries: dict) -> list[str]:
    raw = entries.get("/Filter")
    return [] if raw is None else [str(f) for f in (raw if isinstance(raw, list) else [raw])]


def data_problem(stream: pikepdf.Stream, entries: dict, kind: str) -> tuple[str, str] | None:
    """(finding kind, detail) for coded data holding more than its decoder reads."""
    chain = _chain(entries)
    if SCANNED_CODECS & set(chain):
        return "pdf-scan-data-kept", " ".join(chain)
    codec = chain[-1] if chain else ""
    if codec in _DCT | _JPX:
        if len(chain) > 1:
            return "pdf-image-data-wrapped", " ".join(chain)
        problem = (_jpeg_problem if codec in _DCT else _jpx_problem)(stream.read_raw_bytes())
        return ("pdf-image-data-not-allowed", problem) if problem else None
    if chain and chain[0] in _ASCII_ENDS:
        tail = stream.read_raw_bytes().partition(_ASCII_ENDS[chain[0]])[2].strip()
        if tail:
            return "pdf-data-after-end", f"{len(tail)} bytes after the {chain[0]} end"
    if kind == "font-file":
        try:
            problem = _font_problem(stream.read_bytes())
        except pikepdf.PdfError:
            problem = "a font program that does not decode"
        return ("pdf-font-data-not-allowed", problem) if problem else None
    return None


def data_findings(pdf: pikepdf.Pdf, streams: dict[str, str], objects: dict[str, dict]) -> list[Finding]:
    """Each reached stream's coded data (``streams``: reference → kind) against its format."""
    found: dict[str, tuple[int, str]] = {}
    for reference, kind in streams.items():
        entries = objects[f"obj:{reference}"]["stream"].get("dict", {})
        number, generation = (int(n) for n in reference.split()[:2])
        problem = data_problem(pdf.get_object((number, generation)), entries, kind)
        if problem:
            count, detail = found.get(problem[0], (0, f"{problem[1]} ({reference})"))
            found[problem[0]] = (count + 1, detail)
    return [Finding(kind, f"first: {detail}", count) for kind, (count, detail) in sorted(found.items())]
