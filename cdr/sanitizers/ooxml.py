"""Office Open XML (docx/xlsx/pptx and their macro, template and show twins): rebuild.

The new package holds only parts reached from the package root through relationships
whose *type* is on ``KEPT_RELATIONSHIPS`` and whose target's *content type* is XML or a
picture. Relationship parts and ``[Content_Types].xml`` are written afresh from what was
kept. So VBA projects, ActiveX, OLE embeddings and packages, Excel 4.0 macro sheets,
ribbon callbacks, remote templates, external links, data connections, altChunk imports,
embedded fonts and add-ins are never copied — they are not on the list.

Inside kept XML, references to dropped relationships are removed (a hyperlink keeps its
text), DDE/DDEAUTO, INCLUDETEXT/INCLUDEPICTURE/LINK/IMPORT field codes are emptied (the
cached result stays), DDE formulas lose their formula (the cached value stays) and
auto-run defined names are removed. Pictures are re-encoded like any image. A
macro-enabled main part becomes its macro-free twin.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter, deque
from typing import BinaryIO
from xml.sax.saxutils import quoteattr

from lxml import etree

from cdr.errors import MalformedInput, SanitizeError
from cdr.model import OOXML_TYPES, Action, ActionTaken, FileType, Finding, SanitizeResult
from cdr.policy import Policy
from cdr.sanitizers.base import Context, Sanitizer
from cdr.sanitizers.ooxml_package import (
    CT_NS,
    REL_NS,
    Package,
    Relationship,
    open_package,
    parse_xml,
    relationships,
    rels_name,
    resolve,
)
from cdr.sanitizers.pdf_inspect import uri_allowed

R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
S_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
O_NS = "urn:schemas-microsoft-com:office:office"
P_NS = "http://schemas.openxmlformats.org/presentationml/2006/main"

KEPT_RELATIONSHIPS = frozenset(
    {
        "officeDocument",
        "core-properties",
        "extended-properties",
        "custom-properties",
        "styles",
        "stylesWithEffects",
        "settings",
        "webSettings",
        "fontTable",
        "numbering",
        "footnotes",
        "endnotes",
        "comments",
        "commentsExtended",
        "commentsIds",
        "commentsExtensible",
        "people",
        "header",
        "footer",
        "theme",
        "themeOverride",
        "image",
        "hdphoto",
        "chart",
        "chartUserShapes",
        "chartStyle",
        "chartColorStyle",
        "diagramData",
        "diagramLayout",
        "diagramQuickStyle",
        "diagramColors",
        "diagramDrawing",
        "customXml",
        "customXmlProps",
        "worksheet",
        "chartsheet",
        "sharedStrings",
        "calcChain",
        "table",
        "tableSingleCells",
        "pivotTable",
        "pivotCacheDefinition",
        "pivotCacheRecords",
        "drawing",
        "vmlDrawing",
        "threadedComment",
        "person",
        "slicer",
        "slicerCache",
        "timeline",
        "timelineCache",
        "slide",
        "slideLayout",
        "slideMaster",
        "notesSlide",
        "notesMaster",
        "handoutMaster",
        "presProps",
        "viewProps",
        "tableStyles",
        "commentAuthors",
        "tags",
        "hyperlink",
        "revisionHeaders",
        "revisionLog",
        "usernames",
        "volatileDependencies",
        "sheetMetadata",
    }
)
PICTURE_TYPES = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/gif": "GIF",
    "image/bmp": "BMP",
    "image/tiff": "TIFF",
}
KEPT_BINARY_TYPES = frozenset({"image/x-emf", "image/x-wmf", "image/emf", "image/wmf"})
MACRO_FREE_MAIN = {
    "application/vnd.ms-word.document.macroEnabled.main+xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    "application/vnd.ms-powerpoint.template.macroEnabled.main+xml": "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml": "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
}
# What each dropped relationship kind is, for the result and `cdr scan`.
ACTIVE_KINDS = {
    "vbaProject": "vba-macros",
    "wordVbaData": "vba-macros",
    "keyMapCustomizations": "key-map-macros",
    "control": "activex",
    "activeXControlBinary": "activex",
    "oleObject": "ole-embedding",
    "package": "embedded-package",
    "xlMacrosheet": "excel4-macros",
    "xlIntlMacrosheet": "excel4-macros",
    "extensibility": "customui",
    "attachedTemplate": "remote-template",
    "externalLink": "external-link",
    "externalLinkPath": "external-link",
    "connections": "data-connection",
    "queryTable": "query-table",
    "aFChunk": "altchunk",
    "subDocument": "sub-document",
    "frame": "frame",
    "ctrlProp": "form-control",
    "webextension": "office-add-in",
    "taskpanes": "office-add-in",
    "font": "embedded-font",
    "printerSettings": "printer-settings",
    "dialogsheet": "dialog-sheet",
    "glossaryDocument": "glossary",
    "thumbnail": "thumbnail",
    "video": "media",
    "audio": "media",
    "media": "media",
}
DANGEROUS_FIELD = re.compile(r"^\s*(DDE|DDEAUTO|INCLUDETEXT|INCLUDEPICTURE|IMPORT|LINK|QUOTE)\b", re.I)
DDE_FORMULA = re.compile(r"[A-Za-z0-9_.]+\|['\"]?[^!]*['\"]?!", re.S)
AUTO_NAMES = re.compile(r"^(_xlnm\.)?(auto_open|auto_close|auto_activate|auto_deactivate)", re.I)
# What makes a part worth parsing and rewriting. Plain substrings are tested in C; the two
# Excel patterns start with a literal so the regex engine can skip ahead. Field codes are
# matched by element, not keyword, because attackers split "DDE" across several runs.
_FIELD_MARKERS = (
    b"instrText",
    b"fldSimple",
    b"altChunk",
    b"OLEObject",
    b":control ",
    b"<control ",
    b"oleObj",
    b"ddeLink",
)
_EXCEL_TRIGGERS = (
    re.compile(rb"<f[ >][^<]*\|"),
    re.compile(rb'<definedName[^>]*name="(?i:(?:_xlnm\.)?auto_)'),
)


def _has_markers(data: bytes) -> bool:
    return any(marker in data for marker in _FIELD_MARKERS) or any(p.search(data) for p in _EXCEL_TRIGGERS)


_XML_TYPES = ("+xml", "application/xml", "text/xml")
_HARDENED = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_blank_text=False
)


def _is_xml(content_type: str) -> bool:
    return (
        content_type.endswith(_XML_TYPES)
        or content_type in ("application/xml", "text/xml")
        or content_type == "application/vnd.openxmlformats-officedocument.vmlDrawing"
    )


class _Rebuild:
    def __init__(self, package: Package, ctx: Context) -> None:
        self.package = package
        self.ctx = ctx
        self.dropped: Counter[str] = Counter()
        self.parts: dict[str, str] = {}  # part name → content type
        self.rels: dict[str, list[Relationship]] = {}
        self.dropped_ids: dict[str, set[str]] = {}
        self.reencoded = 0

    def _keep_relationship(self, source: str, rel: Relationship) -> str | None:
        """The target part to keep, "" for a kept external hyperlink, None to drop."""
        if rel.external:
            if rel.kind == "hyperlink" and uri_allowed(rel.target, self.ctx.policy.office.hyperlinks):
                return ""
            self.dropped["external-" + ACTIVE_KINDS.get(rel.kind, rel.kind)] += 1
            return None
        if rel.kind not in KEPT_RELATIONSHIPS:
            self.dropped[ACTIVE_KINDS.get(rel.kind, rel.kind)] += 1
            return None
        if rel.kind == "custom-properties" and self.ctx.policy.office.properties == "strip":
            self.dropped["custom-properties"] += 1
            return None
        part = resolve(source, rel.target)
        if not self.package.has(part):
            self.dropped["missing-part"] += 1
            return None
        content_type = self.package.content_type(part) or ""
        if not (_is_xml(content_type) or content_type in PICTURE_TYPES or content_type in KEPT_BINARY_TYPES):
            self.dropped[ACTIVE_KINDS.get(rel.kind, "binary-part")] += 1
            return None
        return part

    def walk(self) -> None:
        queue: deque[str] = deque([""])
        visited = {""}
        while queue:
            source = queue.popleft()
            kept, dropped = [], set()
            for rel in relationships(self.package, source):
                target = self._keep_relationship(source, rel)
                if target is None:
                    dropped.add(rel.id)
                    continue
                kept.append(rel)
                if target and target.lower() not in visited:
                    visited.add(target.lower())
                    self.parts[target] = self.package.content_type(target) or ""
                    queue.append(target)
            self.rels[source], self.dropped_ids[source] = kept, dropped
        main = next((r for r in self.rels[""] if r.kind == "officeDocument"), None)
        if main is None:
            raise MalformedInput("the package has no main document part")

    # ---------------------------------------------------------------- content
    def part_bytes(self, part: str) -> bytes | None:
        data = self.package.read(part)
        content_type = self.parts[part]
        if content_type in PICTURE_TYPES:
            return self._picture(data, content_type)
        if content_type in KEPT_BINARY_TYPES:
            return data
        if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
            raise MalformedInput(f"{part}: XML with a DTD or entities is refused")
        if (
            self.dropped_ids.get(part)
            or _has_markers(data)
            or (part.startswith("docProps/") and self.ctx.policy.office.properties == "strip")
        ):
            return self._edit(part, data)
        return data

    def _picture(self, data: bytes, content_type: str) -> bytes | None:
        from cdr.sanitizers.image import ImageSanitizer

        file_type = {
            "PNG": FileType.PNG,
            "JPEG": FileType.JPEG,
            "GIF": FileType.GIF,
            "BMP": FileType.BMP,
            "TIFF": FileType.TIFF,
        }[PICTURE_TYPES[content_type]]
        ctx = Context(file_type, Action.REBUILD, "picture", self.ctx.policy)
        out = io.BytesIO()
        try:
            ImageSanitizer().sanitize(io.BytesIO(data), out, ctx)
        except SanitizeError:
            self.dropped["unreadable-picture"] += 1
            return None
        self.reencoded += 1
        return out.getvalue()

    def _edit(self, part: str, data: bytes) -> bytes:
        parse_xml(data, part)  # defusedxml first: refuses DTDs, entities, bombs
        root = etree.fromstring(data, _HARDENED)
        dead = self.dropped_ids.get(part, set())
        if dead:
            self._remove_references(root, dead)
        self._neutralise_fields(root)
        self._neutralise_excel(root)
        for tag in (f"{{{W_NS}}}altChunk", f"{{{O_NS}}}OLEObject", f"{{{W_NS}}}control"):
            for node in list(root.iter(tag)):
                node.getparent().remove(node)
                self.dropped[
                    {"altChunk": "altchunk", "OLEObject": "ole-embedding", "control": "activex"}[
                        etree.QName(tag).localname
                    ]
                ] += 1
        if self.ctx.policy.office.properties == "strip" and part.startswith("docProps/"):
            # core: keep only the title; app: drop who made it (the statistics stay)
            keep_only = ("title",) if part.startswith("docProps/core") else None
            for node in list(root):
                local = etree.QName(node).localname
                if (keep_only is not None and local not in keep_only) or (
                    keep_only is None and local in ("Company", "Manager", "HyperlinkBase")
                ):
                    root.remove(node)
                    self.dropped["document-properties"] += 1
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def _remove_references(self, root: etree._Element, dead: set[str]) -> None:
        for node in list(root.iter()):
            if not isinstance(node.tag, str):
                continue
            for attribute, value in list(node.attrib.items()):
                if not attribute.startswith(f"{{{R_NS}}}") or value not in dead:
                    continue
                local = etree.QName(node).localname
                parent = node.getparent()
                if local == "hyperlink" and parent is not None:  # keep the text, lose the link
                    index = parent.index(node)
                    for child in reversed(list(node)):
                        parent.insert(index, child)
                    parent.remove(node)
                elif local in ("blip", "imagedata") or parent is None:
                    del node.attrib[attribute]
                else:
                    parent.remove(node)
                break
        for container in ("externalReferences", "oleObjects", "controls"):
            for node in list(root.iter(f"{{{S_NS}}}{container}")):
                if len(node) == 0 and node.getparent() is not None:
                    node.getparent().remove(node)

    def _neutralise_fields(self, root: etree._Element) -> None:
        for paragraph in root.iter(f"{{{W_NS}}}p"):
            instructions = list(paragraph.iter(f"{{{W_NS}}}instrText"))
            if instructions and DANGEROUS_FIELD.search("".join(i.text or "" for i in instructions).strip()):
                for node in instructions:
                    node.text = ""
                self.dropped["dde-field"] += 1
        for node in list(root.iter(f"{{{W_NS}}}fldSimple")):
            if DANGEROUS_FIELD.search(node.get(f"{{{W_NS}}}instr", "")):
                parent = node.getparent()
                index = parent.index(node)
                for child in reversed(list(node)):
                    parent.insert(index, child)
                parent.remove(node)
                self.dropped["dde-field"] += 1

    def _neutralise_excel(self, root: etree._Element) -> None:
        for formula in list(root.iter(f"{{{S_NS}}}f")):
            if DDE_FORMULA.search(formula.text or ""):
                formula.getparent().remove(formula)
                self.dropped["dde-formula"] += 1
        for name in list(root.iter(f"{{{S_NS}}}definedName")):
            if AUTO_NAMES.match(name.get("name", "")):
                name.getparent().remove(name)
                self.dropped["auto-open-name"] += 1

    # ---------------------------------------------------------------- writing
    def content_types(self, written: list[str]) -> bytes:
        lines = [
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{CT_NS}">',
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
            '<Default Extension="xml" ContentType="application/xml"/>',
        ]
        for part in written:
            content_type = self.parts[part]
            content_type = MACRO_FREE_MAIN.get(content_type, content_type)
            name = "/" + self.package.real_name(part)
            lines.append(f"<Override PartName={quoteattr(name)} ContentType={quoteattr(content_type)}/>")
        lines.append("</Types>")
        return "\n".join(lines).encode("utf-8")

    def rels_xml(self, rels: list[Relationship], written: set[str], source: str) -> bytes:
        lines = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{REL_NS}">']
        for rel in rels:
            if not rel.external and resolve(source, rel.target).lower() not in written:
                continue  # its part was dropped while writing (an unreadable picture)
            mode = ' TargetMode="External"' if rel.external else ""
            lines.append(
                f"<Relationship Id={quoteattr(rel.id)} Type={quoteattr(rel.type)} "
                f"Target={quoteattr(rel.target)}{mode}/>"
            )
        lines.append("</Relationships>")
        return "\n".join(lines).encode("utf-8")

    def write(self, dst: BinaryIO) -> int:
        payload: dict[str, bytes] = {}
        for part in self.parts:
            data = self.part_bytes(part)
            if data is not None:
                payload[part] = data
        written = {part.lower() for part in payload}
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            out.writestr("[Content_Types].xml", self.content_types(list(payload)))
            for source, rels in self.rels.items():
                if source and (not rels or source.lower() not in written):
                    continue
                name = rels_name(self.package.real_name(source)) if source else "_rels/.rels"
                out.writestr(name, self.rels_xml(rels, written, source))
            for part, data in payload.items():
                out.writestr(self.package.real_name(part), data)
        dst.write(buffer.getbuffer())
        return len(payload)


def inspect_package(package: Package, policy: Policy) -> list[Finding]:
    """Active content in a package, judged from its names, types, relationships and XML."""
    found: Counter[str] = Counter()
    detail: dict[str, str] = {}
    for key, info in package.names.items():
        content_type = package.content_type(key) or ""
        lowered = content_type.lower()
        for marker, kind in (
            ("vbaproject", "vba-macros"),
            ("vbadata", "vba-macros"),
            ("activex", "activex"),
            ("oleobject", "ole-embedding"),
            ("macrosheet", "excel4-macros"),
            ("externallink", "external-link"),
            ("connections", "data-connection"),
            ("querytable", "query-table"),
            ("macroenabled", "macro-enabled-type"),
            ("keymapcustomizations", "key-map-macros"),
        ):
            if marker in lowered or marker in key.replace("_", ""):
                found[kind] += 1
                detail.setdefault(kind, info.filename)
        if key.startswith(("word/embeddings/", "xl/embeddings/", "ppt/embeddings/")):
            found["ole-embedding"] += 1
            detail.setdefault("ole-embedding", info.filename)
        if key.endswith(".rels"):
            root = parse_xml(package.read(key), key)
            for node in root:
                rel_type = node.get("Type", "").rstrip("/").rsplit("/", 1)[-1]
                external = node.get("TargetMode", "").lower() == "external"
                if external and not (
                    rel_type == "hyperlink" and uri_allowed(node.get("Target", ""), policy.office.hyperlinks)
                ):
                    kind = "external-" + ACTIVE_KINDS.get(rel_type, rel_type)
                    found[kind] += 1
                    detail.setdefault(kind, node.get("Target", "")[:120])
                elif rel_type in ("extensibility", "aFChunk", "attachedTemplate", "webextension"):
                    found[ACTIVE_KINDS[rel_type]] += 1
        elif _is_xml(content_type) and info.file_size < (64 << 20):
            data = package.read(key)
            if not _has_markers(data):
                continue
            text = data.decode("utf-8", "replace")
            for match in re.finditer(r"<w:instrText[^>]*>([^<]*)<|w:instr=\"([^\"]*)\"", text):
                if DANGEROUS_FIELD.search(match.group(1) or match.group(2) or ""):
                    found["dde-field"] += 1
            for match in re.finditer(r"<f(?:\s[^>]*)?>([^<]*)</f>", text):
                if DDE_FORMULA.search(match.group(1)):
                    found["dde-formula"] += 1
            if re.search(r"<definedName[^>]*name=\"(_xlnm\.)?auto_(open|close)", text, re.I):
                found["auto-open-name"] += 1
            if "altChunk" in text:
                found["altchunk"] += 1
    return [Finding(kind, detail.get(kind, ""), count) for kind, count in sorted(found.items())]


class OoxmlSanitizer(Sanitizer):
    handles = OOXML_TYPES

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        return inspect_package(open_package(src, ctx.policy.limits), ctx.policy)

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        from cdr.decide import output_type

        package = open_package(src, ctx.policy.limits)
        before = inspect_package(package, ctx.policy)
        rebuild = _Rebuild(package, ctx)
        rebuild.walk()
        parts = rebuild.write(dst)
        target = output_type(ctx.file_type, ctx.action)
        actions = [ActionTaken(f.kind, "removed", f.count) for f in before if f.kind != "macro-enabled-type"]
        reported = {a.what for a in actions}
        actions += [
            ActionTaken(kind, "removed", count)
            for kind, count in sorted(rebuild.dropped.items())
            if kind not in reported
        ]
        if target != ctx.file_type:
            actions.append(ActionTaken("macro-enabled-type", f"converted-to-{target.value}"))
        if rebuild.reencoded:
            actions.append(ActionTaken("pictures", "re-encoded", rebuild.reencoded))
        return SanitizeResult(target, tuple(actions), {"parts": parts})
