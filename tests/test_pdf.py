"""PDF: hostile variants lose every planted item (checked by a pikepdf walk of our own,
not the sanitizer's inspector) and benign documents keep pages, text, links and looks."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops, ImageStat

from cdr.model import Outcome
from cdr.pipeline import Pipeline, Places
from cdr.policy import load_policy
from cdr.sandbox import SandboxPool
from tests import pdf_builders
from tests.conftest import ROOT

ACTIVE_KEYS = {
    "/JS",
    "/JavaScript",
    "/AA",
    "/OpenAction",
    "/EmbeddedFiles",
    "/EmbeddedFile",
    "/XFA",
    "/RichMediaContent",
    "/Launch",
    "/EF",
}
ACTIVE_VALUES = {
    "/JavaScript",
    "/Launch",
    "/FileAttachment",
    "/RichMedia",
    "/GoToR",
    "/GoToE",
    "/ImportData",
    "/SubmitForm",
    "/EmbeddedFile",
}
# /AcroForm and /Widget are not here: a form stays fillable without its actions
# (tests/test_pdf_forms.py inspects what a kept form may hold).


def active_content(data: bytes) -> list[str]:
    """Everything active in a PDF: every object, direct and indirect, and the raw tail."""
    found: list[str] = []
    seen: set[tuple[int, int]] = set()

    def visit(obj: object, depth: int = 0) -> None:
        if depth > 50:
            return
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)) and obj.is_indirect:
            if obj.objgen in seen:
                return
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Stream):
            obj = obj.stream_dict
        if isinstance(obj, pikepdf.Array):
            for item in obj:
                visit(item, depth + 1)
        elif isinstance(obj, pikepdf.Dictionary):
            for key in obj.keys():
                value = obj.get(key)
                if key in ACTIVE_KEYS:
                    found.append(key)
                if isinstance(value, pikepdf.Name) and str(value) in ACTIVE_VALUES:
                    found.append(f"{key}={value}")
                if key == "/URI" and not str(value).startswith(("http://", "https://", "mailto:")):
                    found.append(f"URI {value}")
                visit(value, depth + 1)

    with pikepdf.open(io.BytesIO(data)) as pdf:
        visit(pdf.trailer)
        for obj in pdf.objects:
            visit(obj)
    if data.count(b"%%EOF") != 1 or data.rstrip()[-5:] != b"%%EOF":
        found.append("incremental update or trailing data")
    if b"PK\x03\x04" in data:
        found.append("zip")
    return found


def text_of(data: bytes) -> list[str]:
    document = pdfium.PdfDocument(data)
    return [" ".join(document[i].get_textpage().get_text_bounded().split()) for i in range(len(document))]


def render(data: bytes, page: int) -> Image.Image:
    document = pdfium.PdfDocument(data)
    return document[page].render(scale=50 / 72).to_pil().convert("L")


@pytest.fixture(scope="session")
def benign() -> bytes:
    return pdf_builders.libreoffice_report()


def _places(tmp_path: Path) -> Places:
    (tmp_path / "o").mkdir(exist_ok=True)  # the outbox root must exist; cdr never creates it
    return Places(tmp_path / "o", tmp_path / "q", tmp_path / "a.jsonl", tmp_path / "w")


def _sanitize(pipeline: Pipeline, tmp_path: Path, data: bytes, name: str = "report.pdf"):
    source = tmp_path / "in" / name
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(data)
    return pipeline.process(source, name)


@pytest.mark.parametrize("attack", sorted(pdf_builders.HOSTILE))
def test_hostile_pdf_is_disarmed(pipeline: Pipeline, tmp_path: Path, benign: bytes, attack: str) -> None:
    hostile = pdf_builders.HOSTILE[attack](benign)
    assert active_content(hostile), f"{attack}: the attack was not planted"
    verdict = _sanitize(pipeline, tmp_path, hostile)
    assert verdict.verdict == Outcome.RELEASED, verdict
    output = Path(verdict.output).read_bytes()
    assert active_content(output) == []
    assert text_of(output)[:2] == text_of(benign)[:2]
    removed = {a["what"] for a in verdict.actions if a["action"] in ("removed", "flattened")}
    assert removed, "the result must say what was removed"


def test_incremental_update_is_what_a_reader_would_see(benign: bytes) -> None:
    """The planted update really changes the document a reader opens."""
    hostile = pdf_builders.incremental_open_action(benign)
    with pikepdf.open(io.BytesIO(hostile)) as pdf:
        assert pdf.Root.OpenAction.S == "/JavaScript"


def test_benign_document_survives(pipeline: Pipeline, tmp_path: Path, benign: bytes) -> None:
    verdict = _sanitize(pipeline, tmp_path, benign)
    assert verdict.verdict == Outcome.RELEASED
    output = Path(verdict.output).read_bytes()
    assert text_of(output) == text_of(benign)
    assert "熊" in text_of(output)[0] and "bear" in text_of(output)[0]
    with pikepdf.open(io.BytesIO(output)) as clean, pikepdf.open(io.BytesIO(benign)) as original:
        assert len(clean.pages) == len(original.pages)
        assert clean.pages[-1].obj.Rotate == 90
        assert [p.mediabox for p in clean.pages] == [p.mediabox for p in original.pages]
        uris = [str(a.A.URI) for a in clean.pages[0].obj.get("/Annots", []) if "/A" in a]
        assert "https://www.example.jp/kuma" in uris
        with clean.open_outline() as outline, original.open_outline() as source:
            titles = [
                (item.title, clean.pages.index(pikepdf.Page(item.destination[0]))) for item in outline.root
            ]
            expected = [
                (item.title, original.pages.index(pikepdf.Page(item.destination[0]))) for item in source.root
            ]
        assert titles == expected and "第二章" in titles[0][0]
        assert str(clean.docinfo.get("/Title")) == "熊の出没情報"
        assert "/Producer" not in clean.docinfo
    for page in range(len(text_of(benign))):
        difference = ImageChops.difference(render(benign, page), render(output, page))
        assert ImageStat.Stat(difference).mean[0] < 1.0, f"page {page + 1} looks different"


def test_links_follow_policy(tmp_path: Path, benign: bytes, sandbox_pool: SandboxPool) -> None:
    places = _places(tmp_path)
    pipe = Pipeline(
        load_policy(ROOT / "policies" / "strict.yaml").__class__(
            **{
                **load_policy(ROOT / "policies" / "default.yaml").__dict__,
                "pdf": load_policy(ROOT / "policies" / "strict.yaml").pdf.__class__(links=()),
            }
        ),
        places,
        sandbox_pool,
    )
    pipe.start()
    try:
        verdict = _sanitize(pipe, tmp_path, benign)
    finally:
        pipe.close()
    with pikepdf.open(verdict.output) as clean:
        assert not [a for a in clean.pages[0].obj.get("/Annots", []) if "/A" in a]


@pytest.fixture
def strict(tmp_path: Path, sandbox_pool: SandboxPool) -> Iterator[Pipeline]:
    places = _places(tmp_path)
    pipe = Pipeline(load_policy(ROOT / "policies" / "strict.yaml"), places, sandbox_pool)
    pipe.start()
    yield pipe
    pipe.close()


def test_pixels_mode_keeps_pages_and_looks_with_ocr(strict: Pipeline, tmp_path: Path, benign: bytes) -> None:
    hostile = pdf_builders.js_everywhere(benign)
    verdict = _sanitize(strict, tmp_path, hostile)
    assert verdict.verdict == Outcome.RELEASED, verdict
    output = Path(verdict.output).read_bytes()
    assert active_content(output) == []
    with pikepdf.open(io.BytesIO(output)) as clean, pikepdf.open(io.BytesIO(benign)) as original:
        assert len(clean.pages) == len(original.pages)
        for mine, theirs in zip(clean.pages, original.pages, strict=True):
            width = float(theirs.mediabox[2] - theirs.mediabox[0])
            height = float(theirs.mediabox[3] - theirs.mediabox[1])
            if int(theirs.obj.get("/Rotate", 0)) % 180:
                width, height = height, width
            assert abs(float(mine.mediabox[2]) - width) < 1 and abs(float(mine.mediabox[3]) - height) < 1
        fonts = [
            obj
            for obj in clean.objects
            if isinstance(obj, pikepdf.Dictionary)
            and obj.get("/Type") == "/Font"
            and obj.get("/Subtype") != "/Type0"
        ]
        assert all("GlyphLessFont" in str(f.get("/BaseFont", "")) for f in fonts)  # only OCR's
    ocr = subprocess.run(
        ["pdftotext", "-", "-"], input=output, capture_output=True, check=True
    ).stdout.decode()
    assert "bear" in ocr.lower() and ("熊" in ocr or "目撃" in ocr or "役場" in ocr)
    difference = ImageChops.difference(render(benign, 0), render(output, 0))
    assert ImageStat.Stat(difference).mean[0] < 12


def test_the_page_images_released_are_the_ones_verified(
    strict: Pipeline, tmp_path: Path, benign: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OCR layer makes a new file; verification must read that file, not the image PDF
    from before it (the descriptor once pointed at the old file while the path was released)."""
    import cdr.flow
    from cdr.descriptors import sha256_fd

    verified: list[str] = []
    real_verify = cdr.flow.verify_output

    def spy(sandbox: object, out_fd: int, *args: object, **kwargs: object) -> object:
        verified.append(sha256_fd(out_fd)[0])
        return real_verify(sandbox, out_fd, *args, **kwargs)

    monkeypatch.setattr(cdr.flow, "verify_output", spy)
    verdict = _sanitize(strict, tmp_path, benign)
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert {"what": "ocr-text-layer", "action": "added", "count": 3} in verdict.actions
    assert verified == [verdict.output_sha256]


