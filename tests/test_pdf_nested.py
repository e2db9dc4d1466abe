"""PDF: actions nested as direct dictionaries where a walk of only the page, annotation
and catalog keys never looks, and a flate bomb. Each planted action is gone from the
rebuild — checked by a pikepdf walk written for this test, not by the project's verifier
— while pages and text survive; the bomb is refused."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pikepdf
import pytest

from cdr.errors import LimitExceeded
from cdr.model import Action, FileType, SanitizeResult
from cdr.policy import Policy, load_policy
from cdr.sanitizers.base import Context
from cdr.sanitizers.pdf import PdfSanitizer
from cdr.verifiers import VerifyContext, verify_structure
from tests import pdf_builders
from tests.conftest import ROOT
from tests.test_pdf import benign, text_of  # noqa: F401  (benign is a fixture)

POLICY = load_policy(ROOT / "policies" / "default.yaml")
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def actions_left(data: bytes) -> list[str]:
    """Every action-bearing key or action type anywhere in the file, direct or indirect,
    except a link to a page or to a web/mail address (ISO 32000-1 12.6.4.2, 12.6.4.7)."""
    found: list[str] = []
    seen: set[tuple[int, int]] = set()

    def visit(obj: object, where: str, depth: int = 0) -> None:
        if depth > 60:
            return
        if isinstance(obj, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)) and obj.is_indirect:
            if obj.objgen in seen:
                return
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Stream):
            obj = obj.stream_dict
        if isinstance(obj, pikepdf.Array):
            for item in obj:
                visit(item, where, depth + 1)
            return
        if not isinstance(obj, pikepdf.Dictionary):
            return
        for key in obj.keys():
            if key in ("/AA", "/JS", "/OpenAction", "/JavaScript", "/Launch", "/EmbeddedFiles", "/EF"):
                found.append(f"{key} in {where}")
        if "/A" in obj:
            action = obj.get("/A")
            action_type = str(action.get("/S")) if isinstance(action, pikepdf.Dictionary) else ""
            uri = str(action.get("/URI", "")) if isinstance(action, pikepdf.Dictionary) else ""
            if action_type == "/URI" and uri.startswith(SAFE_SCHEMES):
                pass
            elif action_type == "/GoTo" and obj.get("/Subtype") == "/Link":
                pass
            else:
                found.append(f"/A {action_type} {uri[:40]} in {where}")
        for key in obj.keys():
            visit(obj.get(key), f"{where} {key}", depth + 1)

    with pikepdf.open(io.BytesIO(data)) as pdf:
        visit(pdf.trailer, "trailer")
        for obj in pdf.objects:
            visit(obj, f"object {obj.objgen}" if hasattr(obj, "objgen") else "object")
    return found


def rebuild(data: bytes, policy: Policy = POLICY) -> tuple[bytes, SanitizeResult]:
    out = io.BytesIO()
    result = PdfSanitizer().sanitize(
        io.BytesIO(data), out, Context(FileType.PDF, Action.REBUILD, "a.pdf", policy)
    )
    return out.getvalue(), result


@pytest.mark.parametrize("attack", sorted(pdf_builders.NESTED))
def test_nested_action_is_gone_after_the_rebuild(benign: bytes, attack: str) -> None:  # noqa: F811
    hostile = pdf_builders.NESTED[attack](benign)
    assert actions_left(hostile), f"{attack}: nothing was planted"
    output, result = rebuild(hostile)
    assert actions_left(output) == []
    assert text_of(output) == text_of(benign)
    assert verify_structure(FileType.PDF, io.BytesIO(output), VerifyContext(POLICY, "a.pdf")) == []
    assert any(a.action == "removed" for a in result.actions)


def test_escaped_action_type_is_javascript_to_a_reader(benign: bytes) -> None:  # noqa: F811
    with pikepdf.open(io.BytesIO(pdf_builders.uri_tricks(benign))) as pdf:
        kinds = [str(a.A.S) for a in pdf.pages[0].obj.Annots if "/A" in a]
    assert "/JavaScript" in kinds


def test_type3_font_is_kept_with_clean_glyph_resources(benign: bytes) -> None:  # noqa: F811
    output, _ = rebuild(pdf_builders.type3_glyph_action(benign))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        font = pdf.pages[0].obj.Resources.Font.T3
        assert font.Subtype == "/Type3" and "/square" in font.CharProcs
        form = font.Resources.XObject.X0
        assert form.Subtype == "/Form" and "/AA" not in form


def test_optional_content_and_graphics_state_keep_what_draws(benign: bytes) -> None:  # noqa: F811
    output, _ = rebuild(pdf_builders.js_in_properties(pdf_builders.js_in_extgstate(benign)))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        resources = pdf.pages[0].obj.Resources
        assert set(resources.Properties.MC0.keys()) == {"/Type", "/Name"}
        state = resources.ExtGState.GSevil
        assert set(state.keys()) == {"/Type", "/CA", "/SMask"}
        assert state.SMask.G.Subtype == "/Form" and "/AA" not in state.SMask.G


def test_markup_note_stays_and_its_popup_goes(benign: bytes) -> None:  # noqa: F811
    output, _ = rebuild(pdf_builders.popup_launch(benign))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        annots = pdf.pages[0].obj.Annots
        notes = [a for a in annots if a.Subtype == "/Text"]
        assert len(notes) == 1 and str(notes[0].Contents) == "確認してください"
        assert not [a for a in annots if a.Subtype == "/Popup"]
        assert dict(notes[0].BS.items()) == {"/W": 1}


def test_flate_bomb_in_a_content_stream_is_refused(benign: bytes) -> None:  # noqa: F811
    bomb = pdf_builders.flate_bomb(benign)
    assert len(bomb) < 2 * 2**20  # small on disk: 300 MiB once inflated
    with pytest.raises(LimitExceeded, match="decodes to over"):
        rebuild(bomb)


def test_decoded_total_per_document_is_bounded(benign: bytes) -> None:  # noqa: F811
    small = dataclasses.replace(POLICY, limits=dataclasses.replace(POLICY.limits, max_decoded_size=4096))
    with pytest.raises(LimitExceeded, match="in all"):
        rebuild(benign, small)
    rebuild(benign)  # the same document under the shipped limit is fine


# shared/ lies beside the checkout (DESIGN.md, bench/); CDR_BENCH_CORPUS names another
BENCH = Path(os.environ.get("CDR_BENCH_CORPUS", ROOT.parent / "shared" / "bench-corpus")) / "pdf"


@pytest.mark.skipif(not BENCH.is_dir(), reason="the bench corpus is not on this machine")
@pytest.mark.parametrize("path", sorted(BENCH.glob("pdfjs_issue*.pdf"))[:6], ids=lambda p: p.name)
def test_real_documents_rebuild_and_verify_clean(path: Path) -> None:
    output, _ = rebuild(path.read_bytes())
    assert verify_structure(FileType.PDF, io.BytesIO(output), VerifyContext(POLICY, path.name)) == []
    with pikepdf.open(path) as original, pikepdf.open(io.BytesIO(output)) as clean:
        assert len(clean.pages) == len(original.pages)


def test_flate_bomb_is_quarantined_by_the_pipeline(pipeline, tmp_path: Path, benign: bytes) -> None:  # noqa: ANN001, F811
    from cdr.model import Outcome

    source = tmp_path / "in" / "bomb.pdf"
    source.parent.mkdir()
    source.write_bytes(pdf_builders.flate_bomb(benign))
    verdict = pipeline.process(source, "bomb.pdf")
    assert verdict.verdict == Outcome.QUARANTINED and verdict.reason == "limit-exceeded"


def test_mask_and_group_types_are_names_from_the_specification(benign: bytes) -> None:  # noqa: F811
    """/S names a transparency group or a soft-mask type; one naming an action type goes."""

    def plant(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.Group = pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"), CS=pikepdf.Name.DeviceRGB
        )

    data = io.BytesIO()
    with pikepdf.open(io.BytesIO(benign)) as pdf:
        plant(pdf)
        pdf.save(data)
    output, _ = rebuild(data.getvalue())
    with pikepdf.open(io.BytesIO(output)) as clean:
        assert dict(clean.pages[0].obj.Group.items()) == {"/CS": pikepdf.Name.DeviceRGB}


def test_pattern_and_shading_are_kept_without_their_actions(benign: bytes) -> None:  # noqa: F811
    output, _ = rebuild(pdf_builders.js_in_pattern_and_shading(benign))
    with pikepdf.open(io.BytesIO(output)) as pdf:
        resources = pdf.pages[0].obj.Resources
        tile = resources.Pattern.P0
        assert tile.PatternType == 1 and tile.read_bytes() == b"0 0 5 5 re f /X0 Do"
        assert "/AA" not in tile.Resources.XObject.X0
        function = resources.Shading.Sh0.Function
        assert function.FunctionType == 2 and "/A" not in function


def test_mailto_link_keeps_only_harmless_headers(benign: bytes) -> None:  # noqa: F811
    """'Mailto: Me Your Secrets' (NDSS 2021): attach= makes some mail programs send a file."""
    with pikepdf.open(io.BytesIO(benign)) as pdf:
        page = pdf.pages[0]
        links = []
        for uri in ("mailto:soumu@town.example?attach=/etc/passwd", "mailto:soumu@town.example?subject=熊"):
            action = pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String(uri))
            links.append(
                pdf.make_indirect(
                    pikepdf.Dictionary(
                        Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 10, 10], A=action
                    )
                )
            )
        page.obj["/Annots"] = pikepdf.Array(links)
        buffer = io.BytesIO()
        pdf.save(buffer)
    output, _ = rebuild(buffer.getvalue())
    with pikepdf.open(io.BytesIO(output)) as pdf:
        uris = [str(a.A.URI) for a in pdf.pages[0].obj.get("/Annots", []) if "/A" in a]
    assert uris == ["mailto:soumu@town.example?subject=熊"]


def _font_files(data: bytes) -> list[bytes]:
    with pikepdf.open(io.BytesIO(data)) as pdf:
        return [
            obj.read_bytes()[:4]
            for obj in pdf.objects
            if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/FontDescriptor"
            for key in ("/FontFile", "/FontFile2", "/FontFile3")
            if key in obj
            for obj in [obj[key]]
        ]


def test_font_programs_must_be_fonts(benign: bytes) -> None:  # noqa: F811
    """A font engine parses FontFile2 as TrueType: bytes that are not one are left out."""
    clean, _ = rebuild(benign)
    real = _font_files(clean)
    assert real and all(head in (b"\x00\x01\x00\x00", b"true", b"OTTO", b"%!Fo", b"%!PS") for head in real)
    with pikepdf.open(io.BytesIO(benign)) as pdf:
        for obj in pdf.objects:
            if isinstance(obj, pikepdf.Dictionary) and "/FontFile2" in obj:
                obj.FontFile2.write(b"<script>not a font</script>" * 20)
        buffer = io.BytesIO()
        pdf.save(buffer)
    output, result = rebuild(buffer.getvalue())
    assert any(a.what == "font-file-2-not-its-format" for a in result.actions)
    assert len(_font_files(output)) == len(real) - 3  # the three TrueType programs went
    assert text_of(output) == text_of(clean)  # the text of every page is still there


@pytest.mark.parametrize(("components", "expected"), ((3, "/ICCBased"), (1, "/CalGray")))
def test_an_icc_profile_that_is_not_one_becomes_the_standard(
    benign: bytes, components: int, expected: str  # noqa: F811
) -> None:
    with pikepdf.open(io.BytesIO(benign)) as pdf:
        profile = pikepdf.Stream(pdf, b"MZ\x90\x00 not a profile" * 30)
        profile.N = components
        pdf.pages[0].Resources.ColorSpace = pikepdf.Dictionary(CSx=pikepdf.Array([pikepdf.Name.ICCBased, profile]))
        buffer = io.BytesIO()
        pdf.save(buffer)
    output, _ = rebuild(buffer.getvalue())
    with pikepdf.open(io.BytesIO(output)) as pdf:
        space = pdf.pages[0].Resources.ColorSpace.CSx
        assert str(space[0]) == expected
        if expected == "/ICCBased":
            assert space[1].read_bytes()[36:40] == b"acsp"


def test_a_damaged_inline_image_goes_and_the_page_stays(benign: bytes) -> None:  # noqa: F811
    """An inline image qpdf cannot read as one (keys run together, as in a fuzzed corpus file)
    is left out; the rest of the page is drawn and the document released, not refused."""
    damaged = b"q BI /ImageMask true /W5 1 /H071 /BPC 1 /F /CCF ID \x00\xff EI Q\n"
    with pikepdf.open(io.BytesIO(benign)) as pdf:
        page = pdf.pages[0]
        page.contents_add(pikepdf.Stream(pdf, damaged), prepend=False)
        buffer = io.BytesIO()
        pdf.save(buffer)
    output, result = rebuild(buffer.getvalue())
    with pikepdf.open(io.BytesIO(output)) as pdf:
        inline = [
            i for i in pikepdf.parse_content_stream(pdf.pages[0])
            if isinstance(i, pikepdf.ContentStreamInlineImage)
        ]
    assert inline == []
    assert any(a.what == "inline-image-not-its-format" for a in result.actions)
    assert text_of(output) == text_of(rebuild(benign)[0])


@pytest.mark.parametrize(("components", "expected", "rebuilds"), ((3, "/ICCBased", 1), (1, "/CalGray", 2)))
def test_a_profile_shared_by_pages_is_rebuilt_once_and_every_use_is_fixed(
    benign: bytes, components: int, expected: str, rebuilds: int  # noqa: F811
) -> None:
    with pikepdf.open(io.BytesIO(benign)) as pdf:
        pdf.add_blank_page()
        profile = pdf.make_indirect(pikepdf.Stream(pdf, b"not a profile" * 30))
        profile.N = components
        for page in pdf.pages[:2]:
            page.Resources = pikepdf.Dictionary(page.obj.get("/Resources", pikepdf.Dictionary()))
            page.Resources.ColorSpace = pikepdf.Dictionary(CSx=pikepdf.Array([pikepdf.Name.ICCBased, profile]))
        buffer = io.BytesIO()
        pdf.save(buffer)
    output, result = rebuild(buffer.getvalue())
    with pikepdf.open(io.BytesIO(output)) as pdf:
        assert [str(page.Resources.ColorSpace.CSx[0]) for page in pdf.pages[:2]] == [expected, expected]
    assert sum(a.count for a in result.actions if a.what.startswith("icc-profile-")) == rebuilds
