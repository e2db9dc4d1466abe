"""What a released PDF's programs may say: drawing instructions, default appearances,
Type 1 font headers, CMaps and Type 4 functions, each against its own grammar.

The key tables (``pdf_keys``) say which streams may be there; this says what may be in
them, since each is a program some reader runs:

* a content stream (a page, a form XObject or appearance, a Type 3 glyph, a tiling
  pattern) holds only the operators of ISO 32000-1 annex A — never ``PS``, never a
  ``BX``/``EX`` section — its inline property lists only identifiers and texts, its inline
  images only an image's keys;
* a default appearance (``/DA``, §12.7.3.3) only names, numbers and text-state and colour
  operators;
* a Type 1 font program's clear text (before ``currentfile eexec``) only the words a font
  header is written with, and no word that reaches a file or another program;
* a CMap only its own vocabulary (Adobe technical note 5014);
* a Type 4 function (§7.10.5) only numbers, braces and calculator operators.

Written against the specification, not against the sanitizer: nothing here is imported
from ``cdr.sanitizers``.
"""

from __future__ import annotations

import re
import warnings

import pikepdf
from pikepdf import Array, Dictionary, Stream

CONTENT_KINDS = frozenset({"content", "form", "pattern"})
PROGRAM_KINDS = CONTENT_KINDS | {"font-file-1", "encoding", "function"}
# Annex A, table A.1; BI … EI reach here as one inline image. No BX, EX, PS.
OPERATORS = frozenset(
    "b B b* B* BDC BMC BT c cm CS cs d d0 d1 Do DP EMC ET f F f* G g gs h i j J K k l m M MP n q Q re "
    "RG rg ri s S SC sc SCN scn sh T* Tc Td TD Tf Tj TJ TL Tm Tr Ts Tw Tz v w W W* y ' \"".split()
) | {"INLINE IMAGE"}
# §14.6.2 and §14.9: what an inline marked-content property list may hold
PROPERTY_KEYS = frozenset("/MCID /Lang /Alt /ActualText /E /Type /Subtype /BBox /Attached".split())
# table 93, spelled out as qpdf reads them
INLINE_KEYS = frozenset(
    "/Width /Height /BitsPerComponent /ColorSpace /Filter /DecodeParms /Decode /ImageMask /Interpolate "
    "/Intent /Length".split()
)
# no picture codec (JPEG, fax) inline: the rebuild leaves such inline images out
INLINE_FILTERS = frozenset("/FlateDecode /RunLengthDecode /ASCIIHexDecode /ASCII85Decode /LZWDecode /Fl /RL /AHx /A85 /LZW".split())
APPEARANCE_OPERATORS = frozenset("Tf g rg k G RG K Tc Tw Tz TL Ts".split())
FONT_HEADER_WORDS = frozenset(
    "dict begin end def readonly noaccess executeonly put dup array for index exch pop currentdict "
    "currentfile eexec known not if ifelse get bind StandardEncoding true false systemdict userdict "
    "FontDirectory definefont findfont cvx string mark cleartomark load where and or eq ne gt lt ge le "
    "save restore length type".split()
)
CMAP_WORDS = frozenset(
    "findresource begin end dict def begincmap endcmap usecmap currentdict defineresource pop CMapName "
    "begincodespacerange endcodespacerange beginbfchar endbfchar beginbfrange endbfrange begincidchar "
    "endcidchar begincidrange endcidrange beginnotdefchar endnotdefchar beginnotdefrange endnotdefrange".split()
)
CALCULATOR_WORDS = frozenset(
    "abs add atan ceiling cos cvi cvr div exp floor idiv ln log mod mul neg round sin sqrt sub truncate "
    "and bitshift eq false ge gt le lt ne not or true xor copy dup exch index pop roll if ifelse".split()
)
# reaching files, devices or other programs, in code, strings or comments alike
REACHING_OUT = re.compile(
    rb"(?<![A-Za-z/])(?:run|file|deletefile|renamefile|filenameforall|exec|startjob|exitserver|superexec|"
    rb"setpagedevice|setsystemparams|setuserparams)(?![A-Za-z])|%pipe%|%os%|%ram%|%disk"
)
# PostScript words: what is left once strings, hex strings, comments, literal names,
# numbers and delimiters are taken out of a program
_NOT_A_WORD = re.compile(
    rb"\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)|<[0-9A-Fa-f\s]*>|<<|>>|%[^\r\n]*|/[^\s()<>\[\]{}/%]*"
    rb"|(?<![^\s()<>\[\]{}/%])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![^\s()<>\[\]{}/%])|[\[\]{}]",
    re.S,
)
_DA_PART = re.compile(r"/[^\s/\[\]()<>{}%]+|[-+]?(?:\d+\.?\d*|\.\d+)|[^\s/\[\]()<>{}%]+|\S")
MAX_DECODED = 16 << 20
_OPERATOR_WORDS = frozenset(op.encode() for op in OPERATORS)
# Each is struck out only when the byte that opens it is there at all; possessive (*+, ++)
# so a text left open or a long run of words costs one pass, never a backtracking search.
# A run of texts (a TJ array) goes in one match, with each number written right between
# two of them (delimited by ) or > before and ( or < after: a whole number token, an
# operand): each match costs, so a page of kerned text is a few thousand, not a million.
_KERN = rb"(?:[-+]?+(?:\d++\.?+\d*+|\.\d++))?+"
_LITERAL = rb"\((?:\\.|[^\\()]++)*+\)"
_HEXADECIMAL = rb"<[0-9A-Fa-f\s]*+>"
# A marked-content property list of numbers and texts only (an MCID, /Lang, /Alt,
# /ActualText, /E: §14.6.2, §14.9), struck out whole before its texts are; one line, so
# none of it can belong to a comment, and texts without parentheses or line breaks inside.
_ONE_LINE_TEXT = rb"\((?:\\[^\r\n]|[^\\()\r\n])*+\)|<[0-9A-Fa-f \t]*+>"
_PROPERTY_LIST = rb"<<(?:[ \t]*+(?:/MCID[ \t]++\d++|/(?:Lang|Alt|ActualText|E)[ \t]*+(?:" + _ONE_LINE_TEXT + rb")))++[ \t]*+>>"
_STRUCK_OUT = (
    (b"<", re.compile(_PROPERTY_LIST)),
    # comments, texts without parentheses inside
    (b"(%", re.compile(rb"%[^\r\n]*+|" + _LITERAL + rb"(?:" + _KERN + _LITERAL + rb")*+", re.S)),
    (b"<", re.compile(_HEXADECIMAL + rb"(?:" + _KERN + _HEXADECIMAL + rb")*+")),  # hexadecimal texts
    (b"<", re.compile(rb"<<\s*+/MCID\s++\d++\s*+>>")),  # property lists that only number the marked content
)
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0000000000")
_NAMES_OR_NUMBERS = re.compile(rb"(?:/[^\s()<>\[\]{}/%]*+\n|[-+]?+(?:\d++\.?+\d*+|\.\d++)\n)*+")
# an array of names and numbers (a TJ array without its texts, a dash pattern): an operand;
# any other bracket is left in a word, and the drawing is read in full
_OPERAND_ARRAY = re.compile(
    rb"\[(?:\s++|/[^\s()<>\[\]{}/%]*+|[-+]?+(?=\.?\d)\d*+\.?+\d*+(?![^\s()<>\[\]{}/%]))*+\]"
)


