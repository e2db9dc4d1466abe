"""Warm the zygote before it forks: every lazy initialisation done once here is not paid
again by every child (Pillow imports its format plugins on first open, libmagic compiles
its patterns on first use, pdfium and qpdf set themselves up on first document).

Only trusted bytes made here, in memory, are parsed; nothing from outside is touched.
"""

from __future__ import annotations

import io


def warm_up() -> None:
    import magic
    import pikepdf
    import pypdfium2 as pdfium
    from PIL import Image

    Image.init()
    samples = {}
    for fmt in ("JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP"):
        buffer = io.BytesIO()
        Image.new("RGB", (16, 16), "white").save(buffer, fmt)
        samples[fmt] = buffer.getvalue()
        with Image.open(io.BytesIO(samples[fmt])) as image:
            image.load()
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer)
    samples["PDF"] = buffer.getvalue()
    with pikepdf.open(io.BytesIO(samples["PDF"])) as reopened:
        len(reopened.pages)
    document = pdfium.PdfDocument(samples["PDF"])
    document[0].render(scale=0.1).to_pil()
    document.close()
    _warm_sanitizers(samples)
    _warm_verifiers(samples)
    _warm_office()
    from cdr.detect import identify_bytes

    for name, data in (
        ("a.jpg", samples["JPEG"]),
        ("a.pdf", samples["PDF"]),
        ("a.txt", "テキスト\n".encode()),
        ("a.csv", b"a,b\n1,2\n"),
    ):
        identify_bytes(data, name)
    magic.from_buffer(b"warm")
    _return_free_memory()


def _return_free_memory() -> None:
    """Give freed heap back to the system before forking starts (glibc keeps it otherwise)."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if name:
        try:
            ctypes.CDLL(name).malloc_trim(0)
        except (OSError, AttributeError):
            pass  # not glibc: nothing to trim


def _warm_verifiers(samples: dict[str, bytes]) -> None:
    """Import every verifier and run the common ones once: each file is verified in a fresh
    child, and a verifier imported there (lxml's grammar tables, the OOXML and mail rules)
    cost that child about 20 ms of imports and page faults, more than the check itself."""
    from cdr.model import FileType
    from cdr.policy import Policy
    from cdr.verifiers import VerifyContext, verify_structure
    from cdr.verifiers.ooxml_xml import check_part  # noqa: F401 - imported lazily by the OOXML verifier

    ctx = VerifyContext(Policy(), "warm")
    for fmt, file_type in (("JPEG", FileType.JPEG), ("PNG", FileType.PNG), ("PDF", FileType.PDF)):
        verify_structure(file_type, io.BytesIO(samples[fmt]), ctx)
    verify_structure(FileType.TEXT, io.BytesIO("テキスト\n".encode()), ctx)


_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_MAIN = "application/vnd.openxmlformats-officedocument"


def _package(main: str, parts: dict[str, tuple[str, str]]) -> bytes:
    """A minimal OOXML package: content types, the package relationship to ``main``, parts."""
    import zipfile

    overrides = "".join(f'<Override PartName="/{name}" ContentType="{kind}"/>' for name, (kind, _) in parts.items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr(
            "[Content_Types].xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="{_CT}"><Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/>{overrides}</Types>',
        )
        package.writestr(
            "_rels/.rels",
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
            f'Type="{_DOC_REL}/officeDocument" Target="{main}"/></Relationships>',
        )
        for name, (_, body) in parts.items():
            package.writestr(name, body)
    return buffer.getvalue()


def _warm_office() -> None:
    """Rebuild and verify a small document and workbook made here: a child's first OOXML
    file otherwise pays the rebuild's first-use set-up (about 15 ms) on top of its work."""
    from cdr.model import Action, FileType
    from cdr.policy import Policy
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.ooxml import OoxmlSanitizer
    from cdr.verifiers import VerifyContext, verify_structure

    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    s = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    document = _package(
        "word/document.xml",
        {
            "word/document.xml": (
                f"{_MAIN}.wordprocessingml.document.main+xml",
                f'<w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>回覧</w:t></w:r></w:p></w:body></w:document>',
            )
        },
    )
    workbook = _package(
        "xl/workbook.xml",
        {
            "xl/workbook.xml": (
                f"{_MAIN}.spreadsheetml.sheet.main+xml",
                f'<workbook xmlns="{s}" xmlns:r="{_DOC_REL}"><sheets>'
                '<sheet name="一覧" sheetId="1" r:id="rId1"/></sheets></workbook>',
            ),
            "xl/_rels/workbook.xml.rels": (
                "application/vnd.openxmlformats-package.relationships+xml",
                f'<Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
                f'Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
            ),
            "xl/worksheets/sheet1.xml": (
                f"{_MAIN}.spreadsheetml.worksheet+xml",
                f'<worksheet xmlns="{s}"><sheetData><row r="1"><c r="A1"><v>1</v></c>'
                '<c r="B1"><f>SUM(A1:A1)</f><v>1</v></c></row></sheetData></worksheet>',
            ),
        },
    )
    policy = Policy()
    for data, file_type in ((document, FileType.DOCX), (workbook, FileType.XLSX)):
        out = io.BytesIO()
        OoxmlSanitizer().sanitize(io.BytesIO(data), out, Context(file_type, Action.REBUILD, "warm", policy))
        verify_structure(file_type, io.BytesIO(out.getvalue()), VerifyContext(policy, "warm"))


def _warm_sanitizers(samples: dict[str, bytes]) -> None:
    """Run the real image and PDF rebuilds once on small pictures made here, so that their
    lazy imports and first-use set-up are shared by every child. Small on purpose: every
    megabyte the zygote keeps makes each fork slower, for every file of every type."""
    from PIL import Image

    from cdr.model import Action, FileType
    from cdr.policy import Policy
    from cdr.sanitizers import pdf_warm
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.image import ImageSanitizer
    from cdr.sanitizers.pdf import PdfSanitizer
    from cdr.verifiers import VerifyContext, verify_structure

    policy = Policy()
    picture = Image.radial_gradient("L").resize((320, 240)).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    for fmt, file_type in (("JPEG", FileType.JPEG), ("PNG", FileType.PNG)):
        buffer = io.BytesIO()
        picture.save(buffer, fmt, exif=exif)
        ctx = Context(file_type, Action.REBUILD, "warm", policy)
        ImageSanitizer().sanitize(io.BytesIO(buffer.getvalue()), io.BytesIO(), ctx)
        ImageSanitizer().inspect(io.BytesIO(buffer.getvalue()), ctx)
    ctx = Context(FileType.PDF, Action.REBUILD, "warm.pdf", policy)
    # a page with one of each part (cdr/sanitizers/pdf_warm.py), rebuilt and verified:
    # a blank page leaves the fonts, links, forms, tags and drawings to each child
    rebuilt = io.BytesIO()
    PdfSanitizer().sanitize(io.BytesIO(pdf_warm.sample()), rebuilt, ctx)
    verify_structure(FileType.PDF, io.BytesIO(rebuilt.getvalue()), VerifyContext(policy, "warm.pdf"))
    PdfSanitizer().inspect(io.BytesIO(samples["PDF"]), ctx)
