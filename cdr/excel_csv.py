"""CSV that Excel on a Japanese Windows opens as meant: UTF-8 with a BOM (else it reads
Shift_JIS and the names turn to mojibake), CRLF line ends, and no cell Excel would run.

Every cell is neutralised (``cdr.sanitizers.text.neutralise_cell``): file names and
reasons come from outside, and a name like ``=HYPERLINK(…)`` is a formula to Excel.
Rows are written as they come, so a year of log never sits in memory as one string.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from cdr.sanitizers.text import neutralise_cell

WriteRow = Callable[[Iterable[str]], None]


@contextmanager
def excel_csv(stream: BinaryIO) -> Iterator[WriteRow]:
    """A function that writes one row to ``stream``; the BOM goes first."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    writer = csv.writer(text, lineterminator="\r\n")
    try:
        yield lambda cells: writer.writerow([neutralise_cell(cell)[0] for cell in cells])
        text.flush()
    finally:
        text.detach()  # the caller's stream stays open (stdout)
