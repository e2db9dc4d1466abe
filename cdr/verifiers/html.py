"""Allow-list verification of a released web page.

Accepted: UTF-8 that starts with ``<!DOCTYPE html>`` and says ``<meta charset="utf-8">``;
the elements of a static document (text, headings, lists, tables, quotes, links, pictures)
with presentation attributes only; a link's address only with http, https or mailto (read
the way a browser reads a URL: tabs and newlines inside dropped, controls and spaces at the
ends stripped); a picture's source only an embedded PNG, JPEG or GIF or a ``cid:``
reference into the same mail; a style attribute that loads and hides nothing (no ``url(``,
``expression``, ``@import``, escape or comment). Comments, CDATA, processing instructions,
any other declaration, event handlers and every other element or attribute are findings:
each one is something a browser might act on, and none is needed to show a page.
"""

from __future__ import annotations

import html.parser
import re
import urllib.parse
from typing import BinaryIO

from cdr.model import FileType, Finding
from cdr.verifiers import VerifyContext
from cdr.verifiers.links import mailto_ok

VERIFIES = frozenset({FileType.HTML})

MAX_OUTPUT = 64 << 20
MAX_REPORTED = 20
# Typed here again on purpose, not imported from cdr/htmlclean.py: a verifier that read the
# cleaner's own tables would share every mistake in them.
_FRAME = {"html", "head", "meta", "title", "body"}
_ELEMENTS = _FRAME | set(
    """a abbr acronym address b bdi bdo big blockquote br caption center cite code col colgroup dd
    del details dfn div dl dt em figcaption figure font footer h1 h2 h3 h4 h5 h6 header hr i img
    ins kbd li mark ol p pre q rp rt ruby s samp small span strike strong sub summary sup table
    tbody td tfoot th thead time tr tt u ul var wbr""".split()
)
_EVERYWHERE = {"title", "lang", "dir", "align", "style"}
_CELL = {"colspan", "rowspan", "valign", "width", "height", "bgcolor", "nowrap", "headers", "scope"}
_ATTRIBUTES: dict[str, set[str]] = {
    "meta": {"charset"},
    "a": {"href", "rel"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "face", "size"},
    "table": {"width", "border", "cellpadding", "cellspacing", "bgcolor", "summary"},
    "td": _CELL,
    "th": _CELL,
    "tr": {"valign", "bgcolor"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value"},
    "hr": {"size", "width", "noshade"},
    "time": {"datetime"},
    "del": {"datetime"},
    "ins": {"datetime"},
}
_LINK_SCHEMES = {"http", "https", "mailto"}
_PICTURE = re.compile(r"(?:cid:[^\s\"'<>]+|data:image/(?:png|jpeg|gif);base64,[A-Za-z0-9+/]+=*)\Z")
_STYLE_LOADS = re.compile(r"url\s*\(|image-set|image\s*\(|@import|expression|javascript|behavior|binding|[\\<>]|/\*", re.I)
_URL_CLEANUP = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_PROLOGUE = re.compile(rb"\A<!DOCTYPE html>\s*<html>\s*<head>\s*<meta charset=\"utf-8\">", re.I)


def _scheme(url: str) -> str | None:
    found = _SCHEME.match(_URL_CLEANUP.sub("", url).strip(_C0_AND_SPACE))
    return found.group(1).lower() if found else None


class _Page(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[Finding] = []
        self.doctypes = 0

    def _refuse(self, kind: str, detail: str) -> None:
        if len(self.findings) < MAX_REPORTED:
            self.findings.append(Finding(kind, detail[:200]))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ELEMENTS:
            self._refuse("html-element", f"<{tag}>")
            return
        allowed = _ATTRIBUTES.get(tag, set()) | (_EVERYWHERE if tag not in _FRAME else set())
        for name, value in attrs:
            if name not in allowed:
                self._refuse("html-attribute", f"<{tag} {name}>")
            elif not _value_ok(tag, name, value or ""):
                self._refuse("html-attribute-value", f"<{tag} {name}={value!r}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        self._refuse("html-comment", data[:80])

    def handle_decl(self, decl: str) -> None:
        if decl.lower() == "doctype html" and self.doctypes == 0:
            self.doctypes += 1
        else:
            self._refuse("html-declaration", decl[:80])

    def handle_pi(self, data: str) -> None:
        self._refuse("html-processing-instruction", data[:80])

    def unknown_decl(self, data: str) -> None:
        self._refuse("html-declaration", data[:80])


def _value_ok(tag: str, name: str, value: str) -> bool:
    if name == "style":
        return not _STYLE_LOADS.search(value) and not any(ord(c) < 0x20 for c in value)
    if tag == "a" and name == "href":
        scheme = _scheme(value)
        return scheme in _LINK_SCHEMES and (scheme != "mailto" or mailto_link_ok(value))
    if tag == "a" and name == "rel":
        return set(value.split()) <= {"noopener", "noreferrer"}
    if tag == "img" and name == "src":
        return bool(_PICTURE.match(value))
    if tag == "meta":
        return value.lower() == "utf-8"
    return "javascript:" not in value.lower()


def mailto_link_ok(url: str) -> bool:
    """A mailto: link that only starts a mail: read percent-decoded, its query names only
    harmless headers (``links.mailto_ok``) and nothing in it points at a share or a file."""
    plain = urllib.parse.unquote(url)
    return "\\" not in plain and "file:" not in plain.lower() and mailto_ok(plain)


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    data = src.read(MAX_OUTPUT + 1)
    if len(data) > MAX_OUTPUT:
        return [Finding("html-too-large", f"more than {MAX_OUTPUT} bytes")]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [Finding("html-encoding", f"not UTF-8 at byte {exc.start}")]
    if not _PROLOGUE.match(data):
        return [Finding("html-prologue", "does not begin <!DOCTYPE html><html><head><meta charset=\"utf-8\">")]
    page = _Page()
    page.feed(text)
    page.close()
    return page.findings
