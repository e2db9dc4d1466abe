"""What made an output: cdr and the libraries and programs that shape what it writes.

The cache of verified outputs (``cdr.cache``) keys every entry by it, so an upgrade of any
of them — or a changed checkout of cdr itself — never serves an output the new engine
would not make. What a process loads (cdr, Python, the parser distributions, libmagic) is
read once per process; what is read from disk at each use (LibreOffice and Tesseract, which
run as programs, and libmagic's database) is fingerprinted again at most once a second
(``cdr.cache.engine_digest``), so an upgrade under a running watcher changes the key within a
second. Cheap: distribution metadata, file
sizes, inodes and times, no program started (``tesseract --version`` alone costs 0.3 s).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import sys
import time
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
    "python-magic",  # libmagic's answer decides a type, and what an archive's member is verified as
    "defusedxml",
    "pyzipper",
)
# libmagic's compiled database (Debian's, and the paths that name it) and the local additions
MAGIC_DATABASES = (Path("/usr/lib/file/magic.mgc"), Path("/etc/magic"))
TESSDATA = Path("/usr/share/tesseract-ocr")  # the language data shapes the OCR text layer
LANGUAGES_SECONDS = 60.0  # how long a look for language files holds (a new language: a minute)


@functools.cache
def version() -> dict[str, str]:
    """What made an output, read once per process: cdr (its version and a digest of its own
    source, so a changed checkout is a new engine even before the version moves), Python and
    zlib, the parser distributions, the system libraries they call, and the programs as they
    were at the start (``programs`` reads those again for every key)."""
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
    engine["qpdf"] = _qpdf_version()
    engine["libmagic"] = _libmagic_version()
    engine["libarchive"] = _fingerprint(*_libraries("libarchive.so"))
    return {**engine, **programs()}


def programs() -> dict[str, str]:
    """The programs and data read from disk at each use, fingerprinted now (a few stats)."""
    # the converters' own paths, imported here: `cdr cache stats` never reads the engine
    from cdr.converters.libreoffice import SOFFICE
    from cdr.converters.ocr import TESSERACT

    return {
        "libreoffice": _fingerprint(*_program_files(Path(SOFFICE), "versionrc", "libmergedlo.so")),
        "tesseract": _fingerprint(Path(TESSERACT), *_language_data()),
        "magic.mgc": _fingerprint(*MAGIC_DATABASES),
    }


def digest() -> str:
    """The engine as one short value for a cache key: what the process loaded (``version``,
    looked up each time so a test can stand another engine in for it) with the programs as
    they are on disk now, which override the start's."""
    return hashlib.sha256(json.dumps({**version(), **programs()}, sort_keys=True).encode()).hexdigest()


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


_languages: tuple[float, list[Path]] = (float("-inf"), [])


def _language_data() -> list[Path]:
    """Tesseract's language files, looked for again once a minute (a walk of the folder costs
    ten times the stats of what it finds; a replaced file is seen at once by its stat)."""
    global _languages
    found_at, found = _languages
    now = time.monotonic()
    if now - found_at > LANGUAGES_SECONDS:
        found = sorted(TESSDATA.rglob("*.traineddata"))
        _languages = (now, found)
    return found


def _libmagic_version() -> str:
    try:
        import magic  # cdr.detect imports it anyway

        return str(magic.version())
    except (ImportError, AttributeError, OSError):
        return "absent"


def _libraries(prefix: str) -> list[Path]:
    folders = (Path("/usr/lib/x86_64-linux-gnu"), Path("/usr/lib/aarch64-linux-gnu"), Path("/usr/lib"))
    return [path for folder in folders if folder.is_dir() for path in sorted(folder.glob(prefix + "*"))]


def _program_files(program: Path, *names: str) -> list[Path]:
    """The files beside a program's real binary that change with its version."""
    folder = program.resolve().parent
    return [folder / name for name in names]


def _fingerprint(*paths: Path) -> str:
    """Name, size, inode and modification time of each file (a package upgrade replaces the
    file, so all change): as good as a version number, without starting the program
    (tesseract --version costs 0.3 s)."""
    seen = []
    for path in paths:
        try:
            info = os.stat(path)  # the file a link names: a link moved to another is another inode
        except OSError:
            continue
        seen.append(f"{path.name}:{info.st_size}:{info.st_ino}:{info.st_mtime_ns}")
    if not seen:
        return "absent"
    return hashlib.sha256("\n".join(seen).encode()).hexdigest()[:16]
