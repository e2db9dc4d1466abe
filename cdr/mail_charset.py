"""Japanese mail text without 文字化け: bodies, header words and attachment names.

Japanese mail is written in ISO-2022-JP, but Outlook and Windows mailers send Microsoft's
variants under the same name (CP50220/CP50221: NEC special characters such as ① and ㈱,
IBM extensions, half-width katakana), which Python's ``iso2022_jp`` refuses; those are
read by turning the JIS codes into their CP932 codes, which hold all of them. Mailers that
ignore RFC 2047 put raw Shift_JIS or EUC-JP bytes into headers; those are guessed like
the text sanitizer guesses a text file. Runs inside the sandbox (it reads hostile bytes).
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
import unicodedata

# Charset names Japanese mailers write → the Python codecs to try, best first.
_ALIASES: dict[str, tuple[str, ...]] = {
    "iso-2022-jp": ("iso2022_jp", "iso2022_jp_ext", "jis-cp932"),
    "csiso2022jp": ("iso2022_jp", "iso2022_jp_ext", "jis-cp932"),
    "iso-2022-jp-ms": ("jis-cp932",),
    "cp50220": ("jis-cp932",),
    "cp50221": ("jis-cp932",),
    "cp50222": ("jis-cp932",),
    "iso-2022-jp-2": ("iso2022_jp_2", "jis-cp932"),
    "iso-2022-jp-3": ("iso2022_jp_3", "jis-cp932"),
    "shift_jis": ("cp932",),
    "shift-jis": ("cp932",),
    "sjis": ("cp932",),
    "x-sjis": ("cp932",),
    "windows-31j": ("cp932",),
    "cp932": ("cp932",),
    "ms932": ("cp932",),
    "euc-jp": ("euc_jp", "euc_jis_2004", "cp932"),
    "x-euc-jp": ("euc_jp", "euc_jis_2004"),
    "us-ascii": ("ascii", "utf-8", "cp932"),
}
_GUESSES = ("utf-8", "jis-cp932", "cp932", "euc_jp")
_ESC = b"\x1b"
# Characters no person reads and some hide text from one (bidi overrides): never released.
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def readable(text: str) -> str:
    """Text with control and bidi characters removed; line ends and tabs kept."""
    return _UNREADABLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def one_line(text: str, limit: int = 1000) -> str:
    """A header value: one line of readable text, at most ``limit`` characters."""
    return " ".join(readable(text).split())[:limit]


def jis_to_cp932(data: bytes) -> bytes:
    """ISO-2022-JP (with Microsoft's extensions) as CP932 bytes; raises ValueError on a
    sequence that is neither. JIS X 0208 rows map arithmetically onto Shift_JIS."""
    out = bytearray()
    mode = "ascii"
    i = 0
    while i < len(data):
        if data.startswith(_ESC, i):
            sequence = data[i : i + 4]
            if sequence[:3] in (b"\x1b(B", b"\x1b(J"):
                mode, i = "ascii", i + 3
            elif sequence[:3] in (b"\x1b$@", b"\x1b$B"):
                mode, i = "double", i + 3
            elif sequence[:3] == b"\x1b(I":
                mode, i = "kana", i + 3
            else:
                raise ValueError("an escape sequence ISO-2022-JP does not have")
            continue
        byte = data[i]
        if byte == 0x0E:  # SO/SI half-width katakana (CP50222)
            mode, i = "kana", i + 1
        elif byte == 0x0F:
            mode, i = "ascii", i + 1
        elif mode == "double" and 0x21 <= byte <= 0x7E and i + 1 < len(data):
            out += _jis_pair(byte, data[i + 1])
            i += 2
        elif mode == "kana" and 0x21 <= byte <= 0x5F:
            out.append(byte + 0x80)
            i += 1
        else:
            out.append(byte)
            i += 1
    return bytes(out)


def _jis_pair(first: int, second: int) -> bytes:
    if not 0x21 <= second <= 0x7E:
        raise ValueError("half a JIS character")
    lead = ((first + 1) >> 1) + 0x70
    if lead > 0x9F:
        lead += 0x40
    if first % 2:
        trail = second + 0x1F + (1 if second >= 0x60 else 0)
    else:
        trail = second + 0x7E
    return bytes((lead, trail))


def _decode_as(data: bytes, codec: str) -> str:
    if codec == "jis-cp932":
        return jis_to_cp932(data).decode("cp932")
    return data.decode(codec)


def _codecs(charset: str | None) -> tuple[str, ...]:
    name = (charset or "").strip().strip('"').lower()
    if name in _ALIASES:
        return _ALIASES[name]
    if name:
        try:
            "".encode(name)
        except (LookupError, ValueError):
            return _GUESSES
        return (name, *_GUESSES)
    return _GUESSES


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes a mail says are in ``charset`` as text: the declared charset first, then
    the Japanese fallbacks; what nothing decodes shows as U+FFFD, never as an error."""
    codecs = _codecs(charset)
    if _ESC not in data:
        codecs = tuple(c for c in codecs if c != "jis-cp932") or ("utf-8",)
    for codec in codecs:
        try:
            return _decode_as(data, codec)
        except (UnicodeDecodeError, ValueError, LookupError):
            continue
    return data.decode(codecs[0] if codecs[0] != "jis-cp932" else "cp932", "replace")


_WORD = re.compile(r"=\?([^?\s]+?)(?:\*[^?\s]*)?\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"\A[ \t\r\n]*\Z")


def _word_bytes(encoding: str, text: str) -> bytes:
    if encoding.lower() == "b":
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    return quopri.decodestring(text.replace("_", " ").encode("ascii", "replace"), header=True)


def decode_words(raw: str) -> str:
    """A header value with RFC 2047 encoded words — also inside quotes, where Outlook puts
    them in attachment names — and raw 8-bit bytes (kept by the parser as surrogates).
    Adjacent words of one charset are joined before decoding: mailers split a character's
    bytes (ISO-2022-JP escapes, UTF-8 sequences) across two words."""
    pieces: list[str] = []
    pending: tuple[str, bytearray] | None = None
    position = 0
    for match in _WORD.finditer(raw):
        between = raw[position : match.start()]
        charset = match.group(1).lower()
        data = _word_bytes(match.group(2), match.group(3))
        if pending and pending[0] == charset and _BETWEEN_WORDS.match(between):
            pending[1].extend(data)
        else:
            if pending:
                pieces.append(decode_text(bytes(pending[1]), pending[0]))
            pieces.append(_eight_bit(between))
            pending = (charset, bytearray(data))
        position = match.end()
    if pending:
        pieces.append(decode_text(bytes(pending[1]), pending[0]))
    pieces.append(_eight_bit(raw[position:]))
    return unicodedata.normalize("NFC", "".join(pieces))


def _eight_bit(text: str) -> str:
    """Text outside encoded words; raw bytes a parser kept as surrogates are guessed."""
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return decode_text(text.encode("utf-8", "surrogateescape"), None)


def needs_redecoding(text: str) -> bool:
    """Whether a value the stdlib decoded still shows an undecoded word, a replacement or
    a raw byte, so the raw header must be decoded here instead."""
    return "=?" in text or "\ufffd" in text or any("\udc80" <= c <= "\udcff" for c in text)
