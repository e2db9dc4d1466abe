"""The PostScript a PDF carries — Type 1 font headers, CMaps, Type 4 functions — held to
the little each is defined to be.

A printer or a PostScript-based viewer runs these as programs, and PostScript can open
and run files (``(\\\\server\\share\\x.ps) run``). So:

* a Type 1 font program's clear-text part (before ``currentfile eexec``, ISO 32000-1
  §9.9, Adobe Type 1 Font Format ch. 2) may only use the words a font header is written
  with; a PFB file's segment headers are taken off (the PDF form is the bare segments);
* a CMap (a ToUnicode map, a Type 0 font's embedded encoding and what it builds on, §9.10,
  Adobe technical note 5014) is written anew from its code-space ranges and mappings
  alone, and one built on another embedded CMap takes that one's mappings in;
* a Type 4 function (§7.10.5) may only hold numbers, braces and the calculator operators.

What does not pass is left out: a font program (the viewer draws the text with a font of
its own), a ToUnicode map (copying text out loses its letters), a function (what it
shades is not painted).
"""

from __future__ import annotations

import re

import pikepdf
from pikepdf import Stream

# Words a Type 1 font header is written with (Type 1 Font Format §2.3, and the checks
# of FontDirectory that TeX and Ghostscript fonts begin with).
TYPE1_WORDS = frozenset(
    "dict begin end def readonly noaccess executeonly put dup array for index exch pop currentdict "
    "currentfile eexec known not if ifelse get bind StandardEncoding true false systemdict userdict "
    "FontDirectory definefont findfont cvx string mark cleartomark load where and or eq ne gt lt ge le "
    "save restore length type".split()
)
_TYPE1_WORDS = frozenset(word.encode() for word in TYPE1_WORDS)
# Words that reach files or other programs; also refused inside strings and comments, since
# a PostScript-based reader may show or print them.
_DANGER = re.compile(
    rb"(?<![A-Za-z/])(?:run|file|deletefile|renamefile|filenameforall|setpagedevice|setsystemparams|"
    rb"setuserparams|startjob|exitserver|superexec|exec)(?![A-Za-z])|%pipe%|%os%|%ram%|%disk"
)
CALCULATOR = frozenset(
    "abs add atan ceiling cos cvi cvr div exp floor idiv ln log mod mul neg round sin sqrt sub truncate "
    "and bitshift eq false ge gt le lt ne not or true xor copy dup exch index pop roll if ifelse".split()
)
_TOKEN = re.compile(
    rb"%[^\r\n]*|\((?:[^()\\]|\\.|\((?:[^()\\]|\\.)*\))*\)|<<|>>|<[0-9A-Fa-f\s]*>|[\[\]{}]|/?[^\s()<>\[\]{}/%]+|\S",
    re.S,
)
_NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_PLAIN_NAME = re.compile(rb"/[A-Za-z0-9_.+\-]{1,127}")
# compiled once: a CMap checks one per operand, and re's own cache costs a lookup each time
_HEX = re.compile(rb"<[0-9A-Fa-f\s]{0,512}>")
_HEX_ARRAY = re.compile(rb"\[(?:\s*<[0-9A-Fa-f\s]{1,512}>)*\s*\]")
_SPACE = b" \t\n\r\x0b\x0c"  # what \s matches in a pattern of bytes
MAX_PROGRAM = 1 << 20
MAX_CMAP_OPERANDS = 300_000  # a whole CJK font's worth of mappings in one block
CMAP_BLOCK = 100  # at most 100 entries between begin… and end… (5014 §7)

# section → (entries' sizes, what each operand is: h hex string, i integer, d a destination)
_SECTIONS = {
    b"codespacerange": "hh",
    b"bfchar": "hd",
    b"bfrange": "hhd",
    b"cidchar": "hi",
    b"cidrange": "hhi",
    b"notdefchar": "hi",
    b"notdefrange": "hhi",
}


