"""Verification of one parsed OOXML part: vocabularies, references, actions, fields, formulas.

Elements and attributes are named by namespace URI and local name (the prefix written in
the file is never consulted); lxml has resolved character references before any value is
read here.
"""

from __future__ import annotations

import re

from lxml import etree

from cdr.ooxml_attributes import tags_needing_a_look, tags_to_find
from cdr.verifiers.ooxml import type_uris
from cdr.verifiers.ooxml_grammar import field_problem, formula_problem

_X = "http://schemas.openxmlformats.org/"
_P = "http://purl.oclc.org/ooxml/"
_M = "http://schemas.microsoft.com/office/"
# namespace → vocabulary short name: the ECMA-376 transitional and strict schemas, Dublin
# Core for properties, VML, markup compatibility and Office's own extension vocabularies.
_NAMESPACES: dict[str, str] = {
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://purl.org/dc/dcmitype/": "dcmitype",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/XML/1998/namespace": "xml",
    "urn:schemas-microsoft-com:vml": "v",
    "urn:schemas-microsoft-com:office:office": "o",
    "urn:schemas-microsoft-com:office:word": "w10",
    "urn:schemas-microsoft-com:office:excel": "x",
    "urn:schemas-microsoft-com:office:powerpoint": "pvml",
    _X + "markup-compatibility/2006": "mc",
    _X + "package/2006/metadata/core-properties": "cp",
    _M + "excel/2006/main": "xm",
}
for _short, _transitional, _strict in (
    ("w", "wordprocessingml/2006/main", "wordprocessingml/main"),
    ("s", "spreadsheetml/2006/main", "spreadsheetml/main"),
    ("p", "presentationml/2006/main", "presentationml/main"),
    ("a", "drawingml/2006/main", "drawingml/main"),
    ("c", "drawingml/2006/chart", "drawingml/chart"),
    ("cdr", "drawingml/2006/chartDrawing", "drawingml/chartDrawing"),
    ("dgm", "drawingml/2006/diagram", "drawingml/diagram"),
    ("pic", "drawingml/2006/picture", "drawingml/picture"),
    ("wp", "drawingml/2006/wordprocessingDrawing", "drawingml/wordprocessingDrawing"),
    ("xdr", "drawingml/2006/spreadsheetDrawing", "drawingml/spreadsheetDrawing"),
    ("lc", "drawingml/2006/lockedCanvas", "drawingml/lockedCanvas"),
    ("comp", "drawingml/2006/compatibility", "drawingml/compatibility"),
    ("r", "officeDocument/2006/relationships", "officeDocument/relationships"),
    ("m", "officeDocument/2006/math", "officeDocument/math"),
    ("ep", "officeDocument/2006/extended-properties", "officeDocument/extendedProperties"),
    ("op", "officeDocument/2006/custom-properties", "officeDocument/customProperties"),
    ("vt", "officeDocument/2006/docPropsVTypes", "officeDocument/docPropsVTypes"),
    ("st", "officeDocument/2006/sharedTypes", "officeDocument/sharedTypes"),
    ("b", "officeDocument/2006/bibliography", "officeDocument/bibliography"),
):
    _NAMESPACES[_X + _transitional] = _short
    _NAMESPACES[_P + _strict] = _short
