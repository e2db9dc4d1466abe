"""An invisible OCR text layer for 画像化 PDFs, so they stay searchable.

Tesseract reads only the pixels this process already rebuilt (never the original file),
in its own converter sandbox, and writes the words it found with their boxes as TSV. That
TSV comes from a program that read untrusted pixels, so it is parsed in a sandboxed job
(``read_tsv``, operation ``ocr-words``), which writes one small JSON document per word.
This process checks each word against its schema (``cdr.wire.ocr_word``: a page that
exists, a box inside it, short clean text) and writes the text layer itself: each word as
invisible text (render mode 3) over its box, in a glyph-less font built here. Nothing
tesseract wrote reaches the PDF but the checked words.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name
from PIL import Image

from cdr import wire
from cdr.converters.exec_sandbox import JOB, run_converter
from cdr.converters.pixels import RAW_MAGIC, read_page
from cdr.errors import ConverterUnavailable, LimitExceeded
from cdr.policy import Policy

if TYPE_CHECKING:
    from cdr.sandbox import Sandbox

TESSERACT = "/usr/bin/tesseract"
OCR_SECONDS_PER_PAGE = 6
# Tesseract's own glyph-less TrueType font (one blank glyph): a system file, not output.
GLYPHLESS_FONT = Path("/usr/share/tesseract-ocr/5/tessdata/pdf.ttf")
MAX_WORDS = 200_000
_WORD_LEVEL = "5"


# ------------------------------------------------------------------ in the parent
def add_text_layer(
    sandbox: Sandbox,
    raw_path: Path,
    pdf_path: Path,
    target: BinaryIO,
    pages: list[tuple[int, int, int]],
    policy: Policy,
) -> int:
    """Lay the words tesseract finds over the pages of ``pdf_path`` and write the result to
    ``target`` (never over ``pdf_path``); returns how many."""
    if not Path(TESSERACT).exists():
        raise ConverterUnavailable("tesseract is not installed (apt-get install tesseract-ocr-jpn)")
    with tempfile.TemporaryDirectory(prefix="cdr-ocr-") as work_dir:
        work = Path(work_dir)
        _write_page_images(raw_path, work, len(pages), policy.limits.max_pixels)
        tsv = _recognise(work, pages, policy)
        words = _words(sandbox, tsv, work / "words.jsonl", pages, policy)
    with pikepdf.open(pdf_path) as pdf:
        font = _glyphless_font(pdf)
        for number, page in enumerate(pdf.pages):
            placed = [w for w in words if w.page == number]
            if placed:
                page.Resources.Font = Dictionary(FOcr=font)
                page.contents_add(pikepdf.Stream(pdf, _layer(placed, pages[number])), prepend=False)
        pdf.save(target, deterministic_id=True)  # /ID from the content, not the clock
    return len(words)


def _write_page_images(raw_path: Path, work: Path, count: int, max_pixels: int) -> None:
    with raw_path.open("rb") as raw:
        raw.read(len(RAW_MAGIC))
        for number in range(count):
            page = read_page(raw, max_pixels)
            if page is None:
                break
            width, height, _, pixels = page
            Image.frombytes("RGB", (width, height), pixels).save(work / f"p{number}.png", compress_level=1)


def _recognise(work: Path, pages: list[tuple[int, int, int]], policy: Policy) -> Path:
    (work / "pages.txt").write_text("".join(f"{JOB}/p{n}.png\n" for n in range(len(pages))))
    run = run_converter(
        [
            TESSERACT,
            f"{JOB}/pages.txt",
            f"{JOB}/text",
            "-l",
            policy.pdf.ocr_languages,
            "--dpi",
            str(pages[0][2]),
            "tsv",
        ],
        work,
        # Tesseract takes a second or two per page: the budget grows with the pages.
        timeout=policy.limits.wall_time + OCR_SECONDS_PER_PAGE * len(pages),
        isolation=policy.sandbox.isolation,
    )
    tsv = work / "text.tsv"
    if run.returncode != 0 or not tsv.exists():
        raise ConverterUnavailable(f"tesseract failed: {wire.clean_text(run.output[-300:], 300)}")
    return tsv


def _words(
    sandbox: Sandbox, tsv: Path, words_path: Path, pages: list[tuple[int, int, int]], policy: Policy
) -> list[wire.OcrWord]:
    """Parse tesseract's TSV in a sandboxed job; check every word it hands back."""
    tsv_fd = os.open(tsv, os.O_RDONLY | os.O_NOFOLLOW)
    words_fd = os.open(words_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        sandbox.run("ocr-words", {"pages": len(pages)}, [tsv_fd, words_fd], policy.limits)
        sizes = [(width, height) for width, height, _ in pages]
        with os.fdopen(os.dup(words_fd), "rb") as handle:
            handle.seek(0)
            return [wire.ocr_word(line, sizes) for line in _lines(handle)]
    finally:
        os.close(tsv_fd)
        os.close(words_fd)


def _lines(handle: BinaryIO) -> Iterator[bytes]:
    for count, line in enumerate(iter(lambda: handle.readline(wire.MAX_OCR_LINE + 1), b"")):
        if count >= MAX_WORDS:
            raise LimitExceeded(f"more than {MAX_WORDS} words recognised")
        yield line


def _glyphless_font(pdf: pikepdf.Pdf) -> pikepdf.Object:
    """A Type 0 font whose codes are UTF-16 units (BMP only), every one drawn with the
    same blank glyph and mapped back to itself for copy and search — the shape of font
    tesseract itself uses for its text layers (ISO 32000-1 9.7, 9.10.3)."""
    descriptor = Dictionary(
        Type=Name.FontDescriptor,
        FontName=Name.GlyphLessFont,
        Flags=5,
        FontBBox=Array([0, 0, 500, 1000]),
        ItalicAngle=0,
        Ascent=1000,
        Descent=-1,
        CapHeight=1000,
        StemV=80,
    )
    if GLYPHLESS_FONT.is_file():
        program = GLYPHLESS_FONT.read_bytes()
        descriptor.FontFile2 = pikepdf.Stream(pdf, program, Length1=len(program))
    descendant = Dictionary(
        Type=Name.Font,
        Subtype=Name.CIDFontType2,
        BaseFont=Name.GlyphLessFont,
        CIDSystemInfo=Dictionary(
            Registry=pikepdf.String("Adobe"), Ordering=pikepdf.String("Identity"), Supplement=0
        ),
        FontDescriptor=pdf.make_indirect(descriptor),
        DW=500,
        CIDToGIDMap=pikepdf.Stream(pdf, zlib.compress(b"\x00\x01" * 65536), Filter=Name.FlateDecode),
    )
    return pdf.make_indirect(
        Dictionary(
            Type=Name.Font,
            Subtype=Name.Type0,
            BaseFont=Name.GlyphLessFont,
            Encoding=Name("/Identity-H"),
            DescendantFonts=Array([pdf.make_indirect(descendant)]),
            ToUnicode=pikepdf.Stream(pdf, _to_unicode()),
        )
    )


def _to_unicode() -> bytes:
    """CID n ↦ U+n for the whole BMP but the surrogates, in ranges that differ only in
    their last byte (ISO 32000-1 9.10.3)."""
    ranges = [
        f"<{high:02X}00> <{high:02X}FF> <{high:02X}00>" for high in range(256) if not 0xD8 <= high <= 0xDF
    ]
    blocks = []
    for start in range(0, len(ranges), 100):
        chunk = ranges[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfrange\n" + "\n".join(chunk) + "\nendbfrange")
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
            "1 begincodespacerange <0000> <FFFF> endcodespacerange",
            *blocks,
            "endcmap CMapName currentdict /CMap defineresource pop end end",
        ]
    ).encode()


