"""Content → FileType. Container first (ZIP, OLE, PDF, RTF), then the subtype.

Runs inside the sandbox: it parses untrusted bytes (libmagic, zip central directories,
OLE directories). The extension never decides a type; it is compared with the content
afterwards and a disagreement becomes a finding the policy judges.
"""

from __future__ import annotations

import io
import re
import zlib
from pathlib import PurePath
from typing import BinaryIO
from zipfile import ZipInfo

import magic

from cdr.errors import MalformedInput, SanitizeError
from cdr.model import EXTENSION_MISMATCH, HTML_CHARSET, Category, Detection, FileType, Finding
from cdr.scripts import script_language
from cdr.types import EXTENSION_CLAIMS, TAKEN_AS, row
from cdr.zipreader import ZipReader, is_encrypted, read_directory

HEAD_BYTES = 1 << 20

_MIME_TYPES: dict[str, FileType] = {
    "application/pdf": FileType.PDF,
    "image/jpeg": FileType.JPEG,
    "image/png": FileType.PNG,
    "image/gif": FileType.GIF,
    "image/bmp": FileType.BMP,
    "image/x-ms-bmp": FileType.BMP,
    "image/tiff": FileType.TIFF,
    "image/webp": FileType.WEBP,
    "image/heic": FileType.HEIC,
    "image/heif": FileType.HEIC,
    "image/heic-sequence": FileType.HEIC,
    "image/heif-sequence": FileType.HEIC,
    "image/svg+xml": FileType.SVG,
    "text/rtf": FileType.RTF,
    "application/rtf": FileType.RTF,
    "application/x-7z-compressed": FileType.SEVEN_ZIP,
    "application/x-rar": FileType.RAR,
    "application/vnd.rar": FileType.RAR,
    "application/gzip": FileType.GZIP,
    "application/x-gzip": FileType.GZIP,
    "application/x-bzip2": FileType.GZIP,
    "application/x-xz": FileType.GZIP,
    "application/zstd": FileType.GZIP,
    "application/x-tar": FileType.TAR,
    "application/x-lzh-compressed": FileType.LZH,
    "application/x-lha": FileType.LZH,
    "application/vnd.ms-cab-compressed": FileType.CAB,
    "application/x-iso9660-image": FileType.DISK_IMAGE,
    "application/x-apple-diskimage": FileType.DISK_IMAGE,
    "application/x-qemu-disk": FileType.DISK_IMAGE,
    "application/x-virtualbox-vhd": FileType.DISK_IMAGE,
    "application/x-ms-shortcut": FileType.SHORTCUT,
    "application/x-mswinurl": FileType.SHORTCUT,
    "text/html": FileType.HTML,
    "text/csv": FileType.CSV,
    "application/csv": FileType.CSV,
    "message/rfc822": FileType.EML,
    # 一太郎 4 to 6 (before it became an OLE compound file)
    "application/x-ichitaro4": FileType.ICHITARO,
    "application/x-ichitaro5": FileType.ICHITARO,
    "application/x-ichitaro6": FileType.ICHITARO,
}
_EXECUTABLE_MIMES = {
    "application/x-executable",
    "application/x-sharedlib",
    "application/x-pie-executable",
    "application/x-dosexec",
    "application/x-msdownload",
    "application/vnd.microsoft.portable-executable",
    "application/x-mach-binary",
    "application/x-elf",
    "application/x-object",
    "application/x-coredump",
    "application/java-archive",
    "application/x-java-applet",
    "application/x-msi",
    "application/x-ole-storage-msi",
    "application/x-bytecode.python",
    "application/x-wine-extension-ini",
}
_SCRIPT_MIMES = {
    "text/x-shellscript",
    "text/x-python",
    "text/x-script.python",
    "text/x-perl",
    "text/x-php",
    "application/x-php",
    "text/x-ruby",
    "application/javascript",
    "text/javascript",
    "text/x-msdos-batch",
    "text/x-tcl",
    "text/x-lua",
    "text/x-awk",
    "application/x-shellscript",
    "text/x-java",
    "text/x-c",
    "text/x-c++",
}
# How scripts begin that libmagic does not call scripts (Windows batch, PowerShell,
# VBScript, HTA/WSF wrappers). Only the start of the file is judged, so prose that merely
# mentions PowerShell is still text.
_SCRIPT_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:#!|@echo\s+off|@?rem\s|<\?php|<job[\s>]|<package[\s>]|"
    rb"<hta:|<script[\s>]|param\s*\(|set-executionpolicy|option\s+explicit|"
    rb"on\s+error\s+resume\s+next|dim\s+\w+\s*$|createobject\()",
    re.I | re.M,
)

