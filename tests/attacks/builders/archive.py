"""Hostile ZIP archives: path traversal, hostile members, encryption, bombs.

Sources: PKWARE APPNOTE 6.3.10 (§4.4.4 general purpose flag, §4.4.17 file names), Snyk
"Zip Slip" (2018), David Fifield "A better zip bomb" (WOOT 2019), 42.zip.
"""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import pyzipper

from tests import builders as base
from tests.attacks.builders import Expect, sample

MZ = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 54 + b"PE\x00\x00"


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _memo() -> bytes:
    return "会議のお知らせ\r\n".encode("cp932")


@sample("zip_benign", ".zip", "control", "a memo and a photo, as a department sends them", Expect.RELEASED)
def zip_benign(work: Path) -> bytes:
    return zip_of({"memo.txt": _memo(), "photo.png": base.simple("PNG", (40, 30))})


@sample(
    "zip_slip_names",
    ".zip",
    "zip-slip",
    "Snyk Zip Slip (2018); APPNOTE §4.4.17: no drive letter, no leading '/'",
)
def zip_slip_names(work: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in (
            "../../../../tmp/evil.txt",
            "/etc/cron.d/evil",
            "..\\..\\Windows\\evil.txt",
            "C:/evil.txt",
            "ok.txt",
        ):
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # ZipInfo() would normalise the separators away
            archive.writestr(info, _memo())
    return out.getvalue()


@sample(
    "zip_symlink_member",
    ".zip",
    "zip-slip",
    "Info-ZIP Unix extra: a member whose mode is a symlink to /etc/passwd",
)
def zip_symlink_member(work: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("link.txt")
        info.create_system = 3
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
        archive.writestr("memo.txt", _memo())
    return out.getvalue()


@sample(
    "zip_hostile_members",
    ".zip",
    "nested",
    "members of every hostile kind: exe, script, macro doc, PDF with JS",
)
def zip_hostile_members(work: Path) -> bytes:
    from tests.attacks.builders import ooxml_word, pdf

    return zip_of(
        {
            "memo.txt": _memo(),
            "setup.exe": MZ,
            "invoice.pdf.bat": b"@echo off\r\ncalc.exe\r\n",
            "report.docm": ooxml_word.docm_vba(work),
            "form.pdf": pdf._edit(work, pdf._openaction),
            "photo.jpg": base.jpeg_with_gps_and_trailer(),
        }
    )


@sample(
    "zip_nested_hostile",
    ".zip",
    "nested",
    "ZIP in ZIP in ZIP with a DDE document and a DDE CSV at the bottom",
)
def zip_nested_hostile(work: Path) -> bytes:
    from tests.attacks.builders import ooxml_word

    inner = zip_of(
        {"dde.docx": ooxml_word.docx_ddeauto_fldsimple(work), "list.csv": b"a,=cmd|' /C calc'!A0\r\n"}
    )
    return zip_of({"level1/level2.zip": zip_of({"level3.zip": inner, "memo.txt": _memo()})})


@sample("zip_aes_encrypted", ".zip", "encrypted", "WinZip AE-2 encryption (PPAP style)", Expect.QUARANTINED)
def zip_aes_encrypted(work: Path) -> bytes:
    out = io.BytesIO()
    with pyzipper.AESZipFile(
        out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
    ) as archive:
        archive.setpassword(b"himitsu")
        archive.writestr("invoice.exe", MZ)
    return out.getvalue()


@sample(
    "zip_encrypted_flag_lie",
    ".zip",
    "encrypted",
    "APPNOTE §4.4.4 bit 0 set on a member that is stored in clear",
)
def zip_encrypted_flag_lie(work: Path) -> bytes:
    data = bytearray(zip_of({"run.vbs": b'CreateObject("WScript.Shell").Run "calc"'}, zipfile.ZIP_STORED))
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature)
        flags = struct.unpack_from("<H", data, at + flag_offset)[0] | 1
        struct.pack_into("<H", data, at + flag_offset, flags)
    return bytes(data)


@sample("zip_ratio_bomb", ".zip", "bomb", "one member inflating 512 MiB at ratio ~1000 (classic zip bomb)")
def zip_ratio_bomb(work: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        with archive.open("zeros.txt", "w", force_zip64=True) as member:
            block = b"\x00" * (1 << 20)
            for _ in range(512):
                member.write(block)
    return out.getvalue()


@sample("zip_many_members", ".zip", "bomb", "20000 empty members (member-count exhaustion)")
def zip_many_members(work: Path) -> bytes:
    return zip_of({f"m/{n:05}.txt": b"" for n in range(20000)}, zipfile.ZIP_STORED)


@sample("zip_nested_depth_bomb", ".zip", "bomb", "42.zip-style nesting ten levels deep")
def zip_nested_depth_bomb(work: Path) -> bytes:
    data = zip_of({"zeros.txt": b"\x00" * (4 << 20)})
    for level in range(10):
        data = zip_of({f"l{level}a.zip": data, f"l{level}b.zip": data})
    return data


@sample(
    "zip_overlapping_members",
    ".zip",
    "bomb",
    "Fifield 2019: central directory entries sharing one local file",
)
def zip_overlapping_members(work: Path) -> bytes:
    payload = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = payload.compress(b"A" * (16 << 20)) + payload.flush()
    crc = zlib.crc32(b"A" * (16 << 20))
    local = (
        struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(packed), 16 << 20, 5, 0)
        + b"a.txt"
    )
    central = b""
    for n in range(200):
        name = f"{n:03}.txt".encode()
        central += (
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0,
                crc,
                len(packed),
                16 << 20,
                len(name),
                0,
                0,
                0,
                0,
                0,
                0,
            )
            + name
        )
    body = local + packed
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 200, 200, len(central), len(body), 0)
    return body + central + end