def test_text_mode(tmp_path: Path, benign: bytes, sandbox_pool: SandboxPool) -> None:
    policy_file = tmp_path / "text.yaml"
    policy_file.write_text("types:\n  pdf: text\n")
    places = _places(tmp_path)
    pipe = Pipeline(load_policy(policy_file), places, sandbox_pool)
    pipe.start()
    try:
        verdict = _sanitize(pipe, tmp_path, pdf_builders.js_everywhere(benign))
    finally:
        pipe.close()
    assert verdict.verdict == Outcome.RELEASED and verdict.output.endswith("report.txt")
    text = Path(verdict.output).read_text(encoding="utf-8")
    assert "ツキノワグマ" in text and "forest path" in text and "app.alert" not in text


def test_user_password_is_quarantined_then_unlocked(tmp_path: Path, benign: bytes) -> None:
    from tests.test_cli import quarantine_then_unlock

    encrypted = tmp_path / "in" / "secret.pdf"
    encrypted.parent.mkdir()
    with pikepdf.open(io.BytesIO(benign)) as pdf:
        pdf.save(encrypted, encryption=pikepdf.Encryption(user="kuma2024", owner="owner", R=6))
    quarantine_then_unlock(tmp_path, encrypted, "kuma2024", password_file=True)
    with pikepdf.open(tmp_path / "o" / "secret.pdf") as clean:
        assert not clean.is_encrypted and len(clean.pages) == 3


