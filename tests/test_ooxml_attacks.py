"""Issue #8 §1, Office Open XML: hostile packages built from ECMA-376 go through
``cli.py sanitize`` as a subprocess, and each released output is read back with zipfile and
lxml — by namespace URI, never by prefix — to show the planted item gone and the benign
text, cell values and slides still there."""

from __future__ import annotations

import functools
import io
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import openpyxl
import pptx
import pytest
from lxml import etree

from tests import office_builders as ob
from tests.attacks import runner

ROOT = Path(__file__).resolve().parent.parent
W = ("http://schemas.openxmlformats.org/wordprocessingml/2006/main", "http://purl.oclc.org/ooxml/wordprocessingml/main")
S = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main", "http://purl.oclc.org/ooxml/spreadsheetml/main")
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
VML_O = "urn:schemas-microsoft-com:office:office"
SAFE_TARGETS = ("http://", "https://", "mailto:")


# ---------------------------------------------------------------- reading an output
def parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        return {name: package.read(name) for name in package.namelist()}


@functools.lru_cache(maxsize=4)  # the helpers below read one output several times over; nobody changes the trees
def xml_roots(data: bytes) -> dict[str, etree._Element]:
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=True)
    return {n: etree.fromstring(b, parser) for n, b in parts(data).items() if n.endswith((".xml", ".rels"))}


def elements(data: bytes, namespaces: tuple[str, ...] | str, local: str) -> list[etree._Element]:
    found = []
    for uri in (namespaces,) if isinstance(namespaces, str) else namespaces:
        for root in xml_roots(data).values():
            found += root.iter(f"{{{uri}}}{local}")
    return found


def instructions(data: bytes) -> str:
    """Every field instruction left anywhere, complex and simple, joined."""
    text = [e.text or "" for e in elements(data, W, "instrText")]
    text += [v for e in elements(data, W, "fldSimple") for k, v in e.attrib.items() if k.endswith("}instr")]
    return "|".join(text)


def word_text(data: bytes) -> str:
    return "".join(e.text or "" for e in elements(data, W, "t"))


def relationships(data: bytes) -> list[tuple[str, str, str]]:
    found = []
    for name, root in xml_roots(data).items():
        if name.endswith(".rels"):
            found += [(r.get("Type", ""), r.get("Target", ""), r.get("TargetMode", "")) for r in root]
    return found


def external_targets_safe(data: bytes) -> bool:
    return all(
        rel_type.endswith("/hyperlink") and target.startswith(SAFE_TARGETS)
        for rel_type, target, mode in relationships(data)
        if mode == "External"
    )


def cells(data: bytes) -> dict[str, tuple[str | None, str | None]]:
    """cell reference → (formula, cached value) of the first worksheet, any namespace."""
    out = {}
    root = xml_roots(data)["xl/worksheets/sheet1.xml"]
    for uri in S:
        for cell in root.iter(f"{{{uri}}}c"):
            formula, value = cell.find(f"{{{uri}}}f"), cell.find(f"{{{uri}}}v")
            out[cell.get("r")] = (
                None if formula is None else (formula.text or ""),
                None if value is None else value.text,
            )
    return out


# ---------------------------------------------------------------- checks per sample
def _word(*survivors: str, gone: tuple[str, ...] = ("DDE", "cmd.exe")) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        left = instructions(data)
        assert not any(word in left for word in gone), left
        text = word_text(data)
        for survivor in (ob.MARK, *survivors):
            assert survivor in text
        assert ob.DOC_TEXT[1] in "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)

    return check


def _two_fields(data: bytes) -> None:
    _word("dde result", "page ")(data)
    assert "PAGE" in instructions(data), "the harmless field beside the DDE one was lost"


def _no_template(data: bytes) -> None:
    _word()(data)
    assert elements(data, W, "attachedTemplate") == []
    assert not any(".dotm" in target for _t, target, _m in relationships(data))


def _no_part_like(*markers: str) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        _word()(data)
        for name, body in parts(data).items():
            assert not any(m in name.lower() for m in markers), name
            assert b"<script" not in body and b"<html" not in body, name
        content_types = parts(data)["[Content_Types].xml"].decode()
        assert not any(m in content_types.lower() for m in markers)
        for name, body in parts(data).items():
            if name.endswith(".png"):
                assert body.startswith(b"\x89PNG\r\n\x1a\n"), name

    return check


def _no_ole(*survivors: str) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        _word(*survivors)(data)
        assert elements(data, VML_O, "OLEObject") == [] and elements(data, W, "object") == []
        assert external_targets_safe(data)
        assert not any("embeddings/" in name or b"mhtml" in body for name, body in parts(data).items())

    return check


