"""PDF objects by role: the keys each kind of object may keep (ISO 32000-1), and a walk
that keeps only those.

Everything a page draws with — fonts, graphics states, patterns, shadings, colour spaces,
images, forms, optional-content properties — is cleaned for the role it plays where it is
used: keys not in the role's table are deleted, and a kept key's value is cleaned for the
role the table gives it, direct dictionaries and arrays included, at any depth. A
dictionary where the table expects a number, a name or a string is deleted. No table names
``/A``, ``/AA``, ``/JS`` or ``/OpenAction``, so an action dictionary hidden inside a font,
an ExtGState or a property list is gone after this walk, wherever it hid.

Each stream kept is also measured by its *decoded* size: a content stream that inflates
to gigabytes in the viewer on the LGWAN side is a bomb, whatever its size on disk.
"""

from __future__ import annotations

import zlib
from collections import Counter
from decimal import Decimal

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from cdr.errors import LimitExceeded, MalformedInput
from cdr.policy import Limits
from cdr.sanitizers.pdf_content import clean_content
from cdr.sanitizers.pdf_fonts import font_program_rebuilt
from cdr.sanitizers.pdf_images import codec_data_rebuilt
from cdr.sanitizers.pdf_payload import (
    FONT_SIGNATURES,
    fix_icc_colorspace,
    font_program_ok,
    image_data_ok,
)
from cdr.sanitizers.pdf_postscript import calculator_ok, rebuild_cmap, type1_program_ok

SCALAR = "scalar"  # a number, name, string, boolean or null, or an array of them
# a role; ("map", role): names mapped to values of a role; ("name", "A B"): one of these names
Spec = str | tuple[str, str]
MAX_DEPTH = 32
_INFLATE_CHUNK = 1 << 20

_STREAM: dict[str, Spec] = {
    "/Length": SCALAR,
    "/Filter": SCALAR,
    "/DecodeParms": "decode-parms",
    "/DL": SCALAR,
}


def _scalars(*keys: str) -> dict[str, Spec]:
    return dict.fromkeys(keys, SCALAR)


def _one_of(names: str) -> Spec:
    """A key whose value must be one of these names (an /S that names a mask or group
    type must not name an action type instead)."""
    return ("name", names)


_FUNCTION = {
    **_scalars("/FunctionType", "/Domain", "/Range", "/Size", "/BitsPerSample", "/Order", "/Encode"),
    **_scalars("/Decode", "/C0", "/C1", "/N", "/Bounds"),
    "/Functions": "function",
}
_CMAP = {"/Type": SCALAR, "/CMapName": SCALAR, "/CIDSystemInfo": "cid-system-info", "/WMode": SCALAR}

