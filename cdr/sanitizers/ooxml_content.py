"""Inside a kept OOXML part: what stays of the markup.

Every part is parsed (``ooxml_package.parse_part``) and cleaned here before it is written
again. Elements are named by namespace family and local name (``w:hyperlink`` for the
transitional and the strict WordprocessingML URI alike); the prefix written in the file
plays no part, and lxml has already resolved character references in text and
attribute values.

- Elements and attributes outside ``KNOWN_NAMESPACES`` are dropped; an ``mc:Choice`` that
  requires an unknown namespace goes, so the application takes the ``mc:Fallback``.
- Containers of active content (``NEVER_KEPT``) are dropped whatever they point at.
- An attribute that names a relationship (``r:id``, ``r:embed``, ``r:link`` …) must name a
  kept relationship of a kind ``REFERENCE_KINDS`` allows for that element; an external
  target may be named only by a hyperlink element. Otherwise the reference goes (a
  hyperlink keeps its text, a picture its frame).
- PowerPoint actions survive only as jumps inside the presentation.
- Fields and formulas are judged by ``ooxml_fields``.
"""

from __future__ import annotations

import re
from collections import Counter

from lxml import etree

from cdr.ooxml_attributes import tags_needing_a_look
from cdr.ooxml_attributes import tags_to_find as elements_to_find
from cdr.sanitizers.ooxml_fields import SCANNED_TAGS, formula_problem, neutralise_fields, neutralise_formulas
from cdr.sanitizers.ooxml_package import Relationship
from cdr.sanitizers.ooxml_previews import slide_object_picture, word_object_picture
from cdr.sanitizers.ooxml_table import FAMILY, KNOWN_NAMESPACES, hyperlink_allowed

