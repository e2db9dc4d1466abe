"""An inspector for released files, written for the tests and independent of `cdr`.

It accepts only what it knows to be harmless and reports everything else as a finding
("part:where: what"). It imports nothing from `cdr`, so a blind spot of the appliance's own
verifier is not shared here. Being an allow-list, it is stricter than an attacker needs:
a finding means "not known harmless", and the catalogue treats it as an unsafe release.
"""

from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import pikepdf
from lxml import etree

MAX_DECODED_STREAM = 256 << 20  # policy limits.max_stream_size: a bigger page is a bomb for the viewer
MAX_ICC = 4 << 20
MAX_PIXELS = 100_000_000
MAX_DEPTH = 64
MAX_SCANS = 100  # a progressive encoder writes about ten; thousands are a CPU bomb for the viewer
MAX_MEMBERS = 1000  # policy limits.archive_members
MAX_MEMBER = 64 << 20  # no harmless office-day file in an archive is bigger; a bigger one is a bomb
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def safe_link(target: str) -> bool:
    """http(s) or mailto after the blanks and controls a URL parser drops; a mailto that attaches a
    local file ('Mailto: me your secrets', NDSS 2021) is not harmless."""
    cleaned = re.sub(r"[\x00-\x20]", "", target).lower()
    return cleaned.startswith(SAFE_SCHEMES) and not (cleaned.startswith("mailto:") and "attach" in cleaned)

# ---------------------------------------------------------------- entry point


def inspect(path: Path) -> list[str]:
    """Findings for one released file, chosen by its content; its name is judged too."""
    return dangerous_name(path.name) + inspect_bytes(path.name, path.read_bytes())


RUNNABLE = re.compile(r"(?i)\.(exe|dll|scr|com|pif|bat|cmd|ps1|psm1|vbs|vbe|js|jse|wsf|wsh|hta|lnk|url|scf|msi|jar|"
                      r"iso|img|vhdx?|reg|chm|cpl|docm|dotm|xlsm|xltm|xlam|pptm|potm|ppsm|sldm)$")


def dangerous_name(name: str) -> list[str]:
    """Windows drops trailing dots and spaces, so 'run.bat.' opens as a batch file (Win32 naming rules)."""
    findings = []
    visible = name.rstrip(". ")
    if RUNNABLE.search(visible):
        findings.append(f"{name}: a name Windows runs or opens with macros")
    if re.search(r"[\x00-\x1f\u202a-\u202e\u2066-\u2069]", name):
        findings.append(f"{name}: control or bidi character in the name")
    return findings


