"""Allow-list verification of a released PDF (ISO 32000-1:2008; table numbers below).

The file is read as qpdf's JSON form (``write_qpdf_json``: every object once, names
already decoded from ``#xx`` escapes, strings marked ``u:``/``b:``, references written
``"n g R"``) and walked from the trailer. Each dictionary is held against the keys its
type may have *in the place it is reached from*: a font's keys where a font is expected,
an ExtGState's where a graphics state is, and so on down to nested direct dictionaries.
Any other key is a finding, as is an action other than a plain ``/GoTo`` or a ``/URI`` with
a scheme the policy allows, a name tree other than ``/Dests``, an object that nothing
reaches, a stream filter no viewer needs, a stream that decodes to more than the limit,
an incremental update and anything after the final ``%%EOF``.

Written against the specification, not against the sanitizer: nothing here is imported
from ``cdr.sanitizers``.
"""

from __future__ import annotations

import io
import json
import re
import zlib
from collections import Counter
from typing import BinaryIO

import pikepdf

from cdr.model import FileType, Finding
from cdr.verifiers import VerifyContext
from cdr.verifiers.links import mailto_ok

VERIFIES = frozenset({FileType.PDF})

INERT = ""  # the value may only be a number, name, string, boolean, null or array of them
MAX_DEPTH = 48
_REFERENCE = re.compile(r"^(\d+) (\d+) R$")
_TAIL = re.compile(rb"startxref\s+\d+\s*%%EOF\s*$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


def _keys(text: str) -> frozenset[str]:
    return frozenset("/" + key for key in text.split())


# Per type: the keys allowed, and for keys whose value is not inert, the type of the value.
KEYS: dict[str, frozenset[str]] = {
    "trailer": _keys("Size Root Info ID Type W Index Filter DecodeParms Length"),  # 7.5.5, 7.5.8
    "catalog": _keys(  # table 28
        "Type Pages Outlines Names PageMode PageLayout OpenAction Lang MarkInfo StructTreeRoot PageLabels "
        "OCProperties AcroForm"
    ),
    "page-tree": _keys("Type Parent Kids Count MediaBox CropBox Rotate Resources"),  # table 29
    "page": _keys(  # table 30
        "Type Parent MediaBox CropBox BleedBox TrimBox ArtBox Rotate UserUnit Contents Resources Annots Group "
        "StructParents Tabs"
    ),
    "resources": _keys("ExtGState ColorSpace Pattern Shading XObject Font ProcSet Properties"),  # table 33
    "font": _keys(  # tables 111, 112, 117, 119
        "Type Subtype Name BaseFont FirstChar LastChar Widths FontDescriptor Encoding ToUnicode "
        "DescendantFonts FontBBox FontMatrix CharProcs Resources CIDSystemInfo DW W DW2 W2 CIDToGIDMap"
    ),
    "encoding": _keys("Type BaseEncoding Differences CMapName CIDSystemInfo WMode UseCMap"),  # 114, 120
    "cid-system-info": _keys("Registry Ordering Supplement"),  # table 116
    "font-descriptor": _keys(  # tables 122, 124
        "Type FontName FontFamily FontStretch FontWeight Flags FontBBox ItalicAngle Ascent Descent "
        "Leading CapHeight XHeight StemV StemH AvgWidth MaxWidth MissingWidth FontFile FontFile2 "
        "FontFile3 CharSet Style Lang FD CIDSet"
    ),
    "font-style": _keys("Panose"),
    "font-file": _keys("Length1 Length2 Length3 Subtype"),  # table 127
    "plain-stream": frozenset(),
    "graphics-state": _keys(  # table 58; /HT only as a name (halftone dictionaries are not kept)
        "Type LW LC LJ ML D RI OP op OPM Font BG BG2 UCR UCR2 TR TR2 HT FL SM SA BM SMask CA ca AIS TK "
        "UseBlackPtComp"
    ),
    "soft-mask": _keys("Type S G BC TR"),  # table 144
    "function": _keys(
        "FunctionType Domain Range Size BitsPerSample Order Encode Decode C0 C1 N Functions Bounds"
    ),
    "pattern": _keys(
        "Type PatternType PaintType TilingType BBox XStep YStep Resources Matrix Shading ExtGState"
    ),
    "shading": _keys(  # tables 78–82
        "ShadingType ColorSpace Background BBox AntiAlias Coords Domain Function Extend Matrix "
        "BitsPerCoordinate BitsPerComponent BitsPerFlag Decode VerticesPerRow"
    ),
    "color-space-part": _keys(  # ICC streams, CIE dictionaries, tint transforms, DeviceN attributes
        "N Alternate Range WhitePoint BlackPoint Gamma Matrix Subtype Colorants Process Components "
        "ColorSpace FunctionType Domain Size BitsPerSample Order Encode Decode C0 C1 Functions Bounds"
    ),
    "image": _keys(  # table 89
        "Type Subtype Width Height ColorSpace BitsPerComponent Intent ImageMask Mask Decode Interpolate "
        "SMask SMaskInData Matte"
    ),
    "form": _keys("Type Subtype FormType BBox Matrix Resources Group OC"),  # table 95
    "group": _keys("Type S CS I K"),  # tables 96, 147
    "optional-content": _keys("Type Name Intent OCGs P"),  # tables 98, 99
    "decode-parms": _keys(
        "Predictor Colors BitsPerComponent Columns EarlyChange K EndOfLine EncodedByteAlign Rows "
        "EndOfBlock BlackIs1 DamagedRowsBeforeError ColorTransform JBIG2Globals"
    ),
    "link": _keys("Type Subtype Rect Border A Dest F StructParent"),  # table 173
    "markup": _keys(  # tables 164, 170, 172, 174–182
        "Type Subtype Rect Contents C CA F Border BS BE QuadPoints InkList Vertices L T M NM Name IC LE "
        "DA Q RD CreationDate Subj IT LL LLE CL AS AP StructParent"
    ),
    # 12.7.2, table 218: no /XFA, /CO (calculation order: scripts), /SigFlags, /NeedAppearances
    "acroform": _keys("Fields DA Q DR"),
    "form-resources": _keys("Font"),
    # a field, a widget, or the two merged (tables 164, 188, 220, 222, 226, 229); no /A, /AA
    "field": _keys(
        "FT Parent Kids T TU TM Ff V DV Opt TI I MaxLen Q DA "
        "Type Subtype Rect F AS Border BS MK AP P H C Contents NM M StructParent"
    ),
    "widget-look": _keys("R BC BG CA RC AC TP I RI IX IF"),  # table 189
    "icon-fit": _keys("SW S A FB"),  # table 247
    "mark-info": _keys("Marked Suspects UserProperties"),  # table 321
    "structure-root": _keys("Type K ParentTree ParentTreeNextKey RoleMap ClassMap"),  # table 322
    "structure-element": _keys("Type S P K Pg Alt ActualText E T Lang C A"),  # table 323
    "marked-content-reference": _keys("Type Pg MCID"),  # table 324, without /Stm and /StmOwn
    "object-reference": _keys("Type Pg Obj"),  # table 325
    "parent-tree": _keys("Nums Kids Limits"),  # 7.9.7
    "page-labels": _keys("Nums Kids Limits"),
    "page-label": _keys("Type S P St"),  # table 159
    "layers": _keys("OCGs D Configs"),  # table 100
    "layer-config": _keys("Name Creator BaseState ON OFF Intent Order ListMode RBGroups Locked"),  # table 101
    "border-style": _keys("Type W S D"),
    "border-effect": _keys("S I"),
    "appearance": _keys("N R D"),
    "action": _keys("Type S D URI"),  # only /GoTo and /URI pass _check_action
    "destination-dictionary": _keys("D"),  # 12.3.2.3: a named destination's value
    "outline": _keys("Type First Last Count"),  # table 152
    "outline-item": _keys("Title Parent Prev Next First Last Count Dest A C F"),  # table 153
    "names": _keys("Dests"),  # table 31: no JavaScript, EmbeddedFiles, AP…
    "name-tree": _keys("Names Kids Limits"),  # table 36
    "info": _keys("Title Author Subject Keywords Creator Producer CreationDate ModDate Trapped"),
}
# Keys whose value must be one of a few names: an /S naming a mask or group type must not
# name an action type instead (tables 96, 144, 147).
NAMES: dict[tuple[str, str], frozenset[str]] = {
    ("soft-mask", "/S"): _keys("Alpha Luminosity"),
    ("soft-mask", "/Type"): _keys("Mask"),
    ("group", "/S"): _keys("Transparency"),
    ("group", "/Type"): _keys("Group"),
    ("field", "/FT"): _keys("Tx Btn Ch Sig"),
    ("field", "/Subtype"): _keys("Widget"),
    ("field", "/Type"): _keys("Annot"),
    ("page-label", "/S"): _keys("D R r A a"),
    ("page-label", "/Type"): _keys("PageLabel"),
    ("layer-config", "/BaseState"): _keys("ON OFF Unchanged"),
    ("layer-config", "/ListMode"): _keys("AllPages VisiblePages"),
    ("structure-root", "/Type"): _keys("StructTreeRoot"),
    ("structure-element", "/Type"): _keys("StructElem"),
    ("marked-content-reference", "/Type"): _keys("MCR"),
    ("object-reference", "/Type"): _keys("OBJR"),
}
# Attribute objects (14.7.5) of the owners whose attributes are layout data (table 341);
# their keys are many and open-ended, so each value must be inert instead.
ATTRIBUTE_OWNERS = _keys("Layout List Table PrintField")
# Structure types of ISO 32000-1 §14.8.4 and ISO 32000-2 §14.8.4; any other type an element
# names must reach one of these through the role map (14.7.3).
STRUCTURE_TYPES = _keys(
    "Document DocumentFragment Part Art Sect Div Aside NonStruct Private BlockQuote Caption TOC TOCI Index P H "
    "H1 H2 H3 H4 H5 H6 Title FENote L LI Lbl LBody Table TR TH TD THead TBody TFoot Span Quote Note Reference "
    "BibEntry Code Link Annot Ruby RB RT RP Warichu WT WP Figure Formula Form Sub Em Strong Artifact"
)
_STREAM_KEYS = _keys("Length Filter DecodeParms DL")  # 7.3.8.2 without /F, /FFilter, /FDecodeParms

CHILDREN: dict[str, dict[str, str]] = {
    "trailer": {"/Root": "catalog", "/Info": "info", "/DecodeParms": "decode-parms"},
    "catalog": {
        "/Pages": "page-tree",
        "/Outlines": "outline",
        "/Names": "names",
        "/OpenAction": "destination",
        "/MarkInfo": "mark-info",
        "/StructTreeRoot": "structure-root",
        "/PageLabels": "page-labels",
        "/OCProperties": "layers",
        "/AcroForm": "acroform",
    },
    "page-tree": {"/Kids": "page-node", "/Parent": "page-tree", "/Resources": "resources"},
    "page": {
        "/Parent": "page-tree",
        "/Contents": "plain-stream",
        "/Resources": "resources",
        "/Annots": "annotation",
        "/Group": "group",
    },
    "resources": {
        "/ExtGState": "map:graphics-state",
        "/ColorSpace": "map:color-space",
        "/Pattern": "map:pattern",
        "/Shading": "map:shading",
        "/XObject": "map:xobject",
        "/Font": "map:font",
        "/Properties": "map:optional-content",
    },
    "font": {
        "/FontDescriptor": "font-descriptor",
        "/Encoding": "encoding",
        "/ToUnicode": "encoding",
        "/DescendantFonts": "font",
        "/CharProcs": "map:plain-stream",
        "/Resources": "resources",
        "/CIDSystemInfo": "cid-system-info",
        "/CIDToGIDMap": "plain-stream",
    },
    "encoding": {"/CIDSystemInfo": "cid-system-info", "/UseCMap": "encoding"},
    "font-descriptor": {
        "/FontFile": "font-file",
        "/FontFile2": "font-file",
        "/FontFile3": "font-file",
        "/Style": "font-style",
        "/FD": "map:font-descriptor",
        "/CIDSet": "plain-stream",
    },
    "graphics-state": {
        "/Font": "font",
        "/SMask": "soft-mask",
        **dict.fromkeys(("/BG", "/BG2", "/UCR", "/UCR2", "/TR", "/TR2"), "function"),
    },
    "soft-mask": {"/G": "xobject", "/TR": "function"},
    "function": {"/Functions": "function"},
    "pattern": {"/Resources": "resources", "/Shading": "shading", "/ExtGState": "graphics-state"},
    "shading": {"/ColorSpace": "color-space", "/Function": "function"},
    "color-space": {},
    "color-space-part": {
        "/Alternate": "color-space",
        "/Colorants": "map:color-space",
        "/Process": "color-space-part",
        "/ColorSpace": "color-space",
        "/Functions": "function",
    },
    "image": {"/ColorSpace": "color-space", "/Mask": "image", "/SMask": "image"},
    "form": {"/Resources": "resources", "/Group": "group", "/OC": "optional-content"},
    "group": {"/CS": "color-space"},
    "optional-content": {"/OCGs": "optional-content"},
    "decode-parms": {"/JBIG2Globals": "plain-stream"},
    "link": {"/A": "action", "/Dest": "destination"},
    "markup": {"/AP": "appearance", "/BS": "border-style", "/BE": "border-effect"},
    "appearance": {"/N": "appearance-state", "/R": "appearance-state", "/D": "appearance-state"},
    "action": {"/D": "destination"},
    "destination-dictionary": {"/D": "destination"},
    "outline": {"/First": "outline-item", "/Last": "outline-item"},
    "outline-item": {
        "/Parent": "outline-parent",
        "/Prev": "outline-item",
        "/Next": "outline-item",
        "/First": "outline-item",
        "/Last": "outline-item",
        "/Dest": "destination",
        "/A": "action",
    },
    "names": {"/Dests": "name-tree"},
    "name-tree": {"/Kids": "name-tree", "/Names": "destination"},
    "acroform": {"/Fields": "field", "/DR": "form-resources"},
    "form-resources": {"/Font": "map:font"},
    "field": {
        "/Parent": "field",
        "/Kids": "field",
        "/AP": "appearance",
        "/BS": "border-style",
        "/MK": "widget-look",
        "/P": "page-node",
    },
    "widget-look": {"/I": "form", "/RI": "form", "/IX": "form", "/IF": "icon-fit"},
    "structure-root": {
        "/K": "structure-kid",
        "/ParentTree": "parent-tree",
        "/RoleMap": "map:",
        "/ClassMap": "map:attributes",
    },
    "structure-element": {
        "/P": "structure-parent",
        "/K": "structure-kid",
        "/Pg": "page-node",
        "/A": "attributes",
    },
    "marked-content-reference": {"/Pg": "page-node"},
    "object-reference": {"/Pg": "page-node", "/Obj": "annotation"},
    "parent-tree": {"/Nums": "structure-element", "/Kids": "parent-tree"},
    "page-labels": {"/Nums": "page-label", "/Kids": "page-labels"},
    "layers": {"/OCGs": "optional-content", "/D": "layer-config", "/Configs": "layer-config"},
    "layer-config": dict.fromkeys(("/ON", "/OFF", "/Order", "/RBGroups", "/Locked"), "optional-content"),
}
_IMAGE_CODECS = frozenset({"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode"})
# Places where a stream has no business: a viewer reads these as dictionaries of data.
_NEVER_STREAMS = frozenset(
    {INERT, "outline-item", "action", "destination", "annotation", "info", "acroform", "field"}
    | {"structure-root", "structure-kid", "structure-element", "structure-parent", "parent-tree"}
    | {"page-labels", "layers", "layer-config", "mark-info", "widget-look"}
)
_ASCII_FILTERS = frozenset({"/ASCIIHexDecode", "/ASCII85Decode"})
_ABBREVIATIONS = {
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/Fl": "/FlateDecode",
    "/DCT": "/DCTDecode",
}


class _Walk:
    """One output, walked once per (object, type): findings, reached objects, streams."""

    def __init__(self, objects: dict[str, dict], ctx: VerifyContext) -> None:
        self.objects = objects
        self.schemes = tuple(s.lower() for s in ctx.policy.pdf.links)
        self.done: set[tuple[str, str]] = set()
        self.reached: set[str] = set()
        self.streams: dict[str, str] = {}  # reference → type, for the decoded-size pass
        self.found: Counter[str] = Counter()
        self.first: dict[str, str] = {}
        self.queue: list[tuple[str, str, str]] = []
        self.element_types: dict[str, str] = {}  # a structure element's /S → where first seen
        self.role_map: dict[str, object] = {}

    def note(self, kind: str, detail: str) -> None:
        self.found[kind] += 1
        self.first.setdefault(kind, detail[:200])

    def value(self, value: object, kind: str, where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.note("pdf-too-deep", where)
            return
        if isinstance(value, str) and _REFERENCE.match(value):
            self.indirect(value, kind, where)
        elif isinstance(value, list):
            self.array(value, kind, where, depth)
        elif isinstance(value, dict):
            if kind == INERT or kind == "plain-stream":
                self.note("pdf-dictionary-not-allowed", where)
            else:
                self.dictionary(value, kind, where, depth, is_stream=False)

    def indirect(self, reference: str, kind: str, where: str) -> None:
        """Queued, not followed: long chains (outline siblings, page trees) cost no stack."""
        if (reference, kind) not in self.done:
            self.done.add((reference, kind))
            self.reached.add(reference)
            self.queue.append((reference, kind, where))

    def run(self, trailer: dict) -> None:
        self.dictionary(trailer, "trailer", "trailer", 0, is_stream=False)
        while self.queue:
            reference, kind, where = self.queue.pop()
            self.resolve(reference, kind, where)

    def resolve(self, reference: str, kind: str, where: str) -> None:
        """One indirect object, checked as ``kind``; its direct nesting starts at depth 0."""
        body = self.objects.get(f"obj:{reference}")
        if body is None:
            return  # a reference to a missing object reads as null
        if "stream" not in body:
            self.value(body.get("value"), kind, reference, 0)
        elif kind in _NEVER_STREAMS:
            self.note("pdf-stream-not-allowed", f"{where} → {reference}")
        else:
            refined = self.dictionary(body["stream"].get("dict", {}), kind, reference, 0, is_stream=True)
            if refined:
                self.streams[reference] = refined

    def array(self, items: list, kind: str, where: str, depth: int) -> None:
        if kind == "destination":
            self.destination(items, where, depth)
            return
        if kind == "color-space":
            kind = "color-space-part"
        for item in items[:1_000_000]:
            if not isinstance(item, (int, float)):  # numbers (widths, coordinates) need nothing
                self.value(item, kind, where, depth + 1)

    def destination(self, items: list, where: str, depth: int) -> None:
        """``[page /XYZ left top zoom]`` and the like (12.3.2.2); in a Dests name tree the
        array alternates names and destinations."""
        for item in items:
            if isinstance(item, str) and _REFERENCE.match(item):
                body = self.objects.get(f"obj:{item}", {})
                target = body.get("value")
                if not (isinstance(target, dict) and target.get("/Type") == "/Page"):
                    self.note("pdf-destination-not-a-page", f"{where} → {item}")
                self.reached.add(item)
            elif isinstance(item, list):
                self.destination(item, where, depth + 1)
            elif isinstance(item, dict):
                self.note("pdf-dictionary-not-allowed", f"{where}: inside a destination")

    def dictionary(self, entries: dict, kind: str, where: str, depth: int, is_stream: bool) -> str:
        """Check one dictionary; returns the type it was checked as ("" if none fits)."""
        kind = self._refine(entries, kind, where, depth, is_stream)
        if not kind:
            return ""
        allowed = KEYS[kind] | (_STREAM_KEYS if is_stream else frozenset())
        children = CHILDREN.get(kind, {})
        for key, item in entries.items():
            if key not in allowed:
                self.note("pdf-key-not-allowed", f"{key} in {kind} ({where})")
                continue
            if (kind, key) in NAMES and item not in NAMES[(kind, key)]:
                self.note("pdf-name-not-allowed", f"{key} {item} in {kind} ({where})")
                continue
            if is_stream and key == "/DecodeParms":
                self.value(item, "decode-parms", where, depth + 1)
                continue
            self.value(item, children.get(key, INERT), f"{where} {key}", depth + 1)
        if kind == "structure-element":
            self.element_types.setdefault(str(entries.get("/S")), where)
        elif kind == "structure-root":
            role_map = entries.get("/RoleMap")
            if isinstance(role_map, str) and _REFERENCE.match(role_map):
                role_map = self.objects.get(f"obj:{role_map}", {}).get("value")
            self.role_map = role_map if isinstance(role_map, dict) else {}
        if kind == "action":
            self._check_action(entries, where)
        elif kind == "info":
            for key, item in entries.items():
                if key != "/Trapped" and not (isinstance(item, str) and item.startswith(("u:", "b:"))):
                    self.note("pdf-info-not-text", f"{key} ({where})")
        return kind

    def _refine(self, entries: dict, kind: str, where: str, depth: int, is_stream: bool) -> str:
        """The concrete type of a dictionary whose place allows several; a map (resource
        names → fonts, glyph names → procedures…) is checked entry by entry here."""
        if kind.startswith("map:"):
            for key, item in entries.items():
                self.value(item, kind[4:], f"{where} {key}", depth + 1)
            return ""
        subtype = entries.get("/Subtype")
        if kind == "xobject":
            refined = {"/Image": "image", "/Form": "form"}.get(subtype, "")
            if not refined:
                self.note("pdf-xobject-not-allowed", f"{subtype} ({where})")
            return refined
        if kind == "annotation":
            kinds = {"/Link": "link", "/Widget": "field"}
            refined = kinds.get(subtype, "markup" if subtype in _MARKUP else "")
            if not refined:
                self.note("pdf-annotation-not-allowed", f"{subtype} ({where})")
            return refined
        if kind == "page-node":
            return "page" if entries.get("/Type") == "/Page" else "page-tree"
        if kind == "structure-kid":
            kinds = {"/MCR": "marked-content-reference", "/OBJR": "object-reference"}
            return kinds.get(entries.get("/Type"), "structure-element")
        if kind == "structure-parent":
            return "structure-root" if entries.get("/Type") == "/StructTreeRoot" else "structure-element"
        if kind == "attributes":
            self._attributes(entries, where)
            return ""
        if kind == "appearance-state":
            # an appearance is a form stream, or a dictionary of them by state (12.5.5)
            return "form" if is_stream else self._refine(entries, "map:form", where, depth, is_stream)
        if kind == "outline-parent":
            return "outline-item" if "/Title" in entries else "outline"
        if kind in ("color-space", "destination"):
            return "color-space-part" if kind == "color-space" else "destination-dictionary"
        return kind

    def structure_types(self) -> None:
        """Each element's type is standard, or the role map leads it to one in a few steps."""
        for kind, where in self.element_types.items():
            current, steps = kind, 0
            while current not in STRUCTURE_TYPES and current in self.role_map and steps < 16:
                current, steps = self.role_map[current], steps + 1
            if current not in STRUCTURE_TYPES:
                self.note("pdf-structure-type-unknown", f"{kind} ({where})")

    def _attributes(self, entries: dict, where: str) -> None:
        """An attribute object: a standard layout owner, and nothing but data in it."""
        if entries.get("/O") not in ATTRIBUTE_OWNERS:
            self.note("pdf-attribute-owner-not-allowed", f"{entries.get('/O')} ({where})")
            return
        for key, item in entries.items():
            self.value(item, INERT, f"{where} {key}", MAX_DEPTH - 8)

    def _check_action(self, entries: dict, where: str) -> None:
        kind = entries.get("/S")
        if kind == "/GoTo" and "/URI" not in entries:
            return
        if kind == "/URI" and "/D" not in entries:
            uri = _text(entries.get("/URI"))
            scheme = _SCHEME.match(uri or "")
            if (
                uri is not None
                and scheme
                and scheme.group(1).lower() in self.schemes
                and uri.isprintable()
                and (scheme.group(1).lower() != "mailto" or mailto_ok(uri))
            ):
                return
            self.note("pdf-uri-not-allowed", f"{(uri or '?')[:80]!r} ({where})")
            return
        self.note("pdf-action-not-allowed", f"{kind} ({where})")


_MARKUP = frozenset(
    "/" + name
    for name in (
        "Text Highlight Underline StrikeOut Squiggly Square Circle Line Polygon PolyLine Ink FreeText "
        "Stamp Caret Watermark"
    ).split()
)


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    if value.startswith("u:"):
        return value[2:]
    if value.startswith("b:"):
        try:
            return bytes.fromhex(value[2:]).decode("latin-1")
        except ValueError:
            return None
    return None


def _raw_findings(data: bytes) -> list[Finding]:
    """One body, one cross-reference section, nothing after the final %%EOF (7.5.6)."""
    found = []
    if not re.match(rb"%PDF-[12]\.\d", data[:16]):
        found.append(Finding("pdf-header", "the file does not start with %PDF-"))
    if not _TAIL.search(data[-1024:]):
        found.append(Finding("pdf-trailing-data", "bytes after startxref … %%EOF"))
    if data.count(b"%%EOF") != 1:
        found.append(Finding("pdf-incremental-update", f"{data.count(b'%%EOF')} %%EOF markers"))
    return found


def _filters_allowed(entries: dict, kind: str) -> list[str] | None:
    """The filter chain if a viewer needs nothing else: Flate, or ASCII that qpdf could
    not undo (decodes to less than is stored), and for images one image codec last."""
    raw = entries.get("/Filter")
    chain = [
        _ABBREVIATIONS.get(f, f) for f in ([] if raw is None else raw if isinstance(raw, list) else [raw])
    ]
    codecs = [f for f in chain if f in _IMAGE_CODECS]
    if codecs and (kind != "image" or len(codecs) > 1 or chain[-1] not in _IMAGE_CODECS):
        return None
    general = chain[: len(chain) - len(codecs)]
    if general in ([], ["/FlateDecode"]) or (general and set(general) <= _ASCII_FILTERS):
        return chain
    return None


def _inflated(raw: bytes, limit: int) -> int:
    inflater, total, pending = zlib.decompressobj(), 0, raw
    try:
        while pending and not inflater.eof and total <= limit:
            total += len(inflater.decompress(pending, 1 << 20))
            pending = inflater.unconsumed_tail
        total += len(inflater.flush())
    except zlib.error:
        pass  # a viewer stops at the damage too
    return total


def _stream_findings(pdf: pikepdf.Pdf, walk: _Walk, ctx: VerifyContext) -> list[Finding]:
    limits = ctx.policy.limits
    found: list[Finding] = []
    total = 0
    for reference, kind in walk.streams.items():
        entries = walk.objects[f"obj:{reference}"]["stream"].get("dict", {})
        chain = _filters_allowed(entries, kind)
        if chain is None:
            found.append(Finding("pdf-filter-not-allowed", f"{entries.get('/Filter')} on {reference}"))
            continue
        if chain and chain[0] == "/FlateDecode":
            number, generation = (int(n) for n in reference.split()[:2])
            raw = pdf.get_object((number, generation)).read_raw_bytes()
            size = _inflated(raw, limits.max_stream_size)
        else:
            size = entries.get("/Length", 0) if isinstance(entries.get("/Length"), int) else 0
        if size > limits.max_stream_size:
            found.append(
                Finding("pdf-stream-too-large", f"{reference} decodes to over {limits.max_stream_size}")
            )
        total += size
    if total > limits.max_decoded_size:
        found.append(Finding("pdf-streams-too-large", f"over {limits.max_decoded_size} bytes decoded in all"))
    return found


def _unreached(walk: _Walk) -> list[Finding]:
    """Objects nothing reaches: a viewer that repairs files could still find them."""
    loose = []
    for key, body in walk.objects.items():
        if not key.startswith("obj:") or key[4:] in walk.reached:
            continue
        entries = body.get("stream", {}).get("dict", {})
        if entries.get("/Type") in ("/ObjStm", "/XRef"):
            continue
        loose.append(key[4:])
    return [Finding("pdf-unreferenced-object", ", ".join(loose[:5]), len(loose))] if loose else []


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    data = src.read(ctx.policy.limits.max_output_size + 1)
    found = _raw_findings(data)
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, RuntimeError) as exc:
        return [Finding("pdf-unreadable", str(exc)[:200])]
    with pdf:
        if pdf.is_encrypted:
            return [Finding("pdf-encrypted")]
        buffer = io.BytesIO()
        pdf.write_qpdf_json(
            buffer, json_stream_data=pikepdf.JSONStreamData.none, decode_level=pikepdf.StreamDecodeLevel.none
        )
        sections = json.loads(buffer.getvalue())["qpdf"]
        objects = sections[1] if len(sections) > 1 else {}
        walk = _Walk(objects, ctx)
        trailer = objects.get("trailer", {}).get("value", {})
        walk.run(trailer)
        walk.structure_types()
        found += _stream_findings(pdf, walk, ctx)
    found += _unreached(walk)
    found += [
        Finding(kind, f"first: {walk.first[kind]}", count) for kind, count in sorted(walk.found.items())
    ]
    return found
