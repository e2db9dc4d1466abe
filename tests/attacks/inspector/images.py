"""Raster images: chunks, markers, blocks and tags from allow-lists; nothing after the end; bounded sizes."""

from __future__ import annotations

import struct
import zlib

from tests.attacks.inspector.common import MAX_ICC, MAX_PIXELS, MAX_SCANS, inflates_beyond

PNG_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"pHYs", b"sBIT",
              b"bKGD", b"acTL", b"fcTL", b"fdAT"}


def inspect_png(name: str, data: bytes) -> list[str]:
    findings: list[str] = []
    idat: list[bytes] = []
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        body = data[at + 8:at + 8 + length]
        if kind not in PNG_CHUNKS:
            findings.append(f"{name}: PNG chunk {kind!r} not allowed")
        if kind == b"IHDR":
            width, height = struct.unpack_from(">II", body)
            if width * height > MAX_PIXELS:
                findings.append(f"{name}: {width}x{height} pixels")
        if kind == b"iCCP":
            findings += _png_icc(name, body)
        if kind == b"IDAT":
            idat.append(body)
        if kind == b"fcTL" and len(body) >= 12:
            width, height = struct.unpack_from(">II", body, 4)
            if width * height > MAX_PIXELS:
                findings.append(f"{name}: APNG frame of {width}x{height} pixels")
        at += 12 + length
        if kind == b"IEND":
            break
    else:
        findings.append(f"{name}: PNG without IEND")
    if data[at:].strip(b"\x00"):
        findings.append(f"{name}: {len(data) - at} bytes after IEND")
    expected = _png_raw_size(data)
    if idat and inflates_beyond(b"".join(idat), expected):
        findings.append(f"{name}: image data inflates beyond the {expected} bytes its header needs")
    return findings


def _png_raw_size(data: bytes) -> int:
    """PNG §7.2: height × (1 filter byte + packed row); interlacing adds at most a few rows' worth."""
    width, height, depth, colour = struct.unpack_from(">IIBB", data, 16)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 4)
    row = (width * channels * depth + 7) // 8
    return height * (row + 1) * 11 // 10 + 4096


def _png_icc(name: str, body: bytes) -> list[str]:
    try:
        packed = body.split(b"\x00", 1)[1][1:]
        inflater = zlib.decompressobj()
        profile = inflater.decompress(packed, MAX_ICC + 1)
    except (IndexError, zlib.error) as error:
        return [f"{name}: iCCP does not inflate: {error}"]
    return check_icc(name, profile)


def check_icc(name: str, profile: bytes) -> list[str]:
    """ICC.1:2010 §7: a bounded, well-formed header and tag table, nothing else."""
    if len(profile) > MAX_ICC:
        return [f"{name}: ICC profile over {MAX_ICC} bytes"]
    if len(profile) < 132 or profile[36:40] != b"acsp":
        return [f"{name}: ICC profile without a valid header"]
    declared, count = struct.unpack_from(">I", profile, 0)[0], struct.unpack_from(">I", profile, 128)[0]
    if declared != len(profile) or 132 + 12 * count > len(profile):
        return [f"{name}: ICC profile size {declared} / {count} tags do not fit {len(profile)} bytes"]
    for n in range(count):
        _, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * n)
        if offset + size > len(profile):
            return [f"{name}: ICC tag {n} outside the profile"]
    return []


# SOFn (not DHT C4, JPG C8, DAC CC is allowed), DHT, DAC, DQT, DRI, APP0 (JFIF), APP2 (ICC), APP14 (Adobe)
JPEG_ALLOWED = {m for m in range(0xC0, 0xD0) if m != 0xC8} | {0xDB, 0xDD, 0xE0, 0xE2, 0xEE}
JPEG_FRAMES = {m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)}


def inspect_jpeg(name: str, data: bytes) -> list[str]:
    findings: list[str] = []
    icc = b""
    scans = 0
    at = 2
    while at + 2 <= len(data):
        if data[at] != 0xFF:
            return findings + [f"{name}: JPEG marker expected at {at}"]
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:
            break
        if at + 4 > len(data):
            return findings + [f"{name}: truncated JPEG segment"]
        length = struct.unpack_from(">H", data, at + 2)[0]
        body = data[at + 4:at + 2 + length]
        if marker not in JPEG_ALLOWED and marker != 0xDA:
            findings.append(f"{name}: JPEG segment FF{marker:02X} not allowed")
        if marker == 0xE2:
            if not body.startswith(b"ICC_PROFILE\x00"):
                findings.append(f"{name}: APP2 that is not ICC_PROFILE")
            icc += body[14:]
        if marker in JPEG_FRAMES and len(body) >= 5:
            height, width = struct.unpack_from(">HH", body, 1)
            if width * height > MAX_PIXELS:
                findings.append(f"{name}: {width}x{height} pixels")
        if marker == 0xDA:
            scans += 1
            if scans == MAX_SCANS + 1:
                findings.append(f"{name}: more than {MAX_SCANS} scans (a decoder CPU bomb)")
            # entropy-coded data runs to the next marker that is not a stuffed byte or RSTn
            at = _next_marker_after_scan(data, at + 2 + length)
            if at < 0:
                return findings + [f"{name}: JPEG without EOI"]
            continue
        at += 2 + length
    else:
        return findings + [f"{name}: JPEG without EOI"]
    if icc:
        findings += check_icc(name, icc)
    if data[at + 2:].strip(b"\x00"):
        findings.append(f"{name}: {len(data) - at - 2} bytes after EOI")
    return findings


