"""Stand-alone web pages (.html, .htm): their visible text, or a static page rebuilt.

The text action is the text family's (``TextSanitizer``: the visible text as .txt). A
rebuild decodes the page, runs it through the allow-list in ``cdr/htmlclean.py`` and
writes one self-contained UTF-8 page with a meta charset: no script, handler, frame, form,
style sheet or remote picture is left, so nothing in it can run or fetch when it is opened.
Pictures the page loads from elsewhere are not kept (there is nothing here to fetch them
with, and a fetched picture is a tracking beacon); the page's links keep their address
only when its scheme is one of ``LINK_SCHEMES``.
"""

from __future__ import annotations

import html
import re
from typing import BinaryIO

from cdr.errors import UnsupportedType
from cdr.htmlclean import clean_html, wrap_document
from cdr.model import Action, ActionTaken, FileType, Finding, SanitizeResult
from cdr.sanitizers.base import Context, Sanitizer, read_limited
from cdr.sanitizers.text import TextSanitizer, _clean_characters, decode
from cdr.types import types_where

# A page's links keep their address only with these schemes (mail's HTML has its own list
# in the policy, mail.links); relative links have no page to be relative to and are dropped.
LINK_SCHEMES = ("http", "https", "mailto")
MAX_TITLE = 200

# What the page says it is written in, read from its first bytes as a browser would.
_META_CHARSET = re.compile(rb"<meta\s[^>]*charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:\-]+)", re.I)
_CHARSETS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "ms932": "cp932",
    "euc-jp": "euc_jp",
    "x-euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp",
    "windows-1252": "cp1252",
    "iso-8859-1": "cp1252",  # browsers read Latin-1 as Windows-1252 (the WHATWG rule)
    "us-ascii": "cp1252",
}
_TITLE = re.compile(r"<title[^>]*>(.*?)</title", re.I | re.S)
# Counted for the report only (what the allow-list took away); never used to decide.
_ACTIVE = {
    "html-scripts": re.compile(r"<script\b", re.I),
    "html-event-handlers": re.compile(r"\son[a-z]+\s*=", re.I),
    "html-frames-objects-forms": re.compile(r"<(?:i?frame|object|embed|applet|form)\b", re.I),
    "html-remote-resources": re.compile(r"\s(?:src|background|srcset)\s*=\s*[\"']?\s*(?:https?:)?//", re.I),
}


def _page_text(data: bytes) -> str:
    """The page's characters: its BOM, else the charset its meta names, else the guess the
    text family makes (UTF-8, UTF-16, Shift_JIS, EUC-JP, Windows-1252)."""
    declared = _META_CHARSET.search(data[:4096])
    codec = _CHARSETS.get(declared.group(1).decode("ascii").lower()) if declared else None
    if codec and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass  # a page that lies about its charset is read like one that says nothing
    text, _ = decode(data)
    return text


def _title(text: str) -> str:
    found = _TITLE.search(text[:65536])
    if not found:
        return ""
    title = html.unescape(re.sub(r"<[^>]*>", "", found.group(1)))
    return " ".join(title.split())[:MAX_TITLE]


def found_active(text: str) -> list[Finding]:
    return [Finding(kind, "", len(p.findall(text))) for kind, p in _ACTIVE.items() if p.search(text)]


class HtmlSanitizer(Sanitizer):
    handles = types_where(sanitizer="html")

    def __init__(self) -> None:
        self._text = TextSanitizer()

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        text = _page_text(read_limited(src, ctx.policy.limits.max_file_size))
        return [Finding("html", "markup that a browser would act on"), *found_active(text)]

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        if ctx.action == Action.TEXT:
            return self._text.sanitize(src, dst, ctx)
        if ctx.file_type != FileType.HTML:  # an HTML table is rebuilt by LibreOffice as a workbook
            raise UnsupportedType(f"{ctx.file_type.value} is not rebuilt as a web page")
        text = _page_text(read_limited(src, ctx.policy.limits.max_file_size))
        text, controls, bidi = _clean_characters(text)
        body = clean_html(text, link_schemes=LINK_SCHEMES, defang=False)
        page = wrap_document(body, _title(text))
        dst.write(page.encode("utf-8"))
        actions = [ActionTaken(f.kind, "removed", f.count) for f in found_active(text)]
        if controls:
            actions.append(ActionTaken("control-characters", "removed", controls))
        if bidi:
            actions.append(ActionTaken("bidi-control", "removed", bidi))
        actions.append(ActionTaken("html", "rebuilt-static"))
        return SanitizeResult(FileType.HTML, tuple(actions), {"encoding": "utf-8"})
