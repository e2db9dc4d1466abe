"""Office Open XML (docx/xlsx/pptx and their macro, template and show twins): rebuild.

The new package holds only parts reached from the package root through relationships on
the allow-list of ``ooxml_table.KEPT``: the relationship type (a whole URI), the role of
the part it starts from and the content type of its target must form a listed triple.
Everything else is left behind — VBA projects, ActiveX, OLE embeddings and packages,
Excel 4.0 macro sheets, ribbon callbacks, templates, external links, data connections and
query tables, altChunk imports, custom XML data, embedded fonts, add-ins, SVG, HTML and
MHT parts, EMF/WMF metafiles (Pillow cannot draw them here, so they are dropped —
``office.metafiles: drop``, the only value for now; the document's text is untouched). External relationships survive only as plain hyperlinks
with a scheme from ``office.hyperlinks``.

Every kept XML part is parsed with the hardened parser, cleaned by ``ooxml_content``
(namespaces, references, actions, fields, formulas) and serialised again; no part is
copied because its bytes looked harmless. Pictures must start the way their content type
says and are re-encoded by the image sanitizer. Relationship parts and
``[Content_Types].xml`` are written afresh from what was kept, members in a fixed order
with a fixed date, so the same input gives the same bytes. A macro-enabled main part
becomes its macro-free twin.
"""

from __future__ import annotations

import io
import posixpath
from collections import Counter, deque
from typing import BinaryIO
from xml.sax.saxutils import quoteattr

from lxml import etree

from cdr.errors import MalformedInput, SanitizeError
from cdr.model import Action, ActionTaken, Finding, SanitizeResult
from cdr.sanitizers.base import Context, Sanitizer
from cdr.sanitizers.ooxml_content import PartCleaner, short_name
from cdr.sanitizers.ooxml_package import (
    CT_NS,
    REL_NS,
    Package,
    Relationship,
    open_package,
    parse_part_declaring,
    relationships,
    rels_name,
    resolve,
    root_tag,
)
from cdr.sanitizers.ooxml_previews import DRAWN_SUFFIX, METAFILE_TYPES, drawn_picture, metafile_inches
from cdr.sanitizers.ooxml_table import (
    FAMILY,
    MACRO_FREE_MAIN,
    hyperlink_allowed,
    kept_target,
    picture_matches,
    relationship_kind,
)
from cdr.types import PICTURE_CONTENT_TYPES, output_type, types_where
from cdr.zipwriter import write_zip

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
    "customXml": "custom-xml-data",
    "mailMergeSource": "mail-merge-source",
    "mailMergeHeaderSource": "mail-merge-source",
    "hdphoto": "hd-photo",
}

_METAFILES = frozenset({"image/x-emf", "image/x-wmf", "image/emf", "image/wmf", "image/x-emz", "image/x-wmz"})
_MARKUP = ("svg", "html", "xhtml", "rfc822", "mht", "xml-dtd", "javascript", "x-ms-application")
_HEAD = 64 << 10  # enough of a part to hold its root element's start tag
_R_URIS = sorted(ns for ns, family in FAMILY.items() if family == "r")
# Every r:* value, by a name test in C, in each relationship namespace the part declares
# (an attribute can be in no other): one pass over a big sheet, not a namespace-uri() string
# made for each of its attributes.
_NAMED_IDS = {uri: etree.XPath("//@r:*", namespaces={"r": uri}) for uri in _R_URIS}


def _label(rel: Relationship, kind: str | None, content_type: str) -> str:
    """What a dropped relationship was, in words the result and ``cdr scan`` use."""
    lowered = content_type.lower()
    if lowered in _METAFILES:
        return "metafile-picture"
    if any(marker in lowered for marker in _MARKUP):
        return "markup-part"
    segment = rel.kind
    if segment in ACTIVE_KINDS:
        return ACTIVE_KINDS[segment]
    if kind and rel.external:
        return kind
    return f"{kind}-unexpected-type" if kind else "unknown-part"