def _no_linked_picture(data: bytes) -> None:
    _word()(data)
    pictures = elements(data, "urn:schemas-microsoft-com:vml", "imagedata")
    assert pictures and all(not any(k.endswith(("href", "src")) for k in p.attrib) for p in pictures)


def _no_mail_merge(data: bytes) -> None:
    _word()(data)
    assert elements(data, W, "mailMerge") == [] and elements(data, W, "docVars") == []
    assert external_targets_safe(data)


def _sheet(expected: dict[str, str]) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        found = cells(data)
        for ref, value in expected.items():
            formula, cached = found[ref]
            assert formula is None, f"{ref} kept its formula {formula!r}"
            assert cached == value, (ref, cached)
        assert all("|" not in (f or "") and "WEBSERVICE" not in (f or "") for f, _v in found.values())
        assert found["B2"] == (None, "1200000") and found["B4"][0] == "SUM(B2:B3)"

    return check


def _user_defined(data: bytes) -> None:
    """A function Excel does not ship loses its formula (the cached value stays): the
    workbook is released, not quarantined for it; LAMBDA and its parameters stay."""
    found = cells(data)
    assert found["A9"] == (None, "120000") and found["B9"] == (None, "108000")
    assert found["C9"] == ("_xlfn.LAMBDA(_xlpm.x,_xlpm.x*2)(B2)", "2400000")


def _shared_and_names(data: bytes) -> None:
    _sheet({"A9": "1", "B9": "2", "C9": "3"})(data)
    assert [n for n in elements(data, S, "definedName") if n.get("name") == "pwn"] == []
    assert all("_xll." not in (f.text or "") for f in elements(data, S, "formula"))
    assert openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]["A2"].value == "電気柵"


def _shapes_without_macros(data: bytes) -> None:
    xdr = "http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"
    shapes = elements(data, xdr, "pic") + elements(data, xdr, "graphicFrame")
    assert len(shapes) == 2, "the picture and the chart must stay"
    assert all(s.get("macro") is None and s.get("textlink") is None for s in shapes)
    assert cells(data)["B2"] == (None, "1200000")


def _slides(allowed_action: str | None, no_command: bool = False) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        if no_command:
            assert elements(data, P, "cmd") == [], "an animation command survived"
        actions = [e.get("action") for e in elements(data, A, "hlinkClick")]
        assert actions == ([allowed_action] if allowed_action else []), actions
        assert external_targets_safe(data)
        deck = pptx.Presentation(io.BytesIO(data))
        texts = [s.text_frame.text for slide in deck.slides for s in slide.shapes if s.has_text_frame]
        assert texts == list(ob.SLIDE_TEXT)

    return check