# Tables 5, 8, 33, 57, 58, 64, 75, 76, 77, 78–82, 89, 95, 98, 111–124, 144 of ISO 32000-1.
ROLES: dict[str, dict[str, Spec]] = {
    "resources": {
        "/ExtGState": ("map", "extgstate"),
        "/ColorSpace": ("map", "colorspace"),
        "/Pattern": ("map", "pattern"),
        "/Shading": ("map", "shading"),
        "/XObject": ("map", "xobject"),
        "/Font": ("map", "font"),
        "/Properties": ("map", "properties"),
        "/ProcSet": SCALAR,
    },
    "font": {
        **_scalars("/Type", "/Subtype", "/Name", "/BaseFont", "/FirstChar", "/LastChar", "/Widths"),
        **_scalars("/FontBBox", "/FontMatrix", "/DW", "/W", "/DW2", "/W2"),
        "/FontDescriptor": "font-descriptor",
        "/Encoding": "encoding",
        "/ToUnicode": "cmap",
        "/DescendantFonts": "font",
        "/CharProcs": ("map", "content"),  # Type 3 glyphs: content streams
        "/Resources": "resources",
        "/CIDSystemInfo": "cid-system-info",
        "/CIDToGIDMap": "data",
    },
    # a simple font's encoding dictionary, or a Type 0 font's CMap stream
    "encoding": {**_scalars("/BaseEncoding", "/Differences"), **_CMAP, "/UseCMap": "encoding", **_STREAM},
    "cmap": {**_CMAP, "/UseCMap": "cmap", **_STREAM},
    "cid-system-info": _scalars("/Registry", "/Ordering", "/Supplement"),
    "font-descriptor": {
        **_scalars("/Type", "/FontName", "/FontFamily", "/FontStretch", "/FontWeight", "/Flags"),
        **_scalars("/FontBBox", "/ItalicAngle", "/Ascent", "/Descent", "/Leading", "/CapHeight"),
        **_scalars("/XHeight", "/StemV", "/StemH", "/AvgWidth", "/MaxWidth", "/MissingWidth"),
        **_scalars("/CharSet", "/Lang"),
        "/FontFile": "font-file-1",
        "/FontFile2": "font-file-2",
        "/FontFile3": "font-file-3",
        "/Style": "font-style",
        "/FD": ("map", "font-descriptor"),
        "/CIDSet": "data",
    },
    "font-style": _scalars("/Panose"),
    **dict.fromkeys(
        ("font-file-1", "font-file-2", "font-file-3"),
        {**_scalars("/Length1", "/Length2", "/Length3", "/Subtype"), **_STREAM},
    ),
    "content": dict(_STREAM),  # drawing instructions (pdf_content)
    "data": dict(_STREAM),  # bytes a viewer looks up, never runs
    "extgstate": {
        **_scalars("/Type", "/LW", "/LC", "/LJ", "/ML", "/D", "/RI", "/OP", "/op", "/OPM", "/FL"),
        **_scalars("/SM", "/SA", "/BM", "/CA", "/ca", "/AIS", "/TK", "/UseBlackPtComp", "/HT"),
        "/Font": "font",
        **dict.fromkeys(("/BG", "/BG2", "/UCR", "/UCR2", "/TR", "/TR2"), "function"),
        "/SMask": "soft-mask",
    },
    "soft-mask": {
        "/Type": _one_of("Mask"),
        "/S": _one_of("Alpha Luminosity"),
        "/BC": SCALAR,
        "/G": "xobject",
        "/TR": "function",
    },
    "function": {**_FUNCTION, **_STREAM},
    "pattern": {
        **_scalars("/Type", "/PatternType", "/PaintType", "/TilingType", "/BBox", "/XStep", "/YStep"),
        "/Matrix": SCALAR,
        "/Resources": "resources",
        "/Shading": "shading",
        "/ExtGState": "extgstate",
        **_STREAM,
    },
    "shading": {
        **_scalars("/ShadingType", "/Background", "/BBox", "/AntiAlias", "/Coords", "/Domain"),
        **_scalars("/Extend", "/Matrix", "/BitsPerCoordinate", "/BitsPerComponent", "/BitsPerFlag"),
        **_scalars("/Decode", "/VerticesPerRow"),
        "/ColorSpace": "colorspace",
        "/Function": "function",
        **_STREAM,
    },
    # what colour-space arrays hold: ICC streams, CIE dictionaries, tint functions, lookups
    "colorspace": {
        **_scalars("/N", "/Range", "/WhitePoint", "/BlackPoint", "/Gamma", "/Matrix", "/Subtype"),
        "/Alternate": "colorspace",
        "/Colorants": ("map", "colorspace"),
        "/Process": "colorspace-process",
        **_FUNCTION,
        **_STREAM,
    },
    "colorspace-process": {"/ColorSpace": "colorspace", "/Components": SCALAR},
    "image": {
        **_scalars("/Type", "/Subtype", "/Width", "/Height", "/BitsPerComponent", "/Intent"),
        **_scalars("/ImageMask", "/Decode", "/Interpolate", "/SMaskInData", "/Matte"),
        "/ColorSpace": "colorspace",
        "/Mask": "image",
        "/SMask": "image",
        **_STREAM,
    },
    "form": {
        **_scalars("/Type", "/Subtype", "/FormType", "/BBox", "/Matrix"),
        "/Resources": "resources",
        "/Group": "group",
        "/OC": "properties",
        **_STREAM,
    },
    "group": {
        "/Type": _one_of("Group"),
        "/S": _one_of("Transparency"),
        **_scalars("/I", "/K"),
        "/CS": "colorspace",
    },
    # optional content groups and membership dictionaries (8.11); /Usage and /VE go
    "properties": {**_scalars("/Type", "/Name", "/Intent", "/P"), "/OCGs": "properties"},
    "decode-parms": {
        **_scalars("/Predictor", "/Colors", "/BitsPerComponent", "/Columns", "/EarlyChange", "/K"),
        **_scalars("/EndOfLine", "/EncodedByteAlign", "/Rows", "/EndOfBlock", "/BlackIs1"),
        **_scalars("/DamagedRowsBeforeError", "/ColorTransform"),
        "/JBIG2Globals": "data",
    },
}
_XOBJECT_ROLES = {"/Image": "image", "/Form": "form"}

