"""Parent side of 画像化: build a new PDF from raw page pixels a child rendered.

Every width, height and mode read from the child's file is untrusted until checked here;
the PDF is written by this code alone (image XObject + a one-line content stream per
page), so nothing of the original document's structure can cross.
"""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path
from typing import BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name
from PIL import Image

from cdr.errors import VerificationFailed
from cdr.policy import Policy

RAW_MAGIC = b"CDRPIX1\n"
MAX_SIDE = 30_000
MAX_HEADER = 4096
_HEADER_NUMBERS = ("width", "height", "dpi", "zlib")
_HEADER_KEYS = frozenset({*_HEADER_NUMBERS, "mode"})


def read_page(raw: BinaryIO, max_pixels: int = MAX_SIDE * MAX_SIDE) -> tuple[int, int, int, bytes] | None:
    """The next page's (width, height, dpi, RGB rows), every size checked — against the
    policy's pixel limit too, before a byte is inflated; None at the end."""
    header = _read_header(raw, max_pixels)
    if header is None:
        return None
    width, height = header["width"], header["height"]
    expected = width * height * 3
    packed = raw.read(header["zlib"])
    if len(packed) != header["zlib"]:
        raise VerificationFailed("the renderer's output ends inside a page")
    inflater = zlib.decompressobj()
    try:
        pixels = inflater.decompress(packed, expected)  # never more than the page can hold
    except zlib.error:
        raise VerificationFailed("the renderer wrote damaged pixel data") from None
    if len(pixels) != expected or inflater.unconsumed_tail or not inflater.eof:
        raise VerificationFailed("the renderer's pixel data does not match its page size")
    return width, height, header["dpi"], pixels


def _read_header(raw: BinaryIO, max_pixels: int) -> dict[str, int] | None:
    line = raw.readline(MAX_HEADER)
    if not line:
        return None
    try:
        header = json.loads(line)
    except ValueError:
        header = None
    # exactly these keys, whole numbers (not true, 1.5 or "12"): anything else is a lie
    if (
        not isinstance(header, dict)
        or set(header) != _HEADER_KEYS
        or not all(type(header[key]) is int for key in _HEADER_NUMBERS)
    ):
        raise VerificationFailed("the renderer wrote a damaged page header")
    untrusted_width, untrusted_height = header["width"], header["height"]
    untrusted_dpi, untrusted_packed = header["dpi"], header["zlib"]
    if header["mode"] != "RGB" or not (
        0 < untrusted_width <= MAX_SIDE
        and 0 < untrusted_height <= MAX_SIDE
        and untrusted_width * untrusted_height <= max_pixels
    ):
        raise VerificationFailed("the renderer reported an impossible page size")
    if not 36 <= untrusted_dpi <= 600:
        raise VerificationFailed("the renderer reported an impossible resolution")
    if not 0 < untrusted_packed <= untrusted_width * untrusted_height * 3 + 4096:
        raise VerificationFailed("the renderer reported an impossible data length")
    return {
        "width": untrusted_width,
        "height": untrusted_height,
        "dpi": untrusted_dpi,
        "zlib": untrusted_packed,
    }


def _image_stream(pdf: pikepdf.Pdf, pixels: bytes, width: int, height: int, policy: Policy) -> pikepdf.Stream:
    common = {
        "Type": Name.XObject,
        "Subtype": Name.Image,
        "Width": width,
        "Height": height,
        "ColorSpace": Name.DeviceRGB,
        "BitsPerComponent": 8,
    }
    if policy.pdf.pixels_format == "jpeg":
        buffer = io.BytesIO()
        Image.frombytes("RGB", (width, height), pixels).save(
            buffer, "JPEG", quality=policy.pdf.pixels_quality
        )
        return pikepdf.Stream(pdf, buffer.getvalue(), Filter=Name.DCTDecode, **common)
    return pikepdf.Stream(pdf, zlib.compress(pixels, 6), Filter=Name.FlateDecode, **common)


def assemble(raw_path: Path, output: BinaryIO, policy: Policy) -> list[tuple[int, int, int]]:
    """Write the PDF; returns (width, height, dpi) of each page for the OCR step."""
    pdf = pikepdf.new()
    pages: list[tuple[int, int, int]] = []
    with raw_path.open("rb") as raw:
        if raw.read(len(RAW_MAGIC)) != RAW_MAGIC:
            raise VerificationFailed("the renderer's output is not raw pixels")
        while (page := read_page(raw, policy.limits.max_pixels)) is not None:
            width, height, dpi, pixels = page
            if len(pages) >= policy.limits.max_pages:
                raise VerificationFailed("the renderer wrote more pages than allowed")
            image = pdf.make_indirect(_image_stream(pdf, pixels, width, height, policy))
            points_w, points_h = width * 72 / dpi, height * 72 / dpi
            content = pikepdf.Stream(pdf, f"q {points_w:.3f} 0 0 {points_h:.3f} 0 0 cm /Im0 Do Q".encode())
            page = Dictionary(
                Type=Name.Page,
                MediaBox=Array([0, 0, points_w, points_h]),
                Resources=Dictionary(XObject=Dictionary(Im0=image)),
                Contents=content,
            )
            pdf.pages.append(pikepdf.Page(page))
            pages.append((width, height, dpi))
    if not pages:
        raise VerificationFailed("the renderer produced no pages")
    pdf.save(output, deterministic_id=True)  # /ID from the content, not the clock
    return pages
