"""What a PDF carries that a reader runs — drawing instructions, default appearances, Type 1
font headers, CMaps, Type 4 functions, appearance XObjects — rebuilt to its grammar
(cdr/sanitizers/pdf_content.py, pdf_postscript.py), and each shape refused by the verifier
on its own (cdr/verifiers/pdf_streams.py), without the rebuild in front of it."""

from __future__ import annotations

import io
import zlib

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String

from cdr.sanitizers.pdf_content import clean_default_appearance
from tests.test_pdf_forms import rebuild, verified
from tests.test_pdf_verifier import clean_document, kinds

BINARY_TAIL = b"\r\n" + bytes(range(256)) * 4 + b"\n" + b"0" * 512 + b"\ncleartomark\n"


def type1(header: bytes) -> bytes:
    return b"%!PS-AdobeFont-1.0: Kuma 001.000\n" + header + b"currentfile eexec" + BINARY_TAIL


GOOD_HEADER = (
    b"% This licence is in the accompanying file OFL.txt\n11 dict begin\n/FontInfo 2 dict dup begin\n"
    b"/Notice (See the file COPYING for conditions.) readonly def\nend readonly def\n/FontName /Kuma def\n"
    b"/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\ndup 65 /A put\nreadonly def\n"
    b"/FontMatrix [0.001 0 0 0.001 0 0] readonly def\n/FontBBox{0 0 500 700}readonly def\ncurrentdict end\n"
)
TO_UNICODE = (
    b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n(\\\\192.0.2.1\\s\\x.ps) run\n"
    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
    b"1 begincodespacerange <00> <FF> endcodespacerange\n2 beginbfchar <41> <0041> <42> <3042> endbfchar\n"
    b"1 beginbfrange <61> <63> [<0061> <0062> <0063>] endbfrange\nendcmap end end\n"
)


def _font(pdf: pikepdf.Pdf, program: bytes | None = None, to_unicode: bytes | None = None) -> Dictionary:
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name("/Kuma"), FirstChar=65, LastChar=66,
                      Widths=Array([500, 500]))  # fmt: skip
    if program is not None:
        length = program.index(b"eexec") + len(b"eexec\r\n")
        stream = pdf.make_stream(program, Length1=length, Length2=len(program) - length, Length3=0)
        font.FontDescriptor = Dictionary(Type=Name.FontDescriptor, FontName=Name("/Kuma"), Flags=32,
                                         FontBBox=Array([0, 0, 500, 700]), ItalicAngle=0, Ascent=700,
                                         Descent=0, CapHeight=700, StemV=80, FontFile=stream)  # fmt: skip
    if to_unicode is not None:
        font.ToUnicode = pdf.make_stream(to_unicode)
    return font


