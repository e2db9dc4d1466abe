"""OOXML: parts, relationships, fields, formulas, actions and pictures, each against an allow-list."""

from __future__ import annotations

import functools
import io
import re
import zipfile
from pathlib import PurePosixPath

from lxml import etree

from tests.attacks.inspector.common import MAX_MEMBER, member_name, safe_link
from tests.attacks.inspector.images import inspect_picture

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
W_NAMESPACES = {"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                "http://purl.oclc.org/ooxml/wordprocessingml/main"}
A_NAMESPACES = {"http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"}
SML_FORMULA_ELEMENTS = {"f", "formula", "formula1", "formula2", "definedName", "calculatedColumnFormula",
                        "totalsRowFormula"}
CHART_NAMESPACES = {"http://schemas.openxmlformats.org/drawingml/2006/chart", "http://purl.oclc.org/ooxml/drawingml/chart"}
VML_NAMESPACES = {"urn:schemas-microsoft-com:vml", "urn:schemas-microsoft-com:office:office"}
OOXML = "application/vnd.openxmlformats-officedocument."
ALLOWED_CONTENT_TYPES = {
    "application/vnd.openxmlformats-package.relationships+xml",
    "application/vnd.openxmlformats-package.core-properties+xml",
    OOXML + "extended-properties+xml", OOXML + "custom-properties+xml", OOXML + "theme+xml",
    OOXML + "themeOverride+xml", "image/png", "image/jpeg", "image/gif",
    OOXML + "customXmlProperties+xml", "application/xml",
    # WordprocessingML
    OOXML + "wordprocessingml.document.main+xml", OOXML + "wordprocessingml.template.main+xml",
    OOXML + "wordprocessingml.styles+xml", OOXML + "wordprocessingml.settings+xml",
    OOXML + "wordprocessingml.webSettings+xml", OOXML + "wordprocessingml.fontTable+xml",
    OOXML + "wordprocessingml.numbering+xml", OOXML + "wordprocessingml.footnotes+xml",
    OOXML + "wordprocessingml.endnotes+xml", OOXML + "wordprocessingml.header+xml",
    OOXML + "wordprocessingml.footer+xml", OOXML + "wordprocessingml.comments+xml",
    OOXML + "wordprocessingml.document.glossary+xml",
    "application/vnd.ms-word.stylesWithEffects+xml", "application/vnd.ms-word.commentsExtended+xml",
    "application/vnd.ms-word.commentsIds+xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml",
    # SpreadsheetML
    OOXML + "spreadsheetml.sheet.main+xml", OOXML + "spreadsheetml.template.main+xml",
    OOXML + "spreadsheetml.worksheet+xml", OOXML + "spreadsheetml.styles+xml", OOXML + "spreadsheetml.sharedStrings+xml",
    OOXML + "spreadsheetml.table+xml", OOXML + "spreadsheetml.calcChain+xml", OOXML + "drawing+xml",
    OOXML + "spreadsheetml.comments+xml", OOXML + "vmlDrawing", OOXML + "drawingml.chart+xml",
    # PresentationML
    OOXML + "presentationml.presentation.main+xml", OOXML + "presentationml.slideshow.main+xml",
    OOXML + "presentationml.template.main+xml", OOXML + "presentationml.slide+xml",
    OOXML + "presentationml.slideLayout+xml", OOXML + "presentationml.slideMaster+xml",
    OOXML + "presentationml.notesSlide+xml", OOXML + "presentationml.notesMaster+xml",
    OOXML + "presentationml.handoutMaster+xml", OOXML + "presentationml.presProps+xml",
    OOXML + "presentationml.viewProps+xml", OOXML + "presentationml.tableStyles+xml",
    OOXML + "presentationml.commentAuthors+xml", OOXML + "presentationml.comments+xml",
}
ALLOWED_REL_TYPES = {
    REL + "/" + kind for kind in (
        "officeDocument", "extended-properties", "custom-properties", "theme", "themeOverride", "image", "hyperlink",
        "styles", "settings", "webSettings", "fontTable", "numbering", "footnotes", "endnotes", "header", "footer",
        "comments", "customXml", "customXmlProps", "worksheet", "sharedStrings", "table", "calcChain", "drawing",
        "vmlDrawing", "chart", "slide", "slideLayout", "slideMaster", "notesSlide", "notesMaster", "handoutMaster",
        "presProps", "viewProps", "tableStyles", "commentAuthors", "people", "glossaryDocument",
    )
} | {
    PKG_REL[: -len("relationships")] + "relationships/metadata/core-properties",
    "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
    "http://schemas.microsoft.com/office/2011/relationships/commentsExtended",
    "http://schemas.microsoft.com/office/2016/09/relationships/commentsIds",
    "http://schemas.microsoft.com/office/2011/relationships/people",
    # a thumbnail is a picture like any other, and is inspected as one
    PKG_REL[: -len("relationships")] + "relationships/metadata/thumbnail",
}
SAFE_FIELDS = {
    "PAGE", "NUMPAGES", "SECTIONPAGES", "SECTION", "DATE", "TIME", "CREATEDATE", "SAVEDATE", "PRINTDATE", "TOC", "TC",
    "REF", "PAGEREF", "NOTEREF", "SEQ", "STYLEREF", "AUTHOR", "TITLE", "SUBJECT", "KEYWORDS", "COMMENTS",
    "LASTSAVEDBY", "NUMWORDS", "NUMCHARS", "=", "MERGEFIELD", "SYMBOL", "XE", "INDEX", "EQ", "LISTNUM",
    "DOCPROPERTY", "FORMTEXT", "FORMCHECKBOX", "FORMDROPDOWN", "ADVANCE", "BIBLIOGRAPHY", "CITATION", "TA", "TOA",
    "HYPERLINK", "IF", "QUOTE", "BOOKMARK", "FILLIN", "ASK", "SET", "USERNAME", "USERINITIALS", "EDITTIME",
    "REVNUM", "TEMPLATE", "FILENAME", "FILESIZE", "NEXT", "NEXTIF", "SKIPIF", "MERGEREC", "MERGESEQ", "RD",
}
DANGEROUS_FUNCTIONS = re.compile(
    r"(?i)\b(_xlfn\.)?(WEBSERVICE|FILTERXML|CALL|REGISTER|REGISTER\.ID|EXEC|RUN|RTD|DDE|DDEAUTO|FOPEN|FWRITE|"
    r"FWRITELN|FCLOSE|URLDOWNLOADTOFILE|SHELL|HALT|ALERT|FORMULA|SET\.VALUE|GET\.WORKSPACE|GET\.WINDOW|"
    r"GET\.DOCUMENT|GET\.CELL|FILES|DIRECTORY|EVALUATE|EXECUTE|IMAGE)\s*\(|CHAR\s*\(\s*124\s*\)"
)
EXTERNAL_REF = re.compile(r"\[[^\]]+\][^!\s(),;]*!|'[^']*[\\/:][^']*'!|\\\\")
AUTO_NAMES = re.compile(r"(?i)^(_xlnm\.)?auto_(open|close|activate|deactivate)")
SAFE_PPACTIONS = re.compile(r"^ppaction://(hlinksldjump|hlinkshowjump\?jump=(nextslide|previousslide|firstslide|"
                            r"lastslide|lastslideviewed|endshow)|noaction)?$")
REFERRING_ELEMENTS = {"attachedTemplate", "subDoc", "altChunk", "control", "OLEObject", "oleObj", "sourceFileName",
                      "dataSource", "headerSource", "recipientData", "videoFile", "audioFile", "quickTimeFile",
                      "wavAudioFile", "oleObject", "externalReference", "ddeLink", "webPr", "oleLink", "externalData",
                      "objectLink", "objectEmbed", "movie", "saveThroughXslt"}


def inspect_ooxml(name: str, data: bytes) -> list[str]:
    findings: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        parts = {info.filename: info for info in package.infolist() if not info.is_dir()}
        for part in parts:
            findings += member_name(f"{name}!{part}", parts[part])
        try:
            types = _content_types(package.read("[Content_Types].xml"))
        except etree.XMLSyntaxError as error:
            return [f"{name}: [Content_Types].xml unreadable: {error}"]
        for part in parts:
            if part == "[Content_Types].xml":
                continue
            if parts[part].file_size > MAX_MEMBER:
                findings.append(f"{name}!{part}: {parts[part].file_size} bytes (a bomb for the reader)")
                continue
            findings += _ooxml_part(f"{name}!{part}", part, package.read(part), types, set(parts))
    return findings


def _content_types(data: bytes) -> dict[str, str]:
    root = _xml(data)
    defaults = {e.get("Extension", "").lower(): e.get("ContentType", "") for e in root if _local(e) == "Default"}
    overrides = {e.get("PartName", "").lstrip("/"): e.get("ContentType", "") for e in root if _local(e) == "Override"}
    return {**overrides, **{f"\0ext.{k}": v for k, v in defaults.items()}}


def _part_type(part: str, types: dict[str, str]) -> str:
    if part in types:
        return types[part]
    extension = part.rsplit("/", 1)[-1].rsplit(".", 1)[-1] if "." in part.rsplit("/", 1)[-1] else ""
    return types.get("\0ext." + extension.lower(), "")


def _ooxml_part(where: str, part: str, data: bytes, types: dict[str, str], names: set[str]) -> list[str]:
    content_type = _part_type(part, types)
    if content_type not in ALLOWED_CONTENT_TYPES:
        return [f"{where}: content type {content_type or 'missing'!r} not allowed"]
    if content_type.startswith("image/"):
        return inspect_picture(where, data)
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
        return [f"{where}: DOCTYPE/ENTITY declarations"]
    try:
        root = _xml(data)
    except etree.XMLSyntaxError as error:
        return [f"{where}: XML does not parse: {error}"]
    if part.endswith(".rels"):
        return _relationships(where, part, root, names)
    rels = _rels_of(part, names)
    return _markup(where, root, rels)


def _xml(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser)


@functools.lru_cache(maxsize=4096)  # a package names a few hundred elements and attributes, over and over
def _clark(name: str) -> tuple[str | None, str]:
    """'{namespace}local', as lxml names elements and attributes, read the way etree.QName reads it
    (a name without a namespace has None); by hand, because a QName per element per walk was most
    of the catalogue's inspection time."""
    if name.startswith("{"):
        namespace, _, local = name[1:].partition("}")
        return namespace, local
    return None, name


def _local(element: etree._Element) -> str:
    return _clark(element.tag)[1] if isinstance(element.tag, str) else ""


def _namespace(element: etree._Element) -> str:
    return _clark(element.tag)[0] or "" if isinstance(element.tag, str) else ""


def _rels_of(part: str, names: set[str]) -> str:
    path = PurePosixPath(part)
    rels = str(path.parent / "_rels" / (path.name + ".rels")).lstrip("./")
    return rels if rels in names else ""


def _relationships(where: str, part: str, root: etree._Element, names: set[str]) -> list[str]:
    findings = []
    for rel in root:
        if _local(rel) != "Relationship":
            continue
        kind = rel.get("Type", "").replace(STRICT_REL, REL)
        target = rel.get("Target", "")
        if kind not in ALLOWED_REL_TYPES:
            findings.append(f"{where}: relationship type {kind!r} -> {target[:60]!r}")
        if rel.get("TargetMode", "Internal") == "External":
            if kind != REL + "/hyperlink" or not safe_link(target):
                findings.append(f"{where}: external target {target[:80]!r} ({kind.rsplit('/', 1)[-1]})")
    return findings


def _markup(where: str, root: etree._Element, rels: str) -> list[str]:
    findings = _fields(where, root)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        found_namespace, local = _clark(element.tag)
        namespace = found_namespace or ""
        if (local in SML_FORMULA_ELEMENTS and "spreadsheetml" in namespace) or (
            local == "f" and namespace in CHART_NAMESPACES
        ):
            findings += _formula(where, element)
        if local in ("hlinkClick", "hlinkHover") and namespace in A_NAMESPACES:
            action = element.get("action", "")
            if action and not SAFE_PPACTIONS.match(action):
                findings.append(f"{where}: shape action {action!r}")
        if local == "cmd" and element.get("type") == "verb":
            findings.append(f"{where}: animation runs an OLE verb (Sandworm, CVE-2014-4114)")
        if local == "HyperlinkBase" and (element.text or "").strip() and not safe_link(element.text or ""):
            findings.append(f"{where}: HyperlinkBase {element.text[:60]!r} turns relative links into that place")
        if local in REFERRING_ELEMENTS:
            findings.append(f"{where}: element {local} (refers to external or active content)")
        for attribute, value in element.attrib.items():
            attr_ns, attr_local = _clark(attribute)
            if attr_ns in (REL, STRICT_REL) and attr_local == "link":
                findings.append(f"{where}: linked (external) {local} r:link={value}")
            if attr_local in ("href", "src") and attr_ns in VML_NAMESPACES | {None} \
                    and namespace in VML_NAMESPACES and re.search(r"[:\\/]", value):
                findings.append(f"{where}: VML {local} loads {value[:60]!r}")
            if attr_local in ("onLoad", "onAction", "macro") and value:
                findings.append(f"{where}: callback {attribute}={value!r} on {local}")
    return findings


def _text(element: etree._Element) -> str:
    """All character data of an element, across comments and processing instructions, as a reader joins it."""
    return "".join(element.xpath("text()"))


def _formula(where: str, element: etree._Element) -> list[str]:
    text = _text(element)
    label = f"{where}: {_local(element)} {text[:60]!r}"
    if element.tag.endswith("definedName") and AUTO_NAMES.match(element.get("name", "")):
        return [f"{where}: auto-run defined name {element.get('name')}"]
    if "|" in text:
        return [label + " has a DDE '|'"]
    if EXTERNAL_REF.search(text):
        return [label + " refers to another workbook"]
    if DANGEROUS_FUNCTIONS.search(text):
        return [label + " calls a dangerous function"]
    hyperlink = re.search(r"(?i)HYPERLINK\s*\(\s*\"([^\"]*)\"", text)
    if hyperlink and not safe_link(hyperlink.group(1)):
        return [label + " links outside http(s)/mailto"]
    return []


def _fields(where: str, root: etree._Element) -> list[str]:
    """Judge every field: fldSimple by its instr, complex fields by their own instruction text."""
    findings = []
    for element in root.iter():
        if isinstance(element.tag, str) and _local(element) == "fldSimple" and _namespace(element) in W_NAMESPACES:
            instruction = next((v for k, v in element.attrib.items() if _clark(k)[1] == "instr"), "")
            findings += _field_instruction(where, instruction, built_by_nested=False)
    for instruction, built_by_nested in _complex_fields(root):
        findings += _field_instruction(where, instruction, built_by_nested)
    return findings


def _complex_fields(root: etree._Element) -> list[tuple[str, bool]]:
    """Walk fldChar/instrText in document order; a stack keeps nested fields apart."""
    stack: list[list[object]] = []  # [instruction pieces, collecting?, nested-before-text?]
    done: list[tuple[str, bool]] = []
    for element in root.iter():
        if not isinstance(element.tag, str) or _namespace(element) not in W_NAMESPACES:
            continue
        local = _local(element)
        if local == "fldChar":
            kind = next((v for k, v in element.attrib.items() if _clark(k)[1] == "fldCharType"), "")
            if kind == "begin":
                if stack and stack[-1][1] and not "".join(stack[-1][0]).strip():  # type: ignore[arg-type]
                    stack[-1][2] = True
                stack.append([[], True, False])
            elif kind == "separate" and stack:
                stack[-1][1] = False
            elif kind == "end" and stack:
                pieces, _, nested = stack.pop()
                done.append(("".join(pieces), bool(nested)))  # type: ignore[arg-type]
        elif local in ("instrText", "delInstrText") and stack and stack[-1][1]:
            stack[-1][0].append(_text(element))  # type: ignore[union-attr]
    done += [("".join(pieces), bool(nested)) for pieces, _, nested in stack]  # type: ignore[misc]
    return done


def _field_instruction(where: str, instruction: str, built_by_nested: bool) -> list[str]:
    words = instruction.split()
    keyword = words[0].upper() if words else ""
    if built_by_nested:
        return [f"{where}: field whose keyword is built by a nested field: {instruction[:60]!r}"]
    if not keyword:
        return []
    if keyword.startswith("="):
        keyword = "="
    if keyword not in SAFE_FIELDS:
        return [f"{where}: field {keyword} {instruction[:80]!r}"]
    target = _hyperlink_target(words[1:]) if keyword == "HYPERLINK" else ""
    if target and not safe_link(target):
        return [f"{where}: HYPERLINK field to {target[:60]!r}"]
    return []


def _hyperlink_target(arguments: list[str]) -> str:
    """§17.16.5.25: the first argument that is not a switch or a switch's value is the target."""
    skip = False
    for word in arguments:
        if skip:
            skip = False
        elif word.startswith("\\"):
            skip = word.lower() in ("\\l", "\\o", "\\t")
        else:
            return word.strip('"')
    return ""