# Elements that hold or point at something that runs, loads or leaks: dropped whole.
NEVER_KEPT = {
    "w:attachedTemplate": "remote-template",
    "w:subDoc": "sub-document",
    "w:frameset": "frame",
    "w:altChunk": "altchunk",
    "w:object": "ole-embedding",
    "w:control": "activex",
    "w:docVars": "document-variables",
    "w:mailMerge": "mail-merge-source",
    "w:entryMacro": "form-field-macro",
    "w:exitMacro": "form-field-macro",
    "w:saveThroughXslt": "xslt-transform",
    "w:embedRegular": "embedded-font",
    "w:embedBold": "embedded-font",
    "w:embedItalic": "embedded-font",
    "w:embedBoldItalic": "embedded-font",
    "o:OLEObject": "ole-embedding",
    "s:externalReferences": "external-link",
    "s:oleObjects": "ole-embedding",
    "s:controls": "activex",
    "s:webPublishObjects": "web-publish",
    "p:oleObj": "ole-embedding",
    "p:control": "activex",
    "p:controls": "activex",
    "p:embeddedFontLst": "embedded-font",
    "x:FmlaMacro": "form-control-macro",
    "w:fldData": "field-data",
    "c:externalData": "external-data",
    "a:videoFile": "media",
    "a:audioFile": "media",
    "a:quickTimeFile": "media",
    "a:wavAudioFile": "media",
    "a:audioCd": "media",
    "a:snd": "media",
}
# An object's preview stays as a plain picture where the object goes (ooxml_previews).
_OBJECT_PICTURES = {"w:object": word_object_picture, "p:oleObj": slide_object_picture}
# An animation command runs an OLE verb or calls into media (CVE-2014-4114 fired a packaged
# object's verb this way); the slide's whole timing tree goes, since a time-node list may
# not be left empty.
_DROP_ENCLOSING = {"p:cmd": ("p:timing", "animation-command")}
# Spreadsheet and chart shapes may name a macro to run on a click (also in another
# workbook, on a share) and link their text to a cell by a formula (§20.5.2.29, §21.3.2.23).
_SHAPES = frozenset(f"{family}:{local}" for family in ("xdr", "cdr") for local in ("sp", "pic", "graphicFrame", "cxnSp"))
# Excel's camera tool draws a live picture of a cell range, which could be in another book.
_CAMERA = "http://schemas.microsoft.com/office/drawing/2010/main:cameraTool"
_HYPERLINK_ELEMENTS = frozenset({"w:hyperlink", "s:hyperlink", "a:hlinkClick", "a:hlinkHover", "a:hlinkMouseOver"})
_DIAGRAM = frozenset({"diagramData", "diagramLayout", "diagramQuickStyle", "diagramColors"})
# element → the relationship kinds its r:* attributes may name
REFERENCE_KINDS: dict[str, frozenset[str]] = {
    "w:hyperlink": frozenset({"hyperlink"}),
    "s:hyperlink": frozenset({"hyperlink"}),
    "a:hlinkClick": frozenset({"hyperlink", "slide"}),
    "a:hlinkHover": frozenset({"hyperlink", "slide"}),
    "a:hlinkMouseOver": frozenset({"hyperlink", "slide"}),
    "w:headerReference": frozenset({"header"}),
    "w:footerReference": frozenset({"footer"}),
    "a:blip": frozenset({"image"}),
    "v:imagedata": frozenset({"image"}),
    "v:fill": frozenset({"image"}),
    "c:chart": frozenset({"chart"}),
    "c:userShapes": frozenset({"chartUserShapes"}),
    "dgm:relIds": _DIAGRAM,
    "s:sheet": frozenset({"worksheet", "chartsheet"}),
    "s:drawing": frozenset({"drawing"}),
    "s:legacyDrawing": frozenset({"vmlDrawing"}),
    "s:legacyDrawingHF": frozenset({"vmlDrawing"}),
    "s:picture": frozenset({"image"}),
    "s:tablePart": frozenset({"table"}),
    "s:pivotCache": frozenset({"pivotCacheDefinition"}),
    "s:pivotCacheDefinition": frozenset({"pivotCacheRecords"}),
    "p:sldId": frozenset({"slide"}),
    "p:sld": frozenset({"slide"}),
    "p:sldMasterId": frozenset({"slideMaster"}),
    "p:sldLayoutId": frozenset({"slideLayout"}),
    "p:notesMasterId": frozenset({"notesMaster"}),
    "p:handoutMasterId": frozenset({"handoutMaster"}),
    "p:tags": frozenset({"tags"}),
    "s:pageSetup": frozenset({"printerSettings"}),
}
# A failed reference on these loses only the attribute; the element is layout.
_KEEP_ELEMENT = frozenset({"a:blip", "v:imagedata", "v:fill", "s:pageSetup"})
# A sheet's page setup (paper, orientation, scaling, first page number) names the printer's
# binary settings (a DEVMODE, never kept); the setup itself is attributes of plain values
# and stays. The dropped relationship is counted once, as printer-settings.
_COUNTED_WITH_ITS_PART = frozenset({"s:pageSetup"})
_ACTION_ELEMENTS = frozenset({"a:hlinkClick", "a:hlinkHover", "a:hlinkMouseOver"})
_SAFE_ACTION = re.compile(
    r"ppaction://(?:hlinkshowjump\?jump=(?:firstslide|lastslide|nextslide|previousslide|lastslideviewed|endshow)"
    r"|hlinksldjump|noaction|customshow\?id=\d+(?:&return=(?:true|false))?)",
    re.I,
)
_VML = frozenset({"v", "o", "w10", "x", "pvml"})
_VML_PICTURES = frozenset({"v:imagedata", "v:fill", "v:stroke", "v:image", "o:signatureline"})
_R_NAMESPACES = frozenset(ns for ns, family in FAMILY.items() if family == "r")
_MC_REQUIRES = "Requires"
# VML drawings (cell comments) wrap themselves in <xml> and format comment text with a few
# HTML-like elements in no namespace; these, and only these, may stay.
_PLAIN_VML = frozenset({"xml", "div", "font", "br", "p", "span", "b", "i", "u"})


def short_name(tag: object, cache: dict[object, str | None] = {}) -> str | None:  # noqa: B006 - a cache
    """``w:hyperlink`` for any spelling of the element; None outside the known namespaces."""
    try:
        return cache[tag]
    except KeyError:
        pass
    name: str | None = None
    if tag in _PLAIN_VML:
        name = f":{tag}"
    elif isinstance(tag, str) and tag.startswith("{"):
        namespace, local = tag[1:].split("}", 1)
        if namespace in KNOWN_NAMESPACES:
            name = f"{FAMILY.get(namespace, namespace)}:{local}"
    if len(cache) < 4096:
        cache[tag] = name
    return name


# An element whose tag needs no look is judged only for its attributes, and only those
# naming a relationship or in an unknown namespace change anything (_namespaced_attributes).
_HARMLESS_ATTRIBUTES = KNOWN_NAMESPACES - _R_NAMESPACES


# Names whose elements are judged whatever their attributes hold; besides these, every
# element outside the known vocabularies and every VML element (_needs_a_look).
_LOOKED_AT = frozenset(
    {*NEVER_KEPT, *_DROP_ENCLOSING, "ep:HyperlinkBase", *_SHAPES, _CAMERA, *_ACTION_ELEMENTS, "mc:Choice"}
)
# A local name no table lists (no element can have it): whether it needs a look says
# whether every element of a namespace does.
_UNLISTED = "\x00"


