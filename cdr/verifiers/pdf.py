"""Allow-list verification of a released PDF (ISO 32000-1:2008; table numbers below).

The file is read as qpdf's JSON form (``write_qpdf_json``: every object once, names
already decoded from ``#xx`` escapes, strings marked ``u:``/``b:``, references written
``"n g R"``) and walked from the trailer. Each dictionary is held against the keys its
type may have *in the place it is reached from*: a font's keys where a font is expected,
an ExtGState's where a graphics state is, and so on down to nested direct dictionaries
(the tables are ``pdf_keys``). A form field may be there to fill, with no action; a
structure element must be of a standard type or one the role map leads to a standard
type, and its attributes data of a layout owner. Any other key is a finding, as is an action other than a plain ``/GoTo`` or a ``/URI`` with
a scheme the policy allows, a name tree other than ``/Dests``, an object that nothing
reaches, a stream filter no viewer needs, a stream that decodes to more than the limit,
an incremental update and anything after the final ``%%EOF``. What the programs it
reaches say — drawing instructions, default appearances, Type 1 font headers, CMaps, type 4
functions — is read against their grammars (``pdf_streams``).

Written against the specification, not against the sanitizer: nothing here is imported
from ``cdr.sanitizers``.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from typing import BinaryIO

import pikepdf

from cdr.model import FileType, Finding
from cdr.verifiers import VerifyContext
from cdr.verifiers.links import mailto_ok
from cdr.verifiers.pdf_data import data_findings, inflated
from cdr.verifiers.pdf_keys import (
    ATTRIBUTE_OWNERS,
    CHILDREN,
    INERT,
    KEYS,
    MARKUP,
    NAMES,
    NEVER_STREAMS,
    STREAM_KEYS,
    STRUCTURE_TYPES,
)
from cdr.verifiers.pdf_streams import PROGRAM_KINDS, default_appearance_problem, program_problem

VERIFIES = frozenset({FileType.PDF})

MAX_DEPTH = 48
MAX_LABEL_PREFIX = 1000  # a page number's prefix (table 159): a label, not a text
_REFERENCE = re.compile(r"^(\d+) (\d+) R$")
_REFERENCE_ENDS = (" R", " R\n")  # what every _REFERENCE match ends with ($ also matches before a final \n)
_NUMBERS_AND_NULL = frozenset({int, float, bool, type(None)})  # qpdf's JSON, read by json.loads
# the names a key may hold, by the type of its dictionary: one look-up per dictionary, not per key
_NAMES_BY_TYPE: dict[str, dict[str, frozenset[str]]] = {}
for (_type, _key), _names in NAMES.items():
    _NAMES_BY_TYPE.setdefault(_type, {})[_key] = _names
_TAIL = re.compile(rb"startxref\s+\d+\s*%%EOF\s*$")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")


_IMAGE_CODECS = frozenset({"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode"})
_ASCII_FILTERS = frozenset({"/ASCIIHexDecode", "/ASCII85Decode"})
_ABBREVIATIONS = {
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/Fl": "/FlateDecode",
    "/DCT": "/DCTDecode",
}


class _Walk:
    """One output, walked once per (object, type): findings, reached objects, streams."""

    def __init__(self, objects: dict[str, dict], ctx: VerifyContext) -> None:
        self.objects = objects
        self.schemes = tuple(s.lower() for s in ctx.policy.pdf.links)
        self.done: set[tuple[str, str]] = set()
        self.reached: set[str] = set()
        self.streams: dict[str, str] = {}  # reference → type, for the decoded-size pass
        self.programs: dict[str, set[str]] = {}  # reference → the kinds of program it was reached as
        self.found: Counter[str] = Counter()
        self.first: dict[str, str] = {}
        self.queue: list[tuple[str, str, str]] = []
        self.element_types: dict[str, str] = {}  # a structure element's /S → where first seen
        self.role_map: dict[str, object] = {}

    def note(self, kind: str, detail: str) -> None:
        self.found[kind] += 1
        self.first.setdefault(kind, detail[:200])

    def value(self, value: object, kind: str, where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.note("pdf-too-deep", where)
            return
        if isinstance(value, str) and _REFERENCE.match(value):
            self.indirect(value, kind, where)
        elif isinstance(value, list):
            self.array(value, kind, where, depth)
        elif isinstance(value, dict):
            if kind == INERT or kind == "plain-stream":
                self.note("pdf-dictionary-not-allowed", where)
            else:
                self.dictionary(value, kind, where, depth, is_stream=False)

    def indirect(self, reference: str, kind: str, where: str) -> None:
        """Queued, not followed: long chains (outline siblings, page trees) cost no stack."""
        if (reference, kind) not in self.done:
            self.done.add((reference, kind))
            self.reached.add(reference)
            self.queue.append((reference, kind, where))

    def run(self, trailer: dict) -> None:
        self.dictionary(trailer, "trailer", "trailer", 0, is_stream=False)
        while self.queue:
            reference, kind, where = self.queue.pop()
            self.resolve(reference, kind, where)

    def resolve(self, reference: str, kind: str, where: str) -> None:
        """One indirect object, checked as ``kind``; its direct nesting starts at depth 0."""
        body = self.objects.get(f"obj:{reference}")
        if body is None:
            return  # a reference to a missing object reads as null
        if "stream" not in body:
            self.value(body.get("value"), kind, reference, 0)
        elif kind in NEVER_STREAMS:
            self.note("pdf-stream-not-allowed", f"{where} → {reference}")
        else:
            refined = self.dictionary(body["stream"].get("dict", {}), kind, reference, 0, is_stream=True)
            if refined:
                self.streams[reference] = refined
            if refined in PROGRAM_KINDS:
                self.programs.setdefault(reference, set()).add(refined)

    def array(self, items: list, kind: str, where: str, depth: int) -> None:
        if kind == "destination":
            self.destination(items, where, depth)
            return
        if kind == "color-space":
            kind = "color-space-part"
        within = depth < MAX_DEPTH  # past the bound, each item but a number is a finding
        for item in items[:1_000_000]:
            # numbers (widths, coordinates) need nothing; nor, within the bound, anything _passive
            if not isinstance(item, (int, float)) and not (within and _passive(item)):
                self.value(item, kind, where, depth + 1)

    def destination(self, items: list, where: str, depth: int) -> None:
        """``[page /XYZ left top zoom]`` and the like (12.3.2.2); in a Dests name tree the
        array alternates names and destinations."""
        for item in items:
            if isinstance(item, str) and _REFERENCE.match(item):
                body = self.objects.get(f"obj:{item}", {})
                target = body.get("value")
                if not (isinstance(target, dict) and target.get("/Type") == "/Page"):
                    self.note("pdf-destination-not-a-page", f"{where} → {item}")
                self.reached.add(item)
            elif isinstance(item, list):
                self.destination(item, where, depth + 1)
            elif isinstance(item, dict):
                self.note("pdf-dictionary-not-allowed", f"{where}: inside a destination")

    def dictionary(self, entries: dict, kind: str, where: str, depth: int, is_stream: bool) -> str:
        """Check one dictionary; returns the type it was checked as ("" if none fits)."""
        kind = self._refine(entries, kind, where, depth, is_stream)
        if not kind:
            return ""
        allowed = KEYS[kind]
        children = CHILDREN.get(kind, {})
        names = _NAMES_BY_TYPE.get(kind, {})
        within = depth < MAX_DEPTH  # past the bound, each value is a finding
        for key, item in entries.items():
            if key not in allowed and not (is_stream and key in STREAM_KEYS):
                self.note("pdf-key-not-allowed", f"{key} in {kind} ({where})")
                continue
            # a key that takes a name may hold an array or a dictionary instead: not a name
            if key in names and (not isinstance(item, str) or item not in names[key]):
                self.note("pdf-name-not-allowed", f"{key} {item} in {kind} ({where})")
                continue
            if within and _passive(item):
                continue
            if is_stream and key == "/DecodeParms":
                self.value(item, "decode-parms", where, depth + 1)
                continue
            self.value(item, children.get(key, INERT), f"{where} {key}", depth + 1)
        if kind == "structure-element":
            self.element_types.setdefault(str(entries.get("/S")), where)
        elif kind == "structure-root":
            role_map = entries.get("/RoleMap")
            if isinstance(role_map, str) and _REFERENCE.match(role_map):
                role_map = self.objects.get(f"obj:{role_map}", {}).get("value")
            self.role_map = role_map if isinstance(role_map, dict) else {}
        if "/DA" in entries and kind in ("field", "acroform", "markup"):
            text = _text(entries["/DA"])
            problem = "not a text" if text is None else default_appearance_problem(text)
            if problem:
                self.note("pdf-default-appearance-not-allowed", f"{problem} ({where})")
        if kind in ("field", "acroform", "page-label"):
            problem = _value_problem(entries)
            if problem:
                self.note("pdf-value-out-of-range", f"{problem} ({where})")
        if kind == "action":
            self._check_action(entries, where)
        elif kind == "info":
            for key, item in entries.items():
                if key != "/Trapped" and not (isinstance(item, str) and item.startswith(("u:", "b:"))):
                    self.note("pdf-info-not-text", f"{key} ({where})")
        return kind

    def _refine(self, entries: dict, kind: str, where: str, depth: int, is_stream: bool) -> str:
        """The concrete type of a dictionary whose place allows several; a map (resource
        names → fonts, glyph names → procedures…) is checked entry by entry here."""
        if kind.startswith("map:"):
            for key, item in entries.items():
                self.value(item, kind[4:], f"{where} {key}", depth + 1)
            return ""
        subtype = entries.get("/Subtype")
        if kind == "xobject":
            refined = {"/Image": "image", "/Form": "form"}.get(subtype, "")
            if not refined:
                self.note("pdf-xobject-not-allowed", f"{subtype} ({where})")
            return refined
        if kind == "annotation":
            kinds = {"/Link": "link", "/Widget": "field"}
            refined = kinds.get(subtype, "markup" if subtype in MARKUP else "")
            if not refined:
                self.note("pdf-annotation-not-allowed", f"{subtype} ({where})")
            return refined
        if kind == "page-node":
            return "page" if entries.get("/Type") == "/Page" else "page-tree"
        if kind == "structure-kid":
            kinds = {"/MCR": "marked-content-reference", "/OBJR": "object-reference"}
            return kinds.get(entries.get("/Type"), "structure-element")
        if kind == "structure-parent":
            return "structure-root" if entries.get("/Type") == "/StructTreeRoot" else "structure-element"
        if kind == "attributes":
            self._attributes(entries, where)
            return ""
        if kind == "appearance-state":
            # an appearance is a form stream, or a dictionary of them by state (12.5.5)
            return "form" if is_stream else self._refine(entries, "map:form", where, depth, is_stream)
        if kind == "outline-parent":
            return "outline-item" if "/Title" in entries else "outline"
        if kind in ("color-space", "destination"):
            return "color-space-part" if kind == "color-space" else "destination-dictionary"
        return kind

    def structure_types(self) -> None:
        """Each element's type is standard, or the role map leads it to one in a few steps."""
        for kind, where in self.element_types.items():
            current, steps = kind, 0
            while current not in STRUCTURE_TYPES and current in self.role_map and steps < 16:
                current, steps = self.role_map[current], steps + 1
            if current not in STRUCTURE_TYPES:
                self.note("pdf-structure-type-unknown", f"{kind} ({where})")

    def _attributes(self, entries: dict, where: str) -> None:
        """An attribute object: a standard layout owner, and nothing but data in it."""
        if entries.get("/O") not in ATTRIBUTE_OWNERS:
            self.note("pdf-attribute-owner-not-allowed", f"{entries.get('/O')} ({where})")
            return
        for key, item in entries.items():
            self.value(item, INERT, f"{where} {key}", MAX_DEPTH - 8)

    def _check_action(self, entries: dict, where: str) -> None:
        kind = entries.get("/S")
        if kind == "/GoTo" and "/URI" not in entries:
            return
        if kind == "/URI" and "/D" not in entries:
            uri = _text(entries.get("/URI"))
            scheme = _SCHEME.match(uri or "")
            if (
                uri is not None
                and scheme
                and scheme.group(1).lower() in self.schemes
                and uri.isprintable()
                and (scheme.group(1).lower() != "mailto" or mailto_ok(uri))
            ):
                return
            self.note("pdf-uri-not-allowed", f"{(uri or '?')[:80]!r} ({where})")
            return
        self.note("pdf-action-not-allowed", f"{kind} ({where})")


