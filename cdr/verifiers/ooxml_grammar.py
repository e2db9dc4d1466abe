"""What a released field instruction or spreadsheet formula may say (ECMA-376 Part 1 §17.16
and §18.17), judged positively and written apart from the sanitizer.

A field is accepted when its keyword is one of ``FIELD_KEYWORDS`` — fields that number,
date, cross-reference, index or format the document itself — and nothing in it names a
share, a ``file:`` URL or a scheme outside the policy; ``HYPERLINK`` must name an allowed
web or mail address, or only a bookmark. A formula is read token by token: string
literals, quoted sheet names (which may not hold ``[ ] \\ / ? *``, so a path or a ``[book]``
cannot hide in one), structured table references and names; every function it calls
must be one of Excel's own in ``FUNCTIONS``. A ``|`` outside a string (DDE), a ``[`` that
opens no table reference (an external book), a backslash, an add-in (``_xll.``) call or
an unknown function is reported.
"""

from __future__ import annotations

import re

from cdr.excel_functions import BUILT_IN as FUNCTIONS
from cdr.verifiers.links import mailto_ok

FIELD_KEYWORDS = frozenset(
    """PAGE NUMPAGES SECTIONPAGES SECTION DATE TIME CREATEDATE SAVEDATE PRINTDATE EDITTIME AUTHOR TITLE
    SUBJECT KEYWORDS COMMENTS LASTSAVEDBY FILENAME FILESIZE NUMWORDS NUMCHARS REVNUM TEMPLATE DOCPROPERTY
    DOCVARIABLE INFO USERNAME USERINITIALS USERADDRESS REF PAGEREF NOTEREF STYLEREF SEQ TOC TOA TA TC
    INDEX XE AUTONUM AUTONUMLGL AUTONUMOUT LISTNUM SYMBOL EQ ADVANCE FORMTEXT FORMCHECKBOX FORMDROPDOWN
    BIBLIOGRAPHY CITATION MERGEFIELD MERGEREC MERGESEQ NEXT NEXTIF SKIPIF IF COMPARE SET ASK FILLIN
    BARCODE DISPLAYBARCODE MERGEBARCODE GREETINGLINE ADDRESSBLOCK HYPERLINK =""".split()
)
_WORD = re.compile(r'\s*(=|[^\s\\"]+)')
_SCHEME = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]{2,}):", re.ASCII)  # RFC 3986 §3.1
_TOKEN = re.compile(r'"((?:\\.|[^"\\])*)"|(\S+)')
_SWITCH_WITH_ARGUMENT = frozenset({"\\l", "\\o", "\\t"})


def _scheme_ok(target: str, schemes: tuple[str, ...]) -> bool:
    match = re.match(r"([A-Za-z][\w+.\-]*):(.*)", target.strip(), re.S)
    if not match or match.group(1).lower() not in schemes:
        return False
    scheme, rest = match.group(1).lower(), match.group(2)
    if scheme in ("http", "https"):
        return bool(re.match(r"//[^/\\]", rest))
    return "\\" not in rest and (scheme != "mailto" or mailto_ok(rest))


def field_problem(instruction: str, schemes: tuple[str, ...]) -> str | None:
    """None when the field may stay; else a few words on why not."""
    match = _WORD.match(instruction)
    if match is None:
        return None if not instruction.strip() else "field without a keyword"
    keyword = match.group(1).upper()
    if keyword not in FIELD_KEYWORDS:
        return f"field {keyword[:20]!r}"
    text = instruction.replace("\\\\", "\\")
    if keyword == "HYPERLINK":
        return _hyperlink_problem(instruction, schemes)
    if "\\\\" in text:
        return f"{keyword} field names a share"
    for scheme in _SCHEME.findall(text):
        if scheme.lower() not in schemes:
            return f"{keyword} field names a {scheme[:20]!r} address"
    return None