_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": FileType.DOCX,
    "application/vnd.ms-word.document.macroEnabled.main+xml": FileType.DOCM,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": FileType.DOTX,
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml": FileType.DOTM,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": FileType.XLSX,
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": FileType.XLSM,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": FileType.XLTX,
    "application/vnd.ms-excel.template.macroEnabled.main+xml": FileType.XLTM,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": FileType.PPTX,
    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml": FileType.PPTM,
    "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml": FileType.POTX,
    "application/vnd.ms-powerpoint.template.macroEnabled.main+xml": FileType.POTM,
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": FileType.PPSX,
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml": FileType.PPSM,
}
_ODF = {
    b"application/vnd.oasis.opendocument.text": FileType.ODT,
    b"application/vnd.oasis.opendocument.spreadsheet": FileType.ODS,
    b"application/vnd.oasis.opendocument.presentation": FileType.ODP,
}
_OVERRIDE_RE = re.compile(rb'ContentType="([^"]+\.main\+xml)"')
# Excel's XML Spreadsheet 2003 ("XML スプレッドシート 2003"): an XML prolog, maybe the
# mso-application instruction, then a Workbook in the spreadsheet namespace. Excel never
# writes a DOCTYPE; one with a DOCTYPE (external entities) is not taken for a spreadsheet.
_XML_SPREADSHEET = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<\?mso-application[^>]*\?>\s*)?(?:<!--.*?-->\s*)*"
    rb"<(?:ss:)?Workbook\s[^>]*xmlns(?::ss)?=\"urn:schemas-microsoft-com:office:spreadsheet\"",
    re.S,
)
# DocuWorks documents begin with this signature. No public format note could confirm it
# here, nor a binder's (.xbd): a DocuWorks file without it stays unknown, blocked all the same.
_DOCUWORKS_MAGIC = b"XDWF"
_ARCHIVE_MAGIC = (
    (b"7z\xbc\xaf\x27\x1c", FileType.SEVEN_ZIP),
    (b"Rar!\x1a\x07", FileType.RAR),
    (b"MSCF\x00\x00\x00\x00", FileType.CAB),
)
_LZH_METHOD = re.compile(rb"-(lh[0-7d]|lz[s45])-")


def _archive_by_magic(head: bytes) -> FileType | None:
    """Archives whose members may be stored as they are, recognised by their own signature
    (7z, RAR and CAB at the start, LZH's method at offset 2, tar's ustar at 257)."""
    for signature, file_type in _ARCHIVE_MAGIC:
        if head.startswith(signature):
            return file_type
    if _LZH_METHOD.fullmatch(head[2:7]):
        return FileType.LZH
    if head[257:262] == b"ustar":
        return FileType.TAR
    return None

# A saved mail (.eml) starts with header fields up to a blank line, among them From: and
# one of Date:, Subject:, MIME-Version:, Message-ID:. libmagic calls some of them text.
_HEADER_LINE = re.compile(rb"[!-9;-~]{1,76}:[^\r\n]*|[ \t][^\r\n]*")
_MAIL_FIELDS = re.compile(rb"^(?:date|subject|mime-version|message-id):", re.I | re.M)


