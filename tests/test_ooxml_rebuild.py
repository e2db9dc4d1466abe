"""The OOXML rebuild as a function: stable (a second pass removes nothing, the same input
gives the same bytes), complete (every written member is reached from the root) and able
to carry a large sheet with its formulas and values."""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable

import docx
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from cdr.model import Action, ActionTaken, FileType
from cdr.policy import Policy
from cdr.sanitizers.base import Context
from cdr.sanitizers.ooxml import OoxmlSanitizer
from cdr.verifiers import VerifyContext
from cdr.verifiers import ooxml as verifier
from tests import office_builders as ob
from tests.test_ooxml_attacks import VML_O, elements, external_targets_safe, instructions

SOURCES: dict[str, tuple[Callable[[], bytes], FileType]] = {
    "rich-docx": (ob.rich_docx, FileType.DOCX),
    "rich-xlsx": (ob.rich_xlsx, FileType.XLSX),
    "rich-pptx": (ob.rich_pptx, FileType.PPTX),
    "docm-vba": (ob.docm_with_vba, FileType.DOCM),
    "nested-field": (ob.nested_field_builds_dde, FileType.DOCX),
    "alternate-content-ole": (ob.alternate_content_fallback_ole, FileType.DOCX),
    "shared-dde": (ob.formula_shared_dde_and_names, FileType.XLSX),
    "strict-dde": (ob.strict_sheet_with_dde, FileType.XLSX),
    "ppaction": (lambda: ob.pptx_action("ppaction://program", "file:///C:/x.exe"), FileType.PPTX),
}
_MACRO_FREE = {FileType.DOCM: FileType.DOCX}


def rebuild(data: bytes, file_type: FileType) -> tuple[bytes, tuple[ActionTaken, ...]]:
    out = io.BytesIO()
    result = OoxmlSanitizer().sanitize(io.BytesIO(data), out, Context(file_type, Action.REBUILD, "x", Policy()))
    return out.getvalue(), result.actions


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_second_pass_removes_nothing_and_output_is_stable(source: str) -> None:
    build, file_type = SOURCES[source]
    data = build()
    first, _ = rebuild(data, file_type)
    assert rebuild(data, file_type)[0] == first, "the same input must give the same bytes"
    second, actions = rebuild(first, _MACRO_FREE.get(file_type, file_type))
    assert [a for a in actions if a.action == "removed"] == []


def _reached(package: zipfile.ZipFile) -> set[str]:
    """Parts reached from the root through the relationship parts (read with lxml here)."""
    names = set(package.namelist())
    reached, queue = set(), [""]
    while queue:
        source = queue.pop()
        folder, leaf = posixpath.split(source)
        rels = posixpath.join(folder, "_rels", leaf + ".rels") if source else "_rels/.rels"
        if rels not in names:
            continue
        for rel in etree.fromstring(package.read(rels)):
            if rel.get("TargetMode") == "External":
                continue
            target = posixpath.normpath(posixpath.join(folder, rel.get("Target")))
            assert target in names, f"{rels} points at {target}, which is not in the package"
            if target not in reached:
                reached.add(target)
                queue.append(target)
    return reached


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_member_is_reached(source: str) -> None:
    build, file_type = SOURCES[source]
    with zipfile.ZipFile(io.BytesIO(rebuild(build(), file_type)[0])) as package:
        reached = _reached(package)
        rels = {n for n in package.namelist() if n.endswith(".rels")}
        assert set(package.namelist()) == reached | rels | {"[Content_Types].xml"}


def test_large_sheet_keeps_formulas_and_values() -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("大きい表")
    for row in range(1, 20_001):
        sheet.append([row, f"品目{row}", row * 1.5, f"=A{row}*C{row}", f"=SUM(A{row}:C{row})"])
    data = io.BytesIO()
    workbook.save(data)
    output, actions = rebuild(data.getvalue(), FileType.XLSX)
    assert [a for a in actions if a.action == "removed"] == []
    rows = list(openpyxl.load_workbook(io.BytesIO(output), read_only=True)["大きい表"].iter_rows(values_only=True))
    assert len(rows) == 20_000
    assert rows[-1] == (20_000, "品目20000", 30_000, "=A20000*C20000", "=SUM(A20000:C20000)")


# ---------------------------------------------------------------- random bodies always verify
_INSTRUCTIONS = st.sampled_from(
    [" PAGE ", " DDEAUTO c:\\\\x.exe ", " HYPERLINK &quot;https://a.jp/&quot; ", " HYPERLINK &quot;\\\\\\\\h\\\\s&quot; ",
     " INCLUDETEXT x ", " QUOTE y ", " DATE \\@ &quot;HH:mm&quot; ", "DD", "E ", " IF 1 = 1 ", ""]
)  # fmt: skip
_TEXT = st.sampled_from(["本文", "text", "&#124;", ""]).map(lambda t: f"<w:r><w:t>{t}</w:t></w:r>")
_CODES = st.one_of(
    st.sampled_from(["begin", "separate", "end"]).map(lambda k: f'<w:r><w:fldChar w:fldCharType="{k}"/></w:r>'),
    _INSTRUCTIONS.map(lambda i: f'<w:r><w:instrText xml:space="preserve">{i}</w:instrText></w:r>'),
    _INSTRUCTIONS.map(lambda i: f'<w:fldSimple w:instr="{i}"><w:r><w:t>r</w:t></w:r></w:fldSimple>'),
    st.sampled_from(["rIdWeb", "rIdFile", "rIdNone", "rIdImg"]).map(
        lambda r: f'<w:hyperlink r:id="{r}"><w:r><w:t>link</w:t></w:r></w:hyperlink>'
    ),
    st.just('<w:r><w:object><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" r:id="rIdWeb"/></w:object></w:r>'),
    st.just('<e:evil xmlns:e="urn:evil"><w:r><w:t>x</w:t></w:r></e:evil>'),
    _TEXT,
)
_RUNS = st.recursive(
    st.lists(_CODES, max_size=6).map("".join),
    lambda inner: inner.map(
        lambda xml: '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        f'<mc:Choice Requires="w14">{xml}</mc:Choice><mc:Fallback>{xml}</mc:Fallback></mc:AlternateContent>'
    ),
    max_leaves=4,
)


