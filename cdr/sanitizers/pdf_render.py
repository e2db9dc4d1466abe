"""PDF → pixels (画像化) and PDF → text (テキスト化), inside the sandbox, with pdfium.

For pixels, the child writes only raw pixel rows behind a small header per page; the
parent (``cdr.converters.pixels``) checks every width and height and builds the new PDF itself, so no
byte of the original document structure can reach the output. The parent does so because
its decision was 画像化, whatever this child answers.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import BinaryIO

import pypdfium2 as pdfium

from cdr.errors import Encrypted, LimitExceeded, MalformedInput, WrongPassword
from cdr.model import ActionTaken, FileType, SanitizeResult
from cdr.sanitizers.base import Context

RAW_MAGIC = b"CDRPIX1\n"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffe\uffff]")


def _open(src: BinaryIO, ctx: Context) -> pdfium.PdfDocument:
    src.seek(0)
    data = src.read()
    try:
        return pdfium.PdfDocument(data, password=ctx.password)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            if ctx.password:
                raise WrongPassword("the password does not open this PDF") from None
            raise Encrypted(Encrypted.PDF_USER_PASSWORD) from None
        raise MalformedInput(f"not a readable PDF: {exc}") from None


def _check_pages(document: pdfium.PdfDocument, ctx: Context) -> int:
    pages = len(document)
    if pages == 0:
        raise MalformedInput("the PDF has no pages")
    if pages > ctx.policy.limits.max_pages:
        raise LimitExceeded(f"{pages} pages (limit {ctx.policy.limits.max_pages})")
    return pages


def _rgb_rows(bitmap: pdfium.PdfBitmap) -> tuple[int, int, bytes | memoryview]:
    """Tightly packed RGB rows, straight from pdfium's buffer when it already is that."""
    width, height = bitmap.width, bitmap.height
    if bitmap.n_channels == 3 and bitmap.stride == width * 3:
        return width, height, memoryview(bitmap.buffer).cast("B")
    image = bitmap.to_pil().convert("RGB")
    return width, height, image.tobytes()


def render_pixels(src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
    document = _open(src, ctx)
    pages = _check_pages(document, ctx)
    dpi = ctx.policy.pdf.pixels_dpi
    dst.write(RAW_MAGIC)
    for number in range(pages):
        page = document[number]
        width_pt, height_pt = page.get_size()
        if (width_pt * dpi / 72) * (height_pt * dpi / 72) > ctx.policy.limits.max_pixels:
            raise LimitExceeded(f"page {number + 1} would render larger than the pixel limit")
        bitmap = page.render(scale=dpi / 72, rev_byteorder=True, may_draw_forms=True)
        width, height, rows = _rgb_rows(bitmap)
        # zlib only shrinks the transport (a white A4 page is 6.5 MB raw); what crosses
        # is still nothing but pixel rows, which the parent inflates with a bound.
        packed = zlib.compress(rows, 1)
        header = {
            "width": width,
            "height": height,
            "mode": "RGB",
            "dpi": dpi,
            "zlib": len(packed),
        }
        dst.write(json.dumps(header).encode() + b"\n")
        dst.write(packed)
        page.close()
    return SanitizeResult(
        FileType.PDF,
        (ActionTaken("pages", "rendered-to-pixels", pages),),
        {"pages": pages},
    )


def extract_text(src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
    document = _open(src, ctx)
    pages = _check_pages(document, ctx)
    for number in range(pages):
        page = document[number]
        text = page.get_textpage().get_text_bounded()
        text = _CONTROL.sub("", text.replace("\r\n", "\n"))
        if number:
            dst.write(b"\n\n")
        dst.write(text.encode("utf-8"))
        page.close()
    return SanitizeResult(FileType.TEXT, (ActionTaken("pdf", "converted-to-text", pages),), {"pages": pages})


def run(src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
    if ctx.action.value == "pixels":
        return render_pixels(src, dst, ctx)
    return extract_text(src, dst, ctx)