def _looks_like_mail(head: bytes) -> bool:
    header, blank, _body = head[:65536].replace(b"\r\n", b"\n").partition(b"\n\n")
    lines = header.split(b"\n")
    if not blank or not lines[0][:1].isalpha():
        return False
    if not all(_HEADER_LINE.fullmatch(line) for line in lines):
        return False
    return re.search(rb"^from:", header, re.I | re.M) is not None and _MAIL_FIELDS.search(header) is not None


_magic = magic.Magic(mime=True)
_magic_text = magic.Magic()


def _zip_type(stream: BinaryIO) -> tuple[FileType, bool, list[Finding]]:
    """Which kind of ZIP: an Office package, an OpenDocument, a Java or Android program, or
    an archive. Only the directory and at most two small members are read; the limits are
    the sanitizer's to apply, so that a bomb is quarantined as one, not as unknown."""
    try:
        reader = read_directory(stream)
    except MalformedInput:
        return FileType.UNKNOWN, False, [Finding("malformed-zip", "the ZIP directory is damaged")]
    try:
        return _zip_kind(reader)
    except SanitizeError:  # a member that names the kind is damaged: no kind, and no crash
        return FileType.UNKNOWN, reader.encrypted, [Finding("malformed-zip", "a member naming its kind is damaged")]


def _zip_kind(reader: ZipReader) -> tuple[FileType, bool, list[Finding]]:
    encrypted = reader.encrypted
    names = {info.filename for info in reader.entries}
    content_types = reader.find("[Content_Types].xml")
    if content_types is not None:
        if content_types.file_size > 4 << 20 or is_encrypted(content_types):
            return FileType.UNKNOWN, encrypted, [Finding("malformed-ooxml", "[Content_Types].xml")]
        for match in _OVERRIDE_RE.finditer(_small_member(reader, content_types)):
            kind = _OOXML_MAIN.get(match.group(1).decode("ascii", "replace"))
            if kind:
                return kind, encrypted, []
        return FileType.UNKNOWN, encrypted, [Finding("unknown-ooxml", "no known main part")]
    mimetype = reader.find("mimetype")
    if mimetype is not None and mimetype.file_size < 200 and not is_encrypted(mimetype):
        kind = _ODF.get(_small_member(reader, mimetype).strip())
        if kind:
            return kind, encrypted, []
    if "META-INF/MANIFEST.MF" in names and any(n.endswith(".class") for n in names):
        return FileType.EXECUTABLE, encrypted, [Finding("java-archive")]
    if "AndroidManifest.xml" in names and "classes.dex" in names:
        return FileType.EXECUTABLE, encrypted, [Finding("android-package")]
    return FileType.ZIP, encrypted, []


def _small_member(reader: ZipReader, info: ZipInfo) -> bytes:
    """A member detection needs (content types, ODF mimetype), capped at 4 MiB inflated."""
    return reader.read(info, 4 << 20)


def _legacy_encrypted(stream: BinaryIO) -> bool:
    """RC4 / CryptoAPI encryption of a .doc, .xls or .ppt, as msoffcrypto-tool sees it."""
    import msoffcrypto

    stream.seek(0)
    try:
        return bool(msoffcrypto.OfficeFile(stream).is_encrypted())
    except Exception:  # noqa: BLE001 - a damaged file is judged by its converter later
        return False


