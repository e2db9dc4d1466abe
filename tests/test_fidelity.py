"""The fast part of the fidelity check (bench/fidelity.py, issue 14): the page and text
comparisons see what a person would see change, and see nothing where nothing changed —
including after a real rebuild of a PDF with text. LibreOffice's part (Office files drawn
as PDF) runs in ``python bench/fidelity.py``."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
from PIL import Image, ImageDraw

from bench import fidelity
from tests.attacks import runner

WORDS = "Bear sighting report near the town hall"


def text_pdf(words: str | None = WORDS, pages: int = 2) -> bytes:
    """A PDF in the base-14 Helvetica: pdfium draws it and reads its text back."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))  # fmt: skip
    for number in range(pages):
        text = f"BT /F1 24 Tf 60 700 Td ({words} {number + 1}) Tj ET" if words else ""
        page = pikepdf.Page(pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(f"q 0 0 0 rg 60 400 200 120 re f Q {text}".encode()),
        ))  # fmt: skip
        pdf.pages.append(page)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def page(mark: tuple[int, int, int, int] | None = None, size: tuple[int, int] = (331, 468)) -> Image.Image:
    picture = Image.new("L", size, 255)
    if mark:
        ImageDraw.Draw(picture).rectangle(mark, fill=0)
    return picture


def test_the_same_page_is_unchanged_and_a_missing_word_is_a_change() -> None:
    assert not fidelity.compare_pages(page(), page(), 1).changed
    # one short word at 40 dpi: about 30 × 8 pixels of ink
    word = fidelity.compare_pages(page(), page((100, 100, 129, 107)), 1)
    assert word.changed and 0.001 < word.strong_share < 0.01 and word.mean_difference > 0
    assert fidelity.compare_pages(page(), page(size=(468, 331)), 1).why == "size"


def test_anti_aliasing_noise_is_not_a_change() -> None:
    """A page drawn again with grey edges a few levels off changes no pixel strongly."""
    noisy = page().point(lambda level: level - 20)
    difference = fidelity.compare_pages(page(), noisy, 1)
    assert difference.strong_share == 0 and not difference.changed and difference.mean_difference == 20


def test_text_lost_counts_characters_not_spacing() -> None:
    assert fidelity.text_lost("品名 数量\r\nりんご 12", "品名数量りんご12") == (0.0, 9)
    lost, total = fidelity.text_lost("品名 数量 りんご 12", "品名")
    assert total == 9 and abs(lost - 7 / 9) < 1e-9


def test_a_pdf_drawn_twice_is_the_same(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(text_pdf())
    first, second = fidelity.render_pdf(tmp_path / "a.pdf"), fidelity.render_pdf(tmp_path / "a.pdf")
    result = fidelity.compare("a.pdf", "pdf", first, second)
    assert result.changed_pages == 0 and not result.loses_text and len(result.pages) == 2
    assert "Bear sighting report" in first.text
    assert first.pages[0].size == (round(595 * 40 / 72), round(842 * 40 / 72))


def test_a_page_without_its_text_is_changed_and_loses_text(tmp_path: Path) -> None:
    (tmp_path / "a.pdf").write_bytes(text_pdf())
    (tmp_path / "b.pdf").write_bytes(text_pdf(words=None))
    result = fidelity.compare("a.pdf", "pdf", fidelity.render_pdf(tmp_path / "a.pdf"),
                              fidelity.render_pdf(tmp_path / "b.pdf"))  # fmt: skip
    assert result.changed_pages == 2 and result.loses_text and result.text_lost == 1.0
    fewer = fidelity.compare("a.pdf", "pdf", fidelity.render_pdf(tmp_path / "a.pdf"), fidelity.Rendering([], "", 0))
    assert [p.why for p in fewer.pages] == ["missing", "missing"]


def test_a_rebuilt_pdf_looks_and_reads_as_before(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(text_pdf(pages=3))
    batch = runner.sanitize(tmp_path, ["report.pdf"])
    output = batch.output("report.pdf")
    assert output is not None, batch.results
    result = fidelity.compare("report.pdf", "pdf", fidelity.render_pdf(tmp_path / "report.pdf"),
                              fidelity.render_pdf(output))  # fmt: skip
    assert len(result.pages) == 3 and result.changed_pages == 0 and result.text_lost == 0.0
