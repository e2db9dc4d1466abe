"""An invisible OCR text layer for 画像化 PDFs, so they stay searchable.

Tesseract reads only the pixels this process already rebuilt (never the original file),
in its own converter sandbox, and writes a text-only PDF per page; that page is laid
over the image page as a form XObject.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pikepdf
from PIL import Image

from cdr.converter import JOB, run_converter
from cdr.errors import ConverterUnavailable
from cdr.pixels import RAW_MAGIC, read_page
from cdr.policy import Policy

TESSERACT = "/usr/bin/tesseract"
OCR_SECONDS_PER_PAGE = 6


def add_text_layer(raw_path: Path, pdf_path: Path, pages: list[tuple[int, int, int]], policy: Policy) -> None:
    if not Path(TESSERACT).exists():
        raise ConverterUnavailable("tesseract is not installed (apt-get install tesseract-ocr-jpn)")
    with tempfile.TemporaryDirectory(prefix="cdr-ocr-") as work_dir:
        work = Path(work_dir)
        with raw_path.open("rb") as raw:
            raw.read(len(RAW_MAGIC))
            for number in range(len(pages)):
                page = read_page(raw)
                if page is None:
                    break
                width, height, _, pixels = page
                Image.frombytes("RGB", (width, height), pixels).save(
                    work / f"p{number}.png", compress_level=1
                )
        listing = work / "pages.txt"
        listing.write_text("".join(f"{JOB}/p{n}.png\n" for n in range(len(pages))))
        run = run_converter(
            [
                TESSERACT,
                f"{JOB}/pages.txt",
                f"{JOB}/text",
                "-l",
                policy.pdf.ocr_languages,
                "--dpi",
                str(pages[0][2]),
                "-c",
                "textonly_pdf=1",
                "pdf",
            ],
            work,
            # Tesseract takes a second or two per page: the budget grows with the pages.
            timeout=policy.limits.wall_time + OCR_SECONDS_PER_PAGE * len(pages),
            isolation=policy.sandbox.isolation,
        )
        text_pdf = work / "text.pdf"
        if run.returncode != 0 or not text_pdf.exists():
            raise ConverterUnavailable(f"tesseract failed: {run.output[-300:]}")
        with pikepdf.open(pdf_path, allow_overwriting_input=True) as target, pikepdf.open(text_pdf) as text:
            for page, layer in zip(target.pages, text.pages, strict=False):
                page.add_overlay(
                    target.copy_foreign(layer.as_form_xobject()), pikepdf.Rectangle(page.mediabox)
                )
            target.save(pdf_path)
        shutil.rmtree(work, ignore_errors=True)