# Filters that only re-code bytes; the image codecs are bounded by the image's size.
_FLATE = "/FlateDecode"
_GENERAL_FILTERS = frozenset({_FLATE, "/LZWDecode", "/ASCIIHexDecode", "/ASCII85Decode", "/RunLengthDecode"})
_SHRINKING_FILTERS = frozenset({"/ASCIIHexDecode", "/ASCII85Decode"})
_IMAGE_CODECS = frozenset({"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode"})
# Inline-image abbreviations (table 94) that readers accept on streams too.
_ABBREVIATIONS = {
    "/Fl": _FLATE,
    "/LZW": "/LZWDecode",
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/RL": "/RunLengthDecode",
    "/DCT": "/DCTDecode",
    "/CCF": "/CCITTFaxDecode",
}
# Only for naming what was removed: the decision is the tables above.
_ACTION_KEYS = frozenset({"/A", "/AA", "/JS", "/OpenAction", "/URI", "/Launch"})


# What pikepdf hands over as Python's own objects (numbers, booleans, null): never a
# dictionary, a stream or an array. Checked by exact type first, since pikepdf's
# isinstance checks against its classes cost ten times as much, on arrays of thousands.
_PLAIN = frozenset({int, bool, float, Decimal, type(None)})


def is_inert(value: object, depth: int = 0) -> bool:
    """A value that cannot name anything to do: no dictionary or stream inside."""
    if depth > MAX_DEPTH:
        return False
    if type(value) in _PLAIN:
        return True
    if isinstance(value, (Dictionary, Stream)):
        return False
    if isinstance(value, Array):
        return _inert_items(value, depth) is not None
    return True


def _inert_items(array: Array, depth: int) -> list[object] | None:
    """The items of ``array`` (at ``depth``) when every one is inert, else None. Read in
    order and once, up to the first that is not: each read of an item makes it anew."""
    inner = depth < MAX_DEPTH  # a plain item one level down is inert only within the depth
    items = []
    for item in array:
        if not ((inner and type(item) in _PLAIN) or is_inert(item, depth + 1)):
            return None
        items.append(item)
    return items


def copy_inert(value: object, depth: int = 0) -> object | None:
    """A copy of a number, name, string or array of them that belongs to no document;
    a dictionary, a stream or anything indirect has no place in what is copied here."""
    if type(value) in _PLAIN:
        return value if depth <= 8 else None
    if depth > 8:
        return None
    if not isinstance(value, Array):
        return value if is_inert(value) else None
    items = _inert_items(value, 0)  # inert at any depth, though copied only to depth 8
    if items is None or value.is_indirect:
        return None
    inner = depth < 8  # as above: a plain item one level down is copied only within the depth
    copies = [v if inner and type(v) in _PLAIN else copy_inert(v, depth + 1) for v in items[:4096]]
    return Array([v for v in copies if v is not None])


def copy_fields(value: Dictionary, keys: frozenset[str]) -> Dictionary:
    """A small dictionary (border style, icon fit, page label) rebuilt from its inert fields."""
    clean = Dictionary()
    for key in keys & set(value.keys()):
        item = copy_inert(value.get(key))
        if item is not None:
            clean[key] = item
    return clean


def _filters(stream: Stream) -> list[str]:
    untrusted = stream.get("/Filter")
    if untrusted is None:
        return []
    items = list(untrusted) if isinstance(untrusted, Array) else [untrusted]
    if len(items) > 4 or not all(isinstance(item, Name) for item in items):
        raise MalformedInput("a stream with an unreadable filter chain")
    try:
        names = [str(item) for item in items]
    except UnicodeDecodeError:  # a name of raw bytes: no filter a reader knows is called that
        raise MalformedInput("a stream with an unreadable filter name") from None
    return [_ABBREVIATIONS.get(name, name) for name in names]


