"""Test files built in code: benign ones from real libraries, hostile variants from them,
so each test documents the attack it plants."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image, ImageDraw, PngImagePlugin

GPS_LATITUDE = (35.0, 41.0, 22.0)


def picture(size: tuple[int, int] = (640, 480), mode: str = "RGB") -> Image.Image:
    image = Image.new(mode, size, "white" if mode != "P" else 0)
    draw = ImageDraw.Draw(image)
    for i in range(0, size[0], 40):
        draw.rectangle([i, 0, i + 20, size[1] // 2], fill=(i % 255, 80, 160) if mode == "RGB" else i % 255)
    return image


def jpeg_with_gps_and_trailer(orientation: int = 1) -> bytes:
    """A phone-style JPEG: EXIF with GPS, a comment, and a ZIP appended after EOI."""
    image = picture()
    exif = Image.Exif()
    exif[0x010F] = "BearCam"  # Make
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: GPS_LATITUDE, 3: "E", 4: (139.0, 41.0, 30.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=b"secret comment")
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("evil.exe", b"MZ" + b"\0" * 100)
    return buffer.getvalue() + payload.getvalue()


def png_with_text_chunks() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS</x:xmpmeta>")
    buffer = io.BytesIO()
    picture((300, 200)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


# Pixel bombs, forged: each header promises BOMB_SIDE × BOMB_SIDE pixels (1.6 gigapixels,
# gigabytes once decoded) while the file is a few hundred bytes. A decoder is refused by the
# header or it is the bomb's victim; encoding a real one cost seconds per test.
BOMB_SIDE = 40000


def zlib_repeated(block: bytes, count: int) -> bytes:
    """A zlib stream (RFC 1950) that inflates to ``block`` × ``count``, deflated once: a full
    flush ends each copy on a byte boundary with no history (RFC 1951 §3.2.3 blocks stand
    alone), so the copies concatenate. A 600 MiB flate bomb takes milliseconds, not seconds."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    copy = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(count):
        checksum = zlib.adler32(block, checksum)
    last = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    return b"\x78\xda" + copy * count + last + struct.pack(">I", checksum)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    """Length, type, data and the CRC over type and data (PNG §5.3)."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(side: int = BOMB_SIDE) -> bytes:
    """IHDR (PNG §11.2.2) of a 1-bit greyscale side×side image; the IDAT holds its first rows."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    rows = (b"\0" + b"\xff" * ((side + 7) // 8)) * 4  # filter byte 0, then white pixels
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(rows))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_bomb(side: int = BOMB_SIDE) -> bytes:
    """A baseline frame header (ITU T.81 B.2.2, SOF0) of side×side YCbCr pixels, then EOI."""
    components = b"".join(bytes([number, 0x11, 0]) for number in (1, 2, 3))
    frame = struct.pack(">BHHB", 8, side, side, 3) + components
    return b"\xff\xd8" + b"\xff\xc0" + struct.pack(">H", 2 + len(frame)) + frame + b"\xff\xd9"


def gif_bomb(side: int = BOMB_SIDE) -> bytes:
    """A GIF89a logical screen and one image descriptor of side×side (GIF89a §18, §20), one
    LZW-coded block of a few pixels, and the trailer."""
    screen = b"GIF89a" + struct.pack("<HHBBB", side, side, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, side, side, 0) + b"\x02\x02\x44\x01\x00"
    return screen + image + b"\x3b"


def bmp_bomb(side: int = BOMB_SIDE) -> bytes:
    """A BITMAPFILEHEADER and BITMAPINFOHEADER of a side×side 24-bit image with a few bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 24, 0, 0, 2835, 2835, 0, 0)
    pixels = b"\0" * 64
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info)) + info + pixels


def animated_gif(frames: int = 4) -> bytes:
    images = []
    for n in range(frames):
        image = Image.new("RGB", (120, 90), "white")
        ImageDraw.Draw(image).rectangle([n * 25, 20, n * 25 + 20, 60], fill=(200, 30, 30))
        images.append(image.convert("P"))
    buffer = io.BytesIO()
    images[0].save(
        buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0, comment=b"gif comment"
    )
    return buffer.getvalue()


def multipage_tiff(pages: int = 3) -> bytes:
    images = [picture((200, 150)) for _ in range(pages)]
    buffer = io.BytesIO()
    images[0].save(
        buffer,
        "TIFF",
        save_all=True,
        append_images=images[1:],
        tiffinfo={270: "ImageDescription with secrets", 305: "EvilSoft"},
    )
    return buffer.getvalue()


def simple(fmt: str, size: tuple[int, int] = (320, 240), **options: object) -> bytes:
    buffer = io.BytesIO()
    picture(size).save(buffer, fmt, **options)
    return buffer.getvalue()


def heic_photo() -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture((320, 240)).save(buffer, "HEIF", exif=exif, quality=80)
    return buffer.getvalue()


SJIS_CSV = "名前,金額,備考\r\n山田太郎,=cmd|' /C calc'!A0,危険\r\n田中花子,-1200,返金\r\n佐藤,+81-3-1234,@SUM(A1)\r\n".encode(
    "cp932"
)