def words(program: bytes) -> set[bytes]:
    """The executable names a PostScript program uses."""
    return set(_NOT_A_WORD.sub(b" ", program).split())


def default_appearance_problem(text: str) -> str | None:
    for part in _DA_PART.findall(text[:4096]):
        if part.startswith("/") or re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)", part):
            continue
        if part not in APPEARANCE_OPERATORS:
            return f"{part[:40]!r} in a default appearance"
    return None


def program_problem(stream: Stream, kinds: set[str]) -> tuple[str, str] | None:
    """(finding kind, detail) for the first thing this stream may not say, or None."""
    if kinds & CONTENT_KINDS and not (kinds == {"pattern"} and stream.get("/PatternType") != 1):
        found = _content_problem(stream)
        if found:
            return "pdf-content-operator-not-allowed", found
    if kinds - CONTENT_KINDS:
        try:
            data = stream.read_bytes()[:MAX_DECODED]
        except (pikepdf.PdfError, UnicodeDecodeError):  # qpdf's message itself may not be text
            return "pdf-program-unreadable", "a font, CMap or function stream that does not decode"
        if "font-file-1" in kinds:
            found = _type1_problem(data)
            if found:
                return "pdf-font-program-not-allowed", found
        if "encoding" in kinds:
            extra = words(data) - {w.encode() for w in CMAP_WORDS}
            if extra or REACHING_OUT.search(data):
                return "pdf-cmap-not-allowed", f"a CMap uses {sorted(extra)[:3] or 'a file'}"
        if "function" in kinds and stream.get("/FunctionType") == 4:
            extra = words(data) - {w.encode() for w in CALCULATOR_WORDS}
            if extra or re.search(rb"[()<>\[\]/%]", data):
                return "pdf-function-not-allowed", f"a type 4 function uses {sorted(extra)[:3] or 'data'}"
    return None


