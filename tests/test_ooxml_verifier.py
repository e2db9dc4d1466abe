"""The OOXML verifier (cdr/verifiers/ooxml*.py) on its own: sanitizer outputs of benign
documents pass it, and a clean package with one disallowed thing planted fails it — each
thing named by the finding it must raise. It shares no code with the sanitizer."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cdr.model import Action, FileType
from cdr.policy import Policy
from cdr.sanitizers.base import Context
from cdr.sanitizers.ooxml import OoxmlSanitizer
from cdr.verifiers import VerifyContext
from cdr.verifiers import ooxml as verifier
from cdr.verifiers.ooxml_grammar import field_problem, formula_problem
from tests import office_builders as ob

ROOT = Path(__file__).resolve().parent.parent
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SCHEMES = ("http", "https", "mailto")


def rebuilt(data: bytes, file_type: FileType) -> bytes:
    out = io.BytesIO()
    ctx = Context(file_type, Action.REBUILD, "benign", Policy())
    OoxmlSanitizer().sanitize(io.BytesIO(data), out, ctx)
    return out.getvalue()


def findings(data: bytes) -> list[str]:
    return [f.kind for f in verifier.verify(io.BytesIO(data), VerifyContext(Policy(), "x"))]


def edit(data: bytes, changes: dict[str, Callable[[str], str] | bytes]) -> bytes:
    """A copy of the package with parts rewritten (a function of the text) or added (bytes)."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    for name, change in changes.items():
        members[name] = change if isinstance(change, bytes) else change(members[name].decode()).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, body in members.items():
            target.writestr(name, body)
    return out.getvalue()


@pytest.fixture(scope="module")
def clean_docx() -> bytes:
    return rebuilt(ob.rich_docx(), FileType.DOCX)


@pytest.fixture(scope="module")
def clean_xlsx() -> bytes:
    return rebuilt(ob.rich_xlsx(), FileType.XLSX)


@pytest.fixture(scope="module")
def clean_pptx() -> bytes:
    return rebuilt(ob.rich_pptx(), FileType.PPTX)


# ---------------------------------------------------------------- benign passes
@pytest.mark.parametrize(
    ("build", "file_type"),
    [
        (ob.docx_bytes, FileType.DOCX),
        (ob.xlsx_bytes, FileType.XLSX),
        (ob.pptx_bytes, FileType.PPTX),
        (ob.rich_docx, FileType.DOCX),
        (ob.rich_xlsx, FileType.XLSX),
        (ob.rich_pptx, FileType.PPTX),
        (lambda: ob.xlwings_file("quickstart.xlsm"), FileType.XLSM),
    ],
)
def test_benign_rebuilds_pass(build: Callable[[], bytes], file_type: FileType) -> None:
    assert findings(rebuilt(build(), file_type)) == []


def test_benign_rebuilds_keep_their_content(clean_docx: bytes, clean_xlsx: bytes, clean_pptx: bytes) -> None:
    document = docx.Document(io.BytesIO(clean_docx))
    text = "\n".join(p.text for p in document.paragraphs)
    assert ob.RICH_DOC_TEXT[0] in text and "市のサイト" in text
    assert document.tables[0].cell(0, 0).text == ob.RICH_DOC_TEXT[1]
    assert document.sections[0].header.paragraphs[0].text == ob.RICH_DOC_TEXT[2]
    assert document.sections[0].footer.paragraphs[0].text == ob.RICH_DOC_TEXT[3]
    assert [c.text for c in document.comments] == [ob.RICH_DOC_TEXT[4]]
    assert len(document.inline_shapes) == 1
    sheet = openpyxl.load_workbook(io.BytesIO(clean_xlsx)).worksheets[0]
    assert sheet["A2"].value == "電気柵" and sheet["B2"].value == 1200000
    assert sheet["A1"].comment.text == "品目の説明" and len(sheet._charts) == 1 and len(sheet._images) == 1
    assert sheet["C2"].value.startswith("=_xlfn.XLOOKUP(") and "Budget" in sheet.tables
    deck = pptx.Presentation(io.BytesIO(clean_pptx))
    shapes = list(deck.slides[1].shapes)
    assert any(s.has_chart for s in shapes) and any(s.has_table for s in shapes)
    assert deck.slides[1].notes_slide.notes_text_frame.text == "発表者メモ"