def inspect_bytes(name: str, data: bytes, depth: int = 0) -> list[str]:
    if depth > 3:
        return [f"{name}: archive nested deeper than 3"]
    if data.startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return inspect_pdf(name, data)
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _inspect_zip_like(name, data, depth)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return inspect_png(name, data)
    if data.startswith(b"\xff\xd8"):
        return inspect_jpeg(name, data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return inspect_gif(name, data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return inspect_webp(name, data)
    if data[:2] == b"BM":
        return inspect_bmp(name, data)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return inspect_tiff(name, data)
    if data.startswith((b"MZ", b"\x7fELF", b"\xd0\xcf\x11\xe0", b"{\\rtf", b"Rar!", b"7z\xbc\xaf", b"L\x00\x00\x00\x01\x14\x02")):
        return [f"{name}: executable, OLE, RTF or foreign archive released"]
    return inspect_text(name, data)


def _inspect_zip_like(name: str, data: bytes, depth: int) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as error:
        return [f"{name}: unreadable ZIP: {error}"]
    if "[Content_Types].xml" in names:
        return inspect_ooxml(name, data)
    if "mimetype" in names and data[30:38] == b"mimetype":
        return [f"{name}: an OpenDocument package (cdr releases ODF only as converted OOXML)"]
    return inspect_zip(name, data, depth)


# ---------------------------------------------------------------- text and CSV

SCRIPT_SIGNS = [
    (r"(?i)\b(invoke-expression|iex\s*\(|invoke-webrequest|downloadstring|downloadfile|new-object\s+net\.webclient|"
     r"start-process|set-executionpolicy|-encodedcommand|frombase64string|add-type|get-content\s)", "PowerShell"),
    (r"(?i)\bpowershell(\.exe)?\s+-", "PowerShell command line"),
    (r"(?i)\b(createobject\s*\(|wscript\.|activexobject|getobject\s*\(\s*[\"']winmgmts)", "VBScript/JScript"),
    (r"(?i)^\s*dim\s+\w+\s*$|^\s*set\s+\w+\s*=\s*(createobject|getobject|new\b)", "VBScript statement"),
    (r"(?i)^\s*@?echo\s+off|\b(certutil|bitsadmin|regsvr32|rundll32|mshta|schtasks|wmic)(\.exe)?\b|"
     r"^\s*(set\s+/p|start\s+\"\"|goto\s+:?\w+|reg\s+add|del\s+/[fqs])|%~dp0|%temp%", "batch"),
    (r"(?i)^#!|\b(curl|wget)\b[^\n|]*\|\s*(ba)?sh\b|\bchmod\s+\+x|\brm\s+-rf\b|/bin/(ba)?sh\b|^\s*set\s+-e\b", "shell"),
    (r"(?i)<\s*hta:application|<\s*script\b|\bon(load|error|click|mouseover)\s*=|javascript:", "HTA/HTML script"),
]
SCRIPT_LINES = 50
FORMULA_SIGNS = set("=+-@＝＋－＠")
LEADING_BLANKS = " \t\r\n\u3000"
PLAIN_NUMBER = re.compile(r"^[+-]?[\d,]*\.?\d+(e[+-]?\d+)?%?$", re.IGNORECASE)
EXCEL_DELIMITER = {".csv": ",", ".tsv": "\t"}


def decode_text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for encoding in ("utf-8-sig", "cp932", "euc-jp"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def inspect_text(name: str, data: bytes) -> list[str]:
    text = decode_text(data)
    findings = [f"{name}: {label} in the first lines" for pattern, label in SCRIPT_SIGNS
                if re.search(pattern, "\n".join(text.splitlines()[:SCRIPT_LINES]), re.MULTILINE)]
    findings += [f"{name}: control or bidi character U+{ord(ch):04X}" for ch in sorted(set(text))
                 if (ord(ch) < 32 and ch not in "\t\r\n") or 0x202A <= ord(ch) <= 0x202E or 0x2066 <= ord(ch) <= 0x2069][:3]
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in EXCEL_DELIMITER:
        delimiters = {EXCEL_DELIMITER[suffix]}
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            delimiters.add("\t")  # Excel reads UTF-16 text as tab-separated "Unicode text"
        directive = re.match(r"(?i)^\ufeff?sep=(.)\r?$", text.split("\n", 1)[0])
        if directive:
            delimiters.add(directive.group(1))  # Excel honours a first line "sep=;" over the list separator
        for delimiter in sorted(delimiters):
            findings += live_formula_cells(name, text, delimiter)
    return findings


def live_formula_cells(name: str, text: str, delimiter: str) -> list[str]:
    """Cells Excel would evaluate: a formula sign after optional blanks, unless a plain number or the
    sign alone (the '-' that Japanese tables write for "none" stays text in Excel)."""
    findings = []
    for row_number, row in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
        for column, cell in enumerate(row, start=1):
            stripped = cell.lstrip(LEADING_BLANKS)
            if stripped[:1] in FORMULA_SIGNS and len(stripped.rstrip(LEADING_BLANKS)) > 1 and not PLAIN_NUMBER.match(stripped):
                findings.append(f"{name}:row {row_number} col {column}: live formula {cell[:40]!r}")
    return findings


# ---------------------------------------------------------------- images

PNG_CHUNKS = {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"pHYs", b"sBIT",
              b"bKGD", b"acTL", b"fcTL", b"fdAT"}


def inspect_png(name: str, data: bytes) -> list[str]:
    findings: list[str] = []
    idat: list[bytes] = []
    at = 8
    while at + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, at)
        body = data[at + 8:at + 8 + length]
        if kind not in PNG_CHUNKS:
            findings.append(f"{name}: PNG chunk {kind!r} not allowed")
        if kind == b"IHDR":
            width, height = struct.unpack_from(">II", body)
            if width * height > MAX_PIXELS:
                findings.append(f"{name}: {width}x{height} pixels")
        if kind == b"iCCP":
            findings += _png_icc(name, body)
        if kind == b"IDAT":
            idat.append(body)
        if kind == b"fcTL" and len(body) >= 12:
            width, height = struct.unpack_from(">II", body, 4)
            if width * height > MAX_PIXELS:
                findings.append(f"{name}: APNG frame of {width}x{height} pixels")
        at += 12 + length
        if kind == b"IEND":
            break
    else:
        findings.append(f"{name}: PNG without IEND")
    if data[at:].strip(b"\x00"):
        findings.append(f"{name}: {len(data) - at} bytes after IEND")
    expected = _png_raw_size(data)
    if idat and _inflates_beyond(b"".join(idat), expected):
        findings.append(f"{name}: image data inflates beyond the {expected} bytes its header needs")
    return findings


def _png_raw_size(data: bytes) -> int:
    """PNG §7.2: height × (1 filter byte + packed row); interlacing adds at most a few rows' worth."""
    width, height, depth, colour = struct.unpack_from(">IIBB", data, 16)
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour, 4)
    row = (width * channels * depth + 7) // 8
    return height * (row + 1) * 11 // 10 + 4096


def _png_icc(name: str, body: bytes) -> list[str]:
    try:
        packed = body.split(b"\x00", 1)[1][1:]
        inflater = zlib.decompressobj()
        profile = inflater.decompress(packed, MAX_ICC + 1)
    except (IndexError, zlib.error) as error:
        return [f"{name}: iCCP does not inflate: {error}"]
    return check_icc(name, profile)


def check_icc(name: str, profile: bytes) -> list[str]:
    """ICC.1:2010 §7: a bounded, well-formed header and tag table, nothing else."""
    if len(profile) > MAX_ICC:
        return [f"{name}: ICC profile over {MAX_ICC} bytes"]
    if len(profile) < 132 or profile[36:40] != b"acsp":
        return [f"{name}: ICC profile without a valid header"]
    declared, count = struct.unpack_from(">I", profile, 0)[0], struct.unpack_from(">I", profile, 128)[0]
    if declared != len(profile) or 132 + 12 * count > len(profile):
        return [f"{name}: ICC profile size {declared} / {count} tags do not fit {len(profile)} bytes"]
    for n in range(count):
        _, offset, size = struct.unpack_from(">4sII", profile, 132 + 12 * n)
        if offset + size > len(profile):
            return [f"{name}: ICC tag {n} outside the profile"]
    return []


# SOFn (not DHT C4, JPG C8, DAC CC is allowed), DHT, DAC, DQT, DRI, APP0 (JFIF), APP2 (ICC), APP14 (Adobe)
JPEG_ALLOWED = {m for m in range(0xC0, 0xD0) if m != 0xC8} | {0xDB, 0xDD, 0xE0, 0xE2, 0xEE}
JPEG_FRAMES = {m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)}