def _needs_a_look(tag: object) -> bool:
    name = short_name(tag)
    return name is None or name in _LOOKED_AT or name[: name.index(":")] in _VML


def _looked_at_in(namespace: str) -> tuple[str, ...]:
    """The tags in ``namespace`` that ``_needs_a_look`` says yes to, for ``root.iter``:
    the whole namespace (``{ns}*``) when even an unlisted name needs a look (VML, or a
    namespace outside the vocabularies), otherwise the listed names spelt in it."""
    if _needs_a_look(f"{{{namespace}}}{_UNLISTED}"):
        return (f"{{{namespace}}}*",)
    locals_ = _LOOKED_AT_LOCALS.get(FAMILY.get(namespace, namespace), ())
    return tuple(sorted(tag for tag in (f"{{{namespace}}}{local}" for local in locals_) if _needs_a_look(tag)))


# family → the local names _LOOKED_AT lists in it
_LOOKED_AT_LOCALS: dict[str, list[str]] = {}
for _name in _LOOKED_AT:
    _family, _local = _name.rsplit(":", 1)
    _LOOKED_AT_LOCALS.setdefault(_family, []).append(_local)
# Made once, at import (in the zygote): a child's first part then spells nothing.
_LOOKED_AT_BY_NAMESPACE = {namespace: _looked_at_in(namespace) for namespace in KNOWN_NAMESPACES}


def _spelt(namespace: str) -> tuple[str, ...]:
    found = _LOOKED_AT_BY_NAMESPACE.get(namespace)
    return _looked_at_in(namespace) if found is None else found


def tags_to_find(declared: frozenset[str]) -> list[object]:
    """Everything ``root.iter`` must yield for ``_needs_a_look`` to see each element it
    would say yes to, in a part declaring ``declared``."""
    return elements_to_find(declared, _spelt)


