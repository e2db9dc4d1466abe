"""Drawing instructions rebuilt from the operators ISO 32000-1 annex A defines.

A content stream (a page, a form XObject, an appearance, a Type 3 glyph, a tiling
pattern) is a program a viewer runs. Only the operators of annex A stay; ``PS``
(PostScript handed to a printer), anything unknown and whole ``BX``…``EX`` sections
(where a viewer is told to skip what it does not know: a hiding place) are left out.
A marked-content property list (``BDC``/``DP``) written inline is rebuilt from the few
texts a screen reader uses; one named by resource is kept, since the resource itself is
cleaned as a layer. Inline images whose codec data is not that codec's, or whose
dictionary holds more than an image needs, go too.

A default-appearance string (``/DA``, §12.7.3.3) is the same language in a string: it is
rebuilt as a font, a size and at most one colour, or left out.

A stream that nothing was removed from is left byte for byte as it was.
"""

from __future__ import annotations

import re
import warnings
import zlib
from collections import Counter

import pikepdf
from pikepdf import (
    Array,
    ContentStreamInlineImage,
    ContentStreamInstruction,
    Dictionary,
    Name,
    Operator,
    String,
)

from cdr.errors import MalformedInput
from cdr.sanitizers.pdf_payload import inline_image_ok

# Annex A, table A.1, without BX/EX (compatibility sections) and PS; BI/ID/EI arrive as
# one inline image.
ANNEX_A = frozenset(
    "b B b* B* BDC BMC BT c cm CS cs d d0 d1 Do DP EMC ET f F f* G g gs h i j J K k l m M MP n q Q re "
    "RG rg ri s S SC sc SCN scn sh T* Tc Td TD Tf Tj TJ TL Tm Tr Ts Tw Tz v w W W* y ' \"".split()
)
# What an inline property list may say (§14.6.2, §14.9): identifiers and texts only.
PROPERTY_TEXTS = frozenset({"/Lang", "/Alt", "/ActualText", "/E"})
PROPERTY_NAMES = frozenset({"/Type", "/Subtype"})  # an artifact's kind (§14.8.2.2)
MAX_PROPERTY_TEXT = 10_000
# Table 93: what an inline image's dictionary may hold (pikepdf spells the keys out).
INLINE_IMAGE_KEYS = frozenset(
    {"/Width", "/Height", "/BitsPerComponent", "/ColorSpace", "/Filter", "/DecodeParms", "/Decode"}
    | {"/ImageMask", "/Interpolate", "/Intent", "/Length"}
)
INLINE_FILTERS = frozenset(
    {"/FlateDecode", "/DCTDecode", "/CCITTFaxDecode", "/RunLengthDecode", "/ASCIIHexDecode", "/ASCII85Decode"}
    | {"/LZWDecode", "/Fl", "/DCT", "/CCF", "/RL", "/AHx", "/A85", "/LZW"}
)
CODED_INLINE_FILTERS = frozenset({"/DCTDecode", "/DCT", "/CCITTFaxDecode", "/CCF", "/JPXDecode", "/JBIG2Decode"})
INLINE_DECODE_PARMS = frozenset(  # tables 8, 11, 12: numbers and flags
    "/Predictor /Colors /BitsPerComponent /Columns /EarlyChange /K /EndOfLine /EncodedByteAlign /Rows "
    "/EndOfBlock /BlackIs1 /DamagedRowsBeforeError /ColorTransform".split()
)
MAX_DRAWING = 64 << 20  # the rebuild's own stream limit bounds what was stored before this
_ANNEX_A_WORDS = frozenset(op.encode() for op in ANNEX_A)
_DELIMITED = rb"(?<![^\s\[\]{}()<>/%])"  # the start of a token, as PDF delimits them
# Possessive (*+, ++): what a run matched is never given back, so a text left open or a
# long run of words costs one pass, not a search through every way of splitting it.
# A run of texts (a TJ array's) is one match, each text with the number written right
# before the next: a number between a closing ) or > and an opening ( or < is a whole
# number token, an operand, never an operator. Every match costs, not only its bytes.
_BETWEEN = rb"(?:[-+]?+(?:\d++\.?+\d*+|\.\d++))?+"
_TEXT = rb"\((?:[^()\\]++|\\.)*+\)"
_NOT_CODE = re.compile(rb"%[^\r\n]*+|" + _TEXT + rb"(?:" + _BETWEEN + _TEXT + rb")*+", re.S)  # comments, texts
_HEX = rb"<[0-9A-Fa-f\s]*+>"
_HEX_TEXT = re.compile(_HEX + rb"(?:" + _BETWEEN + _HEX + rb")*+")
_ONE_DIGIT = bytes.maketrans(b"123456789", b"000000000")
_MCID_ALONE = re.compile(rb"<<\s*+/MCID\s++\d++\s*+>>")
# A property list the full reading keeps as written (_property_list): at most 16 entries,
# each an MCID or one of the texts a screen reader uses, short enough by its written length
# alone (an escape or a hex pair is never more than one byte), all on one line so that no
# part of it can be a comment's. Struck out before the texts are, with the texts inside it.
_PROPERTY_ENTRY = (
    rb"/MCID[ \t]++\d{1,9}+|/(?:Lang|Alt|ActualText|E)[ \t]*+"
    rb"(?:\((?:[^()\\\r\n]|\\[^\r\n]){0,%d}+\)|<[0-9A-Fa-f \t]{0,%d}+>)" % (MAX_PROPERTY_TEXT, 2 * MAX_PROPERTY_TEXT)
)
_PROPERTY_LIST = re.compile(rb"<<(?:[ \t]*+(?:" + _PROPERTY_ENTRY + rb")){1,16}+[ \t]*+>>")
_OPERANDS = re.compile(rb"(?:/[^\s\[\]{}()<>/%]*+\n|[-+]?+(?:\d++\.?+\d*+|\.\d++)\n)*+")  # names, numbers
# An array of names and numbers only (a TJ array once its texts are struck out, a dash
# pattern): an operand. Any other bracket stays in a word and sends the drawing to the
# full reading — an operator inside an array, a nested or unclosed one does not parse.
_ARRAY = re.compile(
    rb"\[(?:\s++|/[^\s\[\]{}()<>/%]*+|[-+]?+(?=\.?\d)\d*+\.?+\d*+(?![^\s\[\]{}()<>/%]))*+\]"
)
_INLINE_IMAGE = re.compile(_DELIMITED + rb"BI(?![^\s\[\]{}()<>/%])")
_COLOURS = {b"g": 1, b"rg": 3, b"k": 4}
_DA_TOKEN = re.compile(rb"/[!-~]+?(?=[\s/\[\]()<>{}%]|$)|[-+]?(?:\d+\.?\d*|\.\d+)|[^\s/\[\]()<>{}%]+|\S")
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)")


