"""Issue 13: the OOXML rebuild and its verifier no longer read every element's tag in Python.
lxml picks out, in C, only the elements a rule is about (``tags_to_find`` on the rebuild's
side, ``_tags_to_find`` on the verifier's): the tables' names spelt in every namespace the
part declares, whole namespaces outside the vocabularies and VML, elements in no namespace
and nodes that are not elements. These tests hold both queries to the per-element reading
they replaced, on every part of every package here, and give the spellings the queries must
catch to the whole rebuild and to the verifier alone: a namespace no table knows declared
deep in the part, an element in no namespace (also after ``xmlns=""``), a default namespace
no table knows, the strict URIs, an object inside ``mc:Fallback``, a choice requiring an
unknown namespace, a VML picture declared on a child, a prefixed attribute, a field in the
strict namespace, a comment, a processing instruction, a DOCTYPE. Each piece of each query
is shown to matter: left out, the comparison with the per-element reading fails. Every
namespace each side knows, not only those in the corpus, is spelt as its tags are judged.
"""

from __future__ import annotations

import io
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from lxml import etree

from cdr.errors import MalformedInput
from cdr.model import Action, FileType
from cdr.ooxml_attributes import NO_NAMESPACE, NOT_ELEMENTS, parse_declaring, tags_needing_a_look
from cdr.policy import load_policy
from cdr.sanitizers import ooxml_content
from cdr.sanitizers.base import Context
from cdr.sanitizers.ooxml import OoxmlSanitizer
from cdr.sanitizers.ooxml_content import PartCleaner
from cdr.sanitizers.ooxml_fields import SCANNED_TAGS
from cdr.sanitizers.ooxml_package import _HARDENED
from cdr.verifiers import VerifyContext, ooxml_xml, verify_structure
from cdr.verifiers.ooxml import _PARSER as VERIFIER_PARSER
from tests import office_builders as ob
from tests.conftest import ROOT

POLICY = load_policy(ROOT / "policies" / "default.yaml")
SCHEMES = ("https", "http", "mailto")
W_STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
VML = "urn:schemas-microsoft-com:vml"
PAYLOAD = "calc-payload"  # the text of everything hostile here: none of it may be released


def _field(prefix: str, declarations: str) -> str:
    return (
        f"<{prefix}:p{declarations}><{prefix}:r><{prefix}:fldChar {prefix}:fldCharType=\"begin\"/>"
        f'<{prefix}:instrText>DDEAUTO {PAYLOAD} "x"</{prefix}:instrText>'
        f'<{prefix}:fldChar {prefix}:fldCharType="end"/></{prefix}:r></{prefix}:p>'
    )


# name → (paragraphs added to a plain document's body, what the rebuild says it removed,
# what the verifier says when the same paragraphs are planted in a rebuilt package)
CASES: dict[str, tuple[str, str, str]] = {
    "unknown-namespace-declared-deep": (
        f'<w:p><w:r><ev:script xmlns:ev="urn:evil">{PAYLOAD}</ev:script><w:t>x</w:t></w:r></w:p>',
        "foreign-markup",
        "ooxml-namespace",
    ),
    "no-namespace": (f"<w:p><script>{PAYLOAD}</script></w:p>", "foreign-markup", "ooxml-namespace"),
    "default-undeclared": (
        f'<w:p xmlns=""><w:r><object>{PAYLOAD}</object></w:r></w:p>',
        "foreign-markup",
        "ooxml-namespace",
    ),
    "unknown-default-namespace": (
        f'<w:p><w:r><run xmlns="urn:evil"><t>{PAYLOAD}</t></run></w:r></w:p>',
        "foreign-markup",
        "ooxml-namespace",
    ),
    "strict-object": (
        f'<w:p><w:r><s:object xmlns:s="{W_STRICT}"><s:t>{PAYLOAD}</s:t></s:object></w:r></w:p>',
        "ole-embedding",
        "ooxml-active-element",
    ),
    "object-in-fallback": (
        f'<w:p><w:r><mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="w"><w:t>x</w:t></mc:Choice>'
        f"<mc:Fallback><w:object><w:t>{PAYLOAD}</w:t></w:object></mc:Fallback></mc:AlternateContent></w:r></w:p>",
        "ole-embedding",
        "ooxml-active-element",
    ),
    "choice-requiring-unknown": (
        f'<w:p><w:r><mc:AlternateContent xmlns:mc="{MC}" xmlns:ev="urn:evil"><mc:Choice Requires="ev">'
        f"<w:t>{PAYLOAD}</w:t></mc:Choice><mc:Fallback><w:t>x</w:t></mc:Fallback></mc:AlternateContent></w:r></w:p>",
        "foreign-markup",
        "",  # a kept choice names only known namespaces: nothing for the verifier to hold
    ),
    "vml-picture-declared-on-child": (
        f'<w:p><w:r><w:pict><v:shape xmlns:v="{VML}" id="s1"><v:imagedata src="https://{PAYLOAD}.example/p.png"/>'
        "</v:shape></w:pict></w:r></w:p>",
        "vml-link",
        "ooxml-vml-link",
    ),
    "prefixed-attribute": (
        f'<w:p xmlns:ev="urn:evil" ev:onload="{PAYLOAD}"><w:r><w:t>x</w:t></w:r></w:p>',
        "foreign-attribute",
        "ooxml-namespace",
    ),
    "strict-field": (_field("s", f' xmlns:s="{W_STRICT}"'), "dde-field", "ooxml-field"),
    "field-in-fallback": (
        f'<mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="w"><w:p><w:r><w:t>x</w:t></w:r></w:p>'
        f"</mc:Choice><mc:Fallback>{_field('w', '')}</mc:Fallback></mc:AlternateContent>",
        "dde-field",
        "ooxml-field",
    ),
}


