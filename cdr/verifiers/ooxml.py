"""Allow-list verification of a rebuilt Office Open XML package (ECMA-376 Parts 1 and 2).

Written against the specification and apart from the sanitizer (it imports nothing from
``cdr.sanitizers``). A released package is accepted only when:

- its members are ``[Content_Types].xml``, the relationship parts of the package root and
  of reached parts, and parts reached from the root through ``_LINKS`` (built from
  ``_GRAPH``): a triple of the source's vocabulary, the relationship type (whole URI) and
  the target's content type — nothing unreached, nothing encrypted, no name twice, one
  main document part;
- every content type it declares is one ``_LINKS`` names (so no macro-enabled,
  VBA, ActiveX, OLE, SVG, HTML or metafile type can be declared at all);
- external relationships are only hyperlinks to an allowed web or mail address;
- every XML part parses with a parser that loads no DTD and the part declares none;
  every element and attribute is in ``ooxml_xml._NAMESPACES`` (OOXML, DrawingML, VML,
  markup compatibility and Office's own extension vocabularies); nothing from
  ``ooxml_xml._CONTAINERS``;
- every attribute naming a relationship names one of the part's own, of a type
  ``ooxml_xml._REFERENCES`` allows for that element; only hyperlink elements may name an
  external one; PowerPoint actions only move inside the presentation; VML pictures load
  nothing from outside;
- every field instruction and formula passes ``ooxml_grammar``;
- every picture starts with the signature of the format its content type names.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections import deque
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import unquote

from lxml import etree

from cdr.errors import SanitizeError
from cdr.model import FileType, Finding
from cdr.ooxml_attributes import parse_declaring
from cdr.verifiers import VerifyContext
from cdr.verifiers.links import mailto_ok
from cdr.zipreader import ZipReader, as_written, is_encrypted, open_zip, package_limits

VERIFIES = frozenset(
    {FileType.DOCX, FileType.DOTX, FileType.XLSX, FileType.XLTX, FileType.PPTX, FileType.POTX, FileType.PPSX}
)
MAX_FINDINGS = 40
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_PR_NS = "http://schemas.openxmlformats.org/package/2006/relationships"

# ---------------------------------------------------------------- relationship graph
_OD = "application/vnd.openxmlformats-officedocument."
_WORD, _SHEET, _SLIDE = _OD + "wordprocessingml.", _OD + "spreadsheetml.", _OD + "presentationml."
_DRAW = _OD + "drawingml."
_REL_BASES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/",
    "http://purl.oclc.org/ooxml/officeDocument/relationships/",
)
_MS = "http://schemas.microsoft.com/office/"
_EXTRA_TYPES = {  # relationship names → the URIs Microsoft gave them outside the standard base
    "core-properties": (
        "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
        "http://schemas.openxmlformats.org/officedocument/2006/relationships/metadata/core-properties",  # LibreOffice
    ),
    "stylesWithEffects": (_MS + "2007/relationships/stylesWithEffects",),
    "commentsExtended": (_MS + "2011/relationships/commentsExtended",),
    "commentsIds": (_MS + "2016/09/relationships/commentsIds",),
    "commentsExtensible": (_MS + "2018/08/relationships/commentsExtensible",),
    "people": (_MS + "2011/relationships/people",),
    "diagramDrawing": (_MS + "2007/relationships/diagramDrawing",),
    "chartStyle": (_MS + "2011/relationships/chartStyle",),
    "chartColorStyle": (_MS + "2011/relationships/chartColorStyle",),
    "threadedComment": (_MS + "2017/10/relationships/threadedComment",),
    "person": (_MS + "2017/10/relationships/person",),
    "slicer": (_MS + "2007/relationships/slicer",),
    "slicerCache": (_MS + "2007/relationships/slicerCache",),
    "timeline": (_MS + "2011/relationships/timeline",),
    "timelineCache": (_MS + "2011/relationships/timelineCache",),
    "authors": (_MS + "2018/10/relationships/authors",),
    "modernComment": (_MS + "2018/10/relationships/comments",),
}
_PICTURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/bmp": (b"BM",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
_DIAGRAM = (
    ("diagramData", _DRAW + "diagramData+xml"),
    ("diagramLayout", _DRAW + "diagramLayout+xml"),
    ("diagramQuickStyle", _DRAW + "diagramStyle+xml"),
    ("diagramColors", _DRAW + "diagramColors+xml"),
    ("diagramDrawing", "application/vnd.ms-office.drawingml.diagramDrawing+xml"),
)
# source vocabulary → [(relationship name, target content type, the target's vocabulary)]
_GRAPH: dict[str, list[tuple[str, str, str]]] = {
    "package": [
        ("officeDocument", _WORD + "document.main+xml", "word"),
        ("officeDocument", _WORD + "template.main+xml", "word"),
        ("officeDocument", _SHEET + "sheet.main+xml", "workbook"),
        ("officeDocument", _SHEET + "template.main+xml", "workbook"),
        ("officeDocument", _SLIDE + "presentation.main+xml", "presentation"),
        ("officeDocument", _SLIDE + "template.main+xml", "presentation"),
        ("officeDocument", _SLIDE + "slideshow.main+xml", "presentation"),
        ("core-properties", "application/vnd.openxmlformats-package.core-properties+xml", "leaf"),
        ("extended-properties", _OD + "extended-properties+xml", "leaf"),
        ("custom-properties", _OD + "custom-properties+xml", "leaf"),
    ],
    "word": [
        ("styles", _WORD + "styles+xml", "leaf"),
        ("stylesWithEffects", "application/vnd.ms-word.stylesWithEffects+xml", "leaf"),
        ("settings", _WORD + "settings+xml", "leaf"),
        ("webSettings", _WORD + "webSettings+xml", "leaf"),
        ("fontTable", _WORD + "fontTable+xml", "leaf"),
        ("numbering", _WORD + "numbering+xml", "word"),
        ("footnotes", _WORD + "footnotes+xml", "word"),
        ("endnotes", _WORD + "endnotes+xml", "word"),
        ("comments", _WORD + "comments+xml", "word"),
        ("header", _WORD + "header+xml", "word"),
        ("footer", _WORD + "footer+xml", "word"),
        ("commentsExtended", _WORD + "commentsExtended+xml", "leaf"),
        ("commentsIds", _WORD + "commentsIds+xml", "leaf"),
        ("commentsExtensible", _WORD + "commentsExtensible+xml", "leaf"),
        ("people", _WORD + "people+xml", "leaf"),
        ("theme", _OD + "theme+xml", "graphic"),
    ],
    "workbook": [
        ("worksheet", _SHEET + "worksheet+xml", "sheet"),
        ("chartsheet", _SHEET + "chartsheet+xml", "sheet"),
        ("sharedStrings", _SHEET + "sharedStrings+xml", "leaf"),
        ("styles", _SHEET + "styles+xml", "leaf"),
        ("calcChain", _SHEET + "calcChain+xml", "leaf"),
        ("theme", _OD + "theme+xml", "graphic"),
        ("pivotCacheDefinition", _SHEET + "pivotCacheDefinition+xml", "pivot"),
        ("slicerCache", "application/vnd.ms-excel.slicerCache+xml", "leaf"),
        ("timelineCache", "application/vnd.ms-excel.timelineCache+xml", "leaf"),
        ("person", "application/vnd.ms-excel.person+xml", "leaf"),
        ("sheetMetadata", _SHEET + "sheetMetadata+xml", "leaf"),
    ],
    "sheet": [
        ("drawing", _OD + "drawing+xml", "graphic"),
        ("vmlDrawing", _OD + "vmlDrawing", "graphic"),
        ("comments", _SHEET + "comments+xml", "leaf"),
        ("table", _SHEET + "table+xml", "leaf"),
        ("pivotTable", _SHEET + "pivotTable+xml", "pivot"),
        ("threadedComment", "application/vnd.ms-excel.threadedcomments+xml", "leaf"),
        ("slicer", "application/vnd.ms-excel.slicer+xml", "leaf"),
        ("timeline", "application/vnd.ms-excel.timeline+xml", "leaf"),
    ],
    "pivot": [
        ("pivotCacheDefinition", _SHEET + "pivotCacheDefinition+xml", "pivot"),
        ("pivotCacheRecords", _SHEET + "pivotCacheRecords+xml", "leaf"),
    ],
    "presentation": [
        ("slide", _SLIDE + "slide+xml", "slide"),
        ("slideMaster", _SLIDE + "slideMaster+xml", "slide"),
        ("notesMaster", _SLIDE + "notesMaster+xml", "slide"),
        ("handoutMaster", _SLIDE + "handoutMaster+xml", "slide"),
        ("presProps", _SLIDE + "presProps+xml", "leaf"),
        ("viewProps", _SLIDE + "viewProps+xml", "leaf"),
        ("tableStyles", _SLIDE + "tableStyles+xml", "leaf"),
        ("commentAuthors", _SLIDE + "commentAuthors+xml", "leaf"),
        ("theme", _OD + "theme+xml", "graphic"),
        ("tags", _SLIDE + "tags+xml", "leaf"),
        ("authors", "application/vnd.ms-powerpoint.authors+xml", "leaf"),
    ],
    "slide": [
        ("slide", _SLIDE + "slide+xml", "slide"),
        ("slideLayout", _SLIDE + "slideLayout+xml", "slide"),
        ("slideMaster", _SLIDE + "slideMaster+xml", "slide"),
        ("notesSlide", _SLIDE + "notesSlide+xml", "slide"),
        ("notesMaster", _SLIDE + "notesMaster+xml", "slide"),
        ("theme", _OD + "theme+xml", "graphic"),
        ("comments", _SLIDE + "comments+xml", "leaf"),
        ("modernComment", "application/vnd.ms-powerpoint.comments+xml", "leaf"),
        ("tags", _SLIDE + "tags+xml", "leaf"),
    ],
    "chart": [
        ("chartUserShapes", _DRAW + "chartshapes+xml", "graphic"),
        ("chartStyle", "application/vnd.ms-office.chartstyle+xml", "leaf"),
        ("chartColorStyle", "application/vnd.ms-office.chartcolorstyle+xml", "leaf"),
    ],
    "graphic": [],
}
# What every part that draws may also point at: pictures, charts, diagrams, theme overrides.
for _vocabulary in ("word", "sheet", "slide", "chart", "graphic"):
    _GRAPH[_vocabulary] += [("image", t, "leaf") for t in _PICTURES]
    _GRAPH[_vocabulary] += [("chart", _DRAW + "chart+xml", "chart")]
    _GRAPH[_vocabulary] += [(n, t, "graphic") for n, t in _DIAGRAM]
    _GRAPH[_vocabulary] += [("themeOverride", _OD + "themeOverride+xml", "leaf")]


def type_uris(name: str) -> tuple[str, ...]:
    return _EXTRA_TYPES.get(name, tuple(base + name for base in _REL_BASES))


# (source vocabulary, relationship type URI, target content type) → target vocabulary
_LINKS: dict[tuple[str, str, str], str] = {
    (source, uri, content_type.lower()): target
    for source, rows in _GRAPH.items()
    for name, content_type, target in rows
    for uri in type_uris(name)
}
_CONTENT_TYPES = frozenset(key[2] for key in _LINKS) | {
    "application/vnd.openxmlformats-package.relationships+xml",
    "application/xml",
}
_HYPERLINK_TYPES = frozenset(type_uris("hyperlink"))


@dataclass
class _Package:
    reader: ZipReader
    members: dict[str, zipfile.ZipInfo]  # lower-case part name → entry
    cap: int  # the most bytes one part may inflate to
    overrides: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    reached: dict[str, str] = field(default_factory=dict)  # part → vocabulary
    rels: dict[str, dict[str, tuple[str, str, bool]]] = field(default_factory=dict)  # id → (type, target, ext)
    findings: list[Finding] = field(default_factory=list)

    def content_type(self, part: str) -> str:
        found = self.overrides.get("/" + part)
        if found is not None:
            return found
        return self.defaults.get(posixpath.splitext(part)[1].lstrip("."), "")

    def report(self, kind: str, detail: str) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(kind, detail[:300]))


_PARSER = {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": True}


def _read(package: _Package, name: str) -> bytes | None:
    try:
        return package.reader.read(package.members[name], package.cap)
    except SanitizeError as exc:
        package.report("ooxml-unreadable", f"{name}: {str(exc)[:100]}")
        return None


def _parse(package: _Package, name: str) -> etree._Element | None:
    parsed = _parse_declaring(package, name)
    return None if parsed is None else parsed[0]


def _parse_declaring(package: _Package, name: str) -> tuple[etree._Element, frozenset[str]] | None:
    """The part's root and every namespace it declares (``cdr/ooxml_attributes.py``)."""
    data = _read(package, name)
    if data is None:
        return None
    try:
        root, declared = parse_declaring(data, **_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        package.report("ooxml-xml", f"{name}: {str(exc)[:100]}")
        return None
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        package.report("ooxml-dtd", name)
        return None
    return root, declared


def _open(src: BinaryIO, ctx: VerifyContext) -> _Package | Finding:
    """The package as our writer lays it out: checked names, no folders, nothing encrypted."""
    try:
        reader = open_zip(src, as_written(package_limits(ctx.policy.limits)))
    except SanitizeError as exc:  # over a limit, a dangerous or repeated name, overlapping, unreadable
        return Finding(f"ooxml-{exc.reason}", str(exc)[:200])
    for info in reader.all_entries:
        if is_encrypted(info) or info.is_dir():
            return Finding("ooxml-member", f"{info.filename[:100]}: encrypted or a folder")
    members = {info.filename.lower(): info for info in reader.entries}
    if "[content_types].xml" not in members:
        return Finding("ooxml-member", "[Content_Types].xml is missing")
    return _Package(reader, members, ctx.policy.limits.max_stream_size)


def _read_content_types(package: _Package) -> None:
    root = _parse(package, "[content_types].xml")
    if root is None:
        return
    if root.tag != f"{{{_CT_NS}}}Types":
        package.report("ooxml-content-type", f"[Content_Types].xml holds {str(root.tag)[:80]}")
        return
    for node in root:
        tag = node.tag if isinstance(node.tag, str) else ""
        local = tag[len(_CT_NS) + 2 :] if tag.startswith(f"{{{_CT_NS}}}") else "?"
        content_type = (node.get("ContentType") or "").lower()
        if content_type not in _CONTENT_TYPES:
            package.report("ooxml-content-type", content_type[:120])
        if local == "Default":
            package.defaults[(node.get("Extension") or "").lower()] = content_type
        elif local == "Override":
            package.overrides[(node.get("PartName") or "").lower()] = content_type
        else:
            package.report("ooxml-content-type", f"unexpected entry {local[:40]}")


def _rels_name(part: str) -> str:
    if not part:
        return "_rels/.rels"
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _target_part(source: str, target: str) -> str:
    target = unquote(target)
    if target.startswith("/"):
        return posixpath.normpath(target).lstrip("/").lower()
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target)).lstrip("/").lower()


