"""What an Office Open XML rebuild may keep: the allow-list tables (ECMA-376 Part 1 and 2).

A part is copied only when the relationship that reaches it is on ``KEPT`` for the role
of the part it starts from (the package root, a WordprocessingML, SpreadsheetML or
PresentationML part, or a graphic part such as a drawing, chart or theme) and the
target's content type is one ``KEPT`` lists for that relationship. Relationship types are
matched as whole URIs (transitional, strict and the Microsoft extension namespaces),
never by their last segment, so ``http://evil.example/officeDocument`` is nothing.

Elements are matched by namespace family (transitional and strict URIs map to the same
short name) and local name; ``KNOWN_NAMESPACES`` lists the vocabularies that may appear
in a released part — everything in another namespace is dropped.
"""

from __future__ import annotations

import re

from cdr.model import FileType
from cdr.sanitizers.pdf_inspect import mailto_headers_allowed
from cdr.types import PICTURE_CONTENT_TYPES

OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
STRICT_REL = "http://purl.oclc.org/ooxml/officeDocument/relationships/"
PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/"
_MS = "http://schemas.microsoft.com/office/"
# Relationship types Microsoft added outside the ECMA-376 base, by their full URI.
_MICROSOFT_KINDS = {
    _MS + "2007/relationships/stylesWithEffects": "stylesWithEffects",
    _MS + "2011/relationships/commentsExtended": "commentsExtended",
    _MS + "2016/09/relationships/commentsIds": "commentsIds",
    _MS + "2018/08/relationships/commentsExtensible": "commentsExtensible",
    _MS + "2011/relationships/people": "people",
    _MS + "2007/relationships/diagramDrawing": "diagramDrawing",
    _MS + "2011/relationships/chartStyle": "chartStyle",
    _MS + "2011/relationships/chartColorStyle": "chartColorStyle",
    _MS + "2017/10/relationships/threadedComment": "threadedComment",
    _MS + "2017/10/relationships/person": "person",
    _MS + "2007/relationships/slicer": "slicer",
    _MS + "2007/relationships/slicerCache": "slicerCache",
    _MS + "2011/relationships/timeline": "timeline",
    _MS + "2011/relationships/timelineCache": "timelineCache",
    _MS + "2018/10/relationships/authors": "authors",
    _MS + "2018/10/relationships/comments": "modernComment",
    # how LibreOffice spells the core-properties type
    "http://schemas.openxmlformats.org/officedocument/2006/relationships/metadata/core-properties": "core-properties",
}

_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml."
_SML = "application/vnd.openxmlformats-officedocument.spreadsheetml."
_PML = "application/vnd.openxmlformats-officedocument.presentationml."
_DML = "application/vnd.openxmlformats-officedocument.drawingml."
_OD = "application/vnd.openxmlformats-officedocument."

# A macro-enabled main part is read, and written as its macro-free twin.
MACRO_FREE_MAIN = {
    "application/vnd.ms-word.document.macroenabled.main+xml": _WML + "document.main+xml",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": _WML + "template.main+xml",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": _SML + "sheet.main+xml",
    "application/vnd.ms-excel.template.macroenabled.main+xml": _SML + "template.main+xml",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": _PML + "presentation.main+xml",
    "application/vnd.ms-powerpoint.template.macroenabled.main+xml": _PML + "template.main+xml",
    "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml": _PML + "slideshow.main+xml",
}
_MAIN_TYPES = frozenset(MACRO_FREE_MAIN) | frozenset(MACRO_FREE_MAIN.values())
# How each picture type an Office part may name (PICTURE_CONTENT_TYPES) begins.
_PICTURE_MAGIC = {
    FileType.PNG: (b"\x89PNG\r\n\x1a\n",),
    FileType.JPEG: (b"\xff\xd8\xff",),
    FileType.GIF: (b"GIF87a", b"GIF89a"),
    FileType.BMP: (b"BM",),
    FileType.TIFF: (b"II*\x00", b"MM\x00*"),
}

WORD, EXCEL, POWERPOINT, GRAPHIC, PACKAGE = "word", "excel", "powerpoint", "graphic", "package"
_DOCUMENTS = frozenset({WORD, EXCEL, POWERPOINT})
_ANY_PART = frozenset({WORD, EXCEL, POWERPOINT, GRAPHIC})


def _row(roles: frozenset[str] | set[str], *content_types: str) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(roles), frozenset(c.lower() for c in content_types)


