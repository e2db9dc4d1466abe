"""PDFs for the tests: a benign document made by LibreOffice (a real producer, with
Japanese CID fonts, a link and bookmarks), and hostile variants planted into it with
pikepdf, one attack each, so the suite documents every attack it defends against."""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from tests import builders

HTML = """<html><head><meta charset="utf-8"><title>熊の出没情報</title></head><body>
<h1>熊の出没情報 Bear sighting report</h1>
<p>令和六年十月、役場の裏山でツキノワグマが目撃されました。The bear was seen near the town hall.</p>
<p>Details: <a href="https://www.example.jp/kuma">https://www.example.jp/kuma</a></p>
<p><img src="map.png" width="200" height="150"></p>
<h2>Second section 第二章</h2>
<p style="page-break-before: always">Keep away from the forest path. 森の小道に近づかないでください。</p>
</body></html>"""


def libreoffice_pdf(work: Path) -> bytes:
    """Convert the HTML above with the real LibreOffice; a rotated third page is added."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "report.html").write_text(HTML, encoding="utf-8")
    (work / "map.png").write_bytes(builders.simple("PNG", (200, 150)))
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is needed for the PDF fixtures (make test installs it)"
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{work}/profile",
            "--convert-to",
            'pdf:writer_pdf_Export:{"ExportBookmarks":{"type":"boolean","value":"true"}}',
            "--outdir",
            str(work),
            str(work / "report.html"),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with pikepdf.open(work / "report.pdf") as pdf:
        pdf.pages.append(pdf.pages[0])
        pdf.pages[-1].obj["/Rotate"] = 90
        out = io.BytesIO()
        pdf.save(out)
    return out.getvalue()


@functools.cache
def libreoffice_report() -> bytes:
    """``libreoffice_pdf`` converted once per process: the PDF tests and the attack catalogue
    share it (each conversion costs LibreOffice's start-up, ~2 s)."""
    with tempfile.TemporaryDirectory(prefix="cdr-test-lo-") as work:
        return libreoffice_pdf(Path(work))


def _js(pdf: pikepdf.Pdf, code: str) -> Dictionary:
    return pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String(code)))


def _edit(data: bytes, change, **save_options) -> bytes:  # noqa: ANN001
    with pikepdf.open(io.BytesIO(data)) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out, **save_options)
        return out.getvalue()


def _annots(page: pikepdf.Page) -> Array:
    if "/Annots" not in page.obj:
        page.obj.Annots = Array()
    return page.obj.Annots


def _link(pdf: pikepdf.Pdf, page: pikepdf.Page, action: Dictionary) -> None:
    annot = pdf.make_indirect(
        Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=Array([50, 50, 200, 80]), A=action)
    )
    _annots(page).append(annot)