def _layer(words: list[wire.OcrWord], page: tuple[int, int, int]) -> bytes:
    """Invisible text, each word stretched over its box (DW 500: a glyph is half an em)."""
    _, height_px, dpi = page
    scale = 72 / dpi
    out = ["BT 3 Tr"]
    for word in words:
        codes = [ord(c) for c in word.text if ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF]
        if not codes:
            continue
        size = max(word.height * scale, 1.0)
        stretch = 100 * word.width * scale / (len(codes) * size * 0.5)
        x, y = word.left * scale, (height_px - word.top - word.height) * scale
        text = "".join(f"{code:04X}" for code in codes)
        out.append(f"/FOcr {size:.2f} Tf {stretch:.2f} Tz 1 0 0 1 {x:.2f} {y:.2f} Tm <{text}> Tj")
    out.append("ET")
    return "\n".join(out).encode()


# ------------------------------------------------------------------ in the child
def read_tsv(src: BinaryIO, dst: BinaryIO, pages: int) -> int:
    """Tesseract's TSV → one JSON document per recognised word (runs sandboxed)."""
    src.seek(0)
    text = io.TextIOWrapper(src, encoding="utf-8", errors="replace", newline="")
    written = 0
    for row in csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE):
        if len(row) != 12 or row[0] != _WORD_LEVEL or not row[11].strip():
            continue  # the header, blocks, paragraphs, lines: only words carry text
        page, left, top, width, height = (int(value) for value in (row[1], *row[6:10]))
        if not 1 <= page <= pages or written >= MAX_WORDS:
            continue
        text = "".join(c for c in row[11] if wire.printable(c)).strip()[:100]
        if not text:
            continue
        word = {"page": page - 1, "box": [left, top, width, height], "text": text}
        dst.write(json.dumps(word, ensure_ascii=False).encode() + b"\n")
        written += 1
    return written