def _next_marker_after_scan(data: bytes, at: int) -> int:
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= len(data):
            return -1
        following = data[at + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            at += 1
            continue
        return at


def inspect_gif(name: str, data: bytes) -> list[str]:
    findings: list[str] = []
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    if width * height > MAX_PIXELS:
        findings.append(f"{name}: logical screen {width}x{height}")
    at = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while at < len(data):
        introducer = data[at]
        if introducer == 0x3B:
            break
        if introducer == 0x21:
            label = data[at + 1]
            if label == 0xFF and data[at + 3:at + 14] not in (b"NETSCAPE2.0", b"ANIMEXTS1.0"):
                findings.append(f"{name}: GIF application extension {data[at + 3:at + 14]!r}")
            elif label not in (0xF9, 0xFF):
                findings.append(f"{name}: GIF extension 0x{label:02X} (comment or plain text)")
            at = _skip_sub_blocks(data, at + 2)
        elif introducer == 0x2C:
            frames += 1
            local = data[at + 9]
            at += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            at = _skip_sub_blocks(data, at + 1)
        else:
            return findings + [f"{name}: unknown GIF block 0x{introducer:02X}"]
    else:
        return findings + [f"{name}: GIF without trailer"]
    if width * height * max(frames, 1) > MAX_PIXELS * 4:
        findings.append(f"{name}: {frames} frames of {width}x{height}")
    if data[at + 1:].strip(b"\x00"):
        findings.append(f"{name}: {len(data) - at - 1} bytes after the GIF trailer")
    return findings


def _skip_sub_blocks(data: bytes, at: int) -> int:
    while at < len(data) and data[at]:
        at += data[at] + 1
    return at + 1


WEBP_CHUNKS = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}


def inspect_webp(name: str, data: bytes) -> list[str]:
    """RIFF container (WebP container spec): image chunks only, no EXIF/XMP, nothing after the RIFF size."""
    findings = []
    size = struct.unpack_from("<I", data, 4)[0] + 8
    at = 12
    while at + 8 <= min(size, len(data)):
        kind, length = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if kind not in WEBP_CHUNKS:
            findings.append(f"{name}: WebP chunk {kind!r} not allowed")
        if kind == b"ICCP":
            findings += check_icc(name, data[at + 8:at + 8 + length])
        at += 8 + length + (length & 1)
    if data[size:].strip(b"\x00"):
        findings.append(f"{name}: {len(data) - size} bytes after the RIFF chunk")
    return findings


# TIFF 6.0 baseline and extension tags that describe pixels; not ImageDescription, Make, Model,
# Software, DateTime, Artist, Copyright, XMP (700), IPTC (33723), Photoshop (34377), EXIF/GPS IFDs.
TIFF_TAGS = {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 274, 277, 278, 279, 280, 281, 282, 283, 284, 286, 287,
             290, 291, 296, 297, 317, 318, 319, 320, 322, 323, 324, 325, 338, 339, 340, 341, 347, 529, 530, 531, 532,
             34675}
TIFF_MAX_PAGES = 1000


def inspect_tiff(name: str, data: bytes) -> list[str]:
    """Walk the IFD chain (TIFF 6.0 §2): every tag from the allow-list, a bounded number of pages."""
    order = "<" if data[:2] == b"II" else ">"
    findings: list[str] = []
    offset = struct.unpack_from(order + "I", data, 4)[0]
    pages = 0
    while offset and pages < TIFF_MAX_PAGES:
        if offset + 2 > len(data):
            return findings + [f"{name}: IFD outside the file"]
        count = struct.unpack_from(order + "H", data, offset)[0]
        if offset + 2 + 12 * count + 4 > len(data):
            return findings + [f"{name}: IFD outside the file"]
        tags = [struct.unpack_from(order + "H", data, offset + 2 + 12 * n)[0] for n in range(count)]
        findings += [f"{name}: page {pages} TIFF tag {tag} not allowed" for tag in tags if tag not in TIFF_TAGS]
        if 34675 in tags:
            entry = offset + 2 + 12 * tags.index(34675)
            length, at = struct.unpack_from(order + "II", data, entry + 4)
            findings += check_icc(name, data[at:at + length])
        pages += 1
        offset = struct.unpack_from(order + "I", data, offset + 2 + 12 * count)[0]
    if offset:
        findings.append(f"{name}: more than {TIFF_MAX_PAGES} pages")
    return findings


def inspect_bmp(name: str, data: bytes) -> list[str]:
    """BITMAPFILEHEADER.bfSize is the whole file: anything past it rides along."""
    declared = struct.unpack_from("<I", data, 2)[0]
    width, height = struct.unpack_from("<ii", data, 18) if len(data) >= 26 else (0, 0)
    findings = [f"{name}: {len(data) - declared} bytes after the bitmap"] if len(data) > declared else []
    if abs(width) * abs(height) > MAX_PIXELS:
        findings.append(f"{name}: {width}x{height} pixels")
    return findings


def inspect_picture(name: str, data: bytes) -> list[str]:
    for magic, check in ((b"\x89PNG\r\n\x1a\n", inspect_png), (b"\xff\xd8\xff", inspect_jpeg), (b"GIF8", inspect_gif)):
        if data.startswith(magic):
            return check(name, data)
    return [f"{name}: picture is not PNG, JPEG or GIF by its bytes"]