def test_owner_password_only_is_rebuilt_unencrypted(
    pipeline: Pipeline, tmp_path: Path, benign: bytes
) -> None:
    buffer = io.BytesIO()
    with pikepdf.open(io.BytesIO(benign)) as pdf:
        pdf.save(
            buffer,
            encryption=pikepdf.Encryption(user="", owner="boss", allow=pikepdf.Permissions(extract=False)),
        )
    verdict = _sanitize(pipeline, tmp_path, buffer.getvalue())
    assert verdict.verdict == Outcome.RELEASED
    with pikepdf.open(verdict.output) as clean:
        assert not clean.is_encrypted


def test_garbage_is_malformed(pipeline: Pipeline, tmp_path: Path) -> None:
    verdict = _sanitize(pipeline, tmp_path, b"%PDF-1.7\n" + b"\x00garbage" * 100)
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "malformed"


def test_scan_reports_without_changing(tmp_path: Path, benign: bytes) -> None:
    import json

    from tests.test_cli import cdr

    hostile = tmp_path / "invoice.pdf"
    hostile.write_bytes(pdf_builders.embedded_exe(pdf_builders.js_everywhere(benign)))
    before = hostile.read_bytes()
    run = cdr("scan", hostile, "--json")
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    kinds = {f["kind"] for f in report["findings"]}
    assert {"javascript", "open-action", "embedded-file", "javascript-names"} <= kinds
    assert report["details"]["pages"] == 3 and "invoice.exe" in str(report["details"]["embedded_files"])
    assert report["would"] == "rebuild" and hostile.read_bytes() == before


