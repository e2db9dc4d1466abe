"""The allow-list of a released PDF, as tables (ISO 32000-1:2008; table numbers below):
per type of dictionary, the keys it may have, the names some keys may hold, and the type
of each value that is not inert. ``cdr/verifiers/pdf.py`` walks a file against them.

Written against the specification, not against the sanitizer: nothing here is imported
from ``cdr.sanitizers``.
"""

from __future__ import annotations

INERT = ""  # the value may only be a number, name, string, boolean, null or array of them


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
    "font-file-1": _keys("Length1 Length2 Length3 Subtype"),  # a Type 1 program: its header is read (pdf_streams)
    "plain-stream": frozenset(),
    "content": frozenset(),  # drawing instructions: read by pdf_streams
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
    # a form's place (an appearance, an icon, a mask) takes a form: never a PostScript XObject
    ("form", "/Subtype"): _keys("Form"),
    ("form", "/Type"): _keys("XObject"),
    ("image", "/Subtype"): _keys("Image"),
    ("image", "/Type"): _keys("XObject"),
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
STREAM_KEYS = _keys("Length Filter DecodeParms DL")  # 7.3.8.2 without /F, /FFilter, /FDecodeParms

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
        "/Contents": "content",
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
        "/CharProcs": "map:content",
        "/Resources": "resources",
        "/CIDSystemInfo": "cid-system-info",
        "/CIDToGIDMap": "plain-stream",
    },
    "encoding": {"/CIDSystemInfo": "cid-system-info", "/UseCMap": "encoding"},
    "font-descriptor": {
        "/FontFile": "font-file-1",
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
# Places where a stream has no business: a viewer reads these as dictionaries of data.
NEVER_STREAMS = frozenset(
    {INERT, "outline-item", "action", "destination", "annotation", "info", "acroform", "field"}
    | {"structure-root", "structure-kid", "structure-element", "structure-parent", "parent-tree"}
    | {"page-labels", "layers", "layer-config", "mark-info", "widget-look"}
)

MARKUP = frozenset(
    "/" + name
    for name in (
        "Text Highlight Underline StrikeOut Squiggly Square Circle Line Polygon PolyLine Ink FreeText "
        "Stamp Caret Watermark"
    ).split()
)