# relationship kind → (roles of the source part it may start from, target content types)
KEPT: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "officeDocument": _row({PACKAGE}, *_MAIN_TYPES),
    "core-properties": _row({PACKAGE}, "application/vnd.openxmlformats-package.core-properties+xml"),
    "extended-properties": _row({PACKAGE}, _OD + "extended-properties+xml"),
    "custom-properties": _row({PACKAGE}, _OD + "custom-properties+xml"),
    "styles": _row({WORD, EXCEL}, _WML + "styles+xml", _SML + "styles+xml"),
    "stylesWithEffects": _row({WORD}, "application/vnd.ms-word.stylesWithEffects+xml"),
    "settings": _row({WORD}, _WML + "settings+xml"),
    "webSettings": _row({WORD}, _WML + "webSettings+xml"),
    "fontTable": _row({WORD}, _WML + "fontTable+xml"),
    "numbering": _row({WORD}, _WML + "numbering+xml"),
    "footnotes": _row({WORD}, _WML + "footnotes+xml"),
    "endnotes": _row({WORD}, _WML + "endnotes+xml"),
    "header": _row({WORD}, _WML + "header+xml"),
    "footer": _row({WORD}, _WML + "footer+xml"),
    "comments": _row(_DOCUMENTS, _WML + "comments+xml", _SML + "comments+xml", _PML + "comments+xml"),
    "commentsExtended": _row({WORD}, _WML + "commentsExtended+xml"),
    "commentsIds": _row({WORD}, _WML + "commentsIds+xml"),
    "commentsExtensible": _row({WORD}, _WML + "commentsExtensible+xml"),
    "people": _row({WORD}, _WML + "people+xml"),
    "theme": _row(_DOCUMENTS, _OD + "theme+xml"),
    "themeOverride": _row(_ANY_PART, _OD + "themeOverride+xml"),
    "image": _row(_ANY_PART, *PICTURE_CONTENT_TYPES),
    "chart": _row(_ANY_PART, _DML + "chart+xml"),
    "chartUserShapes": _row({GRAPHIC}, _DML + "chartshapes+xml"),
    "chartStyle": _row({GRAPHIC}, "application/vnd.ms-office.chartstyle+xml"),
    "chartColorStyle": _row({GRAPHIC}, "application/vnd.ms-office.chartcolorstyle+xml"),
    "diagramData": _row(_ANY_PART, _DML + "diagramData+xml"),
    "diagramLayout": _row(_ANY_PART, _DML + "diagramLayout+xml"),
    "diagramQuickStyle": _row(_ANY_PART, _DML + "diagramStyle+xml"),
    "diagramColors": _row(_ANY_PART, _DML + "diagramColors+xml"),
    "diagramDrawing": _row(_ANY_PART, "application/vnd.ms-office.drawingml.diagramDrawing+xml"),
    "worksheet": _row({EXCEL}, _SML + "worksheet+xml"),
    "chartsheet": _row({EXCEL}, _SML + "chartsheet+xml"),
    "sharedStrings": _row({EXCEL}, _SML + "sharedStrings+xml"),
    "calcChain": _row({EXCEL}, _SML + "calcChain+xml"),
    "table": _row({EXCEL}, _SML + "table+xml"),
    "pivotTable": _row({EXCEL}, _SML + "pivotTable+xml"),
    "pivotCacheDefinition": _row({EXCEL}, _SML + "pivotCacheDefinition+xml"),
    "pivotCacheRecords": _row({EXCEL}, _SML + "pivotCacheRecords+xml"),
    "sheetMetadata": _row({EXCEL}, _SML + "sheetMetadata+xml"),
    "drawing": _row({EXCEL}, _OD + "drawing+xml"),
    "vmlDrawing": _row({EXCEL}, _OD + "vmlDrawing"),  # cell comments are drawn in VML
    "threadedComment": _row({EXCEL}, "application/vnd.ms-excel.threadedcomments+xml"),
    "person": _row({EXCEL}, "application/vnd.ms-excel.person+xml"),
    "slicer": _row({EXCEL}, "application/vnd.ms-excel.slicer+xml"),
    "slicerCache": _row({EXCEL}, "application/vnd.ms-excel.slicerCache+xml"),
    "timeline": _row({EXCEL}, "application/vnd.ms-excel.timeline+xml"),
    "timelineCache": _row({EXCEL}, "application/vnd.ms-excel.timelineCache+xml"),
    "slide": _row({POWERPOINT}, _PML + "slide+xml"),
    "slideLayout": _row({POWERPOINT}, _PML + "slideLayout+xml"),
    "slideMaster": _row({POWERPOINT}, _PML + "slideMaster+xml"),
    "notesSlide": _row({POWERPOINT}, _PML + "notesSlide+xml"),
    "notesMaster": _row({POWERPOINT}, _PML + "notesMaster+xml"),
    "handoutMaster": _row({POWERPOINT}, _PML + "handoutMaster+xml"),
    "presProps": _row({POWERPOINT}, _PML + "presProps+xml"),
    "viewProps": _row({POWERPOINT}, _PML + "viewProps+xml"),
    "tableStyles": _row({POWERPOINT}, _PML + "tableStyles+xml"),
    "commentAuthors": _row({POWERPOINT}, _PML + "commentAuthors+xml"),
    "tags": _row({POWERPOINT}, _PML + "tags+xml"),
    "authors": _row({POWERPOINT}, "application/vnd.ms-powerpoint.authors+xml"),
    "modernComment": _row({POWERPOINT}, "application/vnd.ms-powerpoint.comments+xml"),
}
_OFFICE_KINDS = frozenset(KEPT) | frozenset({"hyperlink"})


