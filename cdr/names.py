"""File names from outside made safe for the LGWAN side, and IDs.

Names are untrusted strings: they reach Windows Explorer, the audit log and a terminal.
NFC-normalised; control, format and unassigned characters (U+202E turns ``gpj.exe`` into
``exe.jpg`` on screen) and Windows-forbidden characters replaced; reserved device names
(CON, NUL, COM1…) prefixed; length capped in UTF-8 bytes. Japanese stays as it is.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
import unicodedata
from pathlib import PurePosixPath

MAX_NAME_BYTES = 200  # leaves room for a collision suffix and the .quarantined.txt notice
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')  # by Windows; controls and bidi marks are invisible()
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.I)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\ufeff]")


def display(text: str) -> str:
    """A string fit for a log line or terminal: no control or bidi characters."""
    return _UNPRINTABLE.sub("?", unicodedata.normalize("NFC", text))


def decode_name(raw: bytes) -> str:
    """The one rule for a name stored as bytes — on disk, in every archive format: UTF-8
    when the bytes are valid UTF-8, else CP932 (what an older Japanese system writes), else
    UTF-8 with U+FFFD for what is no character at all. Japanese text in CP932 is almost
    never valid UTF-8 (its lead bytes 0x81-0x9F are UTF-8 continuation bytes), so the order
    is safe."""
    for codec in ("utf-8", "cp932"):
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def from_disk(name: str) -> str:
    """A name as the file system gave it, in characters a job file, the audit log and a
    notice can hold. Bytes that are not UTF-8 arrive from ``os.fsdecode`` as lone surrogates,
    which no UTF-8 writer accepts: they are read by ``decode_name``'s rule."""
    return decode_name(os.fsencode(name))


def invisible(char: str) -> bool:
    """A control, format (soft hyphen, zero-width joiner, bidi), private-use or unassigned
    character: one a reader of a file name cannot see, or sees as something else."""
    return unicodedata.category(char) in ("Cc", "Cf", "Co", "Cn")


def _visible(name: str) -> str:
    """Every invisible character replaced: what Explorer shows is what the name holds."""
    return "".join("_" if invisible(c) else c for c in name)


# Characters that some program turns into a separator or a dot: the yen and won signs are
# 0x5C (a backslash) when Windows best-fits a name into CP932 / CP949 (and 0x5C is the yen
# sign in ISO-2022-JP's JIS-Roman); the slashes below are best-fit to "/" although NFKC
# keeps them. Every character NFKC turns into a slash, backslash or dot (full-width ／ ＼ ．,
# ‥ and … among them) counts too: see _lookalike().
_BEST_FIT_SEPARATORS = frozenset("\u00a5\u20a9\u2215\u2044\u29f8")


def _lookalike(char: str) -> bool:
    """A character that is not a slash, backslash or dot but becomes one on some code page
    or under NFKC, so a name holding it could climb out of its folder in another program."""
    normal = unicodedata.normalize("NFKC", char)
    return char in _BEST_FIT_SEPARATORS or (normal != char and any(c in "/\\." for c in normal))


def folded(name: str) -> str:
    """The name as the least careful program reads it, for deciding whether it climbs out or
    is absolute: NFKC, each best-fit separator and every backslash read as a slash."""
    normal = unicodedata.normalize("NFKC", name)
    return "".join("/" if c in _BEST_FIT_SEPARATORS else c for c in normal).replace("\\", "/")


def safe_component(name: str) -> str:
    name = unicodedata.normalize("NFC", name)
    name = "".join("_" if _lookalike(c) else c for c in name)
    name = _visible(_FORBIDDEN.sub("_", name)).strip(" .")
    if not name or name in (".", ".."):
        name = "file"
    if _RESERVED.match(name):
        name = "_" + name
    stem, ext = os.path.splitext(name)
    if ext.startswith(".{"):
        # Explorer opens a folder named "x.{CLSID}" as that shell object (a junction: the
        # Control Panel, a printer folder), and hides the ending: no such name is kept
        stem, ext = stem + "_" + ext[1:], ""
    if len(ext.encode()) > 20:
        stem, ext = name, ""
    while len((stem + ext).encode()) > MAX_NAME_BYTES and stem:
        stem = stem[:-1]
    return (stem or "file") + ext


