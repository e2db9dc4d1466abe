"""Reproducible outputs: the same input under the same policy and version gives the same bytes.

Every sanitizer family runs through the real CLI (`cli.py sanitize --json`) twice, more than
a second apart so that any processing time written into a file would differ, into two
output folders; each released file must be byte for byte the same, and must carry neither
the host's name nor the year of the run. The inputs are made with real tools and libraries
(Pillow, pikepdf, python-docx/openpyxl builders, zipfile, LibreOffice for the legacy
formats), each stamped with its own dates, which the rebuild may keep — they are the
sender's, not ours.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pikepdf
import pytest
from PIL import Image

from tests import builders
from tests import office_builders as ob

ROOT = Path(__file__).resolve().parent.parent
HAS_LIBREOFFICE = shutil.which("soffice") is not None
HAS_TESSERACT = shutil.which("tesseract") is not None


def _pdf() -> bytes:
    """A page of text in a standard font, with the document information and XMP metadata a
    producer writes (dates, producer, a document ID)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0]
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))  # fmt: skip
    page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.obj.Contents = pdf.make_stream(b"BT /F1 24 Tf 72 720 Td (Bear sighted near the school) Tj ET")
    pdf.docinfo["/Title"] = "Bear report"
    pdf.docinfo["/Producer"] = "a producer of 2019"
    pdf.docinfo["/CreationDate"] = "D:20190401090000+09'00'"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:title"] = "Bear report"
        meta["xmp:CreateDate"] = "2019-04-01T09:00:00+09:00"
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("報告/memo.txt", "熊の目撃情報\r\n".encode("cp932"))
        archive.writestr("photo.png", builders.simple("PNG", (40, 30)))
        archive.writestr("list.csv", builders.SJIS_CSV)
        archive.writestr("setup.exe", b"MZ\x90\x00" + b"\x00" * 300)  # listed in cdr-removed.txt
    return out.getvalue()


def _legacy(work: Path, source: bytes, name: str, target: str) -> bytes:
    path = work / name
    path.write_bytes(source)
    return ob.libreoffice(work, path, target).read_bytes()


def _inputs(work: Path) -> dict[str, bytes]:
    files = {
        "report.pdf": _pdf(),
        "bear.jpg": builders.jpeg_with_gps_and_trailer(),
        "map.png": builders.png_with_text_chunks(),
        "anim.gif": builders.animated_gif(),
        "scan.bmp": builders.simple("BMP"),
        "pages.tiff": builders.multipage_tiff(),
        "photo.webp": builders.simple("WEBP"),
        "letter.docx": ob.rich_docx(),
        "budget.xlsx": ob.rich_xlsx(),
        "slides.pptx": ob.rich_pptx(),
        "attachments.zip": _archive(),
        "memo.txt": "お知らせ: 熊の目撃情報\r\n".encode("cp932"),
        "list.csv": builders.SJIS_CSV,
    }
    try:
        files["phone.heic"] = builders.heic_photo()
    except ImportError:
        pass
    return files


def _sanitize(inbox: Path, out: Path, *policy: str) -> dict[str, dict]:
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "sanitize", *sorted(map(str, inbox.iterdir())), "--out", str(out),
         "--quarantine", str(out.parent / f"{out.name}-q"), "--audit", str(out.parent / f"{out.name}.jsonl"),
         "--json", *policy],
        capture_output=True, text=True, timeout=900, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr[-3000:]
    return {Path(line["input"]).name: line for line in map(json.loads, run.stdout.splitlines())}


Runs = tuple[dict[str, dict], dict[str, dict], datetime]


def _twice(inbox: Path, work: Path, *policy: str) -> Runs:
    """Two runs; also when they began, after a pause that puts every time the inputs
    carry at least a second before it."""
    time.sleep(1.1)
    started = datetime.now(UTC).replace(microsecond=0)
    first = _sanitize(inbox, work / "first", *policy)
    time.sleep(2.1)  # every time a run could write now differs, even a ZIP's (2-second steps)
    return first, _sanitize(inbox, work / "second", *policy), started


def _inbox(work: Path, files: dict[str, bytes]) -> Path:
    inbox = work / "in"
    inbox.mkdir()
    for name, data in files.items():
        (inbox / name).write_bytes(data)
    return inbox


@pytest.fixture(scope="module")
def default_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    work = tmp_path_factory.mktemp("reproducible")
    return _twice(_inbox(work, _inputs(work)), work)