def js_everywhere(data: bytes) -> bytes:
    def plant(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OpenAction = _js(pdf, "app.alert('open')")
        pdf.Root.AA = Dictionary(WC=_js(pdf, "app.alert('close')"))
        pdf.pages[0].obj.AA = Dictionary(O=_js(pdf, "app.alert('page')"))
        _link(pdf, pdf.pages[0], _js(pdf, "app.launchURL('http://evil')"))
        if "/Names" not in pdf.Root:
            pdf.Root.Names = Dictionary()
        pdf.Root.Names.JavaScript = Dictionary(
            Names=Array([String("boot"), _js(pdf, "this.exportDataObject()")])
        )
        field = pdf.make_indirect(
            Dictionary(
                FT=Name.Tx,
                T=String("name"),
                Rect=Array([10, 10, 100, 30]),
                Type=Name.Annot,
                Subtype=Name.Widget,
                P=pdf.pages[0].obj,
                AA=Dictionary(K=_js(pdf, "event.value='x'")),
            )
        )
        _annots(pdf.pages[0]).append(field)
        pdf.Root.AcroForm = Dictionary(Fields=Array([field]))

    return _edit(data, plant)


def js_in_object_stream(data: bytes) -> bytes:
    def plant(pdf: pikepdf.Pdf) -> None:
        pdf.Root.OpenAction = _js(pdf, "app.alert('hidden in an object stream')")

    out = _edit(data, plant, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert b"app.alert" not in out  # really compressed away from a byte search
    return out


def incremental_open_action(data: bytes) -> bytes:
    """An incremental update appended to the file: a new catalog with an OpenAction."""
    base = _edit(data, lambda pdf: None, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    with pikepdf.open(io.BytesIO(base)) as pdf:
        root_num = pdf.Root.objgen[0]
        pages_num = pdf.Root.Pages.objgen[0]
        size = int(pdf.trailer.Size)
    prev = int(re.findall(rb"startxref\s+(\d+)", base)[-1])
    js_num = size
    body = bytearray(base)
    offsets = {}
    offsets[root_num] = len(body)
    body += f"{root_num} 0 obj\n<< /Type /Catalog /Pages {pages_num} 0 R /OpenAction {js_num} 0 R >>\nendobj\n".encode()
    offsets[js_num] = len(body)
    body += f"{js_num} 0 obj\n<< /S /JavaScript /JS (app.alert\\('update'\\)) >>\nendobj\n".encode()
    xref = len(body)
    body += b"xref\n"
    for num in sorted(offsets):
        body += f"{num} 1\n{offsets[num]:010d} 00000 n \n".encode()
    body += f"trailer\n<< /Size {size + 1} /Root {root_num} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(body)


def launch_cmd(data: bytes) -> bytes:
    def plant(pdf: pikepdf.Pdf) -> None:
        _link(
            pdf,
            pdf.pages[0],
            Dictionary(
                S=Name.Launch, F=String("cmd.exe"), Win=Dictionary(F=String("cmd.exe"), P=String("/c calc"))
            ),
        )

    return _edit(data, plant)


def embedded_exe(data: bytes) -> bytes:
    def plant(pdf: pikepdf.Pdf) -> None:
        spec = pikepdf.AttachedFileSpec(pdf, b"MZ" + b"\x90" * 512, mime_type="application/x-msdownload")
        pdf.attachments["invoice.exe"] = spec
        annot = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot, Subtype=Name.FileAttachment, Rect=Array([10, 10, 30, 30]), FS=spec.obj
            )
        )
        _annots(pdf.pages[0]).append(annot)

    return _edit(data, plant)


def xfa_form(data: bytes) -> bytes:
    def plant(pdf: pikepdf.Pdf) -> None:
        xdp = pikepdf.Stream(pdf, b"<xdp:xdp><script>xfa.host.messageBox('x')</script></xdp:xdp>")
        pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=pdf.make_indirect(xdp))

    return _edit(data, plant)


def richmedia(data: bytes) -> bytes:
    def plant(pdf: pikepdf.Pdf) -> None:
        content = Dictionary(Assets=Dictionary(Names=Array()), Configurations=Array())
        annot = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.RichMedia,
                Rect=Array([0, 0, 100, 100]),
                RichMediaContent=content,
            )
        )
        _annots(pdf.pages[0]).append(annot)

    return _edit(data, plant)


def javascript_link(data: bytes) -> bytes:
    def plant(pdf: pikepdf.Pdf) -> None:
        _link(pdf, pdf.pages[0], Dictionary(S=Name.URI, URI=String("javascript:app.alert(1)")))
        _link(pdf, pdf.pages[0], Dictionary(S=Name.URI, URI=String("file://///evil/share/x.exe")))

    return _edit(data, plant)


def zip_after_eof(data: bytes) -> bytes:
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("payload.exe", b"MZ" + b"\0" * 64)
    return data + payload.getvalue()


HOSTILE = {
    "js-everywhere": js_everywhere,
    "js-in-object-stream": js_in_object_stream,
    "incremental-open-action": incremental_open_action,
    "launch-cmd": launch_cmd,
    "embedded-exe": embedded_exe,
    "xfa": xfa_form,
    "richmedia": richmedia,
    "javascript-link": javascript_link,
    "zip-after-eof": zip_after_eof,
}


# ---------------------------------------------------------------- nested actions (issue #8)
# Actions hidden as direct dictionaries where a reader walking only the page, annotation
# and catalog keys never looks: ISO 32000-1 12.6 lets an action dictionary sit anywhere a
# dictionary may, and readers differ in which /A or /AA keys they honour.
def _first_page_resources(pdf: pikepdf.Pdf) -> Dictionary:
    page = pdf.pages[0].obj
    if "/Resources" not in page:
        page.Resources = Dictionary()
    return page.Resources


