"""What made an output: cdr and the libraries and programs that shape what it writes.

The cache of verified outputs (``cdr.cache``) keys every entry by it, so an upgrade of any
of them — or a changed checkout of cdr itself — never serves an output the new engine
would not make. Read once per process and cheap: distribution metadata, file sizes and
times, no program started (``tesseract --version`` alone costs 0.3 s).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import sys
import zlib
from pathlib import Path

import cdr

# The Python distributions whose code shapes an output (each wheel carries its own C
# libraries: libjpeg in Pillow, libxml2 in lxml, pdfium in pypdfium2, libheif in pillow-heif).
ENGINE_DISTRIBUTIONS = (
    "pikepdf",
    "pillow",
    "pillow-heif",
    "lxml",
    "oletools",
    "olefile",
    "msoffcrypto-tool",
    "pypdfium2",
    "nh3",
    "resvg-py",
    "libarchive-c",
    "py7zr",
)
TESSDATA = Path("/usr/share/tesseract-ocr")  # the language data shapes the OCR text layer


@functools.cache
def version() -> dict[str, str]:
    """What made an output, read once per process: cdr (its version and a digest of its own
    source, so a changed checkout is a new engine even before the version moves), Python and
    zlib, the parser distributions, and the system libraries and programs they call."""
    engine = {
        "cdr": f"{cdr.__version__}+{_source_digest()}",
        "python": sys.version.split()[0],
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
    }
    for distribution in ENGINE_DISTRIBUTIONS:
        try:
            engine[distribution] = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            engine[distribution] = "absent"
    # the converters' own paths, imported here: `cdr cache stats` never reads the engine
    from cdr.converters.libreoffice import SOFFICE
    from cdr.converters.ocr import TESSERACT

    engine["qpdf"] = _qpdf_version()
    engine["libarchive"] = _fingerprint(*_libraries("libarchive.so"))
    engine["libreoffice"] = _fingerprint(*_program_files(Path(SOFFICE), "versionrc", "libmergedlo.so"))
    engine["tesseract"] = _fingerprint(Path(TESSERACT), *sorted(TESSDATA.rglob("*.traineddata")))
    return engine


def digest() -> str:
    """The engine as one short value for a cache key (``version`` is looked up each time, so
    a test can stand another engine in for it)."""
    return hashlib.sha256(json.dumps(version(), sort_keys=True).encode()).hexdigest()


def _source_digest() -> str:
    digest = hashlib.sha256()
    package = Path(cdr.__file__).parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _qpdf_version() -> str:
    try:
        import pikepdf  # the parent imports it anyway (cdr.flow)

        return str(pikepdf.__libqpdf_version__)
    except ImportError:
        return "absent"


def _libraries(prefix: str) -> list[Path]:
    folders = (Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib/aarch64-linux-gnu"), Path("/usr/lib"))
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob(prefix + "*"))]


def _program_files(program: Path, *names: str) -> list[Path]:
    """The files beside a program's real binary that change with its version."""
    folder = program.resolve().parent
    return [folder / name for name in names]


def _fingerprint(*paths: Path) -> str:
    """Name, size and modification time of each file (a package upgrade changes them): as
    good as a version number, without starting the program (tesseract --version costs 0.3 s)."""
    seen = []
    for path in paths:
        try:
            info = path.stat()
        except OSError:
            continue
        seen.append(f"{path.resolve().name}:{info.st_size}:{info.st_mtime_ns}")
    if not seen:
        return "absent"
    return hashlib.sha256("\n".join(seen).encode()).hexdigest()[:16]
