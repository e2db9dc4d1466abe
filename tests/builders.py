"""Test files built in code: benign ones from real libraries, hostile variants from them,
so each test documents the attack it plants."""

from __future__ import annotations

import io
import zipfile

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


def png_bomb(side: int = 40000) -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


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