def clean_content(stream: pikepdf.Stream) -> Counter[str]:
    """Rewrite ``stream`` without what annex A does not define; what was left out or
    rebuilt, by kind (nothing: the stream is untouched)."""
    dropped: Counter[str] = Counter()
    try:
        if _plainly_drawing(stream.read_bytes()):
            return dropped
    except (pikepdf.PdfError, UnicodeDecodeError):  # qpdf's message itself may not be text
        pass  # damaged: read below, as far as it goes
    instructions = _instructions(stream)
    if instructions is None:
        # damaged data: what a viewer would decode of it stands in for it, and is read again
        part = _decodable_part(stream)
        stream.write(part)
        instructions = _instructions(stream) if part else None
        dropped["drawing-damaged"] += 1
    if instructions is None:
        # what cannot be read as instructions cannot be judged: the drawing goes
        stream.write(b"")
        return Counter({"drawing-unreadable": 1})
    kept: list[ContentStreamInstruction | ContentStreamInlineImage] = []
    hidden = 0
    for instruction in instructions:
        operator = _operator(instruction)
        if operator in ("BX", "EX"):
            hidden = hidden + 1 if operator == "BX" else max(hidden - 1, 0)
            dropped["drawing-compatibility-section"] += 1
            continue
        if isinstance(instruction, ContentStreamInlineImage) and not hidden:
            gone = _inline_image_gone(instruction)
            if gone:
                dropped[gone] += 1
            else:
                kept.append(instruction)
            continue
        rebuilt = None if hidden else _instruction(instruction, operator)
        if rebuilt is None:
            dropped["drawing-compatibility-section" if hidden else "drawing-operator"] += 1
        else:
            kept.append(rebuilt)
            if rebuilt is not instruction:  # a property list rebuilt: the stream is rewritten
                dropped["marked-content-properties"] += 1
    if dropped:
        try:
            stream.write(pikepdf.unparse_content_stream(kept))
        except (pikepdf.PdfError, TypeError, ValueError) as exc:
            raise MalformedInput(f"drawing instructions that cannot be written again: {str(exc)[:100]}") from None
    return dropped