def inspect_jpeg(name: str, data: bytes) -> list[str]:
    findings: list[str] = []
    icc = b""
    scans = 0
    at = 2
    while at + 2 <= len(data):
        if data[at] != 0xFF:
            return findings + [f"{name}: JPEG marker expected at {at}"]
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xD9:
            break
        if at + 4 > len(data):
            return findings + [f"{name}: truncated JPEG segment"]
        length = struct.unpack_from(">H", data, at + 2)[0]
        body = data[at + 4:at + 2 + length]
        if marker not in JPEG_ALLOWED and marker != 0xDA:
            findings.append(f"{name}: JPEG segment FF{marker:02X} not allowed")
        if marker == 0xE2:
            if not body.startswith(b"ICC_PROFILE\x00"):
                findings.append(f"{name}: APP2 that is not ICC_PROFILE")
            icc += body[14:]
        if marker in JPEG_FRAMES and len(body) >= 5:
            height, width = struct.unpack_from(">HH", body, 1)
            if width * height > MAX_PIXELS:
                findings.append(f"{name}: {width}x{height} pixels")
        if marker == 0xDA:
            scans += 1
            if scans == MAX_SCANS + 1:
                findings.append(f"{name}: more than {MAX_SCANS} scans (a decoder CPU bomb)")
            # entropy-coded data runs to the next marker that is not a stuffed byte or RSTn
            at = _next_marker_after_scan(data, at + 2 + length)
            if at < 0:
                return findings + [f"{name}: JPEG without EOI"]
            continue
        at += 2 + length
    else:
        return findings + [f"{name}: JPEG without EOI"]
    if icc:
        findings += check_icc(name, icc)
    if data[at + 2:].strip(b"\x00"):
        findings.append(f"{name}: {len(data) - at - 2} bytes after EOI")
    return findings