def _passive(item: object) -> bool:
    """Whether ``_Walk.value`` surely has nothing to do with ``item`` within the depth bound:
    a number, boolean, null, a name or text that cannot be a reference (``_REFERENCE``
    without the regex), or an empty array (a childless structure element's ``/K``). Types
    compared exactly (json.loads makes no subclasses): anything else goes to ``value``,
    which decides. Most values are such leaves."""
    kind_of = type(item)
    if kind_of is str:
        return not item.endswith(_REFERENCE_ENDS)
    return kind_of in _NUMBERS_AND_NULL or (kind_of is list and not item)


def _value_problem(entries: dict) -> str | None:
    """Numbers a form or page label holds only as §12.7.3–12.7.4 and table 159 define them."""
    flags, quadding, length = entries.get("/Ff", 0), entries.get("/Q", 0), entries.get("/MaxLen", 0)
    if not (isinstance(flags, int) and 0 <= flags < 1 << 27):
        return f"/Ff {flags}"
    if quadding not in (0, 1, 2):
        return f"/Q {quadding}"
    if not (isinstance(length, int) and length >= 0):
        return f"/MaxLen {length}"
    options, chosen = entries.get("/Opt"), entries.get("/I")
    if chosen is not None:
        count = len(options) if isinstance(options, list) else 0
        if not (isinstance(chosen, list) and all(isinstance(i, int) and 0 <= i < count for i in chosen)):
            return f"/I {str(chosen)[:40]} of {count} options"
    prefix = _text(entries.get("/P")) if isinstance(entries.get("/P"), str) else None
    if prefix is not None and len(prefix) > MAX_LABEL_PREFIX:
        return f"a page label prefix of {len(prefix)} characters"
    return None


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    if value.startswith("u:"):
        return value[2:]
    if value.startswith("b:"):
        try:
            return bytes.fromhex(value[2:]).decode("latin-1")
        except ValueError:
            return None
    return None