# Office 2010+ extension vocabularies: formatting, ids, revisions, newer chart and slide kinds.
for _path in (
    "word/2010/wordml word/2012/wordml word/2015/wordml/symex word/2016/wordml/cid word/2018/wordml "
    "word/2018/wordml/cex word/2020/wordml/sdtdatahash word/2023/wordml/word16du "
    "word/2024/wordml/sdtformatlock word/2010/wordprocessingShape word/2010/wordprocessingGroup "
    "word/2010/wordprocessingCanvas word/2010/wordprocessingInk word/2010/wordprocessingDrawing "
    "drawing/2010/main drawing/2014/main drawing/2016/11/main drawing/2017/decorative "
    "drawing/2007/8/2/chart drawing/2012/chart drawing/2014/chart drawing/2014/chartex drawing/2008/diagram "
    "drawing/2010/diagram drawing/2010/slicer drawing/2012/timeslicer drawing/2013/main/command "
    "drawing/2018/hyperlinkcolor drawing/2018/sketchyshapes drawing/2016/5/10/chartex "
    "drawing/2016/5/11/chartex drawing/2016/5/12/chartex drawing/2016/5/13/chartex drawing/2016/5/14/chartex "
    "drawing/2021/livefeed drawing/2020/mipLabelMetadata spreadsheetml/2009/9/main spreadsheetml/2009/9/ac "
    "spreadsheetml/2010/11/main spreadsheetml/2010/11/ac spreadsheetml/2014/revision "
    "spreadsheetml/2015/revision2 spreadsheetml/2016/revision3 spreadsheetml/2016/revision5 "
    "spreadsheetml/2016/revision6 spreadsheetml/2016/revision9 spreadsheetml/2016/revision10 "
    "spreadsheetml/2016/revision16 spreadsheetml/2017/richdata spreadsheetml/2017/richdata2 "
    "spreadsheetml/2018/threadedcomments spreadsheetml/2014/11/main spreadsheetml/2018/calcfeatures "
    "mac/excel/2008/main powerpoint/2010/main powerpoint/2012/main powerpoint/2015/09/main "
    "powerpoint/2015/10/main powerpoint/2016/sectionzoom powerpoint/2016/summaryzoom powerpoint/2017/3/main "
    "powerpoint/2017/10/main powerpoint/2018/4/main powerpoint/2018/8/main powerpoint/2019/9/main "
    "powerpoint/2019/12/main powerpoint/2020/02/main powerpoint/2021/06/main powerpoint/2022/03/main "
    "powerpoint/2013/main/command powerpoint/2018/6/main thememl/2012/main "
    "drawing/2012/chartStyle drawing/2016/ink drawing/2015/06/chart drawing/2017/03/chart drawing/2016/11/diagram drawing/2016/12/diagram spreadsheetml/2017/revision16 spreadsheetml/2015/02/main spreadsheetml/2017/dynamicarray spreadsheetml/2011/1/ac spreadsheetml/2016/01/main"
).split():
    _NAMESPACES[_M + _path] = "ext"

# Elements that only ever hold or point at something active: never in a released part.
_CONTAINERS = frozenset(
    {
        ("w", "attachedTemplate"), ("w", "subDoc"), ("w", "frameset"), ("w", "altChunk"), ("w", "object"),
        ("w", "control"), ("w", "docVars"), ("w", "mailMerge"), ("w", "entryMacro"), ("w", "exitMacro"),
        ("w", "saveThroughXslt"), ("w", "embedRegular"), ("w", "embedBold"), ("w", "embedItalic"),
        ("w", "embedBoldItalic"), ("o", "OLEObject"), ("s", "externalReferences"), ("s", "oleObjects"),
        ("s", "controls"), ("s", "webPublishObjects"), ("p", "oleObj"), ("p", "control"),
        ("p", "embeddedFontLst"), ("x", "FmlaMacro"), ("w", "fldData"), ("p", "cmd"), ("ep", "HyperlinkBase"), ("c", "externalData"), ("a", "videoFile"),
        ("a", "audioFile"), ("a", "quickTimeFile"), ("a", "wavAudioFile"), ("a", "snd"),
    }
)  # fmt: skip
_LINK_ELEMENTS = frozenset({("w", "hyperlink"), ("s", "hyperlink"), ("a", "hlinkClick"), ("a", "hlinkHover"),
                            ("a", "hlinkMouseOver")})
_ACTION_ELEMENTS = frozenset({("a", "hlinkClick"), ("a", "hlinkHover"), ("a", "hlinkMouseOver")})
_IN_SHOW = re.compile(
    r"ppaction://(hlinkshowjump\?jump=(firstslide|lastslide|nextslide|previousslide|lastslideviewed|endshow)"
    r"|hlinksldjump|noaction|customshow\?id=[0-9]+(&return=(true|false))?)",
    re.I,
)


def _uris(*names: str) -> frozenset[str]:
    return frozenset(uri for name in names for uri in type_uris(name))