def _plainly_drawing(data: bytes) -> bool:
    """True when every word of ``data`` is an annex A operator and every dictionary in it
    a property list the reading below keeps as written (an MCID, short texts): what that
    reading would keep as it is, found without making an
    object of each instruction (a hundred pages hold hundreds of thousands of them).

    Why a True is safe: scanning left to right, each pattern takes out only a whole token
    as PDF delimits it — such a property list on one line, a comment up to CR or LF, a text whose parentheses are all escaped
    (its own ``%`` and ``<`` go with it), a hexadecimal text, a number only between two
    texts, an array of names and numbers only. What remains is split at PDF's
    white space (\\v, which Python splits at and PDF does not, and NUL, the reverse, send
    the drawing on), so every word is one token; it must be an operator of annex A, a
    name or a number. Anything not followed — an inline image, a text with a parenthesis
    inside or left open, a dictionary other than an MCID's, an operator in an array, a
    nested array — leaves a delimiter in a word, no word passes with one, and the drawing
    is read below instruction by instruction."""
    # \v is no PDF white space, NUL is one (Python's split would keep /\0F1 one word)
    if b"\x0b" in data or b"\0" in data or (b"BI" in data and _INLINE_IMAGE.search(data)):
        return False
    code = _PROPERTY_LIST.sub(b" ", data) if b"<<" in data else data
    code = _NOT_CODE.sub(b" ", code) if b"(" in code or b"%" in code else code
    if b"<" in code:  # each pass only where its opening byte is there at all
        code = _HEX_TEXT.sub(b" ", code)
        code = _MCID_ALONE.sub(b" ", code) if b"<<" in code else code
    code = _ARRAY.sub(b" ", code) if b"[" in code else code
    code = code.replace(b"/", b" /")
    operands = set(code.split()) - _ANNEX_A_WORDS
    if not operands:
        return True
    # Whether a word is a name or a number does not depend on which digits it has: each
    # is checked by its shape (every digit a 0), so a hundred thousand coordinates are a
    # few dozen lines to match (no operator is among these words: they match neither).
    shapes = set(b"\n".join(operands).translate(_ONE_DIGIT).split(b"\n"))
    # one match over all the shapes, a line each, rather than one per word
    return _OPERANDS.fullmatch(b"\n".join(shapes) + b"\n") is not None


def _instructions(stream: pikepdf.Stream) -> list | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # qpdf's complaints about damaged drawing
            return pikepdf.parse_content_stream(stream)
    except (pikepdf.PdfError, TypeError, ValueError, IndexError, RuntimeError, UnicodeDecodeError):
        return None


def _decodable_part(stream: pikepdf.Stream) -> bytes:
    """The bytes before the damage of a Flate stream (what zlib gives up to it); nothing of
    another filter's damaged data."""
    chain = stream.get("/Filter")
    names = [str(f) for f in (chain if isinstance(chain, Array) else [chain] if chain is not None else [])]
    if names not in (["/FlateDecode"], ["/Fl"]) or "/DecodeParms" in stream:
        return b""
    inflater, raw, parts, size = zlib.decompressobj(), stream.read_raw_bytes(), [], 0
    for start in range(0, len(raw), 64):  # a little at a time: what came before the damage stays
        try:
            parts.append(inflater.decompress(raw[start : start + 64], MAX_DRAWING - size))
        except zlib.error:
            break
        size += len(parts[-1])
        if size >= MAX_DRAWING or inflater.eof:
            break
    return b"".join(parts)


def _inline_image_gone(instruction: ContentStreamInlineImage) -> str | None:
    """Why an inline image goes, or None when it is kept as it is. Its PdfInlineImage is
    made anew at each use of ``iimage``: made once here for every check."""
    try:
        image = instruction.iimage
    except (pikepdf.PdfError, TypeError, ValueError, IndexError, RuntimeError):
        return "inline-image-not-its-format"
    if _coded(image):
        return "inline-image-coded"
    return None if inline_image_ok(image) and _inline_dictionary_ok(image) else "inline-image-not-its-format"


