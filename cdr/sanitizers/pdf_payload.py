"""What a viewer hands to a font engine, an image codec or a colour engine must at least be
that format.

The allow-list rebuild keeps font programs, image data and ICC profiles as data (a PDF
without them does not look right), and those are exactly the inputs a viewer's most
exploited parsers read (FreeType, libjpeg, OpenJPEG, LittleCMS). So each kept payload is
held to its format's signature — a font program to the font format its key names (ISO
32000-1 §9.9, table 126), DCT data to a JPEG start of image, JPX data to a JPEG 2000
signature box or codestream (ISO/IEC 15444-1 annex I and A.4.1), inline images in content
streams (§8.9.7) likewise — and an ICC profile is parsed and rebuilt (``cdr.sanitizers.icc``)
or replaced by a standard one. What fails is left out; the page draws without it.
"""

from __future__ import annotations

import zlib

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from cdr.errors import MalformedInput
from cdr.sanitizers.icc import clean_profile, srgb_profile

# FontFile: Type 1 (PFA text or PFB segments); FontFile2: TrueType (or a collection);
# FontFile3: CFF (major version 1 or 2) or OpenType, by its /Subtype.
FONT_SIGNATURES = {
    "font-file-1": (b"%!PS-Adobe", b"%!FontType1", b"\x80\x01"),
    "font-file-2": (b"\x00\x01\x00\x00", b"true", b"ttcf"),
    "font-file-3": (b"\x01\x00", b"\x02\x00", b"OTTO", b"\x00\x01\x00\x00"),
}
CODEC_SIGNATURES = {
    "/DCTDecode": (b"\xff\xd8\xff",),
    "/DCT": (b"\xff\xd8\xff",),
    "/JPXDecode": (b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51"),
}
_HEAD = 16
MAX_ICC = 1 << 20
# CIE 1931 D65, the white point of sRGB: a grey that needs no profile (§8.6.5.2)
_D65 = [0.9505, 1.0, 1.089]


def _filter_names(stream: Stream) -> list[str]:
    value = stream.get("/Filter")
    items = list(value) if isinstance(value, Array) else [value] if value is not None else []
    return [str(item) for item in items]


def decoded_head(stream: Stream, stop_at_codec: bool) -> bytes:
    """The first bytes after the general filters (Flate only: that is what the rebuild's
    bomb check allows in front of a codec); with ``stop_at_codec`` the codec's own data."""
    data = stream.read_raw_bytes()
    for name in _filter_names(stream):
        if stop_at_codec and name in CODEC_SIGNATURES or name in ("/CCITTFaxDecode", "/JBIG2Decode"):
            return data[:_HEAD]
        if name not in ("/FlateDecode", "/Fl"):
            try:
                return stream.read_bytes(decode_level=pikepdf.StreamDecodeLevel.generalized)[:_HEAD]
            except pikepdf.PdfError:
                return b""
        try:
            data = zlib.decompressobj().decompress(data, 1 << 16)
        except zlib.error:
            return b""
    return data[:_HEAD]


def font_program_ok(role: str, stream: Stream) -> bool:
    return decoded_head(stream, stop_at_codec=False).startswith(FONT_SIGNATURES[role])


def image_data_ok(stream: Stream) -> bool:
    codecs = [name for name in _filter_names(stream) if name in CODEC_SIGNATURES]
    if not codecs:
        return True  # raw samples, CCITT or JBIG2: no header to hold them to
    return decoded_head(stream, stop_at_codec=True).startswith(CODEC_SIGNATURES[codecs[-1]])


def fix_icc_colorspace(array: Array) -> str | None:
    """Rebuild the profile of an ``[/ICCBased stream]`` colour space in place; one that is
    not a profile becomes the standard it stands for. Returns what happened, or None."""
    if len(array) != 2 or array[0] != Name.ICCBased or not isinstance(array[1], Stream):
        return None
    stream = array[1]
    untrusted_n = stream.get("/N")
    untrusted_components = int(untrusted_n) if isinstance(untrusted_n, int) else 0
    try:
        profile = stream.read_bytes()[: MAX_ICC + 1]
    except pikepdf.PdfError:
        profile = b""
    rebuilt, outcome = clean_profile(profile if len(profile) <= MAX_ICC else None)
    if rebuilt is not None:
        stream.write(rebuilt)
        return f"icc-profile-{outcome}"
    if untrusted_components == 3:
        stream.write(srgb_profile())
    elif untrusted_components == 1:
        array[0] = Name.CalGray
        array[1] = Dictionary(WhitePoint=Array(_D65))
    else:
        raise MalformedInput("a CMYK colour profile that is not a colour profile")
    return "icc-profile-replaced"


def inline_image_ok(image: pikepdf.PdfInlineImage) -> bool:
    """An inline image qpdf cannot read as one is damaged drawing: it goes too."""
    try:
        codec = next((f for f in reversed(image.filters) if f in CODEC_SIGNATURES), None)
        return codec is None or image.read_raw_bytes().startswith(CODEC_SIGNATURES[codec])
    except (pikepdf.PdfError, TypeError, ValueError, IndexError, RuntimeError):
        return False
