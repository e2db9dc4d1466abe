"""Mails built in code for the mail tests: .eml in Japanese encodings, an Outlook .msg in a
compound file written here (olefile only reads them), and a TNEF winmail.dat.

The compound file writer is the smallest the format allows (MS-CFB version 3, 512-byte
sectors, small streams in the mini stream, siblings chained to the right); the .msg
properties follow MS-OXMSG. Every hostile part is a known attack: a Word file with macros,
a PDF with JavaScript, a Windows program, HTML with scripts, handlers, frames and remote
pictures.
"""

from __future__ import annotations

import base64
import io
import struct

from PIL import Image

from tests.office_builders import docm_with_vba
from tests.test_archive import _pdf_with_javascript as pdf_with_javascript

SUBJECT = "【重要】会議①のご案内"
SENDER = "山田 太郎"
DOCM_NAME = "議事録.docm"
PDF_NAME = "報告書.pdf"
BODY = "お疲れさまです。資料を添付します。\n詳しくは https://example.jp/kaigi をご覧ください。\n"
HOSTILE_HTML = (
    '<html><head><meta http-equiv="refresh" content="0;url=http://evil.example/">'
    "<script>alert(1)</script><style>body{background:url(http://evil.example/bg.png)}</style></head>"
    '<body onload="steal()"><p style="color:red">お疲れさまです。</p>'
    '<img src="cid:logo@example.jp" alt="ロゴ"><img src="http://tracker.example/pixel.gif">'
    '<a href="javascript:alert(2)">ここ</a> <a href="https://example.jp/kaigi">会議の案内</a>'
    '<iframe src="http://evil.example/"></iframe><form action="http://evil.example/"><input name=p></form>'
    "</body></html>"
)
EXE = b"MZ\x90\x00" + b"\x00" * 300


def png_logo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def cp50220(text: str) -> bytes:
    """ISO-2022-JP as Outlook writes it (CP50220): NEC specials such as ① in JIS row 13."""
    out = bytearray()
    double = False
    data = text.encode("cp932")
    i = 0
    while i < len(data):
        lead = data[i]
        if lead < 0x80:
            if double:
                out += b"\x1b(B"
                double = False
            out.append(lead)
            i += 1
            continue
        trail = data[i + 1]
        first = (lead - (0x70 if lead < 0xA0 else 0xB0)) << 1
        if trail < 0x9F:
            first -= 1
            second = trail - (0x1F if trail < 0x7F else 0x20)
        else:
            second = trail - 0x7E
        if not double:
            out += b"\x1b$B"
            double = True
        out += bytes((first, second))
        i += 2
    if double:
        out += b"\x1b(B"
    return bytes(out)


def _word(text: str) -> str:
    return f"=?ISO-2022-JP?B?{base64.b64encode(cp50220(text)).decode()}?="


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def nested_eml() -> bytes:
    """A forwarded mail: Shift_JIS raw in its subject (no RFC 2047), a program attached."""
    return (
        b"From: sato@example.jp\r\nTo: yamada@example.jp\r\nSubject: " + "転送：見積書".encode("cp932")
        + b"\r\nDate: Mon, 2 Nov 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="in"\r\n\r\n--in\r\n'
        b"Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "見積書をお送りします。\r\n".encode("cp932")
        + b"--in\r\nContent-Type: application/octet-stream; name=\"tool.exe\"\r\n"
        b"Content-Disposition: attachment; filename=\"tool.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(EXE).encode() + b"--in--\r\n"
    )