def _raw_findings(data: bytes) -> list[Finding]:
    """One body, one cross-reference section, nothing after the final %%EOF (7.5.6)."""
    found = []
    if not re.match(rb"%PDF-[12]\.\d", data[:16]):
        found.append(Finding("pdf-header", "the file does not start with %PDF-"))
    if not _TAIL.search(data[-1024:]):
        found.append(Finding("pdf-trailing-data", "bytes after startxref … %%EOF"))
    if data.count(b"%%EOF") != 1:
        found.append(Finding("pdf-incremental-update", f"{data.count(b'%%EOF')} %%EOF markers"))
    return found


def _filters_allowed(entries: dict, kind: str) -> list[str] | None:
    """The filter chain if a viewer needs nothing else: Flate, or ASCII that qpdf could
    not undo (decodes to less than is stored), and for images one image codec last."""
    raw = entries.get("/Filter")
    chain = [
        _ABBREVIATIONS.get(f, f) for f in ([] if raw is None else raw if isinstance(raw, list) else [raw])
    ]
    codecs = [f for f in chain if f in _IMAGE_CODECS]
    if codecs and (kind != "image" or len(codecs) > 1 or chain[-1] not in _IMAGE_CODECS):
        return None
    general = chain[: len(chain) - len(codecs)]
    if general in ([], ["/FlateDecode"]) or (general and set(general) <= _ASCII_FILTERS):
        return chain
    return None


