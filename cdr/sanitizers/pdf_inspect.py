"""What a PDF holds that can act: a walk of every object, direct and indirect.

Used by ``cdr scan`` (what is there, and where), by the sanitizer (to count what it
dropped) and by verification (the rebuilt file must have none of it). The walk is bounded
in depth and visits each indirect object once, so cycles and deep nesting cost nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import BinaryIO

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream

from cdr.errors import Encrypted, LimitExceeded, MalformedInput, WrongPassword
from cdr.model import Finding

MAX_DEPTH = 64

DANGEROUS_ACTIONS = {
    "/JavaScript": "javascript",
    "/Launch": "launch",
    "/GoToR": "remote-goto",
    "/GoToE": "embedded-goto",
    "/ImportData": "import-data",
    "/SubmitForm": "submit-form",
    "/ResetForm": "reset-form",
    "/Rendition": "rendition",
    "/Movie": "movie",
    "/Sound": "sound",
    "/RichMediaExecute": "richmedia-execute",
    "/GoTo3DView": "3d-view",
    "/Hide": "hide",
}
DANGEROUS_ANNOTATIONS = {
    "/FileAttachment": "file-attachment",
    "/RichMedia": "richmedia",
    "/3D": "3d",
    "/Screen": "screen",
    "/Movie": "movie",
    "/Sound": "sound",
    "/Widget": "form-widget",
}
DANGEROUS_KEYS = {
    "/JS": "javascript",
    "/AA": "additional-actions",
    "/OpenAction": "open-action",
    "/EmbeddedFiles": "embedded-files",
    "/XFA": "xfa",
    "/AcroForm": "acroform",
    "/RichMediaContent": "richmedia",
    "/Launch": "launch",
    "/EF": "embedded-file",
    "/Thumb": "thumbnail",
    "/PieceInfo": "page-piece",
    "/Ref": "reference-xobject",
    "/OPI": "opi",
}
_JAVASCRIPT_URI = re.compile(r"^\s*(javascript|vbscript|data|file):", re.I)


def open_pdf(src: BinaryIO, password: str | None = None, max_objects: int | None = None) -> pikepdf.Pdf:
    src.seek(0)
    try:
        pdf = pikepdf.open(src, password=password or "")
    except pikepdf.PasswordError:
        if password:
            raise WrongPassword("the password does not open this PDF") from None
        raise Encrypted("the PDF needs a password to open (user password)") from None
    except (pikepdf.PdfError, ValueError, RuntimeError, OSError) as exc:
        raise MalformedInput(f"not a readable PDF: {str(exc)[:200]}") from None
    if max_objects is not None:
        count = len(pdf.objects)
        if count > max_objects:
            raise LimitExceeded(f"{count} objects (limit {max_objects})")
    return pdf


def uri_allowed(uri: str, schemes: tuple[str, ...]) -> bool:
    match = re.match(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):", uri)
    return bool(match) and match.group(1).lower() in schemes and not _JAVASCRIPT_URI.match(uri)


class _Walker:
    def __init__(self, allowed_schemes: tuple[str, ...]) -> None:
        self.found: Counter[str] = Counter()
        self.where: dict[str, str] = {}
        self.seen: set[tuple[int, int]] = set()
        self.schemes = allowed_schemes

    def note(self, kind: str, where: str) -> None:
        self.found[kind] += 1
        self.where.setdefault(kind, where)

    def visit(self, obj: object, where: str, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            self.note("deep-nesting", where)
            return
        if isinstance(obj, (Dictionary, Stream, Array)) and obj.is_indirect:
            key = obj.objgen
            if key in self.seen:
                return
            self.seen.add(key)
            where = f"object {key[0]}"
        if isinstance(obj, Array):
            for item in obj:
                self.visit(item, where, depth + 1)
            return
        if isinstance(obj, Stream):
            self._dictionary(obj.stream_dict, where, depth)
            return
        if isinstance(obj, Dictionary):
            self._dictionary(obj, where, depth)

    def _dictionary(self, d: Dictionary, where: str, depth: int) -> None:
        subtype = d.get("/Subtype")
        action = d.get("/S")
        if isinstance(action, Name) and str(action) in DANGEROUS_ACTIONS:
            self.note(DANGEROUS_ACTIONS[str(action)], where)
        if isinstance(action, Name) and str(action) == "/URI":
            uri = str(d.get("/URI", ""))
            if not uri_allowed(uri, self.schemes):
                self.note("disallowed-uri", where)
        if (
            str(d.get("/Type", "")) == "/Annot"
            and isinstance(subtype, Name)
            and str(subtype) in DANGEROUS_ANNOTATIONS
        ):
            self.note(DANGEROUS_ANNOTATIONS[str(subtype)], where)
        if str(d.get("/Type", "")) == "/EmbeddedFile":
            self.note("embedded-file", where)
        if isinstance(subtype, Name) and str(subtype) == "/PS":
            self.note("postscript-xobject", where)
        is_js_action = isinstance(action, Name) and str(action) == "/JavaScript"
        for key in d.keys():
            if key == "/JavaScript":
                self.note("javascript-names", where)
            elif key in DANGEROUS_KEYS and not (key == "/JS" and is_js_action):
                self.note(DANGEROUS_KEYS[key], where)
            self.visit(d.get(key), where, depth + 1)


def walk(pdf: pikepdf.Pdf, allowed_schemes: tuple[str, ...]) -> list[Finding]:
    walker = _Walker(allowed_schemes)
    walker.visit(pdf.trailer, "trailer")
    for obj in pdf.objects:  # also what nothing references any more
        walker.visit(obj, "unreferenced")
    return [
        Finding(kind, f"first in {walker.where[kind]}", count) for kind, count in sorted(walker.found.items())
    ]


def raw_structure(data: bytes) -> list[Finding]:
    """Incremental updates and bytes after the last %%EOF, read from the raw file."""
    findings = []
    updates = len(re.findall(rb"%%EOF", data)) - 1
    if updates > 0:
        findings.append(Finding("incremental-update", f"{updates} update section(s)", updates))
    tail = data[data.rfind(b"%%EOF") + 5 :] if b"%%EOF" in data else b""
    if tail.strip(b"\r\n\t \x00"):
        findings.append(Finding("trailing-data", f"{len(tail)} bytes after the final %%EOF"))
    return findings
