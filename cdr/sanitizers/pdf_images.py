"""A PDF image's coded data written anew: JPEG and JPEG 2000 rewritten losslessly
(``pdf_codecs``), CCITT fax and JBIG2 scans decoded in process by pdfium and written as
plain 1-bit samples.

qpdf cannot decode CCITT or JBIG2 data (for JBIG2 it would start ``jbig2dec``, which the
sandbox forbids), so such data would otherwise be copied as stored — with whatever follows
the coded data. pdfium, already in the sandbox for the pixels mode, decodes both: the
source is opened once more, its images are matched to the rebuilt ones by their stored
bytes, and each decoded picture replaces the coded one (a viewer draws the same pixels).
pdfium lists only the pictures a page's drawing shows: a scan used as another picture's
/Mask or /SMask, or drawn by an annotation or a Type 3 glyph, is decoded on its own from a
one-page document that draws just that image (``_alone``).
"""

from __future__ import annotations

import ctypes
import hashlib
import io
from collections.abc import Iterable

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pikepdf import Array, Name, Stream
from PIL import Image

from cdr.errors import MalformedInput
from cdr.sanitizers.pdf_codecs import jpeg_rebuilt, jpx_rebuilt

ABBREVIATIONS = {"/Fl": "/FlateDecode", "/LZW": "/LZWDecode", "/AHx": "/ASCIIHexDecode",
                 "/A85": "/ASCII85Decode", "/RL": "/RunLengthDecode", "/DCT": "/DCTDecode",
                 "/CCF": "/CCITTFaxDecode"}  # table 94: readers accept them on streams too
REBUILDERS = {"/DCTDecode": jpeg_rebuilt, "/JPXDecode": jpx_rebuilt}
BITONAL = frozenset({"/CCITTFaxDecode", "/JBIG2Decode"})
_PAINTED = 128  # pdfium gives an image mask's painted pixels as 255


def filter_chain(stream: Stream) -> tuple[list[str], list[object]]:
    """The stream's filters (full names) and their parameters, one for each."""
    untrusted = stream.get("/Filter")
    names = list(untrusted) if isinstance(untrusted, Array) else [untrusted] if untrusted is not None else []
    parms = stream.get("/DecodeParms")
    parameters = list(parms) if isinstance(parms, Array) else [parms] * len(names)
    parameters = (parameters + [None] * len(names))[: len(names)]
    return [ABBREVIATIONS.get(str(name), str(name)) for name in names], parameters


def coded_data(stream: Stream, names: list[str], parameters: list[object]) -> bytes:
    """The data of the last filter (the image codec), the general filters before it undone."""
    if len(names) == 1:
        return stream.read_raw_bytes()
    scratch = pikepdf.new()
    inner = Stream(scratch, stream.read_raw_bytes())
    inner.Filter = Array([Name(name) for name in names[:-1]])
    if any(p is not None for p in parameters[:-1]):
        inner.DecodeParms = Array([p if p is not None else pikepdf.Dictionary() for p in parameters[:-1]])
    return inner.read_bytes(decode_level=pikepdf.StreamDecodeLevel.specialized)


def codec_data_rebuilt(stream: Stream) -> bool:
    """Rewrite a DCT or JPX image's data in place with only what its decoder reads; False:
    the image is not that format and goes (the page draws without it)."""
    names, parameters = filter_chain(stream)
    rebuild = REBUILDERS.get(names[-1]) if names else None
    if rebuild is None:
        return True
    try:
        rebuilt = rebuild(coded_data(stream, names, parameters))
    except pikepdf.PdfError:
        return False
    if rebuilt is None:
        return False
    parms = parameters[-1] if isinstance(parameters[-1], pikepdf.Dictionary) else None
    stream.write(rebuilt, filter=Name(names[-1]), decode_parms=parms)
    return True


def is_bitonal(stream: Stream) -> bool:
    names, _ = filter_chain(stream)
    return bool(names) and names[-1] in BITONAL


_CODED_NAMES = frozenset({"CCITTFaxDecode", "CCF", "JBIG2Decode"})  # as pdfium names filters


def _stored(picture: pdfium.PdfImage) -> bytes:
    size = pdfium_c.FPDFImageObj_GetImageDataRaw(picture.raw, None, 0)
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDFImageObj_GetImageDataRaw(picture.raw, buffer, size)
    return buffer.raw[:size]