class _Rebuild:
    def __init__(self, package: Package, ctx: Context) -> None:
        self.package = package
        self.ctx = ctx
        self.schemes = ctx.policy.office.hyperlinks
        self.dropped: Counter[str] = Counter()
        self.parts: dict[str, str] = {}  # part name (lower case) → content type
        self.rels: dict[str, list[Relationship]] = {}  # source part → kept relationships
        self.kinds: dict[str, dict[str, str]] = {}  # source part → relationship id → kind
        self.unreferenced: dict[str, set[str]] = {}  # part → external ids no element names
        self.reencoded = 0
        self.drawn: dict[str, str] = {}  # LibreOffice's drawing of a metafile → the metafile
        self.kept: Counter[str] = Counter()  # what stayed that a removal beside it might seem to take

    # ---------------------------------------------------------------- the graph
    def walk(self) -> None:
        queue: deque[str] = deque([""])
        while queue:
            source = queue.popleft()
            kept = []
            for found in relationships(self.package, source):
                rel = self._drawn_metafile(source, found)
                target = self._keep_relationship(source, rel)
                if target is None:
                    continue
                kept.append(rel)
                if target and target not in self.parts:
                    self.parts[target] = self.package.content_type(target) or ""
                    queue.append(target)
            self.rels[source] = kept
        if "officeDocument" not in self.kinds.get("", {}).values():
            raise MalformedInput("the package has no main document part")

    def _drawn_metafile(self, source: str, rel: Relationship) -> Relationship:
        """A metafile picture LibreOffice drew as a PNG beside it (a converted file's object
        preview): the relationship names the drawing instead, which is a picture like any."""
        if rel.external or relationship_kind(rel.type) != "image":
            return rel
        part = resolve(source, rel.target).lower()
        drawn = part + DRAWN_SUFFIX
        if (self.package.content_type(part) or "").lower() not in METAFILE_TYPES or not self.package.has(drawn):
            return rel
        if (self.package.content_type(drawn) or "image/png") != "image/png":
            return rel
        self.package.defaults.setdefault("png", "image/png")
        self.drawn[drawn] = part
        return Relationship(rel.id, rel.type, rel.target + DRAWN_SUFFIX, False)

    def _keep_relationship(self, source: str, rel: Relationship) -> str | None:
        """The target part to keep, "" for a kept external hyperlink, None to drop."""
        kind = relationship_kind(rel.type)
        kinds = self.kinds.setdefault(source, {})
        if rel.id in kinds or not rel.id:
            self.dropped["duplicate-relationship"] += 1
            return None
        if rel.external:
            if kind == "hyperlink" and hyperlink_allowed(rel.target.strip(), self.schemes):
                kinds[rel.id] = kind
                return ""
            self.dropped["external-" + _label(rel, kind, "")] += 1
            return None
        if kind == "officeDocument" and "officeDocument" in kinds.values():
            self.dropped["second-main-part"] += 1  # one document per package
            return None
        if kind == "custom-properties" and self.ctx.policy.office.properties == "strip":
            self.dropped["custom-properties"] += 1
            return None
        part = resolve(source, rel.target).lower()
        if not self.package.has(part):
            self.dropped["missing-part"] += 1
            return None
        content_type = self.package.content_type(part) or ""
        source_type = self.parts.get(source, "")
        if not kept_target(kind, source_type, content_type):
            self.dropped[_label(rel, kind, content_type)] += 1
            return None
        kinds[rel.id] = kind or ""
        return part

    def _rels_of(self, source: str, written: set[str]) -> list[Relationship]:
        """Kept relationships of ``source`` whose target was written (a picture may not be)."""
        unreferenced = self.unreferenced.get(source, set())
        return [
            r
            for r in self.rels.get(source, [])
            if ((r.id not in unreferenced) if r.external else resolve(source, r.target).lower() in written)
        ]

    # ---------------------------------------------------------------- content
    def pictures(self, dry_run: bool = False) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for part, content_type in self.parts.items():
            if content_type.lower() not in PICTURE_CONTENT_TYPES:
                continue
            data = self.package.read(part)
            if not picture_matches(data, content_type):
                self.dropped["picture-not-what-it-claims"] += 1
                continue
            picture = data if dry_run else self._reencode(data, content_type)
            if picture is not None and part in self.drawn and not dry_run:
                picture = drawn_picture(picture, metafile_inches(self.package.head(self.drawn[part], 64)))
            if picture is not None:
                out[part] = picture
        return out

    def _reencode(self, data: bytes, content_type: str) -> bytes | None:
        from cdr.sanitizers.image import ImageSanitizer

        file_type = PICTURE_CONTENT_TYPES[content_type.lower()]
        ctx = Context(file_type, Action.REBUILD, "picture", self.ctx.policy)
        out = io.BytesIO()
        try:
            ImageSanitizer().sanitize(io.BytesIO(data), out, ctx)
        except SanitizeError:
            self.dropped["unreadable-picture"] += 1
            return None
        self.reencoded += 1
        return out.getvalue()

    def markup(self, written: set[str]) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for part, content_type in self.parts.items():
            if content_type.lower() not in PICTURE_CONTENT_TYPES:
                out[part] = self._clean_part(part, written)
        return out

    def _clean_part(self, part: str, written: set[str]) -> bytes:
        root, declared = parse_part_declaring(self.package.read(part), part)
        rels = {r.id: r for r in self._rels_of(part, written)}
        try:
            PartCleaner(rels, self.kinds.get(part, {}), self.schemes, self.dropped, self.kept).clean(root, declared)
        except ValueError as exc:
            raise MalformedInput(f"{part}: {exc}") from None
        named = {value for uri in _R_URIS if uri in declared for value in _NAMED_IDS[uri](root)}
        self.unreferenced[part] = {r for r in rels if rels[r].external and r not in named}
        if self.ctx.policy.office.properties == "strip" and part.startswith("docprops/"):
            self._strip_properties(part, root)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    def _strip_properties(self, part: str, root: etree._Element) -> None:
        # core: keep only the title; app: drop who made it (the statistics stay)
        keep_only = ("title",) if part.startswith("docprops/core") else None
        for node in list(root):
            local = etree.QName(node).localname
            if (keep_only is not None and local not in keep_only) or (
                keep_only is None and local in ("Company", "Manager", "HyperlinkBase")
            ):
                root.remove(node)
                self.dropped["document-properties"] += 1

    # ---------------------------------------------------------------- writing
    def content_types(self, written: list[str]) -> bytes:
        lines = [
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{CT_NS}">',
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
            '<Default Extension="xml" ContentType="application/xml"/>',
        ]
        for part in written:
            content_type = self.parts[part]
            content_type = MACRO_FREE_MAIN.get(content_type.lower(), content_type)
            name = "/" + self.package.real_name(part)
            lines.append(f"<Override PartName={quoteattr(name)} ContentType={quoteattr(content_type)}/>")
        lines.append("</Types>")
        return "\n".join(lines).encode("utf-8")

    def rels_xml(self, source: str, written: set[str]) -> bytes:
        lines = [f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{REL_NS}">']
        folder = posixpath.dirname(self.package.real_name(source)) if source else ""
        for rel in self._rels_of(source, written):
            if rel.external:
                target, mode = rel.target.strip(), ' TargetMode="External"'
            else:  # a clean relative path, whatever spelling the original used
                real = self.package.real_name(resolve(source, rel.target))
                target, mode = posixpath.relpath(real, folder or "."), ""
            lines.append(
                f"<Relationship Id={quoteattr(rel.id)} Type={quoteattr(rel.type)} "
                f"Target={quoteattr(target)}{mode}/>"
            )
        lines.append("</Relationships>")
        return "\n".join(lines).encode("utf-8")

    def drop_unknown_vocabularies(self) -> None:
        """A part whose root element is in no vocabulary this rebuild knows (a newer Office
        extension, or something else dressed in a listed content type) is left out whole."""
        for part, content_type in list(self.parts.items()):
            if content_type.lower() in PICTURE_CONTENT_TYPES:
                continue
            tag = root_tag(self.package.head(part, _HEAD))
            if tag is not None and short_name(tag) is None:
                del self.parts[part]
                self.dropped["unknown-vocabulary-part"] += 1

    def write(self, dst: BinaryIO) -> int:
        self.drop_unknown_vocabularies()
        payload = self.pictures()
        written = set(payload) | {p for p, t in self.parts.items() if t.lower() not in PICTURE_CONTENT_TYPES}
        payload.update(self.markup(written))
        members: dict[str, bytes] = {"[Content_Types].xml": self.content_types(sorted(payload))}
        for source in ["", *sorted(payload)]:
            if self._rels_of(source, written):
                name = rels_name(self.package.real_name(source)) if source else "_rels/.rels"
                members[name] = self.rels_xml(source, written)
        for part in sorted(payload):
            members[self.package.real_name(part)] = payload[part]
        write_zip(dst, members.items())
        return len(payload)


def _main_is_macro_enabled(package: Package) -> bool:
    return any(t.lower() in MACRO_FREE_MAIN for t in package.overrides.values())


# Left behind by every rebuild but harmless where they are: not worth a finding in a scan.
_PASSIVE = frozenset(
    {"thumbnail", "custom-xml-data", "printer-settings", "document-properties", "custom-properties", "missing-part"}
)


def inspect_package(package: Package, ctx: Context) -> list[Finding]:
    """What a rebuild would leave behind that can act, counted by kind (a report only;
    verification never relies on it)."""
    rebuild = _Rebuild(package, ctx)
    rebuild.walk()
    rebuild.drop_unknown_vocabularies()
    written = set(rebuild.pictures(dry_run=True)) | {
        p for p, t in rebuild.parts.items() if t.lower() not in PICTURE_CONTENT_TYPES
    }
    rebuild.markup(written)
    findings = [Finding(kind, "", n) for kind, n in sorted(rebuild.dropped.items()) if kind not in _PASSIVE]
    if _main_is_macro_enabled(package):
        findings.append(Finding("macro-enabled-type"))
    return findings


class OoxmlSanitizer(Sanitizer):
    handles = types_where(sanitizer="ooxml")

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        return inspect_package(open_package(src, ctx.policy.limits), ctx)

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        package = open_package(src, ctx.policy.limits)
        rebuild = _Rebuild(package, ctx)
        rebuild.walk()
        parts = rebuild.write(dst)
        target = output_type(ctx.file_type, ctx.action)
        actions = [ActionTaken(kind, "removed", count) for kind, count in sorted(rebuild.dropped.items())]
        if target != ctx.file_type:
            actions.append(ActionTaken("macro-enabled-type", f"converted-to-{target.value}"))
        if rebuild.reencoded:
            actions.append(ActionTaken("pictures", "re-encoded", rebuild.reencoded))
        actions += [ActionTaken(kind, "kept", count) for kind, count in sorted(rebuild.kept.items())]
        return SanitizeResult(target, tuple(actions), {"parts": parts})
