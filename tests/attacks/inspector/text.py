"""Text and CSV: no script statements in the first lines, no cell Excel evaluates."""

from __future__ import annotations

import csv
import io
import re
from pathlib import PurePosixPath

SCRIPT_SIGNS = [
    (r"(?i)\b(invoke-expression|iex\s*\(|invoke-webrequest|downloadstring|downloadfile|new-object\s+net\.webclient|"
     r"start-process|set-executionpolicy|-encodedcommand|frombase64string|add-type|get-content\s)", "PowerShell"),
    (r"(?i)\bpowershell(\.exe)?\s+-", "PowerShell command line"),
    (r"(?i)\b(createobject\s*\(|wscript\.|activexobject|getobject\s*\(\s*[\"']winmgmts)", "VBScript/JScript"),
    (r"(?i)^\s*dim\s+\w+\s*$|^\s*set\s+\w+\s*=\s*(createobject|getobject|new\b)", "VBScript statement"),
    (r"(?i)^\s*@?echo\s+off|\b(certutil|bitsadmin|regsvr32|rundll32|mshta|schtasks|wmic)(\.exe)?\b|"
     r"^\s*(set\s+/p|start\s+\"\"|goto\s+:?\w+|reg\s+add|del\s+/[fqs])|%~dp0|%temp%", "batch"),
    (r"(?i)^#!|\b(curl|wget)\b[^\n|]*\|\s*(ba)?sh\b|\bchmod\s+\+x|\brm\s+-rf\b|/bin/(ba)?sh\b|^\s*set\s+-e\b", "shell"),
    (r"(?i)<\s*hta:application|<\s*script\b|\bon(load|error|click|mouseover)\s*=|javascript:", "HTA/HTML script"),
]
SCRIPT_LINES = 50
FORMULA_SIGNS = set("=+-@＝＋－＠")
LEADING_BLANKS = " \t\r\n\u3000"
PLAIN_NUMBER = re.compile(r"^[+-]?[\d,]*\.?\d+(e[+-]?\d+)?%?$", re.IGNORECASE)
EXCEL_DELIMITER = {".csv": ",", ".tsv": "\t"}


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp932", "euc-jp"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def inspect_text(name: str, data: bytes) -> list[str]:
    text = decode_text(data)
    findings = [f"{name}: {label} in the first lines" for pattern, label in SCRIPT_SIGNS
                if re.search(pattern, "\n".join(text.splitlines()[:SCRIPT_LINES]), re.MULTILINE)]
    findings += [f"{name}: control or bidi character U+{ord(ch):04X}" for ch in sorted(set(text))
                 if (ord(ch) < 32 and ch not in "\t\r\n") or 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069][:3]
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in EXCEL_DELIMITER:
        delimiters = {EXCEL_DELIMITER[suffix]}
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            delimiters.add("\t")  # Excel reads UTF-16 text as tab-separated "Unicode text"
        directive = re.match(r"(?i)^\ufeff?sep=(.)\r?$", text.split("\n", 1)[0])
        if directive:
            delimiters.add(directive.group(1))  # Excel honours a first line "sep=;" over the list separator
        for delimiter in sorted(delimiters):
            findings += live_formula_cells(name, text, delimiter)
    return findings


def live_formula_cells(name: str, text: str, delimiter: str) -> list[str]:
    """Cells Excel would evaluate: a formula sign after optional blanks, unless a plain number or the
    sign alone (the '-' that Japanese tables write for "none" stays text in Excel)."""
    findings = []
    for row_number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        for column, cell in enumerate(row, start=1):
            stripped = cell.lstrip(LEADING_BLANKS)
            if stripped[:1] in FORMULA_SIGNS and len(stripped.rstrip(LEADING_BLANKS)) > 1 and not PLAIN_NUMBER.match(stripped):
                findings.append(f"{name}:row {row_number} col {column}: live formula {cell[:40]!r}")
    return findings