def _hyperlink_ok(target: str, schemes: tuple[str, ...]) -> bool:
    match = re.fullmatch(r"([A-Za-z][A-Za-z0-9+.\-]*):(.*)", target, re.S)
    if not match or match.group(1).lower() not in schemes or any(ord(c) < 0x20 or c == "\x7f" for c in target):
        return False
    rest = match.group(2)
    if match.group(1).lower() in ("http", "https"):
        return bool(re.match(r"//[^/\\]", rest))
    return "\\" not in rest and (match.group(1).lower() != "mailto" or mailto_ok(rest))


def _walk_relationships(package: _Package, schemes: tuple[str, ...]) -> None:
    queue: deque[str] = deque([""])
    vocabulary = {"": "package"}
    while queue:
        source = queue.popleft()
        rels_part = _rels_name(source)
        package.rels[source] = {}
        if rels_part not in package.members:
            continue
        root = _parse(package, rels_part)
        if root is not None and root.tag != f"{{{_PR_NS}}}Relationships":
            package.report("ooxml-relationship", f"{rels_part} holds {str(root.tag)[:80]}")
            continue
        for node in root if root is not None else ():
            if node.tag != f"{{{_PR_NS}}}Relationship":
                package.report("ooxml-relationship", f"{rels_part}: {str(node.tag)[:80]}")
                continue
            rel_id, rel_type = node.get("Id") or "", node.get("Type") or ""
            target, external = node.get("Target") or "", (node.get("TargetMode") or "") == "External"
            if rel_id in package.rels[source]:
                package.report("ooxml-relationship", f"{rels_part}: {rel_id[:40]} twice")
            package.rels[source][rel_id] = (rel_type, target, external)
            if external:
                if rel_type not in _HYPERLINK_TYPES or not _hyperlink_ok(target, schemes):
                    package.report("ooxml-external", f"{rels_part}: {rel_type[-40:]} → {target[:100]}")
                continue
            part = _target_part(source, target)
            content_type = package.content_type(part)
            next_vocabulary = _LINKS.get((vocabulary[source], rel_type, content_type))
            if next_vocabulary is None or part not in package.members:
                package.report("ooxml-relationship", f"{rels_part}: {rel_type[-40:]} → {part[:100]} ({content_type})")
                continue
            if part not in vocabulary:
                vocabulary[part] = next_vocabulary
                package.reached[part] = next_vocabulary
                queue.append(part)


