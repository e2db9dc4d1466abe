"""PDF: a pikepdf walk of every object, direct dictionaries and arrays included, against allow-lists."""

from __future__ import annotations

import io
import zlib

import pikepdf

from tests.attacks.inspector.common import MAX_DECODED_STREAM, MAX_DEPTH, MAX_ICC, inflates_beyond, safe_link
from tests.attacks.inspector.images import check_icc

ACTION_KEYS = {"/A", "/OpenAction", "/Next", "/PA"}
ANNOTATION_SUBTYPES = {"/Link", "/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine",
                       "/Highlight", "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/Popup",
                       "/Widget"}  # a form field stays fillable: its /A and /AA are checked like any other
CATALOG_KEYS = {"/Type", "/Pages", "/Outlines", "/PageMode", "/PageLayout", "/ViewerPreferences", "/Lang",
                "/MarkInfo", "/StructTreeRoot", "/Names", "/Dests", "/PageLabels", "/OCProperties",
                "/OutputIntents", "/Version", "/Metadata", "/OpenAction", "/Threads", "/Extensions", "/AcroForm"}
PAGE_KEYS = {"/Type", "/Parent", "/Resources", "/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox", "/Rotate",
             "/Contents", "/Annots", "/Group", "/StructParents", "/Tabs", "/UserUnit", "/LastModified", "/Trans",
             "/Dur", "/BoxColorInfo"}
DANGEROUS_ACTIONS = {"/JavaScript", "/Launch", "/GoToR", "/GoToE", "/SubmitForm", "/ResetForm", "/ImportData",
                     "/Rendition", "/Movie", "/Sound", "/Hide", "/SetOCGState", "/Trans", "/GoTo3DView",
                     "/RichMediaExecute", "/Named", "/Thread", "/ECMAScript"}
FORBIDDEN_KEYS = {"/JS", "/JavaScript", "/AA", "/EmbeddedFiles", "/EF", "/XFA", "/CO", "/RichMediaContent",
                  "/RichMediaSettings", "/3DD", "/Launch", "/Win", "/Mac", "/Unix", "/URI" + "Base", "/NeedsRendering",
                  "/Collection", "/Perms"}
FORBIDDEN_SUBTYPES = {"/PS", "/3D", "/RichMedia", "/FileAttachment", "/Sound", "/Movie", "/Screen", "/U3D",
                      "/PRC"}


def inspect_pdf(name: str, data: bytes) -> list[str]:
    findings = _pdf_bytes(name, data)
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, pikepdf.PasswordError) as error:
        return findings + [f"{name}: unreadable PDF: {error}"]
    with pdf:
        findings += [f"{name}: catalog key {key}" for key in pdf.Root.keys() if key not in CATALOG_KEYS]
        names = pdf.Root.get("/Names")
        if isinstance(names, pikepdf.Dictionary):
            findings += [f"{name}: /Names key {key}" for key in names.keys() if key != "/Dests"]
        opener = pdf.Root.get("/OpenAction")
        if opener is not None and not isinstance(opener, pikepdf.Array):
            findings.append(f"{name}: /OpenAction is an action")
        walker = _PdfWalk(name)
        walker.visit(pdf.trailer, "trailer", 0)
        for obj in pdf.objects:
            if not isinstance(obj, pikepdf.Object):
                continue  # a free entry, or a bare number or boolean: nothing to run in either
            walker.visit(obj, f"obj {obj.objgen[0]}", 0)
        findings += walker.findings
        for number, page in enumerate(pdf.pages):
            findings += _inline_images(f"{name}:page {number + 1}", page)
    return sorted(set(findings))


def _pdf_bytes(name: str, data: bytes) -> list[str]:
    """One revision only, and nothing after it: older revisions and trailing data stay unparsed by viewers' eyes."""
    findings = []
    if data.count(b"%%EOF") > 1:
        findings.append(f"{name}: {data.count(b'%%EOF')} revisions (%%EOF markers)")
    tail = data[data.rfind(b"%%EOF") + 5:]
    if tail.strip():
        findings.append(f"{name}: {len(tail)} bytes after %%EOF")
    return findings