def relationship_kind(type_uri: str) -> str | None:
    """The kind of a relationship type this rebuild knows, or None for anything else."""
    for base in (OFFICE_REL, STRICT_REL):
        if type_uri.startswith(base) and type_uri[len(base) :] in _OFFICE_KINDS:
            return type_uri[len(base) :]
    if type_uri.startswith(PACKAGE_REL) and type_uri[len(PACKAGE_REL) :] == "core-properties":
        return "core-properties"
    return _MICROSOFT_KINDS.get(type_uri)


def role_of(content_type: str) -> str:
    """The role a source part plays, from its content type ("" is the package root)."""
    lowered = content_type.lower()
    if not lowered:
        return PACKAGE
    for marker, role in (
        ("wordprocessingml", WORD),
        ("ms-word", WORD),
        ("spreadsheetml", EXCEL),
        ("ms-excel", EXCEL),
        ("presentationml", POWERPOINT),
        ("ms-powerpoint", POWERPOINT),
    ):
        if marker in lowered:
            return role
    return GRAPHIC


def kept_target(kind: str | None, source_content_type: str, target_content_type: str) -> bool:
    if kind is None or kind not in KEPT:
        return False
    roles, content_types = KEPT[kind]
    return role_of(source_content_type) in roles and target_content_type.lower() in content_types


def picture_matches(data: bytes, content_type: str) -> bool:
    """The picture starts the way the format its content type names starts."""
    file_type = PICTURE_CONTENT_TYPES.get(content_type.lower())
    return file_type is not None and data.startswith(_PICTURE_MAGIC[file_type])


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")


def hyperlink_allowed(target: str, schemes: tuple[str, ...]) -> bool:
    """A plain web or mail link: a listed scheme, and for the web a real host after //."""
    match = _SCHEME.match(target)
    if not match or match.group(1).lower() not in schemes or any(ord(c) < 0x20 or c == "\x7f" for c in target):
        return False  # a control character hides the rest of an address from the reader
    rest = target[match.end() :]
    if match.group(1).lower() in ("http", "https"):
        return rest.startswith("//") and len(rest) > 2 and rest[2] not in "/\\"
    return "\\" not in rest and (match.group(1).lower() != "mailto" or mailto_headers_allowed(rest))


