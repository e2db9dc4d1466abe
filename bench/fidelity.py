"""Fidelity: does a released file look and read like the file that was dropped?

    python bench/fidelity.py                          # corpus + generated Office samples
    python bench/fidelity.py --save figures.json      # and keep every figure
    python bench/fidelity.py --cdr /tmp/old-checkout  # measure another tree's cdr (before/after)
    python bench/fidelity.py --no-corpus              # only the Office samples (faster)

Each original and its released file are drawn with pypdfium2 (Office files first made a PDF
by LibreOffice), the first three pages at 40 dpi, and compared page by page: the mean
absolute difference of the grey levels and the share of strongly changed pixels (more than
a quarter of the grey scale apart). A page counts as changed when that share passes a
threshold set above what drawing the same file twice already changes (the calibration
printed first). The text of the same pages, read with pypdfium2's text page, is compared
as a multiset of characters (white space ignored): a document loses text when more than
1 % of its characters are gone.

A legacy file (.doc/.xls/.ppt) is measured twice: what a plain LibreOffice conversion
already changes (original → PDF against original → LibreOffice's OOXML → PDF) and what the
whole path changes (original against the released file); the rebuild's own share is the
difference between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = Path(os.environ.get("CDR_BENCH_CORPUS", ROOT.parent / "shared" / "bench-corpus"))

import pypdfium2 as pdfium  # noqa: E402
from PIL import Image, ImageChops, ImageOps  # noqa: E402

DPI = 40
PAGES = 3
STRONG = 64  # grey levels apart: a glyph or a picture moved, not anti-aliasing
CHANGED_SHARE = 0.0005  # of a page's pixels strongly changed (~75 at 40 dpi on A4: one short word); raised above the calibrated noise
TEXT_LOSS = 0.01  # of the characters
OFFICE = (".docx", ".xlsx", ".pptx", ".doc", ".xls", ".ppt", ".docm", ".xlsm", ".pptm", ".rtf", ".odt", ".ods")
LEGACY_TO_OOXML = {".doc": "docx:MS Word 2007 XML", ".xls": "xlsx:Calc MS Excel 2007 XML",
                   ".ppt": "pptx:Impress MS PowerPoint 2007 XML"}  # fmt: skip
IMAGES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class Rendering:
    """The first pages of one file as grey pictures, and their text."""

    pages: list[Image.Image]
    text: str
    page_count: int


@dataclass
class PageDifference:
    page: int
    mean_difference: float  # grey levels, 0-255
    strong_share: float  # of the page's pixels
    why: str = ""  # "missing", "size" when the pages cannot be laid over each other

    @property
    def changed(self) -> bool:
        return bool(self.why) or self.strong_share > CHANGED_SHARE


@dataclass
class Comparison:
    name: str
    group: str
    pages: list[PageDifference] = field(default_factory=list)
    text_lost: float = 0.0  # share of the original's characters missing
    characters: int = 0
    note: str = ""

    @property
    def changed_pages(self) -> int:
        return sum(1 for page in self.pages if page.changed)

    @property
    def loses_text(self) -> bool:
        return self.text_lost > TEXT_LOSS and self.characters * self.text_lost >= 3


# ---------------------------------------------------------------- drawing
def render_pdf(path: Path) -> Rendering:
    document = pdfium.PdfDocument(str(path))
    try:
        pages, text = [], []
        for index in range(min(PAGES, len(document))):
            page = document[index]
            pages.append(page.render(scale=DPI / 72).to_pil().convert("L"))
            text.append(page.get_textpage().get_text_range())
        return Rendering(pages, "".join(text), len(document))
    finally:
        document.close()


def render_image(path: Path) -> Rendering:
    with Image.open(path) as picture:
        shown = ImageOps.exif_transpose(picture)  # as a viewer shows it: the rebuild applies the rotation
        shown.thumbnail((400, 400))
        return Rendering([shown.convert("L")], "", 1)


def office_to_pdf(files: list[Path], into: Path, profile: Path) -> dict[Path, Path]:
    """One LibreOffice run for many files (its start is the slow part)."""
    into.mkdir(parents=True, exist_ok=True)
    if files:
        subprocess.run(
            ["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
             "--convert-to", "pdf", "--outdir", str(into), *map(str, files)],
            capture_output=True, timeout=60 + 60 * len(files), check=False,
        )  # fmt: skip
    return {f: into / (f.stem + ".pdf") for f in files if (into / (f.stem + ".pdf")).exists()}


def libreoffice_ooxml(files: list[Path], into: Path, profile: Path) -> dict[Path, Path]:
    """What the appliance's converter makes of each legacy file, before the rebuild."""
    out: dict[Path, Path] = {}
    for suffix, target in LEGACY_TO_OOXML.items():
        batch = [f for f in files if f.suffix == suffix]
        if not batch:
            continue
        into.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{profile}",
             "--convert-to", target, "--outdir", str(into), *map(str, batch)],
            capture_output=True, timeout=60 + 60 * len(batch), check=False,
        )  # fmt: skip
        produced = {f: into / (f.stem + "." + target.split(":")[0]) for f in batch}
        out.update({f: p for f, p in produced.items() if p.exists()})
    return out


