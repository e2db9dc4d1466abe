"""ICC colour profiles carried by images: parsed, size-capped and rebuilt, or dropped.

A profile is kept only when its header is what ICC.1:2010 §7.2 describes (the size field
matches, ``acsp`` signature, a device class and colour space an image can use) and its
tag table (§7.3) is bounded with every tag inside the profile. The profile that crosses is
rebuilt from the tags that describe colour (table below) — private tags, the profile ID
and any bytes between or after the tags stay behind — and must then load in LittleCMS.
A profile that describes sRGB is replaced by the standard sRGB profile.
"""

from __future__ import annotations

import enum
import io
import struct

from PIL import ImageCms

MAX_ICC_SIZE = 1 << 20  # real camera and monitor profiles are a few KiB; printer ones < 1 MiB
MAX_TAGS = 64
_HEADER = 128
_DEVICE_CLASSES = frozenset({b"scnr", b"mntr", b"prtr", b"spac"})
_COLOUR_SPACES = frozenset({b"RGB ", b"GRAY", b"CMYK"})
_PCS = frozenset({b"XYZ ", b"Lab "})
# ICC.1:2010 §9.2: the tags that describe colour and name the profile.
_COLOUR_TAGS = frozenset(
    tag.encode()
    for tag in (
        "desc cprt wtpt bkpt rXYZ gXYZ bXYZ rTRC gTRC bTRC kTRC chad lumi meas tech view chrm "
        "A2B0 A2B1 A2B2 B2A0 B2A1 B2A2 D2B0 D2B1 D2B2 D2B3 B2D0 B2D1 B2D2 B2D3 gamt "
        "dmnd dmdd vued rig0 rig2 ciis cicp"
    ).split()
)


def _tags(untrusted: bytes) -> list[tuple[bytes, int, int]] | None:
    """(signature, offset, size) of each tag, or None when the table does not hold up."""
    if len(untrusted) < _HEADER + 4:
        return None
    (count,) = struct.unpack_from(">I", untrusted, _HEADER)
    if count > MAX_TAGS:
        return None
    table_end = _HEADER + 4 + 12 * count
    if table_end > len(untrusted):
        return None
    tags = []
    for index in range(count):
        signature, offset, size = struct.unpack_from(">4sII", untrusted, _HEADER + 4 + 12 * index)
        if offset < table_end or size < 8 or offset + size > len(untrusted):
            return None
        tags.append((signature, offset, size))
    return tags


def _header_ok(untrusted: bytes) -> bool:
    if not _HEADER <= len(untrusted) <= MAX_ICC_SIZE:
        return False
    (declared,) = struct.unpack_from(">I", untrusted, 0)
    return (
        declared == len(untrusted)
        and untrusted[36:40] == b"acsp"
        and untrusted[12:16] in _DEVICE_CLASSES
        and untrusted[16:20] in _COLOUR_SPACES
        and untrusted[20:24] in _PCS
    )


def _rebuilt(untrusted: bytes, tags: list[tuple[bytes, int, int]]) -> bytes:
    """A new profile: the header (profile ID zeroed, flags cleared) and the colour tags,
    each copied once, 4-byte aligned (§7.3.1)."""
    kept = [t for t in tags if t[0] in _COLOUR_TAGS]
    table_end = _HEADER + 4 + 12 * len(kept)
    body, table, placed = bytearray(), bytearray(), {}
    for signature, offset, size in kept:
        if (offset, size) not in placed:  # tags may share their data (§7.3.1)
            placed[(offset, size)] = table_end + len(body)
            body += untrusted[offset : offset + size]
            body += b"\0" * (-len(body) % 4)
        table += struct.pack(">4sII", signature, placed[(offset, size)], size)
    header = bytearray(untrusted[:_HEADER])
    header[44:48] = b"\0\0\0\0"  # profile flags (embedded / independent)
    header[84:100] = b"\0" * 16  # profile ID: an MD5 of the old bytes, no longer true
    profile = header + struct.pack(">I", len(kept)) + table + body
    struct.pack_into(">I", profile, 0, len(profile))
    return bytes(profile)


# LittleCMS dates a profile it makes with the clock (header bytes 24-35); the one that
# crosses is dated once for all, so that the same input gives the same bytes on any day.
_SRGB_DATE = struct.pack(">6H", 2024, 1, 1, 0, 0, 0)


def srgb_profile() -> bytes:
    made = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return made[:24] + _SRGB_DATE + made[36:]


def _is_srgb(profile: ImageCms.ImageCmsProfile) -> bool:
    description = (profile.profile.profile_description or "").strip().lower()
    return description.startswith(("srgb", "s-rgb")) and profile.profile.xcolor_space.strip() == "RGB"


class Fate(enum.StrEnum):
    """What happened to a profile; the value names it in a rebuild's actions."""

    NONE = "none"  # there was none
    DROPPED = "dropped"
    STANDARD = "standard"  # it described sRGB: the standard sRGB profile crosses instead
    KEPT = "kept"  # rebuilt from its colour tags


def clean_profile(untrusted: bytes | None) -> tuple[bytes | None, Fate]:
    """The profile that may cross, and its fate."""
    if not untrusted:
        return None, Fate.NONE
    tags = _tags(untrusted) if _header_ok(untrusted) else None
    if tags is None:
        return None, Fate.DROPPED
    rebuilt = _rebuilt(untrusted, tags)
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(rebuilt))
    except (OSError, ValueError, TypeError):  # LittleCMS cannot read it: no viewer will either
        return None, Fate.DROPPED
    if _is_srgb(profile):
        return srgb_profile(), Fate.STANDARD
    return rebuilt, Fate.KEPT
