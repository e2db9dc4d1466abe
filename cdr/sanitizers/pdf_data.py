"""Every stream of the rebuilt PDF decoded and written anew, just before it is saved.

A filter's decoder stops at its end of data (deflate's final block, ASCII's ``>`` or ``~>``,
run-length's 128, a fax or JBIG2 end), so whatever is stored after it rides along unseen —
and qpdf copies a Flate stream as stored unless asked to recompress it. Here each stream's
general filters (Flate, LZW, ASCII, run-length) are undone and the decoded bytes written
back bare, so qpdf compresses exactly what a decoder reads and nothing after it; CCITT and
JBIG2 pictures are decoded by pdfium (``pdf_images``). One pass over the new document's
objects: whatever role a stream plays, nothing stored reaches the output as it was but
JPEG and JPEG 2000 data, which the image and font rebuilds already wrote anew.
"""

from __future__ import annotations

import zlib
from collections import Counter

import pikepdf
from pikepdf import Stream

from cdr.errors import MalformedInput
from cdr.sanitizers.pdf_images import BITONAL, REBUILDERS, BitonalDecoder, codec_data_rebuilt, filter_chain

GENERAL = frozenset({"/FlateDecode", "/LZWDecode", "/ASCIIHexDecode", "/ASCII85Decode", "/RunLengthDecode"})


def _partial_inflate(raw: bytes) -> bytes:
    """What a viewer's inflater gives for damaged deflate data: up to the damage."""
    inflater, out = zlib.decompressobj(), []
    try:
        out.append(inflater.decompress(raw))
    except zlib.error:
        pass
    return b"".join(out)


def _decoded(stream: Stream) -> tuple[bytes, bool]:
    """The stream decoded through its general filters, and whether it decoded whole."""
    try:
        return stream.read_bytes(decode_level=pikepdf.StreamDecodeLevel.specialized), True
    except pikepdf.PdfError:
        if filter_chain(stream)[0] == ["/FlateDecode"] and stream.get("/DecodeParms") is None:
            return _partial_inflate(stream.read_raw_bytes()), False
        return b"", False  # undecodable: a viewer draws nothing from it either


def rewrite_streams(
    pdf: pikepdf.Pdf, source: bytes, password: str | None, dropped: Counter[str], kept: Counter[str]
) -> None:
    """Decode each stream of ``pdf`` (the rebuilt document) and store what it decodes to;
    ``source`` (the document as sent) is where pdfium finds the scanned pictures."""
    bitonal: list[Stream] = []
    for obj in list(pdf.objects):
        if not isinstance(obj, Stream):
            continue
        names, _ = filter_chain(obj)
        if names and names[-1] in BITONAL:
            bitonal.append(obj)
        elif names and names[-1] in REBUILDERS:
            # the image rebuild (pdf_clean) wrote these with the codec alone; one reached
            # some other way is rebuilt here, or the document is not released
            if len(names) > 1 and not codec_data_rebuilt(obj):
                raise MalformedInput("an image whose JPEG data cannot be read")
        elif names and set(names) <= GENERAL:
            decoded, whole = _decoded(obj)
            dropped["stream-damaged"] += not whole
            obj.write(decoded)
    if bitonal:
        BitonalDecoder(source, password).replace(bitonal)
        kept["scanned-image-decoded"] += len(bitonal)