# ---------------------------------------------------------------- comparing
def compare_pages(before: Image.Image, after: Image.Image, number: int) -> PageDifference:
    if abs(before.width - after.width) > 2 or abs(before.height - after.height) > 2:
        return PageDifference(number, 255.0, 1.0, "size")
    if after.size != before.size:
        after = after.resize(before.size)
    histogram = ImageChops.difference(before, after).histogram()
    pixels = before.width * before.height or 1
    mean = sum(level * count for level, count in enumerate(histogram)) / pixels
    return PageDifference(number, round(mean, 3), round(sum(histogram[STRONG:]) / pixels, 5))


def text_lost(before: str, after: str) -> tuple[float, int]:
    """(share of ``before``'s characters missing from ``after``, how many it had)."""
    original = Counter(ch for ch in before if not ch.isspace())
    kept = Counter(ch for ch in after if not ch.isspace())
    total = sum(original.values())
    return (sum((original - kept).values()) / total if total else 0.0), total


def compare(name: str, group: str, before: Rendering, after: Rendering | None) -> Comparison:
    result = Comparison(name, group)
    if after is None:
        result.note = "no rendering of the output"
        return result
    for number in range(max(len(before.pages), len(after.pages))):
        if number >= len(before.pages) or number >= len(after.pages):
            result.pages.append(PageDifference(number + 1, 255.0, 1.0, "missing"))
        else:
            result.pages.append(compare_pages(before.pages[number], after.pages[number], number + 1))
    result.text_lost, result.characters = text_lost(before.text, after.text)
    if before.page_count != after.page_count:
        result.note = f"{before.page_count} pages → {after.page_count}"
    return result


# ---------------------------------------------------------------- the samples
def office_samples(folder: Path) -> list[Path]:
    """Office files as offices send them: made by python-docx, openpyxl and python-pptx, and
    the legacy twins LibreOffice saves from them, plus legacy files holding an OLE object."""
    from tests import fidelity_builders as fb
    from tests import office_builders as ob

    folder.mkdir(parents=True, exist_ok=True)
    made = {
        "report.docx": ob.rich_docx(),
        "budget.xlsx": ob.rich_xlsx(),
        "slides.pptx": ob.rich_pptx(),
        "roster-letter.xlsx": fb.with_printer_settings(fb.letter_landscape_workbook()),
    }
    for name, data in made.items():
        (folder / name).write_bytes(data)
    profile = folder.parent / "lo-profile"
    for source, target in (("report.docx", "doc:MS Word 97"), ("budget.xlsx", "xls:MS Excel 97"),
                           ("slides.pptx", "ppt:MS PowerPoint 97"), ("roster-letter.xlsx", "xls:MS Excel 97")):  # fmt: skip
        subprocess.run(
            ["soffice", "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to", target,
             "--outdir", str(folder / "legacy"), str(folder / source)],
            capture_output=True, timeout=180, check=False,
        )  # fmt: skip
        produced = folder / "legacy" / f"{Path(source).stem}.{target.split(':')[0]}"
        if produced.exists():
            produced.rename(folder / f"legacy-{produced.name}")
    for host in fb.LEGACY_WITH_OBJECT:
        produced = fb.legacy_with_object(folder.parent, host)
        produced.rename(folder / f"object-{host}{produced.suffix}")
    return sorted(folder.glob("*.*"))


