"""A report as files for Excel: CSV (UTF-8 with BOM, CRLF) or an .xlsx workbook.

Both have the same columns. Times are Japan time: in the CSV as ``YYYY-MM-DD HH:MM:SS``
(Excel reads it as a date and time), in the workbook as real date cells with a number
format. The totals follow the rows: in the CSV as a second table after one empty line, in
the workbook on a second sheet. Every text cell is neutralised — file names are chosen by
whoever sent the file — and control characters are replaced (``names.display``).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from cdr.durable import replace_file
from cdr.errors import UsageError
from cdr.excel_csv import excel_csv
from cdr.names import display
from cdr.reasons import in_japanese as reason_ja
from cdr.report import ENDINGS_JA, Row, Total, totals
from cdr.sanitizers.text import neutralise_cell

HEADINGS = (
    "日時 time",
    "部署 department",
    "ファイル name",
    "種類 type",
    "結果 verdict",
    "結果コード verdict code",
    "理由コード reason code",
    "理由 reason",
    "除去したもの removed",
    "除去コード removed codes",
    "出力 output",
    "対応 handling",
    "対応者 admin",
    "対応日時 handled at",
    "対応理由 why",
    "受付番号 number",
    "ID",
)
TOTAL_HEADINGS = ("部署 department", "結果 verdict", "結果コード verdict code", "理由コード reason code", "理由 reason", "件数 count")
ALL_DEPARTMENTS = "全体 all"
SUM = "計 total"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
EXCEL_TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def _cells(r: Row) -> list[Any]:
    """One row's cells: times as Japan-time datetimes to the second (Excel has no zones)."""
    handling = r.handling
    return [
        _excel_time(r.arrived),
        r.department,
        r.name,
        r.type,
        r.ending_ja,
        r.ending.value,
        r.reason,
        r.reason_ja,
        r.removed_ja,
        ", ".join(r.removed),
        r.output,
        r.how_ja + (f" ({handling.how})" if handling else ""),
        display(handling.who) if handling else "",
        _excel_time(handling.when if handling else None),
        display(handling.why) if handling else "",
        r.number,
        r.file_id,
    ]


def _excel_time(moment: datetime | None) -> datetime | str:
    return moment.replace(tzinfo=None, microsecond=0) if moment else ""


def _total_cells(total: Total) -> list[Any]:
    if total.ending is None:
        return [total.department or ALL_DEPARTMENTS, SUM, "", "", "", total.count]
    reason = reason_ja(total.reason) if total.reason else ""
    return [total.department, ENDINGS_JA[total.ending], total.ending.value, total.reason, reason, total.count]


def _csv_text(cell: Any) -> str:
    return cell.strftime(TIME_FORMAT) if isinstance(cell, datetime) else str(cell)


def write_csv(found: list[Row], stream: BinaryIO) -> None:
    with excel_csv(stream) as write:
        write(HEADINGS)
        for r in found:
            write(map(_csv_text, _cells(r)))
        write(())  # the empty line between the rows and the totals
        write(TOTAL_HEADINGS)
        for total in totals(found):
            write(map(_csv_text, _total_cells(total)))


def write_xlsx(found: list[Row], path: Path, title: str) -> None:
    """The workbook, written whole or not at all (temp file, fsync, rename)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    files = book.create_sheet("ファイル files")
    _sheet(files, HEADINGS, (_cells(r) for r in found), widths=(20, 12, 30, 10, 10))
    summed = book.create_sheet("集計 totals")
    _sheet(summed, TOTAL_HEADINGS, (_total_cells(t) for t in totals(found)), widths=(14, 12, 16, 20, 40))
    book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    try:
        replace_file(path, buffer.getvalue())
    except OSError as exc:
        raise UsageError(f"{path}: 書き込めません / cannot write: {exc.strerror}") from None


def _sheet(sheet: Any, headings: tuple[str, ...], lines: Iterator[list[Any]], widths: tuple[int, ...]) -> None:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.utils import get_column_letter

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(list(headings))
    for cells in lines:
        out = []
        for value in cells:
            cell = WriteOnlyCell(sheet, value=value if not isinstance(value, str) else neutralise_cell(value)[0])
            if isinstance(value, datetime):
                cell.number_format = EXCEL_TIME_FORMAT
            elif isinstance(value, str):
                cell.data_type = "s"  # never a formula, whatever the text begins with
            out.append(cell)
        sheet.append(out)