def inflated_size(raw: bytes, limit: int) -> int:
    """Bytes that ``raw`` inflates to, read a chunk at a time; past ``limit`` it stops.

    A damaged tail ends the count where a viewer's decoder would stop too.
    """
    inflater = zlib.decompressobj()
    total, pending = 0, raw
    try:
        while pending and not inflater.eof:
            total += len(inflater.decompress(pending, _INFLATE_CHUNK))
            if total > limit:
                return total
            pending = inflater.unconsumed_tail
        total += len(inflater.flush())
    except zlib.error:
        pass
    return total


class Cleaner:
    """One document's walk: each indirect object is cleaned once per role it plays."""

    def __init__(self, limits: Limits, dropped: Counter[str]) -> None:
        self.limits = limits
        self.dropped = dropped
        self.seen: dict[tuple[tuple[int, int], str], bool] = {}
        self.decoded_total = 0
        self.profiles: set[tuple[int, int]] = set()  # ICC streams already rebuilt

    def keep(self, value: object, spec: Spec, depth: int = 0) -> bool:
        """Clean ``value`` in place for ``spec``; False: it has no place there and goes."""
        if depth > MAX_DEPTH:
            return False
        if spec == SCALAR:
            return is_inert(value)
        if isinstance(spec, tuple) and spec[0] == "name":
            return isinstance(value, Name) and str(value)[1:] in spec[1].split()
        if isinstance(spec, tuple):
            if not isinstance(value, Dictionary):
                return False
            for key in list(value.keys()):
                if not self.keep(value.get(key), spec[1], depth + 1):
                    self._drop(value, key, spec[1])
            return True
        if isinstance(value, Array):
            if spec == "colorspace":
                self._profile(value)
            for index in reversed(range(len(value))):
                if not self.keep(value[index], spec, depth + 1):
                    del value[index]
                    self.dropped[f"{spec}-entry"] += 1
            return True
        if isinstance(value, (Dictionary, Stream)):
            return self.clean(value, spec, depth)
        return True

    def _profile(self, space: Array) -> None:
        """Rebuild an ICC-based colour space's profile once, however many pages share it:
        each rebuild is a LittleCMS parse."""
        stream = space[1] if len(space) == 2 and isinstance(space[1], Stream) else None
        shared = stream is not None and stream.is_indirect
        if shared and stream.objgen in self.profiles:
            return
        fixed = fix_icc_colorspace(space)
        if fixed:
            self.dropped[fixed] += 1
        # a profile that could not be rebuilt is left as it was and this array changed to
        # CalGray; another array naming the same stream must be changed too
        if shared and space[0] == Name.ICCBased:
            self.profiles.add(stream.objgen)

    def clean(self, obj: Dictionary | Stream, role: str, depth: int) -> bool:
        if role in ("xobject", "form"):
            # a form's place (an appearance, an icon, a mask) takes a form and nothing else
            subtype = obj.get("/Subtype", Name.Form if role == "form" else None)
            named = str(subtype) if isinstance(subtype, Name) else ""
            role = _XOBJECT_ROLES.get(named, "") if role == "xobject" or named == "/Form" else ""
            if not role:
                self.dropped["postscript-xobject" if subtype == Name("/PS") else "unknown-xobject"] += 1
                return False
        mark = (obj.objgen, role) if obj.is_indirect else None
        if mark is not None:
            if mark in self.seen:
                return self.seen[mark]
            self.seen[mark] = True  # a cycle back here meets a clean object
        table = ROLES[role]
        for key in list(obj.keys()):
            spec = table.get(key)
            if spec is None or not self.keep(obj.get(key), spec, depth + 1):
                self._drop(obj, key, role)
        if isinstance(obj, Stream):
            self.measure(obj, role)
            if not self._payload_ok(obj, role):
                self.dropped[f"{role}-not-its-format"] += 1
                if mark is not None:
                    self.seen[mark] = False
                return False
        return True

    def _payload_ok(self, stream: Stream, role: str) -> bool:
        """Data a viewer's font engine or codec parses must be that format (pdf_payload)."""
        if role in FONT_SIGNATURES:  # a TrueType or OpenType program is rewritten from its tables
            return (
                font_program_ok(role, stream)
                and (role != "font-file-1" or type1_program_ok(stream))
                and (role == "font-file-1" or font_program_rebuilt(stream))
            )
        if role == "image":  # JPEG and JPEG 2000 data rewritten with what the codec reads
            return image_data_ok(stream) and codec_data_rebuilt(stream)
        if role in ("content", "form") or (role == "pattern" and stream.get("/PatternType") == 1):
            self.dropped.update(clean_content(stream))
        elif role == "function" and stream.get("/FunctionType") == 4:
            return calculator_ok(stream)
        elif role in ("cmap", "encoding"):
            return self._cmap(stream, unicode=role == "cmap")
        return True

    def _cmap(self, stream: Stream, unicode: bool) -> bool:
        """A CMap written anew (pdf_postscript); one it builds on that is embedded too
        (already rebuilt, the key being cleaned first) is taken into it."""
        base = stream.get("/UseCMap")
        inherited = base.read_bytes() if isinstance(base, Stream) else b""
        rebuilt = rebuild_cmap(stream, inherited, unicode)
        if rebuilt is None:
            return False
        stream.write(rebuilt)
        if isinstance(base, Stream):
            del stream["/UseCMap"]
        return True

    def _drop(self, container: Dictionary | Stream, key: str, role: str) -> None:
        del container[key]
        self.dropped["nested-action" if key in _ACTION_KEYS else f"{role}-{key.lstrip('/').lower()}"] += 1

    # -------------------------------------------------------------- bombs
    def measure(self, stream: Stream, role: str) -> None:
        """Refuse a stream that is, or decodes to, more than the viewer should hold."""
        limits = self.limits
        try:
            untrusted_length = int(stream.get("/Length", 0))
            untrusted_pixels = (
                int(stream.get("/Width", 0)) * int(stream.get("/Height", 0)) if role == "image" else 0
            )
        except (TypeError, ValueError):
            raise MalformedInput("a stream has a non-numeric size") from None
        if untrusted_length > limits.max_stream_size:
            raise LimitExceeded(f"a stream of {untrusted_length} bytes (limit {limits.max_stream_size})")
        if untrusted_pixels > limits.max_pixels:
            raise LimitExceeded(f"an image of {untrusted_pixels} pixels (limit {limits.max_pixels})")
        decoded = self._decoded_size(stream, _filters(stream), untrusted_length)
        if decoded > limits.max_stream_size:
            raise LimitExceeded(f"a stream that decodes to over {limits.max_stream_size} bytes (flate bomb?)")
        self.decoded_total += decoded
        if self.decoded_total > limits.max_decoded_size:
            raise LimitExceeded(f"streams that decode to over {limits.max_decoded_size} bytes in all")

    def _decoded_size(self, stream: Stream, filters: list[str], stored: int) -> int:
        general = [f for f in filters if f in _GENERAL_FILTERS]
        codecs = [f for f in filters if f in _IMAGE_CODECS]
        if len(general) + len(codecs) != len(filters) or len(codecs) > 1 or filters[len(general) :] != codecs:
            raise MalformedInput(f"a stream with filters no viewer needs: {' '.join(filters)[:100]}")
        if not general:
            return 0 if codecs else stored  # an image codec's output is bounded by the pixels
        if general == [_FLATE]:
            return inflated_size(stream.read_raw_bytes(), self.limits.max_stream_size)
        if codecs:
            return 0  # ASCII or LZW around a JPEG: rare, bounded by the image's pixels
        # LZW, run-length and ASCII chains are decoded by qpdf in memory; the child's
        # memory limit bounds the worst of them, and the length is checked after.
        try:
            return len(stream.read_bytes(decode_level=pikepdf.StreamDecodeLevel.specialized))
        except (pikepdf.PdfError, UnicodeDecodeError):  # pikepdf cannot always decode qpdf's message
            if set(general) <= _SHRINKING_FILTERS:
                return stored  # damaged ASCII text: a viewer decodes less than is stored
            raise MalformedInput("a stream that cannot be decoded") from None
