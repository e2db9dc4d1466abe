"""The one catalogue of file types: a row per type says everything the flow needs to know.

What a person calls it (category, extensions), what a policy may choose for it, what a
rebuild turns it into, which sanitizer family rebuilds it, whether LibreOffice converts it
first, which Pillow codec decodes it, which MIME types name it inside an Office package,
and whether a password can open it. Every other table in the code (extension claims,
allowed actions, rebuild outputs, conversions, image codecs, picture types, the sanitizer
registry) is derived from these rows, so adding a format is one row here plus one
sanitizer module (docs/architecture.md has the checklist).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from cdr.model import Action, Category, FileType

A = Action
C = Category
BLOCK_ONLY = frozenset({A.BLOCK})
REBUILD_OR_BLOCK = frozenset({A.REBUILD, A.BLOCK})
TEXT_OR_BLOCK = frozenset({A.TEXT, A.BLOCK})


@dataclass(frozen=True)
class Conversion:
    """LibreOffice turns the type into an Office Open XML package before the rebuild."""

    filter: str  # the ``--convert-to`` argument
    to: FileType  # the package the filter writes, rebuilt like a dropped one
    # The import filter, when LibreOffice must not guess one from the bytes (HTML would
    # open in Writer/Web, and the import is held to the kind detect found)
    infilter: str | None = None
    # LibreOffice loads what the document links (HTML's <img src=http…>) while importing:
    # such a conversion runs only in the network-less sandbox, whatever sandbox.isolation says
    fetches_links: bool = False


@dataclass(frozen=True)
class TypeRow:
    file_type: FileType
    category: Category
    extension: str  # canonical, with the dot: what a released file is named
    aliases: tuple[str, ...] = ()  # other extensions that honestly name this type
    actions: frozenset[Action] = BLOCK_ONLY  # what a policy may choose (block always)
    rebuilds_to: FileType | None = None  # what a rebuild outputs, when not the type itself
    sanitizer: str | None = None  # the family in cdr/sanitizers/registry.py that handles it
    converter: Conversion | None = None  # converted by LibreOffice before the rebuild
    codecs: tuple[str, ...] = ()  # Pillow formats that may decode it; the first one encodes
    content_types: tuple[str, ...] = ()  # MIME types naming it as a picture in OOXML parts
    password: bool = False  # a password can open it (cdr quarantine unlock)
    decryptable: bool = False  # msoffcrypto-tool decrypts it before anything else
    # Nothing here can rebuild it (no converter exists): blocking it says "not supported,
    # ask for a PDF" (unsupported-type), not "a dangerous kind of file" (blocked-type)
    unsupported: bool = False
    text_as: FileType | None = None  # the type its text action reads it as, when another


WORD_OUT = Conversion("docx:MS Word 2007 XML", FileType.DOCX)
CALC_OUT = Conversion("xlsx:Calc MS Excel 2007 XML", FileType.XLSX)
IMPRESS_OUT = Conversion("pptx:Impress MS PowerPoint 2007 XML", FileType.PPTX)
# Imports that stay in Calc whatever the name says. The HTML import is LibreOffice's
# "HTML (StarCalc)": it runs no script (LibreOffice has no JavaScript engine) but fetches
# linked pictures over the network — outside the converter sandbox it did, in a test —
# so it runs only where there is no network (exec_sandbox: empty network namespace,
# sockets other than AF_UNIX refused). The XML 2003 import is an XSLT transformation,
# held to the same rule rather than trusted not to load what a document names.
HTML_TABLE_IN = Conversion(CALC_OUT.filter, FileType.XLSX, "HTML (StarCalc)", fetches_links=True)
XML_SPREADSHEET_IN = Conversion(CALC_OUT.filter, FileType.XLSX, "MS Excel 2003 XML", fetches_links=True)

T = FileType
R = TypeRow


def _image(t: FileType, ext: str, aliases: tuple[str, ...], codecs: tuple[str, ...], **kw: object) -> TypeRow:
    return R(t, C.IMAGE, ext, aliases, REBUILD_OR_BLOCK, sanitizer="image", codecs=codecs, **kw)  # type: ignore[arg-type]


def _ooxml(t: FileType, category: Category, ext: str, rebuilds_to: FileType | None = None) -> TypeRow:
    return R(t, category, ext, (), REBUILD_OR_BLOCK, rebuilds_to, "ooxml")


def _converted(
    t: FileType, category: Category, ext: str, aliases: tuple[str, ...], conversion: Conversion, legacy: bool
) -> TypeRow:
    # Legacy binary Office can carry Office encryption (RC4, CryptoAPI) that msoffcrypto opens.
    return R(
        t,
        category,
        ext,
        aliases,
        REBUILD_OR_BLOCK,
        conversion.to,
        "legacy",
        conversion,
        password=legacy,
        decryptable=legacy,
    )


_ROWS: tuple[TypeRow, ...] = (
    R(T.PDF, C.PDF, ".pdf", (), frozenset({A.REBUILD, A.PIXELS, A.TEXT, A.BLOCK}), sanitizer="pdf", password=True),
    # Pillow's JPEG opener also opens MPO (a phone's multi-picture JPEG); "MPO" has no opener
    # of its own, and naming it made every unreadable JPEG a KeyError instead of malformed.
    _image(T.JPEG, ".jpg", (".jpeg", ".jpe", ".jfif"), ("JPEG",), content_types=("image/jpeg",)),
    _image(T.PNG, ".png", (), ("PNG",), content_types=("image/png",)),
    _image(T.GIF, ".gif", (), ("GIF",), content_types=("image/gif",)),
    _image(T.BMP, ".bmp", (".dib",), ("BMP", "DIB"), content_types=("image/bmp",)),
    _image(T.TIFF, ".tif", (".tiff",), ("TIFF",), content_types=("image/tiff",)),
    _image(T.WEBP, ".webp", (), ("WEBP",)),
    _image(T.HEIC, ".heic", (".heif", ".hif"), ("HEIF", "AVIF"), rebuilds_to=T.JPEG),
    # Drawn into a PNG by resvg in the sandbox (cdr/sanitizers/svg.py): no SVG byte crosses
    R(T.SVG, C.IMAGE, ".svg", (".svgz",), frozenset({A.PIXELS, A.BLOCK}), sanitizer="svg"),
    _ooxml(T.DOCX, C.WORD, ".docx"),
    _ooxml(T.DOCM, C.WORD, ".docm", T.DOCX),
    _ooxml(T.DOTX, C.WORD, ".dotx"),
    _ooxml(T.DOTM, C.WORD, ".dotm", T.DOTX),
    _ooxml(T.XLSX, C.EXCEL, ".xlsx"),
    _ooxml(T.XLSM, C.EXCEL, ".xlsm", T.XLSX),
    _ooxml(T.XLTX, C.EXCEL, ".xltx"),
    _ooxml(T.XLTM, C.EXCEL, ".xltm", T.XLTX),
    _ooxml(T.PPTX, C.POWERPOINT, ".pptx"),
    _ooxml(T.PPTM, C.POWERPOINT, ".pptm", T.PPTX),
    _ooxml(T.POTX, C.POWERPOINT, ".potx"),
    _ooxml(T.POTM, C.POWERPOINT, ".potm", T.POTX),
    _ooxml(T.PPSX, C.POWERPOINT, ".ppsx"),
    _ooxml(T.PPSM, C.POWERPOINT, ".ppsm", T.PPSX),
    _converted(T.DOC, C.WORD, ".doc", (".dot",), WORD_OUT, legacy=True),
    _converted(T.XLS, C.EXCEL, ".xls", (".xlt",), CALC_OUT, legacy=True),
    _converted(T.PPT, C.POWERPOINT, ".ppt", (".pot", ".pps"), IMPRESS_OUT, legacy=True),
    _converted(T.RTF, C.WORD, ".rtf", (), WORD_OUT, legacy=False),
    _converted(T.ODT, C.OPENDOCUMENT, ".odt", (), WORD_OUT, legacy=False),
    _converted(T.ODS, C.OPENDOCUMENT, ".ods", (), CALC_OUT, legacy=False),
    _converted(T.ODP, C.OPENDOCUMENT, ".odp", (), IMPRESS_OUT, legacy=False),
    # Spreadsheets written as markup, never released as themselves (".xls" is only what
    # LibreOffice's copy is called). The text action reads an HTML table as HTML (its
    # visible text); a rebuild imports the table into Calc and rebuilds the .xlsx.
    R(
        T.HTML_SPREADSHEET,
        C.EXCEL,
        ".xls",
        (),
        frozenset({A.REBUILD, A.TEXT, A.BLOCK}),
        T.XLSX,
        "html",
        HTML_TABLE_IN,
        text_as=T.HTML,
    ),
    R(T.XML_SPREADSHEET, C.EXCEL, ".xls", (), REBUILD_OR_BLOCK, T.XLSX, "text", XML_SPREADSHEET_IN),
    # No converter for these exists (the notice asks the sender for a PDF)
    R(
        T.ICHITARO,
        C.DOCUMENT,
        ".jtd",
        (".jtt", ".jtdc", ".jttc", ".jaw", ".jbw", ".juw", ".jfw", ".jvw", ".jxw"),
        unsupported=True,
    ),
    R(T.DOCUWORKS, C.DOCUMENT, ".xdw", (".xbd",), unsupported=True),
    R(T.HANAKO, C.DOCUMENT, ".jhd", (), unsupported=True),
    # A mail is rebuilt as a new .eml (an Outlook .msg too) or, by the text action, as one
    # ZIP of a .txt of its headers and body and its rebuilt attachments (the guideline's
    # メールテキスト化); cdr/sanitizers/mail.py
    R(T.EML, C.MAIL, ".eml", (), frozenset({A.REBUILD, A.TEXT, A.BLOCK}), sanitizer="mail"),
    R(T.MSG, C.MAIL, ".msg", (), frozenset({A.REBUILD, A.TEXT, A.BLOCK}), T.EML, "mail"),
    # OOXML encrypted as a whole (an OLE wrapper round EncryptedPackage): what it holds is
    # decided by the decrypted content, so a rebuild's output is not known beforehand.
    R(T.ENCRYPTED_OFFICE, C.OTHER, ".bin", rebuilds_to=T.UNKNOWN, password=True, decryptable=True),
    R(T.ZIP, C.ARCHIVE, ".zip", (), REBUILD_OR_BLOCK, sanitizer="archive", password=True),
    # Read by libarchive (py7zr for a 7z with a password), repacked as a new ZIP
    R(T.SEVEN_ZIP, C.ARCHIVE, ".7z", (), REBUILD_OR_BLOCK, T.ZIP, "archive", password=True),
    R(T.RAR, C.ARCHIVE, ".rar", (), REBUILD_OR_BLOCK, T.ZIP, "archive"),
    R(T.GZIP, C.ARCHIVE, ".gz", (".tgz", ".bz2", ".tbz2", ".xz", ".txz"), REBUILD_OR_BLOCK, T.ZIP, "archive"),
    R(T.TAR, C.ARCHIVE, ".tar", (), REBUILD_OR_BLOCK, T.ZIP, "archive"),
    R(T.LZH, C.ARCHIVE, ".lzh", (".lha",), REBUILD_OR_BLOCK, T.ZIP, "archive"),
    R(T.CAB, C.ARCHIVE, ".cab", (), REBUILD_OR_BLOCK, T.ZIP, "archive"),
    R(T.TEXT, C.TEXT, ".txt", (".text", ".log", ".md", ".tsv", ".prn", ".csv"), TEXT_OR_BLOCK, sanitizer="text"),
    R(T.CSV, C.TEXT, ".csv", (".txt", ".tsv"), TEXT_OR_BLOCK, sanitizer="text"),
    # A web page: its visible text (text), or static HTML through cdr/htmlclean.py (rebuild)
    R(T.HTML, C.TEXT, ".html", (".htm",), frozenset({A.REBUILD, A.TEXT, A.BLOCK}), sanitizer="html"),
    R(T.EXECUTABLE, C.EXECUTABLE, ".bin", (".exe", ".dll", ".scr", ".com", ".msi", ".elf")),
    R(T.SCRIPT, C.SCRIPT, ".sh", (".bat", ".cmd", ".ps1", ".vbs", ".js", ".py")),
    R(T.SHORTCUT, C.EXECUTABLE, ".lnk", (".url",)),
    R(T.DISK_IMAGE, C.ARCHIVE, ".iso", (".img", ".vhd", ".vhdx", ".dmg")),
    R(T.UNKNOWN, C.OTHER, ".bin"),
)

CATALOGUE: Mapping[FileType, TypeRow] = MappingProxyType({row.file_type: row for row in _ROWS})


def row(file_type: FileType) -> TypeRow:
    return CATALOGUE[file_type]


def types_where(**wanted: object) -> frozenset[FileType]:
    """The types whose rows have every given field value, e.g. ``sanitizer="ooxml"``."""
    return frozenset(t for t, r in CATALOGUE.items() if all(getattr(r, k) == v for k, v in wanted.items()))


# ---- tables derived from the rows (read-only; edit the rows above, never these)
CONVERTED_TYPES = frozenset(t for t, r in CATALOGUE.items() if r.converter is not None)
PASSWORD_TYPES = types_where(password=True)
DECRYPTABLE = types_where(decryptable=True)
ALLOWED_ACTIONS: Mapping[FileType, frozenset[Action]] = MappingProxyType({t: r.actions for t, r in CATALOGUE.items()})
PICTURE_CONTENT_TYPES: Mapping[str, FileType] = MappingProxyType(
    {mime: t for t, r in CATALOGUE.items() for mime in r.content_types}
)

# What honest software saves under another kind's name: (the category the name claims,
# the content) → what the content is taken for. Web systems (e-Tax, 電子申請, banks,
# procurement) export an HTML table or a CSV as "Excel" (.xls, .xlsx), and Excel opens
# both after a warning, so their senders never notice. Such a name is not a disguise: the
# table is rebuilt as what it is and released under that type's extension.
TAKEN_AS: Mapping[tuple[Category, FileType], FileType] = MappingProxyType(
    {
        (C.EXCEL, T.HTML): T.HTML_SPREADSHEET,
        (C.EXCEL, T.CSV): T.CSV,
        (C.EXCEL, T.TEXT): T.CSV,
    }
)

# Extensions that claim a type: used to judge whether content and name agree. Aliases
# never override a canonical extension (".csv" is CSV's even though text also allows it);
# executables and scripts have more names than they are ever released under.
_EXECUTABLE_NAMES = (".exe", ".dll", ".scr", ".com", ".msi", ".cpl", ".sys", ".elf", ".so")
_SCRIPT_NAMES = (".sh", ".bat", ".cmd", ".ps1", ".psm1", ".vbs", ".vbe", ".js", ".jse", ".wsf", ".wsh",
                 ".hta", ".py", ".pl", ".rb", ".php", ".jar")


def _extension_claims() -> dict[str, FileType]:
    claims: dict[str, FileType] = {}
    for t, r in CATALOGUE.items():
        for ext in (r.extension, *r.aliases):
            claims.setdefault(ext, t)
    claims.update({".txt": T.TEXT, ".csv": T.CSV, ".bin": T.UNKNOWN})
    claims.update(dict.fromkeys(_EXECUTABLE_NAMES, T.EXECUTABLE))
    claims.update(dict.fromkeys(_SCRIPT_NAMES, T.SCRIPT))
    return claims


EXTENSION_CLAIMS: Mapping[str, FileType] = MappingProxyType(_extension_claims())


def rebuild_output(file_type: FileType) -> FileType:
    """What a rebuild of ``file_type`` is released as."""
    return CATALOGUE[file_type].rebuilds_to or file_type


def output_type(file_type: FileType, action: Action) -> FileType:
    """What ``action`` on ``file_type`` releases."""
    if action == A.TEXT and CATALOGUE[file_type].category == C.MAIL:
        return T.ZIP  # the mail's text and its rebuilt attachments together (sanitizers/mail.py)
    if action == A.TEXT:
        return T.CSV if file_type == T.CSV else T.TEXT
    if action == A.PIXELS:
        return T.PNG if file_type == T.SVG else T.PDF  # a drawing is one picture, not pages
    return rebuild_output(file_type)


def encoder(file_type: FileType) -> str:
    """The Pillow format a rebuilt image of ``file_type`` is written in."""
    return CATALOGUE[rebuild_output(file_type)].codecs[0]
