"""Stream data in a rebuilt PDF is written anew (cdr/sanitizers/pdf_data.py, pdf_images.py,
pdf_codecs.py, pdf_fonts.py), and the verifier refuses what a decoder would skip
(cdr/verifiers/pdf_data.py): bytes after deflate's end, JPEG comments and application
segments, JPEG 2000 boxes no decoder reads, fax and JBIG2 data, bytes after a font's tables.
The page must look the same afterwards: each rebuild is compared with pdfium's drawing."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from pikepdf import Array, Dictionary, Name
from PIL import Image, ImageChops

from cdr.errors import MalformedInput
from cdr.sanitizers.pdf_codecs import jpeg_rebuilt, jpx_rebuilt
from cdr.sanitizers.pdf_fonts import sfnt_rebuilt
from cdr.sanitizers.pdf_images import BitonalDecoder
from tests.test_pdf_forms import rebuild, verified
from tests.test_pdf_programs import _removed
from tests.test_pdf_verifier import clean_document, kinds

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.exe", b"MZ" + b"\x00" * 64)
    return out.getvalue()


def _picture(fmt: str, mode: str = "RGB", **options: object) -> bytes:
    picture = Image.radial_gradient("L").resize((48, 32)).convert(mode)
    out = io.BytesIO()
    picture.save(out, fmt, **options)
    return out.getvalue()


def _segment(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def _document(stream: pikepdf.Stream | None = None, contents: bytes = b"q 96 0 0 64 20 20 cm /X0 Do Q") -> bytes:
    """One page drawing ``stream`` (an image) over a blue fill; stored bytes kept as given."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(160, 120))
    page = pdf.pages[0].obj
    page.Contents = pdf.make_stream(b"0 0 1 rg " + contents)
    page.Resources = Dictionary(XObject=Dictionary(X0=stream(pdf)) if stream else Dictionary())
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


def _image(raw: bytes, codec: str, width: int = 48, height: int = 32, **keys: object):  # noqa: ANN202
    def make(pdf: pikepdf.Pdf) -> pikepdf.Stream:
        stream = pikepdf.Stream(pdf, raw)
        stream.Type, stream.Subtype, stream.Width, stream.Height = Name.XObject, Name.Image, width, height
        stream.Filter = Name(codec)
        if "ImageMask" not in keys:
            stream.ColorSpace, stream.BitsPerComponent = Name.DeviceRGB, 8
        for key, value in keys.items():
            stream[Name("/" + key)] = value
        return stream

    return make


def _drawn(data: bytes) -> Image.Image:
    document = pdfium.PdfDocument(data)
    try:
        return document[0].render(scale=2).to_pil().convert("RGB")
    finally:
        document.close()


def _released_alike(data: bytes) -> tuple[bytes, object]:
    """Rebuilt, verified, free of a ZIP and drawn exactly as the source was."""
    output, result = rebuild(data)
    assert verified(output) == []
    assert b"PK\x05\x06" not in output and b"PK\x03\x04" not in output
    assert ImageChops.difference(_drawn(data), _drawn(output)).getbbox() is None
    return output, result


def _streams(data: bytes) -> list[tuple[str, bytes]]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [(str(o.get("/Filter")), o.read_raw_bytes()) for o in pdf.objects if isinstance(o, pikepdf.Stream)]


# ---------------------------------------------------------------- deflate
def test_bytes_after_the_deflate_end_are_not_stored() -> None:
    drawing = b"BT /Helv 12 Tf 10 60 Td (Kuma) Tj ET 0 0 m 100 100 l S"

    def make(pdf: pikepdf.Pdf) -> pikepdf.Stream:
        pdf.pages[0].obj.Contents = pikepdf.Stream(pdf, zlib.compress(drawing) + _zip(), Filter=Name.FlateDecode)
        return pikepdf.Stream(pdf, zlib.compress(bytes(range(48)) * 32) + _zip(), Filter=Name.FlateDecode,
                              Type=Name.XObject, Subtype=Name.Image, Width=48, Height=32,
                              ColorSpace=Name.DeviceGray, BitsPerComponent=8)

    output, _ = _released_alike(_document(make))
    for _, raw in _streams(output):
        inflater = zlib.decompressobj()
        inflater.decompress(raw)
        assert inflater.eof and inflater.unused_data == b""