# ------------------------------------------------------------------ Type 1 font programs
def type1_program_ok(stream: Stream) -> bool:
    """The clear-text part is a font header and nothing else; a PFB is made bare first."""
    try:
        data = stream.read_bytes()
    except (pikepdf.PdfError, UnicodeDecodeError):  # qpdf's message itself may not be text
        return False
    if data.startswith(b"\x80\x01"):
        data = _from_pfb(stream, data)
        if data is None:
            return False
    clear, marker, rest = data.partition(b"currentfile eexec")
    first_line = clear.split(b"\n", 1)[0].split(b"\r", 1)[0]
    if not marker or not first_line.startswith((b"%!PS-AdobeFont", b"%!FontType1")) or _DANGER.search(first_line):
        return False
    tokens = _TOKEN.findall(clear[len(first_line) :])
    for token in tokens:
        if token[:1] not in b"%(<[]{}/" and not _NUMBER.fullmatch(token) and token not in _TYPE1_WORDS:
            return False
    if _DANGER.search(clear):
        # the words are a header's, but a comment or a text (a licence's "see the file
        # COPYING") names one that reaches out: the header is written again without
        # comments, and such a text left empty
        header = b" ".join(b"()" if t[:1] == b"(" and _DANGER.search(t) else t for t in tokens if t[:1] != b"%")
        _rewrite_header(stream, clear, first_line + b"\n" + header + b"\n", marker + rest)
    return True


def _rewrite_header(stream: Stream, old: bytes, new: bytes, rest: bytes) -> None:
    """The program with its new header; /Length1 (the clear text's length) follows it."""
    length = stream.get("/Length1")
    stream.write(new + rest)
    if isinstance(length, int):
        stream["/Length1"] = max(int(length) + len(new) - len(old), 0)


def _from_pfb(stream: Stream, data: bytes) -> bytes | None:
    """PFB segments (1: text, 2: binary, 3: the end) as the bare bytes and the /Length1–3
    of a PDF font file: the header text, the encrypted part, what follows it."""
    lengths = [0, 0, 0]
    parts: list[bytes] = []
    position = 0
    while position + 6 <= len(data) and data[position] == 0x80 and data[position + 1] in (1, 2):
        kind, size = data[position + 1], int.from_bytes(data[position + 2 : position + 6], "little")
        parts.append(data[position + 6 : position + 6 + size])
        slot = 0 if kind == 1 and not lengths[1] else 1 if kind == 2 else 2
        lengths[slot] += len(parts[-1])
        position += 6 + size
    if not lengths[0] or not lengths[1] or data[position : position + 2] != b"\x80\x03":
        return None
    bare = b"".join(parts)
    stream.write(bare)
    stream["/Length1"], stream["/Length2"], stream["/Length3"] = lengths
    return bare


# ------------------------------------------------------------------ Type 4 functions
def calculator_ok(stream: Stream) -> bool:
    try:
        program = stream.read_bytes()
    except (pikepdf.PdfError, UnicodeDecodeError):  # qpdf's message itself may not be text
        return False
    if len(program) > MAX_PROGRAM or not program.strip().startswith(b"{"):
        return False
    depth = 0
    for token in re.findall(rb"[{}]|[^\s{}]+", program):
        if token in (b"{", b"}"):
            depth += 1 if token == b"{" else -1
            if depth < 0:
                return False
        elif not (_NUMBER.fullmatch(token) or token.decode("latin-1") in CALCULATOR):
            return False
    return depth == 0


