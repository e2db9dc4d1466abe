"""Static HTML from hostile HTML: an allow-list on nh3 (ammonia), for mail bodies and web pages.

What survives is a document a browser can only display: text, structure, tables, a few
presentation attributes, links with an allowed scheme, and pictures the caller vouches for.
Nothing in the output can run (no script, handler, frame, object, form, meta refresh) or
fetch anything (no remote picture, no CSS that loads, no base or link element).

nh3's own URL check runs before our attribute filter and does not look at what the filter
returns, so the filter here is the authority on every URL and style value it lets through.
Runs in the sandboxed child: the input is untrusted until it has come out of `clean_html`.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Callable, Iterable

import nh3

# Structure and presentation only. No area/map (area carries its own href), no svg/math
# (foreign content is where mutation XSS lives), no form controls, no embedded contexts.
ALLOWED_TAGS: frozenset[str] = frozenset(
    """a abbr acronym address b bdi bdo big blockquote br caption center cite code col colgroup
    dd del details dfn div dl dt em figcaption figure font footer h1 h2 h3 h4 h5 h6 header hr
    i img ins kbd li mark ol p pre q rp rt ruby s samp small span strike strong sub summary sup
    table tbody td tfoot th thead time tr tt u ul var wbr""".split()
)

# Elements dropped together with everything inside them: their content is code, a style
# sheet, a title that would otherwise become body text, or markup parsed by other rules.
DROPPED_WITH_CONTENT: frozenset[str] = frozenset(
    """script style title template noscript noembed noframes iframe frame frameset object embed
    applet xmp plaintext textarea select svg math head""".split()
)

_ANY = {"title", "lang", "dir", "align", "style"}
_CELL = {"colspan", "rowspan", "valign", "width", "height", "bgcolor", "nowrap", "headers", "scope"}
ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": _ANY,
    "a": {"href"},
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

# Style properties that only change how text and boxes look. Values are checked again below:
# a property on this list with url(), expression() or an escape is dropped as a whole.
STYLE_PROPERTIES: frozenset[str] = frozenset(
    """color background-color font font-family font-size font-style font-weight font-variant
    text-align text-decoration text-indent text-transform letter-spacing word-spacing line-height
    vertical-align white-space direction margin margin-top margin-right margin-bottom margin-left
    padding padding-top padding-right padding-bottom padding-left border border-top border-right
    border-bottom border-left border-color border-style border-width border-collapse
    border-spacing width height min-width max-width min-height max-height list-style-type""".split()
)

# After CSS and HTML decoding, any of these means the value can load or run something, or is
# written to hide what it is (a backslash escape, a comment): the whole attribute goes.
_STYLE_FORBIDDEN = re.compile(r"url\s*\(|image-set|image\s*\(|@import|expression|javascript|behavior|binding|[\\<>]|/\*|&", re.I)

# Schemes a picture may keep: cid: points into the same mail, and the caller's image hook may
# hand back a data: URL of a picture it re-encoded itself (checked by _OWN_PICTURE).
_PICTURE_SCHEMES = {"cid"}
_OWN_PICTURE = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/]+=*\Z")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_WEB_URL = re.compile(r"\b(h)tt(ps?)://", re.I)
# What a mailto: link may carry besides the address (RFC 6068): text for a new mail. Other
# keys are honoured by some clients to harm: attach= (Thunderbird and others) attaches a
# local file or one on a share, file= likewise.
_MAILTO_KEYS = frozenset({"subject", "body", "cc", "bcc"})

ImageHook = Callable[[str], "str | None"]


def clean_html(
    html_text: str,
    *,
    link_schemes: Iterable[str],
    defang: bool,
    image_src: ImageHook | None = None,
) -> str:
    """The static fragment (body content) of `html_text` under the allow-list above.

    `link_schemes`: the schemes an `a href` may keep (e.g. https, http, mailto); relative
    links, `javascript:`, `data:` and `vbscript:` never survive, whatever is passed.
    `defang`: a web link loses its href and shows its address as text with hxxp(s)://, and
    every http(s):// in the text is written hxxp(s):// too.
    `image_src`: called with each picture's src; returns the src to keep (a `cid:` reference
    or a `data:image/…;base64,` URL of a picture the caller re-encoded) or None to drop the
    picture's source. Without it only `cid:` sources stay.
    """
    schemes = {s.lower() for s in link_schemes} - {"javascript", "data", "vbscript", "file"}
    keep_picture = image_src or _cid_only
    first = _nh3_pass(html_text, schemes, keep_picture)
    if not defang:
        return first
    # The defanged text is cleaned once more so the result is exactly what the allow-list
    # produces (the second pass is what the verifier and a re-run would see).
    return _nh3_pass(_defang(first), schemes, keep_picture)


def wrap_document(body: str, title: str) -> str:
    """One self-contained UTF-8 page around a fragment from `clean_html`."""
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title, quote=False)}</title></head>\n"
        f"<body>\n{body}\n</body></html>\n"
    )


def _cid_only(src: str) -> str | None:
    return src if scheme_of(src) == "cid" else None


def scheme_of(url: str) -> str | None:
    """The scheme a browser would see: tabs and newlines inside removed, controls and
    spaces at the ends stripped (the URL standard's own clean-up), lower-cased."""
    squeezed = re.sub(r"[\t\n\r]", "", url).strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c"
                                                  "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18"
                                                  "\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    found = _SCHEME.match(squeezed)
    return found.group(1).lower() if found else None


def harmless_mailto(url: str) -> bool:
    """A mailto: link that only starts a mail: its query keys among subject, body, cc and
    bcc (percent-decoded, any case), and nowhere a backslash or ``file:`` that would point a
    client at a share or a local file."""
    decoded = urllib.parse.unquote(url)
    if "\\" in decoded or "file:" in decoded.lower():
        return False
    query = url.partition("?")[2]
    keys = {urllib.parse.unquote(pair.partition("=")[0]).strip().lower() for pair in re.split(r"[&;]", query) if pair}
    return keys <= _MAILTO_KEYS


def _nh3_pass(text: str, schemes: set[str], keep_picture: ImageHook) -> str:
    def attribute_filter(tag: str, name: str, value: str) -> str | None:
        if name == "style":
            return _safe_style(value)
        if tag == "a" and name == "href":
            scheme = scheme_of(value)
            keep = scheme in schemes and (scheme != "mailto" or harmless_mailto(value))
            return value.strip() if keep else None
        if tag == "img" and name == "src":
            return _own_picture(keep_picture(value))
        return value

    return nh3.clean(
        text,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        strip_comments=True,
        link_rel="noopener noreferrer",
        url_schemes=schemes | _PICTURE_SCHEMES | {"data"},
        filter_style_properties=set(STYLE_PROPERTIES),
        url_relative="deny",
    )


def _own_picture(src: str | None) -> str | None:
    if src is None:
        return None
    if scheme_of(src) == "cid" and src == src.strip() and not re.search(r"[\s\"'<>]", src):
        return src
    return src if _OWN_PICTURE.match(src) else None


def _safe_style(value: str) -> str | None:
    if _STYLE_FORBIDDEN.search(value) or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        return None
    return value


# nh3's output is canonical: every attribute is double-quoted with `"` and `&` escaped, and
# an <a> never holds another <a>, so these patterns read it exactly.
_LINK = re.compile(r'<a href="([^"]*)"([^>]*)>(.*?)</a>', re.S)


def _defang(cleaned: str) -> str:
    def unlink(found: re.Match[str]) -> str:
        address = html.unescape(found.group(1))
        if scheme_of(address) not in {"http", "https"}:
            return found.group(0)
        label = found.group(3)
        shown = html.escape(address)
        text = label if html.unescape(_tags_out(label)).strip() == address.strip() else f"{label} [{shown}]"
        return f"<a{found.group(2)}>{text}</a>"

    return _WEB_URL.sub(lambda m: f"{m.group(1)}xx{m.group(2)}://", _LINK.sub(unlink, cleaned))


def _tags_out(fragment: str) -> str:
    return re.sub(r"<[^>]*>", "", fragment)
