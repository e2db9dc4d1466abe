"""Hostile raster images: metadata carrying script text, data after the end marker,
polyglots, bad ICC profiles and decompression bombs.

Bases come from Pillow (tests/builders.py); chunks and markers are then written by hand
following PNG (ISO/IEC 15948, W3C PNG 3rd ed.), JPEG (ITU T.81, JFIF, Exif 2.32, XMP
part 3) and GIF89a.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

from PIL import Image

from tests import builders as base
from tests.attacks.builders import Expect, sample
from tests.attacks.builders.archive import zip_of

SCRIPT = b"<script>new ActiveXObject('WScript.Shell').Run('calc')</script><?php system($_GET['c']); ?>"


def _png() -> bytes:
    return base.simple("PNG", (64, 48))


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    base.picture((64, 48)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _gif() -> bytes:
    buffer = io.BytesIO()
    base.picture((64, 48)).convert("P").save(buffer, "GIF")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_insert(chunks: bytes, before: bytes = b"IDAT") -> bytes:
    data = _png()
    at = data.index(before) - 4
    return data[:at] + chunks + data[at:]


def _icc_header(size: int, tag_count: int = 0) -> bytes:
    """ICC.1:2010 §7.2 header: size, 'acsp' at 36, then the tag table."""
    header = bytearray(128)
    header[0:4] = struct.pack(">I", size)
    header[8:12] = bytes([4, 0x30, 0, 0])
    header[12:16] = b"mntr"
    header[16:20] = b"RGB "
    header[20:24] = b"XYZ "
    header[36:40] = b"acsp"
    return bytes(header) + struct.pack(">I", tag_count)


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _jpeg_insert(segments: bytes) -> bytes:
    data = _jpeg()
    return data[:2] + segments + data[2:]


# ---------------------------------------------------------------- controls
@sample("png_benign", ".png", "control", "Pillow PNG", Expect.RELEASED)
def png_benign(work: Path) -> bytes:
    return _png()


@sample("jpeg_benign", ".jpg", "control", "Pillow JPEG", Expect.RELEASED)
def jpeg_benign(work: Path) -> bytes:
    return _jpeg()


@sample("gif_benign", ".gif", "control", "Pillow GIF", Expect.RELEASED)
def gif_benign(work: Path) -> bytes:
    return _gif()


@sample(
    "jpeg_phone_photo",
    ".jpg",
    "metadata",
    "phone photo: EXIF GPS, comment, ZIP after EOI (tests/builders.py)",
)
def jpeg_phone_photo(work: Path) -> bytes:
    return base.jpeg_with_gps_and_trailer(orientation=6)


# ---------------------------------------------------------------- PNG
@sample(
    "png_text_chunks_script",
    ".png",
    "metadata",
    "PNG §11.3.4 tEXt, zTXt and iTXt carrying script (webshell-in-PNG write-ups)",
)
def png_text_chunks_script(work: Path) -> bytes:
    chunks = (
        _chunk(b"tEXt", b"Comment\x00" + SCRIPT)
        + _chunk(b"zTXt", b"Description\x00\x00" + zlib.compress(SCRIPT))
        + _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta>" + SCRIPT + b"</x:xmpmeta>")
    )
    return _png_insert(chunks)


@sample(
    "png_exif_chunk_script",
    ".png",
    "metadata",
    "PNG 3rd ed. eXIf chunk with an ImageDescription holding script",
)
def png_exif_chunk_script(work: Path) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = SCRIPT.decode()
    return _png_insert(
        _chunk(b"eXIf", exif.tobytes()[6:] if exif.tobytes().startswith(b"Exif") else exif.tobytes())
    )


@sample(
    "png_private_chunk",
    ".png",
    "metadata",
    "PNG §5.4: private ancillary chunk (lower-case first letter) as a payload carrier",
)
def png_private_chunk(work: Path) -> bytes:
    return _png_insert(_chunk(b"prVt", b"MZ\x90\x00" + SCRIPT))


@sample("png_after_iend", ".png", "trailing-data", "data after IEND (PNG/ZIP and PNG/HTML polyglots)")
def png_after_iend(work: Path) -> bytes:
    return _png() + SCRIPT + zip_of({"a.hta": b"<hta:application/>"})


@sample("png_icc_garbage", ".png", "icc", "PNG §11.3.3.3 iCCP holding a profile that is not ICC")
def png_icc_garbage(work: Path) -> bytes:
    return _png_insert(_chunk(b"iCCP", b"evil\x00\x00" + zlib.compress(SCRIPT * 10)), b"IDAT")


@sample("png_icc_oversized", ".png", "icc", "ICC.1 header claiming 4 GiB; 8 MiB of tag data behind it")
def png_icc_oversized(work: Path) -> bytes:
    profile = _icc_header(0xFFFFFFF0, tag_count=0x00FFFFFF) + b"\x00" * (8 << 20)
    return _png_insert(_chunk(b"iCCP", b"big\x00\x00" + zlib.compress(profile, 9)))


@sample(
    "png_decompression_bomb",
    ".png",
    "bomb",
    "PNG pixel bomb: 20000×20000 1-bit, small IDAT (Pillow DecompressionBomb)",
)
def png_decompression_bomb(work: Path) -> bytes:
    side = 20000
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + side // 8)
    packed = b"".join(compressor.compress(row * 1000) for _ in range(side // 1000)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + header + _chunk(b"IDAT", packed) + _chunk(b"IEND", b"")


@sample(
    "png_idat_bomb", ".png", "bomb", "IHDR 8×8 but IDAT inflating to 300 MiB (zlib bomb inside a small image)"
)
def png_idat_bomb(work: Path) -> bytes:
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
    packed = base.zlib_repeated(b"\x00" * (1 << 20), 300)
    return b"\x89PNG\r\n\x1a\n" + header + _chunk(b"IDAT", packed) + _chunk(b"IEND", b"")


# ---------------------------------------------------------------- JPEG
@sample("jpeg_exif_script", ".jpg", "metadata", "Exif 2.32 ImageDescription / XPComment with script")
def jpeg_exif_script(work: Path) -> bytes:
    exif = Image.Exif()
    exif[0x010E] = SCRIPT.decode()
    exif[0x9C9C] = SCRIPT.decode().encode("utf-16-le")
    buffer = io.BytesIO()
    base.picture((64, 48)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


@sample(
    "jpeg_xmp_script",
    ".jpg",
    "metadata",
    "XMP part 3 §1.1.3 APP1 http://ns.adobe.com/xap/1.0/ packet with script",
)
def jpeg_xmp_script(work: Path) -> bytes:
    packet = (
        b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + SCRIPT + b"</x:xmpmeta>"
    )
    return _jpeg_insert(_jpeg_segment(0xE1, packet))


@sample(
    "jpeg_comment_script",
    ".jpg",
    "metadata",
    "T.81 B.2.4.5 COM segment with script (PortSwigger 'polyglot JPEGs' 2016)",
)
def jpeg_comment_script(work: Path) -> bytes:
    return _jpeg_insert(_jpeg_segment(0xFE, b"*/=alert(1);/*" + SCRIPT))


@sample(
    "jpeg_app_segments_payload",
    ".jpg",
    "metadata",
    "T.81: APP3..APP15 are free for applications; a PE in APP13",
)
def jpeg_app_segments_payload(work: Path) -> bytes:
    return _jpeg_insert(
        _jpeg_segment(0xED, b"Photoshop 3.0\x00" + b"MZ\x90\x00" + SCRIPT) + _jpeg_segment(0xEF, SCRIPT)
    )


@sample("jpeg_after_eoi", ".jpg", "trailing-data", "data after EOI (webshell-in-JPEG write-ups)")
def jpeg_after_eoi(work: Path) -> bytes:
    return _jpeg() + SCRIPT


@sample(
    "jpeg_zip_polyglot",
    ".jpg",
    "polyglot",
    "JPEG+ZIP polyglot (GIFAR family; Albertini 'Funky file formats')",
)
def jpeg_zip_polyglot(work: Path) -> bytes:
    return _jpeg() + zip_of(
        {"payload.exe": b"MZ\x90\x00" + b"\x00" * 60, "run.vbs": b'CreateObject("WScript.Shell")'}
    )


@sample("jpeg_icc_garbage", ".jpg", "icc", "ICC.1 Annex B.4 APP2 ICC_PROFILE chunk that is not a profile")
def jpeg_icc_garbage(work: Path) -> bytes:
    return _jpeg_insert(_jpeg_segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + SCRIPT * 20))


@sample("jpeg_icc_oversized", ".jpg", "icc", "ICC.1 Annex B.4: 100 APP2 chunks (6.5 MB) of one profile")
def jpeg_icc_oversized(work: Path) -> bytes:
    profile = _icc_header(100 * 65000, tag_count=0x00FFFFFF) + b"A" * (100 * 65000 - 132)
    chunks = [profile[i : i + 65000] for i in range(0, len(profile), 65000)]
    segments = b"".join(
        _jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes([n + 1, len(chunks)]) + piece)
        for n, piece in enumerate(chunks)
    )
    return _jpeg_insert(segments)


@sample("jpeg_dimension_bomb", ".jpg", "bomb", "T.81 SOF0 claiming 65500×65500 with a tiny scan")
def jpeg_dimension_bomb(work: Path) -> bytes:
    data = bytearray(_jpeg())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", 65500, 65500)
    return bytes(data)


# ---------------------------------------------------------------- GIF
@sample(
    "gif_js_polyglot",
    ".gif",
    "polyglot",
    "GIF89a/JavaScript polyglot: header bytes 'GIF89a/*' (2013 CSP write-ups)",
)
def gif_js_polyglot(work: Path) -> bytes:
    data = bytearray(_gif())
    data[6:8] = b"/*"  # logical screen width 0x2A2F: still a GIF, now also a JS comment opener
    return bytes(data[:-1]) + b"\x3b*/=1;alert(document.domain);//"


@sample("gif_comment_script", ".gif", "metadata", "GIF89a §24 Comment Extension with script")
def gif_comment_script(work: Path) -> bytes:
    data = _gif()
    comment = b"\x21\xfe" + bytes([len(SCRIPT[:255])]) + SCRIPT[:255] + b"\x00"
    at = data.index(b"\x2c")  # first image descriptor
    return data[:at] + comment + data[at:]


@sample(
    "gif_application_extension", ".gif", "metadata", "GIF89a §26 Application Extension (XMP DataXMP) payload"
)
def gif_application_extension(work: Path) -> bytes:
    data = _gif()
    blocks = b"".join(
        bytes([len(piece)]) + piece for piece in (SCRIPT[i : i + 255] for i in range(0, len(SCRIPT), 255))
    )
    extension = b"\x21\xff\x0bXMP DataXMP" + blocks + b"\x00"
    at = data.index(b"\x2c")
    return data[:at] + extension + data[at:]


@sample("gif_after_trailer", ".gif", "trailing-data", "data after the GIF trailer (0x3B)")
def gif_after_trailer(work: Path) -> bytes:
    return _gif() + SCRIPT


@sample("gif_frame_bomb", ".gif", "bomb", "GIF89a: 65535×65535 logical screen, many frames")
def gif_frame_bomb(work: Path) -> bytes:
    frame = b"\x2c\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x44\x01\x00"
    header = b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    return header + frame * 64 + b"\x3b"


# ---------------------------------------------------------------- second round
def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")


@sample(
    "webp_exif_xmp_script",
    ".webp",
    "metadata",
    "WebP container spec: VP8X with EXIF and XMP chunks carrying script",
)
def webp_exif_xmp_script(work: Path) -> bytes:
    buffer = io.BytesIO()
    base.picture((64, 48)).save(buffer, "WEBP", quality=80)
    data = buffer.getvalue()
    bitstream = data[12:]
    vp8x = _riff_chunk(
        b"VP8X", bytes([0x0C, 0, 0, 0]) + (63).to_bytes(3, "little") + (47).to_bytes(3, "little")
    )
    body = (
        b"WEBP" + vp8x + bitstream + _riff_chunk(b"EXIF", b"II*\x00" + SCRIPT) + _riff_chunk(b"XMP ", SCRIPT)
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body + SCRIPT


@sample("bmp_after_data", ".bmp", "trailing-data", "BMP: bytes past bfSize (BMP/HTA polyglots)")
def bmp_after_data(work: Path) -> bytes:
    buffer = io.BytesIO()
    base.picture((64, 48)).save(buffer, "BMP")
    return (
        buffer.getvalue()
        + b"<hta:application/><script>new ActiveXObject('WScript.Shell').Run('calc')</script>"
    )


@sample(
    "jpeg_many_scans",
    ".jpg",
    "bomb",
    "progressive JPEG with 5000 scans (libjpeg-turbo CPU exhaustion reports)",
)
def jpeg_many_scans(work: Path) -> bytes:
    buffer = io.BytesIO()
    base.picture((64, 48)).save(buffer, "JPEG", progressive=True)
    data = buffer.getvalue()
    first = data.index(b"\xff\xda")
    second = data.index(b"\xff\xda", first + 2)
    scan = data[first:second]
    return data[:second] + scan * 5000 + data[second:]


@sample("png_apng_frame_bomb", ".png", "bomb", "APNG acTL claiming 2^31 frames, fcTL 20000x20000")
def png_apng_frame_bomb(work: Path) -> bytes:
    control = _chunk(b"acTL", struct.pack(">II", 0x7FFFFFFF, 0))
    frame = _chunk(b"fcTL", struct.pack(">IIIIIHHBB", 0, 20000, 20000, 0, 0, 1, 10, 0, 0))
    return _png_insert(control + frame)


@sample(
    "svg_script",
    ".svg",
    "markup-part",
    "SVG 1.1 §18 scripting: an image that runs script (drawn into a PNG by default)",
)
def svg_script(work: Path) -> bytes:
    return (
        b'<?xml version="1.0"?>\n'
        + b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
    )


@sample("html_named_png", ".png", "polyglot", "content sniffing: HTML saved as .png")
def html_named_png(work: Path) -> bytes:
    return b"<html><body><script>alert(1)</script></body></html>"


@sample(
    "jpeg_mpf_second_image",
    ".jpg",
    "metadata",
    "CIPA DC-007 MPF: APP2 'MPF' index and a second JPEG with script EXIF",
)
def jpeg_mpf_second_image(work: Path) -> bytes:
    second = jpeg_exif_script(work)
    mpf = b"MPF\x00II*\x00\x08\x00\x00\x00" + b"\x00" * 32
    return _jpeg_insert(_jpeg_segment(0xE2, mpf)) + second


@sample("tiff_benign_multipage", ".tif", "control", "Pillow multi-page TIFF (scanned forms)", Expect.RELEASED)
def tiff_benign_multipage(work: Path) -> bytes:
    return base.multipage_tiff(3)


@sample(
    "tiff_description_script",
    ".tif",
    "metadata",
    "TIFF 6.0 ImageDescription/Software/Artist and XMP (tag 700) with script",
)
def tiff_description_script(work: Path) -> bytes:
    buffer = io.BytesIO()
    info = {270: SCRIPT.decode(), 305: "calc.exe", 315: SCRIPT.decode(), 700: SCRIPT}
    base.picture((64, 48)).save(buffer, "TIFF", tiffinfo=info)
    return buffer.getvalue()