def _ole_type(stream: BinaryIO) -> tuple[FileType, bool, list[Finding]]:
    import olefile

    try:
        ole = olefile.OleFileIO(stream)
    except Exception:  # noqa: BLE001 - olefile raises many kinds on hostile input
        return FileType.UNKNOWN, False, [Finding("malformed-ole", "the OLE directory is damaged")]
    try:
        streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=True)}
    finally:
        ole.close()
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        return FileType.ENCRYPTED_OFFICE, True, [Finding("encrypted", "OOXML EncryptedPackage")]
    for marker, kind in (
        ("worddocument", FileType.DOC),
        ("workbook", FileType.XLS),
        ("book", FileType.XLS),
        ("powerpoint document", FileType.PPT),
    ):
        if marker in streams:
            return kind, _legacy_encrypted(stream), []
    if any(_ichitaro_stream(s) for s in streams):
        return FileType.ICHITARO, False, []
    if any(s.startswith("__substg1.0_") for s in streams):
        return FileType.MSG, False, []
    if any("msi" in s or s.startswith("\x05summaryinformation") for s in streams) and any(
        s.startswith("\u4840") for s in streams
    ):
        return FileType.EXECUTABLE, False, [Finding("windows-installer")]
    return FileType.UNKNOWN, False, [Finding("unknown-ole", ", ".join(sorted(streams))[:200])]


def _ichitaro_stream(path: str) -> bool:
    """一太郎 (8 and later) keeps JSRV_* information streams in every storage, behind a
    control-character prefix, and a compressed document (.jtdc) in JSCompDocument."""
    name = path.rsplit("/", 1)[-1].lstrip("".join(map(chr, range(32))))
    return name.startswith("jsrv_") or name == "jscompdocument"


def _text_type(head: bytes, mime: str, extension: str) -> FileType:
    if mime in _SCRIPT_MIMES or _SCRIPT_START.search(head[:4096]):
        return FileType.SCRIPT
    if mime == "text/html" or re.search(rb"<(?:!doctype\s+html|html[\s>])", head[:2048], re.I):
        return FileType.HTML  # its scripts go with the markup: HTML becomes plain text
    if script_language(head):
        return FileType.SCRIPT
    if extension in (".csv", ".tsv") or mime in ("text/csv", "application/csv"):
        return FileType.CSV
    return FileType.TEXT


_C0_BUT_LINE_ENDS = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _com_guess_over_text(head: bytes, mime: str) -> bool:
    """Whether libmagic's "DOS executable (COM)" is a guess about Japanese text. A .COM
    program has no header, so libmagic guesses from a first byte that is a common x86
    instruction (0x8C, 0xB8, 0xE9…) — and Shift_JIS text starting with 件, 県, 見 or ｸ
    begins with one: 「件名,金額」 in a CSV was held as a disguised program, its notice
    telling staff not to open it. Machine code is full of control bytes; text that has none
    but line ends and decodes as the text sanitizer decodes it is text (rebuilt as such,
    which reads every byte again; under a program's name it is still a script)."""
    if mime != "application/x-dosexec" or head.startswith(b"MZ") or _C0_BUT_LINE_ENDS.search(head):
        return False
    from cdr.sanitizers.text import decode  # one guess for detection and the text path

    sample = head if len(head) < HEAD_BYTES else head[: head.rfind(b"\n") + 1]  # a line end is a character boundary
    try:
        decode(sample)
    except MalformedInput:
        return False
    return bool(sample)


def _looks_textual(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True  # UTF-16 with a BOM
    sample = head[:65536]
    return bool(sample) and (b"\x00" not in sample or _utf16_codec(head) is not None)


def _utf16_codec(head: bytes) -> str | None:
    """UTF-16 that lost its BOM (libmagic calls it data), judged as the text family judges it."""
    from cdr.sanitizers.text import utf16_without_bom  # one rule for detection and decoding

    return utf16_without_bom(head if len(head) < HEAD_BYTES else head[:65536])


def _as_utf8(head: bytes) -> bytes:
    """The head re-encoded as UTF-8 when it is UTF-16 without a BOM, so the markup and
    script patterns below see its characters, not every other byte a NUL."""
    codec = _utf16_codec(head) if b"\x00" in head[:65536] else None
    if codec is None:
        return head
    return head[:65536].decode(codec, errors="ignore").encode("utf-8")


def _gzipped_svg(head: bytes) -> bool:
    """A gzip stream whose first unpacked bytes open an SVG document (an .svgz); at most
    4 KiB is unpacked, so a bomb costs nothing here."""
    try:
        start = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 4096)
    except zlib.error:
        return False
    return bool(_SVG_START.match(start))