def _stream_findings(pdf: pikepdf.Pdf, walk: _Walk, ctx: VerifyContext) -> list[Finding]:
    limits = ctx.policy.limits
    found: list[Finding] = []
    total = 0
    for reference, kind in walk.streams.items():
        entries = walk.objects[f"obj:{reference}"]["stream"].get("dict", {})
        chain = _filters_allowed(entries, kind)
        if chain is None:
            found.append(Finding("pdf-filter-not-allowed", f"{entries.get('/Filter')} on {reference}"))
            continue
        if chain and chain[0] == "/FlateDecode":
            number, generation = (int(n) for n in reference.split()[:2])
            raw = pdf.get_object((number, generation)).read_raw_bytes()
            size, after = inflated(raw, limits.max_stream_size)
            if after:  # stored after deflate's final block: no decoder reads it (pdf_data)
                found.append(Finding("pdf-data-after-end", f"{after} bytes after the deflate end of {reference}"))
        else:
            size = entries.get("/Length", 0) if isinstance(entries.get("/Length"), int) else 0
        if size > limits.max_stream_size:
            found.append(
                Finding("pdf-stream-too-large", f"{reference} decodes to over {limits.max_stream_size}")
            )
        total += size
    if total > limits.max_decoded_size:
        found.append(Finding("pdf-streams-too-large", f"over {limits.max_decoded_size} bytes decoded in all"))
    return found


