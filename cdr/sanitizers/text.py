"""Plain text, CSV and HTML: decode, keep the characters, re-encode.

The source encoding is detected (BOM, UTF-8, CP932/Shift_JIS, EUC-JP) and kept by default,
so that Excel on the LGWAN side still shows Japanese — except that a spreadsheet (.csv,
.tsv) not in Shift_JIS or UTF-16 is written as UTF-8 with a BOM, the only way Excel reads
it as the characters its cells were judged in (``excel_reads_alike``). Control characters and bidi
overrides (Trojan Source, U+202E file-name tricks) are dropped. CSV cells that a
spreadsheet would evaluate are prefixed with `'`: a formula sign (`=`, `+`, `-`, `@` or
their full-width forms `＝＋－＠`) first or after leading spaces, tabs or U+3000, and cells
starting with tab or CR; plain numbers such as `-1200` are left alone, since they evaluate
to themselves. Cells are split the way Excel on a Japanese Windows splits the file by its
name (`,` for .csv, tab for .tsv and .txt), whatever the content seems to prefer, and a
``sep=`` first line — Excel's own switch of delimiter — is dropped so that split holds.
HTML becomes its visible text.
"""

from __future__ import annotations

import codecs
import csv
import html.parser
import io
import re
import unicodedata
from pathlib import PurePath, PurePosixPath
from typing import BinaryIO