_SVG_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>]", re.S)


def identify(stream: BinaryIO, name: str) -> Detection:
    """Identify what ``stream`` really is; ``name`` is only compared, never trusted."""
    stream.seek(0)
    head = stream.read(HEAD_BYTES)
    extension = PurePath(name).suffix.lower()
    if not head:
        return Detection(
            FileType.UNKNOWN,
            "application/x-empty",
            "empty file",
            findings=(Finding("empty", "the file is empty"),),
        )
    mime = _magic.from_buffer(head)
    description = _magic_text.from_buffer(head)[:300]
    encrypted = False
    findings: list[Finding] = []
    if (
        head.startswith(b"PK\x03\x04")
        or head.startswith(b"PK\x05\x06")
        or mime in ("application/zip", "application/x-zip-compressed")
    ):
        stream.seek(0)
        file_type, encrypted, findings = _zip_type(stream)
    elif head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        stream.seek(0)
        file_type, encrypted, findings = _ole_type(stream)
    elif _archive_by_magic(head) is not None:
        # before the PDF test: a stored archive whose first member is a PDF has "%PDF-"
        # within its first 1024 bytes, and would be taken for (and rebuilt as) that PDF
        file_type = _archive_by_magic(head) or FileType.UNKNOWN
    elif b"%PDF-" in head[:1024]:
        file_type = FileType.PDF
    elif head.lstrip().startswith(b"{\\rt"):
        file_type = FileType.RTF
    elif head.startswith(_DOCUWORKS_MAGIC):
        file_type = FileType.DOCUWORKS
    elif _XML_SPREADSHEET.match(head[:8192]) and b"<!DOCTYPE" not in head[:8192].upper():
        file_type = FileType.XML_SPREADSHEET
    elif mime in _MIME_TYPES and mime not in ("text/html", "text/csv", "application/csv"):
        file_type = _MIME_TYPES[mime]
    elif _com_guess_over_text(head, mime):
        file_type = _text_type(head, "text/plain", extension)
    elif mime in _EXECUTABLE_MIMES or head.startswith(
        (b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")
    ):
        file_type = FileType.EXECUTABLE
    elif head.startswith(b"L\x00\x00\x00\x01\x14\x02\x00"):
        file_type = FileType.SHORTCUT
    elif head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"(\xb5/\xfd")):
        file_type = FileType.GZIP
    elif (
        mime.startswith("text/")
        or mime in _SCRIPT_MIMES
        or (mime in ("application/octet-stream", "application/json") and _looks_textual(head))
    ):
        text_head = _as_utf8(head)
        file_type = FileType.EML if _looks_like_mail(text_head) else _text_type(text_head, mime, extension)
    elif _SVG_START.match(head[:4096]):
        file_type = FileType.SVG
    else:
        file_type = FileType.UNKNOWN
    if file_type == FileType.EML and EXTENSION_CLAIMS.get(extension) in (FileType.TEXT, FileType.CSV):
        file_type = _text_type(head, "text/plain", extension)  # a mail saved as memo.txt is the text it shows
    if (
        file_type in (FileType.TEXT, FileType.CSV)
        and extension in (".svg", ".svgz")
        and b"<svg" in head[:4096]
    ):
        file_type = FileType.SVG
    if file_type == FileType.GZIP and extension == ".svgz" and _gzipped_svg(head):
        file_type = FileType.SVG  # SVG's own compressed form; the SVG rebuild unpacks it within its cap
    if file_type == FileType.ICHITARO and EXTENSION_CLAIMS.get(extension) == FileType.HANAKO:
        # 花子 keeps its documents in the same JustSystems container (JSRV_ streams) as
        # 一太郎; the name tells the two apart, and both are held alike (no converter).
        file_type = FileType.HANAKO
    if file_type in (FileType.TEXT, FileType.CSV, FileType.HTML) and EXTENSION_CLAIMS.get(extension) in (
        FileType.SCRIPT,
        FileType.EXECUTABLE,
    ):
        # Text named .js, .vbs, .ps1, .bat… is a script by intent, whatever it starts with.
        file_type = FileType.SCRIPT
    if encrypted:
        findings.append(Finding("encrypted", "the container is encrypted"))
    mismatch = extension_mismatch(file_type, extension)
    if mismatch:
        findings.append(mismatch)
    taken = taken_as(file_type, extension)
    if taken == FileType.HTML_SPREADSHEET:
        charset = html_charset(head, whole=len(head) < HEAD_BYTES)
        if charset:
            findings.append(Finding(HTML_CHARSET, charset))
    return Detection(taken, mime, description, encrypted, tuple(findings))