def test_pdf_image_bomb_for_the_viewer_is_refused(pipeline: Pipeline, tmp_path: Path) -> None:
    """A PDF whose image claims 60000×60000 pixels would exhaust the LGWAN-side viewer."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    image = pikepdf.Stream(
        pdf,
        b"\x00" * 10,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=60000,
        Height=60000,
        ColorSpace=pikepdf.Name.DeviceGray,
        BitsPerComponent=8,
    )
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
    data = io.BytesIO()
    pdf.save(data)
    verdict = _sanitize(pipeline, tmp_path, data.getvalue(), "bomb.pdf")
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "limit-exceeded"


@pytest.mark.parametrize(
    "header,payload",
    [
        ({"width": 10, "height": 10, "mode": "RGB", "dpi": 150, "zlib": 0}, b""),  # impossible length
        (
            {"width": 40000, "height": 40000, "mode": "RGB", "dpi": 150, "zlib": 10},
            b"x" * 10,
        ),  # too big a page
        ({"width": 10, "height": 10, "mode": "RGB", "dpi": 150}, b""),  # no length
    ],
)
def test_the_parent_checks_every_rendered_page(header: dict, payload: bytes) -> None:
    """What a (possibly compromised) renderer sends back is bounds-checked before use."""
    import json
    import zlib

    from cdr.converters.pixels import read_page
    from cdr.errors import VerificationFailed

    with pytest.raises(VerificationFailed):
        read_page(io.BytesIO(json.dumps(header).encode() + b"\n" + payload))
    bomb = zlib.compress(b"\0" * 10_000_000)  # inflates far beyond a 10×10 page
    bomb_header = {"width": 10, "height": 10, "mode": "RGB", "dpi": 150, "zlib": len(bomb)}
    with pytest.raises(VerificationFailed):
        read_page(io.BytesIO(json.dumps(bomb_header).encode() + b"\n" + bomb))


def test_a_filter_name_of_raw_bytes_is_malformed_not_a_crash(pipeline: Pipeline, tmp_path: Path) -> None:
    """A /Filter name that is not UTF-8 (bytes no reader knows as a filter) is a malformed
    PDF, said so in the reason — before, Python's UnicodeDecodeError reached the result."""
    document = pikepdf.new()
    document.add_blank_page()
    contents = pikepdf.Stream(document, b"q Q")
    contents["/Filter"] = pikepdf.Name("/Qqqq")
    document.pages[0]["/Contents"] = document.make_indirect(contents)
    buffer = io.BytesIO()
    document.save(buffer)
    hostile = buffer.getvalue().replace(b"/Filter /Qqqq", b"/Filter /\xe9\xff\xfe\xfd")
    assert b"/\xe9\xff\xfe\xfd" in hostile
    verdict = _sanitize(pipeline, tmp_path, hostile)
    assert (verdict.verdict, verdict.reason) == (Outcome.QUARANTINED, "malformed"), verdict
    assert "UnicodeDecodeError" not in (verdict.message or "")