from cdr.errors import Blocked, MalformedInput
from cdr.model import Action, ActionTaken, FileType, Finding, SanitizeResult
from cdr.names import with_extension
from cdr.sanitizers.base import Context, Sanitizer, read_limited
from cdr.scripts import script_language_of_text
from cdr.text_payloads import remove_encoded_files
from cdr.types import row, types_where

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\u3000-\u303f\uff01-\uff5e]")
_SUSPECT = re.compile(r"[\uff61-\uff9f\ue000-\uf8ff\u0080-\u009f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # C0 and C1, not tab/LF/CR
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_FORMULA_SIGNS = frozenset("=+-@＝＋－＠")
_BLANKS = " \t\u3000"
_SEP_DIRECTIVE = re.compile(r"\A\ufeff?\s*sep\s*=.?[ \t]*(?:\r\n|\r|\n|\Z)", re.I)
SPREADSHEET_EXTENSIONS = (".csv", ".tsv")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?%?$")
BINARY_CONTROL_RATIO = 0.01


# ISO-2022-JP (JIS): 7-bit, so it also reads as UTF-8 — with its escapes left in as garbage
_JIS_ESCAPE = re.compile(rb"\x1b(?:\$[@B]|\(J|\(I)")
_JIS_CODECS = ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2004")
# A high byte with ASCII on both sides (é in "café") is how Western single-byte text looks;
# Shift_JIS and EUC-JP put theirs in pairs, so in Japanese text almost none stands alone.
_LONE_HIGH = re.compile(rb"(?<![\x80-\xff])[\x80-\xff](?![\x80-\xff])")
WESTERN_SHARE = 0.5
_LATIN_LETTERS = frozenset("ŠŒŽšœžŸ" + "".join(chr(c) for c in range(0xC0, 0x100) if c not in (0xD7, 0xF7)))
_KANA = re.compile(r"[\u3041-\u30ff]")
# What a source encoding is written back as when the policy keeps the source's: the text
# verifier (and Excel on a Japanese Windows) reads these, and none of them needs a guess.
RELEASED_AS = {"cp1252": "utf-8-sig", "iso2022_jp": "cp932"}


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of the encoding it was written in (UTF-16 without a BOM is
    named "utf-16": it is written back with one)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError:
                raise MalformedInput(f"declares {encoding} but does not decode as it") from None
    utf16 = utf16_without_bom(data)
    if utf16 is not None:
        try:
            return data.decode(utf16), "utf-16"
        except UnicodeDecodeError:
            raise MalformedInput(f"reads as {utf16} at first but does not decode as it") from None
    if _JIS_ESCAPE.search(data) and max(data, default=0) < 0x80:
        for codec in _JIS_CODECS:
            try:
                return data.decode(codec), "iso2022_jp"
            except UnicodeDecodeError:
                continue
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if _western(data):
        return data.decode("cp1252"), "cp1252"
    candidates: list[tuple[int, str, str]] = []
    for encoding in ("cp932", "euc_jp"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = len(_JAPANESE.findall(text)) - 3 * len(_SUSPECT.findall(text))
        candidates.append((score, encoding, text))
    if not candidates and _cp1252_reads(data):  # no Japanese reading at all
        return data.decode("cp1252"), "cp1252"
    if not candidates:
        raise MalformedInput("not text in a known encoding (UTF-8, UTF-16, Shift_JIS, EUC-JP, Windows-1252)")
    _, encoding, text = max(candidates)
    return text, encoding


def _western(data: bytes) -> bool:
    """Whether bytes that are not UTF-8 read as Western text (Windows-1252, Latin-1): most
    high bytes stand alone between ASCII bytes and read as Latin letters (é, ß, ç), and no
    full-width kana comes out of reading them as Shift_JIS. Japanese text has its high bytes
    in pairs, and a short run of kanji read as Windows-1252 gives mostly punctuation."""
    high = sum(1 for b in data if b >= 0x80)
    if not high or len(_LONE_HIGH.findall(data)) < WESTERN_SHARE * high or not _cp1252_reads(data):
        return False
    letters = sum(1 for c in data.decode("cp1252") if c in _LATIN_LETTERS)
    return letters >= WESTERN_SHARE * high and not _KANA.search(data.decode("cp932", errors="ignore"))


def _cp1252_reads(data: bytes) -> bool:
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D are not characters in it
        return False
    return True


def utf16_without_bom(data: bytes) -> str | None:
    """The codec (utf-16-le or utf-16-be) when ``data`` is UTF-16 text that lost its BOM (Windows
    tools write such files): NUL bytes, mostly on one side of each pair (the high byte of
    ASCII characters and line ends), and every character a printable one."""
    whole = len(data) <= 1 << 16
    if whole and len(data) % 2:
        return None
    sample = data[: 1 << 16]
    sample = sample[: len(sample) - len(sample) % 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if len(sample) < 4 or max(even, odd) < max(1, len(sample) // 16):
        return None
    codec = "utf-16-le" if odd > even else "utf-16-be"
    try:
        text = codecs.getincrementaldecoder(codec)().decode(sample, final=whole)
    except UnicodeDecodeError:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cn", "Co", "Cs") and c not in "\t\n\r\f" for c in text):
        return None
    return codec


def _clean_characters(text: str) -> tuple[str, int, int]:
    controls = len(_CONTROL.findall(text))
    if text and controls / len(text) > BINARY_CONTROL_RATIO:
        raise MalformedInput("binary content, not text")
    text, bidi = _BIDI.subn("", text)
    text = _CONTROL.sub("", text)
    return text, controls, bidi


def neutralise_cell(cell: str) -> tuple[str, bool]:
    if cell.startswith(("\t", "\r")) and not cell.strip(_BLANKS + "\r\n"):
        return cell, False
    stripped = cell.lstrip(_BLANKS)
    live = cell.startswith(("\t", "\r")) or (stripped[:1] in _FORMULA_SIGNS and stripped[:1] != "")
    if live and not _PLAIN_NUMBER.match(unicodedata.normalize("NFKC", stripped).strip()):
        return "'" + cell, True
    return cell, False


def excel_reads_alike(encoding: str) -> str:
    """The encoding a spreadsheet is released in, so that Excel on a Japanese Windows reads
    the very characters the cells were judged in. Without a BOM it reads a file as CP932,
    byte by byte: UTF-8 or EUC-JP text read that way can end a quoted cell early (a lead byte
    swallows the closing quote) and start a row with a formula nobody judged. Shift_JIS
    (CP932) stays as it is; UTF-16 keeps a BOM; everything else becomes UTF-8 with a BOM."""
    if encoding == "cp932" or encoding == "utf-8-sig":
        return encoding
    if encoding.lower().startswith("utf-16"):
        return "utf-16"  # with its BOM: Excel's "Unicode text"
    return "utf-8-sig"


def excel_delimiter(name: str, encoding: str = "utf-8") -> str:
    """What Excel on a Japanese Windows splits on when it opens a file of this name:
    UTF-16 is its "Unicode text", split on tab even when named .csv."""
    if encoding.lower().startswith("utf-16"):
        return "\t"
    return "," if PurePath(name).suffix.lower() == ".csv" else "\t"


def rewrite_csv(text: str, name: str = "a.csv", encoding: str = "utf-8") -> tuple[str, int]:
    text, directives = _SEP_DIRECTIVE.subn("", text, count=1)
    delimiter = excel_delimiter(name, encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    neutralised = 0
    try:
        for row in reader:
            cells = []
            for cell in row:
                clean, changed = neutralise_cell(cell)
                neutralised += changed
                cells.append(clean)
            writer.writerow(cells)
    except csv.Error as exc:
        raise MalformedInput(f"not readable as CSV: {exc}") from None
    text = out.getvalue()
    if text.startswith("ID"):
        # Excel opens any text whose first two characters are "ID" as SYLK, whose C records
        # carry formulas (E…: DDE, XLM calls) that no cell split above can see. Quoted,
        # the first cell reads the same and the file is a CSV again.
        end = min((i for i in (text.find(delimiter), text.find("\r\n")) if i >= 0), default=len(text))
        text, neutralised = f'"{text[:end]}"{text[end:]}', neutralised + 1
    return text, neutralised + directives


class _VisibleText(html.parser.HTMLParser):
    _SKIP = {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg"}
    _BREAK = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.dropped = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skipping += 1
            self.dropped += 1
        elif tag in self._BREAK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(markup: str) -> tuple[str, int]:
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    text = re.sub(r"[ \t]+\n", "\n", "".join(parser.parts))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n", parser.dropped


def released_name(ctx: Context) -> str:
    """The name Excel opens the output under: a table under another name (``list.xlsx``,
    a web system's "Excel" export) is released as ``list.csv``, so it is split as one."""
    if ctx.file_type != FileType.CSV:
        return ctx.name
    table = row(FileType.CSV)
    return str(with_extension(PurePosixPath(ctx.name), table.extension, table.aliases))


def _refuse_script(text: str, ctx: Context) -> None:
    """The detector judged the first megabyte; this judges the first lines of all of it,
    so a very long first line cannot push the statements out of sight."""
    if ctx.file_type == FileType.HTML or ctx.policy.action_for(FileType.SCRIPT) != Action.BLOCK:
        return
    language = script_language_of_text(text)
    if language:
        raise Blocked(f"the text holds {language} statements; scripts are blocked by the policy")


class TextSanitizer(Sanitizer):
    handles = types_where(sanitizer="text")

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        text, encoding = decode(read_limited(src, ctx.policy.limits.max_file_size))
        findings = []
        if _BIDI.search(text):
            findings.append(Finding("bidi-control", "bidirectional override characters"))
        if _CONTROL.search(text):
            findings.append(Finding("control-characters"))
        if ctx.file_type == FileType.CSV or PurePath(ctx.name).suffix.lower() in SPREADSHEET_EXTENSIONS:
            _, formulas = rewrite_csv(text, released_name(ctx), encoding)
            if formulas:
                findings.append(Finding("csv-formula", "cells a spreadsheet would evaluate", formulas))
        if ctx.file_type == FileType.HTML:
            findings.append(Finding("html", "markup that a browser would act on"))
        return findings

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        data = read_limited(src, ctx.policy.limits.max_file_size)
        text, encoding = decode(data)
        text, controls, bidi = _clean_characters(text)
        _refuse_script(text, ctx)
        actions = []
        out_type = ctx.file_type
        if ctx.file_type == FileType.HTML:
            text, dropped = html_to_text(text)
            actions.append(ActionTaken("html-markup", "converted-to-text"))
            if dropped:
                actions.append(ActionTaken("html-active-elements", "removed", dropped))
            out_type = FileType.TEXT
        # chosen first: Excel's delimiter depends on it (UTF-16 text is split on tab)
        out_encoding = RELEASED_AS.get(encoding, encoding) if ctx.policy.text.output_encoding == "source" else "utf-8"
        spreadsheet = PurePath(ctx.name).suffix.lower() in SPREADSHEET_EXTENSIONS
        # what Excel opens by its name (a .txt goes to Notepad, or through Excel's import
        # dialog, which asks for the encoding): written so that Excel reads what was judged
        opened_by_excel = PurePath(released_name(ctx)).suffix.lower() in SPREADSHEET_EXTENSIONS
        if opened_by_excel:
            out_encoding = excel_reads_alike(out_encoding)
        if (ctx.file_type == FileType.CSV or spreadsheet) and ctx.policy.text.neutralise_formulas:
            # Any text that keeps a spreadsheet's name is opened by Excel: HTML or plain
            # text named .csv is split and evaluated just like a real CSV.
            text, neutralised = rewrite_csv(text, released_name(ctx), out_encoding)
            if neutralised:
                actions.append(ActionTaken("csv-formula", "neutralised", neutralised))
        if not (ctx.file_type == FileType.CSV or spreadsheet):
            # a uuencoded/yEnc/BinHex block is a file that a mail client decodes once the
            # text is pasted into or attached to a mail (cdr.text_payloads)
            text, encoded_files = remove_encoded_files(text)
            if encoded_files:
                actions.append(ActionTaken("encoded-file", "removed", encoded_files))
        if controls:
            actions.append(ActionTaken("control-characters", "removed", controls))
        if bidi:
            actions.append(ActionTaken("bidi-control", "removed", bidi))
        try:
            encoded = text.encode(out_encoding)
        except UnicodeEncodeError:
            out_encoding = excel_reads_alike("utf-8") if opened_by_excel else "utf-8"
            encoded = text.encode(out_encoding)
        dst.write(encoded)
        actions.append(ActionTaken("text", "re-encoded"))
        return SanitizeResult(out_type, tuple(actions), {"encoding": out_encoding})