def _with_body(xml: str) -> bytes:
    package = ob.Package(ob.docx_bytes())
    package.body_append(xml)
    return package.bytes()


def _rebuild(data: bytes) -> tuple[bytes, dict[str, int]]:
    out = io.BytesIO()
    result = OoxmlSanitizer().sanitize(io.BytesIO(data), out, Context(FileType.DOCX, Action.REBUILD, "t.docx", POLICY))
    return out.getvalue(), {a.what: a.count for a in result.actions if a.action == "removed"}


def _document(package: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return archive.read("word/document.xml").decode("utf-8")


@pytest.fixture(scope="module")
def clean_docx() -> bytes:
    return _rebuild(ob.docx_bytes())[0]


def _planted(clean: bytes, xml: str) -> bytes:
    package = ob.Package(clean)
    package.body_append(xml)
    return package.bytes()


# ---------------------------------------------------------------- the whole rebuild
@pytest.mark.parametrize("name", list(CASES))
def test_the_rebuild_removes_each_hostile_spelling_and_the_output_verifies(name: str) -> None:
    body, removed, _finding = CASES[name]
    output, actions = _rebuild(_with_body(body))
    assert actions.get(removed, 0) >= 1, actions
    document = _document(output)
    assert PAYLOAD not in document
    names = [str(n) for e in etree.fromstring(document.encode()).iter() for n in (e.tag, *e.attrib)]
    assert not [n for n in names if "urn:evil" in n]  # (an unused declaration may stay)
    assert verify_structure(FileType.DOCX, io.BytesIO(output), VerifyContext(POLICY, name)) == []


def test_a_part_with_a_doctype_is_refused_by_the_rebuild_and_named_by_the_verifier(clean_docx: bytes) -> None:
    with pytest.raises(MalformedInput, match="DTD"):
        _rebuild(ob.document_with_dtd())
    package = ob.Package(clean_docx)
    package.put("word/document.xml", package.text("word/document.xml").replace("?>", "?><!DOCTYPE w:document>", 1))
    found = verify_structure(FileType.DOCX, io.BytesIO(package.bytes()), VerifyContext(POLICY, "dtd"))
    assert [f.kind for f in found] == ["ooxml-dtd"]


# ---------------------------------------------------------------- the verifier alone
@pytest.mark.parametrize("name", [n for n, case in CASES.items() if case[2]])
def test_the_verifier_names_each_hostile_spelling_planted_after_the_rebuild(clean_docx: bytes, name: str) -> None:
    body, _removed, finding = CASES[name]
    found = verify_structure(FileType.DOCX, io.BytesIO(_planted(clean_docx, body)), VerifyContext(POLICY, name))
    assert finding in {f.kind for f in found}, found


@pytest.mark.parametrize(
    ("node", "named"),
    [("<!-- a comment -->", "Comment"), ("<?evil payload?>", "ProcessingInstruction")],
)
def test_the_verifier_names_a_comment_or_instruction_inside_a_part(clean_docx: bytes, node: str, named: str) -> None:
    found = verify_structure(
        FileType.DOCX, io.BytesIO(_planted(clean_docx, f"<w:p>{node}</w:p>")), VerifyContext(POLICY, "node")
    )
    assert [f.kind for f in found] == ["ooxml-namespace"]
    assert found[0].detail == f"word/document.xml: element {named}"  # no memory address: the same words every run


def test_a_comment_reaching_the_cleaner_is_removed() -> None:
    """The rebuild's parser drops comments; should a tree ever hold one, it still goes."""
    part = f'<w:document xmlns:w="{ob.W_NS}"><w:body><w:p><!-- {PAYLOAD} --></w:p></w:body></w:document>'
    root, declared = parse_declaring(part.encode())
    dropped: Counter[str] = Counter()
    PartCleaner({}, {}, SCHEMES, dropped).clean(root, declared)
    assert PAYLOAD not in etree.tostring(root, encoding="unicode") and dropped == {"foreign-markup": 1}


# ---------------------------------------------------------------- the queries vs the per-element reading
def _corpus_packages() -> Iterator[bytes]:
    for build in (
        ob.docx_bytes, ob.xlsx_bytes, ob.pptx_bytes, ob.rich_docx, ob.rich_xlsx, ob.rich_pptx, ob.docm_with_vba,
        ob.activex_control, ob.ddeauto_field, ob.altchunk, ob.hyperlinks, ob.excel4_macro_sheet,
        ob.external_workbook_link, ob.alternate_content_fallback_ole, ob.settings_with_mail_merge_and_variables,
        ob.formula_shared_dde_and_names, ob.strict_sheet_with_dde, ob.vml_linked_picture,
        ob.pptx_ole_verb_on_show_start, ob.xlsx_shape_macros, ob.nested_field_builds_dde,
    ):  # fmt: skip
        yield build()
    for body, _removed, _finding in CASES.values():
        yield _with_body(body)


# Parts no package carries: nodes that are not elements (kept by a parser that keeps
# comments), and a root in no namespace.
_SYNTHETIC = (
    f'<w:document xmlns:w="{ob.W_NS}"><w:body><!-- c --><?pi x?><w:p/></w:body></w:document>'.encode(),
    b"<xml><div><b>plain VML comment text</b><script/></div></xml>",
)


def _corpus(parser_options: dict[str, object]) -> list[tuple[etree._Element, frozenset[str]]]:
    parts = []
    for package in _corpus_packages():
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            bodies = [archive.read(n) for n in archive.namelist() if n.endswith((".xml", ".rels", ".vml"))]
        for body in bodies:
            parts.append(parse_declaring(body, **parser_options))
    keep_comments = {k: v for k, v in parser_options.items() if k not in ("remove_comments", "remove_pis")}
    parts += [parse_declaring(body, **keep_comments) for body in _SYNTHETIC]
    return parts


def _rebuild_mismatches(corpus: list[tuple[etree._Element, frozenset[str]]]) -> int:
    """Parts where the cleaner's query picks other elements than reading every element's tag
    would, or misses a tag the field and formula passes scan for."""
    mismatches = 0
    for root, declared in corpus:
        by_attribute = tags_needing_a_look(root, declared, ooxml_content._HARMLESS_ATTRIBUTES)

        def judged(element: etree._Element, by_attribute: set[str] = by_attribute) -> bool:
            return element.tag in by_attribute or ooxml_content._needs_a_look(element.tag)

        every = list(root.iter())
        found = list(root.iter(*ooxml_content.tags_to_find(declared), *by_attribute, *SCANNED_TAGS))
        slow = [e for e in every if judged(e)]
        fast = [e for e in found if judged(e)]
        scanned = {e.tag for e in every} & SCANNED_TAGS
        mismatches += fast != slow or {e.tag for e in found} & SCANNED_TAGS != scanned
    return mismatches


def _verifier_mismatches(corpus: list[tuple[etree._Element, frozenset[str]]]) -> int:
    """Parts where the verifier's query reaches other names than reading every element's tag
    would: each name with a finding or read one by one must be reached."""
    mismatches = 0
    for root, declared in corpus:
        slow = {tag for tag in {e.tag for e in root.iter()} if ooxml_xml._judged(tag)}  # type: ignore[arg-type]
        fast = {e.tag for e in root.iter(*ooxml_xml._tags_to_find(declared)) if ooxml_xml._judged(e.tag)}
        mismatches += fast != slow
    return mismatches


@pytest.fixture(scope="module")
def rebuild_corpus() -> list[tuple[etree._Element, frozenset[str]]]:
    return _corpus(_HARDENED)


@pytest.fixture(scope="module")
def verifier_corpus() -> list[tuple[etree._Element, frozenset[str]]]:
    return _corpus(VERIFIER_PARSER)


def test_the_rebuild_query_picks_exactly_what_reading_every_element_picks(rebuild_corpus: list) -> None:
    assert len(rebuild_corpus) > 300
    assert _rebuild_mismatches(rebuild_corpus) == 0


def test_the_verifier_query_reaches_exactly_what_reading_every_element_reaches(verifier_corpus: list) -> None:
    assert len(verifier_corpus) > 300
    assert _verifier_mismatches(verifier_corpus) == 0


# Each piece of a query, left out: the comparison above must then fail on this corpus.
_PIECES: dict[str, Callable[[object], bool]] = {
    "nodes that are not elements": lambda tag: tag in NOT_ELEMENTS,
    "elements in no namespace": lambda tag: tag == NO_NAMESPACE,
    "whole namespaces": lambda tag: isinstance(tag, str) and tag.endswith("}*") and tag != NO_NAMESPACE,
    "listed names": lambda tag: isinstance(tag, str) and not tag.endswith("*"),
}


def _without(query: Callable[[frozenset[str]], list[object]], piece: str) -> Callable[[frozenset[str]], list[object]]:
    return lambda declared: [tag for tag in query(declared) if not _PIECES[piece](tag)]


# side → the module, its query, the comparison, the corpus fixture
_SIDES = {
    "rebuild": (ooxml_content, "tags_to_find", _rebuild_mismatches, "rebuild_corpus"),
    "verifier": (ooxml_xml, "_tags_to_find", _verifier_mismatches, "verifier_corpus"),
}


@pytest.mark.parametrize("side", list(_SIDES))
@pytest.mark.parametrize("piece", list(_PIECES))
def test_every_piece_of_each_query_is_needed(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, side: str, piece: str
) -> None:
    module, query, mismatches, corpus = _SIDES[side]
    monkeypatch.setattr(module, query, _without(getattr(module, query), piece))
    assert mismatches(request.getfixturevalue(corpus)) > 0


# side → (its tag query per namespace, what it judges one tag by, every namespace it knows,
# every local name its tables list)
_TABLES = {
    "rebuild": (
        ooxml_content._spelt,
        ooxml_content._needs_a_look,
        ooxml_content.KNOWN_NAMESPACES,
        {name.rsplit(":", 1)[1] for name in ooxml_content._LOOKED_AT},
    ),
    "verifier": (
        ooxml_xml._spelt,
        ooxml_xml._judged,
        frozenset(ooxml_xml._NAMESPACES),
        {local for names in ooxml_xml._LISTED.values() for local in names},
    ),
}


@pytest.mark.parametrize("side", list(_TABLES))
def test_each_namespace_is_spelt_as_its_tags_are_judged(side: str) -> None:
    """Every namespace a side knows (and ones it does not), not only those in the corpus:
    a namespace is spelt whole exactly when an unlisted name in it is judged, and otherwise
    as exactly the listed names judged in it."""
    spelt, judged, known, listed = _TABLES[side]
    wholes = 0
    for namespace in sorted(known | {"urn:evil", "urn:schemas-microsoft-com:vml-not"}):
        candidates = {f"{{{namespace}}}{local}" for local in listed | {"p", "r", "t", "unlisted"}}
        if spelt(namespace) == (f"{{{namespace}}}*",):
            wholes += 1
            assert all(judged(tag) for tag in candidates), namespace
        else:
            assert set(spelt(namespace)) == {tag for tag in candidates if judged(tag)}, namespace
    assert wholes >= 7  # the unknown ones, VML's five (and, for the verifier, the drawing shapes)