def _coded(image: pikepdf.PdfInlineImage) -> bool:
    """An inline image in a picture codec (JPEG, fax): its data would be copied inside the
    drawing as it came — a comment, and bytes after the codec's end, with it — where the
    stream rebuild (pdf_data) rewrites such pictures only as image objects. Inline pictures
    are small and rare (none in the bench corpus): they go, and the result says so."""
    try:
        chain = image.obj.get("/Filter")
    except (pikepdf.PdfError, TypeError, ValueError, IndexError, RuntimeError):
        return False  # judged (and refused) by the checks after
    filters = chain if isinstance(chain, pikepdf.Array) else [chain] if chain is not None else []
    return any(str(f) in CODED_INLINE_FILTERS for f in filters)


def _operator(instruction: ContentStreamInstruction | ContentStreamInlineImage) -> str:
    if isinstance(instruction, ContentStreamInlineImage):
        return "INLINE IMAGE"
    try:
        return str(instruction.operator)
    except UnicodeDecodeError:  # bytes no operator is made of: unknown, and left out
        return ""


def _instruction(
    instruction: ContentStreamInstruction | ContentStreamInlineImage, operator: str
) -> ContentStreamInstruction | ContentStreamInlineImage | None:
    """The instruction as kept, rebuilt, or None when it goes (inline images: above)."""
    if operator not in ANNEX_A:
        return None
    if operator not in ("BDC", "DP"):
        return instruction
    operands = list(instruction.operands)
    tag = operands[0] if operands and isinstance(operands[0], Name) else Name.Span
    props = operands[1] if len(operands) == 2 else None
    if isinstance(props, Name):
        return instruction  # a /Properties resource: cleaned where it is defined
    if isinstance(props, Dictionary):
        clean = _property_list(props)
        if len(clean) == len(props) and tag is operands[0]:
            return instruction
        return ContentStreamInstruction([tag, clean], Operator(operator))
    # a BDC must stay to match its EMC; a DP that says nothing says it no more
    return ContentStreamInstruction([tag], Operator("BMC")) if operator == "BDC" else None


def _property_list(props: Dictionary) -> Dictionary:
    clean = Dictionary()
    for key in sorted(props.keys())[:16]:  # keys() is a set: the same 16 in every process
        value = props.get(key)
        if key == "/MCID" and isinstance(value, int) and value >= 0:
            clean[key] = value
        elif key in PROPERTY_TEXTS and isinstance(value, String) and len(bytes(value)) <= MAX_PROPERTY_TEXT:
            clean[key] = value
        elif key in PROPERTY_NAMES and isinstance(value, Name):
            clean[key] = value
        elif key == "/BBox" and isinstance(value, Array) and all(isinstance(v, (int, float)) for v in value):
            clean[key] = Array([float(v) for v in list(value)[:4]])
    return clean


def _inline_dictionary_ok(image: pikepdf.PdfInlineImage) -> bool:
    try:
        info = image.obj
        chain = info.get("/Filter")
    except (pikepdf.PdfError, TypeError, ValueError, IndexError, RuntimeError):
        return False
    filters = list(chain) if isinstance(chain, Array) else [chain] if chain is not None else []
    parms = info.get("/DecodeParms")
    parms = list(parms) if isinstance(parms, Array) else [parms] if parms is not None else []
    return (
        set(info.keys()) <= INLINE_IMAGE_KEYS
        and all(isinstance(f, Name) and str(f) in INLINE_FILTERS for f in filters)
        and all(p is None or _decode_parms_ok(p) for p in parms)
    )


def _decode_parms_ok(parms: object) -> bool:
    return isinstance(parms, Dictionary) and all(
        key in INLINE_DECODE_PARMS and not isinstance(parms.get(key), (Dictionary, Array)) for key in parms.keys()
    )


def clean_default_appearance(value: object) -> String | None:
    """A /DA string as ``/Font size Tf`` and one colour, or None: no font, no appearance."""
    if not isinstance(value, String):
        return None
    operands: list[bytes] = []
    font: list[bytes] = []
    colour: list[bytes] = []
    for token in _DA_TOKEN.findall(bytes(value)[:4096]):
        if token.startswith(b"/") or _NUMBER.fullmatch(token):
            operands.append(token)
            continue
        if token == b"Tf" and len(operands) >= 2 and operands[-2].startswith(b"/") and _NUMBER.fullmatch(operands[-1]):
            font = operands[-2:]
        elif token in _COLOURS:
            wanted = operands[-_COLOURS[token] :]
            if len(wanted) == _COLOURS[token] and all(_NUMBER.fullmatch(o) for o in wanted):
                colour = [*wanted, token]
        operands = []
    if not font or len(font[0]) > 128:
        return None
    return String(b" ".join([*font, b"Tf", *colour]))
