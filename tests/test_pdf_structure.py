"""Tags, outline, page labels and layers survive the PDF rebuild, without anything that acts
(ISO 32000-1 §12.3.3, §12.4.2, §8.11, §14.7–14.9).

A screen reader on the LGWAN side needs the tags (JIS X 8341-3); a clerk needs the
bookmarks, the printed page numbers and the layers of a map. Each is checked from outside:
pdfium reads the tags of a page through the parent tree (as a reader does), the outline
and the page labels; pikepdf counts elements and alt texts. Hostile variants are built
here from the specification and inspected by ``tests/pdf_allowlist.py``, not by cdr.
"""

from __future__ import annotations

import ctypes
import io
import re

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from pikepdf import Array, Dictionary, Name, String

from tests import builders
from tests.pdf_allowlist import inspect
from tests.test_pdf_forms import libreoffice_export, rebuild, rendered, verified

TAGGED_HTML = """<html><head><meta charset="utf-8"><title>熊の出没情報</title></head><body>
<h1>熊の出没情報</h1>
<p>令和六年十月、役場の裏山でツキノワグマが目撃されました。<a href="https://www.example.jp/kuma">詳しくはこちら</a></p>
<p><img src="map.png" alt="目撃された場所の地図" width="200" height="150"></p>
<ul><li>森の小道に近づかないでください。</li><li>鈴を持ち歩いてください。</li></ul>
<table border="1"><tr><th>日付</th><th>場所</th></tr><tr><td>10月3日</td><td>裏山</td></tr></table>
</body></html>"""


# ---------------------------------------------------------------- what a reader sees
def elements(data: bytes) -> list[tuple[str, str | None]]:
    """(type, alt text) of every structure element, in tree order, read with pikepdf."""
    found: list[tuple[str, str | None]] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        root = pdf.Root.get("/StructTreeRoot")
        stack = [root.get("/K")] if root is not None else []
        while stack:
            item = stack.pop()
            if isinstance(item, Array):
                stack.extend(reversed(list(item)))
            elif isinstance(item, Dictionary) and "/S" in item:
                found.append((str(item.S), str(item.Alt) if "/Alt" in item else None))
                stack.append(item.get("/K"))
    return found


def tags_by_pdfium(data: bytes) -> list[tuple[str, str, list[int]]]:
    """(type, alt text, marked-content ids) of each element pdfium finds for each page —
    pdfium reaches them from the page through the parent tree."""
    document = pdfium.PdfDocument(data)
    found = []

    def walk(element: object) -> None:
        ids = [
            pdfium_raw.FPDF_StructElement_GetMarkedContentIdAtIndex(element, i)
            for i in range(pdfium_raw.FPDF_StructElement_GetMarkedContentIdCount(element))
        ]
        found.append((_wide(pdfium_raw.FPDF_StructElement_GetType, element), _wide(pdfium_raw.FPDF_StructElement_GetAltText, element), ids))
        for index in range(pdfium_raw.FPDF_StructElement_CountChildren(element)):
            child = pdfium_raw.FPDF_StructElement_GetChildAtIndex(element, index)
            if child:
                walk(child)

    for number in range(len(document)):
        page = document[number]
        tree = pdfium_raw.FPDF_StructTree_GetForPage(page.raw)
        for index in range(pdfium_raw.FPDF_StructTree_CountChildren(tree)):
            walk(pdfium_raw.FPDF_StructTree_GetChildAtIndex(tree, index))
        pdfium_raw.FPDF_StructTree_Close(tree)
    return found


def _wide(function: object, element: object) -> str:
    size = function(element, None, 0)
    buffer = ctypes.create_string_buffer(size)
    function(element, buffer, size)
    return buffer.raw.decode("utf-16-le").rstrip("\0")


