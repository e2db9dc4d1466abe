"""What issue 13's speed work on PDFs must not change: the quick reading of a drawing
(cdr/sanitizers/pdf_content.py and, on its own, cdr/verifiers/pdf_streams.py) takes a run of
kerned texts in one match and checks words by their shape, yet passes nothing the full
reading would remove; the input is read once, not pulled by qpdf a seek at a time; and the
sRGB profile that replaces a PDF's own is the same bytes on any day. The document the
zygote warms the PDF path with is rebuilt whole and verified (a failure there would stop
every sandbox from starting)."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
from pathlib import Path

import pikepdf
import pytest

from cdr.model import Action, FileType
from cdr.sanitizers.base import Context
from cdr.sanitizers.icc import srgb_profile
from cdr.sanitizers.pdf import PdfSanitizer
from cdr.sanitizers.pdf_content import _plainly_drawing
from cdr.sanitizers.pdf_warm import sample
from cdr.verifiers.pdf_streams import _only_annex_a
from tests.test_pdf_forms import POLICY, rebuild, verified
from tests.test_pdf_programs import _document, _operators, _removed, _saved
from tests.test_pdf_verifier import clean_document, kinds

KERNED = b"BT /F1 12 Tf 10 20 Td [(Ku)-250(ma)12.5<0102>3<03>-.5(n)]TJ <0405>Tj (a)Tj ET 0.5 w 1 0 0 RG 0 0 m 10 10 l S"


def test_a_kerned_run_of_texts_is_kept_byte_for_byte_and_passes_the_verifier() -> None:
    output, result = rebuild(_saved(_document(KERNED)))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert pdf.pages[0].obj.Contents.read_bytes() == KERNED
    assert not [kind for kind in _removed(result) if kind.startswith("drawing")]
    assert verified(output) == []


# Words that look like numbers or operators once their digits are all alike: the quick
# reading must send each to the full one, which removes it (qpdf reads each as an operator,
# or cannot read the drawing at all)
NOT_NUMBERS = [
    b"q 1 0 0 1 0 0 cm d7 Q",  # d0 and d1 are operators, d7 is not one
    b"q [(a)1-2(b)]TJ Q",  # a number with a sign inside is no number
    b"q (a)1.2.3(b)Tj Q",  # nor one with two points
    b"q <41>5x<42> Tj Q",  # a word between two texts that is not a number
]


@pytest.mark.parametrize("drawing", NOT_NUMBERS)
def test_a_word_only_shaped_like_a_number_is_read_in_full(drawing: bytes) -> None:
    output, result = rebuild(_saved(_document(drawing)))
    assert set(_operators(output)) <= {"q", "Q", "cm", "Tj", "TJ"}
    assert {"drawing-operator", "drawing-unreadable"} & set(_removed(result))  # the word, or all
    assert verified(output) == []
    planted = kinds(clean_document(lambda pdf: setattr(pdf.pages[0].obj, "Contents", pdf.make_stream(drawing))))
    assert planted == {"pdf-content-operator-not-allowed"}


# A word processor's tagged text: property lists of an MCID and texts, kept as written
TAGGED = (
    b"/Span <</Lang (ja-JP)/MCID 0>>BDC BT /F1 12 Tf (a\\)b) Tj ET EMC\n"
    b"/Span<</ActualText <FEFF718A> >> BDC EMC /P <</MCID 1 /Alt (\\(x\\))>> BDC 0 0 m EMC"
)


def test_tagged_text_takes_the_quick_reading_on_both_sides_and_is_kept_as_written() -> None:
    assert _plainly_drawing(TAGGED)
    output, result = rebuild(_saved(_document(TAGGED)))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert pdf.pages[0].obj.Contents.read_bytes() == TAGGED
        assert _only_annex_a(pdf.pages[0].obj.Contents)
    assert not [kind for kind in _removed(result) if kind.startswith(("drawing", "marked"))]
    assert verified(output) == []


# Property lists the full reading changes, or that are not what they look like on one line:
# the quick reading leaves each to it
NOT_AS_WRITTEN = [  # the drawing, what the rebuild removes, what the verifier finds in it as planted
    (
        b"/P <</MCID 0 /A <</S /JavaScript /JS (app.alert(1))>> >> BDC EMC",
        "marked-content-properties",
        {"pdf-content-operator-not-allowed"},
    ),
    (b"/Span <</ActualText (" + b"a" * 10_001 + b")>> BDC EMC", "marked-content-properties", set()),
    (b"q % a comment <</E\n(x)>> PS Q", None, {"pdf-content-operator-not-allowed"}),  # begun in a comment
]


@pytest.mark.parametrize(("drawing", "removed", "found"), NOT_AS_WRITTEN)
def test_a_property_list_the_full_reading_changes_is_left_to_it(
    drawing: bytes, removed: str | None, found: set[str]
) -> None:
    assert not _plainly_drawing(drawing)
    output, result = rebuild(_saved(_document(drawing)))
    assert "PS" not in _operators(output)
    if removed:
        assert _removed(result)[removed] == 1
    assert verified(output) == []
    planted = kinds(clean_document(lambda pdf: setattr(pdf.pages[0].obj, "Contents", pdf.make_stream(drawing))))
    assert planted == found


class CountingReader(io.BytesIO):
    """An input that counts how often it is read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.reads = 0

    def read(self, size: int | None = -1) -> bytes:
        self.reads += 1
        return super().read(size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        self.reads += 1
        return super().readinto(buffer)


def test_the_input_is_read_once_and_parsed_from_memory() -> None:
    pdf = _document(KERNED)
    for n in range(40):  # enough objects that qpdf would seek and read each one
        pdf.add_blank_page(page_size=(100 + n, 100))
    source = CountingReader(_saved(pdf))
    out = io.BytesIO()
    result = PdfSanitizer().sanitize(source, out, Context(FileType.PDF, Action.REBUILD, "a.pdf", POLICY))
    assert result.details["pages"] == 41
    assert source.reads <= 2  # the whole file once (and the end-of-file read), not per object
    assert verified(out.getvalue()) == []


def test_the_srgb_profile_that_replaces_another_is_dated_once_for_all() -> None:
    profile = srgb_profile()
    assert profile[24:36] == struct.pack(">6H", 2024, 1, 1, 0, 0, 0)  # not the clock's date
    assert profile[36:40] == b"acsp"


def test_the_warm_up_document_is_rebuilt_whole_and_verified() -> None:
    output, result = rebuild(sample())
    assert _removed(result) == {"icc-profile-standard": 1}  # the standard profile, written anew
    kept = {a.what: a.count for a in result.actions if a.action == "kept"}
    assert kept == {"form-fields": 1, "outline-items": 1, "page-labels": 1, "structure-elements": 1}
    assert verified(output) == []
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert [str(a.Subtype) for a in pdf.pages[0].obj.Annots] == ["/Link", "/Link", "/Text", "/Widget"]
        assert "INLINE IMAGE" in {str(i.operator) for i in pikepdf.parse_content_stream(pdf.pages[0])}


ROOT = Path(__file__).resolve().parent.parent
REBUILD_IN_A_FRESH_PROCESS = (
    "import io, sys\n"
    "from cdr.model import Action, FileType\n"
    "from cdr.policy import Policy\n"
    "from cdr.sanitizers.base import Context\n"
    "from cdr.sanitizers.pdf import PdfSanitizer\n"
    "out = io.BytesIO()\n"
    "ctx = Context(FileType.PDF, Action.REBUILD, 'a.pdf', Policy())\n"
    "PdfSanitizer().sanitize(io.BytesIO(sys.stdin.buffer.read()), out, ctx)\n"
    "sys.stdout.buffer.write(out.getvalue())\n"
)


def _form_with_fonts_and_a_check_box() -> bytes:
    """Four default-resource fonts and a check box with two appearance states: what the
    rebuild copies one by one, in an order that must not depend on the process."""
    pdf = _document(KERNED)
    page = pdf.pages[0].obj
    states = {
        name: pdf.make_stream(b"0 0 1 rg 0 0 10 10 re f", Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Form, BBox=[0, 0, 10, 10])
        for name in ("/On", "/Off", "/Ja", "/Nein")
    }
    box = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Btn, T=pikepdf.String("確認"),
            Rect=[10, 10, 20, 20], AS=pikepdf.Name.Off, AP=pikepdf.Dictionary(N=pikepdf.Dictionary(states)),
        )
    )
    page.Annots = pikepdf.Array([box])
    fonts = {
        name: pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=base))
        for name, base in (("/Helv", "/Helvetica"), ("/HeBo", "/Helvetica-Bold"), ("/ZaDb", "/ZapfDingbats"), ("/Cour", "/Courier"))
    }
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([box]), DR=pikepdf.Dictionary(Font=pikepdf.Dictionary(fonts)))
    return _saved(pdf)


def test_the_same_form_gives_the_same_bytes_whatever_the_process_hash_seed() -> None:
    document = _form_with_fonts_and_a_check_box()
    outputs = set()
    for seed in range(6):
        done = subprocess.run(
            [sys.executable, "-c", REBUILD_IN_A_FRESH_PROCESS],
            input=document,
            capture_output=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": str(seed), "PYTHONPATH": str(ROOT)},
            timeout=120,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert verified(outputs.pop()) == []