_CHARSET_DECLARED = re.compile(rb"<meta\s[^>]*charset\s*=", re.I)
_CHARSET_NAMES = {"utf-8": "UTF-8", "cp932": "Shift_JIS", "euc_jp": "EUC-JP"}


def html_charset(head: bytes, whole: bool) -> str | None:
    """The encoding of an HTML table that does not declare one (no BOM, no meta charset),
    guessed as the text sanitizer guesses (UTF-8, else the likelier of CP932 and EUC-JP);
    None when it declares one or is no Japanese text at all."""
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or _CHARSET_DECLARED.search(head[:8192]):
        return None
    from cdr.sanitizers.text import decode  # one guess for the text path and the converter

    sample = head if whole else head[: head.rfind(b"\n") + 1]  # a line end is a character boundary
    try:
        _, encoding = decode(sample)
    except MalformedInput:
        return None
    return _CHARSET_NAMES.get(encoding)


def taken_as(content: FileType, extension: str) -> FileType:
    """What content under this name is rebuilt as: an HTML table named .xls is a
    spreadsheet, text named .xlsx a CSV (``cdr.types.TAKEN_AS``); anything else is itself."""
    claimed = EXTENSION_CLAIMS.get(extension)
    if claimed is None:
        return content
    return TAKEN_AS.get((row(claimed).category, content), content)


# Categories that never carry active content, so naming one as another is merely sloppy
# (a PNG called .jpg); everything else named as a harmless type is suspicious.
_HARMLESS_CLAIMS = {
    Category.IMAGE,
    Category.TEXT,
    Category.PDF,
    Category.WORD,
    Category.EXCEL,
    Category.POWERPOINT,
    Category.OPENDOCUMENT,
    Category.DOCUMENT,
}


def extension_mismatch(file_type: FileType, extension: str) -> Finding | None:
    """A finding when the name claims something other than what the content is.

    It is ``suspicious`` when the name claims a harmless category but the content is an
    executable, script, archive or another document kind — the default policy quarantines
    exactly those — unless honest software saves that content under that name
    (``cdr.types.TAKEN_AS``: an HTML table or a CSV named .xls).
    """
    claimed = EXTENSION_CLAIMS.get(extension)
    if claimed is None or claimed == file_type:
        return None
    actual = row(file_type)
    if extension == actual.extension or extension in actual.aliases:
        return None
    claimed_category = row(claimed).category
    same_family = claimed_category == actual.category and actual.category in (Category.IMAGE, Category.TEXT)
    # docx named .doc and the like: the same application opens both, not suspicious.
    same_app = claimed_category == actual.category and actual.category in (
        Category.WORD,
        Category.EXCEL,
        Category.POWERPOINT,
    )
    honest = (claimed_category, file_type) in TAKEN_AS
    suspicious = claimed_category in _HARMLESS_CLAIMS and not (same_family or same_app or honest)
    detail = f"the name says {extension} ({claimed.value}) but the content is {file_type.value}"
    return Finding(EXTENSION_MISMATCH, detail, suspicious=suspicious)


def identify_bytes(data: bytes, name: str) -> Detection:
    return identify(io.BytesIO(data), name)
