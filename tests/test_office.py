"""Office: every planted item is gone as oletools, zipfile and the XML itself see it, and
the benign text, cell values and slide text are still there."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from oletools.olevba import VBA_Parser

from cdr.model import Action, Outcome
from cdr.pipeline import Pipeline
from cdr.policy import Policy
from cdr.sandbox import SandboxPool
from tests import office_builders as ob

SAFE_SCHEMES = ("http://", "https://", "mailto:")


def vba_found(data: bytes) -> bool:
    parser = VBA_Parser("document", data=data)
    try:
        return bool(parser.detect_vba_macros())
    finally:
        parser.close()


def office_active(data: bytes) -> list[str]:
    """Active content in an OOXML package, found with olevba, zipfile and regular expressions."""
    found = ["vba"] if vba_found(data) else []
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        names = package.namelist()
        for marker in (
            "vbaProject",
            "vbaData",
            "activeX",
            "embeddings/",
            "macrosheets/",
            "externalLinks/",
            "afchunk",
            "customUI",
        ):
            found += [f"part {n}" for n in names if marker.lower() in n.lower()]
        types = package.read("[Content_Types].xml").decode()
        found += [
            f"type {m}" for m in re.findall(r"macroEnabled|vbaProject|macrosheet|activeX|oleObject", types)
        ]
        for name in names:
            text = package.read(name).decode("utf-8", "replace")
            if name.endswith(".rels"):
                for rel in re.findall(r"<Relationship\b[^>]*>", text):
                    if 'TargetMode="External"' not in rel:
                        continue
                    target = re.search(r'Target="([^"]*)"', rel).group(1)
                    if not (re.search(r'Type="[^"]*/hyperlink"', rel) and target.startswith(SAFE_SCHEMES)):
                        found.append(f"external {target}")
            elif name.endswith(".xml"):
                found += [f"field {m}" for m in re.findall(r"<w:instrText[^>]*>\s*(DDE\w*)", text)]
                found += [f"field {m}" for m in re.findall(r'w:instr="\s*(DDE\w*)', text)]
                found += [f"formula {m}" for m in re.findall(r"<f>([^<]*\|[^<]*)</f>", text)]
                found += ["auto_open"] * len(re.findall(r'name="_xlnm\.Auto_Open"', text, re.I))
                found += [f"element {m}" for m in re.findall(r"<(w:altChunk|o:OLEObject|w:control)\b", text)]
    return found


def docx_text(data: bytes) -> str:
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


def assert_docx_benign(data: bytes) -> None:
    text = docx_text(data)
    for line in ob.DOC_TEXT:
        assert line in text
    assert len(docx.Document(io.BytesIO(data)).inline_shapes) >= 1  # the picture survived


def assert_xlsx_benign(data: bytes) -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    for cell, value in ob.CELLS.items():
        assert sheet[cell].value == value
    assert sheet["B4"].value == "=SUM(B2:B3)"


HOSTILE: dict[str, tuple[Callable[[], bytes], str, Callable[[bytes], None]]] = {
    "docm-vba": (ob.docm_with_vba, "予算.docm", assert_docx_benign),
    "activex": (ob.activex_control, "a.docx", assert_docx_benign),
    "ole-package-exe": (ob.ole_package_exe, "a.docx", assert_docx_benign),
    "remote-template-http": (
        lambda: ob.remote_template("http://evil.example/t.dotm"),
        "a.docx",
        assert_docx_benign,
    ),
    "remote-template-unc": (
        lambda: ob.remote_template("\\\\evil\\share\\t.dotm"),
        "a.docx",
        assert_docx_benign,
    ),
    "ddeauto": (ob.ddeauto_field, "a.docx", assert_docx_benign),
    "altchunk": (ob.altchunk, "a.docx", assert_docx_benign),
    "excel4-macro-sheet": (ob.excel4_macro_sheet, "a.xlsx", assert_xlsx_benign),
    "external-workbook-link": (ob.external_workbook_link, "a.xlsx", assert_xlsx_benign),
}


def _run(pipeline: Pipeline, tmp_path: Path, data: bytes, name: str):
    source = tmp_path / "in" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    return pipeline.process(source, name)


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_hostile_ooxml_is_disarmed(pipeline: Pipeline, tmp_path: Path, attack: str) -> None:
    build, name, benign_check = HOSTILE[attack]
    hostile = build()
    assert office_active(hostile), f"{attack}: nothing was planted"
    verdict = _run(pipeline, tmp_path, hostile, name)
    assert verdict.verdict == Outcome.RELEASED, verdict
    output = Path(verdict.output).read_bytes()
    assert office_active(output) == []
    benign_check(output)
    assert any(a["action"] == "removed" for a in verdict.actions), verdict.actions


def test_real_excel_xlsm_becomes_xlsx(pipeline: Pipeline, tmp_path: Path) -> None:
    original = ob.xlwings_file("quickstart.xlsm")
    assert vba_found(original)
    verdict = _run(pipeline, tmp_path, original, "quickstart.xlsm")
    assert verdict.verdict == Outcome.RELEASED and verdict.output.endswith("quickstart.xlsx")
    output = Path(verdict.output).read_bytes()
    assert office_active(output) == []
    before = openpyxl.load_workbook(io.BytesIO(original))
    after = openpyxl.load_workbook(io.BytesIO(output))
    assert before.sheetnames == after.sheetnames
    for sheet in before.sheetnames:
        values = [[c.value for c in row] for row in before[sheet].iter_rows()]
        assert values == [[c.value for c in row] for row in after[sheet].iter_rows()]
    assert {"what": "macro-enabled-type", "action": "converted-to-xlsx", "count": 1} in verdict.actions


def test_ribbon_addin_is_blocked(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, ob.xlwings_file("quickstart_addin_ribbon.xlam"), "tool.xlam")
    assert verdict.verdict == Outcome.QUARANTINED


def test_hyperlinks_follow_policy(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, ob.hyperlinks(), "links.docx")
    output = Path(verdict.output).read_bytes()
    with zipfile.ZipFile(io.BytesIO(output)) as package:
        rels = package.read("word/_rels/document.xml.rels").decode()
    assert "https://www.city.example.lg.jp/" in rels and "evil" not in rels and "javascript" not in rels
    text = docx_text(output)
    assert "link rIdH2" in text and "link rIdH3" in text  # the text of a dropped link stays


def test_pptx_text_survives(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, ob.pptx_bytes(), "説明.pptx")
    assert verdict.verdict == Outcome.RELEASED
    deck = pptx.Presentation(verdict.output)
    texts = [shape.text_frame.text for slide in deck.slides for shape in slide.shapes if shape.has_text_frame]
    assert list(ob.SLIDE_TEXT) == texts


@pytest.mark.slow  # LibreOffice
def test_outputs_open_in_libreoffice(pipeline: Pipeline, tmp_path: Path) -> None:
    outputs = []
    for attack in ("docm-vba", "ole-package-exe", "excel4-macro-sheet"):
        build, name, _ = HOSTILE[attack]
        outputs.append(Path(_run(pipeline, tmp_path / attack, build(), name).output))
    for output in outputs:
        pdf = ob.libreoffice(tmp_path, output, "pdf")
        assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000


# ---------------------------------------------------------------- legacy formats
@pytest.mark.slow  # LibreOffice
def test_doc_is_converted_and_rebuilt(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "src.docx"
    source.write_bytes(ob.docx_bytes())
    legacy = ob.libreoffice(tmp_path, source, "doc:MS Word 97")
    verdict = _run(pipeline, tmp_path, legacy.read_bytes(), "古い文書.doc")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert verdict.output.endswith("古い文書.docx")
    output = Path(verdict.output).read_bytes()
    assert office_active(output) == []
    for line in ob.DOC_TEXT:
        assert line in docx_text(output)


@pytest.mark.slow  # LibreOffice
def test_xls_with_vba_is_converted_without_macros(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "macro.xlsm"
    source.write_bytes(ob.xlwings_file("quickstart.xlsm"))
    legacy = ob.libreoffice(tmp_path, source, "xls:MS Excel 97")
    assert vba_found(legacy.read_bytes()), "LibreOffice kept the VBA project in the .xls"
    verdict = _run(pipeline, tmp_path, legacy.read_bytes(), "macro.xls")
    assert verdict.verdict == Outcome.RELEASED, verdict
    output = Path(verdict.output).read_bytes()
    assert verdict.output.endswith("macro.xlsx") and office_active(output) == []
    assert any(a["what"] == "vba-macros" and a["action"] == "removed" for a in verdict.actions)
    assert openpyxl.load_workbook(io.BytesIO(output)).sheetnames[-1] == "_xlwings.conf"


@pytest.mark.slow  # LibreOffice
def test_rtf_objdata_never_survives(pipeline: Pipeline, tmp_path: Path) -> None:
    from oletools.rtfobj import RtfObjParser

    hostile = ob.rtf_with_objdata()
    parser = RtfObjParser(hostile)
    parser.parse()
    assert parser.objects, "rtfobj must see the planted object"
    verdict = _run(pipeline, tmp_path, hostile, "invoice.rtf")
    assert verdict.verdict == Outcome.RELEASED, verdict
    output = Path(verdict.output).read_bytes()
    assert office_active(output) == [] and b"evil.exe" not in output
    assert any(a["what"] == "rtf-object" and a["action"] == "removed" for a in verdict.actions)
    assert "Invoice attached." in docx_text(output)


@pytest.mark.slow  # LibreOffice
def test_odt_is_converted(pipeline: Pipeline, tmp_path: Path) -> None:
    source = tmp_path / "src.docx"
    source.write_bytes(ob.docx_bytes())
    odt = ob.libreoffice(tmp_path, source, "odt")
    verdict = _run(pipeline, tmp_path, odt.read_bytes(), "report.odt")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert ob.DOC_TEXT[1] in docx_text(Path(verdict.output).read_bytes())


# ---------------------------------------------------------------- encryption
def _encrypt(data: bytes, password: str) -> bytes:
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(data)).encrypt(password, out)
    return out.getvalue()


def test_default_excel_password_opens_without_asking(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _run(pipeline, tmp_path, _encrypt(ob.xlsx_bytes(), "VelvetSweatshop"), "readonly.xlsx")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert_xlsx_benign(Path(verdict.output).read_bytes())


def test_encrypted_document_is_quarantined_then_unlocked(tmp_path: Path) -> None:
    from tests.test_cli import quarantine_then_unlock

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "秘密.docx").write_bytes(_encrypt(ob.docm_with_vba(), "ppap-2024"))
    quarantine_then_unlock(tmp_path, tmp_path / "in", "ppap-2024")
    # the held notice was replaced by the one saying when and as what it arrived
    assert not (tmp_path / "o" / "秘密.docx.quarantined.txt").exists()
    released = (tmp_path / "o" / "秘密.docx.released.txt").read_text(encoding="utf-8-sig")
    assert released.startswith("【お預かりしていたファイルを届けました】") and "『秘密.docx』として届けました" in released
    output = (tmp_path / "o" / "秘密.docx").read_bytes()
    assert office_active(output) == []
    assert_docx_benign(output)


def test_strip_properties_policy(tmp_path: Path, sandbox_pool: SandboxPool) -> None:
    from cdr.pipeline import Places
    from cdr.policy import parse_policy

    document = docx.Document()
    document.add_paragraph("本文")
    document.core_properties.author = "山田太郎"
    document.core_properties.title = "予算"
    data = io.BytesIO()
    document.save(data)
    for folder in ("o", "q", "w"):
        (tmp_path / folder).mkdir()
    pipe = Pipeline(
        parse_policy("office:\n  properties: strip\n", "strip.yaml"),
        Places(tmp_path / "o", tmp_path / "q", tmp_path / "a.jsonl", tmp_path / "w"),
        sandbox_pool,
    )
    pipe.start()
    try:
        verdict = _run(pipe, tmp_path, data.getvalue(), "props.docx")
    finally:
        pipe.close()
    clean = docx.Document(verdict.output)
    assert clean.core_properties.title == "予算" and not clean.core_properties.author
    assert "本文" in docx_text(Path(verdict.output).read_bytes())


def _odt(members: dict[str, bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.text", zipfile.ZIP_STORED)
        for name, data in members.items():
            package.writestr(name, data)
    return buffer


def test_opendocument_analysis_reads_through_the_package_limits(default_policy: Policy) -> None:
    """What oletools-style analysis sees in an ODT before LibreOffice converts it, read by
    the one ZIP reader: macros, objects and listeners found; a bomb refused, not inflated."""
    from cdr.errors import LimitExceeded
    from cdr.model import FileType
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.legacy import LegacySanitizer

    ctx = Context(FileType.ODT, Action.REBUILD, "minutes.odt", default_policy)
    content = b'<office:document-content><script:event-listener script:event-name="dom:load"/>'
    hostile = _odt({"content.xml": content, "Basic/Standard/Module1.xml": b"<module/>", "Object 1/content.xml": b"<x/>"})
    kinds = {f.kind for f in LegacySanitizer().inspect(hostile, ctx)}
    assert kinds == {"macros", "embedded-object", "event-listener"}
    bomb = _odt({"content.xml": b"<" + b" " * (default_policy.limits.max_stream_size + 1)})
    with pytest.raises(LimitExceeded):
        LegacySanitizer().inspect(bomb, ctx)