def _ensure(parent: Dictionary, key: str) -> Dictionary:
    if key not in parent:
        parent[key] = Dictionary()
    return parent[key]


def js_in_extgstate(data: bytes) -> bytes:
    """A graphics state whose soft mask's group carries /AA, and which itself holds /A."""

    def plant(pdf: pikepdf.Pdf) -> None:
        mask_group = pikepdf.Stream(pdf, b"0 g 0 0 10 10 re f", Type=Name.XObject, Subtype=Name.Form)
        mask_group.BBox = Array([0, 0, 10, 10])
        mask_group.AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String("app.alert('smask')")))
        _ensure(_first_page_resources(pdf), "/ExtGState").GSevil = Dictionary(
            Type=Name.ExtGState,
            CA=1,
            A=Dictionary(S=Name.JavaScript, JS=String("app.alert('gs')")),
            SMask=Dictionary(Type=Name.Mask, S=Name.Luminosity, G=pdf.make_indirect(mask_group)),
        )

    return _edit(data, plant)


def js_in_font(data: bytes) -> bytes:
    """Every font of page 1 gets a direct /A action and its descriptor an /AA."""

    def plant(pdf: pikepdf.Pdf) -> None:
        fonts = _first_page_resources(pdf).get("/Font")
        for name in list(fonts.keys()):
            font = fonts[name]
            font.A = Dictionary(S=Name.JavaScript, JS=String("app.alert('font')"))
            descendants = font.get("/DescendantFonts")
            target = descendants[0] if isinstance(descendants, Array) else font
            if "/FontDescriptor" in target:
                target.FontDescriptor.AA = Dictionary(
                    O=Dictionary(S=Name.Launch, F=String("cmd.exe"))
                )

    return _edit(data, plant)


def js_in_properties(data: bytes) -> bytes:
    """An optional-content group in /Resources /Properties with a JavaScript /A."""

    def plant(pdf: pikepdf.Pdf) -> None:
        _ensure(_first_page_resources(pdf), "/Properties").MC0 = Dictionary(
            Type=Name.OCG,
            Name=String("layer"),
            A=Dictionary(S=Name.JavaScript, JS=String("app.alert('ocg')")),
        )

    return _edit(data, plant)


def type3_glyph_action(data: bytes) -> bytes:
    """A Type 3 font whose glyph resources hold a form XObject with an /AA action."""

    def plant(pdf: pikepdf.Pdf) -> None:
        evil_form = pikepdf.Stream(pdf, b"", Type=Name.XObject, Subtype=Name.Form, BBox=Array([0, 0, 1, 1]))
        evil_form.AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String("app.alert('type3')")))
        glyph = pikepdf.Stream(pdf, b"1000 0 0 0 750 750 d1 0 0 750 750 re f /X0 Do")
        _ensure(_first_page_resources(pdf), "/Font").T3 = Dictionary(
            Type=Name.Font,
            Subtype=Name.Type3,
            FontBBox=Array([0, 0, 750, 750]),
            FontMatrix=Array([0.001, 0, 0, 0.001, 0, 0]),
            CharProcs=Dictionary(square=pdf.make_indirect(glyph)),
            Encoding=Dictionary(Type=Name.Encoding, Differences=Array([65, Name.square])),
            FirstChar=65,
            LastChar=65,
            Widths=Array([1000]),
            Resources=Dictionary(XObject=Dictionary(X0=pdf.make_indirect(evil_form))),
        )

    return _edit(data, plant)


def popup_launch(data: bytes) -> bytes:
    """A sticky note whose popup annotation launches cmd.exe (/A /Launch)."""

    def plant(pdf: pikepdf.Pdf) -> None:
        popup = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.Popup,
                Rect=Array([100, 100, 300, 200]),
                A=Dictionary(S=Name.Launch, Win=Dictionary(F=String("cmd.exe"), P=String("/c calc"))),
            )
        )
        note = pdf.make_indirect(
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.Text,
                Rect=Array([50, 700, 70, 720]),
                Contents=String("確認してください"),
                Popup=popup,
                BS=Dictionary(W=1, A=Dictionary(S=Name.JavaScript, JS=String("app.alert('bs')"))),
            )
        )
        popup.Parent = note
        _annots(pdf.pages[0]).extend([note, popup])

    return _edit(data, plant)