def _one_main_part(package: _Package) -> None:
    mains = [t for (t, _target, _ext) in package.rels.get("", {}).values() if t in type_uris("officeDocument")]
    if len(mains) != 1:
        package.report("ooxml-main-part", f"{len(mains)} main document parts")


def _unreached(package: _Package) -> None:
    allowed = {"[content_types].xml"} | set(package.reached)
    allowed |= {_rels_name(source) for source in ("", *package.reached)}
    for name, info in package.members.items():
        if name not in allowed:
            package.report("ooxml-unreached-part", info.filename[:200])


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    from cdr.verifiers.ooxml_xml import check_part

    opened = _open(src, ctx)
    if isinstance(opened, Finding):
        return [opened]
    package = opened
    schemes = ctx.policy.office.hyperlinks
    _read_content_types(package)
    _walk_relationships(package, schemes)
    _one_main_part(package)
    _unreached(package)
    for part in package.reached:
        content_type = package.content_type(part)
        if content_type in _PICTURES:
            data = _read(package, part)
            if data is not None and not data.startswith(_PICTURES[content_type]):
                package.report("ooxml-picture", f"{part[:100]} is not {content_type}")
            continue
        parsed = _parse_declaring(package, part)
        if parsed is not None:
            for kind, detail in check_part(*parsed, package.rels.get(part, {}), schemes):
                package.report(kind, f"{part[:80]}: {detail}")
    return package.findings