# ---------------------------------------------------------------- one planted thing each
def _rel(rels: str, rel_id: str, rel_type: str, target: str, external: bool = False) -> Callable[[str], str]:
    mode = ' TargetMode="External"' if external else ""
    line = f'<Relationship Id="{rel_id}" Type="{rel_type}" Target="{target}"{mode}/>'
    return lambda text: text.replace("</Relationships>", line + "</Relationships>")


def _body(xml: str) -> Callable[[str], str]:
    return lambda text: text.replace("<w:sectPr", xml + "<w:sectPr", 1)


def _override(part: str, content_type: str) -> Callable[[str], str]:
    line = f'<Override PartName="{part}" ContentType="{content_type}"/>'
    return lambda text: text.replace("</Types>", line + "</Types>")


DOC = "word/document.xml"
DOC_RELS = "word/_rels/document.xml.rels"
FIELD = (
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>{}</w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>r</w:t></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)
# { { PAGE } cmd }: the outer field's keyword would be whatever the nested field shows
NESTED = (
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
    '<w:r><w:instrText>PAGE</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>'
    '<w:r><w:instrText> cmd</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)
DOCX_PLANTS: dict[str, tuple[dict[str, Callable[[str], str] | bytes], str]] = {
    "unreached part": ({"word/evil.bin": b"MZ"}, "ooxml-unreached-part"),
    "two main parts": ({"_rels/.rels": _rel("_rels/.rels", "rX", f"{REL}/officeDocument", "word/document.xml")},
                       "ooxml-main-part"),
    "external oleObject": (
        {DOC_RELS: _rel(DOC_RELS, "rIdX", f"{REL}/oleObject", "mhtml:http://e/x!x", True)},
        "ooxml-external",
    ),
    "hyperlink to file:": (
        {DOC_RELS: _rel(DOC_RELS, "rIdX", f"{REL}/hyperlink", "file:///C:/x.exe", True)},
        "ooxml-external",
    ),
    "hyperlink to a share over http:": (
        {DOC_RELS: _rel(DOC_RELS, "rIdX", f"{REL}/hyperlink", "http:\\\\evil\\x", True)},
        "ooxml-external",
    ),
    "macro-enabled main type": (
        {"[Content_Types].xml": lambda t: t.replace(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            "application/vnd.ms-word.document.macroEnabled.main+xml")},
        "ooxml-content-type",
    ),
    "vba project reached": (
        {
            "word/vbaProject.bin": b"\xd0\xcf\x11\xe0",
            DOC_RELS: _rel(DOC_RELS, "rIdV", "http://schemas.microsoft.com/office/2006/relationships/vbaProject",
                           "vbaProject.bin"),
            "[Content_Types].xml": _override("/word/vbaProject.bin", "application/vnd.ms-office.vbaProject"),
        },
        "ooxml-content-type",
    ),
    "doctype": ({DOC: lambda t: t.replace("?>", "?><!DOCTYPE w:document>", 1)}, "ooxml-dtd"),
    "unknown namespace": ({DOC: _body('<w:p><e:x xmlns:e="urn:evil"/></w:p>')}, "ooxml-namespace"),
    "unknown attribute namespace": ({DOC: _body('<w:p xmlns:e="urn:evil" e:x="1"/>')}, "ooxml-namespace"),
    "dde field split": ({DOC: _body(FIELD.format('DD</w:instrText></w:r><w:r><w:instrText>E x "y"'))},
                        "ooxml-field"),
    "field keyword from a nested field": ({DOC: _body(NESTED)}, "ooxml-field"),
    "includetext simple field": (
        {DOC: _body('<w:p><w:fldSimple w:instr="INCLUDETEXT &quot;c:\\\\x.docx&quot;"/></w:p>')},
        "ooxml-field",
    ),
    "hyperlink field to a share": (
        {DOC: _body(FIELD.format('HYPERLINK "\\\\\\\\host\\\\share\\\\x.exe"'))},
        "ooxml-field",
    ),
    "attachedTemplate element": (
        {"word/settings.xml": lambda t: re.sub(r"(<w:settings[^>]*>)", r"\1<w:attachedTemplate/>", t, count=1)},
        "ooxml-active-element",
    ),
    "docVars": (
        {"word/settings.xml": lambda t: re.sub(r"(<w:settings[^>]*>)", r"\1<w:docVars/>", t, count=1)},
        "ooxml-active-element",
    ),
    "header reference naming a hyperlink": (
        {
            DOC_RELS: _rel(DOC_RELS, "rIdH", f"{REL}/hyperlink", "https://www.example.jp/", True),
            DOC: lambda t: re.sub(r'(<w:headerReference [^>]*r:id=")[^"]+', r"\1rIdH", t, count=1),
        },
        "ooxml-reference",
    ),
    "hyperlink base": (
        {"docProps/app.xml": lambda t: re.sub(r"(<Properties[^>]*>)", r"\1<HyperlinkBase>\\\\h\\s\\</HyperlinkBase>", t)},
        "ooxml-active-element",
    ),
    "reference to nothing": ({DOC: _body('<w:p><w:hyperlink r:id="rIdNone"/></w:p>')}, "ooxml-reference"),
    "vml image from elsewhere": (
        {DOC: _body('<w:p><w:r><v:imagedata xmlns:v="urn:schemas-microsoft-com:vml" src="\\\\h\\a.png"/>'
                    "</w:r></w:p>")},
        "ooxml-vml-link",
    ),
    "png that is html": (
        {"word/media/image1.jpg": b"<html><script>x</script></html>"},
        "ooxml-picture",
    ),
}  # fmt: skip


@pytest.mark.parametrize("plant", sorted(DOCX_PLANTS))
def test_docx_plant_is_found(clean_docx: bytes, plant: str) -> None:
    changes, kind = DOCX_PLANTS[plant]
    if plant == "png that is html":
        name = next(n for n in zipfile.ZipFile(io.BytesIO(clean_docx)).namelist() if n.startswith("word/media/"))
        changes = {name: changes["word/media/image1.jpg"]}
    assert kind in findings(edit(clean_docx, changes))


SHEET = "xl/worksheets/sheet1.xml"


def _formula(formula: str) -> dict[str, Callable[[str], str]]:
    return {SHEET: lambda t: t.replace("</sheetData>", f'<row r="40"><c r="A40"><f>{formula}</f></c></row></sheetData>')}


@pytest.mark.parametrize(
    "formula",
    [
        "cmd&#124;' /C calc'!A0",
        "[1]Sheet1!A1",
        "'C:\\x\\[b.xlsx]S'!A1",
        "WEBSERVICE(\"http://e/\")",
        "_xlfn.WEBSERVICE(\"http://e/\")",
        "_xll.Evil(1)",
        "CALL(\"kernel32\",\"WinExec\",\"JCJ\",\"calc\",0)",
        "NOSUCHFUNCTION(1)",
        'HYPERLINK("file:///C:/x.exe")',
    ],
)
def test_xlsx_formula_is_found(clean_xlsx: bytes, formula: str) -> None:
    assert "ooxml-formula" in findings(edit(clean_xlsx, _formula(formula)))


def test_xlsx_shape_macro_is_found(clean_xlsx: bytes) -> None:
    drawing = "xl/drawings/drawing1.xml"
    planted = edit(clean_xlsx, {drawing: lambda t: re.sub(r"<((?:\w+:)?pic)>", r'<\1 macro="[0]!Evil">', t, count=1)})
    assert "ooxml-macro" in findings(planted)


def test_xlsx_camera_of_another_book_is_found(clean_xlsx: bytes) -> None:
    camera = ('<a14:cameraTool xmlns:a14="http://schemas.microsoft.com/office/drawing/2010/main" '
              'cellRange="[1]Sheet1!$A$1:$B$2"/>')  # fmt: skip
    planted = edit(clean_xlsx, {"xl/drawings/drawing1.xml": lambda t: re.sub(r"(<(?:\w+:)?pic>)", r"\1" + camera, t, count=1)})
    assert "ooxml-formula" in findings(planted)


def test_xlsx_auto_open_name_is_found(clean_xlsx: bytes) -> None:
    planted = edit(clean_xlsx, {"xl/workbook.xml": lambda t: re.sub(
        r"<definedNames>", '<definedNames><definedName name="Auto_Open">Sheet1!$A$1</definedName>', t)})  # fmt: skip
    assert "ooxml-formula" in findings(planted)


@pytest.mark.parametrize("action", ["ppaction://program", "ppaction://macro?name=x", "ppaction://hlinkfile"])
def test_pptx_action_is_found(clean_pptx: bytes, action: str) -> None:
    slide = "ppt/slides/slide1.xml"
    planted = edit(clean_pptx, {slide: lambda t: t.replace(
        '<p:cNvPr id="2" name="Title 1"/>', f'<p:cNvPr id="2" name="Title 1"><a:hlinkClick r:id="" action="{action}"/>'
        "</p:cNvPr>", 1)})  # fmt: skip
    assert "ooxml-action" in findings(planted)


def test_pptx_animation_command_is_found(clean_pptx: bytes) -> None:
    slide = "ppt/slides/slide1.xml"
    timing = ('<p:timing><p:tnLst><p:par><p:cTn id="1"><p:childTnLst><p:cmd type="verb" cmd="3"/>'
              "</p:childTnLst></p:cTn></p:par></p:tnLst></p:timing>")  # fmt: skip
    planted = edit(clean_pptx, {slide: lambda t: t.replace("</p:sld>", timing + "</p:sld>")})
    assert "ooxml-active-element" in findings(planted)


# ---------------------------------------------------------------- the grammar, positively
@pytest.mark.parametrize(
    "formula",
    [
        "SUM(B2:B3)",
        "Budget[[#This Row],[金額]]*2",
        "'予算 2'!A1+予算!B2",
        "_xlfn.XLOOKUP(A2,Budget[品目],Budget[金額])",
        '"a|b"&"a\\b"',
        'HYPERLINK("https://www.city.example.lg.jp/","市")',
        "_xlfn.LET(_xlpm.x,1,_xlpm.x+1)",
        "{1,2;3,4}",
        "#REF!",
    ],
)
def test_harmless_formulas_pass(formula: str) -> None:
    assert formula_problem(formula) is None


@pytest.mark.parametrize(
    "instruction",
    [" PAGE \\* MERGEFORMAT ", ' HYPERLINK "https://www.example.jp/" ', ' HYPERLINK \\l "_Toc1" ',
     ' DATE \\@ "yyyy/MM/dd HH:mm" ', " TOC \\o \"1-3\" \\h \\z \\u ", " = 2 * 3 ", ""],
)  # fmt: skip
def test_harmless_fields_pass(instruction: str) -> None:
    assert field_problem(instruction, SCHEMES) is None


@pytest.mark.parametrize(
    "instruction",
    [' DDEAUTO c:\\\\x.exe "a" ', " dde x y ", ' LINK Excel.Sheet "c:\\\\b.xlsx" ', ' HYPERLINK "ms-msdt:/id x" ',
     ' HYPERLINK "\\\\\\\\host\\\\s\\\\x.exe" ', ' INCLUDEPICTURE "http://e/a.png" ', " \x00 cmd ",
     ' REF x \\* MERGEFORMAT "\\\\\\\\host\\\\s" ', " MACROBUTTON Evil click "],
)  # fmt: skip
def test_active_fields_fail(instruction: str) -> None:
    assert field_problem(instruction, SCHEMES) is not None


# ---------------------------------------------------------------- independence
def test_verifier_imports_nothing_from_the_sanitizers() -> None:
    for path in sorted((ROOT / "cdr" / "verifiers").glob("ooxml*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(n.startswith("cdr.sanitizers") for n in names), f"{path.name} imports {names}"
    probe = "import sys, cdr.verifiers.ooxml, cdr.verifiers.ooxml_xml; print('cdr.sanitizers' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.stdout.strip() == "False", run.stderr


# ---------------------------------------------------------------- the two lists agree
def test_what_the_rebuild_keeps_the_verifier_accepts() -> None:
    """Namespaces and field keywords the rebuild keeps are all on the verifier's lists,
    so a benign document is never quarantined for something the rebuild let through."""
    from cdr.sanitizers.ooxml_fields import SAFE_FIELDS
    from cdr.sanitizers.ooxml_table import KNOWN_NAMESPACES
    from cdr.verifiers.ooxml_grammar import FIELD_KEYWORDS
    from cdr.verifiers.ooxml_xml import _NAMESPACES

    assert KNOWN_NAMESPACES <= set(_NAMESPACES)
    assert SAFE_FIELDS <= FIELD_KEYWORDS


def test_every_excel_function_passes_or_is_removed() -> None:
    """Every built-in Excel function openpyxl knows either passes the verifier or is one the
    rebuild removes (they reach out: OLAP cubes, real-time data servers)."""
    from openpyxl.utils.formulas import FORMULAE

    from cdr.sanitizers.ooxml_fields import ACTIVE_FUNCTIONS
    from cdr.verifiers.ooxml_grammar import FUNCTIONS

    names = {name.removeprefix("_xlfn.") for name in FORMULAE}
    assert names - FUNCTIONS <= ACTIVE_FUNCTIONS
    assert not (ACTIVE_FUNCTIONS & FUNCTIONS)


_FIELD_PIECES = st.sampled_from(
    ["PAGE", "HYPERLINK", "DATE", "REF", "IF", "DDE", "INCLUDETEXT", " ", '"', "\\", "\\\\", "\\l", "\\@",
     "http://a.jp/", "https:", "//", "file:", "mailto:x@a.jp", "ms-msdt:", "yyyy:MM", "HH:mm", "日本:", "=",
     "\x00", "x", "MERGEFORMAT", "\\*"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(_FIELD_PIECES, max_size=8).map("".join))
def test_a_field_the_rebuild_keeps_passes_verification(instruction: str) -> None:
    """Two implementations, one verdict: whatever field the rebuild keeps, the verifier accepts."""
    from cdr.sanitizers.ooxml_fields import field_allowed

    if field_allowed(instruction, SCHEMES):
        assert field_problem(instruction, SCHEMES) is None, repr(instruction)


_FORMULA_PIECES = st.sampled_from(
    ["SUM(", "A1", ")", ",", "|", "[1]", "Table1[", "[#This Row]", "]", "'", "予算", "!", "\\", '"', "C:",
     "file:", "_xlfn.", "_xll.", "WEBSERVICE(", "HYPERLINK(", "http://a/", "\\\\h\\s", "&", " ", ":", "$B$2"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(_FORMULA_PIECES, max_size=8).map("".join))
@example("$B$2HYPERLINK(")  # a call the rebuild's reading did not see, and so kept (CI found it)
def test_a_formula_the_rebuild_keeps_passes_verification(formula: str) -> None:
    """Whatever formula the rebuild keeps, the verifier accepts — unless it calls a function
    the verifier does not know (it then quarantines: see the README)."""
    from cdr.sanitizers.ooxml_fields import formula_problem as rebuild_problem

    if rebuild_problem(formula) is None:
        problem = formula_problem(formula)
        assert problem is None or problem.startswith("function"), (formula, problem)


_TARGET_PIECES = st.sampled_from(
    ["http", "https", "HTTPS", "mailto", "file", "ms-msdt", ":", "//", "/", "\\", "\\\\", "a.jp", "x@a.jp", " ",
     "\x01", "?q=1", "#top", "%20", "日本"]
)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(_TARGET_PIECES, max_size=6).map("".join))
def test_a_link_the_rebuild_keeps_passes_verification(target: str) -> None:
    from cdr.sanitizers.ooxml_table import hyperlink_allowed
    from cdr.verifiers.ooxml import _hyperlink_ok

    if hyperlink_allowed(target.strip(), SCHEMES):
        assert _hyperlink_ok(target.strip(), SCHEMES), repr(target)


@pytest.mark.parametrize(
    ("target", "allowed"),
    (
        ("mailto:soumu@town.example?subject=熊&body=見ました", True),
        ("mailto:soumu@town.example?attach=C:/Users/a/secret.txt", False),
        ("mailto:soumu@town.example?subject=x&Attachment=/etc/passwd", False),
    ),
)
def test_mailto_hyperlinks_keep_only_harmless_headers(target: str, allowed: bool) -> None:
    """'Mailto: Me Your Secrets' (NDSS 2021): attach= makes some mail programs send a file;
    the rebuild and the verifier each refuse it on their own."""
    from cdr.sanitizers.ooxml_table import hyperlink_allowed
    from cdr.verifiers.ooxml import _hyperlink_ok

    schemes = ("http", "https", "mailto")
    assert hyperlink_allowed(target, schemes) is allowed
    assert _hyperlink_ok(target, schemes) is allowed