class _PdfWalk:
    """Visit every object, direct ones inside dictionaries and arrays included."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.findings: list[str] = []
        self.seen: set[tuple[int, int]] = set()

    def visit(self, obj: object, where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.findings.append(f"{self.name}:{where}: nesting deeper than {MAX_DEPTH}")
            return
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in self.seen:
                return
            self.seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Stream):
            self._stream(obj, where)
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            self._dictionary(obj, where, depth)
        elif isinstance(obj, pikepdf.Array):
            if len(obj) == 2 and obj[0] == "/ICCBased" and isinstance(obj[1], pikepdf.Stream):
                self._icc(obj[1], where)
            for index, item in enumerate(obj):
                self.visit(item, f"{where}[{index}]", depth + 1)

    def _dictionary(self, obj: pikepdf.Object, where: str, depth: int) -> None:
        found = self.findings.append
        kind = _label(obj.get("/Type"))
        subtype = _label(obj.get("/Subtype"))
        for key in obj.keys():
            if key in FORBIDDEN_KEYS and not _empty(obj.get(key)):
                found(f"{self.name}:{where}: key {key}")
            if kind == "/Page" and key not in PAGE_KEYS:
                found(f"{self.name}:{where}: page key {key}")
            if key in ACTION_KEYS and _holds_action(obj, key):
                value = obj.get(key)
                for action in value if isinstance(value, pikepdf.Array) and key == "/Next" else [value]:
                    self._action(action, f"{where}{key}")
        if subtype in FORBIDDEN_SUBTYPES:
            found(f"{self.name}:{where}: subtype {subtype}")
        if kind == "/Annot" and subtype not in ANNOTATION_SUBTYPES:
            found(f"{self.name}:{where}: annotation subtype {subtype}")
        if kind in ("/EmbeddedFile", "/Filespec"):
            found(f"{self.name}:{where}: {kind}")
        for key, magics in FONT_PROGRAMS.items():
            program = obj.get(key)
            if isinstance(program, pikepdf.Stream) and not _decoded_head(program).startswith(magics):
                found(f"{self.name}:{where}{key}: font program is not the format its key names")
        if isinstance(obj.get("/DestOutputProfile"), pikepdf.Stream):
            self._icc(obj.get("/DestOutputProfile"), where + "/DestOutputProfile")
        if kind == "/Action" or _label(obj.get("/S")) in DANGEROUS_ACTIONS:
            self._action(obj, where)
        for key, child in obj.items():
            self.visit(child, f"{where}{key}", depth + 1)

    def _action(self, obj: object, where: str) -> None:
        if not isinstance(obj, pikepdf.Dictionary):
            return  # a destination (array, name or string), not an action
        kind = _label(obj.get("/S"))
        if not kind and not list(obj.keys()):
            return  # an empty dictionary has no type and nothing to run (what a scrub may leave behind)
        if kind == "/URI":
            value = obj.get("/URI", "")
            uri = _label(value)
            if not safe_link(uri):
                self.findings.append(f"{self.name}:{where}: URI {uri[:60]!r}")
        elif kind != "/GoTo":
            self.findings.append(f"{self.name}:{where}: action {kind or 'without /S'}")

    def _icc(self, stream: pikepdf.Stream, where: str) -> None:
        """ICC profiles cross as the viewer's colour engine will parse them: bounded and well-formed."""
        raw = stream.read_raw_bytes()
        if _label(stream.get("/Filter")) == "/FlateDecode" and inflates_beyond(raw, MAX_ICC):
            self.findings.append(f"{self.name}:{where}: ICC profile over {MAX_ICC} bytes")
            return
        try:
            profile = stream.read_bytes()
        except pikepdf.PdfError as error:
            self.findings.append(f"{self.name}:{where}: ICC profile does not decode: {error}")
            return
        self.findings += [f"{self.name}:{where}: {finding}" for finding in check_icc("ICCBased", profile)]

    def _stream(self, stream: pikepdf.Stream, where: str) -> None:
        filters = stream.get("/Filter")
        names = [_label(f) for f in filters] if isinstance(filters, pikepdf.Array) else [_label(filters)]
        codec = IMAGE_CODECS.get(names[-1]) if stream.get("/Subtype") == "/Image" else None
        if codec and not _decoded_head(stream, stop_at=names[-1]).startswith(codec):
            self.findings.append(f"{self.name}:{where}: {names[-1]} image data is not that format")
        data = stream.read_raw_bytes()
        for layer in names:
            if layer != "/FlateDecode":
                return
            if inflates_beyond(data, MAX_DECODED_STREAM):
                self.findings.append(f"{self.name}:{where}: stream inflates beyond {MAX_DECODED_STREAM} bytes")
                return
            try:
                data = zlib.decompress(data)  # bounded by the check just made; the next layer is checked next
            except zlib.error:
                return


MAX_TOKENISED = 16 << 20  # content streams larger than this are not tokenised for inline images

