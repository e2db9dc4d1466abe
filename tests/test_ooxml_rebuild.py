"""The OOXML rebuild as a function: stable (a second pass removes nothing, the same input
gives the same bytes), complete (every written member is reached from the root) and able
to carry a large sheet with its formulas and values."""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable

import openpyxl
import pytest
from lxml import etree

from cdr.model import Action, ActionTaken, FileType
from cdr.policy import Policy
from cdr.sanitizers.base import Context
from cdr.sanitizers.ooxml import OoxmlSanitizer
from tests import office_builders as ob

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
