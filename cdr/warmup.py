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


def _warm_sanitizers(samples: dict[str, bytes]) -> None:
    """Run the real image and PDF rebuilds once on small pictures made here, so that their
    lazy imports and first-use set-up are shared by every child. Small on purpose: every
    megabyte the zygote keeps makes each fork slower, for every file of every type."""
    from PIL import Image

    from cdr.model import Action, FileType
    from cdr.policy import Policy
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.image import ImageSanitizer
    from cdr.sanitizers.pdf import PdfSanitizer

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
    PdfSanitizer().sanitize(io.BytesIO(samples["PDF"]), io.BytesIO(), ctx)
    PdfSanitizer().inspect(io.BytesIO(samples["PDF"]), ctx)