def _document(contents: bytes, font: dict[str, object] | None = None, shading: bytes | None = None) -> pikepdf.Pdf:
    """One page drawing ``contents``, with /F1 made by ``_font(**font)`` and /Sh0 a shading
    whose function is ``shading``."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0].obj
    page.Contents = pdf.make_stream(contents)
    page.Resources = Dictionary()
    if font is not None:
        page.Resources.Font = Dictionary(F1=_font(pdf, **font))
    if shading is not None:
        page.Resources.Shading = Dictionary(Sh0=_shading(pdf, shading))
    return pdf


def _saved(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _operators(data: bytes) -> list[str]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [str(i.operator) for i in pikepdf.parse_content_stream(pdf.pages[0])]


def _removed(result: object) -> dict[str, int]:
    return {a.what: a.count for a in result.actions if a.action == "removed"}


# ---------------------------------------------------------------- drawing instructions
def test_postscript_unknown_operators_and_compatibility_sections_leave_the_drawing() -> None:
    hostile = _document(
        b"q 1 0 0 RG BX (x) PS /Evil 1 unknownop EX 0 0 m 10 10 l S (\\\\192.0.2.1\\x) PS\n"
        b"/Span << /MCID 0 /ActualText (a) /A << /S /JavaScript /JS (app.alert(1)) >> >> BDC EMC Q"
    )
    output, result = rebuild(_saved(hostile))
    assert _operators(output) == ["q", "RG", "m", "l", "S", "BDC", "EMC", "Q"]
    with pikepdf.open(io.BytesIO(output)) as pdf:
        marked = [i for i in pikepdf.parse_content_stream(pdf.pages[0]) if str(i.operator) == "BDC"][0]
        assert dict(marked.operands[1].items()) == {"/MCID": 0, "/ActualText": String("a")}
    removed = _removed(result)
    assert removed["drawing-compatibility-section"] == 4  # BX, (x) PS, /Evil 1 unknownop, EX
    assert removed["drawing-operator"] == 1 and removed["marked-content-properties"] == 1
    assert verified(output) == []


def test_a_drawing_with_nothing_to_remove_is_kept_byte_for_byte() -> None:
    drawing = b"q 0.5 0 0 0.5 10 10 cm BT /F1 12 Tf 10 10 Td (Kuma) Tj ET 0 0 1 rg 0 0 50 50 re f Q\n"
    output, result = rebuild(_saved(_document(drawing, font={})))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert pdf.pages[0].obj.Contents.read_bytes() == drawing
    assert not any(a.what.startswith("drawing") for a in result.actions)


def test_the_verifier_refuses_drawing_outside_annex_a_on_its_own() -> None:
    def planted(contents: bytes) -> set[str]:
        return kinds(clean_document(lambda pdf: setattr(pdf.pages[0].obj, "Contents", pdf.make_stream(contents))))

    assert planted(b"q 0 0 m 1 1 l S Q") == set()
    assert planted(b"BX /a 1 PS EX") == {"pdf-content-operator-not-allowed"}
    assert planted(b"/P << /MCID 0 /A << /S /JavaScript >> >> BDC EMC") == {"pdf-content-operator-not-allowed"}
    assert planted(b"/P << /Launch (x) >> DP") == {"pdf-content-operator-not-allowed"}


# ---------------------------------------------------------------- default appearances
@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("/Helv 0 Tf 0 g q 1000 0 0 1000 0 0 cm /Im0 Do Q (x) Tj (y) PS", "/Helv 0 Tf 0 g"),
        ("0 0 1 rg /F1 9 Tf BT (injected) Tj ET 0 0 595 842 re f", "/F1 9 Tf 0 0 1 rg"),
        ("/HeiseiMin-W3 10.5 Tf 0 0 0 1 k", "/HeiseiMin-W3 10.5 Tf 0 0 0 1 k"),
        ("(x) Tj 0 g", None),
    ],
)
def test_a_default_appearance_keeps_a_font_and_one_colour(written: str, kept: str | None) -> None:
    rebuilt = clean_default_appearance(String(written))
    assert (str(rebuilt) if rebuilt is not None else None) == kept


def test_the_verifier_refuses_a_default_appearance_that_draws() -> None:
    def form(appearance: str) -> set[str]:
        def change(pdf: pikepdf.Pdf) -> None:
            field = pdf.make_indirect(Dictionary(FT=Name.Tx, T=String("a"), DA=String(appearance)))
            pdf.Root.AcroForm = Dictionary(Fields=Array([field]), DA=String("/Helv 0 Tf 0 g"))

        return kinds(clean_document(change))

    assert form("/Helv 9 Tf 0 0 1 rg") == set()
    assert form("/Helv 9 Tf 0 g BT (x) Tj ET") == {"pdf-default-appearance-not-allowed"}


# ---------------------------------------------------------------- appearances
def test_a_postscript_xobject_is_no_appearance() -> None:
    def widget(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
        postscript = pdf.make_stream(b"(\\\\192.0.2.1\\x) run", Type=Name.XObject, Subtype=Name.PS)
        form = pdf.make_stream(b"0 g 0 0 10 10 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 10, 10])
        field = pdf.make_indirect(
            Dictionary(FT=Name.Btn, T=String("ok"), Type=Name.Annot, Subtype=Name.Widget, Rect=[0, 0, 10, 10],
                       P=pdf.pages[0].obj, AP=Dictionary(N=Dictionary(Yes=form, Off=form), D=Dictionary(Yes=postscript)))
        )  # fmt: skip
        pdf.pages[0].obj.Annots = Array([field])
        pdf.Root.AcroForm = Dictionary(Fields=Array([field]))
        return field

    hostile = _document(b"")
    widget(hostile)
    output, result = rebuild(_saved(hostile))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        appearance = pdf.Root.AcroForm.Fields[0].AP
        assert sorted(appearance.N.keys()) == ["/Off", "/Yes"] and list(appearance.D.keys()) == []
    assert _removed(result)["postscript-xobject"] == 1
    # /Subtype /PS where a form belongs, and 'run' read as its drawing
    assert kinds(clean_document(widget)) == {"pdf-name-not-allowed", "pdf-content-operator-not-allowed"}


# ---------------------------------------------------------------- fonts and CMaps
def test_a_type1_header_that_names_a_file_in_a_comment_or_notice_is_written_without_it() -> None:
    program = type1(GOOD_HEADER)
    output, result = rebuild(_saved(_document(b"BT /F1 9 Tf (A) Tj ET", font={"program": program})))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        stream = pdf.pages[0].obj.Resources.Font.F1.FontDescriptor.FontFile
        kept = stream.read_bytes()
        assert kept.endswith(b"currentfile eexec" + BINARY_TAIL)
        header = kept[: kept.index(b"currentfile eexec")]
        assert b"file" not in header.replace(b"currentfile", b"") and b"/Notice () readonly def" in header
        assert stream.Length1 == len(header) + len(b"currentfile eexec\r\n") and stream.Length3 == 0
    assert verified(output) == []


@pytest.mark.parametrize(
    "header",
    [b"(\\\\192.0.2.1\\s\\x.ps) run\n", b"/FontName /Kuma def (x) (r) file pop\n", b"userdict /x {} put x exec\n"],
)
def test_a_type1_header_that_runs_something_loses_its_program_and_keeps_its_text(header: bytes) -> None:
    document = _document(b"BT /F1 9 Tf (AB) Tj ET", font={"program": type1(header), "to_unicode": TO_UNICODE})
    output, result = rebuild(_saved(document))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        font = pdf.pages[0].obj.Resources.Font.F1
        assert "/FontFile" not in font.FontDescriptor and font.BaseFont == "/Kuma"
    assert _removed(result)["font-file-1-not-its-format"] == 1
    assert verified(output) == []
    planted = kinds(clean_document(lambda pdf: pdf.pages[0].obj.Resources.Font.__setitem__(
        "/F1", _font(pdf, type1(header)))))  # fmt: skip
    assert planted == {"pdf-font-program-not-allowed"}


def test_a_to_unicode_cmap_is_written_anew_from_its_mappings() -> None:
    document = _document(b"BT /F1 9 Tf (AB) Tj ET", font={"to_unicode": TO_UNICODE})
    output, _ = rebuild(_saved(document))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        text = pdf.pages[0].obj.Resources.Font.F1.ToUnicode.read_bytes()
    assert b"run" not in text and b"192.0.2.1" not in text
    assert b"2 beginbfchar\n<41> <0041>\n<42> <3042>\nendbfchar" in text
    assert b"1 beginbfrange\n<61> <63> [<0061> <0062> <0063>]\nendbfrange" in text
    assert verified(output) == []
    planted = kinds(clean_document(lambda pdf: pdf.pages[0].obj.Resources.Font.F1.__setitem__(
        "/ToUnicode", pdf.make_stream(TO_UNICODE))))  # fmt: skip
    assert planted == {"pdf-cmap-not-allowed"}


def test_an_embedded_encoding_cmap_takes_in_the_cmap_it_uses() -> None:
    used = b"%!PS\n(%pipe%calc) (r) file\n1 begincodespacerange <0000> <FFFF> endcodespacerange\n" \
           b"1 begincidrange <0000> <00FF> 0 endcidrange\n"
    own = b"/Base usecmap\n1 begincidchar <0041> 500 endcidchar\n(/tmp/x) run\n"
    document = _document(b"BT /F1 9 Tf <0041> Tj ET")
    descendant = Dictionary(Type=Name.Font, Subtype=Name.CIDFontType0, BaseFont=Name("/Kuma"),
                            CIDSystemInfo=Dictionary(Registry=String("Adobe"), Ordering=String("Japan1"), Supplement=6))  # fmt: skip
    encoding = document.make_stream(own, Type=Name.CMap, CMapName=Name("/Kuma-H"), UseCMap=document.make_stream(used))
    document.pages[0].obj.Resources.Font = Dictionary(
        F1=Dictionary(Type=Name.Font, Subtype=Name.Type0, BaseFont=Name("/Kuma"), Encoding=encoding,
                      DescendantFonts=Array([descendant]))
    )  # fmt: skip
    output, _ = rebuild(_saved(document))
    with pikepdf.open(io.BytesIO(output)) as out:
        cmap = out.pages[0].obj.Resources.Font.F1.Encoding
        text = cmap.read_bytes()
        assert "/UseCMap" not in cmap
    assert b"1 begincidrange\n<0000> <00FF> 0\nendcidrange" in text and b"1 begincidchar\n<0041> 500\nendcidchar" in text
    assert b"run" not in text and b"file" not in text and b"/Base usecmap" in text
    assert verified(output) == []


# ---------------------------------------------------------------- type 4 functions
def _shading(pdf: pikepdf.Pdf, program: bytes) -> Dictionary:
    function = pdf.make_stream(program, FunctionType=4, Domain=[0, 1], Range=[0, 1, 0, 1, 0, 1])
    return Dictionary(ShadingType=2, ColorSpace=Name.DeviceRGB, Coords=[0, 0, 100, 0], Function=function)


def test_a_type4_function_keeps_only_arithmetic() -> None:
    calculator = b"{ dup 0.5 mul exch 1 exch sub }"
    for program, kept in ((calculator, True), (b"{ (\\\\192.0.2.1\\s) (r) file pop 0 0 }", False)):
        output, result = rebuild(_saved(_document(b"/Sh0 sh", shading=program)))
        with pikepdf.open(io.BytesIO(output)) as pdf:
            shading = pdf.pages[0].obj.Resources.Shading.Sh0
            assert ("/Function" in shading) is kept
            if kept:
                assert shading.Function.read_bytes() == calculator
        assert verified(output) == []
        planted = kinds(clean_document(lambda pdf, p=program: pdf.pages[0].obj.Resources.__setitem__(
            "/Shading", Dictionary(Sh0=_shading(pdf, p)))))  # fmt: skip
        assert planted == (set() if kept else {"pdf-function-not-allowed"})


# ---------------------------------------------------------------- values
def test_field_numbers_are_kept_only_as_defined() -> None:
    pdf = _document(b"")
    fields = [
        pdf.make_indirect(Dictionary(FT=Name.Tx, T=String("a"), Ff=-1, MaxLen=-5, Q=99)),
        pdf.make_indirect(Dictionary(FT=Name.Tx, T=String("b"), Ff=0xFFFFFFF, MaxLen=8, Q=2)),
        pdf.make_indirect(Dictionary(FT=Name.Ch, T=String("c"), Ff=1 << 17, Opt=[String("x"), String("y")],
                                     I=[7, 1, -1])),  # fmt: skip
    ]
    pdf.Root.AcroForm = Dictionary(Fields=Array(fields), Q=5)
    output, _ = rebuild(_saved(pdf))
    with pikepdf.open(io.BytesIO(output)) as out:
        a, b, c = (dict(f.items()) for f in out.Root.AcroForm.Fields)
        assert "/Q" not in out.Root.AcroForm
    assert "/Ff" not in a and "/MaxLen" not in a and "/Q" not in a
    tx_bits = 0b111 | 1 << 12 | 1 << 13 | 1 << 20 | 1 << 22 | 1 << 23 | 1 << 24 | 1 << 25
    assert (b["/Ff"], b["/MaxLen"], b["/Q"]) == (tx_bits, 8, 2)
    assert list(c["/I"]) == [1] and c["/Ff"] == 1 << 17


def test_a_blank_page_lists_no_removal_of_nothing() -> None:
    _, result = rebuild(_saved(_document(b"")))
    assert all(a.count > 0 for a in result.actions)


def test_a_damaged_drawing_keeps_what_comes_before_the_damage() -> None:
    whole = zlib.compress(b"".join(b"q %d 0 0 rg %d %d 50 50 re f Q\n" % (n % 2, n, n * 3) for n in range(400)))
    pdf = _document(b"")
    # a distance too far back for zlib: qpdf gives up on the whole stream, zlib stops there
    pdf.pages[0].obj.Contents = pdf.make_stream(whole[: len(whole) // 2] + b"\x07" * 64, Filter=Name.FlateDecode)
    output, result = rebuild(_saved(pdf))
    operators = _operators(output)
    assert operators[:6] == ["q", "rg", "re", "f", "Q", "q"] and len(operators) > 500
    assert _removed(result)["drawing-damaged"] == 1
    assert verified(output) == []


# the quick reading (texts, names and numbers struck out, the words looked up) must never
# pass what the instruction-by-instruction reading would find
TRICKY_DRAWINGS = [
    b"q (a(b)c) Tj (x) PS Q",  # a text with parentheses inside, then PS
    b"q (a\\) PS (b) Tj Q",  # an escaped parenthesis: all one text, nothing to remove
    b"0 0 m %(\n(x) PS",  # a comment opening a text that is not one
    b"q\x0bPS Q",  # a vertical tab is part of a word in PDF
    b"/P <</MCID 1>> BDC EMC /P << /MCID 2 /A << /S /JavaScript >> >> BDC EMC",
    b"<4142> Tj <</Launch 1>> DP",
    b"q 1 0 0 1 0 0 cm/F1 12 Tf[<01>-5(a)]TJ 1PS Q",
]


@pytest.mark.parametrize("drawing", TRICKY_DRAWINGS)
def test_the_quick_reading_passes_nothing_the_full_reading_would_remove(drawing: bytes) -> None:
    output, _ = rebuild(_saved(_document(drawing)))
    assert set(_operators(output)) <= {"q", "Q", "m", "Tj", "TJ", "Tf", "cm", "BDC", "EMC", "BMC"}
    assert verified(output) == []
    planted = kinds(clean_document(lambda pdf: setattr(pdf.pages[0].obj, "Contents", pdf.make_stream(drawing))))
    assert planted == ({"pdf-content-operator-not-allowed"} if drawing != b"q (a\\) PS (b) Tj Q" else set())


# shapes made to look plain to the quick reading's byte patterns: each is left to the full
# reading, and the operator outside annex A never reaches the output
HIDING_FROM_THE_QUICK_READING = [
    b"q 0 0 m % a comment ended by a carriage return alone\rPS Q",  # PDF ends a comment at CR too
    b"q <4142> Tj /a>PS Q",  # '>' ends a name: PS stands on its own
    b"q [<41>1.2.3<42>]TJ PS Q",  # a number that is not one inside an array
    b"q (open \\\\) PS Q",  # an escaped backslash, then the text really closes: PS is an operator
    b"q /F1 12 Tf /\x00PS Q",  # NUL is white space in PDF: an empty name, then PS
    b"q [(a)-5 Tj (b)] TJ Q",  # an operator inside an array: the drawing does not parse
]
NOTHING_TO_FIND = [  # what looks like an operator is not one, or nothing is wrong
    b"q (never closed PS Q",  # a text that is not closed: the rest is its text, never run
    b"q (a\\) PS\\)) Tj Q",  # escaped parentheses: PS is inside the text
    b"q BI /W 2 /H 1 /BPC 8 /CS /G ID PS EI Q",  # operator-looking bytes as an inline image's pixels
    b"q [(a)-5 [(b)]] TJ Q",  # a nested array: legal syntax, left to the full reading
]


@pytest.mark.parametrize("drawing", HIDING_FROM_THE_QUICK_READING + NOTHING_TO_FIND)
def test_a_drawing_made_to_look_plain_is_still_read_in_full(drawing: bytes) -> None:
    output, _ = rebuild(_saved(_document(drawing)))
    assert "PS" not in _operators(output)
    assert set(_operators(output)) <= {"q", "Q", "m", "Tf", "Tj", "TJ", "INLINE IMAGE"}
    assert verified(output) == []
    planted = kinds(clean_document(lambda pdf: setattr(pdf.pages[0].obj, "Contents", pdf.make_stream(drawing))))
    if drawing in HIDING_FROM_THE_QUICK_READING:
        assert planted == {"pdf-content-operator-not-allowed"}


@pytest.mark.parametrize(
    "values",
    [{"Ff": -1}, {"Ff": 1 << 27}, {"Q": 99}, {"MaxLen": -5}, {"Opt": [String("x"), String("y")], "I": [7]}],
)
def test_the_verifier_refuses_field_numbers_the_specification_does_not_define(values: dict) -> None:
    def change(pdf: pikepdf.Pdf) -> None:
        field = pdf.make_indirect(Dictionary(FT=Name.Ch, T=String("c"), **values))
        pdf.Root.AcroForm = Dictionary(Fields=Array([field]))

    assert kinds(clean_document(change)) == {"pdf-value-out-of-range"}


def test_the_verifier_refuses_a_page_label_prefix_longer_than_a_label() -> None:
    def label(prefix: str) -> set[str]:
        return kinds(clean_document(lambda pdf: setattr(
            pdf.Root, "PageLabels", Dictionary(Nums=Array([0, Dictionary(S=Name.D, P=String(prefix))])))))  # fmt: skip

    assert label("付録" * 500) == set()
    assert label("付録" * 501) == {"pdf-value-out-of-range"}