def japanese_html_mail() -> bytes:
    """ISO-2022-JP (CP50220) subject, sender and bodies; HTML with every kind of active
    content; an inline picture; a .docm (RFC 2231 name), a PDF with JavaScript (Outlook's
    RFC 2047 name in quotes), an .exe and a forwarded mail."""
    docm_name = "".join(f"%{b:02X}" for b in cp50220(DOCM_NAME))
    parts = [
        'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n--alt\r\n'
        "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        + cp50220(BODY).decode("ascii").replace("\n", "\r\n")
        + "--alt\r\nContent-Type: text/html; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + _b64(cp50220(HOSTILE_HTML))
        + "--alt--\r\n",
        "Content-Type: image/png\r\nContent-ID: <logo@example.jp>\r\nContent-Disposition: inline\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(png_logo()),
        "Content-Type: application/vnd.ms-word.document.macroEnabled.12\r\n"
        f"Content-Disposition: attachment; filename*=iso-2022-jp''{docm_name}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(docm_with_vba()),
        f'Content-Type: application/pdf; name="{_word(PDF_NAME)}"\r\n'
        f'Content-Disposition: attachment; filename="{_word(PDF_NAME)}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(pdf_with_javascript()),
        'Content-Type: application/x-msdownload; name="setup.exe"\r\nContent-Disposition: attachment; '
        'filename="setup.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\n' + _b64(EXE),
    ]
    head = (
        f"From: {_word(SENDER)} <yamada@example.jp>\r\nTo: suzuki@town.example.lg.jp\r\n"
        f"Subject: {_word(SUBJECT)}\r\nDate: Tue, 3 Nov 2026 09:30:00 +0900\r\n"
        "Message-ID: <20261103093000.1234@example.jp>\r\nReceived: from mx.example.jp by mail.town.example\r\n"
        "X-Mailer: Microsoft Outlook 16.0\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="mix"\r\n\r\n'
    )
    body = "".join(f"--mix\r\n{part}" for part in parts)
    nested = b"--mix\r\nContent-Type: message/rfc822\r\n\r\n" + nested_eml() + b"\r\n"
    return (head + body).encode("ascii") + nested + b"--mix--\r\n"


def simple_mail(charset: str, subject: str, body: str, transfer: str = "8bit") -> bytes:
    """A one-part mail with its subject raw in the body's charset (as older mailers do)."""
    return (
        b"From: a@example.jp\r\nSubject: " + subject.encode(charset)
        + b"\r\nDate: Tue, 3 Nov 2026 09:30:00 +0900\r\nMIME-Version: 1.0\r\n"
        + f"Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {transfer}\r\n\r\n".encode()
        + body.encode(charset)
    )


