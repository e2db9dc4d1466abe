"""Allow-list verification of a released image: its container walked by the format's
specification, then a decode that must give a picture of sane size (a JPEG at 1/8 scale:
libjpeg still reads every code of its stream).

- PNG (ISO/IEC 15948, APNG): chunks IHDR PLTE IDAT IEND tRNS pHYs gAMA cHRM sRGB iCCP acTL
  fcTL fdAT only, every CRC right, nothing after IEND.
- JPEG (ITU T.81, JFIF, ICC.1 B.4): SOI, APP0 JFIF, APP2 ICC_PROFILE, APP14 Adobe (colour
  transform of CMYK), DQT, DHT, SOFn, DRI, SOS with its entropy-coded data, RSTn, EOI;
  no COM, no APP1 (EXIF, XMP), nothing after EOI.
- GIF (89a): image descriptors, graphic control extensions and the NETSCAPE2.0 loop
  extension; no comment, plain-text or other application extensions, nothing after the trailer.
- BMP: a BITMAPINFOHEADER-family header with no linked or embedded profile, no bytes beyond
  the declared file size.
- TIFF 6.0: every IFD holds only the tags needed to decode the pixels (no EXIF, GPS, XMP,
  IPTC, Photoshop or sub-IFDs).
- WebP (RIFF): VP8 VP8L VP8X ALPH ANIM ANMF ICCP chunks only, no EXIF/XMP flags.

An ICC profile, where present, must pass ICC.1:2010's header and tag-table rules.
Nothing here is imported from ``cdr.sanitizers``.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from cdr.model import FileType, Finding
from cdr.verifiers import VerifyContext

VERIFIES = frozenset({FileType.JPEG, FileType.PNG, FileType.GIF, FileType.BMP, FileType.TIFF, FileType.WEBP})

MAX_ICC = 1 << 20
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHUNKS = frozenset(
    c.encode() for c in "IHDR PLTE IDAT IEND tRNS pHYs gAMA cHRM sRGB iCCP acTL fcTL fdAT".split()
)
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_TABLES = frozenset({0xC4, 0xDB, 0xDD}) | _SOF  # DHT, DQT, DRI, frame headers
_WEBP_CHUNKS = frozenset(c.encode() for c in ("VP8 ", "VP8L", "VP8X", "ALPH", "ANIM", "ANMF", "ICCP"))
# TIFF 6.0 tags that say how to decode pixels (sections 8, 14, 17–21; ICC 34675).
_TIFF_TAGS = frozenset(
    {254, 256, 257, 258, 259, 262, 266, 273, 274, 277, 278, 279, 282, 283, 284, 296, 317, 320, 322}
    | {323, 324, 325, 338, 339, 530, 531, 532, 34675}
)
_TIFF_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_ICC_CLASSES = frozenset({b"scnr", b"mntr", b"prtr", b"spac"})
_ICC_SPACES = frozenset({b"RGB ", b"GRAY", b"CMYK"})
# Registered tags of ICC.1:2010 §9.2 (and the v2 ones still met in cameras' profiles);
# private tags carry data no colour engine needs.
_ICC_TAGS = frozenset(
    tag.encode("ascii")
    for tag in (
        "A2B0 A2B1 A2B2 B2A0 B2A1 B2A2 D2B0 D2B1 D2B2 D2B3 B2D0 B2D1 B2D2 B2D3 bXYZ bTRC bkpt "
        "calt targ chad chrm ciis cicp clro clrt clot cprt desc dmnd dmdd gamt kTRC gXYZ gTRC lumi "
        "meas meta wtpt ncl2 resp rig0 rig2 pre0 pre1 pre2 rXYZ rTRC tech vued view "
        "devs psd0 psd1 psd2 psd3 ps2s ps2i scrd"
    ).split()
)


class _Problems(list):
    def add(self, kind: str, detail: str = "") -> None:
        self.append(Finding(kind, detail[:200]))


def icc_problem(profile: bytes) -> str | None:
    """Why a profile is not acceptable under ICC.1:2010 §7.2–7.3, or None."""
    if not 132 <= len(profile) <= MAX_ICC:
        return f"{len(profile)} bytes"
    (size,) = struct.unpack_from(">I", profile, 0)
    if size != len(profile) or profile[36:40] != b"acsp":
        return "header size or signature"
    if profile[12:16] not in _ICC_CLASSES or profile[16:20] not in _ICC_SPACES:
        return f"class {profile[12:16]!r}, colour space {profile[16:20]!r}"
    (count,) = struct.unpack_from(">I", profile, 128)
    table_end = 132 + 12 * count
    if count > 64 or table_end > size:
        return f"{count} tags"
    for index in range(count):
        signature, offset, length = struct.unpack_from(">4sII", profile, 132 + 12 * index)
        if offset < table_end or offset + length > size:
            return "a tag outside the profile"
        if signature not in _ICC_TAGS:
            return f"tag {signature!r} is not a registered one"
    return None


# ---------------------------------------------------------------- PNG
def _png(data: bytes, found: _Problems) -> None:
    position, seen_end = 8, False
    if data[12:16] != b"IHDR":
        found.add("png-no-ihdr", "the first chunk must be IHDR")
    while position < len(data):
        if seen_end:
            found.add("png-data-after-iend", f"{len(data) - position} bytes")
            return
        if position + 12 > len(data):
            found.add("png-truncated")
            return
        length, kind = struct.unpack_from(">I4s", data, position)
        end = position + 12 + length
        body = data[position + 8 : position + 8 + length]
        if end > len(data) or zlib.crc32(kind + body) != struct.unpack_from(">I", data, end - 4)[0]:
            found.add("png-bad-chunk", f"{kind!r} at {position}")
            return
        if kind not in _PNG_CHUNKS:
            found.add("png-chunk-not-allowed", kind.decode("latin-1"))
        elif kind == b"iCCP":
            _png_icc(body, found)
        seen_end = kind == b"IEND"
        position = end
    if not seen_end:
        found.add("png-no-iend")


def _png_icc(body: bytes, found: _Problems) -> None:
    name_end = body.find(b"\0")
    if not 0 < name_end < 80 or body[name_end + 1 : name_end + 2] != b"\0":
        found.add("icc-profile-not-allowed", "iCCP header")
        return
    inflater = zlib.decompressobj()
    try:
        profile = inflater.decompress(body[name_end + 2 :], MAX_ICC + 1)
    except zlib.error:
        found.add("icc-profile-not-allowed", "iCCP data does not inflate")
        return
    problem = icc_problem(profile)
    if problem:
        found.add("icc-profile-not-allowed", problem)


# ---------------------------------------------------------------- JPEG
def _jpeg(data: bytes, found: _Problems) -> None:
    position, icc_parts = 2, {}
    while position + 2 <= len(data):
        if data[position] != 0xFF:
            found.add("jpeg-bad-marker", f"at {position}")
            return
        marker = data[position + 1]
        if marker == 0xD9:  # EOI
            if position + 2 != len(data):
                found.add("jpeg-data-after-eoi", f"{len(data) - position - 2} bytes")
            break
        (length,) = struct.unpack_from(">H", data, position + 2)  # struct.error when truncated
        segment = data[position + 4 : position + 2 + length]
        if length < 2 or position + 2 + length > len(data):
            found.add("jpeg-truncated")
            return
        if marker == 0xE0 and segment.startswith(b"JFIF\0"):
            pass
        elif marker == 0xE2 and segment.startswith(b"ICC_PROFILE\0") and len(segment) > 14:
            icc_parts[segment[12]] = segment[14:]
        elif marker == 0xEE and segment.startswith(b"Adobe"):
            pass
        elif marker not in _JPEG_TABLES and marker != 0xDA:
            found.add("jpeg-marker-not-allowed", f"0x{marker:02X}")
        position += 2 + length
        if marker == 0xDA:
            position = _entropy_end(data, position)
    else:
        found.add("jpeg-no-eoi")
    if icc_parts:
        problem = icc_problem(b"".join(icc_parts[k] for k in sorted(icc_parts)))
        if problem:
            found.add("icc-profile-not-allowed", problem)


# An 0xFF that starts a marker inside entropy-coded data: not a stuffed zero (FF 00), not
# a restart marker (FF D0–D7), not a fill byte before the marker's own FF (T.81 B.1.1.5).
_MARKER_IN_SCAN = re.compile(rb"\xff(?=[^\x00\xd0-\xd7\xff])")


def _entropy_end(data: bytes, position: int) -> int:
    """Where the entropy-coded data after SOS ends: the first marker that is not a
    stuffed zero or a restart marker; the end of the data when there is none. One regular
    expression search, not a Python step per 0xFF byte (a photo's scan holds thousands)."""
    marker = _MARKER_IN_SCAN.search(data, position)
    return marker.start() if marker else len(data)


# ---------------------------------------------------------------- GIF
def _gif(data: bytes, found: _Problems) -> None:
    if len(data) < 13:
        found.add("gif-truncated")
        return
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while position < len(data):
        block = data[position]
        if block == 0x3B:
            if position + 1 != len(data):
                found.add("gif-data-after-trailer", f"{len(data) - position - 1} bytes")
            return
        if block == 0x2C:
            if position + 10 > len(data):
                break
            local = data[position + 9]
            position += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0) + 1  # + LZW code size
        elif block == 0x21 and position + 2 < len(data):
            label = data[position + 1]
            first = data[position + 3 : position + 3 + data[position + 2]]
            if label == 0xFF and first == b"NETSCAPE2.0":
                pass
            elif label != 0xF9:
                found.add("gif-extension-not-allowed", f"0x{label:02X} {first[:11]!r}")
            position += 2
        else:
            found.add("gif-bad-block", f"0x{block:02X} at {position}")
            return
        position = _after_sub_blocks(data, position)
    found.add("gif-no-trailer")