def _hyperlink_problem(instruction: str, schemes: tuple[str, ...]) -> str | None:
    skip = False
    for token in list(_TOKEN.finditer(instruction))[1:]:
        quoted, bare = token.group(1), token.group(2)
        if skip:
            skip = False
            continue
        if bare is not None and bare.startswith("\\"):  # a switch; "\\\\host" in quotes is a target
            skip = bare.lower() in _SWITCH_WITH_ARGUMENT
            continue
        target = (quoted if quoted is not None else bare).replace("\\\\", "\\")
        return None if _scheme_ok(target, schemes) else "HYPERLINK field to a non-web target"
    return None


# ---------------------------------------------------------------- formulas
_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\u0080-\uffff]*")
_SHEET_NAME_FORBIDDEN = frozenset("[]\\/?*")


def _skip_quoted(text: str, start: int, quote: str) -> int:
    """Index just past the literal that opens at ``start`` (doubled quotes are escapes)."""
    index = start + 1
    while index < len(text):
        if text[index] == quote:
            if index + 1 < len(text) and text[index + 1] == quote:
                index += 2
                continue
            return index + 1
        index += 1
    return index


def _function_problem(name: str) -> str | None:
    bare = name
    while bare.lower().startswith(("_xlfn.", "_xlws.")):
        bare = bare[6:]
    if bare.lower().startswith("_xlpm."):
        return None  # a LAMBDA parameter called as a function
    if bare.upper() not in FUNCTIONS:
        return f"function {name[:40]!r}"
    return None


def formula_problem(formula: str) -> str | None:
    """None when the formula may stay; else a few words on why not."""
    index, depth, length = 0, 0, len(formula)
    calls_hyperlink, literals = False, []
    while index < length:
        char = formula[index]
        if char == '"':
            end = _skip_quoted(formula, index, '"')
            literals.append(formula[index + 1 : end - 1])
            index = end
        elif char == "'":
            end = _skip_quoted(formula, index, "'")
            if _SHEET_NAME_FORBIDDEN & set(formula[index + 1 : end - 1]):
                return "external workbook or path in a sheet reference"
            index = end
        elif char == "[":
            previous = formula[index - 1] if index else " "
            if depth == 0 and not (previous.isalnum() or previous in "_."):
                return "external workbook reference"
            depth, index = depth + 1, index + 1
        elif char == "]":
            depth, index = max(0, depth - 1), index + 1
        elif char in "|\\":
            return "DDE link" if char == "|" else "backslash outside a string"
        elif depth == 0 and (char.isalpha() or char == "_"):
            end = _NAME_CHARS.match(formula, index).end()
            name, after = formula[index:end], formula[end:].lstrip()
            if after.startswith("("):
                problem = _function_problem(name)
                if problem:
                    return problem
                calls_hyperlink = calls_hyperlink or name.upper().endswith("HYPERLINK")
                if name.upper().endswith("HYPERLINK") and not _literal_link(formula, formula.index("(", end) + 1):
                    return "HYPERLINK target not one literal web, mail or in-book address"
            index = end
        else:
            index += 1
    return _literal_problem(literals, calls_hyperlink)


def _literal_link(formula: str, start: int) -> bool:
    """HYPERLINK's first argument, from ``start``, is one string literal — a web or mail
    address or ``#`` and a place in this book — followed by ``,`` or ``)``. A cell
    reference, ``CHAR(92)`` or ``&`` would build a target no one can read before the click."""
    rest = formula[start:].lstrip()
    if not rest.startswith('"'):
        return False
    end = _skip_quoted(rest, 0, '"')
    if not rest[end:].lstrip().startswith((",", ")")):
        return False
    target = rest[1 : end - 1].replace('""', '"').strip()
    if target.startswith("#"):
        return not any(char in target for char in "\\/[]")
    return _scheme_ok(target, ("http", "https", "mailto"))


def _literal_problem(literals: list[str], calls_hyperlink: bool) -> str | None:
    for literal in literals:
        text = literal.strip()
        if text.startswith("\\\\") or text.lower().startswith("file:"):
            return "path in a string"
        if calls_hyperlink and re.match(r"[A-Za-z][\w+.\-]*:", text) and not _scheme_ok(
            text, ("http", "https", "mailto")
        ):
            return "HYPERLINK to a non-web target"
    return None