# ------------------------------------------------------------------ CMaps
def rebuild_cmap(stream: Stream, inherited: bytes = b"", unicode: bool = False) -> bytes | None:
    """A CMap written anew from the mappings in ``inherited`` (an embedded CMap this one
    uses, already rebuilt) and in ``stream``; None if there is nothing readable in it."""
    try:
        text = inherited + b"\n" + stream.read_bytes()
    except (pikepdf.PdfError, UnicodeDecodeError):  # qpdf's message itself may not be text
        return None
    if len(text) > 4 * MAX_PROGRAM:
        return None
    sections: dict[bytes, list[list[bytes]]] = {name: [] for name in _SECTIONS}
    facts: dict[bytes, bytes] = {}
    operands: list[bytes] = []
    array: list[bytes] | None = None
    for token in _TOKEN.findall(text):
        if token.startswith(b"%"):
            continue
        if token == b"[":
            array = []
        elif token == b"]" and array is not None:
            operands.append(b"[" + b" ".join(array) + b"]")
            array = None
        elif array is not None:
            array.append(token)
        elif token.startswith(b"begin") and token[5:] in _SECTIONS:
            operands = []
        elif token.startswith(b"end") and token[3:] in _SECTIONS:
            entries = _entries(token[3:], operands)
            if entries is None:
                return None
            sections[token[3:]] += entries
            operands = []
        elif token in (b"def", b"usecmap"):
            if len(operands) >= 2 and operands[-2] in (b"/WMode", b"/Registry", b"/Ordering", b"/Supplement"):
                facts[operands[-2]] = operands[-1]
            elif token == b"usecmap" and operands and _PLAIN_NAME.fullmatch(operands[-1]):
                facts[b"usecmap"] = operands[-1]  # a CMap the viewer has built in, by name
            operands = []
        elif token.startswith((b"/", b"<", b"(")) or _NUMBER.fullmatch(token):
            operands.append(token)
            if len(operands) > MAX_CMAP_OPERANDS:
                return None
        else:
            operands = []  # another word: its operands meant nothing to a mapping
    if not any(sections.values()):
        return None  # nothing that maps a code: a viewer reads it as no CMap at all
    return _write_cmap(sections, facts, unicode)


def _entries(section: bytes, operands: list[bytes]) -> list[list[bytes]] | None:
    shape = _SECTIONS[section]
    if len(operands) % len(shape):
        return None
    entries = [operands[i : i + len(shape)] for i in range(0, len(operands), len(shape))]
    for entry in entries:
        for kind, value in zip(shape, entry, strict=True):
            if kind == "h" and not _hex(value):
                return None
            if kind == "i" and not value.isdigit():
                return None
            if kind == "d" and not (_hex(value) or _PLAIN_NAME.fullmatch(value) or _hex_array(value)):
                return None
    return [[v.translate(None, _SPACE) if v.startswith(b"<") else v for v in entry] for entry in entries]


def _hex(value: bytes) -> bool:
    return _HEX.fullmatch(value) is not None


def _hex_array(value: bytes) -> bool:
    return _HEX_ARRAY.fullmatch(value) is not None


def _fact(facts: dict[bytes, bytes], key: bytes, default: bytes, pattern: bytes) -> bytes:
    value = facts.get(key, default)
    return value if re.fullmatch(pattern, value) else default


def _write_cmap(sections: dict[bytes, list[list[bytes]]], facts: dict[bytes, bytes], unicode: bool) -> bytes:
    registry = _fact(facts, b"/Registry", b"(Adobe)", rb"\([A-Za-z0-9_\-]{1,64}\)")
    ordering = _fact(facts, b"/Ordering", b"(UCS)" if unicode else b"(Identity)", rb"\([A-Za-z0-9_\-]{1,64}\)")
    supplement = _fact(facts, b"/Supplement", b"0", rb"\d{1,4}")
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap"]
    if b"usecmap" in facts and not unicode:
        lines.append(facts[b"usecmap"] + b" usecmap")
    lines += [
        b"/CIDSystemInfo << /Registry " + registry + b" /Ordering " + ordering + b" /Supplement " + supplement + b" >> def",
        b"/CMapName /" + registry[1:-1] + b"-" + ordering[1:-1] + b"-" + supplement + b" def",
        b"/CMapType " + (b"2" if unicode else b"1") + b" def",
    ]
    if not unicode:
        lines.append(b"/WMode " + _fact(facts, b"/WMode", b"0", rb"[01]") + b" def")
    for section, entries in sections.items():
        for start in range(0, len(entries), CMAP_BLOCK):
            block = entries[start : start + CMAP_BLOCK]
            lines.append(b"%d begin%s" % (len(block), section))
            lines += [b" ".join(entry) for entry in block]
            lines.append(b"end" + section)
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines) + b"\n"