_ESCAPE_PLACEHOLDER = b"/XXXXXXXXXXXXXX"  # as long as /#4Aava#53cript


def uri_tricks(data: bytes) -> bytes:
    """A JavaScript: URI in mixed case behind spaces, and an action whose type is written
    with #xx escapes (/#4Aava#53cript is /JavaScript, ISO 32000-1 7.3.5)."""

    def plant(pdf: pikepdf.Pdf) -> None:
        _link(pdf, pdf.pages[0], Dictionary(S=Name.URI, URI=String("  JaVaScRiPt:app.alert(1)")))
        _link(pdf, pdf.pages[0], Dictionary(S=Name(_ESCAPE_PLACEHOLDER.decode()), JS=String("app.alert(2)")))

    out = _edit(data, plant, object_stream_mode=pikepdf.ObjectStreamMode.disable, compress_streams=False)
    assert out.count(_ESCAPE_PLACEHOLDER) == 1
    return out.replace(_ESCAPE_PLACEHOLDER, b"/#4Aava#53cript")


def flate_bomb(data: bytes, inflated: int = 300 * 2**20) -> bytes:
    """A content stream of a few hundred KiB that inflates to 300 MiB of blanks."""
    chunk = b" " * 2**20
    packed = builders.zlib_repeated(chunk, inflated // len(chunk))

    def plant(pdf: pikepdf.Pdf) -> None:
        bomb = pikepdf.Stream(pdf, packed)
        bomb.Filter = Name.FlateDecode
        page = pdf.pages[0].obj
        contents = page.Contents
        page.Contents = Array([*(contents if isinstance(contents, Array) else [contents]), bomb])

    return _edit(data, plant, stream_decode_level=pikepdf.StreamDecodeLevel.none)


def js_in_pattern_and_shading(data: bytes) -> bytes:
    """A tiling pattern whose resources hold a form with /AA, and a shading whose function
    dictionary carries an /A (8.7.3, 8.7.4.5: both are dictionaries a reader walks)."""

    def plant(pdf: pikepdf.Pdf) -> None:
        form = pikepdf.Stream(pdf, b"", Type=Name.XObject, Subtype=Name.Form, BBox=Array([0, 0, 1, 1]))
        form.AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String("app.alert('pattern')")))
        tile = pikepdf.Stream(pdf, b"0 0 5 5 re f /X0 Do")
        tile.PatternType, tile.PaintType, tile.TilingType = 1, 1, 1
        tile.BBox, tile.XStep, tile.YStep = Array([0, 0, 10, 10]), 10, 10
        tile.Resources = Dictionary(XObject=Dictionary(X0=pdf.make_indirect(form)))
        function = Dictionary(
            FunctionType=2, Domain=Array([0, 1]), C0=Array([0]), C1=Array([1]), N=1,
            A=Dictionary(S=Name.Launch, F=String("cmd.exe")),
        )  # fmt: skip
        shading = Dictionary(
            ShadingType=2, ColorSpace=Name.DeviceGray, Coords=Array([0, 0, 10, 0]), Function=function
        )
        resources = _first_page_resources(pdf)
        _ensure(resources, "/Pattern").P0 = pdf.make_indirect(tile)
        _ensure(resources, "/Shading").Sh0 = shading

    return _edit(data, plant)


def form_in_its_own_resources(data: bytes) -> bytes:
    """A form XObject that lists itself in its own resources, holding an /AA: a cycle."""

    def plant(pdf: pikepdf.Pdf) -> None:
        form = pdf.make_indirect(
            pikepdf.Stream(pdf, b"", Type=Name.XObject, Subtype=Name.Form, BBox=Array([0, 0, 1, 1]))
        )
        form.Resources = Dictionary(XObject=Dictionary(Self=form))
        form.AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String("app.alert('cycle')")))
        _ensure(_first_page_resources(pdf), "/XObject").Loop = form

    return _edit(data, plant)


NESTED = {
    "js-in-extgstate": js_in_extgstate,
    "js-in-font": js_in_font,
    "js-in-properties": js_in_properties,
    "type3-glyph-action": type3_glyph_action,
    "popup-launch": popup_launch,
    "uri-tricks": uri_tricks,
    "js-in-pattern-and-shading": js_in_pattern_and_shading,
    "form-in-its-own-resources": form_in_its_own_resources,
}
HOSTILE.update(NESTED)
