from __future__ import annotations

from pathlib import Path

import pytest

from cdr import wire
from cdr.decide import decide
from cdr.detect import identify_bytes
from cdr.errors import BadAnswer, Blocked, Encrypted, ExtensionMismatch
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
    assert not finding.suspicious and "suspicious" not in finding.to_json()
    assert decide(detection, Policy()).action.value == "rebuild"


def test_executable_named_jpg_is_quarantined_by_default() -> None:
    detection = identify_bytes(Path("/bin/ls").read_bytes(), "photo.jpg")
    finding = next(f for f in detection.findings if f.kind == "extension-mismatch")
    assert finding.suspicious and finding.to_json()["suspicious"] is True
    with pytest.raises(ExtensionMismatch, match=r"\.jpg") as raised:
        decide(detection, Policy())
    assert str(raised.value) == "the name says .jpg (jpeg) but the content is executable"
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


def test_the_suspicion_crosses_the_sandbox_as_a_field() -> None:
    """The parent reads a child's detection by its schema: the flag survives, a detail
    that merely says "suspicious" does not make a finding suspicious, and a flag that is
    not true or false is a lie."""
    detection = identify_bytes(Path("/bin/ls").read_bytes(), "photo.jpg")
    assert wire.detection(detection.to_json()) == detection
    claimed = detection.to_json()
    claimed["findings"] = [{"kind": "extension-mismatch", "detail": "x; suspicious"}]
    with pytest.raises(Blocked):  # the executable is judged by its type, not by the mismatch
        decide(wire.detection(claimed), Policy())
    claimed["findings"][0]["suspicious"] = True
    with pytest.raises(ExtensionMismatch, match=r"\Ax; suspicious\Z"):
        decide(wire.detection(claimed), Policy())
    claimed["findings"][0]["suspicious"] = "yes"
    with pytest.raises(BadAnswer):
        wire.detection(claimed)


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("件名,金額\r\n会議費,=1+2\r\n", "支出.csv", FileType.CSV),  # 件 is 0x8C 0x8F: "start instruction 0x8c…"
        ("県からのお知らせ\r\n", "通知.txt", FileType.TEXT),
        ("見積金額 120,000円\r\n", "見積書.txt", FileType.TEXT),
        ("ｸﾏ出没情報\r\n", "kuma.txt", FileType.TEXT),  # half-width katakana: 0xB8, "mov ax"
    ],
)
def test_shift_jis_text_that_libmagic_takes_for_a_dos_com_program_is_text(
    text: str, name: str, expected: FileType
) -> None:
    data = text.encode("cp932")
    detection = identify_bytes(data, name)
    assert detection.mime == "application/x-dosexec", "libmagic's guess this test is about"
    assert (detection.file_type, detection.findings) == (expected, ())


def test_machine_code_behind_a_text_name_stays_an_executable() -> None:
    code = b"\x8c\xc8\x8e\xd8\xb4\x09\xba\x0e\x01\xcd\x21\xb8\x00\x4c\xcd\x21"  # mov ax,cs … int 21h
    detection = identify_bytes(code, "readme.txt")
    assert detection.file_type == FileType.EXECUTABLE
    assert [f.kind for f in detection.findings] == ["extension-mismatch"]
    text_named_com = identify_bytes("見積金額 120,000円\r\n".encode("cp932"), "mitsumori.com")
    assert text_named_com.file_type == FileType.SCRIPT, "text under a program's name is held all the same"