def _next_marker_after_scan(data: bytes, at: int) -> int:
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= len(data):
            return -1
        following = data[at + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            at += 1
            continue
        return at


def inspect_gif(name: str, data: bytes) -> list[str]:
    findings: list[str] = []
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    if width * height > MAX_PIXELS:
        findings.append(f"{name}: logical screen {width}x{height}")
    at = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while at < len(data):
        introducer = data[at]
        if introducer == 0x3B:
            break
        if introducer == 0x21:
            label = data[at + 1]
            if label == 0xFF and data[at + 3:at + 14] not in (b"NETSCAPE2.0", b"ANIMEXTS1.0"):
                findings.append(f"{name}: GIF application extension {data[at + 3:at + 14]!r}")
            elif label not in (0xF9, 0xFF):
                findings.append(f"{name}: GIF extension 0x{label:02X} (comment or plain text)")
            at = _skip_sub_blocks(data, at + 2)
        elif introducer == 0x2C:
            frames += 1
            local = data[at + 9]
            at += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
            at = _skip_sub_blocks(data, at + 1)
        else:
            return findings + [f"{name}: unknown GIF block 0x{introducer:02X}"]
    else:
        return findings + [f"{name}: GIF without trailer"]
    if width * height * max(frames, 1) > MAX_PIXELS * 4:
        findings.append(f"{name}: {frames} frames of {width}x{height}")
    if data[at + 1:].strip(b"\x00"):
        findings.append(f"{name}: {len(data) - at - 1} bytes after the GIF trailer")
    return findings


def _skip_sub_blocks(data: bytes, at: int) -> int:
    while at < len(data) and data[at]:
        at += data[at] + 1
    return at + 1


WEBP_CHUNKS = {b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"}


def inspect_webp(name: str, data: bytes) -> list[str]:
    """RIFF container (WebP container spec): image chunks only, no EXIF/XMP, nothing after the RIFF size."""
    findings = []
    size = struct.unpack_from("<I", data, 4)[0] + 8
    at = 12
    while at + 8 <= min(size, len(data)):
        kind, length = data[at:at + 4], struct.unpack_from("<I", data, at + 4)[0]
        if kind not in WEBP_CHUNKS:
            findings.append(f"{name}: WebP chunk {kind!r} not allowed")
        if kind == b"ICCP":
            findings += check_icc(name, data[at + 8:at + 8 + length])
        at += 8 + length + (length & 1)
    if data[size:].strip(b"\x00"):
        findings.append(f"{name}: {len(data) - size} bytes after the RIFF chunk")
    return findings


# TIFF 6.0 baseline and extension tags that describe pixels; not ImageDescription, Make, Model,
# Software, DateTime, Artist, Copyright, XMP (700), IPTC (33723), Photoshop (34377), EXIF/GPS IFDs.
TIFF_TAGS = {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 274, 277, 278, 279, 280, 281, 282, 283, 284, 286, 287,
             290, 291, 296, 297, 317, 318, 319, 320, 322, 323, 324, 325, 338, 339, 340, 341, 347, 529, 530, 531, 532,
             34675}
TIFF_MAX_PAGES = 1000


def inspect_tiff(name: str, data: bytes) -> list[str]:
    """Walk the IFD chain (TIFF 6.0 §2): every tag from the allow-list, a bounded number of pages."""
    order = "<" if data[:2] == b"II" else ">"
    findings: list[str] = []
    offset = struct.unpack_from(order + "I", data, 4)[0]
    pages = 0
    while offset and pages < TIFF_MAX_PAGES:
        if offset + 2 > len(data):
            return findings + [f"{name}: IFD outside the file"]
        count = struct.unpack_from(order + "H", data, offset)[0]
        if offset + 2 + 12 * count + 4 > len(data):
            return findings + [f"{name}: IFD outside the file"]
        tags = [struct.unpack_from(order + "H", data, offset + 2 + 12 * n)[0] for n in range(count)]
        findings += [f"{name}: page {pages} TIFF tag {tag} not allowed" for tag in tags if tag not in TIFF_TAGS]
        if 34675 in tags:
            entry = offset + 2 + 12 * tags.index(34675)
            length, at = struct.unpack_from(order + "II", data, entry + 4)
            findings += check_icc(name, data[at:at + length])
        pages += 1
        offset = struct.unpack_from(order + "I", data, offset + 2 + 12 * count)[0]
    if offset:
        findings.append(f"{name}: more than {TIFF_MAX_PAGES} pages")
    return findings


def inspect_bmp(name: str, data: bytes) -> list[str]:
    """BITMAPFILEHEADER.bfSize is the whole file: anything past it rides along."""
    declared = struct.unpack_from("<I", data, 2)[0]
    width, height = struct.unpack_from("<ii", data, 18) if len(data) >= 26 else (0, 0)
    findings = [f"{name}: {len(data) - declared} bytes after the bitmap"] if len(data) > declared else []
    if abs(width) * abs(height) > MAX_PIXELS:
        findings.append(f"{name}: {width}x{height} pixels")
    return findings


def inspect_picture(name: str, data: bytes) -> list[str]:
    for magic, check in ((b"\x89PNG\r\n\x1a\n", inspect_png), (b"\xff\xd8\xff", inspect_jpeg), (b"GIF8", inspect_gif)):
        if data.startswith(magic):
            return check(name, data)
    return [f"{name}: picture is not PNG, JPEG or GIF by its bytes"]


# ---------------------------------------------------------------- ZIP archives


def inspect_zip(name: str, data: bytes, depth: int) -> list[str]:
    findings: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        seen: set[str] = set()
        if len(archive.infolist()) > MAX_MEMBERS:
            findings.append(f"{name}: {len(archive.infolist())} members (policy limit {MAX_MEMBERS})")
        for info in archive.infolist():
            member = f"{name}!{info.filename}"
            findings += _member_name(member, info)
            if info.filename in seen:
                findings.append(f"{member}: duplicate member name")
            seen.add(info.filename)
            if info.is_dir():
                continue
            if info.file_size > MAX_MEMBER:
                findings.append(f"{member}: {info.file_size} bytes (bomb-sized)")
                continue
            if info.flag_bits & 1:
                continue  # reported by _member_name; its content cannot be judged
            try:
                content = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as error:
                findings.append(f"{member}: unreadable member: {error}")
                continue
            findings += inspect_bytes(member, content, depth + 1)
    return findings


def _member_name(member: str, info: zipfile.ZipInfo) -> list[str]:
    findings = []
    raw = info.orig_filename
    parts = re.split(r"[\\/]", raw)
    if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw) or ".." in parts:
        findings.append(f"{member}: path escapes the folder")
    if info.flag_bits & 1:
        findings.append(f"{member}: encrypted member")
    if info.create_system == 3 and (info.external_attr >> 16) & 0o170000 == 0o120000:
        findings.append(f"{member}: symbolic link")
    if (info.external_attr >> 16) & 0o111:
        findings.append(f"{member}: executable mode bits")
    return findings + dangerous_name(member)


# ---------------------------------------------------------------- PDF

ACTION_KEYS = {"/A", "/OpenAction", "/Next", "/PA"}
ANNOTATION_SUBTYPES = {"/Link", "/Text", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine",
                       "/Highlight", "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/Popup"}
CATALOG_KEYS = {"/Type", "/Pages", "/Outlines", "/PageMode", "/PageLayout", "/ViewerPreferences", "/Lang",
                "/MarkInfo", "/StructTreeRoot", "/Names", "/Dests", "/PageLabels", "/OCProperties",
                "/OutputIntents", "/Version", "/Metadata", "/OpenAction", "/Threads", "/Extensions"}
PAGE_KEYS = {"/Type", "/Parent", "/Resources", "/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox", "/Rotate",
             "/Contents", "/Annots", "/Group", "/StructParents", "/Tabs", "/UserUnit", "/LastModified", "/Trans",
             "/Dur", "/BoxColorInfo"}
DANGEROUS_ACTIONS = {"/JavaScript", "/Launch", "/GoToR", "/GoToE", "/SubmitForm", "/ResetForm", "/ImportData",
                     "/Rendition", "/Movie", "/Sound", "/Hide", "/SetOCGState", "/Trans", "/GoTo3DView",
                     "/RichMediaExecute", "/Named", "/Thread", "/ECMAScript"}
FORBIDDEN_KEYS = {"/JS", "/JavaScript", "/AA", "/EmbeddedFiles", "/EF", "/XFA", "/AcroForm", "/RichMediaContent",
                  "/RichMediaSettings", "/3DD", "/Launch", "/Win", "/Mac", "/Unix", "/URI" + "Base", "/NeedsRendering",
                  "/Collection", "/Perms"}
FORBIDDEN_SUBTYPES = {"/PS", "/3D", "/RichMedia", "/FileAttachment", "/Sound", "/Movie", "/Screen", "/Widget", "/U3D",
                      "/PRC"}


def inspect_pdf(name: str, data: bytes) -> list[str]:
    findings = _pdf_bytes(name, data)
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PdfError as error:
        return findings + [f"{name}: unreadable PDF: {error}"]
    with pdf:
        findings += [f"{name}: catalog key {key}" for key in pdf.Root.keys() if key not in CATALOG_KEYS]
        names = pdf.Root.get("/Names")
        if isinstance(names, pikepdf.Dictionary):
            findings += [f"{name}: /Names key {key}" for key in names.keys() if key != "/Dests"]
        opener = pdf.Root.get("/OpenAction")
        if opener is not None and not isinstance(opener, pikepdf.Array):
            findings.append(f"{name}: /OpenAction is an action")
        walker = _PdfWalk(name)
        walker.visit(pdf.trailer, "trailer", 0)
        for obj in pdf.objects:
            if obj is None:
                continue  # a free entry in the cross-reference table
            walker.visit(obj, f"obj {obj.objgen[0]}", 0)
        findings += walker.findings
    return sorted(set(findings))


def _pdf_bytes(name: str, data: bytes) -> list[str]:
    """One revision only, and nothing after it: older revisions and trailing data stay unparsed by viewers' eyes."""
    findings = []
    if data.count(b"%%EOF") > 1:
        findings.append(f"{name}: {data.count(b'%%EOF')} revisions (%%EOF markers)")
    tail = data[data.rfind(b"%%EOF") + 5:]
    if tail.strip():
        findings.append(f"{name}: {len(tail)} bytes after %%EOF")
    return findings


class _PdfWalk:
    """Visit every object, direct ones inside dictionaries and arrays included."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.findings: list[str] = []
        self.seen: set[tuple[int, int]] = set()

    def visit(self, obj: object, where: str, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.findings.append(f"{self.name}:{where}: nesting deeper than {MAX_DEPTH}")
            return
        if isinstance(obj, pikepdf.Object) and obj.is_indirect:
            if obj.objgen in self.seen:
                return
            self.seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Stream):
            self._stream(obj, where)
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            self._dictionary(obj, where, depth)
        elif isinstance(obj, pikepdf.Array):
            for index, item in enumerate(obj):
                self.visit(item, f"{where}[{index}]", depth + 1)

    def _dictionary(self, obj: pikepdf.Object, where: str, depth: int) -> None:
        found = self.findings.append
        kind = str(obj.get("/Type", ""))
        subtype = str(obj.get("/Subtype", ""))
        for key in obj.keys():
            if key in FORBIDDEN_KEYS and not _empty(obj.get(key)):
                found(f"{self.name}:{where}: key {key}")
            if kind == "/Page" and key not in PAGE_KEYS:
                found(f"{self.name}:{where}: page key {key}")
            if key in ACTION_KEYS:
                value = obj.get(key)
                for action in value if isinstance(value, pikepdf.Array) and key == "/Next" else [value]:
                    self._action(action, f"{where}{key}")
        if subtype in FORBIDDEN_SUBTYPES:
            found(f"{self.name}:{where}: subtype {subtype}")
        if kind == "/Annot" and subtype not in ANNOTATION_SUBTYPES:
            found(f"{self.name}:{where}: annotation subtype {subtype}")
        if kind in ("/EmbeddedFile", "/Filespec"):
            found(f"{self.name}:{where}: {kind}")
        if kind == "/Action" or str(obj.get("/S", "")) in DANGEROUS_ACTIONS:
            self._action(obj, where)
        for key, child in obj.items():
            self.visit(child, f"{where}{key}", depth + 1)

    def _action(self, obj: object, where: str) -> None:
        if not isinstance(obj, pikepdf.Dictionary):
            return  # a destination (array, name or string), not an action
        kind = str(obj.get("/S", ""))
        if not kind and not list(obj.keys()):
            return  # an empty dictionary has no type and nothing to run (what a scrub may leave behind)
        if kind == "/URI":
            value = obj.get("/URI", "")
            uri = bytes(value).decode("latin-1") if isinstance(value, pikepdf.String) else str(value)
            if not safe_link(uri):
                self.findings.append(f"{self.name}:{where}: URI {uri[:60]!r}")
        elif kind != "/GoTo":
            self.findings.append(f"{self.name}:{where}: action {kind or 'without /S'}")

    def _stream(self, stream: pikepdf.Stream, where: str) -> None:
        filters = stream.get("/Filter")
        names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)]
        data = stream.read_raw_bytes()
        for layer in names:
            if layer != "/FlateDecode":
                return
            if _inflates_beyond(data, MAX_DECODED_STREAM):
                self.findings.append(f"{self.name}:{where}: stream inflates beyond {MAX_DECODED_STREAM} bytes")
                return
            try:
                data = zlib.decompress(data)  # bounded by the check just made; the next layer is checked next
            except zlib.error:
                return


def _empty(value: object) -> bool:
    """An empty dictionary or array left where a scrub took everything out holds nothing to run."""
    return isinstance(value, pikepdf.Dictionary | pikepdf.Array) and len(value) == 0


def _inflates_beyond(packed: bytes, limit: int) -> bool:
    """Count inflated bytes in bounded steps, so a bomb never sits in memory whole."""
    inflater = zlib.decompressobj()
    total = 0
    pending = packed
    try:
        while pending or not inflater.eof:
            chunk = inflater.decompress(pending, 16 << 20)
            total += len(chunk)
            if total > limit:
                return True
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
    except zlib.error:
        return False  # damaged data inflates to nothing more than what was read
    return False


# ---------------------------------------------------------------- OOXML

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
W_NAMESPACES = {"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                "http://purl.oclc.org/ooxml/wordprocessingml/main"}
A_NAMESPACES = {"http://schemas.openxmlformats.org/drawingml/2006/main", "http://purl.oclc.org/ooxml/drawingml/main"}
SML_FORMULA_ELEMENTS = {"f", "formula", "formula1", "formula2", "definedName", "calculatedColumnFormula",
                        "totalsRowFormula"}
CHART_NAMESPACES = {"http://schemas.openxmlformats.org/drawingml/2006/chart", "http://purl.oclc.org/ooxml/drawingml/chart"}
VML_NAMESPACES = {"urn:schemas-microsoft-com:vml", "urn:schemas-microsoft-com:office:office"}
OOXML = "application/vnd.openxmlformats-officedocument."
ALLOWED_CONTENT_TYPES = {
    "application/vnd.openxmlformats-package.relationships+xml",
    "application/vnd.openxmlformats-package.core-properties+xml",
    OOXML + "extended-properties+xml", OOXML + "custom-properties+xml", OOXML + "theme+xml",
    OOXML + "themeOverride+xml", "image/png", "image/jpeg", "image/gif",
    OOXML + "customXmlProperties+xml", "application/xml",
    # WordprocessingML
    OOXML + "wordprocessingml.document.main+xml", OOXML + "wordprocessingml.template.main+xml",
    OOXML + "wordprocessingml.styles+xml", OOXML + "wordprocessingml.settings+xml",
    OOXML + "wordprocessingml.webSettings+xml", OOXML + "wordprocessingml.fontTable+xml",
    OOXML + "wordprocessingml.numbering+xml", OOXML + "wordprocessingml.footnotes+xml",
    OOXML + "wordprocessingml.endnotes+xml", OOXML + "wordprocessingml.header+xml",
    OOXML + "wordprocessingml.footer+xml", OOXML + "wordprocessingml.comments+xml",
    OOXML + "wordprocessingml.document.glossary+xml",
    "application/vnd.ms-word.stylesWithEffects+xml", "application/vnd.ms-word.commentsExtended+xml",
    "application/vnd.ms-word.commentsIds+xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.people+xml",
    # SpreadsheetML
    OOXML + "spreadsheetml.sheet.main+xml", OOXML + "spreadsheetml.template.main+xml",
    OOXML + "spreadsheetml.worksheet+xml", OOXML + "spreadsheetml.styles+xml", OOXML + "spreadsheetml.sharedStrings+xml",
    OOXML + "spreadsheetml.table+xml", OOXML + "spreadsheetml.calcChain+xml", OOXML + "drawing+xml",
    OOXML + "spreadsheetml.comments+xml", OOXML + "vmlDrawing", OOXML + "drawingml.chart+xml",
    # PresentationML
    OOXML + "presentationml.presentation.main+xml", OOXML + "presentationml.slideshow.main+xml",
    OOXML + "presentationml.template.main+xml", OOXML + "presentationml.slide+xml",
    OOXML + "presentationml.slideLayout+xml", OOXML + "presentationml.slideMaster+xml",
    OOXML + "presentationml.notesSlide+xml", OOXML + "presentationml.notesMaster+xml",
    OOXML + "presentationml.handoutMaster+xml", OOXML + "presentationml.presProps+xml",
    OOXML + "presentationml.viewProps+xml", OOXML + "presentationml.tableStyles+xml",
    OOXML + "presentationml.commentAuthors+xml", OOXML + "presentationml.comments+xml",
}
ALLOWED_REL_TYPES = {
    REL + "/" + kind for kind in (
        "officeDocument", "extended-properties", "custom-properties", "theme", "themeOverride", "image", "hyperlink",
        "styles", "settings", "webSettings", "fontTable", "numbering", "footnotes", "endnotes", "header", "footer",
        "comments", "customXml", "customXmlProps", "worksheet", "sharedStrings", "table", "calcChain", "drawing",
        "vmlDrawing", "chart", "slide", "slideLayout", "slideMaster", "notesSlide", "notesMaster", "handoutMaster",
        "presProps", "viewProps", "tableStyles", "commentAuthors", "people", "glossaryDocument",
    )
} | {
    PKG_REL[: -len("relationships")] + "relationships/metadata/core-properties",
    "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects",
    "http://schemas.microsoft.com/office/2011/relationships/commentsExtended",
    "http://schemas.microsoft.com/office/2016/09/relationships/commentsIds",
    "http://schemas.microsoft.com/office/2011/relationships/people",
    # a thumbnail is a picture like any other, and is inspected as one
    PKG_REL[: -len("relationships")] + "relationships/metadata/thumbnail",
}
SAFE_FIELDS = {
    "PAGE", "NUMPAGES", "SECTIONPAGES", "SECTION", "DATE", "TIME", "CREATEDATE", "SAVEDATE", "PRINTDATE", "TOC", "TC",
    "REF", "PAGEREF", "NOTEREF", "SEQ", "STYLEREF", "AUTHOR", "TITLE", "SUBJECT", "KEYWORDS", "COMMENTS",
    "LASTSAVEDBY", "NUMWORDS", "NUMCHARS", "=", "MERGEFIELD", "SYMBOL", "XE", "INDEX", "EQ", "LISTNUM",
    "DOCPROPERTY", "FORMTEXT", "FORMCHECKBOX", "FORMDROPDOWN", "ADVANCE", "BIBLIOGRAPHY", "CITATION", "TA", "TOA",
    "HYPERLINK", "IF", "QUOTE", "BOOKMARK", "FILLIN", "ASK", "SET", "USERNAME", "USERINITIALS", "EDITTIME",
    "REVNUM", "TEMPLATE", "FILENAME", "FILESIZE", "NEXT", "NEXTIF", "SKIPIF", "MERGEREC", "MERGESEQ", "RD",
}
DANGEROUS_FUNCTIONS = re.compile(
    r"(?i)\b(_xlfn\.)?(WEBSERVICE|FILTERXML|CALL|REGISTER|REGISTER\.ID|EXEC|RUN|RTD|DDE|DDEAUTO|FOPEN|FWRITE|"
    r"FWRITELN|FCLOSE|URLDOWNLOADTOFILE|SHELL|HALT|ALERT|FORMULA|SET\.VALUE|GET\.WORKSPACE|GET\.WINDOW|"
    r"GET\.DOCUMENT|GET\.CELL|FILES|DIRECTORY|EVALUATE|EXECUTE)\s*\(|CHAR\s*\(\s*124\s*\)"
)
EXTERNAL_REF = re.compile(r"\[[^\]]+\][^!\s(),;]*!|'[^']*[\\/:][^']*'!|\\\\")
AUTO_NAMES = re.compile(r"(?i)^(_xlnm\.)?auto_(open|close|activate|deactivate)")
SAFE_PPACTIONS = re.compile(r"^ppaction://(hlinksldjump|hlinkshowjump\?jump=(nextslide|previousslide|firstslide|"
                            r"lastslide|lastslideviewed|endshow)|noaction)?$")
REFERRING_ELEMENTS = {"attachedTemplate", "subDoc", "altChunk", "control", "OLEObject", "oleObj", "sourceFileName",
                      "dataSource", "headerSource", "recipientData", "videoFile", "audioFile", "quickTimeFile",
                      "wavAudioFile", "oleObject", "externalReference", "ddeLink", "webPr", "oleLink", "externalData",
                      "objectLink", "objectEmbed", "movie", "saveThroughXslt"}


def inspect_ooxml(name: str, data: bytes) -> list[str]:
    findings: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        parts = {info.filename: info for info in package.infolist() if not info.is_dir()}
        for part in parts:
            findings += _member_name(f"{name}!{part}", parts[part])
        try:
            types = _content_types(package.read("[Content_Types].xml"))
        except etree.XMLSyntaxError as error:
            return [f"{name}: [Content_Types].xml unreadable: {error}"]
        for part in parts:
            if part == "[Content_Types].xml":
                continue
            findings += _ooxml_part(f"{name}!{part}", part, package.read(part), types, set(parts))
    return findings


def _content_types(data: bytes) -> dict[str, str]:
    root = _xml(data)
    defaults = {e.get("Extension", "").lower(): e.get("ContentType", "") for e in root if _local(e) == "Default"}
    overrides = {e.get("PartName", "").lstrip("/"): e.get("ContentType", "") for e in root if _local(e) == "Override"}
    return {**overrides, **{f"\0ext.{k}": v for k, v in defaults.items()}}


def _part_type(part: str, types: dict[str, str]) -> str:
    if part in types:
        return types[part]
    extension = part.rsplit("/", 1)[-1].rsplit(".", 1)[-1] if "." in part.rsplit("/", 1)[-1] else ""
    return types.get("\0ext." + extension.lower(), "")


def _ooxml_part(where: str, part: str, data: bytes, types: dict[str, str], names: set[str]) -> list[str]:
    content_type = _part_type(part, types)
    if content_type not in ALLOWED_CONTENT_TYPES:
        return [f"{where}: content type {content_type or 'missing'!r} not allowed"]
    if content_type.startswith("image/"):
        return inspect_picture(where, data)
    if b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data[:4096]:
        return [f"{where}: DOCTYPE/ENTITY declarations"]
    try:
        root = _xml(data)
    except etree.XMLSyntaxError as error:
        return [f"{where}: XML does not parse: {error}"]
    if part.endswith(".rels"):
        return _relationships(where, part, root, names)
    rels = _rels_of(part, names)
    return _markup(where, root, rels)


def _xml(data: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    return etree.fromstring(data, parser)


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _namespace(element: etree._Element) -> str:
    return etree.QName(element).namespace or "" if isinstance(element.tag, str) else ""


def _rels_of(part: str, names: set[str]) -> str:
    path = PurePosixPath(part)
    rels = str(path.parent / "_rels" / (path.name + ".rels")).lstrip("./")
    return rels if rels in names else ""


def _relationships(where: str, part: str, root: etree._Element, names: set[str]) -> list[str]:
    findings = []
    for rel in root:
        if _local(rel) != "Relationship":
            continue
        kind = rel.get("Type", "").replace(STRICT_REL, REL)
        target = rel.get("Target", "")
        if kind not in ALLOWED_REL_TYPES:
            findings.append(f"{where}: relationship type {kind!r} -> {target[:60]!r}")
        if rel.get("TargetMode", "Internal") == "External":
            if kind != REL + "/hyperlink" or not safe_link(target):
                findings.append(f"{where}: external target {target[:80]!r} ({kind.rsplit('/', 1)[-1]})")
    return findings


def _markup(where: str, root: etree._Element, rels: str) -> list[str]:
    findings = _fields(where, root)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        local, namespace = _local(element), _namespace(element)
        if (local in SML_FORMULA_ELEMENTS and "spreadsheetml" in namespace) or (
            local == "f" and namespace in CHART_NAMESPACES
        ):
            findings += _formula(where, element)
        if local in ("hlinkClick", "hlinkHover") and namespace in A_NAMESPACES:
            action = element.get("action", "")
            if action and not SAFE_PPACTIONS.match(action):
                findings.append(f"{where}: shape action {action!r}")
        if local == "cmd" and element.get("type") == "verb":
            findings.append(f"{where}: animation runs an OLE verb (Sandworm, CVE-2014-4114)")
        if local in REFERRING_ELEMENTS:
            findings.append(f"{where}: element {local} (refers to external or active content)")
        for attribute, value in element.attrib.items():
            attr_ns = etree.QName(attribute).namespace
            if attr_ns in (REL, STRICT_REL) and etree.QName(attribute).localname == "link":
                findings.append(f"{where}: linked (external) {local} r:link={value}")
            if etree.QName(attribute).localname in ("href", "src") and attr_ns in VML_NAMESPACES | {None} \
                    and namespace in VML_NAMESPACES and re.search(r"[:\\/]", value):
                findings.append(f"{where}: VML {local} loads {value[:60]!r}")
            if etree.QName(attribute).localname in ("onLoad", "onAction", "macro") and value:
                findings.append(f"{where}: callback {attribute}={value!r} on {local}")
    return findings


def _formula(where: str, element: etree._Element) -> list[str]:
    text = element.text or ""
    label = f"{where}: {_local(element)} {text[:60]!r}"
    if element.tag.endswith("definedName") and AUTO_NAMES.match(element.get("name", "")):
        return [f"{where}: auto-run defined name {element.get('name')}"]
    if "|" in text:
        return [label + " has a DDE '|'"]
    if EXTERNAL_REF.search(text):
        return [label + " refers to another workbook"]
    if DANGEROUS_FUNCTIONS.search(text):
        return [label + " calls a dangerous function"]
    hyperlink = re.search(r"(?i)HYPERLINK\s*\(\s*\"([^\"]*)\"", text)
    if hyperlink and not safe_link(hyperlink.group(1)):
        return [label + " links outside http(s)/mailto"]
    return []


def _fields(where: str, root: etree._Element) -> list[str]:
    """Judge every field: fldSimple by its instr, complex fields by their own instruction text."""
    findings = []
    for element in root.iter():
        if isinstance(element.tag, str) and _local(element) == "fldSimple" and _namespace(element) in W_NAMESPACES:
            instruction = next((v for k, v in element.attrib.items() if etree.QName(k).localname == "instr"), "")
            findings += _field_instruction(where, instruction, built_by_nested=False)
    for instruction, built_by_nested in _complex_fields(root):
        findings += _field_instruction(where, instruction, built_by_nested)
    return findings


def _complex_fields(root: etree._Element) -> list[tuple[str, bool]]:
    """Walk fldChar/instrText in document order; a stack keeps nested fields apart."""
    stack: list[list[object]] = []  # [instruction pieces, collecting?, nested-before-text?]
    done: list[tuple[str, bool]] = []
    for element in root.iter():
        if not isinstance(element.tag, str) or _namespace(element) not in W_NAMESPACES:
            continue
        local = _local(element)
        if local == "fldChar":
            kind = next((v for k, v in element.attrib.items() if etree.QName(k).localname == "fldCharType"), "")
            if kind == "begin":
                if stack and stack[-1][1] and not "".join(stack[-1][0]).strip():  # type: ignore[arg-type]
                    stack[-1][2] = True
                stack.append([[], True, False])
            elif kind == "separate" and stack:
                stack[-1][1] = False
            elif kind == "end" and stack:
                pieces, _, nested = stack.pop()
                done.append(("".join(pieces), bool(nested)))  # type: ignore[arg-type]
        elif local in ("instrText", "delInstrText") and stack and stack[-1][1]:
            stack[-1][0].append(element.text or "")  # type: ignore[union-attr]
    done += [("".join(pieces), bool(nested)) for pieces, _, nested in stack]  # type: ignore[misc]
    return done


def _field_instruction(where: str, instruction: str, built_by_nested: bool) -> list[str]:
    words = instruction.split()
    keyword = words[0].upper() if words else ""
    if built_by_nested:
        return [f"{where}: field whose keyword is built by a nested field: {instruction[:60]!r}"]
    if not keyword:
        return []
    if keyword.startswith("="):
        keyword = "="
    if keyword not in SAFE_FIELDS:
        return [f"{where}: field {keyword} {instruction[:80]!r}"]
    target = _hyperlink_target(words[1:]) if keyword == "HYPERLINK" else ""
    if target and not safe_link(target):
        return [f"{where}: HYPERLINK field to {target[:60]!r}"]
    return []


def _hyperlink_target(arguments: list[str]) -> str:
    """§17.16.5.25: the first argument that is not a switch or a switch's value is the target."""
    skip = False
    for word in arguments:
        if skip:
            skip = False
        elif word.startswith("\\"):
            skip = word.lower() in ("\\l", "\\o", "\\t")
        else:
            return word.strip('"')
    return ""