# What a font program or a compressed image starts with (OpenType/TrueType, CFF, Type 1; JPEG, JPEG 2000).
FONT_PROGRAMS = {
    "/FontFile": (b"%!PS-Adobe", b"%!FontType1", b"\x80\x01"),
    "/FontFile2": (b"\x00\x01\x00\x00", b"true", b"ttcf"),
    "/FontFile3": (b"\x01\x00", b"OTTO", b"\x00\x01\x00\x00"),
}
IMAGE_CODECS = {"/DCTDecode": (b"\xff\xd8\xff",), "/JPXDecode": (b"\x00\x00\x00\x0cjP  ", b"\xff\x4f\xff\x51")}


def _decoded_head(stream: pikepdf.Stream, stop_at: str = "") -> bytes:
    """The first bytes after the Flate layers, before the image codec `stop_at` (or fully decoded)."""
    if not stop_at:
        try:
            return stream.read_bytes()[:16]
        except pikepdf.PdfError:
            return b""
    head = stream.read_raw_bytes()
    filters = stream.get("/Filter")
    for layer in [_label(f) for f in filters] if isinstance(filters, pikepdf.Array) else [_label(filters)]:
        if layer == stop_at:
            return head[:16]
        if layer != "/FlateDecode":
            return b""  # another general filter in front: not a layout a rebuild writes
        try:
            head = zlib.decompressobj().decompress(head, 1 << 16)
        except zlib.error:
            return b""
    return head[:16]


def _inline_images(where: str, page: pikepdf.Page) -> list[str]:
    """Inline images (§8.9.7) live inside content streams, out of reach of an object walk."""
    if _content_too_large(page):
        return []  # tokenising a bomb page would take gigabytes; the stream check already reported it
    try:
        instructions = pikepdf.parse_content_stream(page)
    except (pikepdf.PdfError, TypeError, ValueError):
        # Content streams cross as drawn (DESIGN: "pages, content streams"); one qpdf cannot tokenise
        # is damaged drawing, not active content, and its inline images stay unjudged here.
        return []
    findings = []
    for instruction in instructions:
        if not isinstance(instruction, pikepdf.ContentStreamInlineImage):
            continue
        image = instruction.iimage
        codec = IMAGE_CODECS.get(image.filters[-1]) if image.filters else None
        if codec and not image.read_raw_bytes().startswith(codec):
            findings.append(f"{where}: inline {image.filters[-1]} image data is not that format")
    return findings


def _content_too_large(page: pikepdf.Page) -> bool:
    contents = page.obj.get("/Contents")
    streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
    for stream in streams:
        if not isinstance(stream, pikepdf.Stream):
            continue
        filters = stream.get("/Filter")
        layers = [_label(f) for f in filters] if isinstance(filters, pikepdf.Array) else [_label(filters)]
        layers = [] if filters is None else layers
        raw = stream.read_raw_bytes()
        if len(raw) > MAX_TOKENISED or any(layer != "/FlateDecode" for layer in layers):
            return True
        for _ in layers:
            if inflates_beyond(raw, MAX_TOKENISED):
                return True
            try:
                raw = zlib.decompress(raw)
            except zlib.error:
                break  # damaged data: qpdf decodes what it can, which is no more than this
    return False


def _label(value: object) -> str:
    """A name or string as text for comparison; a mutated file may hold a string that is not valid
    PDFDocEncoding or UTF-16, which must not stop the walk."""
    if value is None:
        return ""
    if isinstance(value, pikepdf.String):
        return bytes(value).decode("latin-1")
    try:
        return str(value)
    except (UnicodeDecodeError, ValueError):
        return repr(value)


def _holds_action(owner: pikepdf.Object, key: str) -> bool:
    """Where a key names an action (§12.6.2): /Next only inside an action (in an outline item it is
    the next sibling), /A and /PA in annotations and outline items, /OpenAction in the catalog; any
    dictionary with an /S of an action type is judged as an action wherever it sits."""
    if key == "/Next":
        return "/S" in owner
    if key == "/OpenAction":
        return _label(owner.get("/Type")) == "/Catalog" or "/Pages" in owner
    value = owner.get(key)
    return _label(owner.get("/Type")) == "/Annot" or "/Title" in owner or (
        isinstance(value, pikepdf.Dictionary) and "/S" in value
    )


def _empty(value: object) -> bool:
    """An empty dictionary or array left where a scrub took everything out holds nothing to run."""
    return isinstance(value, pikepdf.Dictionary | pikepdf.Array) and len(value) == 0

