"""Word fields and spreadsheet formulas: each judged on its own whole text.

Fields (ECMA-376 Part 1 §17.16): a simple field is ``w:fldSimple/@w:instr``; a complex
field runs from a ``w:fldChar`` *begin* through its instruction (``w:instrText``, in as
many runs and paragraphs as the writer liked, possibly holding nested fields) to
*separate*, then its cached result, then *end*. The fields of a part are followed in
document order with a stack, so several fields in a paragraph, nested fields and fields
across paragraphs are each judged on their own instruction. A field is kept when its
keyword is on ``SAFE_FIELDS`` and nothing in it points at a file, a share or a scheme other
than the allowed ones; a nested field's result counts as unknown text in its parent's
instruction. Otherwise the field's codes go and its cached result stays as plain text.

Formulas (Part 1 §18.17): cell formulas, shared and array masters (with their
dependants), conditional-formatting and validation formulas, defined names, table and
chart references, in the transitional, strict and x14 namespaces. A formula that holds a
DDE ``|`` outside a string, an external workbook reference, a path or ``file:``, or an
active function is removed; the cell keeps its cached value.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator

from lxml import etree

from cdr.excel_functions import BUILT_IN
from cdr.sanitizers.ooxml_table import FAMILY, hyperlink_allowed

# The tags of SCANNED_TAGS a part may hold, found by the cleaner's walk in the same pass as
# the elements it judges (cdr/sanitizers/ooxml_content.py); None: not known.
Present = frozenset[object] | None

_W = [ns for ns, family in FAMILY.items() if family == "w"]
_S = [ns for ns, family in FAMILY.items() if family == "s"]
_C = [ns for ns, family in FAMILY.items() if family == "c"]
_XM = [ns for ns, family in FAMILY.items() if family == "xm"]
_X = [ns for ns, family in FAMILY.items() if family == "x"]

SAFE_FIELDS = frozenset(
    """= PAGE NUMPAGES SECTIONPAGES SECTION DATE TIME CREATEDATE SAVEDATE PRINTDATE EDITTIME AUTHOR TITLE
    SUBJECT KEYWORDS COMMENTS LASTSAVEDBY FILENAME FILESIZE NUMWORDS NUMCHARS REVNUM TEMPLATE DOCPROPERTY
    DOCVARIABLE INFO USERNAME USERINITIALS USERADDRESS REF PAGEREF NOTEREF STYLEREF SEQ TOC TOA TA TC INDEX
    XE AUTONUM AUTONUMLGL AUTONUMOUT LISTNUM SYMBOL EQ ADVANCE FORMTEXT FORMCHECKBOX FORMDROPDOWN
    BIBLIOGRAPHY CITATION MERGEFIELD MERGEREC MERGESEQ NEXT NEXTIF SKIPIF IF COMPARE SET ASK FILLIN BARCODE
    DISPLAYBARCODE MERGEBARCODE GREETINGLINE ADDRESSBLOCK HYPERLINK""".split()
)
_NESTED = "\x00"  # stands for a nested field's result inside an instruction
_ARGUMENT = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')
_SCHEME_IN_TEXT = re.compile(r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]{2,}):")


def _w(local: str) -> list[str]:
    return [f"{{{ns}}}{local}" for ns in _W]


def _w_attribute(element: etree._Element, local: str) -> str:
    """A WordprocessingML attribute, qualified or (as lenient readers accept) not."""
    for ns in _W:
        value = element.get(f"{{{ns}}}{local}")
        if value is not None:
            return value
    return element.get(local) or ""


# ---------------------------------------------------------------- fields
def field_keyword(instruction: str) -> str:
    text = instruction.strip()
    if text.startswith("="):
        return "="
    match = re.match(r'[^\s\\"]+', text)
    return match.group(0).upper() if match else ""


def _unescape(text: str) -> str:
    return text.replace("\\\\", "\\")


def _points_outside(text: str, schemes: tuple[str, ...]) -> bool:
    plain = _unescape(text)
    if "\\\\" in plain:  # a share: \\host\folder
        return True
    return any(m.group(1).lower() not in schemes for m in _SCHEME_IN_TEXT.finditer(plain))


def _hyperlink_target_ok(instruction: str, schemes: tuple[str, ...]) -> bool:
    arguments = list(_ARGUMENT.finditer(instruction))[1:]
    index = 0
    while index < len(arguments):
        quoted, bare = arguments[index].group(1), arguments[index].group(2)
        if bare is not None and bare.startswith("\\"):  # a switch; a quoted "\\host" is a target
            index += 2 if bare.lower() in ("\\l", "\\o", "\\t") else 1
            continue
        return hyperlink_allowed(_unescape(quoted if quoted is not None else bare), schemes)
    return True  # only a bookmark (\l) inside the document


# Keywords of fields that load, link or run; as a mere word inside a harmless field they do
# nothing, but a field that mentions one is not worth the doubt.
_ACTIVE_WORDS = frozenset(
    "DDE DDEAUTO INCLUDETEXT INCLUDEPICTURE INCLUDE LINK IMPORT EMBED MACROBUTTON GOTOBUTTON PRINT DATABASE".split()
)


def field_allowed(instruction: str, schemes: tuple[str, ...], ended: bool = True) -> bool:
    keyword = field_keyword(instruction)
    if keyword not in SAFE_FIELDS or not ended:  # a field the writer never ended goes too
        return False
    if _ACTIVE_WORDS & {word.upper() for word in re.findall(r"[A-Za-z]+", instruction)}:
        return False
    if keyword == "HYPERLINK":
        return _hyperlink_target_ok(instruction, schemes)
    return not _points_outside(instruction, schemes)


def _field_kind(instruction: str) -> str:
    keyword = field_keyword(instruction)
    if keyword in ("DDE", "DDEAUTO"):
        return "dde-field"
    return "field-" + (keyword.lower() if re.fullmatch(r"[A-Z]{1,20}", keyword) else "other")


class _Field:
    __slots__ = ("instruction", "nodes", "in_result", "parent", "ended")

    def __init__(self, parent: _Field | None) -> None:
        self.instruction: list[str] = []
        self.nodes: list[etree._Element] = []  # codes and instruction-side text, removed together
        self.in_result = False
        self.parent = parent  # the field whose instruction this one sits in
        self.ended = True


def _never_had(present: Present, tags: list[str]) -> bool:
    """True when the part holds none of ``tags``: ``present`` is known and says so for
    tags it covers (a list outside ``SCANNED_TAGS`` is always scanned)."""
    return present is not None and SCANNED_TAGS.issuperset(tags) and present.isdisjoint(tags)


def _present(root: etree._Element, present: Present, tags: list[str]) -> Iterator[etree._Element]:
    """``root.iter(*tags)``, without a scan of the part when it never had any of them."""
    if _never_had(present, tags):
        return iter(())
    return root.iter(*tags)


def _complex_fields(root: etree._Element, present: Present = None) -> Iterator[_Field]:
    """Every complex field of the part, innermost first, with all its code nodes."""
    stack: list[_Field] = []
    if _never_had(present, [*_w("fldChar"), *_w("instrText"), *_w("delInstrText")]):
        return  # text runs alone make no field
    tags = [*_w("fldChar"), *_w("instrText"), *_w("delInstrText"), *_w("t"), *_w("delText")]
    for node in root.iter(*tags):
        local = etree.QName(node).localname
        top = stack[-1] if stack else None
        if local == "fldChar":
            kind = _w_attribute(node, "fldCharType")
            if kind == "begin":
                inside = top if top is not None and not top.in_result else None
                if inside is not None:
                    inside.instruction.append(_NESTED)
                field = _Field(inside)
                field.nodes.append(node)
                stack.append(field)
            elif top is not None and kind == "separate":
                top.in_result = True
                top.nodes.append(node)
            elif top is not None and kind == "end":
                top.nodes.append(node)
                yield _finish(stack.pop())
        elif local in ("instrText", "delInstrText"):
            if top is None:  # outside any field: judged on its own all the same
                stray = _Field(None)
                stray.instruction.append(node.text or "")
                stray.nodes.append(node)
                yield stray
                continue
            top.instruction.append(node.text or "")
            top.nodes.append(node)
        elif top is not None and not top.in_result:
            top.nodes.append(node)  # a nested field's result, part of this instruction
    while stack:  # a field the writer never ended
        field = stack.pop()
        field.ended = False
        yield _finish(field)


def _finish(field: _Field) -> _Field:
    if field.parent is not None:
        field.parent.nodes.extend(field.nodes)
    return field


def _detach(node: etree._Element) -> None:
    parent = node.getparent()
    if parent is not None:
        parent.remove(node)


def neutralise_fields(
    root: etree._Element, schemes: tuple[str, ...], dropped: Counter[str], present: Present = None
) -> None:
    for field in list(_complex_fields(root, present)):
        instruction = "".join(field.instruction)
        if not field_allowed(instruction, schemes, field.ended):
            for node in field.nodes:
                _detach(node)
            dropped[_field_kind(instruction)] += 1
    for simple in list(_present(root, present, _w("fldSimple"))):
        instruction = _w_attribute(simple, "instr")
        if field_allowed(instruction, schemes):
            continue
        parent = simple.getparent()
        if parent is None:
            continue
        index = parent.index(simple)
        for child in reversed(list(simple)):  # the cached result stays
            parent.insert(index, child)
        parent.remove(simple)
        dropped[_field_kind(instruction)] += 1


# ---------------------------------------------------------------- formulas
ACTIVE_FUNCTIONS = frozenset(
    """WEBSERVICE FILTERXML CALL REGISTER REGISTER.ID EXEC RTD SQL.REQUEST IMAGE STOCKHISTORY EVALUATE
    RUN FORMULA PY EXECUTE DDE CUBEKPIMEMBER CUBEMEMBER CUBEMEMBERPROPERTY CUBERANKEDMEMBER CUBESET
    CUBESETCOUNT CUBEVALUE TRANSLATE DETECTLANGUAGE COPILOT""".split()
)
_FUNCTION = re.compile(
    r"(?<![A-Za-z0-9_.\u0080-\uffff])((?:_xl[a-z]+\.)*)([A-Za-z_\u0080-\uffff][A-Za-z0-9_.\u0080-\uffff]*)\s*\("
)
# String literals and quoted sheet names, whichever opens first, read left to right; one
# the writer never closed runs to the end, as Excel would read it.
_LITERAL = re.compile(r'"(?:[^"]|"")*(?:"|$)|\'(?:[^\']|\'\')*(?:\'|$)')
_NOT_IN_SHEET_NAME = re.compile(r"[\[\]\\/:?*]")
_AUTO_NAME = re.compile(r"(?:_xlnm\.)?auto_(?:open|close|activate|deactivate)", re.I)


def _masked(formula: str) -> tuple[str, list[str], bool]:
    """The formula with literals blanked, its string literals, and whether a quoted sheet
    name holds what no sheet name may (a path, a ``[book]``)."""
    strings: list[str] = []
    bad_name = False

    def blank(match: re.Match[str]) -> str:
        nonlocal bad_name
        text = match.group(0)
        if text[0] == '"':
            strings.append(text[1:].removesuffix('"'))
        elif _NOT_IN_SHEET_NAME.search(text[1:].removesuffix("'")):
            bad_name = True
        return text[0] + " " * (len(text) - 1)

    return _LITERAL.sub(blank, formula), strings, bad_name


def formula_problem(formula: str) -> str | None:
    """Why a formula may not stay ("dde", "external-reference", "function"), or None."""
    if "file:" in formula.lower() or "\\\\" in formula:
        return "external-reference"
    masked, strings, bad_name = _masked(formula)
    if "|" in masked:
        return "dde"
    if bad_name or "\\" in masked or _bracket_outside_table(masked):
        return "external-reference"  # outside strings a backslash only ever starts a path
    for match in _FUNCTION.finditer(masked):
        prefixes, name = match.group(1).lower(), match.group(2).upper()
        if "_xll." in prefixes or name in ACTIVE_FUNCTIONS:
            return "function"
        if "_xlpm." not in prefixes and name not in BUILT_IN:
            # a VBA user-defined function (gone with the macros) or an add-in's: the
            # formula goes, its cached value stays
            return "function"
    if "HYPERLINK" in masked.upper():
        for literal in strings:
            target = literal.strip()
            if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*:|\\\\|//", target) and not hyperlink_allowed(
                target, ("http", "https", "mailto")
            ):
                return "external-reference"
        calls = [match for match in _FUNCTION.finditer(masked) if match.group(2).upper() == "HYPERLINK"]
        if len(calls) != masked.upper().count("HYPERLINK"):
            # HYPERLINK where this reading sees no call ($B$2HYPERLINK(): not judged, so not kept
            return "external-reference"
        if not all(_link_target_literal(formula, masked, match.end()) for match in calls):
            return "external-reference"
    return None


def _link_target_literal(formula: str, masked: str, start: int) -> bool:
    """Whether HYPERLINK's first argument (from ``start``, just past its parenthesis) is one
    string literal naming a web or mail address or a place in this book (``#Sheet1!A1``).
    A target computed at click time — a cell holding ``\\\\host\\x.exe``, ``CHAR(92)``,
    pieces joined with ``&`` — cannot be judged here, so the formula goes."""
    depth, end = 0, start
    while end < len(masked) and not (depth == 0 and masked[end] in ",)"):
        depth += {"(": 1, ")": -1}.get(masked[end], 0)
        end += 1
    argument = formula[start:end].strip()
    if not re.fullmatch(r'"(?:[^"]|"")*"', argument):
        return False
    target = argument[1:-1].replace('""', '"').strip()
    if target.startswith("#"):
        return not re.search(r"[\\/\[\]]|:\s*/", target)
    return hyperlink_allowed(target, ("http", "https", "mailto"))


def _bracket_outside_table(masked: str) -> bool:
    """A ``[`` that does not follow a table name opens an external book (``[1]Sheet1!A1``)."""
    depth = 0
    for index, char in enumerate(masked):
        if char == "[":
            if depth == 0 and (index == 0 or not (masked[index - 1].isalnum() or masked[index - 1] in "_.")):
                return True
            depth += 1
        elif char == "]":
            depth = max(0, depth - 1)
    return False


def _tags(families: list[list[str]], *locals_: str) -> list[str]:
    return [f"{{{ns}}}{local}" for namespaces in families for ns in namespaces for local in locals_]


# Every tag the passes below skip a scan for when the part never had it.
SCANNED_TAGS = frozenset(
    [
        *_w("fldChar"), *_w("instrText"), *_w("delInstrText"), *_w("fldSimple"),
        *_tags([_S], "f", "formula", "formula1", "formula2", "calculatedColumnFormula", "totalsRowFormula"),
        *_tags([_S], "definedName"), *_tags([_XM], "f"), *_tags([_C], "f"),
        *_tags([_X], "FmlaLink", "FmlaRange", "FmlaTxbx", "FmlaGroup", "FmlaPict"),
    ]
)  # fmt: skip


def neutralise_formulas(root: etree._Element, dropped: Counter[str], present: Present = None) -> None:
    bad_shared: set[str] = set()
    for formula in list(_present(root, present, _tags([_S], "f"))):
        problem = formula_problem(formula.text or "") or _table_formula_problem(formula)
        if problem is None:
            continue
        if formula.get("t") == "shared" and formula.get("si") is not None:
            bad_shared.add(formula.get("si"))
        _detach(formula)
        dropped["formula-" + problem] += 1
    if bad_shared:  # a dependant without its master is a broken cell; it goes too
        for formula in list(root.iter(*_tags([_S], "f"))):
            if formula.get("t") == "shared" and formula.get("si") in bad_shared:
                _detach(formula)
    _rule_formulas(root, dropped, present)
    _named_formulas(root, dropped, present)


def _table_formula_problem(formula: etree._Element) -> str | None:
    for attribute in ("r1", "r2", "ref"):
        value = formula.get(attribute)
        if value and formula_problem(value):
            return "external-reference"
    return None


def _rule_formulas(root: etree._Element, dropped: Counter[str], present: Present) -> None:
    """Conditional formats, validations and table columns: the rule goes with its formula."""
    rules = [*_tags([_S], "formula", "formula1", "formula2"), *_tags([_XM], "f")]
    for formula in list(_present(root, present, rules)):
        problem = formula_problem(formula.text or "")
        if problem is None:
            continue
        owner = formula.getparent()
        if owner is not None and etree.QName(owner).localname not in ("cfRule", "dataValidation"):
            owner = owner.getparent()  # x14 rules wrap xm:f in formula1/formula2
        _detach(owner if owner is not None and owner.getparent() is not None else formula)
        dropped["formula-" + problem] += 1
    for formula in list(_present(root, present, _tags([_S], "calculatedColumnFormula", "totalsRowFormula"))):
        if formula_problem(formula.text or ""):
            _detach(formula)
            dropped["formula-table"] += 1
    controls = _tags([_X], "FmlaLink", "FmlaRange", "FmlaTxbx", "FmlaGroup", "FmlaPict")
    for reference in list(_present(root, present, controls)):
        if formula_problem(reference.text or ""):
            _detach(reference)  # a legacy form control's link to cells
            dropped["formula-control"] += 1
    for reference in _present(root, present, _tags([_C], "f")):
        if formula_problem(reference.text or ""):
            reference.text = ""  # the chart keeps its cached numbers
            dropped["formula-chart"] += 1


def _named_formulas(root: etree._Element, dropped: Counter[str], present: Present) -> None:
    for name in list(_present(root, present, _tags([_S], "definedName"))):
        if _AUTO_NAME.match(name.get("name", "")):
            _detach(name)
            dropped["auto-open-name"] += 1
        elif any(name.get(flag) in ("1", "true") for flag in ("xlm", "function", "vbProcedure")):
            _detach(name)
            dropped["macro-name"] += 1
        elif formula_problem(name.text or ""):
            _detach(name)
            dropped["formula-name"] += 1