def marked_ids(data: bytes) -> list[set[int]]:
    """The MCIDs each page's content really marks (BDC with an /MCID property)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [
            {int(operands[1].MCID) for operands, op in pikepdf.parse_content_stream(page) if str(op) == "BDC" and isinstance(operands[1], Dictionary) and "/MCID" in operands[1]}
            for page in pdf.pages
        ]


def text_of(data: bytes) -> list[str]:
    document = pdfium.PdfDocument(data)
    return [" ".join(document[n].get_textpage().get_text_bounded().split()) for n in range(len(document))]


# ---------------------------------------------------------------- a tagged document by hand
def _tagged(plant=None) -> bytes:  # noqa: ANN001
    """Three pages of marked text: a Document with a heading, a figure with alt text and
    a paragraph; an outline, page labels (i, ii, 付録-1) and a layer that is off."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    layer = pdf.make_indirect(Dictionary(Type=Name.OCG, Name=String("地図の凡例")))
    for number in range(3):
        pdf.add_blank_page(page_size=(300, 300))
        page = pdf.pages[number].obj
        page.Resources = Dictionary(Font=Dictionary(F1=font), Properties=Dictionary(oc1=layer))
        page.Contents = pdf.make_stream(
            f"/H1 <</MCID 0>> BDC BT /F1 20 Tf 20 250 Td (Page {number + 1}) Tj ET EMC "
            f"/P <</MCID 1>> BDC BT /F1 12 Tf 20 200 Td (Text {number + 1}) Tj ET EMC "
            "/OC /oc1 BDC 0 0 1 rg 20 20 100 100 re f EMC".encode()
        )
        page.StructParents = number
    root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=root, K=Array()))
    parents = []
    for number in range(3):
        page = pdf.pages[number].obj
        heading = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.H1, P=document, Pg=page, K=0, T=String(f"見出し{number}")))
        figure = pdf.make_indirect(
            Dictionary(Type=Name.StructElem, S=Name("/Bild"), P=document, Pg=page, K=1, Alt=String(f"地図 {number + 1}"),
                       A=Dictionary(O=Name.Layout, Placement=Name.Block, BBox=Array([20, 20, 120, 120])))
        )
        document.K.extend([heading, figure])
        parents += [number, Array([heading, figure])]
    root.K = document
    root.RoleMap = Dictionary(Bild=Name.Figure)
    root.ParentTree = pdf.make_indirect(Dictionary(Nums=Array(parents)))
    root.ParentTreeNextKey = 3
    pdf.Root.StructTreeRoot = root
    pdf.Root.MarkInfo = Dictionary(Marked=True)
    pdf.Root.Lang = String("ja-JP")
    pdf.Root.PageLabels = Dictionary(
        Nums=Array([0, Dictionary(S=Name("/r")), 2, Dictionary(S=Name.D, P=String("付録-"), St=1)])
    )
    pdf.Root.OCProperties = Dictionary(
        OCGs=Array([layer]), D=Dictionary(Name=String("既定"), ON=Array(), OFF=Array([layer]), Order=Array([String("地図"), Array([layer])]))
    )
    with pdf.open_outline() as outline:
        outline.root.extend([pikepdf.OutlineItem("第一章 出没状況", 0), pikepdf.OutlineItem("付録", 2)])
    if plant is not None:
        plant(pdf)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def test_tags_outline_labels_and_layers_survive() -> None:
    original = _tagged()
    output, result = rebuild(original)
    assert inspect(output) == [] and verified(output) == []
    assert elements(output) == elements(original)
    assert tags_by_pdfium(output) == tags_by_pdfium(original)
    assert ("Figure", "地図 2", [1]) in tags_by_pdfium(output)  # the role map still reaches Figure
    document = pdfium.PdfDocument(output)
    assert [document.get_page_label(n) for n in range(3)] == ["i", "ii", "付録-1"]
    assert [item.get_title() for item in document.get_toc()] == ["第一章 出没状況", "付録"]
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert (str(pdf.Root.Lang), bool(pdf.Root.MarkInfo.Marked)) == ("ja-JP", True)
        layers = pdf.Root.OCProperties
        assert [str(g.Name) for g in layers.OCGs] == ["地図の凡例"]
        assert layers.D.OFF[0].objgen == layers.OCGs[0].objgen == pdf.pages[0].Resources.Properties.oc1.objgen
        assert str(layers.D.Order[0]) == "地図"
    assert rendered(output) == rendered(original)  # the layer that is off stays off
    kept = {a.what: a.count for a in result.actions if a.action == "kept"}
    assert kept == {"structure-elements": 7, "page-labels": 2, "layers": 1, "outline-items": 2}