def corpus_samples(folder: Path, corpus: Path, limit: int | None) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    found = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in (".pdf", *IMAGES))[:limit]
    out = []
    for path in found:
        copy = folder / f"{path.parent.name}-{path.name}"
        shutil.copyfile(path, copy)
        out.append(copy)
    return out


def sanitize(cdr: Path, folder: Path, files: list[Path]) -> dict[str, dict]:
    """``cli.py sanitize`` of the tree measured, as an operator runs it; result line by name."""
    command = [sys.executable, str(cdr / "cli.py"), "sanitize", *(f.name for f in files), "--out", "out",
               "--quarantine", "quarantine", "--audit", "audit.jsonl", "--spool", "spool", "--json"]  # fmt: skip
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CDR_")}
    environment["PYTHONPATH"] = str(cdr)
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=environment, timeout=3600)
    results = {}
    for line in done.stdout.splitlines():
        try:
            result = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(result, dict) and "input" in result:
            results[Path(str(result["input"])).name] = result
    return results


def rendering(path: Path, pdfs: dict[Path, Path]) -> Rendering | None:
    try:
        if path.suffix.lower() == ".pdf":
            return render_pdf(path)
        if path.suffix.lower() in IMAGES:
            return render_image(path)
        return render_pdf(pdfs[path]) if path in pdfs else None
    except Exception:  # noqa: BLE001 - a damaged corpus file is reported, not fatal
        return None


# ---------------------------------------------------------------- the run
def calibrate(samples: list[Path], work: Path) -> dict[str, float]:
    """The largest strong share two drawings of the same file differ by: LibreOffice twice
    (separate runs), pypdfium2 twice."""
    office = [s for s in samples if s.suffix.lower() in OFFICE]
    first = office_to_pdf(office, work / "calibrate-1", work / "lo-calibrate-1")
    second = office_to_pdf(office, work / "calibrate-2", work / "lo-calibrate-2")
    worst_office = max(
        (page.strong_share for s in office if s in first and s in second
         for page in compare(s.name, "", render_pdf(first[s]), render_pdf(second[s])).pages if not page.why),
        default=0.0,
    )  # fmt: skip
    pdfs = [s for s in samples if s.suffix.lower() == ".pdf"][:5]
    worst_pdf = 0.0
    for path in pdfs:
        try:
            pages = compare(path.name, "", render_pdf(path), render_pdf(path)).pages
        except Exception:  # noqa: BLE001
            continue
        worst_pdf = max([worst_pdf, *(p.strong_share for p in pages)])
    return {"libreoffice_twice": worst_office, "pdfium_twice": worst_pdf}