def _type1_problem(data: bytes) -> str | None:
    if data.startswith(b"\x80"):
        return "a Type 1 font program in PFB segments"
    header, marker, _ = data.partition(b"currentfile eexec")
    if not marker or not header.startswith((b"%!PS-AdobeFont", b"%!FontType1")):
        return f"a Type 1 font program that is not a font header then eexec: {data[:20]!r}"
    extra = words(header) - {w.encode() for w in FONT_HEADER_WORDS}
    if extra or REACHING_OUT.search(header):
        return f"a Type 1 font header uses {sorted(extra)[:3] or 'a file'}"
    return None


def _only_annex_a(stream: Stream) -> bool:
    """A drawing whose words, once texts, comments, arrays of names and numbers and
    property lists of an MCID and texts are struck out, are all annex A operators, names or numbers:
    nothing to read one by one. Each pattern takes only a whole token as PDF delimits it
    (a comment to CR or LF, a text with escaped parentheses only, a number between two
    texts), and \\v and NUL, where Python's split and PDF's white space differ, are refused
    first, so each word left is one token. Whatever this cannot follow (an inline image, a
    nested or unclosed parenthesis, another dictionary, an operator inside an array) leaves
    a delimiter in a word, no such word passes, and the drawing is read instruction by
    instruction."""
    try:
        data = stream.read_bytes()
    except (pikepdf.PdfError, UnicodeDecodeError):  # qpdf's message itself may not be text
        return False
    if b"\x0b" in data or b"\0" in data:
        return False
    for opening, pattern in _STRUCK_OUT:
        if any(byte in data for byte in opening):
            data = pattern.sub(b" ", data)
    data = _OPERAND_ARRAY.sub(b" ", data) if b"[" in data else data
    words = set(data.replace(b"/", b" /").split()) - _OPERATOR_WORDS
    if not words:
        return True
    # the rest, a line each: names and numbers only. Neither grammar tells one digit from
    # another, so the lines are matched with every digit made a 0 (a few dozen forms,
    # where the words are every coordinate of the page).
    forms = set(b"\n".join(words).translate(_DIGITS_AS_ZERO).split(b"\n"))
    return _NAMES_OR_NUMBERS.fullmatch(b"\n".join(forms) + b"\n") is not None


def _content_problem(stream: Stream) -> str | None:
    if _only_annex_a(stream):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            instructions = pikepdf.parse_content_stream(stream)
    except (pikepdf.PdfError, TypeError, ValueError, IndexError, RuntimeError, UnicodeDecodeError) as exc:
        return f"drawing instructions that do not parse: {str(exc)[:80]}"
    for instruction in instructions:
        if isinstance(instruction, pikepdf.ContentStreamInlineImage):
            found = _inline_image_problem(instruction)
        else:
            try:
                operator = str(instruction.operator)
            except UnicodeDecodeError:
                return "an operator that is not text"
            found = f"operator {operator[:20]!r}" if operator not in OPERATORS else None
            if found is None and operator in ("BDC", "DP"):
                found = _property_problem(list(instruction.operands))
        if found:
            return found
    return None


def _property_problem(operands: list[object]) -> str | None:
    for operand in operands:
        if isinstance(operand, Dictionary):
            for key in operand.keys():
                value = operand.get(key)
                if key not in PROPERTY_KEYS or isinstance(value, (Dictionary, Stream)):
                    return f"marked-content property {key}"
                if isinstance(value, Array) and any(isinstance(v, (Dictionary, Array, Stream)) for v in value):
                    return f"marked-content property {key} holds an object"
    return None


def _inline_image_problem(instruction: pikepdf.ContentStreamInlineImage) -> str | None:
    try:
        info = instruction.iimage.obj
    except (pikepdf.PdfError, TypeError, ValueError, IndexError, RuntimeError):
        return "an inline image that does not parse"
    extra = set(info.keys()) - INLINE_KEYS
    chain = info.get("/Filter")
    filters = {str(f) for f in (chain if isinstance(chain, Array) else [chain] if chain is not None else [])}
    parms = info.get("/DecodeParms")
    nested = any(
        isinstance(v, (Dictionary, Array, Stream))
        for p in (parms if isinstance(parms, Array) else [parms] if parms is not None else [])
        for v in (p.values() if isinstance(p, Dictionary) else [p])
    )
    if extra or filters - INLINE_FILTERS or nested:
        return f"an inline image with {sorted(extra | (filters - INLINE_FILTERS))[:3] or 'nested parameters'}"
    return None
