"""What a mail client makes of plain text beyond reading it: files and links hidden in text.

Thunderbird, Becky! and others decode a uuencoded, yEnc or BinHex block inside a plain body
and offer it as an attachment, past the rebuild of the real attachments; Outlook and
Thunderbird make a share path (``\\\\host\\share``) and a ``file:`` address clickable, and
one click sends the clerk's Windows (NTLM) credentials to that host. Both are neutralised
here, for mail bodies and for the text a mail is converted to: an encoded block is replaced
by one line that says so, and a share path or ``file:`` address is written so that a clerk
still reads it but no client links it (the way ``hxxps://`` is written for web links).
Runs in the sandboxed child, on text already decoded.
"""

from __future__ import annotations

import re

ENCODED_FILE_REMOVED = (
    "（添付ファイルらしき符号化データを取り除きました）\n"
    "(Encoded data that looked like an attached file was removed.)\n"
)

# The first line of each encoding a client decodes, and the line that ends the block (None:
# BinHex ends with the colon that closes its data, checked in _block_end).
_UUENCODE = re.compile(r"begin(?:-base64)? [0-7]{3,4} \S", re.I)
_YENC = re.compile(r"=ybegin ", re.I)
_BINHEX = re.compile(r"\(This file must be converted with BinHex", re.I)
_UUENCODE_END = re.compile(r"(?:end|====)\s*\Z")
_YENC_END = re.compile(r"=yend\b")

# Two or more backslashes before a host name: a UNC path (\\host\share, \\?\UNC\…).
_SHARE = re.compile(r"\\{2,}(?=[^\\\s])")
# file: followed by an address (not "file: 報告書" in a sentence).
_FILE_URL = re.compile(r"\bfile:(?=\S)", re.I)


def _block_end(lines: list[str], start: int) -> int:
    """The index after the last line of the encoded block that starts at ``start``. A block
    without its closing line runs to the end of the text: what a client would decode is
    not left half in place."""
    first = lines[start].lstrip()
    if _BINHEX.match(first):
        seen_data = False
        for at in range(start + 1, len(lines)):
            line = lines[at].strip()
            if not seen_data and line.startswith(":"):
                seen_data = True
                line = line[1:]
            if seen_data and line.endswith(":"):
                return at + 1
        return len(lines)
    end = _YENC_END if _YENC.match(first) else _UUENCODE_END
    for at in range(start + 1, len(lines)):
        if end.match(lines[at].strip()):
            return at + 1
    return len(lines)


def remove_encoded_files(text: str) -> tuple[str, int]:
    """``text`` with every uuencoded, yEnc and BinHex block replaced by one line saying it
    was removed, and how many blocks there were."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    removed = 0
    at = 0
    while at < len(lines):
        line = lines[at].lstrip()
        if _UUENCODE.match(line) or _YENC.match(line) or _BINHEX.match(line):
            newline = "\r\n" if lines[at].endswith("\r\n") else "\n"
            kept.append(ENCODED_FILE_REMOVED.replace("\n", newline))
            at = _block_end(lines, at)
            removed += 1
            continue
        kept.append(lines[at])
        at += 1
    return "".join(kept), removed


def defang_shares(text: str) -> tuple[str, int]:
    """Share paths and ``file:`` addresses no client links: ``\\\\host\\share`` is written
    ``＼＼host\\share`` (full-width, as a Japanese screen shows it anyway) and ``file://x``
    ``file[:]//x``. Returns the text and how many were rewritten."""
    text, shares = _SHARE.subn(lambda found: "＼" * len(found.group(0)), text)
    text, files = _FILE_URL.subn(lambda found: found.group(0)[:-1] + "[:]", text)
    return text, shares + files


def neutralise_body(text: str) -> tuple[str, int, int]:
    """A plain mail body as a client may show it: (text, encoded blocks removed, share paths
    and file: addresses defanged)."""
    text, removed = remove_encoded_files(text)
    text, defanged = defang_shares(text)
    return text, removed, defanged
