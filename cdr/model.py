"""Plain frozen values passed forward between the steps of the flow.

``Job`` → detect → ``Detection`` → policy → ``Decision`` → sandbox → ``SanitizeResult``
→ verify → ``Verdict``. Every value that crosses the sandbox boundary is rebuilt from
JSON by its schema in ``cdr.wire`` (bounded, cleaned), never unpickled.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class Category(str, enum.Enum):
    """What a file *is* to a person; extension mismatches are judged between categories."""

    PDF = "pdf"
    IMAGE = "image"
    WORD = "word"
    EXCEL = "excel"
    POWERPOINT = "powerpoint"
    MAIL = "mail"
    OPENDOCUMENT = "opendocument"
    TEXT = "text"
    ARCHIVE = "archive"
    EXECUTABLE = "executable"
    SCRIPT = "script"
    OTHER = "other"


class FileType(str, enum.Enum):
    PDF = "pdf"
    JPEG = "jpeg"
    PNG = "png"
    GIF = "gif"
    BMP = "bmp"
    TIFF = "tiff"
    WEBP = "webp"
    HEIC = "heic"
    SVG = "svg"
    DOCX = "docx"
    DOCM = "docm"
    DOTX = "dotx"
    DOTM = "dotm"
    XLSX = "xlsx"
    XLSM = "xlsm"
    XLTX = "xltx"
    XLTM = "xltm"
    PPTX = "pptx"
    PPTM = "pptm"
    POTX = "potx"
    POTM = "potm"
    PPSX = "ppsx"
    PPSM = "ppsm"
    DOC = "doc"
    XLS = "xls"
    PPT = "ppt"
    MSG = "msg"
    RTF = "rtf"
    ODT = "odt"
    ODS = "ods"
    ODP = "odp"
    ENCRYPTED_OFFICE = "encrypted-office"
    ZIP = "zip"
    SEVEN_ZIP = "7z"
    RAR = "rar"
    GZIP = "gzip"
    TAR = "tar"
    TEXT = "text"
    CSV = "csv"
    HTML = "html"
    EXECUTABLE = "executable"
    SCRIPT = "script"
    SHORTCUT = "shortcut"
    DISK_IMAGE = "disk-image"
    UNKNOWN = "unknown"


# Office Open XML packages the OOXML rebuild reads (documents, templates, shows).
OOXML_TYPES = frozenset(
    {
        FileType.DOCX,
        FileType.DOCM,
        FileType.DOTX,
        FileType.DOTM,
        FileType.XLSX,
        FileType.XLSM,
        FileType.XLTX,
        FileType.XLTM,
        FileType.PPTX,
        FileType.PPTM,
        FileType.POTX,
        FileType.POTM,
        FileType.PPSX,
        FileType.PPSM,
    }
)
# Formats LibreOffice converts to OOXML before that rebuild.
CONVERTED_TYPES = frozenset(
    {FileType.DOC, FileType.XLS, FileType.PPT, FileType.RTF, FileType.ODT, FileType.ODS, FileType.ODP}
)


@dataclass(frozen=True)
class TypeInfo:
    category: Category
    extension: str  # canonical, with the dot
    aliases: tuple[str, ...] = ()


_I = TypeInfo
C = Category
TYPE_INFO: dict[FileType, TypeInfo] = {
    FileType.PDF: _I(C.PDF, ".pdf"),
    FileType.JPEG: _I(C.IMAGE, ".jpg", (".jpeg", ".jpe", ".jfif")),
    FileType.PNG: _I(C.IMAGE, ".png"),
    FileType.GIF: _I(C.IMAGE, ".gif"),
    FileType.BMP: _I(C.IMAGE, ".bmp", (".dib",)),
    FileType.TIFF: _I(C.IMAGE, ".tif", (".tiff",)),
    FileType.WEBP: _I(C.IMAGE, ".webp"),
    FileType.HEIC: _I(C.IMAGE, ".heic", (".heif", ".hif")),
    FileType.SVG: _I(C.IMAGE, ".svg", (".svgz",)),
    FileType.DOCX: _I(C.WORD, ".docx"),
    FileType.DOCM: _I(C.WORD, ".docm"),
    FileType.DOTX: _I(C.WORD, ".dotx"),
    FileType.DOTM: _I(C.WORD, ".dotm"),
    FileType.XLSX: _I(C.EXCEL, ".xlsx"),
    FileType.XLSM: _I(C.EXCEL, ".xlsm"),
    FileType.XLTX: _I(C.EXCEL, ".xltx"),
    FileType.XLTM: _I(C.EXCEL, ".xltm"),
    FileType.PPTX: _I(C.POWERPOINT, ".pptx"),
    FileType.PPTM: _I(C.POWERPOINT, ".pptm"),
    FileType.POTX: _I(C.POWERPOINT, ".potx"),
    FileType.POTM: _I(C.POWERPOINT, ".potm"),
    FileType.PPSX: _I(C.POWERPOINT, ".ppsx"),
    FileType.PPSM: _I(C.POWERPOINT, ".ppsm"),
    FileType.DOC: _I(C.WORD, ".doc", (".dot",)),
    FileType.XLS: _I(C.EXCEL, ".xls", (".xlt",)),
    FileType.PPT: _I(C.POWERPOINT, ".ppt", (".pot", ".pps")),
    FileType.MSG: _I(C.MAIL, ".msg"),
    FileType.RTF: _I(C.WORD, ".rtf"),
    FileType.ODT: _I(C.OPENDOCUMENT, ".odt"),
    FileType.ODS: _I(C.OPENDOCUMENT, ".ods"),
    FileType.ODP: _I(C.OPENDOCUMENT, ".odp"),
    FileType.ENCRYPTED_OFFICE: _I(C.OTHER, ".bin"),
    FileType.ZIP: _I(C.ARCHIVE, ".zip"),
    FileType.SEVEN_ZIP: _I(C.ARCHIVE, ".7z"),
    FileType.RAR: _I(C.ARCHIVE, ".rar"),
    FileType.GZIP: _I(C.ARCHIVE, ".gz", (".tgz",)),
    FileType.TAR: _I(C.ARCHIVE, ".tar"),
    FileType.TEXT: _I(C.TEXT, ".txt", (".text", ".log", ".md", ".tsv", ".prn", ".csv")),
    FileType.CSV: _I(C.TEXT, ".csv", (".txt", ".tsv")),
    FileType.HTML: _I(C.TEXT, ".html", (".htm",)),
    FileType.EXECUTABLE: _I(C.EXECUTABLE, ".bin", (".exe", ".dll", ".scr", ".com", ".msi", ".elf")),
    FileType.SCRIPT: _I(C.SCRIPT, ".sh", (".bat", ".cmd", ".ps1", ".vbs", ".js", ".py")),
    FileType.SHORTCUT: _I(C.EXECUTABLE, ".lnk", (".url",)),
    FileType.DISK_IMAGE: _I(C.ARCHIVE, ".iso", (".img", ".vhd", ".vhdx", ".dmg")),
    FileType.UNKNOWN: _I(C.OTHER, ".bin"),
}

# Extensions that claim a type: used to judge whether content and name agree.
EXTENSION_CLAIMS: dict[str, FileType] = {}
for _t, _info in TYPE_INFO.items():
    for _ext in (_info.extension, *_info.aliases):
        EXTENSION_CLAIMS.setdefault(_ext, _t)
EXTENSION_CLAIMS.update({".txt": FileType.TEXT, ".csv": FileType.CSV, ".bin": FileType.UNKNOWN})
for _ext in (".exe", ".dll", ".scr", ".com", ".msi", ".cpl", ".sys", ".elf", ".so"):
    EXTENSION_CLAIMS[_ext] = FileType.EXECUTABLE
for _ext in (
    ".sh",
    ".bat",
    ".cmd",
    ".ps1",
    ".psm1",
    ".vbs",
    ".vbe",
    ".js",
    ".jse",
    ".wsf",
    ".wsh",
    ".hta",
    ".py",
    ".pl",
    ".rb",
    ".php",
    ".jar",
):
    EXTENSION_CLAIMS[_ext] = FileType.SCRIPT


class Action(str, enum.Enum):
    REBUILD = "rebuild"
    PIXELS = "pixels"
    TEXT = "text"
    BLOCK = "block"


@dataclass(frozen=True)
class Finding:
    """Something a detector saw: active content, a mismatch, an oddity."""

    kind: str
    detail: str = ""
    count: int = 1


@dataclass(frozen=True)
class Detection:
    file_type: FileType
    mime: str
    description: str
    encrypted: bool = False
    findings: tuple[Finding, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "file_type": self.file_type.value,
            "mime": self.mime,
            "description": self.description,
            "encrypted": self.encrypted,
            "findings": [asdict(f) for f in self.findings],
        }


@dataclass(frozen=True)
class Decision:
    """What the policy says to do with one detected file."""

    action: Action
    file_type: FileType
    output_type: FileType | None
    reason: str | None = None


@dataclass(frozen=True)
class ActionTaken:
    """One line of what a sanitizer did: ``{"what": "vba-macros", "action": "removed"}``."""

    what: str
    action: str
    count: int = 1


@dataclass(frozen=True)
class SanitizeResult:
    output_type: FileType
    actions: tuple[ActionTaken, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "output_type": self.output_type.value,
            "actions": [asdict(a) for a in self.actions],
            "details": self.details,
        }


class Outcome(str, enum.Enum):
    RELEASED = "released"
    QUARANTINED = "quarantined"


@dataclass
class Verdict:
    """The end of one file's life, as reported on a ``--json`` result line."""

    id: str
    input: str
    sha256: str
    size: int
    type: str | None
    verdict: Outcome
    output: str | None = None
    output_sha256: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    message: str | None = None
    quarantine_id: str | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    duration_ms: int = 0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict.value
        return out