# element → the relationship types its r:* attributes may name
_REFERENCES: dict[tuple[str, str], frozenset[str]] = {
    ("w", "hyperlink"): _uris("hyperlink"),
    ("s", "hyperlink"): _uris("hyperlink"),
    ("a", "hlinkClick"): _uris("hyperlink", "slide"),
    ("a", "hlinkHover"): _uris("hyperlink", "slide"),
    ("a", "hlinkMouseOver"): _uris("hyperlink", "slide"),
    ("w", "headerReference"): _uris("header"),
    ("w", "footerReference"): _uris("footer"),
    ("a", "blip"): _uris("image"),
    ("v", "imagedata"): _uris("image"),
    ("v", "fill"): _uris("image"),
    ("c", "chart"): _uris("chart"),
    ("c", "userShapes"): _uris("chartUserShapes"),
    ("dgm", "relIds"): _uris("diagramData", "diagramLayout", "diagramQuickStyle", "diagramColors"),
    ("s", "sheet"): _uris("worksheet", "chartsheet"),
    ("s", "drawing"): _uris("drawing"),
    ("s", "legacyDrawing"): _uris("vmlDrawing"),
    ("s", "legacyDrawingHF"): _uris("vmlDrawing"),
    ("s", "picture"): _uris("image"),
    ("s", "tablePart"): _uris("table"),
    ("s", "pivotCache"): _uris("pivotCacheDefinition"),
    ("s", "pivotCacheDefinition"): _uris("pivotCacheRecords"),
    ("p", "sldId"): _uris("slide"),
    ("p", "sld"): _uris("slide"),
    ("p", "sldMasterId"): _uris("slideMaster"),
    ("p", "sldLayoutId"): _uris("slideLayout"),
    ("p", "notesMasterId"): _uris("notesMaster"),
    ("p", "handoutMasterId"): _uris("handoutMaster"),
    ("p", "tags"): _uris("tags"),
    ("s", "pageSetup"): _uris("printerSettings"),  # a printer's binary settings: never released
}
_FORMULA_TEXT = frozenset(
    {("s", "f"), ("s", "formula"), ("s", "formula1"), ("s", "formula2"), ("xm", "f"), ("c", "f"),
     ("s", "definedName"), ("s", "calculatedColumnFormula"), ("s", "totalsRowFormula"), ("x", "FmlaLink"),
     ("x", "FmlaRange"), ("x", "FmlaTxbx"), ("x", "FmlaGroup"), ("x", "FmlaPict")}
)  # fmt: skip
_VML = frozenset({"v", "o", "w10", "x", "pvml"})
_READ_ALL = _VML | {"xdr", "cdr"}  # vocabularies whose plain attributes can link out or run a macro
_READ_ONE = frozenset({("w", "fldSimple"), ("ext", "cameraTool")})
_VML_PICTURES = frozenset({("v", "imagedata"), ("v", "fill"), ("v", "stroke"), ("v", "image")})  # never load
_AUTO_RUN = re.compile(r"(_xlnm\.)?auto_(open|close|activate|deactivate)", re.I)
Rels = dict[str, tuple[str, str, bool]]


# VML drawings wrap themselves in <xml> and format comment text with a few HTML-like
# elements in no namespace.
_PLAIN = frozenset({"xml", "div", "font", "br", "p", "span", "b", "i", "u"})


# An element read only for its attributes can be refused only for one naming a relationship
# or in an unknown namespace (_attributes); the element-based rules have their tags read
# whole (_vocabulary).
_HARMLESS_ATTRIBUTES = frozenset(ns for ns, short in _NAMESPACES.items() if short != "r")

_SPLIT_CACHE: dict[str, tuple[str | None, str]] = {}
# The parts of complex fields (_complex_instructions), in every WordprocessingML namespace.
_FIELD_TAGS = frozenset(
    f"{{{ns}}}{local}"
    for ns, short in _NAMESPACES.items()
    if short == "w"
    for local in ("fldChar", "instrText", "delInstrText")
)


def _split(name: str) -> tuple[str | None, str]:
    """(vocabulary, local name); "" for no namespace, None for an unknown one."""
    found = _SPLIT_CACHE.get(name)
    if found is not None:
        return found
    if not name.startswith("{"):
        found = ("", name)
    else:
        namespace, local = name[1:].split("}", 1)
        found = (_NAMESPACES.get(namespace), local)
    if len(_SPLIT_CACHE) < 8192:
        _SPLIT_CACHE[name] = found
    return found


