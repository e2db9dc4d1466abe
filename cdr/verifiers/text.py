"""Allow-list verification of released text and CSV.

Accepted: text in UTF-8 (with or without BOM), UTF-16 with a BOM, CP932 or EUC-JP with
no C0/C1 control character but tab, LF and CR, and no bidirectional control (Trojan
Source). Private-use characters stay allowed: CP932 maps the 外字 of Japanese offices there. A CSV is read with the delimiter Excel
on a Japanese Windows uses for its extension (``,`` for .csv, tab for .tsv/.txt) and every
cell must be inert: a plain number, or text whose first character after any blanks
(space, tab, U+3000) is not a formula sign in any width (``= + - @`` and ``＝ ＋ － ＠``),
unless the cell begins with the apostrophe that makes Excel keep it as text. Nor may the
file begin with the bytes ``ID``: Excel opens such a file as SYLK, whose records carry formulas.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from pathlib import PurePath
from typing import BinaryIO

from cdr.model import FileType, Finding
from cdr.verifiers import VerifyContext

VERIFIES = frozenset({FileType.TEXT, FileType.CSV})

_ENCODINGS = ("utf-8", "cp932", "euc_jp")
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_ALLOWED_CONTROLS = frozenset("\t\n\r")
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_BLANKS = " \t\u3000"
_FORMULA_SIGNS = frozenset("=+-@＝＋－＠")
_SEP_DIRECTIVE = re.compile(r"\A\s*sep\s*=", re.I)
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?$")
MAX_REPORTED = 5


def _decode(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    for encoding in _ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _unreadable(text: str) -> list[str]:
    found: list[str] = []
    for index, char in enumerate(text):
        if char in _ALLOWED_CONTROLS:
            continue
        if char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            found.append(f"U+{ord(char):04X} at {index}")
            if len(found) >= MAX_REPORTED:
                break
    return found


def excel_delimiter(name: str, data: bytes) -> str:
    """What Excel on a Japanese Windows splits on when it opens this file: UTF-16 (its
    "Unicode text") on tab whatever the name, otherwise ``,`` for .csv and tab else."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "\t"
    return "," if PurePath(name).suffix.lower() == ".csv" else "\t"


def cell_is_inert(cell: str) -> bool:
    if cell.startswith("'"):
        return True
    stripped = cell.lstrip(_BLANKS)
    if not stripped.strip("\r\n"):
        return True  # blanks only: nothing to evaluate
    if stripped[0] not in _FORMULA_SIGNS and not cell.startswith(("\t", "\r")):
        return True
    return _PLAIN_NUMBER.match(unicodedata.normalize("NFKC", stripped).strip()) is not None


def _live_cells(text: str, delimiter: str) -> list[str]:
    found: list[str] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        for row_number, row in enumerate(reader, 1):
            for column, cell in enumerate(row, 1):
                if not cell_is_inert(cell):
                    found.append(f"row {row_number} column {column}")
                    if len(found) >= MAX_REPORTED:
                        return found
    except csv.Error as exc:
        found.append(f"unreadable CSV: {exc}")
    return found


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    data = src.read(ctx.policy.limits.max_file_size + 1)
    if len(data) > ctx.policy.limits.max_file_size:
        return [Finding("text-too-large", "larger than the file size limit")]
    text = _decode(data)
    if text is None:
        return [Finding("text-encoding-not-allowed", "not UTF-8, UTF-16 with BOM, CP932 or EUC-JP")]
    text = text.removeprefix("\ufeff")
    if _SEP_DIRECTIVE.match(text):
        return [Finding("csv-delimiter-directive", "a sep= line would change how Excel splits the cells")]
    findings: list[Finding] = []
    unreadable = _unreadable(text)
    if unreadable:
        findings.append(Finding("text-character-not-allowed", ", ".join(unreadable), len(unreadable)))
    if PurePath(ctx.name).suffix.lower() in (".csv", ".tsv") and ctx.policy.text.neutralise_formulas:
        if not data.startswith(tuple(bom for bom, _ in _BOMS)):
            # Excel on a Japanese Windows reads a spreadsheet without a BOM as CP932: the
            # cells it sees are those of that reading, whatever the bytes were written in
            try:
                text = data.decode("cp932")
            except UnicodeDecodeError:  # and its cells are judged as written, too
                findings.append(Finding("csv-encoding-not-excels", "no BOM, and not Shift_JIS: Excel would read other cells"))
        if data.startswith(b"ID"):  # Excel reads the file as SYLK, formulas and all
            findings.append(Finding("csv-sylk-header", "a file starting with ID opens as SYLK in Excel"))
        live = _live_cells(text, excel_delimiter(ctx.name, data))
        if live:
            findings.append(Finding("csv-live-cell", ", ".join(live), len(live)))
    return findings