def test_marked_content_ids_survive_with_the_tree_pointing_at_them() -> None:
    output, _ = rebuild(_tagged())
    assert marked_ids(output) == [{0, 1}] * 3
    with pikepdf.open(io.BytesIO(output)) as pdf:
        tree = dict(zip(*[iter(pdf.Root.StructTreeRoot.ParentTree.Nums)] * 2, strict=True))
        for page in pdf.pages:
            heading, figure = tree[int(page.StructParents)]
            assert (str(heading.S), heading.K[0], heading.Pg.objgen) == ("/H1", 0, page.objgen)
            assert (str(figure.S), figure.K[0]) == ("/Bild", 1)


# ---------------------------------------------------------------- hostile structure
def _element(pdf: pikepdf.Pdf) -> Dictionary:
    return pdf.Root.StructTreeRoot.K.K[0]


def element_actions(pdf: pikepdf.Pdf) -> None:
    """§14.7.2: an element whose attributes (/A) are an action, and whose kids hold one."""
    js = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert('tag')")))
    _element(pdf).A = js
    _element(pdf).K = Array([0, Dictionary(S=Name.Launch, F=String("cmd.exe")), js])
    pdf.Root.StructTreeRoot.ClassMap = Dictionary(evil=Dictionary(S=Name.URI, URI=String("javascript:x")))


def object_reference_to_attachment(pdf: pikepdf.Pdf) -> None:
    """§14.7.4.3: an object reference to a file-attachment annotation the rebuild drops."""
    spec = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00", mime_type="application/x-msdownload")
    annot = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, Rect=[0, 0, 9, 9], FS=spec.obj, StructParent=9))
    pdf.pages[0].obj.Annots = Array([annot])
    _element(pdf).K = Array([0, Dictionary(Type=Name.OBJR, Obj=annot, Pg=pdf.pages[0].obj)])


def hostile_parent_tree(pdf: pikepdf.Pdf) -> None:
    """A parent tree that points at an action, and an MCID of a billion (a giant array)."""
    js = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert('pt')")))
    pdf.Root.StructTreeRoot.ParentTree = pdf.make_indirect(Dictionary(Nums=Array([0, js]), Kids=Array([js])))
    _element(pdf).K = 1_000_000_000


def role_map_cycle(pdf: pikepdf.Pdf) -> None:
    """§14.8.4: a role map that never arrives at a standard type."""
    pdf.Root.StructTreeRoot.RoleMap = Dictionary(Bild=Name("/Foto"), Foto=Name("/Bild"))


def deep_elements(pdf: pikepdf.Pdf) -> None:
    """10,000 nested elements: a reader walking the tree recursively runs out of stack."""
    node = _element(pdf)
    for _ in range(10_000):
        kid = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Div, P=node))
        node.K = kid
        node = kid


def outline_actions(pdf: pikepdf.Pdf) -> None:
    """§12.3.3: outline items that launch, open a URI and run JavaScript, and a /Next loop."""
    root = pdf.Root.Outlines
    first = root.Last
    for title, action in (
        ("launch", Dictionary(S=Name.Launch, F=String("cmd.exe"))),
        ("uri", Dictionary(S=Name.URI, URI=String("http://evil.example/"))),
        ("js", Dictionary(S=Name.JavaScript, JS=String("app.alert(1)"))),
    ):
        item = pdf.make_indirect(Dictionary(Title=String(title), Parent=root, A=action))
        first.Next, item.Prev, first = item, first, item
    first.Next = root.First  # the last item's /Next is the first again
    root.Last = first


def page_label_script(pdf: pikepdf.Pdf) -> None:
    """§12.4.2: a page label dictionary with a script smuggled beside /S, and a bad style."""
    pdf.Root.PageLabels = Dictionary(
        Nums=Array([0, Dictionary(S=Name("/r"), JS=String("app.alert(1)"), AA=Dictionary()), 2, Dictionary(S=Name.JavaScript, P=String("付録-"))])
    )


def layer_usage_action(pdf: pikepdf.Pdf) -> None:
    """§8.11.4: an OCG whose /Usage carries an action, auto-state, and a config naming a layer of no list."""
    layer = pdf.Root.OCProperties.OCGs[0]
    layer.Usage = Dictionary(View=Dictionary(ViewState=Name.ON), Export=Dictionary(A=Dictionary(S=Name.JavaScript, JS=String("x"))))
    stray = pdf.make_indirect(Dictionary(Type=Name.OCG, Name=String("stray"), AA=Dictionary()))
    pdf.Root.OCProperties.D.AS = Array([Dictionary(Event=Name.View, OCGs=Array([layer]), Category=Array([Name.View]))])
    pdf.Root.OCProperties.D.ON = Array([stray, Dictionary(S=Name.JavaScript, JS=String("x"))])
    pdf.Root.OCProperties.Configs = Array([Dictionary(Name=String("print"), OFF=Array([layer]), AS=Array())])


