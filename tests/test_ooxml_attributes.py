"""Issue 13: the OOXML rebuild and verifier read an element's attributes only when the part
declares a namespace that needs a look (a relationship reference, an unknown vocabulary),
found by libxml2 from the declarations met while parsing. These tests hold them to what the
per-element reading did: a namespace declared deep inside a part, not on its root, is still
judged on both sides; attributes in the vocabularies (w:val, xml:space) are left alone; a
root element whose start tag runs past the first kilobyte is still named."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

from lxml import etree

from cdr.model import Action, FileType
from cdr.ooxml_attributes import XML_NS, parse_declaring, tags_needing_a_look
from cdr.policy import load_policy
from cdr.sanitizers.base import Context
from cdr.sanitizers.ooxml import OoxmlSanitizer
from cdr.sanitizers.ooxml_package import root_tag
from cdr.verifiers import VerifyContext, verify_structure
from cdr.verifiers.ooxml_xml import check_part
from tests import office_builders as ob
from tests.conftest import ROOT

POLICY = load_policy(ROOT / "policies" / "default.yaml")
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# Both namespaces are declared on the paragraph, not on the document's root.
DEEP = (
    f'<w:p xmlns:evil="urn:evil" xmlns:rr="{R}">'
    '<w:r evil:onload="calc.exe"><w:t>the text stays</w:t></w:r>'
    '<w:hyperlink rr:id="rIdNowhere"><w:r><w:t>the words stay</w:t></w:r></w:hyperlink>'
    "</w:p>"
)


def test_the_declarations_are_every_one_in_the_part_and_the_tags_those_holding_a_judged_attribute() -> None:
    part = (
        f'<w:document xmlns:w="{W}" xmlns:r="{R}"><w:body>'
        '<w:p w:rsidR="00A1"><w:r><w:t xml:space="preserve"> a </w:t></w:r></w:p>'
        '<w:hyperlink r:id="rId1"/>'
        '<w:x xmlns:q="urn:q" q:a="1"/><w:y xmlns:z="urn:z"/>'
        "</w:body></w:document>"
    ).encode()
    root, declared = parse_declaring(part)
    assert declared == {W, R, "urn:q", "urn:z", XML_NS}
    harmless = frozenset({W, XML_NS})
    assert tags_needing_a_look(root, declared, harmless) == {f"{{{W}}}hyperlink", f"{{{W}}}x"}
    assert tags_needing_a_look(root, declared, harmless | {R, "urn:q", "urn:z"}) == set()


def test_the_rebuild_judges_attributes_in_namespaces_declared_deep_in_the_part() -> None:
    package = ob.Package(ob.docx_bytes())
    package.body_append(DEEP)
    out = io.BytesIO()
    ctx = Context(FileType.DOCX, Action.REBUILD, "deep.docx", POLICY)
    result = OoxmlSanitizer().sanitize(io.BytesIO(package.bytes()), out, ctx)
    removed = {a.what: a.count for a in result.actions if a.action == "removed"}
    assert removed["foreign-attribute"] == 1
    assert removed["reference"] == 1
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as rebuilt:
        document = rebuilt.read("word/document.xml").decode("utf-8")
    assert "onload" not in document and "calc.exe" not in document  # (the unused declaration stays)
    assert "rIdNowhere" not in document and "hyperlink" not in document
    assert "the text stays" in document and "the words stay" in document
    assert verify_structure(FileType.DOCX, io.BytesIO(out.getvalue()), VerifyContext(POLICY, "deep.docx")) == []


def test_the_verifier_judges_attributes_in_namespaces_declared_deep_in_the_part() -> None:
    part = f'<w:document xmlns:w="{W}"><w:body>{DEEP}</w:body></w:document>'.encode()
    found = check_part(*parse_declaring(part), {}, ("https", "http", "mailto"))
    assert ("ooxml-namespace", "attribute {urn:evil}onload") in found
    assert (
        "ooxml-reference",
        "w:hyperlink id=rIdNowhere: names no relationship of this part",
    ) in found
    assert len(found) == 2


def test_a_root_start_tag_past_the_first_kilobyte_is_still_named() -> None:
    declarations = " ".join(f'xmlns:n{i}="urn:example:namespace:{i:04}"' for i in range(100))
    head = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W}" {declarations}>'
    assert len(head) > 3000
    assert root_tag(head.encode() + b"<w:body/>" * 2000) == f"{{{W}}}document"
    assert root_tag(head.encode()[:2000]) is None  # cut inside the start tag: the full parse decides
    assert root_tag(b'<x:unknown xmlns:x="urn:x">') == "{urn:x}unknown"
    assert etree.QName(root_tag(b"<plain/>") or "").localname == "plain"


def _cleaned(body: str) -> tuple[str, Counter[str], frozenset[str] | None]:
    from cdr.sanitizers.ooxml_content import PartCleaner
    from cdr.sanitizers.ooxml_package import Relationship, parse_part_declaring

    part = f'<w:document xmlns:w="{W}" xmlns:r="{R}" xmlns:v="urn:schemas-microsoft-com:vml"><w:body>{body}</w:body></w:document>'
    root, declared = parse_part_declaring(part.encode(), "word/document.xml")
    dropped: Counter[str] = Counter()
    cleaner = PartCleaner({"rIdImg": Relationship("rIdImg", f"{R}/image", "media/image1.png", False)},
                          {"rIdImg": "image"}, ("https", "http", "mailto"), dropped)
    walks: list[frozenset[str] | None] = []
    walk = cleaner._walk
    cleaner._walk = lambda root, declared: walks.append(walk(root, declared)) or walks[-1]  # type: ignore[method-assign]
    cleaner.clean(root, declared)
    return etree.tostring(root, encoding="unicode"), dropped, walks[0]


DDE = (
    '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDEAUTO cmd "/c calc"</w:instrText></w:r>'
    '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
)
OBJECT = (
    '<w:p><w:r><w:object><v:shape id="o1"><v:imagedata r:id="rIdImg"/></v:shape></w:object></w:r></w:p>'
)


def test_the_field_and_formula_passes_skip_only_tags_the_part_never_had() -> None:
    text, dropped, present = _cleaned(DDE)
    assert present is not None and f"{{{W}}}instrText" in present and f"{{{W}}}fldSimple" not in present
    assert "DDEAUTO" not in text and sum(dropped.values()) == 1
    # An object's drawn picture adds elements: the passes then scan the whole part, and the
    # field beside it is still judged.
    text, dropped, present = _cleaned(OBJECT + DDE)
    assert present is None
    assert "<w:pict>" in text and "DDEAUTO" not in text
