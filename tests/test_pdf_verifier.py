"""The PDF verifier (cdr/verifiers/pdf.py) on hand-built files: a small clean document
passes, and each variant holding one thing outside the allow-list is reported."""

from __future__ import annotations

import dataclasses
import io
import zlib
from collections.abc import Callable

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String

from cdr.model import FileType
from cdr.policy import load_policy
from cdr.verifiers import VerifyContext, verify_structure
from tests import pdf_builders
from tests.conftest import ROOT

POLICY = load_policy(ROOT / "policies" / "default.yaml")


def _js(code: str = "app.alert(1)") -> Dictionary:
    return Dictionary(S=Name.JavaScript, JS=String(code))


def clean_document(change: Callable[[pikepdf.Pdf], None] | None = None) -> bytes:
    """One page with text in Helvetica, a link to a web page and one to the page itself."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0].obj
    page.Contents = pdf.make_stream(b"BT /F1 12 Tf 72 720 Td (Kuma) Tj ET")
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica)
    page.Resources = Dictionary(Font=Dictionary(F1=font), ExtGState=Dictionary(G0=Dictionary(CA=0.5)))
    web = Dictionary(S=Name.URI, URI=String("https://www.example.jp/"))
    page.Annots = Array(
        [
            pdf.make_indirect(
                Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 0, 9, 9]), A=web)
            ),
            pdf.make_indirect(
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=Array([9, 9, 20, 20]),
                    Dest=Array([page, Name.Fit]),
                )
            ),
        ]
    )
    pdf.docinfo["/Title"] = String("熊")
    if change is not None:
        change(pdf)
    out = io.BytesIO()
    pdf.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    return out.getvalue()


def kinds(data: bytes, policy=POLICY) -> set[str]:  # noqa: ANN001
    return {f.kind for f in verify_structure(FileType.PDF, io.BytesIO(data), VerifyContext(policy, "a.pdf"))}


def _page(pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
    return pdf.pages[0].obj


def _names(pdf: pikepdf.Pdf, key: str) -> None:
    pdf.Root.Names = Dictionary({key: Dictionary(Names=Array([String("x"), pdf.make_indirect(_js())]))})


def _annotation(subtype: str, **extra: object) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        annot = Dictionary(Type=Name.Annot, Subtype=Name(subtype), Rect=Array([0, 0, 5, 5]), **extra)
        _page(pdf).Annots.append(pdf.make_indirect(annot))

    return change


def _link_action(action: Dictionary) -> Callable[[pikepdf.Pdf], None]:
    return _annotation("/Link", A=action)


def _set(
    path: Callable[[pikepdf.Pdf], pikepdf.Dictionary], key: str, value: object
) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        path(pdf)[key] = value

    return change


VARIANTS: dict[str, tuple[Callable[[pikepdf.Pdf], None], str]] = {
    "page-aa": (_set(_page, "/AA", Dictionary(O=_js())), "pdf-key-not-allowed"),
    "open-action-js": (_set(lambda p: p.Root, "/OpenAction", _js()), "pdf-key-not-allowed"),
    "names-javascript": (lambda pdf: _names(pdf, "/JavaScript"), "pdf-key-not-allowed"),
    "names-embedded-files": (lambda pdf: _names(pdf, "/EmbeddedFiles"), "pdf-key-not-allowed"),
    "acroform-xfa": (
        _set(lambda p: p.Root, "/AcroForm", Dictionary(Fields=Array(), XFA=String("<xdp/>"))),
        "pdf-key-not-allowed",
    ),
    "acroform-calculation-order": (
        _set(lambda p: p.Root, "/AcroForm", Dictionary(Fields=Array(), CO=Array())),
        "pdf-key-not-allowed",
    ),
    "field-value-dictionary": (
        _set(lambda p: p.Root, "/AcroForm", Dictionary(Fields=Array([Dictionary(FT=Name.Sig, V=_js())]))),
        "pdf-dictionary-not-allowed",
    ),
    "field-type-unknown": (
        _set(lambda p: p.Root, "/AcroForm", Dictionary(Fields=Array([Dictionary(FT=Name.JavaScript)]))),
        "pdf-name-not-allowed",
    ),
    "structure-element-action": (
        _set(lambda p: p.Root, "/StructTreeRoot", Dictionary(K=Dictionary(S=Name.P, A=_js()))),
        "pdf-attribute-owner-not-allowed",
    ),
    "structure-type-an-action": (
        _set(lambda p: p.Root, "/StructTreeRoot", Dictionary(K=Dictionary(S=Name.JavaScript))),
        "pdf-structure-type-unknown",
    ),
    "structure-role-cycle": (
        _set(
            lambda p: p.Root,
            "/StructTreeRoot",
            Dictionary(K=Dictionary(S=Name.Bild), RoleMap=Dictionary(Bild=Name.Foto, Foto=Name.Bild)),
        ),
        "pdf-structure-type-unknown",
    ),
    "structure-kid-action": (
        _set(lambda p: p.Root, "/StructTreeRoot", Dictionary(K=Dictionary(S=Name.P, K=Array([_js()])))),
        "pdf-key-not-allowed",
    ),
    "page-label-script": (
        _set(lambda p: p.Root, "/PageLabels", Dictionary(Nums=Array([0, Dictionary(S=Name.D, JS=String("x"))]))),
        "pdf-key-not-allowed",
    ),
    "layer-usage": (
        _set(lambda p: p.Root, "/OCProperties", Dictionary(OCGs=Array([Dictionary(Type=Name.OCG, Usage=_js())]))),
        "pdf-key-not-allowed",
    ),
    "launch-link": (_link_action(Dictionary(S=Name.Launch, F=String("cmd.exe"))), "pdf-action-not-allowed"),
    "javascript-uri": (
        _link_action(Dictionary(S=Name.URI, URI=String(" JavaScript:x"))),
        "pdf-uri-not-allowed",
    ),
    "mailto-attach": (
        _link_action(
            Dictionary(S=Name.URI, URI=String("mailto:a@town.example?subject=x&attach=/etc/passwd"))
        ),
        "pdf-uri-not-allowed",
    ),
    "file-uri": (_link_action(Dictionary(S=Name.URI, URI=String("file:///C:/x.exe"))), "pdf-uri-not-allowed"),
    "submit-form": (
        _link_action(Dictionary(S=Name.SubmitForm, F=String("http://x"))),
        "pdf-action-not-allowed",
    ),
    "file-attachment": (_annotation("/FileAttachment"), "pdf-annotation-not-allowed"),
    "widget-action": (_annotation("/Widget", A=_js()), "pdf-key-not-allowed"),
    "widget-additional-actions": (_annotation("/Widget", AA=Dictionary(K=_js())), "pdf-key-not-allowed"),
    "markup-with-action": (_annotation("/Highlight", A=_js()), "pdf-key-not-allowed"),
    "extgstate-action": (
        _set(lambda p: _page(p).Resources.ExtGState.G0, "/A", _js()),
        "pdf-key-not-allowed",
    ),
    "extgstate-unknown-key": (
        _set(lambda p: _page(p).Resources.ExtGState.G0, "/Foo", 1),
        "pdf-key-not-allowed",
    ),
    "font-action": (_set(lambda p: _page(p).Resources.Font.F1, "/A", _js()), "pdf-key-not-allowed"),
    "number-where-dictionary": (
        _set(lambda p: _page(p).Resources.ExtGState.G0, "/CA", Dictionary(A=_js())),
        "pdf-dictionary-not-allowed",
    ),
    "postscript-xobject": (
        lambda pdf: _page(pdf).Resources.__setitem__(
            "/XObject", Dictionary(P0=pikepdf.Stream(pdf, b"showpage", Type=Name.XObject, Subtype=Name.PS))
        ),
        "pdf-xobject-not-allowed",
    ),
    "external-stream-file": (
        _set(lambda p: _page(p).Contents, "/F", String("evil.ps")),
        "pdf-key-not-allowed",
    ),
    "info-not-text": (_set(lambda p: p.trailer.Info, "/Title", Dictionary(A=_js())), "pdf-info-not-text"),
    "group-named-as-action": (
        _set(_page, "/Group", Dictionary(S=Name.JavaScript, CS=Name.DeviceRGB)),
        "pdf-name-not-allowed",
    ),
    "link-next-action": (
        _link_action(Dictionary(S=Name.URI, URI=String("https://a.jp/"), Next=_js())),
        "pdf-key-not-allowed",
    ),
}


def test_clean_document_passes() -> None:
    assert kinds(clean_document()) == set()


def test_open_action_to_a_page_passes() -> None:
    def open_at_page(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OpenAction = Array([_page(pdf), Name.Fit])

    assert kinds(clean_document(open_at_page)) == set()


@pytest.mark.filterwarnings("ignore:This document has 1 form widget")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_one_thing_outside_the_allow_list_is_found(variant: str) -> None:
    change, expected = VARIANTS[variant]
    assert expected in kinds(clean_document(change))


def test_schemes_follow_the_policy() -> None:
    no_links = dataclasses.replace(POLICY, pdf=dataclasses.replace(POLICY.pdf, links=()))
    assert "pdf-uri-not-allowed" in kinds(clean_document(), no_links)


def test_data_after_eof_and_incremental_update_are_found() -> None:
    data = clean_document()
    assert "pdf-trailing-data" in kinds(data + b"PK\x03\x04" + b"\0" * 40)
    assert "pdf-incremental-update" in kinds(pdf_builders.incremental_open_action(data))


def test_decoded_size_is_measured() -> None:
    def bomb(pdf: pikepdf.Pdf) -> None:
        stream = pikepdf.Stream(pdf, zlib.compress(b" " * 200_000, 9))
        stream.Filter = Name.FlateDecode
        _page(pdf).Contents = stream

    small = dataclasses.replace(POLICY, limits=dataclasses.replace(POLICY.limits, max_stream_size=100_000))
    assert "pdf-stream-too-large" in kinds(clean_document(bomb), small)
    assert kinds(clean_document(bomb)) == set()


def test_filters_other_than_flate_are_refused_outside_images() -> None:
    data = io.BytesIO()
    with pikepdf.open(io.BytesIO(clean_document())) as pdf:
        lzw = b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01"
        _page(pdf).Contents = pikepdf.Stream(pdf, lzw, Filter=Name.LZWDecode)
        pdf.save(data, stream_decode_level=pikepdf.StreamDecodeLevel.none, compress_streams=False)
    assert "pdf-filter-not-allowed" in kinds(data.getvalue())


def test_the_verifier_imports_nothing_from_the_sanitizers() -> None:
    source = (ROOT / "cdr" / "verifiers" / "pdf.py").read_text()
    assert "cdr.sanitizers" not in source.replace("``cdr.sanitizers``", "")


def test_appearance_stream_without_subtype_passes() -> None:
    """An appearance is a form XObject even when its /Subtype is left out (12.5.5)."""

    def square_with_appearance(pdf: pikepdf.Pdf) -> None:
        appearance = pikepdf.Stream(pdf, b"0 0 1 rg 0 0 5 5 re f", BBox=Array([0, 0, 5, 5]))
        annot = Dictionary(
            Type=Name.Annot,
            Subtype=Name.Square,
            Rect=Array([0, 0, 5, 5]),
            AP=Dictionary(N=pdf.make_indirect(appearance)),
        )
        _page(pdf).Annots.append(pdf.make_indirect(annot))

    assert kinds(clean_document(square_with_appearance)) == set()


def test_nesting_past_the_bound_is_found() -> None:
    def deep_dash(pdf: pikepdf.Pdf) -> None:
        nested = Array([3])
        for _ in range(60):
            nested = Array([nested])
        _page(pdf).Resources.ExtGState.G0.D = nested

    assert "pdf-too-deep" in kinds(clean_document(deep_dash))


def test_a_name_key_holding_an_array_is_a_finding_not_a_crash() -> None:
    """A key that takes one of a few names (a group's /S) given an array instead: reported
    as a name not allowed (it raised TypeError: unhashable, which only a quarantine for a
    failed check caught)."""

    def group_as_array(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.Group = Dictionary(Type=Name.Group, S=Array([Name.Transparency]))

    assert "pdf-name-not-allowed" in kinds(clean_document(group_as_array))