def nested_multipart_bomb(depth: int = 200) -> bytes:
    head = b"From: a@example.jp\r\nSubject: deep\r\nMIME-Version: 1.0\r\n"
    opening = b"".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode() for i in range(depth)
    )
    closing = b"".join(f"\r\n--b{i}--\r\n".encode() for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nx" + closing


def many_parts_bomb(parts: int = 10_000) -> bytes:
    head = b'From: a@example.jp\r\nSubject: many\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
    part = b"--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=a.txt\r\n\r\nx\r\n"
    return head + part * parts + b"--m--\r\n"


def huge_base64_mail(size: int) -> bytes:
    head = (
        b'From: a@example.jp\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/plain\r\n\r\nhello\r\n--m\r\nContent-Type: application/octet-stream\r\n"
        b"Content-Disposition: attachment; filename=zeros.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    )
    return head + base64.encodebytes(b"\0" * size) + b"--m--\r\n"


# ---------------------------------------------------------------- TNEF (winmail.dat)
def _tnef_attribute(level: int, attribute: int, data: bytes) -> bytes:
    return struct.pack("<BII", level, attribute, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def winmail_dat(attachments: dict[str, bytes]) -> bytes:
    """A TNEF stream with a plain body and attachments named by their long MAPI name
    (UTF-16) and an 8-bit title in CP932."""
    out = bytearray(b"\x78\x9f\x3e\x22" + struct.pack("<H", 0x0101))
    out += _tnef_attribute(1, 0x00069007, struct.pack("<II", 932, 0))
    out += _tnef_attribute(1, 0x0002800C, "本文です。".encode("cp932") + b"\0")
    for name, data in attachments.items():
        out += _tnef_attribute(2, 0x00069002, b"\0" * 14)
        out += _tnef_attribute(2, 0x00018010, name.encode("cp932", "replace") + b"\0")
        out += _tnef_attribute(2, 0x0006800F, data)
        long_name = name.encode("utf-16-le") + b"\0\0"
        props = struct.pack("<IHHII", 1, 0x001F, 0x3707, 1, len(long_name)) + long_name + b"\0" * (-len(long_name) % 4)
        out += _tnef_attribute(2, 0x00069005, props)
    return bytes(out)


def tnef_mail(attachments: dict[str, bytes]) -> bytes:
    return (
        b'From: a@example.jp\r\nSubject: tnef\r\nDate: Tue, 3 Nov 2026 09:30:00 +0900\r\nMIME-Version: 1.0\r\n'
        b'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n'
        b'--m\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\nContent-Disposition: attachment; '
        b'filename="winmail.dat"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64.encodebytes(winmail_dat(attachments)) + b"--m--\r\n"
    )


# ---------------------------------------------------------------- compound file (.msg)
FREE, END, FAT_SECTOR, NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def compound_file(streams: dict[tuple[str, ...], bytes]) -> bytes:
    """A CFB v3 file holding ``streams`` (path of storage names → bytes)."""
    storages = sorted({path[:i] for path in streams for i in range(1, len(path))})
    entries: list[dict] = [{"path": (), "kind": 5}]
    entries += [{"path": s, "kind": 1} for s in storages] + [{"path": p, "kind": 2, "data": d} for p, d in streams.items()]
    index = {e["path"]: n for n, e in enumerate(entries)}
    children: dict[tuple[str, ...], list[int]] = {}
    for n, e in enumerate(entries[1:], 1):
        children.setdefault(e["path"][:-1], []).append(n)
    mini = bytearray()
    minifat: list[int] = []
    big: list[tuple[int, bytes]] = []
    for n, e in enumerate(entries):
        data = e.get("data", b"")
        if e["kind"] == 2 and len(data) < 4096:
            first = len(minifat)
            count = max(1, -(-len(data) // 64)) if data else 0
            minifat += [first + k + 1 for k in range(count - 1)] + ([END] if count else [])
            e["start"] = first if count else END
            mini += data + b"\0" * (-len(data) % 64)
        elif e["kind"] == 2:
            big.append((n, data))
    dir_sectors = -(-len(entries) * 128 // 512)
    minifat_sectors = -(-len(minifat) * 4 // 512) if minifat else 0
    mini_sectors = -(-len(mini) // 512)
    big_sectors = [-(-len(d) // 512) for _, d in big]
    content = dir_sectors + minifat_sectors + mini_sectors + sum(big_sectors)
    fat_sectors = 1
    while fat_sectors * 128 < content + fat_sectors:
        fat_sectors += 1
    fat: list[int] = [FAT_SECTOR] * fat_sectors

    def chain(count: int) -> int:
        first = len(fat)
        fat.extend(first + k + 1 for k in range(count - 1))
        fat.append(END)
        return first

    dir_start = chain(dir_sectors)
    minifat_start = chain(minifat_sectors) if minifat_sectors else END
    mini_start = chain(mini_sectors) if mini_sectors else END
    for (n, _), count in zip(big, big_sectors, strict=True):
        entries[n]["start"] = chain(count)
    fat += [FREE] * (fat_sectors * 128 - len(fat))
    entries[0]["start"], entries[0]["size"] = mini_start, len(mini)
    directory = b"".join(_dir_entry(e, children, index) for e in entries)
    directory += b"\0" * (dir_sectors * 512 - len(directory))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6,
        b"\0" * 6, 0, fat_sectors, dir_start, 0, 4096, minifat_start, minifat_sectors, END, 0,
    )
    difat = list(range(fat_sectors)) + [FREE] * (109 - fat_sectors)
    header += struct.pack("<109I", *difat)
    body = struct.pack(f"<{len(fat)}I", *fat) + directory
    body += _padded(struct.pack(f"<{len(minifat)}I", *minifat)) if minifat else b""
    body += _padded(bytes(mini)) + b"".join(_padded(d) for _, d in big)
    return header + body


def _padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def _dir_entry(entry: dict, children: dict[tuple[str, ...], list[int]], index: dict) -> bytes:
    path = entry["path"]
    name = ("Root Entry" if not path else path[-1]).encode("utf-16-le") + b"\0\0"
    siblings = children.get(path[:-1], []) if path else []
    position = siblings.index(index[path]) if path else -1
    right = siblings[position + 1] if path and position + 1 < len(siblings) else NO_STREAM
    kids = children.get(path, [])
    child = kids[0] if kids and entry["kind"] != 2 else NO_STREAM
    size = entry.get("size", len(entry.get("data", b"")))
    start = entry.get("start", END if entry["kind"] == 2 else 0)
    return struct.pack(
        "<64sHBBIII16sIQQIII", name, len(name), entry["kind"], 1, NO_STREAM, right, child, b"\0" * 16, 0, 0, 0,
        start if entry["kind"] != 1 else 0, size, 0,
    )


def _unicode(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\0\0"


def _props(header: int, fixed: dict[int, tuple[int, int]]) -> bytes:
    """A ``__properties_version1.0`` stream: ``header`` bytes, then id → (type, value)."""
    out = b"\0" * header
    for prop_id, (prop_type, value) in fixed.items():
        out += struct.pack("<HHIQ", prop_type, prop_id, 6, value)
    return out


def _message(prefix: tuple[str, ...], header: int, subject: str, body: str, html: bytes | None,
             attachments: list[tuple[str, bytes | dict]], submitted: int) -> dict[tuple[str, ...], bytes]:
    streams: dict[tuple[str, ...], bytes] = {
        (*prefix, "__substg1.0_0037001F"): _unicode(subject),
        (*prefix, "__substg1.0_0C1A001F"): _unicode(SENDER),
        (*prefix, "__substg1.0_5D01001F"): _unicode("yamada@example.jp"),
        (*prefix, "__substg1.0_0E04001F"): _unicode("鈴木 花子"),
        (*prefix, "__substg1.0_1000001F"): _unicode(body),
        (*prefix, "__properties_version1.0"): _props(header, {0x0039: (0x0040, submitted), 0x3FFD: (0x0003, 932)}),
    }
    if html is not None:
        streams[(*prefix, "__substg1.0_10130102")] = html
    for n, (name, content) in enumerate(attachments):
        storage = (*prefix, f"__attach_version1.0_#{n:08X}")
        streams[(*storage, "__substg1.0_3707001F")] = _unicode(name)
        if name.endswith(".png"):  # a picture the HTML shows: its Content-ID and MIME type
            streams[(*storage, "__substg1.0_3712001F")] = _unicode("logo@example.jp")
            streams[(*storage, "__substg1.0_370E001F")] = _unicode("image/png")
        if isinstance(content, dict):  # an attached mail: a message inside the attachment
            streams[(*storage, "__properties_version1.0")] = _props(8, {0x3705: (0x0003, 5)})
            streams.update({(*storage, *path): data for path, data in content.items()})
        else:
            streams[(*storage, "__substg1.0_37010102")] = content
            streams[(*storage, "__properties_version1.0")] = _props(8, {0x3705: (0x0003, 1)})
    return streams


# 2026-11-03 00:30:00 UTC as a FILETIME (100 ns since 1601)
SUBMITTED = (1_793_665_800 + 11_644_473_600) * 10_000_000


def outlook_msg() -> bytes:
    """A .msg: Japanese subject and sender, hostile HTML showing a picture of the mail, a .docm,
    a program, and an attached mail that carries a PDF with JavaScript."""
    inner = _message((), 24, "転送：報告書", "報告書です。", None, [(PDF_NAME, pdf_with_javascript())], SUBMITTED)
    inner_paths = {("__substg1.0_3701000D", *path): data for path, data in inner.items()}
    streams = _message((), 32, SUBJECT, BODY, ('<meta charset="utf-8">' + HOSTILE_HTML).encode("utf-8"),
                       [(DOCM_NAME, docm_with_vba()), ("setup.exe", EXE), ("転送メール", inner_paths), ("image001.png", png_logo())],
                       SUBMITTED)
    return compound_file(streams)