def _program_findings(pdf: pikepdf.Pdf, walk: _Walk) -> list[Finding]:
    """Each drawing, font header, CMap and function against its grammar (pdf_streams)."""
    found: Counter[str] = Counter()
    first: dict[str, str] = {}
    for reference, kinds in walk.programs.items():
        number, generation = (int(n) for n in reference.split()[:2])
        problem = program_problem(pdf.get_object((number, generation)), kinds)
        if problem:
            found[problem[0]] += 1
            first.setdefault(problem[0], f"{problem[1]} ({reference})")
    return [Finding(kind, f"first: {first[kind]}", count) for kind, count in sorted(found.items())]


def _unreached(walk: _Walk) -> list[Finding]:
    """Objects nothing reaches: a viewer that repairs files could still find them."""
    loose = []
    for key, body in walk.objects.items():
        if not key.startswith("obj:") or key[4:] in walk.reached:
            continue
        entries = body.get("stream", {}).get("dict", {})
        if entries.get("/Type") in ("/ObjStm", "/XRef"):
            continue
        loose.append(key[4:])
    return [Finding("pdf-unreferenced-object", ", ".join(loose[:5]), len(loose))] if loose else []


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    data = src.read(ctx.policy.limits.max_output_size + 1)
    found = _raw_findings(data)
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, RuntimeError) as exc:
        return [Finding("pdf-unreadable", str(exc)[:200])]
    with pdf:
        if pdf.is_encrypted:
            return [Finding("pdf-encrypted")]
        buffer = io.BytesIO()
        pdf.write_qpdf_json(
            buffer, json_stream_data=pikepdf.JSONStreamData.none, decode_level=pikepdf.StreamDecodeLevel.none
        )
        sections = json.loads(buffer.getvalue())["qpdf"]
        objects = sections[1] if len(sections) > 1 else {}
        walk = _Walk(objects, ctx)
        trailer = objects.get("trailer", {}).get("value", {})
        walk.run(trailer)
        walk.structure_types()
        sizes = _stream_findings(pdf, walk, ctx)
        # programs are decoded to be read only once every stream is known to be small
        found += sizes or [*_program_findings(pdf, walk), *data_findings(pdf, walk.streams, objects)]
    found += _unreached(walk)
    found += [
        Finding(kind, f"first: {walk.first[kind]}", count) for kind, count in sorted(walk.found.items())
    ]
    return found