@pytest.fixture(scope="module")
def legacy_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Binary Office made by LibreOffice, converted back by it in each run (slow: a run of its own)."""
    work = tmp_path_factory.mktemp("reproducible-legacy")
    files = {
        "minutes.doc": _legacy(work, ob.rich_docx(), "minutes.docx", "doc:MS Word 97"),
        "ledger.xls": _legacy(work, ob.rich_xlsx(), "ledger.xlsx", "xls:MS Excel 97"),
    }
    return _twice(_inbox(work, files), work)


@pytest.fixture(scope="module")
def pixel_runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """画像化 under the shipped strict policy, with its OCR text layer when Tesseract is here."""
    work = tmp_path_factory.mktemp("reproducible-pixels")
    inbox = _inbox(work, {"report.pdf": _pdf()})
    policy = (ROOT / "policies" / "strict.yaml").read_text(encoding="utf-8")
    if not HAS_TESSERACT:
        policy = policy.replace("  ocr: true\n", "  ocr: false\n")
    (work / "strict.yaml").write_text(policy, encoding="utf-8")
    return _twice(inbox, work, "--policy", str(work / "strict.yaml"))


def _same_bytes(runs: Runs, name: str) -> bytes:
    first, second = runs[0][name], runs[1][name]
    assert first["verdict"] == second["verdict"] == "released", (first, second)
    one, two = Path(first["output"]).read_bytes(), Path(second["output"]).read_bytes()
    assert first["output_sha256"] == second["output_sha256"]
    assert one == two, f"{name}: the two runs wrote different bytes"
    return one


# How the formats write a time: ISO 8601 (XMP, OOXML core properties), PDF dates, EXIF.
_STAMPS = (
    re.compile(rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)"),
    re.compile(rb"D:(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)"),
    re.compile(rb"(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)"),
)


def _stamps(text: bytes) -> list[datetime]:
    found = []
    for pattern in _STAMPS:
        for match in pattern.finditer(text):
            try:
                found.append(datetime(*map(int, match.groups()), tzinfo=UTC))
            except ValueError:
                continue  # digits that only look like a date
    return found


def _stream_bytes(stream: pikepdf.Stream) -> bytes:
    try:
        return stream.read_bytes()
    except pikepdf.PdfError:  # a JPEG page image: its bytes as stored
        return stream.read_raw_bytes()


def _no_trace_of_the_run(data: bytes, started: datetime) -> None:
    """No host name in what was released, and no time from when the runs began: the inputs
    were made before that (their own dates are the sender's and may stay); the audit log
    holds when we processed them."""
    host = socket.gethostname().encode()
    texts = [data]
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            texts += [archive.read(info) for info in archive.infolist()]
            assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    if data.startswith(b"%PDF"):
        with pikepdf.open(io.BytesIO(data)) as pdf:  # streams (XMP among them) inflated
            texts += [_stream_bytes(obj) for obj in pdf.objects if isinstance(obj, pikepdf.Stream)]
    for text in texts:
        assert len(host) < 3 or host not in text
        late = [stamp for stamp in _stamps(text) if stamp >= started]
        assert not late, f"a time of processing in the output: {late[0].isoformat()}"


FAMILIES = [
    "report.pdf", "bear.jpg", "map.png", "anim.gif", "scan.bmp", "pages.tiff", "photo.webp",
    "letter.docx", "budget.xlsx", "slides.pptx", "attachments.zip", "memo.txt", "list.csv",
]  # fmt: skip


@pytest.mark.parametrize("name", FAMILIES)
def test_two_runs_release_the_same_bytes(default_runs: Runs, name: str) -> None:
    _no_trace_of_the_run(_same_bytes(default_runs, name), default_runs[2])


def test_heic_released_as_the_same_jpeg(default_runs: Runs) -> None:
    if "phone.heic" not in default_runs[0]:
        pytest.skip("pillow-heif is not installed")
    data = _same_bytes(default_runs, "phone.heic")
    assert Image.open(io.BytesIO(data)).format == "JPEG"


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LIBREOFFICE, reason="LibreOffice is not installed")
@pytest.mark.parametrize("name", ["minutes.doc", "ledger.xls"])
def test_converted_legacy_documents_release_the_same_bytes(legacy_runs: Runs, name: str) -> None:
    """LibreOffice converts each run afresh; the rebuild after it must still give one result."""
    _no_trace_of_the_run(_same_bytes(legacy_runs, name), legacy_runs[2])


def test_page_images_release_the_same_bytes(pixel_runs: Runs) -> None:
    data = _same_bytes(pixel_runs, "report.pdf")
    _no_trace_of_the_run(data, pixel_runs[2])
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 1 and "/Metadata" not in pdf.Root