def _after_sub_blocks(data: bytes, position: int) -> int:
    while position < len(data) and data[position]:
        position += data[position] + 1
    return position + 1


# ---------------------------------------------------------------- BMP, TIFF, WebP
def _bmp(data: bytes, found: _Problems) -> None:
    if len(data) < 54:
        found.add("bmp-truncated")
        return
    (declared,) = struct.unpack_from("<I", data, 2)
    (header,) = struct.unpack_from("<I", data, 14)
    if declared != len(data):
        found.add("bmp-size-mismatch", f"declares {declared}, holds {len(data)}")
    if header not in (40, 108, 124):
        found.add("bmp-header-not-allowed", f"{header}-byte header")
    elif header >= 108 and data[70:74] in (b"LINK", b"MBED", b"KNIL", b"DEBM"):
        found.add("bmp-profile-not-allowed", "linked or embedded profile")


def _tiff(data: bytes, found: _Problems) -> None:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack_from(order + "H", data, 2)[0] != 42:
        found.add("tiff-header")
        return
    (offset,) = struct.unpack_from(order + "I", data, 4)
    for _ in range(4096):  # frames
        if offset == 0:
            return
        if offset + 2 > len(data):
            found.add("tiff-truncated")
            return
        (count,) = struct.unpack_from(order + "H", data, offset)
        if offset + 2 + 12 * count + 4 > len(data):
            found.add("tiff-truncated")
            return
        for index in range(count):
            tag, kind, number, value = struct.unpack_from(order + "HHII", data, offset + 2 + 12 * index)
            if tag not in _TIFF_TAGS:
                found.add("tiff-tag-not-allowed", str(tag))
            elif tag == 34675:
                size = _TIFF_TYPE_SIZES.get(kind, 1) * number
                problem = icc_problem(data[value : value + size]) if size > 4 else "too short"
                if problem:
                    found.add("icc-profile-not-allowed", problem)
        (offset,) = struct.unpack_from(order + "I", data, offset + 2 + 12 * count)
    found.add("tiff-too-many-frames")