class BitonalDecoder:
    """The source opened in pdfium; its CCITT and JBIG2 pictures found by stored bytes and
    written into the rebuilt streams one at a time (a scan is large: one bitmap at once)."""

    def __init__(self, source: bytes, password: str | None) -> None:
        self.source = source
        self.password = password

    def replace(self, streams: list[Stream]) -> None:
        """Each CCITT or JBIG2 image written as decoded samples; one pdfium cannot decode,
        or that no page draws, makes the document one this cannot release."""
        pending: dict[bytes, list[Stream]] = {}
        for stream in streams:
            pending.setdefault(hashlib.sha256(stream.read_raw_bytes()).digest(), []).append(stream)
        if any(len({_decoding(stream) for stream in same}) > 1 for same in pending.values()):
            # pdfium's pictures are matched by their stored bytes alone: the one it decoded
            # with one parameter set (BlackIs1, Columns…) would be written for the other too
            raise MalformedInput("scanned (CCITT or JBIG2) images of the same data decoded in different ways")
        try:
            document = pdfium.PdfDocument(self.source, password=self.password)
            try:
                for index in range(len(document)):
                    if not pending:
                        return
                    page = document[index]
                    self._page(page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=8), pending)
                    page.close()
            finally:
                document.close()
        except pdfium.PdfiumError:
            raise MalformedInput("a scanned (CCITT or JBIG2) image that cannot be decoded") from None
        for key, streams in list(pending.items()):
            decoded = _alone(streams[0])
            if decoded is None:
                raise MalformedInput("a scanned (CCITT or JBIG2) image that no page draws could not be decoded")
            for stream in pending.pop(key):
                _write_samples(stream, decoded)

    def _page(self, pictures: Iterable[pdfium.PdfImage], pending: dict[bytes, list[Stream]]) -> None:
        for picture in pictures:
            if not _CODED_NAMES & set(picture.get_filters()):
                continue
            streams = pending.pop(hashlib.sha256(_stored(picture)).digest(), None)
            if streams:
                decoded = picture.get_bitmap(render=False).to_pil()
                for stream in streams:
                    _write_samples(stream, decoded)


def _alone(stream: Stream) -> Image.Image | None:
    """The picture pdfium decodes for ``stream`` drawn alone on a page of its own (a copy of
    the image with only its decoding entries); None: pdfium cannot decode it."""
    scratch = pikepdf.new()
    image = scratch.copy_foreign(stream)  # its /JBIG2Globals and colour space come along
    for key in set(image.keys()) - {"/Length", "/Type", "/Subtype", *_DECODING}:
        del image[key]  # a mask of the mask, metadata…: nothing that decides its samples
    scratch.add_blank_page(page_size=(8, 8))
    page = scratch.pages[0].obj
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im=image))
    page.Contents = scratch.make_stream(b"q 1 0 0 1 0 0 cm /Im Do Q")
    out = io.BytesIO()
    scratch.save(out)
    try:
        document = pdfium.PdfDocument(out.getvalue())
        try:
            pictures = list(document[0].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=1))
            if len(pictures) != 1 or not _CODED_NAMES & set(pictures[0].get_filters()):
                return None
            return pictures[0].get_bitmap(render=False).to_pil()
        finally:
            document.close()
    except pdfium.PdfiumError:
        return None


_DECODING = ("/Filter", "/DecodeParms", "/Decode", "/ImageMask", "/Width", "/Height", "/BitsPerComponent", "/ColorSpace")


def _decoding(stream: Stream) -> bytes:
    """What, beside its stored bytes, decides the picture a coded image decodes to."""
    values = (stream.get(key) for key in _DECODING)
    return b"\0".join(v.unparse() if isinstance(v, pikepdf.Object) else repr(v).encode() for v in values)


def _write_samples(stream: Stream, picture: Image.Image) -> None:
    """The decoded picture as samples a viewer reads without a codec: a mask stays a mask
    (painted where pdfium says so), a grey picture of black and white becomes 1-bit grey,
    anything else 8-bit grey or RGB. The colour key, decode array and parameters described
    the coded samples and go with them."""
    mask = bool(stream.get("/ImageMask", False))
    if mask:  # sample 0 paints (the default /Decode [0 1])
        painted = picture.convert("L").point(lambda value: 0 if value >= _PAINTED else 255)
        samples = painted.convert("1", dither=Image.Dither.NONE)
    elif picture.mode == "L" and len(picture.getcolors(2) or ((0, 1),) * 3) <= 2 and set(picture.getextrema()) <= {0, 255}:
        samples = picture.convert("1", dither=Image.Dither.NONE)
    else:
        samples = picture if picture.mode == "L" else picture.convert("RGB")
    stream.write(samples.tobytes())
    for key in ("/Decode", "/DecodeParms", "/Filter"):
        if key in stream:
            del stream[key]
    if isinstance(stream.get("/Mask"), Array):
        del stream["/Mask"]
    stream.Width, stream.Height = samples.size
    if not mask:
        stream.ColorSpace = Name.DeviceRGB if samples.mode == "RGB" else Name.DeviceGray
        stream.BitsPerComponent = 1 if samples.mode == "1" else 8