def check_part(
    root: etree._Element, declared: frozenset[str], rels: Rels, schemes: tuple[str, ...]
) -> list[tuple[str, str]]:
    """Findings for one part; ``declared``: every namespace the part declares.

    Only the elements a rule is about are visited: lxml picks them out in C in one pass,
    by tag (``_tags_to_find``) and by the tags holding an attribute naming a relationship
    or in an unknown namespace; the rest of a document or a big sheet never reaches Python.
    Each name is judged once (``_name_findings``), its elements read one by one when a
    rule reads them."""
    by_attribute = tags_needing_a_look(root, declared, _HARMLESS_ATTRIBUTES)
    named: list[tuple[str, str]] = []  # one per name outside the vocabularies or on _CONTAINERS
    found: list[tuple[str, str]] = []
    read: dict[object, bool] = {}  # tag → its elements are read one by one
    fields = False
    for element in root.iter(*_tags_to_find(declared), *by_attribute, *_FIELD_TAGS):
        tag = element.tag
        if tag not in read:
            read[tag] = _name_findings(tag, named) or tag in by_attribute
            fields = fields or tag in _FIELD_TAGS
        if not read[tag]:
            continue
        key = _split(tag)
        if element.attrib:
            found += _attributes(element, key, rels, schemes)
        if key in _FORMULA_TEXT:
            problem = formula_problem(element.text or "") or _name_problem(element, key)
            if problem:
                found.append(("ooxml-formula", f"{key[1]}: {problem}"))
        elif key == ("w", "fldSimple"):
            problem = field_problem(_w_value(element, "instr"), schemes)
            if problem:
                found.append(("ooxml-field", problem))
    for instruction in _complex_instructions(root) if fields else ():
        problem = field_problem(instruction, schemes)
        if problem:
            found.append(("ooxml-field", problem))
    return named + found


def _name_findings(tag: object, found: list[tuple[str, str]]) -> bool:
    """Findings for an element name outside the vocabularies or on ``_CONTAINERS``; True
    when the name's elements must be read one by one (formulas, fields, actions, VML)."""
    vocabulary, local = _split(tag) if isinstance(tag, str) else (None, "?")
    if not vocabulary and not (vocabulary == "" and local in _PLAIN):
        # a comment's or processing instruction's "tag" is a function: named, not its address
        shown = str(tag)[:120] if isinstance(tag, str) else getattr(tag, "__name__", "node")
        found.append(("ooxml-namespace", f"element {shown}"))
        return False
    key = (vocabulary, local)
    if key in _CONTAINERS:
        found.append(("ooxml-active-element", f"{vocabulary}:{local}"))
    return key in _FORMULA_TEXT or key in _ACTION_ELEMENTS or key in _READ_ONE or vocabulary in _READ_ALL


# A local name no table lists (no element can have it): whether it is judged says whether
# every element of a namespace is.
_UNLISTED = "\x00"
# vocabulary → the local names the tables list in it
_LISTED: dict[str | None, list[str]] = {}
for _vocabulary, _local in sorted(_CONTAINERS | _FORMULA_TEXT | _ACTION_ELEMENTS | _READ_ONE):
    _LISTED.setdefault(_vocabulary, []).append(_local)


def _judged(tag: str) -> bool:
    """Whether ``_name_findings`` has anything to say about ``tag``: a finding or a read."""
    findings: list[tuple[str, str]] = []
    return _name_findings(tag, findings) or bool(findings)


def _judged_in(namespace: str) -> tuple[str, ...]:
    """The tags in ``namespace`` that ``_judged`` says yes to, for ``root.iter``: the whole
    namespace (``{ns}*``) when even an unlisted name is (an unknown namespace, VML, drawing
    shapes), otherwise the listed names spelt in it."""
    if _judged(f"{{{namespace}}}{_UNLISTED}"):
        return (f"{{{namespace}}}*",)
    tags = (f"{{{namespace}}}{local}" for local in _LISTED.get(_NAMESPACES.get(namespace), ()))
    return tuple(tag for tag in tags if _judged(tag))


# Made once, at import (in the zygote): a child's first part then spells nothing.
_JUDGED_BY_NAMESPACE = {namespace: _judged_in(namespace) for namespace in _NAMESPACES}


def _spelt(namespace: str) -> tuple[str, ...]:
    found = _JUDGED_BY_NAMESPACE.get(namespace)
    return _judged_in(namespace) if found is None else found