# -------------------------------------------------------------------- namespaces
_T = "http://schemas.openxmlformats.org/"
_S = "http://purl.oclc.org/ooxml/"
# namespace URI → the short family name elements are matched by
FAMILY = {
    _T + "wordprocessingml/2006/main": "w",
    _S + "wordprocessingml/main": "w",
    _T + "spreadsheetml/2006/main": "s",
    _S + "spreadsheetml/main": "s",
    _T + "presentationml/2006/main": "p",
    _S + "presentationml/main": "p",
    _T + "drawingml/2006/main": "a",
    _S + "drawingml/main": "a",
    _T + "drawingml/2006/chart": "c",
    _S + "drawingml/chart": "c",
    _T + "drawingml/2006/chartDrawing": "cdr",
    _S + "drawingml/chartDrawing": "cdr",
    _T + "drawingml/2006/diagram": "dgm",
    _S + "drawingml/diagram": "dgm",
    _T + "drawingml/2006/picture": "pic",
    _S + "drawingml/picture": "pic",
    _T + "drawingml/2006/wordprocessingDrawing": "wp",
    _S + "drawingml/wordprocessingDrawing": "wp",
    _T + "drawingml/2006/spreadsheetDrawing": "xdr",
    _S + "drawingml/spreadsheetDrawing": "xdr",
    _T + "drawingml/2006/lockedCanvas": "lc",
    _T + "drawingml/2006/compatibility": "comp",
    _T + "officeDocument/2006/relationships": "r",
    _S + "officeDocument/relationships": "r",
    _T + "officeDocument/2006/math": "m",
    _S + "officeDocument/math": "m",
    _T + "officeDocument/2006/extended-properties": "ep",
    _S + "officeDocument/extendedProperties": "ep",
    _T + "officeDocument/2006/custom-properties": "op",
    _S + "officeDocument/customProperties": "op",
    _T + "officeDocument/2006/docPropsVTypes": "vt",
    _S + "officeDocument/docPropsVTypes": "vt",
    _T + "officeDocument/2006/sharedTypes": "st",
    _S + "officeDocument/sharedTypes": "st",
    _T + "officeDocument/2006/bibliography": "b",
    _T + "markup-compatibility/2006": "mc",
    _T + "package/2006/metadata/core-properties": "cp",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://purl.org/dc/terms/": "dcterms",
    "http://purl.org/dc/dcmitype/": "dcmitype",
    "http://www.w3.org/2001/XMLSchema-instance": "xsi",
    "http://www.w3.org/XML/1998/namespace": "xml",
    "urn:schemas-microsoft-com:vml": "v",
    "urn:schemas-microsoft-com:office:office": "o",
    "urn:schemas-microsoft-com:office:word": "w10",
    "urn:schemas-microsoft-com:office:excel": "x",
    "urn:schemas-microsoft-com:office:powerpoint": "pvml",
    _MS + "excel/2006/main": "xm",
}
# Later Office versions' extensions (w14…w16, x14, p14…): formatting, ids, revision marks.
_EXTENSIONS = (
    "word/2010/wordml word/2012/wordml word/2015/wordml/symex word/2016/wordml/cid word/2018/wordml "
    "word/2018/wordml/cex word/2020/wordml/sdtdatahash word/2023/wordml/word16du word/2024/wordml/sdtformatlock "
    "word/2010/wordprocessingShape word/2010/wordprocessingGroup word/2010/wordprocessingCanvas "
    "word/2010/wordprocessingInk word/2010/wordprocessingDrawing drawing/2010/main drawing/2014/main "
    "drawing/2016/11/main drawing/2017/decorative drawing/2007/8/2/chart drawing/2012/chart "
    "drawing/2014/chart drawing/2014/chartex drawing/2008/diagram drawing/2010/diagram drawing/2010/slicer "
    "drawing/2012/timeslicer drawing/2013/main/command drawing/2018/hyperlinkcolor drawing/2018/sketchyshapes "
    "drawing/2016/5/10/chartex drawing/2016/5/11/chartex drawing/2016/5/12/chartex drawing/2016/5/13/chartex "
    "drawing/2016/5/14/chartex drawing/2021/livefeed drawing/2020/mipLabelMetadata "
    "spreadsheetml/2009/9/main spreadsheetml/2009/9/ac spreadsheetml/2010/11/main spreadsheetml/2010/11/ac "
    "spreadsheetml/2014/revision spreadsheetml/2015/revision2 spreadsheetml/2016/revision3 "
    "spreadsheetml/2016/revision5 spreadsheetml/2016/revision6 spreadsheetml/2016/revision9 "
    "spreadsheetml/2016/revision10 spreadsheetml/2016/revision16 spreadsheetml/2017/richdata "
    "spreadsheetml/2017/richdata2 spreadsheetml/2018/threadedcomments spreadsheetml/2014/11/main "
    "spreadsheetml/2018/calcfeatures mac/excel/2008/main "
    "powerpoint/2010/main powerpoint/2012/main powerpoint/2015/09/main powerpoint/2015/10/main "
    "powerpoint/2016/sectionzoom powerpoint/2016/summaryzoom powerpoint/2017/3/main powerpoint/2017/10/main "
    "powerpoint/2018/4/main powerpoint/2018/8/main powerpoint/2019/9/main powerpoint/2019/12/main "
    "powerpoint/2020/02/main powerpoint/2021/06/main powerpoint/2022/03/main powerpoint/2013/main/command "
    "powerpoint/2018/6/main thememl/2012/main "
    "drawing/2012/chartStyle drawing/2016/ink drawing/2015/06/chart drawing/2017/03/chart drawing/2016/11/diagram drawing/2016/12/diagram spreadsheetml/2017/revision16 spreadsheetml/2015/02/main spreadsheetml/2017/dynamicarray spreadsheetml/2011/1/ac spreadsheetml/2016/01/main"
).split()
KNOWN_NAMESPACES = frozenset(FAMILY) | frozenset(_MS + path for path in _EXTENSIONS)