HOSTILE = {
    "element_actions": (element_actions, {"structure-attributes", "structure-element-untyped"}),
    "object_reference_to_attachment": (object_reference_to_attachment, {"structure-object-not-kept"}),
    "hostile_parent_tree": (hostile_parent_tree, {"structure-content-unplaced"}),
    "role_map_cycle": (role_map_cycle, {"structure-role-unresolved", "structure-element-untyped"}),
    "deep_elements": (deep_elements, {"structure-too-deep"}),
    "outline_actions": (outline_actions, {"outline-action"}),
    "page_label_script": (page_label_script, {"page-label-key"}),
    "layer_usage_action": (layer_usage_action, {"properties-usage", "layer-auto-state"}),
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_hostile_structure_keeps_the_data_and_loses_what_acts(attack: str) -> None:
    plant, removed = HOSTILE[attack]
    hostile = _tagged(plant)
    assert inspect(hostile) or attack in ("role_map_cycle",), f"{attack}: nothing was planted"
    output, result = rebuild(hostile)
    assert inspect(output) == []
    assert verified(output) == []
    assert removed <= {a.what for a in result.actions if a.action == "removed"}
    assert text_of(output) == text_of(hostile)
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert "/StructTreeRoot" in pdf.Root and "/OCProperties" in pdf.Root and "/PageLabels" in pdf.Root


def test_a_role_map_cycle_is_broken_and_the_rest_kept() -> None:
    output, _ = rebuild(_tagged(role_map_cycle))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert "/RoleMap" not in pdf.Root.StructTreeRoot
        assert {str(e.S) for e in pdf.Root.StructTreeRoot.K[0].K} == {"/H1"}  # /Bild reaches no standard type
    assert len(elements(output)) == 4


def test_outline_keeps_titles_and_loses_actions() -> None:
    output, _ = rebuild(_tagged(outline_actions))
    titles = [item.get_title() for item in pdfium.PdfDocument(output).get_toc()]
    assert titles[:2] == ["第一章 出没状況", "付録"] and set(titles[2:]) <= {"launch", "uri", "js"}


# ---------------------------------------------------------------- a real tagged export
@pytest.fixture(scope="module")
def libreoffice_tagged(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A page with a heading, a linked paragraph, a picture with alt text, a list and a
    table, exported by LibreOffice Writer as a tagged PDF."""
    work = tmp_path_factory.mktemp("tagged")
    (work / "map.png").write_bytes(builders.simple("PNG", (200, 150)))
    return libreoffice_export(work, TAGGED_HTML, UseTaggedPDF=True, ExportBookmarks=True)


@pytest.mark.slow
def test_libreoffice_tagged_pdf_keeps_its_tags_and_alt_texts(libreoffice_tagged: bytes) -> None:
    output, _ = rebuild(libreoffice_tagged)
    assert inspect(output) == [] and verified(output) == []
    before, after = elements(libreoffice_tagged), elements(output)
    assert len(after) == len(before) > 10
    assert ("/Figure", "目撃された場所の地図") in after and after == before
    assert tags_by_pdfium(output) == tags_by_pdfium(libreoffice_tagged)
    assert marked_ids(output) == marked_ids(libreoffice_tagged)
    with pikepdf.open(io.BytesIO(output)) as pdf:  # the link's element still owns the link
        link = next(page.Annots[0] for page in pdf.pages if "/Annots" in page)
        tree = dict(zip(*[iter(pdf.Root.StructTreeRoot.ParentTree.Nums)] * 2, strict=True))
        owner = tree[int(link.StructParent)]
        assert str(owner.S) == "/Link" and any(isinstance(k, Dictionary) and k.get("/Obj") == link for k in owner.K)
    assert rendered(output) == rendered(libreoffice_tagged)
    assert re.sub(r"\s", "", "".join(text_of(output))) == re.sub(r"\s", "", "".join(text_of(libreoffice_tagged)))
