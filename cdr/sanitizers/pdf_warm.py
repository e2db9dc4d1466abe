"""A small PDF made here, from trusted bytes only, that holds one of each part a real
document brings: text in a font with a ToUnicode CMap, a colour profile, an image, a form
XObject, a drawing with an inline image (the instruction-by-instruction reading), links, a
note with its appearance, a form field, an outline, tags, page labels.

The zygote rebuilds and verifies it once before it forks (``cdr.warmup``), so that what the
PDF rebuild and its verifier set up on first use — LittleCMS, the CMap writer, pikepdf's
outline, name-tree and inline-image classes, the patterns compiled on first call — is
shared by every child instead of being paid again by each (about 2 ms of a small PDF's
sanitizing child, in CPU time, measured on the bench corpus).
"""

from __future__ import annotations

import io
import zlib

import pikepdf
from pikepdf import Array, Dictionary, Name, OutlineItem, String

from cdr.sanitizers.icc import srgb_profile

_DRAWING = (
    b"q /GS0 gs /CS0 cs 0.2 0.4 0.6 scn 0 0 50 50 re f\n"
    b"/P <</MCID 0>> BDC BT /F1 12 Tf 10 60 Td [(Ku)-250(ma)12<0102>]TJ (a) Tj ET EMC\n"
    b"q 20 0 0 20 60 10 cm /Im0 Do Q /Fm0 Do Q\n"
)
# an inline image sends this one to the instruction-by-instruction reading
_INLINE = b"q 4 0 0 4 90 90 cm BI /W 2 /H 1 /BPC 8 /CS /G ID \x00\xff EI Q\n"
_TO_UNICODE = (
    b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
    b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
    b"/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n"
    b"1 begincodespacerange <00> <FF> endcodespacerange\n"
    b"2 beginbfchar <01> <718A> <02> <306E> endbfchar\n"
    b"1 beginbfrange <61> <63> <0061> endbfrange\n"
    b"endcmap CMapName currentdict /CMap defineresource pop end end\n"
)


def sample() -> bytes:
    """The document, as saved bytes."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0].obj
    font = Dictionary(
        Type=Name.Font,
        Subtype=Name.Type1,
        BaseFont=Name.Helvetica,
        ToUnicode=pdf.make_stream(_TO_UNICODE),
    )
    image = pdf.make_stream(
        zlib.compress(bytes(range(12))),
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=2,
        Height=2,
        BitsPerComponent=8,
        ColorSpace=Name.DeviceRGB,
        Filter=Name.FlateDecode,
    )
    form = pdf.make_stream(b"0 0 1 rg 0 0 5 5 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 5, 5])
    page.Resources = Dictionary(
        Font=Dictionary(F1=font),
        ExtGState=Dictionary(GS0=Dictionary(Type=Name.ExtGState, CA=1, ca=0.8, LW=1)),
        ColorSpace=Dictionary(CS0=Array([Name.ICCBased, pdf.make_stream(srgb_profile(), N=3)])),
        XObject=Dictionary(Im0=image, Fm0=form),
    )
    page.Contents = Array([pdf.make_stream(_DRAWING), pdf.make_stream(_INLINE)])
    page.StructParents = 0
    appearance = pdf.make_stream(b"1 1 0 rg 0 0 20 20 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 20, 20])
    field = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Widget,
            FT=Name.Tx,
            T=String("氏名"),
            V=String("熊"),
            DA=String("/Helv 10 Tf 0 g"),
            Rect=[10, 150, 100, 165],
            F=4,
        )
    )
    field.P = page
    page.Annots = Array(
        [
            pdf.make_indirect(
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=[0, 0, 50, 20],
                    A=Dictionary(S=Name.URI, URI=String("https://www.example.jp/")),
                )
            ),
            pdf.make_indirect(
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=[0, 20, 50, 40],
                    Dest=Array([pdf.pages[1].obj, Name.Fit]),
                )
            ),
            pdf.make_indirect(
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Text,
                    Rect=[150, 150, 170, 170],
                    Contents=String("確認"),
                    AP=Dictionary(N=appearance),
                )
            ),
            field,
        ]
    )
    pdf.Root.AcroForm = Dictionary(Fields=Array([field]), DA=String("/Helv 10 Tf 0 g"))
    element = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.P, Pg=page, K=0))
    tree = pdf.make_indirect(
        Dictionary(
            Type=Name.StructTreeRoot,
            K=Array([element]),
            ParentTree=Dictionary(Nums=Array([0, Array([element])])),
        )
    )
    element.P = tree
    pdf.Root.StructTreeRoot = tree
    pdf.Root.MarkInfo = Dictionary(Marked=True)
    pdf.Root.Lang = String("ja-JP")
    pdf.Root.PageLabels = Dictionary(Nums=Array([0, Dictionary(S=Name.D, St=1)]))
    with pdf.open_outline() as outline:
        outline.root.append(OutlineItem("はじめに", 1))
    pdf.docinfo["/Title"] = String("見本")
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()
