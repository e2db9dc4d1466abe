"""Allow-list verification of a rebuilt ZIP archive.

Accepted: a ZIP without encryption, comments or extra fields beyond what the writer puts
there, within the archive limits of the policy, whose member names are plain relative
paths (no drive, no leading slash, no ``..``, no control or bidi characters), and whose
every member is itself identified by content as a type with a verifier and passes it — the
same allow-list as a file released on its own.
"""

from __future__ import annotations

import io
import unicodedata
import zipfile
from pathlib import PurePosixPath
from typing import BinaryIO

from cdr.model import FileType, Finding
from cdr.verifiers import VerifyContext, verify_structure

VERIFIES = frozenset({FileType.ZIP})
_STORED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def _name_problem(name: str) -> str | None:
    path = PurePosixPath(name)
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name or any(part in ("..", ".") for part in path.parts):
        return "path that climbs or uses backslashes"
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cn") for c in name):
        return "control or format character"
    return None


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    from cdr.detect import identify_bytes

    limits = ctx.policy.limits
    if ctx.depth >= limits.archive_depth:
        return [Finding("archive-too-deep", f"nested deeper than {limits.archive_depth}")]
    try:
        archive = zipfile.ZipFile(src)
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        return [Finding("archive-unreadable", str(exc)[:200])]
    if len(infos) > limits.archive_members:
        return [Finding("archive-too-many-members", str(len(infos)))]
    if sum(i.file_size for i in infos) > limits.archive_total_size:
        return [Finding("archive-too-large", "unpacked size above the limit")]
    findings: list[Finding] = []
    names = [i.filename.lower() for i in infos]
    if len(set(names)) != len(names):
        findings.append(Finding("archive-duplicate-name", "two members share a name; unzip tools disagree which wins"))
    if archive.comment:
        findings.append(Finding("archive-comment", f"{len(archive.comment)} bytes"))
    for info in infos:
        name = info.filename
        problem = _name_problem(name)
        if problem:
            findings.append(Finding("archive-member-name", f"{name[:100]!r}: {problem}"))
            continue
        if info.is_dir():
            continue
        if info.flag_bits & 0x1 or info.compress_type not in _STORED_METHODS:
            findings.append(Finding("archive-member-encoding", f"{name[:100]}: encrypted or unusual method"))
            continue
        if info.file_size > limits.max_file_size:
            findings.append(Finding("archive-member-too-large", name[:100]))
            continue
        try:
            data = archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
            findings.append(Finding("archive-member-unreadable", f"{name[:100]}: {str(exc)[:100]}"))
            continue
        detection = identify_bytes(data, name)
        inner = VerifyContext(ctx.policy, name, ctx.depth + 1)
        for finding in verify_structure(detection.file_type, io.BytesIO(data), inner):
            findings.append(Finding(finding.kind, f"{name[:100]}: {finding.detail}"[:500], finding.count))
    return findings