PPT_PROGRAM = "file:///C:/Windows/System32/calc.exe"
SAMPLES: dict[str, tuple[Callable[[], bytes], str, Callable[[bytes], None] | None]] = {
    "dde-split-across-runs": (ob.dde_split_across_runs, "docx", _word("cached")),
    "two-fields-second-dde": (ob.two_fields_second_dde, "docx", _two_fields),
    "nested-field-builds-dde": (ob.nested_field_builds_dde, "docx", _word("outer result", gone=("QUOTE", "cmd"))),
    "field-across-paragraphs": (ob.field_across_paragraphs, "docx", _word("across result")),
    "includepicture-unc": (ob.includepicture_unc_simple, "docx", _word("picture result", gone=("INCLUDE", "evil"))),
    "hyperlink-field-file": (ob.hyperlink_field_to_file, "docx", _word("click me", gone=("file:", "calc"))),
    "prefix-bound-elsewhere": (ob.prefix_bound_elsewhere, "docx", _word("cached")),
    "field-character-references": (ob.field_with_character_references, "docx", _word("cached")),
    "template-as-hyperlink": (ob.attached_template_declared_as_hyperlink, "docx", _no_template),
    "svg-picture": (ob.svg_picture, "docx", _no_part_like("svg")),
    "emf-picture": (ob.emf_picture, "docx", _no_part_like("emf")),
    "png-holding-html": (ob.png_holding_html, "docx", _no_part_like("html")),
    "follina-external-ole": (ob.follina_external_ole, "docx", _no_ole()),
    "alternate-content-ole": (ob.alternate_content_fallback_ole, "docx", _no_ole("choice text")),
    "vml-linked-picture": (ob.vml_linked_picture, "docx", _no_linked_picture),
    "mail-merge-and-variables": (ob.settings_with_mail_merge_and_variables, "docx", _no_mail_merge),
    "doctype-entities": (ob.document_with_dtd, "docx", None),
    "formula-dde-char-ref": (ob.formula_dde_by_character_reference, "xlsx", _sheet({"A9": "7"})),
    "formula-external-book": (ob.formula_external_workbook, "xlsx", _sheet({"A9": "11", "B9": "22"})),
    "formula-webservice": (ob.formula_webservice, "xlsx", _sheet({"A9": "ws", "B9": "ws2"})),
    "formula-user-defined": (ob.formula_user_defined_functions, "xlsx", _user_defined),
    "formula-shared-dde-names": (ob.formula_shared_dde_and_names, "xlsx", _shared_and_names),
    "shape-macros": (ob.xlsx_shape_macros, "xlsx", _shapes_without_macros),
    "strict-sheet-dde": (ob.strict_sheet_with_dde, "xlsx", _sheet({"A9": "5"})),
    "ole-verb-on-show-start": (ob.pptx_ole_verb_on_show_start, "pptx", _slides(None, no_command=True)),
    "ppaction-program": (lambda: ob.pptx_action("ppaction://program", PPT_PROGRAM), "pptx", _slides(None)),
    "ppaction-macro": (lambda: ob.pptx_action("ppaction://macro?name=Evil", None), "pptx", _slides(None)),
    "ppaction-ole": (lambda: ob.pptx_action("ppaction://ole?verb=0", None), "pptx", _slides(None)),
    "ppaction-hlinkfile": (
        lambda: ob.pptx_action("ppaction://hlinkfile", "file://///evil.example/share/x.pptx"),
        "pptx",
        _slides(None),
    ),
    "ppaction-showjump-to-file": (
        lambda: ob.pptx_action("ppaction://hlinkshowjump?jump=file", "file:///C:/x.pptx"),
        "pptx",
        _slides(None),
    ),
}
# An in-presentation jump is not an attack; it must survive.
BENIGN_JUMP = "ppaction://hlinkshowjump?jump=nextslide"


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, bytes | None]]:
    """All samples through ``cli.py sanitize`` (two runs side by side); name → (result line, output bytes)."""
    inbox = tmp_path_factory.mktemp("ooxml-attacks")
    for name, (build, extension, _check) in SAMPLES.items():
        (inbox / f"{name}.{extension}").write_bytes(build())
    (inbox / "benign-jump.pptx").write_bytes(ob.pptx_action(BENIGN_JUMP, None))
    batch = runner.sanitize_side_by_side(inbox, sorted(path.name for path in inbox.iterdir()))
    assert batch.returncode in (0, 1), batch.stderr[-2000:]
    found = {}
    for name, result in batch.results.items():
        output = batch.output(name)
        found[name.rsplit(".", 1)[0]] = (result, output.read_bytes() if output else None)
    return found


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_active_part_is_gone_and_content_stays(results: dict, sample: str) -> None:
    result, output = results[sample]
    check = SAMPLES[sample][2]
    if check is None:
        assert result["verdict"] == "quarantined", result
        return
    assert result["verdict"] == "released", result
    assert output is not None
    check(output)
    assert any(a["action"] == "removed" for a in result["actions"]), result["actions"]


def test_jump_inside_the_presentation_survives(results: dict) -> None:
    result, output = results["benign-jump"]
    assert result["verdict"] == "released", result
    _slides(BENIGN_JUMP)(output)


def test_every_planted_item_was_there() -> None:
    """The samples are hostile before the rebuild (so a passing test means something)."""
    planted = {
        "dde-split-across-runs": lambda d: "DD" in instructions(d),
        "prefix-bound-elsewhere": lambda d: "DDEAUTO" in instructions(d),
        "field-character-references": lambda d: "DDE " in instructions(d),
        "template-as-hyperlink": lambda d: elements(d, W, "attachedTemplate") != [],
        "formula-dde-char-ref": lambda d: "|" in (cells(d)["A9"][0] or ""),
        "strict-sheet-dde": lambda d: "|" in (cells(d)["A9"][0] or ""),
        "ppaction-macro": lambda d: elements(d, A, "hlinkClick") != [],
        "emf-picture": lambda d: any(n.endswith(".emf") for n in parts(d)),
        "ole-verb-on-show-start": lambda d: elements(d, P, "cmd") != [],
        "shape-macros": lambda d: b"Auto_Open" in parts(d)["xl/drawings/drawing1.xml"],
    }
    for sample, is_planted in planted.items():
        assert is_planted(SAMPLES[sample][0]()), sample


def test_metafile_policy_has_one_value(tmp_path: Path) -> None:
    """EMF/WMF are dropped; a policy asking to keep them is refused with the allowed value."""
    policy = tmp_path / "keep.yaml"
    policy.write_text("office:\n  metafiles: keep\n")
    run = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "policy", "check", policy],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert run.returncode == 2 and "office.metafiles" in run.stderr and "drop" in run.stderr
