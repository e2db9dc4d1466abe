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
    # Documents of Japanese office software nothing here can rebuild (一太郎, DocuWorks)
    DOCUMENT = "document"
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
    EML = "eml"  # a saved Internet mail (message/rfc822)
    RTF = "rtf"
    ODT = "odt"
    ODS = "ods"
    ODP = "odp"
    # A table saved under a spreadsheet's name as HTML (web systems' "Excel" export, Excel's
    # own "Web page"), and Excel's XML Spreadsheet 2003: LibreOffice imports both into Calc
    HTML_SPREADSHEET = "html-spreadsheet"
    XML_SPREADSHEET = "xml-spreadsheet"
    ICHITARO = "ichitaro"
    HANAKO = "hanako"  # 花子, JustSystems' drawing program: its documents share 一太郎's container
    DOCUWORKS = "docuworks"
    ENCRYPTED_OFFICE = "encrypted-office"
    ZIP = "zip"
    SEVEN_ZIP = "7z"
    RAR = "rar"
    GZIP = "gzip"
    TAR = "tar"
    LZH = "lzh"
    CAB = "cab"
    TEXT = "text"
    CSV = "csv"
    HTML = "html"
    EXECUTABLE = "executable"
    SCRIPT = "script"
    SHORTCUT = "shortcut"
    DISK_IMAGE = "disk-image"
    UNKNOWN = "unknown"


class Action(str, enum.Enum):
    REBUILD = "rebuild"
    PIXELS = "pixels"
    TEXT = "text"
    BLOCK = "block"


# The finding detect records when a name and the content disagree: decide judges it, and
# verify does not hold it against an output (the name is the sender's, not the rebuild's).
EXTENSION_MISMATCH = "extension-mismatch"
# The finding detect records when an HTML table does not say its encoding (the web server
# said it in a header the saved file lost): its detail is the encoding guessed, which the
# converter is told, or LibreOffice reads Shift_JIS as Latin-1.
HTML_CHARSET = "html-charset"


@dataclass(frozen=True)
class Finding:
    """Something a detector saw: active content, a mismatch, an oddity."""

    kind: str
    detail: str = ""
    count: int = 1
    # An extension mismatch where the name claims a harmless kind of file and the content
    # is another (an executable called .pdf): the one a policy may quarantine for.
    suspicious: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "detail": self.detail, "count": self.count}
        if self.suspicious:  # only when set, so every other finding reads as it always has
            out["suspicious"] = True
        return out


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
            "findings": [f.to_json() for f in self.findings],
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
    cached: bool = False  # released from the cache of verified outputs (cdr/reuse.py)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["verdict"] = self.verdict.value
        return out