def safe_relative(relative: str) -> PurePosixPath:
    """A relative path with every component made safe; never absolute, never ``..``."""
    parts = [p for p in PurePosixPath(relative.replace("\\", "/")).parts if p not in ("/", "", ".")]
    clean = [safe_component(p) for p in parts if p != ".."]
    return PurePosixPath(*clean) if clean else PurePosixPath("file")


MAX_PATH_CHARACTERS = 200  # a member's whole path: Explorer fails beyond 260 with the folder
MAX_COMPONENT_CHARACTERS = 100


def _shortened(part: str, limit: int, keep_extension: bool) -> str:
    """``part`` cut to ``limit`` characters with a short hash of the whole of it, so two long
    names that begin alike stay two names; the extension stays when it names the type."""
    if len(part) <= limit:
        return part
    stem, ext = os.path.splitext(part) if keep_extension else (part, "")
    if len(ext) > 10:
        stem, ext = part, ""
    tag = "~" + hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return stem[: max(1, limit - len(tag) - len(ext))] + tag + ext


def capped(path: PurePosixPath) -> PurePosixPath:
    """A path a clerk's PC can unpack: each component at most 100 characters and the whole at
    most 200. Folders that do not fit are folded into one named by a hash of them all, so
    distinct paths stay distinct."""
    parts = list(path.parts)
    parts = [_shortened(p, MAX_COMPONENT_CHARACTERS, i == len(parts) - 1) for i, p in enumerate(parts)]
    if len("/".join(parts)) <= MAX_PATH_CHARACTERS:
        return PurePosixPath(*parts)
    folders, last = parts[:-1], parts[-1]
    digest = "~" + hashlib.sha256("/".join(folders).encode("utf-8", "surrogatepass")).hexdigest()[:12]
    kept: list[str] = []
    room = MAX_PATH_CHARACTERS - len(last) - len(digest) - 2
    for folder in folders:
        if len("/".join([*kept, folder])) > room:
            break
        kept.append(folder)
    return PurePosixPath(*kept, digest, last)


def with_extension(path: PurePosixPath, extension: str, aliases: tuple[str, ...] = ()) -> PurePosixPath:
    """Keep the name's extension if it already names the output type, else replace it."""
    if path.suffix.lower() == extension or path.suffix.lower() in aliases:
        return path
    if path.suffix and len(path.suffix) <= 6:
        return path.with_suffix(extension)
    return path.with_name(path.name + extension)


def new_id() -> str:
    """A ULID: 48 bits of milliseconds + 80 random bits, Crockford base32, sortable."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def reception_number(file_id: str) -> str:
    """The 受付番号 staff read over the phone: the ID's last eight characters (its random
    part: 40 bits), grouped in fours. Crockford base32 has no I, L, O or U to mishear."""
    return f"{file_id[-8:-4]}-{file_id[-4:]}"


def id_as_typed(text: str) -> str:
    """What a person typed for an ID or 受付番号, in the IDs' own letters: capitals, no
    hyphens or spaces, and O, I, L read as 0, 1, 1 (Crockford's rule for misreadings)."""
    return re.sub(r"[\s-]", "", text).upper().translate(str.maketrans("OIL", "011"))


def id_matches(file_id: str, typed: str) -> bool:
    """Whether ``typed`` (already ``id_as_typed``) names ``file_id``: the ID itself, a
    beginning of it, or its 受付番号 (its last eight characters)."""
    return file_id.startswith(typed) or (len(typed) == 8 and file_id.endswith(typed))


def valid_id(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", text))
