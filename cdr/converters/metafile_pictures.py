"""Inside LibreOffice's sandbox: draw the metafile pictures of a converted package as PNG.

LibreOffice keeps an embedded object of a .doc or .ppt as the object and its preview, a
Windows metafile (EMF/WMF). The rebuild removes the object and cannot draw a metafile
(Pillow draws none on Linux), so the place stayed empty. This job runs after the
conversion, in the same sandbox profile (no network, rlimits, seccomp, only /usr and the
job folder visible), under the system Python with nothing but its standard library: it
asks LibreOffice to draw each ``…/media/*.emf|wmf`` member as a page-sized PNG and adds it
to the package as ``<member>.png`` beside the metafile. Nothing else in the package
changes. The rebuild that follows treats the PNG like any picture (checked, cut to the
metafile's own frame, re-encoded); a package that was never converted carries no such
member unless its author put one there, and then it is just another picture.

    python3 -I metafile_pictures.py PACKAGE SOFFICE PROFILE_URL
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

MOST_PICTURES = 32  # an object-heavy file keeps the first ones drawn; the rest go as before
MOST_BYTES = 4 << 20  # per metafile, inflated
DRAWN_SUFFIX = ".png"
METAFILES = (".emf", ".wmf")


def is_metafile(head: bytes) -> bool:
    """An EMF header record, or a WMF header (placeable, or plain in memory or on disk).
    LibreOffice picks its import by content: anything else (text, say) would be drawn as
    a page of text, so only what starts as a metafile is handed to it."""
    emf = len(head) >= 44 and head[:4] == b"\x01\x00\x00\x00" and head[40:44] == b" EMF"
    placeable = head[:4] == b"\xd7\xcd\xc6\x9a"
    plain = len(head) >= 4 and head[:2] in (b"\x01\x00", b"\x02\x00") and head[2:4] == b"\x09\x00"
    return emf or placeable or plain


def metafile_members(package: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    found = []
    for info in package.infolist():
        if not info.filename.lower().endswith(METAFILES) or "/media/" not in info.filename:
            continue
        if info.file_size > MOST_BYTES or ".." in info.filename:
            continue
        with package.open(info) as member:
            if is_metafile(member.read(64)):
                found.append(info)
        if len(found) == MOST_PICTURES:
            break
    return found


def draw(package_path: Path, soffice: str, profile: str) -> int:
    """Add a drawn PNG for each metafile; the number added."""
    folder = package_path.parent / "metafiles"
    drawn_folder = package_path.parent / "metafiles-drawn"
    folder.mkdir()
    with zipfile.ZipFile(package_path) as package:
        members = metafile_members(package)
        sources = {}
        for number, info in enumerate(members):
            source = folder / f"m{number}{Path(info.filename).suffix.lower()}"
            source.write_bytes(package.read(info))
            sources[info.filename] = source
    if not sources:
        return 0
    subprocess.run(
        [soffice, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
         f"-env:UserInstallation={profile}", "--convert-to", "png", "--outdir", str(drawn_folder),
         *map(str, sources.values())],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    drawn = {name: drawn_folder / (source.stem + ".png") for name, source in sources.items()}
    drawn = {name: png for name, png in drawn.items() if png.is_file()}
    if not drawn:
        return 0
    rewritten = package_path.with_suffix(".drawn")
    with zipfile.ZipFile(package_path) as package, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as out:
        names = {info.filename for info in package.infolist()}
        for info in package.infolist():
            out.writestr(info, package.read(info))
        for name, png in drawn.items():
            if name + DRAWN_SUFFIX not in names:
                out.writestr(name + DRAWN_SUFFIX, png.read_bytes())
    os.replace(rewritten, package_path)
    return len(drawn)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: metafile_pictures.py PACKAGE SOFFICE PROFILE_URL")
    print(draw(Path(sys.argv[1]), sys.argv[2], sys.argv[3]))
