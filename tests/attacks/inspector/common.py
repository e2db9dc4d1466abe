"""What every part of the inspector shares: the limits it holds releases to, safe links and names."""

from __future__ import annotations

import re
import zipfile
import zlib

MAX_DECODED_STREAM = 256 << 20  # policy limits.max_stream_size: a bigger page is a bomb for the viewer
MAX_ICC = 4 << 20
MAX_PIXELS = 100_000_000
MAX_DEPTH = 64
MAX_SCANS = 100  # a progressive encoder writes about ten; thousands are a CPU bomb for the viewer
MAX_MEMBERS = 1000  # policy limits.archive_members
MAX_MEMBER = 64 << 20  # no harmless office-day file in an archive is bigger; a bigger one is a bomb
SAFE_SCHEMES = ("http://", "https://", "mailto:")


def safe_link(target: str) -> bool:
    """http(s) or mailto after the blanks and controls a URL parser drops; a mailto that attaches a
    local file ('Mailto: me your secrets', NDSS 2021) is not harmless."""
    cleaned = re.sub(r"[\x00-\x20]", "", target).lower()
    return cleaned.startswith(SAFE_SCHEMES) and not (cleaned.startswith("mailto:") and "attach" in cleaned)


RUNNABLE = re.compile(r"(?i)\.(exe|dll|scr|com|pif|bat|cmd|ps1|psm1|vbs|vbe|js|jse|wsf|wsh|hta|lnk|url|scf|msi|jar|"
                      r"iso|img|vhdx?|reg|chm|cpl|docm|dotm|xlsm|xltm|xlam|pptm|potm|ppsm|sldm)$")


def dangerous_name(name: str) -> list[str]:
    """Windows drops trailing dots and spaces, so 'run.bat.' opens as a batch file (Win32 naming rules)."""
    findings = []
    visible = name.rstrip(". ")
    if RUNNABLE.search(visible):
        findings.append(f"{name}: a name Windows runs or opens with macros")
    if re.search(r"[\x00-\x1f\u202a-\u202e\u2066-\u2069]", name):
        findings.append(f"{name}: control or bidi character in the name")
    return findings



def member_name(member: str, info: zipfile.ZipInfo) -> list[str]:
    findings = []
    raw = info.orig_filename
    parts = re.split(r"[\\/]", raw)
    if raw.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", raw) or ".." in parts:
        findings.append(f"{member}: path escapes the folder")
    if info.flag_bits & 1:
        findings.append(f"{member}: encrypted member")
    if info.create_system == 3 and (info.external_attr >> 16) & 0o170000 == 0o120000:
        findings.append(f"{member}: symbolic link")
    if (info.external_attr >> 16) & 0o111:
        findings.append(f"{member}: executable mode bits")
    return findings + dangerous_name(member)



def inflates_beyond(packed: bytes, limit: int) -> bool:
    """Count inflated bytes in bounded steps, so a bomb never sits in memory whole."""
    inflater = zlib.decompressobj()
    total = 0
    pending = packed
    try:
        while pending or not inflater.eof:
            chunk = inflater.decompress(pending, 16 << 20)
            total += len(chunk)
            if total > limit:
                return True
            pending = inflater.unconsumed_tail
            if not chunk and not pending:
                break
    except zlib.error:
        return False  # damaged data inflates to nothing more than what was read
    return False