def _plain_docx() -> bytes:
    package = ob.Package(ob.docx_bytes())
    for rel_id, target in (("rIdWeb", "https://www.city.example.lg.jp/"), ("rIdFile", "file:///C:/x.exe")):
        package.add_rel("word/_rels/document.xml.rels", rel_id, f"{ob.REL_NS}/hyperlink", target, True)
    package.add_rel("word/_rels/document.xml.rels", "rIdImg", f"{ob.REL_NS}/image", "media/image1.png")
    return package.bytes()


_BASE: list[bytes] = []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_RUNS, min_size=1, max_size=4))
def test_any_rebuilt_body_passes_verification(paragraphs: list[str]) -> None:
    """Whatever mix of fields, links, objects, foreign markup and alternate content a body
    holds, the rebuild leaves nothing the independent verifier refuses."""
    if not _BASE:
        _BASE.append(_plain_docx())
    package = ob.Package(_BASE[0])
    package.body_append("".join(f"<w:p>{p}</w:p>" for p in paragraphs))
    output, _actions = rebuild(package.bytes(), FileType.DOCX)
    findings = verifier.verify(io.BytesIO(output), VerifyContext(Policy(), "x"))
    assert findings == [], findings
    left = instructions(output)  # and, read independently with lxml: nothing active is left
    assert not any(word in left for word in ("DDEAUTO", "INCLUDETEXT", "QUOTE", "\\\\h")), left
    assert elements(output, VML_O, "OLEObject") == [] and external_targets_safe(output)


def test_strict_policy_keeps_no_link_and_still_verifies() -> None:
    """Under policies/strict.yaml (no hyperlink schemes, properties stripped) every external
    link goes, its words stay, and the output passes verification under the same policy."""
    from pathlib import Path

    from cdr.policy import load_policy

    strict = load_policy(Path(__file__).resolve().parent.parent / "policies" / "strict.yaml")
    out = io.BytesIO()
    OoxmlSanitizer().sanitize(io.BytesIO(ob.rich_docx()), out, Context(FileType.DOCX, Action.REBUILD, "x", strict))
    output = out.getvalue()
    assert verifier.verify(io.BytesIO(output), VerifyContext(strict, "x")) == []
    with zipfile.ZipFile(io.BytesIO(output)) as package:
        rels = [package.read(n) for n in package.namelist() if n.endswith(".rels")]
    assert not any(b'TargetMode="External"' in r for r in rels)
    assert "市のサイト" in "".join(p.text for p in docx.Document(io.BytesIO(output)).paragraphs)


def test_hyperlink_base_goes() -> None:
    """docProps/app.xml HyperlinkBase would resolve every relative link against a share."""
    package = ob.Package(ob.docx_bytes())
    app = package.text("docProps/app.xml")
    package.put("docProps/app.xml", app.replace("</Properties>", "<HyperlinkBase>\\\\evil\\s\\</HyperlinkBase></Properties>"))
    output, actions = rebuild(package.bytes(), FileType.DOCX)
    with zipfile.ZipFile(io.BytesIO(output)) as rebuilt_package:
        assert b"HyperlinkBase" not in rebuilt_package.read("docProps/app.xml")
    assert any(a.what == "hyperlink-base" and a.action == "removed" for a in actions)


def test_damaged_member_is_malformed_input() -> None:
    from cdr.errors import MalformedInput

    data = bytearray(ob.docx_bytes())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/document.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 10
    data[start : start + 20] = bytes(20)  # the deflate stream of the main part, broken
    with pytest.raises(MalformedInput):
        rebuild(bytes(data), FileType.DOCX)
    kinds = [f.kind for f in verifier.verify(io.BytesIO(bytes(data)), VerifyContext(Policy(), "x"))]
    assert "ooxml-unreadable" in kinds


def test_part_in_an_unknown_vocabulary_is_left_out() -> None:
    """A listed content type over a root element no vocabulary here knows: the part goes,
    the relationship to it too, the rest of the document stays and verifies."""
    package = ob.Package(ob.docx_bytes())
    package.put("word/styles.xml", '<?xml version="1.0"?><x:styles xmlns:x="urn:future-office"><x:s/></x:styles>')
    output, actions = rebuild(package.bytes(), FileType.DOCX)
    assert any(a.what == "unknown-vocabulary-part" for a in actions)
    with zipfile.ZipFile(io.BytesIO(output)) as rebuilt_package:
        assert "word/styles.xml" not in rebuilt_package.namelist()
        assert b"styles.xml" not in rebuilt_package.read("word/_rels/document.xml.rels")
    assert verifier.verify(io.BytesIO(output), VerifyContext(Policy(), "x")) == []
    assert ob.DOC_TEXT[1] in "".join(p.text for p in docx.Document(io.BytesIO(output)).paragraphs)