def measure(cdr: Path, work: Path, samples: list[Path]) -> list[Comparison]:
    results = sanitize(cdr, work / "in", samples)
    released = {s: work / "in" / results[s.name]["output"] for s in samples
                if results.get(s.name, {}).get("verdict") == "released"}  # fmt: skip
    legacy = [s for s in samples if s.suffix.lower() in LEGACY_TO_OOXML]
    converted = libreoffice_ooxml(legacy, work / "lo-ooxml", work / "lo-profile-convert")
    office_inputs = [s for s in samples if s.suffix.lower() in OFFICE]
    office_outputs = [p for p in released.values() if p.suffix.lower() in OFFICE]
    pdfs = office_to_pdf(office_inputs, work / "pdf-original", work / "lo-profile-render")
    pdfs |= office_to_pdf(office_outputs, work / "pdf-released", work / "lo-profile-render")
    pdfs |= office_to_pdf(list(converted.values()), work / "pdf-converted", work / "lo-profile-render")
    comparisons = []
    for sample in samples:
        group = _group(sample)
        before = rendering(sample, pdfs)
        if before is None:
            comparisons.append(Comparison(sample.name, group, note="the original cannot be drawn"))
            continue
        verdict = results.get(sample.name, {}).get("verdict", "no result")
        if sample not in released:
            comparisons.append(Comparison(sample.name, group, note=f"not released: {verdict}"))
            continue
        comparisons.append(compare(sample.name, group, before, rendering(released[sample], pdfs)))
        if sample in converted:
            plain = compare(sample.name, "legacy: LibreOffice alone", before, rendering(converted[sample], pdfs))
            comparisons.append(plain)
    return comparisons


def _group(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in LEGACY_TO_OOXML:
        return "legacy: whole path"
    if suffix in OFFICE:
        return "office (OOXML)"
    return "pdf" if suffix == ".pdf" else "image"


def table(comparisons: list[Comparison]) -> str:
    lines = [f"{'group':28} {'files':>5} {'drawn':>5} {'pages':>5} {'changed':>7} {'lose text':>9}"]
    for group in sorted({c.group for c in comparisons}):
        rows = [c for c in comparisons if c.group == group]
        drawn = [c for c in rows if c.pages]
        lines.append(
            f"{group:28} {len(rows):5} {len(drawn):5} {sum(len(c.pages) for c in drawn):5} "
            f"{sum(c.changed_pages for c in drawn):7} {sum(1 for c in drawn if c.loses_text):9}"
        )
    lines.append("")
    for c in comparisons:
        if c.changed_pages or c.loses_text or c.note:
            worst = max(c.pages, key=lambda p: p.strong_share, default=None)
            figures = f"worst page {worst.page}: mean {worst.mean_difference:.1f}, strong {worst.strong_share:.1%}" if worst else ""
            lines.append(
                f"  {c.group[:20]:20} {c.name[:44]:44} changed {c.changed_pages}/{len(c.pages)} "
                f"text lost {c.text_lost:.1%} {figures} {c.note}"
            )
    return "\n".join(lines)


def main() -> None:
    global CHANGED_SHARE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdr", type=Path, default=ROOT, help="the checkout whose cli.py is measured")
    parser.add_argument("--save", type=Path, help="write every figure as JSON here")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--no-corpus", action="store_true")
    parser.add_argument("--limit", type=int, default=None, help="at most this many corpus files")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cdr-fidelity-") as scratch:
        work = Path(scratch)
        samples = office_samples(work / "in")
        if not arguments.no_corpus and arguments.corpus.is_dir():
            samples += corpus_samples(work / "in", arguments.corpus, arguments.limit)
        noise = calibrate(samples, work)
        CHANGED_SHARE = max(CHANGED_SHARE, 2 * max(noise.values()))
        print(f"calibration: the same file drawn twice differs by at most {noise}; a page is changed "
              f"above {CHANGED_SHARE:.2%} strongly changed pixels")  # fmt: skip
        comparisons = measure(arguments.cdr.resolve(), work, samples)
    print(table(comparisons))
    if arguments.save:
        figures = {
            "cdr": str(arguments.cdr),
            "calibration": noise,
            "changed_share": CHANGED_SHARE,
            "documents": [asdict(c) | {"changed_pages": c.changed_pages, "loses_text": c.loses_text} for c in comparisons],
        }
        arguments.save.write_text(json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
