"""An inspector for released files, written for the tests and independent of `cdr`.

It accepts only what it knows to be harmless and reports everything else as a finding
("part:where: what"). It imports nothing from `cdr`, so a blind spot of the appliance's own
verifier is not shared here. Being an allow-list, it is stricter than an attacker needs:
a finding means "not known harmless", and the catalogue treats it as an unsafe release.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from pathlib import Path

from tests.attacks.inspector.common import MAX_MEMBER, MAX_MEMBERS, dangerous_name, member_name
from tests.attacks.inspector.images import (
    inspect_bmp,
    inspect_gif,
    inspect_jpeg,
    inspect_png,
    inspect_tiff,
    inspect_webp,
)
from tests.attacks.inspector.ooxml import inspect_ooxml
from tests.attacks.inspector.pdf import inspect_pdf
from tests.attacks.inspector.text import decode_text, inspect_text

__all__ = ["decode_text", "inspect", "inspect_bytes"]


def inspect(path: Path) -> list[str]:
    """Findings for one released file, chosen by its content; its name is judged too."""
    return dangerous_name(path.name) + inspect_bytes(path.name, path.read_bytes())



def inspect_bytes(name: str, data: bytes, depth: int = 0) -> list[str]:
    if depth > 3:
        return [f"{name}: archive nested deeper than 3"]
    if data.startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return inspect_pdf(name, data)
    if data.startswith(b"PK\x03\x04") or data.startswith(b"PK\x05\x06"):
        return _inspect_zip_like(name, data, depth)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return inspect_png(name, data)
    if data.startswith(b"\xff\xd8"):
        return inspect_jpeg(name, data)
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return inspect_gif(name, data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return inspect_webp(name, data)
    if data[:2] == b"BM":
        return inspect_bmp(name, data)
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return inspect_tiff(name, data)
    if data.startswith((b"MZ", b"\x7fELF", b"\xd0\xcf\x11\xe0", b"{\\rtf", b"Rar!", b"7z\xbc\xaf", b"L\x00\x00\x00\x01\x14\x02")):
        return [f"{name}: executable, OLE, RTF or foreign archive released"]
    return inspect_text(name, data)


def _inspect_zip_like(name: str, data: bytes, depth: int) -> list[str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as error:
        return [f"{name}: unreadable ZIP: {error}"]
    if "[Content_Types].xml" in names:
        return inspect_ooxml(name, data)
    if "mimetype" in names and data[30:38] == b"mimetype":
        return [f"{name}: an OpenDocument package (cdr releases ODF only as converted OOXML)"]
    return inspect_zip(name, data, depth)



def inspect_zip(name: str, data: bytes, depth: int) -> list[str]:
    findings: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        seen: set[str] = set()
        if len(archive.infolist()) > MAX_MEMBERS:
            findings.append(f"{name}: {len(archive.infolist())} members (policy limit {MAX_MEMBERS})")
        for info in archive.infolist():
            member = f"{name}!{info.filename}"
            findings += member_name(member, info)
            if info.filename in seen:
                findings.append(f"{member}: duplicate member name")
            seen.add(info.filename)
            if info.is_dir():
                continue
            if info.file_size > MAX_MEMBER:
                findings.append(f"{member}: {info.file_size} bytes (bomb-sized)")
                continue
            if info.flag_bits & 1:
                continue  # reported by _member_name; its content cannot be judged
            try:
                content = archive.read(info)
            except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError) as error:
                findings.append(f"{member}: unreadable member: {error}")
                continue
            findings += inspect_bytes(member, content, depth + 1)
    return findings

