from __future__ import annotations

from pathlib import Path

import pytest

from cdr.decide import decide
from cdr.detect import identify_bytes
from cdr.errors import Blocked, Encrypted, ExtensionMismatch
from cdr.model import FileType
from cdr.policy import Policy, parse_policy
from tests import builders


@pytest.mark.parametrize(
    "data,name,expected",
    [
        (builders.simple("PNG"), "a.png", FileType.PNG),
        (builders.simple("JPEG"), "a.jpg", FileType.JPEG),
        (builders.simple("GIF"), "a.gif", FileType.GIF),
        (builders.simple("BMP"), "a.bmp", FileType.BMP),
        (builders.simple("TIFF"), "a.tif", FileType.TIFF),
        (builders.simple("WEBP"), "a.webp", FileType.WEBP),
        (Path("/bin/ls").read_bytes(), "ls", FileType.EXECUTABLE),
        (b"MZ\x90\x00" + b"\0" * 200, "setup.exe", FileType.EXECUTABLE),
        (b"#!/usr/bin/env python\nimport os\n", "a.txt", FileType.SCRIPT),
        ("こんにちは\n".encode("cp932"), "a.txt", FileType.TEXT),
        (b"a,b\n1,2\n", "a.csv", FileType.CSV),
        (b"{\\rtf1\\ansi hello}", "a.rtf", FileType.RTF),
        (b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF", "a.pdf", FileType.PDF),
        (b"", "empty.txt", FileType.UNKNOWN),
    ],
)
def test_content_decides_type(data: bytes, name: str, expected: FileType) -> None:
    assert identify_bytes(data, name).file_type == expected


def test_png_named_jpg_is_a_mild_mismatch() -> None:
    detection = identify_bytes(builders.simple("PNG"), "photo.jpg")
    assert detection.file_type == FileType.PNG
    finding = next(f for f in detection.findings if f.kind == "extension-mismatch")
    assert not finding.detail.endswith("suspicious")
    assert decide(detection, Policy()).action.value == "rebuild"


def test_executable_named_jpg_is_quarantined_by_default() -> None:
    detection = identify_bytes(Path("/bin/ls").read_bytes(), "photo.jpg")
    with pytest.raises(ExtensionMismatch, match=r"\.jpg"):
        decide(detection, Policy())
    with pytest.raises(Blocked):  # even when mismatches are allowed, executables are blocked
        decide(detection, parse_policy("extension_mismatch: allow\n", "p"))


def test_encrypted_zip_is_refused() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "x")
    data = bytearray(buffer.getvalue())
    data[6] |= 1  # the general-purpose "encrypted" flag of the local header
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 8] |= 1
    detection = identify_bytes(bytes(data), "a.zip")
    assert detection.encrypted
    with pytest.raises((Encrypted, Blocked)):
        decide(detection, Policy())


@pytest.mark.parametrize("name", ["run.js", "start.vbs", "x.ps1", "go.bat", "tool.hta"])
def test_text_named_as_a_script_is_a_script(name: str) -> None:
    assert identify_bytes(b"WScript.Echo(1)\r\n", name).file_type == FileType.SCRIPT