def test_the_verifier_refuses_bytes_after_the_deflate_end() -> None:
    def planted(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.Contents.write(zlib.compress(b"BT ET") + b"<html>", filter=Name.FlateDecode)

    assert "pdf-data-after-end" in kinds(clean_document(planted))
    assert kinds(clean_document()) == set()


# ---------------------------------------------------------------- JPEG
def test_a_jpeg_keeps_its_picture_and_loses_comments_metadata_and_what_follows_its_end() -> None:
    jpeg = _picture("JPEG", exif=b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00")
    carrier = jpeg[:2] + _segment(0xFE, b"<script>alert(1)</script>") + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x/>") + jpeg[2:] + _zip()
    output, _ = _released_alike(_document(_image(carrier, "/DCTDecode")))
    (filters, raw), = [s for s in _streams(output) if s[0] == "/DCTDecode"]
    assert b"<script" not in raw and b"Exif" not in raw and b"xap" not in raw and raw.endswith(b"\xff\xd9")
    assert Image.open(io.BytesIO(raw)).tobytes() == Image.open(io.BytesIO(jpeg)).tobytes()


@pytest.mark.parametrize(("mode", "options"), [("RGB", {"progressive": True}), ("CMYK", {}), ("L", {"quality": 30})])
def test_a_rebuilt_jpeg_decodes_to_the_same_pixels(mode: str, options: dict) -> None:
    jpeg = _picture("JPEG", mode, **options)
    rebuilt = jpeg_rebuilt(jpeg + b"trailing")
    assert rebuilt is not None and rebuilt.endswith(b"\xff\xd9") and b"trailing" not in rebuilt
    with Image.open(io.BytesIO(rebuilt)) as after, Image.open(io.BytesIO(jpeg)) as before:
        assert after.mode == before.mode and after.tobytes() == before.tobytes()


def test_a_jpeg_with_a_marker_no_picture_needs_is_not_one() -> None:
    jpeg = _picture("JPEG")
    assert jpeg_rebuilt(jpeg[:2] + _segment(0xF0, b"JPG0") + jpeg[2:]) is None
    assert jpeg_rebuilt(b"<html>") is None


def test_the_verifier_refuses_a_jpeg_comment_in_a_pdf_image() -> None:
    jpeg = _picture("JPEG")
    assert "pdf-image-data-not-allowed" in kinds(_document(_image(jpeg[:2] + _segment(0xFE, b"hi") + jpeg[2:], "/DCTDecode")))
    assert "pdf-image-data-not-allowed" in kinds(_document(_image(jpeg + b"PK", "/DCTDecode")))


# ---------------------------------------------------------------- JPEG 2000
def _jp2_with_xml() -> tuple[bytes, bytes]:
    jp2 = _picture("JPEG2000")
    at = jp2.index(b"jp2c") - 4
    xml = b"<x:xmpmeta><script>alert(1)</script></x:xmpmeta>"
    return jp2, jp2[:at] + struct.pack(">I", 8 + len(xml)) + b"xml " + xml + jp2[at:] + _zip()


def test_a_jpeg_2000_image_keeps_the_boxes_a_decoder_reads() -> None:
    jp2, carrier = _jp2_with_xml()
    output, _ = _released_alike(_document(_image(carrier, "/JPXDecode")))
    (_, raw), = [s for s in _streams(output) if s[0] == "/JPXDecode"]
    assert b"xml " not in raw and b"<script" not in raw and raw.endswith(b"\xff\xd9")
    assert Image.open(io.BytesIO(raw)).tobytes() == Image.open(io.BytesIO(jp2)).tobytes()


def test_a_bare_codestream_ends_at_its_end_marker_without_comments() -> None:
    codestream = _picture("JPEG2000", no_jp2=True)
    assert b"\xff\x64" in codestream[:200]  # OpenJPEG writes its name in a comment
    rebuilt = jpx_rebuilt(codestream + b"PK\x05\x06")
    assert rebuilt is not None and rebuilt.endswith(b"\xff\xd9") and b"\xff\x64" not in rebuilt[:200]
    assert Image.open(io.BytesIO(rebuilt)).tobytes() == Image.open(io.BytesIO(codestream)).tobytes()


def test_the_verifier_refuses_a_jpeg_2000_box_no_decoder_reads() -> None:
    _, carrier = _jp2_with_xml()
    assert "pdf-image-data-not-allowed" in kinds(_document(_image(carrier, "/JPXDecode")))


# ---------------------------------------------------------------- fonts
def _truetype(program: bytes) -> bytes:
    """Text drawn with ``program`` embedded as a TrueType font."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 60))
    descriptor = Dictionary(Type=Name.FontDescriptor, FontName=Name("/DejaVuSans"), Flags=32, ItalicAngle=0,
                            Ascent=900, Descent=-200, CapHeight=700, StemV=80, FontBBox=Array([0, -200, 1000, 900]),
                            FontFile2=pikepdf.Stream(pdf, program, Length1=len(program)))
    font = Dictionary(Type=Name.Font, Subtype=Name.TrueType, BaseFont=Name("/DejaVuSans"), FirstChar=32,
                      LastChar=126, Widths=Array([600] * 95), Encoding=Name.WinAnsiEncoding,
                      FontDescriptor=pdf.make_indirect(descriptor))
    page = pdf.pages[0].obj
    page.Resources = Dictionary(Font=Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 24 Tf 10 20 Td (Kuma 123) Tj ET")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _tables(font: bytes) -> list[tuple[bytes, int, int]]:
    count = struct.unpack_from(">H", font, 4)[0]
    return [struct.unpack_from(">4sxxxxII", font, 12 + 16 * n) for n in range(count)]


needs_font = pytest.mark.skipif(not DEJAVU.exists(), reason="DejaVu Sans is not installed")


@needs_font
def test_a_truetype_program_is_rebuilt_from_its_tables_and_ends_at_the_last() -> None:
    font = DEJAVU.read_bytes()
    output, _ = _released_alike(_truetype(font + _zip()))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        program = pdf.pages[0].Resources.Font.F1.FontDescriptor.FontFile2.read_bytes()
    tables = _tables(program)
    assert len(program) == max(offset + length + (-length % 4) for _, offset, length in tables)
    assert {tag for tag, _, _ in tables} <= {tag for tag, _, _ in _tables(font)}
    assert sfnt_rebuilt(program) == program  # a rebuilt program is its own rebuild


@needs_font
def test_a_font_whose_tables_overlap_is_left_out_and_said() -> None:
    font = bytearray(DEJAVU.read_bytes())
    first, second = sorted(_tables(bytes(font)), key=lambda t: t[1])[:2]
    at = 12 + 16 * [t for t, _, _ in _tables(bytes(font))].index(second[0])
    struct.pack_into(">I", font, at + 8, first[1])  # the second table starts inside the first
    output, result = rebuild(_truetype(bytes(font)))
    assert verified(output) == []
    assert _removed(result).get("font-file-2-not-its-format") == 1
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert "/FontFile2" not in pdf.pages[0].Resources.Font.F1.FontDescriptor


@needs_font
def test_the_verifier_refuses_bytes_after_a_fonts_last_table() -> None:
    assert "pdf-font-data-not-allowed" in kinds(_truetype(DEJAVU.read_bytes() + b"<html>" * 4))
    assert "pdf-font-data-not-allowed" in kinds(_truetype(DEJAVU.read_bytes()))  # FontForge's FFTM table
    assert "pdf-font-data-not-allowed" not in kinds(_truetype(sfnt_rebuilt(DEJAVU.read_bytes())))


# ---------------------------------------------------------------- fax and JBIG2 scans
def _group4(width: int = 64, height: int = 48) -> bytes:
    bar = Image.new("1", (width, height), 1)
    bar.paste(0, (10, 20, 50, 30))
    out = io.BytesIO()
    bar.save(out, "TIFF", compression="group4")
    with Image.open(io.BytesIO(out.getvalue())) as tiff:
        offset, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    return out.getvalue()[offset : offset + length]


@pytest.mark.parametrize("mask", [False, True], ids=["grey", "mask"])
@pytest.mark.parametrize("decode", [None, [1, 0]], ids=["decode-default", "decode-inverted"])
@pytest.mark.parametrize("black_is_1", [False, True], ids=["black-0", "black-1"])
def test_a_fax_image_is_written_as_samples_that_draw_the_same(mask: bool, decode: list | None, black_is_1: bool) -> None:
    keys: dict[str, object] = {"DecodeParms": Dictionary(K=-1, Columns=64, Rows=48, BlackIs1=black_is_1)}
    keys |= {"ImageMask": True} if mask else {"ColorSpace": Name.DeviceGray, "BitsPerComponent": 1}
    if decode:
        keys["Decode"] = Array(decode)
    output, result = _released_alike(_document(_image(_group4() + _zip(), "/CCITTFaxDecode", 64, 48, **keys)))
    assert all("CCITT" not in filters for filters, _ in _streams(output))
    assert {a.what: a.count for a in result.actions if a.action == "kept"}.get("scanned-image-decoded") == 1


def test_a_fax_image_drawn_from_a_form_is_found() -> None:
    def form(pdf: pikepdf.Pdf) -> pikepdf.Stream:
        image = _image(_group4(), "/CCITTFaxDecode", 64, 48, ImageMask=True,
                       DecodeParms=Dictionary(K=-1, Columns=64, Rows=48))(pdf)
        return pdf.make_stream(b"/I0 Do", Type=Name.XObject, Subtype=Name.Form, BBox=Array([0, 0, 1, 1]),
                               Resources=Dictionary(XObject=Dictionary(I0=image)))

    _released_alike(_document(form))


def test_jbig2_data_pdfium_cannot_decode_refuses_the_document_in_words() -> None:
    def broken(pdf: pikepdf.Pdf) -> pikepdf.Stream:
        globals_ = pdf.make_stream(b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x10<html></html>")
        return _image(b"\x00\x00\x00\x01\x30\x01\x00\x00\x00\x13" + b"\x00" * 32, "/JBIG2Decode", 8, 8,
                      ColorSpace=Name.DeviceGray, BitsPerComponent=1,
                      DecodeParms=Dictionary(JBIG2Globals=globals_))(pdf)

    with pytest.raises(MalformedInput, match="scanned .CCITT or JBIG2. image"):
        rebuild(_document(broken))


def test_the_verifier_refuses_fax_data() -> None:
    keys = {"DecodeParms": Dictionary(K=-1, Columns=64, Rows=48), "ImageMask": True}
    assert "pdf-scan-data-kept" in kinds(_document(_image(_group4(), "/CCITTFaxDecode", 64, 48, **keys)))


# ---------------------------------------------------------------- scans no page draws itself
def _jbig2_bar(width: int = 48, height: int = 32) -> bytes:
    """The fax bar as a JBIG2 embedded stream: page information, then one generic region
    coded with MMR (the group 4 data itself)."""

    def segment(number: int, kind: int, data: bytes) -> bytes:
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    return (segment(0, 48, struct.pack(">IIIIBH", width, height, 0, 0, 0, 0))
            + segment(1, 38, struct.pack(">IIIIB", width, height, 0, 0, 0) + b"\x01" + _group4(width, height)))


def _jpeg_through(key: str, scan: pikepdf.Stream | None = None):  # noqa: ANN202
    """A JPEG page picture drawn through ``scan`` as its /Mask or /SMask, which no page draws."""

    def make(pdf: pikepdf.Pdf) -> pikepdf.Stream:
        picture = _image(_picture("JPEG"), "/DCTDecode")(pdf)
        picture[Name(key)] = pdf.make_indirect(scan(pdf))
        return picture

    return make


def _fax_smask(pdf: pikepdf.Pdf) -> pikepdf.Stream:
    return _image(_group4(48, 32) + _zip(), "/CCITTFaxDecode", ColorSpace=Name.DeviceGray, BitsPerComponent=1,
                  DecodeParms=Dictionary(K=-1, Columns=48, Rows=32))(pdf)


def _jbig2_stencil(pdf: pikepdf.Pdf) -> pikepdf.Stream:
    return _image(_jbig2_bar(), "/JBIG2Decode", ImageMask=True)(pdf)  # pdfium reads no JBIG2 with a tail


def _scans_left(data: bytes) -> list[str]:
    return [filters for filters, _ in _streams(data) if "CCITT" in filters or "JBIG2" in filters]


@pytest.mark.parametrize(("key", "scan"), [("/Mask", _jbig2_stencil), ("/SMask", _fax_smask)], ids=["jbig2-mask", "fax-smask"])
def test_a_scan_used_only_as_a_pictures_mask_is_decoded_on_its_own(key: str, scan) -> None:  # noqa: ANN001
    sent = _document(_jpeg_through(key, scan))
    output, result = _released_alike(sent)
    assert _scans_left(sent) != [] and _scans_left(output) == []
    with pikepdf.open(io.BytesIO(output)) as pdf:
        mask = pdf.pages[0].Resources.XObject.X0[key]
        assert (mask.Width, mask.Height, mask.get("/ImageMask", False)) == (48, 32, key == "/Mask")
        assert mask.get("/ColorSpace") == (None if key == "/Mask" else Name.DeviceGray)
    assert {a.what: a.count for a in result.actions if a.action == "kept"}.get("scanned-image-decoded") == 1


def test_a_fax_drawn_only_by_an_annotation_is_decoded_on_its_own() -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(160, 120))
    fax = _fax_smask(pdf)
    form = pdf.make_stream(b"q 48 0 0 32 0 0 cm /X0 Do Q", Type=Name.XObject, Subtype=Name.Form,
                           BBox=Array([0, 0, 48, 32]), Resources=Dictionary(XObject=Dictionary(X0=fax)))
    stamp = Dictionary(Type=Name.Annot, Subtype=Name.Stamp, Rect=Array([20, 20, 116, 84]), AP=Dictionary(N=form), F=4)
    pdf.pages[0].obj.Annots = Array([pdf.make_indirect(stamp)])
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    output, _ = _released_alike(out.getvalue())
    assert _scans_left(out.getvalue()) != [] and _scans_left(output) == []


def test_a_mask_pdfium_cannot_decode_on_its_own_still_holds_the_document() -> None:
    def broken(pdf: pikepdf.Pdf) -> pikepdf.Stream:  # pdfium gives no picture for JBIG2 data with a tail
        return _image(_jbig2_bar() + _zip(), "/JBIG2Decode", ImageMask=True)(pdf)

    with pytest.raises(MalformedInput, match="that no page draws could not be decoded"):
        rebuild(_document(_jpeg_through("/Mask", broken)))


def test_twin_masks_no_page_draws_are_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(160, 120))
    pictures = [_jpeg_through("/SMask", _fax_smask)(pdf) for _ in range(2)]
    pdf.pages[0].obj.Resources = Dictionary(XObject=Dictionary(A=pictures[0], B=pictures[1]))
    pdf.pages[0].obj.Contents = pdf.make_stream(b"q 48 0 0 32 10 10 cm /A Do Q q 48 0 0 32 90 10 cm /B Do Q")
    source = io.BytesIO()
    pdf.save(source, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    decoded: list[int] = []
    original = pdfium.PdfImage.get_bitmap
    monkeypatch.setattr(pdfium.PdfImage, "get_bitmap", lambda self, **k: decoded.append(1) or original(self, **k))
    sent = pikepdf.open(io.BytesIO(source.getvalue()))
    masks = [sent.pages[0].Resources.XObject[name].SMask for name in ("/A", "/B")]
    assert masks[0].objgen != masks[1].objgen
    BitonalDecoder(source.getvalue(), None).replace(masks)
    assert len(decoded) == 1
    assert [(m.get("/Filter"), m.ColorSpace, m.Width) for m in masks] == [(None, Name.DeviceGray, 48)] * 2
