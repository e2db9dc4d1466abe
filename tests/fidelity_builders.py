"""Office samples for the fidelity checks (issue 14), made by the tools offices use.

- A legacy file holding an embedded OLE object: LibreOffice saves a flat OpenDocument file
  whose frame holds an inline sub-document (a Writer table in a sheet, a Calc table in a
  text or a slide) as .xls/.doc/.ppt; the object becomes a real OLE object (an ``MBD…``
  storage or ``ObjectPool``) with the preview picture Office shows in its place.
- A workbook printed on Letter, landscape, one page wide, with a header and footer, a print
  area and title rows, and the printer's binary settings Excel writes beside them.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import openpyxl
from openpyxl.worksheet.page import PageMargins

from tests import office_builders as ob

_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" '
    'xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)
_MIME = "application/vnd.oasis.opendocument."
OBJECT_TEXT = ("品名", "数量", "りんご", "12")  # what the embedded table says
HOST_TEXT = ("前の段落", "後の段落")  # what the host document says around it


def _cell(text: str) -> str:
    return f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'


def _object_table() -> str:
    rows = [OBJECT_TEXT[:2], OBJECT_TEXT[2:]]
    body = "".join(f"<table:table-row>{_cell(a)}{_cell(b)}</table:table-row>" for a, b in rows)
    return f'<table:table table:name="T1"><table:table-column table:number-columns-repeated="2"/>{body}</table:table>'


def _embedded(kind: str) -> str:
    """An inline sub-document: a text holding a table, or a spreadsheet."""
    if kind == "text":
        inner = f"<office:text><text:p>埋め込まれた表</text:p>{_object_table()}</office:text>"
    else:
        inner = f"<office:spreadsheet>{_object_table()}</office:spreadsheet>"
    return (
        f'<draw:frame draw:z-index="0" text:anchor-type="paragraph" svg:width="8cm" svg:height="3cm" '
        f'svg:x="2cm" svg:y="3cm"><draw:object><office:document office:mimetype="{_MIME}{kind}" '
        f'office:version="1.3"><office:body>{inner}</office:body></office:document></draw:object></draw:frame>'
    )


def flat_odf_with_object(host: str) -> tuple[str, str]:
    """(file name, flat OpenDocument text) of a sheet, text or slide holding an OLE object."""
    before, after = HOST_TEXT
    if host == "spreadsheet":
        cells = f"<table:table-row>{_cell(before)}</table:table-row><table:table-row>{_cell(after)}</table:table-row>"
        frame = _embedded("text").replace('text:anchor-type="paragraph" ', "")
        body = f'<office:spreadsheet><table:table table:name="Sheet1"><table:shapes>{frame}</table:shapes>{cells}</table:table></office:spreadsheet>'
        name = "object.fods"
    elif host == "text":
        body = f"<office:text><text:p>{before}</text:p><text:p>{_embedded('spreadsheet')}</text:p><text:p>{after}</text:p></office:text>"
        name = "object.fodt"
    else:
        title = f'<draw:frame svg:width="20cm" svg:height="2cm" svg:x="2cm" svg:y="1cm"><draw:text-box><text:p>{before}</text:p></draw:text-box></draw:frame>'
        frame = _embedded("spreadsheet").replace('text:anchor-type="paragraph" ', "")
        body = f'<office:presentation><draw:page draw:name="p1">{title}{frame}</draw:page></office:presentation>'
        name = "object.fodp"
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<office:document {_NS} office:version="1.3" '
        f'office:mimetype="{_MIME}{host}"><office:body>{body}</office:body></office:document>'
    )
    return name, document


# host kind → (LibreOffice's flat import filter, legacy export target)
LEGACY_WITH_OBJECT = {
    "spreadsheet": ("OpenDocument Spreadsheet Flat XML", "xls:MS Excel 97"),
    "text": ("OpenDocument Text Flat XML", "doc:MS Word 97"),
    "presentation": ("OpenDocument Presentation Flat XML", "ppt:MS PowerPoint 97"),
}


def legacy_with_object(work: Path, host: str) -> Path:
    """A real .xls/.doc/.ppt holding an embedded OLE object, saved by LibreOffice."""
    name, document = flat_odf_with_object(host)
    folder = work / f"object-{host}"
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / name
    source.write_text(document, encoding="utf-8")
    infilter, target = LEGACY_WITH_OBJECT[host]
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is needed (make test installs it)"
    # a flat file is recognised by its content only when its import filter is named
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{work}/lo-profile", f"--infilter={infilter}",
         "--convert-to", target, "--outdir", str(folder), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    produced = folder / f"{source.stem}.{target.split(':')[0]}"
    assert produced.exists(), f"LibreOffice did not produce {produced.name}"
    return produced


def letter_landscape_workbook() -> bytes:
    """A 名簿 printed on Letter, landscape, one page wide, numbered from 3, with a header,
    footer, print area and title rows, a wide column, a tall row, merged cells, frozen panes."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "名簿"
    for row in range(1, 40):
        for column in range(1, 8):
            sheet.cell(row, column, f"値{row}-{column}")
    setup = sheet.page_setup
    setup.paperSize, setup.orientation = sheet.PAPERSIZE_LETTER, "landscape"
    setup.fitToWidth, setup.fitToHeight = 1, 0
    setup.firstPageNumber, setup.useFirstPageNumber, setup.horizontalDpi = 3, True, 600
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.page_margins = PageMargins(left=0.3, right=0.4, top=0.9, bottom=0.8, header=0.2, footer=0.25)
    sheet.print_options.gridLines = sheet.print_options.horizontalCentered = True
    sheet.oddHeader.center.text = "住民名簿 &P / &N"
    sheet.oddFooter.right.text = "&D 総務課"
    sheet.print_area = "A1:F30"
    sheet.print_title_rows = "1:2"
    sheet.column_dimensions["B"].width = 30
    sheet.row_dimensions[3].height = 40
    sheet.merge_cells("C5:E6")
    sheet.freeze_panes = "B3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PRINTER_SETTINGS = f"{R}/printerSettings"
SHEET = "xl/worksheets/sheet1.xml"
SHEET_RELS = "xl/worksheets/_rels/sheet1.xml.rels"


def with_printer_settings(data: bytes, target: str = "../printerSettings/printerSettings1.bin",
                          external: bool = False, rel_type: str = PRINTER_SETTINGS) -> bytes:
    """The sheet's page setup names a relationship, as Excel writes it (a DEVMODE part)."""
    from tests import builders

    package = ob.Package(data)
    if rel_type == PRINTER_SETTINGS and not external:
        package.put("xl/printerSettings/printerSettings1.bin", b"\x00" * 220)
        package.content_type(
            "/xl/printerSettings/printerSettings1.bin",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.printerSettings",
        )
    if rel_type == f"{R}/image":  # a real picture, a kind the rebuild keeps elsewhere
        package.put("xl/media/image1.png", builders.simple("PNG", (16, 16)))
        package.content_type("/xl/media/image1.png", "image/png")
    package.add_rel(SHEET_RELS, "rIdPrinter", rel_type, target, external)
    text = package.text(SHEET).replace(f'<worksheet xmlns="{S}"', f'<worksheet xmlns="{S}" xmlns:r="{R}"', 1)
    package.put(SHEET, text.replace("<pageSetup ", '<pageSetup r:id="rIdPrinter" ', 1))
    return package.bytes()
