"""What a PDF holds that can act: a walk of every object, direct and indirect.

Used by ``cdr scan`` (what is there, and where) and by the sanitizer (to name what it
dropped). Verification does not use it: a released PDF is held against the independent
allow-list of ``cdr/verifiers/pdf.py``. The walk is bounded in depth and visits each
indirect object once, so cycles and deep nesting cost nothing.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from typing import BinaryIO

import pikepdf

from cdr.errors import Encrypted, LimitExceeded, MalformedInput, WrongPassword
from cdr.model import Finding

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
}  # a form field's widget is not here: without actions a form is only filled in (pdf_forms)
DANGEROUS_KEYS = {
    "/JS": "javascript",
    "/AA": "additional-actions",
    "/OpenAction": "open-action",
    "/EmbeddedFiles": "embedded-files",
    "/XFA": "xfa",
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
    # qpdf reads a Python file object a seek and a read at a time, each a system call on
    # the job's descriptor, for as long as the document is in use (ten times the cost of
    # the whole rewrite for a small file): it gets the bytes in memory instead.
    memory = src if isinstance(src, io.BytesIO) else io.BytesIO(src.read())
    try:
        pdf = pikepdf.open(memory, password=password or "")
    except pikepdf.PasswordError:
        if password:
            raise WrongPassword("the password does not open this PDF") from None
        raise Encrypted(Encrypted.PDF_USER_PASSWORD) from None
    except (pikepdf.PdfError, ValueError, RuntimeError, OSError) as exc:
        problem = re.sub(r"^(stream|file) <[^>]*>:?\s*", "", str(exc))  # qpdf names our descriptor
        raise MalformedInput(f"not a readable PDF: {problem[:200]}") from None
    if max_objects is not None:
        # /Size bounds the object numbers qpdf resolves; listing every object costs more
        # than qpdf's whole rewrite of the file.
        try:
            size = int(pdf.trailer.get("/Size", 0))
        except (TypeError, ValueError):
            size = 0
        if size > max_objects:
            raise LimitExceeded(f"{size} objects (limit {max_objects})")
    return pdf


# Headers a mailto: link may set; attach=, attachment= and the like make some mail
# programs send a local file (RFC 6068 §2 allows any header; "Mailto: Me Your Secrets").
MAILTO_HEADERS = frozenset({"to", "cc", "bcc", "subject", "body"})


def mailto_headers_allowed(uri: str) -> bool:
    """Only harmless headers after the ``?`` of a mailto: link (the whole URI or its rest)."""
    _, _, query = uri.partition("?")
    names = (pair.partition("=")[0].strip().lower() for pair in query.split("&") if pair)
    return all(name in MAILTO_HEADERS for name in names)


def uri_allowed(uri: str, schemes: tuple[str, ...]) -> bool:
    match = re.match(r"^\s*([a-zA-Z][a-zA-Z0-9+.-]*):", uri)
    if not match or match.group(1).lower() not in schemes or _JAVASCRIPT_URI.match(uri):
        return False
    return match.group(1).lower() != "mailto" or mailto_headers_allowed(uri)


_KEY = re.compile(
    rb'"(/JS|/JavaScript|/AA|/OpenAction|/EmbeddedFiles|/EF|/XFA|/RichMediaContent|'
    rb'/Launch|/Thumb|/PieceInfo|/Ref|/OPI)":'
)
_ACTION = re.compile(rb'"/S":\s*"(' + b"|".join(re.escape(k.encode()) for k in DANGEROUS_ACTIONS) + rb')"')
_ANNOTATION = re.compile(
    rb'"/Subtype":\s*"(' + b"|".join(re.escape(k.encode()) for k in DANGEROUS_ANNOTATIONS) + rb'|/PS)"'
)
_EMBEDDED_TYPE = re.compile(rb'"/Type":\s*"/EmbeddedFile"')
_URI = re.compile(rb'"/URI":\s*"([ub]):((?:[^"\\]|\\.)*)"')
_KEY_KINDS = {**DANGEROUS_KEYS, "/JavaScript": "javascript-names"}


def _where(document: bytes, offset: int) -> str:
    start = document.rfind(b'"obj:', 0, offset)
    if start < 0:
        return "trailer"
    return "object " + document[start + 5 : document.find(b" ", start)].decode("ascii", "replace")


def walk(pdf: pikepdf.Pdf, allowed_schemes: tuple[str, ...]) -> list[Finding]:
    """Every object, direct and indirect, serialised by qpdf (C++) as JSON and searched.

    In that form a dictionary key is always ``"/Name":`` and a string always carries a
    ``u:`` or ``b:`` prefix, so a key cannot be confused with text; names written with
    ``#xx`` escapes are already decoded by qpdf.
    """
    buffer = io.BytesIO()
    pdf.write_qpdf_json(
        buffer, json_stream_data=pikepdf.JSONStreamData.none, decode_level=pikepdf.StreamDecodeLevel.none
    )
    document = buffer.getvalue()
    found: Counter[str] = Counter()
    where: dict[str, str] = {}

    def note(kind: str, offset: int) -> None:
        found[kind] += 1
        if kind not in where:
            where[kind] = _where(document, offset)

    for match in _KEY.finditer(document):
        key = match.group(1).decode()
        if key == "/JS":
            continue  # counted with its action below, or alone when it has none
        note(_KEY_KINDS[key], match.start())
    for match in _ACTION.finditer(document):
        note(DANGEROUS_ACTIONS[match.group(1).decode()], match.start())
    js_keys = len(re.findall(rb'"/JS":', document))
    if js_keys > found["javascript"]:
        found["javascript"] = js_keys
        where.setdefault("javascript", "a dictionary without an action type")
    for match in _ANNOTATION.finditer(document):
        kind = match.group(1).decode()
        note("postscript-xobject" if kind == "/PS" else DANGEROUS_ANNOTATIONS[kind], match.start())
    for match in _EMBEDDED_TYPE.finditer(document):
        note("embedded-file", match.start())
    for match in _URI.finditer(document):
        raw = match.group(2).decode("utf-8", "replace")
        uri = bytes.fromhex(raw).decode("latin-1") if match.group(1) == b"b" and len(raw) % 2 == 0 else raw
        if not uri_allowed(uri, allowed_schemes):
            note("disallowed-uri", match.start())
    return [
        Finding(kind, f"first in {where.get(kind, '?')}", count)
        for kind, count in sorted(found.items())
        if count
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