@sample(
    "zip_duplicate_names", ".zip", "nested", "two members with one name: which one does the extractor keep?"
)
def zip_duplicate_names(work: Path) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w") as archive:
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate, which is the point
        archive.writestr("readme.txt", _memo())
        archive.writestr("readme.txt", b'Set s = CreateObject("WScript.Shell")\r\ns.Run "calc"\r\n')
    return out.getvalue()


@sample(
    "zip_script_names_trailing_dot",
    ".zip",
    "script-name",
    "ZIP members 'run.bat.' and 'a.vbs ' (Win32 drops the dot/space)",
)
def zip_script_names_trailing_dot(work: Path) -> bytes:
    return zip_of({"run.bat.": b"calc.exe\r\n", "a.vbs ": b'MsgBox "x"\r\n', "memo.txt": _memo()})


@sample(
    "zip_nul_and_bidi_names",
    ".zip",
    "script-name",
    "APPNOTE §4.4.17 names with NUL and U+202E (extension spoofing)",
)
def zip_nul_and_bidi_names(work: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in ("invoice\u202etxt.bat", "photo.png\x00.bat", "memo.txt"):
            info = zipfile.ZipInfo("placeholder")
            info.filename = name
            archive.writestr(info, b"calc.exe\r\n" if "bat" in name else _memo())
    return out.getvalue()


@sample("zip_cp932_traversal", ".zip", "zip-slip", "CP932 names (no UTF-8 flag) with '..\\\\' components")
def zip_cp932_traversal(work: Path) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("placeholder123", _memo())
    evil = "..\\..\\表示.txt".encode("cp932")  # 14 bytes, as long as the placeholder: offsets stay right
    return out.getvalue().replace(b"placeholder123", evil)


@sample(
    "zip_fake_removed_list",
    ".zip",
    "nested",
    "a member named like the appliance's own cdr-removed.txt, beside one it removes",
)
def zip_fake_removed_list(work: Path) -> bytes:
    return zip_of(
        {
            "cdr-removed.txt": "削除されたファイルはありません。setup.exe は安全です。\r\n".encode(),
            "setup.exe": MZ,
            "memo.txt": _memo(),
        }
    )


@sample("zip_lnk_member", ".zip", "nested", "[MS-SHLLINK] shortcut saved as readme.txt inside an archive")
def zip_lnk_member(work: Path) -> bytes:
    header = b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46" + b"\x00" * 56
    return zip_of({"readme.txt": header + "C:\\Windows\\System32\\cmd.exe /c calc".encode("utf-16-le")})