class PartCleaner:
    """Clean one parsed part in place, counting what went into ``dropped``."""

    def __init__(self, rels: dict[str, Relationship], kinds: dict[str, str], schemes: tuple[str, ...],
                 dropped: Counter[str], kept: Counter[str] | None = None) -> None:
        self.rels = rels  # kept relationships of this part, by id
        self.kinds = kinds  # relationship id → kind
        self.schemes = schemes
        self.dropped = dropped
        self.kept = Counter() if kept is None else kept  # what stayed where a person might fear it went

    def clean(self, root: etree._Element, declared: frozenset[str]) -> None:
        """``declared``: every namespace the part declares (``parse_part_declaring``)."""
        if short_name(root.tag) is None:
            raise ValueError("the part's root element is in an unknown namespace")
        present = self._walk(root, declared)
        neutralise_fields(root, self.schemes, self.dropped, present)
        neutralise_formulas(root, self.dropped, present)

    def _walk(self, root: etree._Element, declared: frozenset[str]) -> frozenset[object] | None:
        """Every element that needs a look, in document order; nothing below a dropped element
        is judged or counted (after the first drop, an element no longer under ``root`` is
        skipped). lxml picks them out in C in one pass, by tag (``tags_to_find``: the tables'
        names spelt in each declared namespace, whole unknown and VML namespaces, elements
        in none) and by the tags holding an attribute naming a relationship or in an
        unknown namespace; the plain elements of the known vocabularies (most of a document
        or a sheet) never reach Python. The same pass finds the field and formula tags.

        Returns the tags of ``SCANNED_TAGS`` the part may still hold, so that the field and
        formula passes skip the scans for tags it never had; None when the walk drew an
        object's picture (new elements the set has not seen)."""
        by_attribute = tags_needing_a_look(root, declared, _HARMLESS_ATTRIBUTES)
        found = list(root.iter(*tags_to_find(declared), *by_attribute, *SCANNED_TAGS))
        present = frozenset(element.tag for element in found)
        worth_a_look = [e for e in found if e.tag in by_attribute or _needs_a_look(e.tag)]
        if not worth_a_look:
            return present
        pictures_drawn = self.kept["object-picture"]
        dropped_any = False
        for element in worth_a_look:
            if dropped_any and element.getroottree().getroot() is not root:
                continue
            dropped_any = self._judge(element) or dropped_any
        return present if self.kept["object-picture"] == pictures_drawn else None

    def _judge(self, element: etree._Element) -> bool:
        """Clean one element; True when it (and so everything below it) was dropped."""
        name = short_name(element.tag)
        if name is None or (name == "mc:Choice" and not self._requirements_known(element)):
            return self._remove(element, "foreign-markup")
        if name in NEVER_KEPT:
            if name in _OBJECT_PICTURES and _OBJECT_PICTURES[name](element, self._pictures()):
                self.dropped[NEVER_KEPT[name]] += 1
                self.kept["object-picture"] += 1
                return True
            return self._remove(element, NEVER_KEPT[name])
        if name == "ep:HyperlinkBase":  # would turn relative links into a share or a site
            if (element.text or "").strip():
                self.dropped["hyperlink-base"] += 1
            element.getparent().remove(element)
            return True
        if name in _DROP_ENCLOSING:
            return self._remove_enclosing(element, *_DROP_ENCLOSING[name])
        if element.attrib:
            references = self._namespaced_attributes(element)
            if references and not self._references_kept(element, name, references):
                return True
        if name in _SHAPES:
            self._shape_links(element)
        elif name == _CAMERA and formula_problem(element.get("cellRange") or ""):
            del element.attrib["cellRange"]
            self.dropped["formula-camera"] += 1
        if name in _ACTION_ELEMENTS and not self._action_ok(element):
            return self._remove(element, "presentation-action")
        if name[: name.index(":")] in _VML:
            self._vml_links(element, name)
        return False

    def _pictures(self) -> set[str]:
        """Ids of this part's relationships to a picture the package keeps."""
        return {i for i, rel in self.rels.items() if self.kinds.get(i) == "image" and not rel.external}

    def _namespaced_attributes(self, element: etree._Element) -> list[str]:
        """Drops attributes of unknown namespaces; returns those naming relationships."""
        references = []
        for attribute in list(element.attrib):
            if attribute[0] != "{":
                continue
            namespace = attribute[1:].split("}", 1)[0]
            if namespace in _R_NAMESPACES:
                references.append(attribute)
            elif namespace not in KNOWN_NAMESPACES:
                del element.attrib[attribute]
                self.dropped["foreign-attribute"] += 1
        return references

    @staticmethod
    def _requirements_known(choice: etree._Element) -> bool:
        prefixes = (choice.get(_MC_REQUIRES) or "").split()
        return all(choice.nsmap.get(p) in KNOWN_NAMESPACES for p in prefixes)

    def _references_kept(self, element: etree._Element, name: str, references: list[str]) -> bool:
        """False when the element went (a hyperlink leaves its runs in its place)."""
        allowed = REFERENCE_KINDS.get(name)
        for attribute in references:
            rel = self.rels.get(element.get(attribute) or "")
            fine = (
                rel is not None
                and (allowed is None or self.kinds.get(rel.id) in allowed)
                and (not rel.external or name in _HYPERLINK_ELEMENTS)
            )
            if fine:
                continue
            if name in _KEEP_ELEMENT or element.getparent() is None:
                del element.attrib[attribute]
                if name in _COUNTED_WITH_ITS_PART:
                    self.kept["page-setup"] += 1  # the result says so beside "printer settings removed"
                else:
                    self.dropped["reference"] += 1
                continue
            if name == "w:hyperlink":  # the words stay, the link goes
                parent = element.getparent()
                index = parent.index(element)
                for child in reversed(list(element)):
                    parent.insert(index, child)
            self._remove(element, "reference")
            return False
        return True

    def _action_ok(self, element: etree._Element) -> bool:
        action = element.get("action") or ""
        return not action or bool(_SAFE_ACTION.fullmatch(action))

    def _vml_links(self, element: etree._Element, name: str) -> None:
        """A VML shape may link to the web; a VML picture or fill never loads from outside."""
        for attribute in list(element.attrib):
            local = etree.QName(attribute).localname
            if local not in ("src", "href"):
                continue
            if local == "src" or name in _VML_PICTURES or not hyperlink_allowed(element.get(attribute), self.schemes):
                del element.attrib[attribute]
                self.dropped["vml-link"] += 1

    def _shape_links(self, element: etree._Element) -> None:
        if element.get("macro"):
            del element.attrib["macro"]
            self.dropped["shape-macro"] += 1
        if element.get("textlink") and formula_problem(element.get("textlink")):
            del element.attrib["textlink"]
            self.dropped["formula-shape-text"] += 1

    def _remove_enclosing(self, element: etree._Element, enclosing: str, kind: str) -> bool:
        owner = next((a for a in element.iterancestors() if short_name(a.tag) == enclosing), element)
        return self._remove(owner, kind)

    def _remove(self, element: etree._Element, kind: str) -> bool:
        parent = element.getparent()
        if parent is None:
            return False
        parent.remove(element)
        self.dropped[kind] += 1
        return True