def _tags_to_find(declared: frozenset[str]) -> list[object]:
    """Everything ``root.iter`` must yield for ``_name_findings`` to see each name it judges,
    in a part declaring ``declared``."""
    return tags_to_find(declared, _spelt)


def _attributes(element: etree._Element, key: tuple[str, str], rels: Rels,
                schemes: tuple[str, ...]) -> list[tuple[str, str]]:
    found = []
    for attribute, value in element.attrib.items():
        vocabulary, local = _split(attribute)
        if vocabulary is None:
            found.append(("ooxml-namespace", f"attribute {attribute[:120]}"))
        elif vocabulary == "r":
            problem = _reference_problem(key, value, rels)
            if problem:
                found.append(("ooxml-reference", f"{key[0]}:{key[1]} {local}={value[:40]}: {problem}"))
        elif key[0] in _VML and local in ("src", "href"):
            if local == "src" or key in _VML_PICTURES or not _web_or_mail(value, schemes):
                found.append(("ooxml-vml-link", f"{key[0]}:{key[1]} {local}={value[:80]}"))
        elif key[0] in ("xdr", "cdr") and local == "macro" and value:
            found.append(("ooxml-macro", f"{key[0]}:{key[1]} runs {value[:80]}"))
        elif key[0] in ("xdr", "cdr") and local == "textlink" and formula_problem(value):
            found.append(("ooxml-formula", f"{key[1]} textlink: {formula_problem(value)}"))
        elif key == ("ext", "cameraTool") and local == "cellRange" and formula_problem(value):
            found.append(("ooxml-formula", f"camera picture of {value[:80]}"))
        elif key in _ACTION_ELEMENTS and local == "action" and value and not _IN_SHOW.fullmatch(value):
            found.append(("ooxml-action", value[:100]))
    return found


def _reference_problem(key: tuple[str, str], value: str, rels: Rels) -> str | None:
    if value not in rels:
        return "names no relationship of this part"
    rel_type, _target, external = rels[value]
    if external and key not in _LINK_ELEMENTS:
        return "an external target named by an element that is not a hyperlink"
    allowed = _REFERENCES.get(key)
    if allowed is not None and rel_type not in allowed:
        return f"a {rel_type.rsplit('/', 1)[-1][:40]} relationship where the element takes another"
    return None


def _web_or_mail(value: str, schemes: tuple[str, ...]) -> bool:
    match = re.fullmatch(r"([A-Za-z][\w+.\-]*):(//[^/\\]\S*|[^\\\s]+)", value.strip())
    return bool(match) and match.group(1).lower() in schemes


def _name_problem(element: etree._Element, key: tuple[str, str]) -> str | None:
    if key != ("s", "definedName"):
        return None
    if _AUTO_RUN.match(element.get("name") or ""):
        return "a name that runs on open or close"
    if any((element.get(flag) or "0") not in ("0", "false") for flag in ("xlm", "function", "vbProcedure")):
        return "a macro name"
    return None


def _w_value(element: etree._Element, local: str) -> str:
    """A WordprocessingML attribute, qualified or not (lenient readers take both)."""
    for attribute, value in element.attrib.items():
        vocabulary, name = _split(attribute)
        if vocabulary in ("w", "") and name == local:
            return value
    return ""


def _complex_instructions(root: etree._Element) -> list[str]:
    """The instruction of every complex field, each on its own; a nested field's result
    inside an instruction reads as U+0000, so a keyword built by a nested field is unknown."""
    done: list[str] = []
    open_fields: list[tuple[list[str], list[bool]]] = []
    for element in root.iter(*_FIELD_TAGS):
        local = _split(element.tag)[1]
        if local == "fldChar":
            step = _w_value(element, "fldCharType")
            if step == "begin":
                if open_fields and not open_fields[-1][1][0]:
                    open_fields[-1][0].append("\x00")
                open_fields.append(([], [False]))
            elif step == "separate" and open_fields:
                open_fields[-1][1][0] = True
            elif step == "end" and open_fields:
                done.append("".join(open_fields.pop()[0]))
        elif local in ("instrText", "delInstrText"):
            if open_fields:
                open_fields[-1][0].append(element.text or "")
            else:
                done.append(element.text or "")  # a stray instruction is judged too
    done.extend("\x00unended " + "".join(parts) for parts, _state in open_fields)  # never ended: refused
    return done