def _webp(data: bytes, found: _Problems) -> None:
    (declared,) = struct.unpack_from("<I", data, 4)
    if declared + 8 != len(data):
        found.add("webp-size-mismatch", f"declares {declared + 8}, holds {len(data)}")
    _riff_chunks(data, 12, min(len(data), declared + 8), found)


def _riff_chunks(data: bytes, position: int, end: int, found: _Problems) -> None:
    while position + 8 <= end:
        kind, size = struct.unpack_from("<4sI", data, position)
        body = data[position + 8 : position + 8 + size]
        if kind not in _WEBP_CHUNKS:
            found.add("webp-chunk-not-allowed", kind.decode("latin-1"))
        elif kind == b"VP8X" and body[:1] and body[0] & 0x0C:
            found.add("webp-metadata-flag", "EXIF or XMP announced")
        elif kind == b"ICCP":
            problem = icc_problem(body)
            if problem:
                found.add("icc-profile-not-allowed", problem)
        elif kind == b"ANMF":
            _riff_chunks(data, position + 8 + 16, position + 8 + size, found)
        position += 8 + size + (size & 1)


# ---------------------------------------------------------------- decode
_SIGNATURES = (
    (_PNG_SIGNATURE, "PNG", _png),
    (b"\xff\xd8\xff", "JPEG", _jpeg),
    (b"GIF89a", "GIF", _gif),
    (b"GIF87a", "GIF", _gif),
    (b"BM", "BMP", _bmp),
    (b"II*\0", "TIFF", _tiff),
    (b"MM\0*", "TIFF", _tiff),
)


Walk = Callable[[bytes, "_Problems"], None]


def _container(data: bytes) -> tuple[str, Walk] | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP", _webp
    for signature, name, walk in _SIGNATURES:
        if data.startswith(signature):
            return name, walk
    return None


def _eighth_scale(image: Image.Image) -> None:
    """Ask libjpeg for the picture at 1/8 of its size (T.81's DCT scaling).

    Scaling happens only in the inverse DCT: the entropy decoder still reads every
    Huffman code of every block, AC coefficients included, and every scan of a
    progressive file (libjpeg's structure.txt, "Dequantization and inverse DCT";
    jdhuff.c decodes the AC codes it does not need and discards them). So the whole
    stream is still proved to decode, and a truncated one still fails, at about a
    third of a full-size decode's time. The size was checked above, from the header.
    """
    width, height = image.size
    image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))


def _decodes(data: bytes, fmt: str, ctx: VerifyContext, found: _Problems) -> None:
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as image:
            width, height = image.size
            frames = getattr(image, "n_frames", 1)
            if width <= 0 or height <= 0 or width * height * frames > ctx.policy.limits.max_pixels:
                found.add("image-size-not-allowed", f"{width}×{height}×{frames}")
                return
            if fmt == "JPEG":
                _eighth_scale(image)
            image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        found.add("image-does-not-decode", str(exc))


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    data = src.read(ctx.policy.limits.max_output_size + 1)
    container = _container(data)
    if container is None:
        return [Finding("image-format-not-allowed", "not PNG, JPEG, GIF, BMP, TIFF or WebP")]
    fmt, walk = container
    found = _Problems()
    try:
        walk(data, found)
    except (struct.error, IndexError) as exc:
        found.add(f"{fmt.lower()}-truncated", str(exc))
    if not found:
        _decodes(data, fmt, ctx, found)
    return list(found)
