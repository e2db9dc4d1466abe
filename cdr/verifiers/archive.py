"""Allow-list verification of a rebuilt ZIP archive.

Accepted: a ZIP without encryption, comments or extra fields beyond what the writer puts
there, within the archive limits of the policy, laid out member after member with no
shared or stray bytes (``cdr.zipreader`` checks the directory), whose member names are
plain relative paths (no drive, no leading slash, no ``..``, no control or bidi
characters), and whose
every member is itself identified by content as a type with a verifier and passes it — the
same allow-list as a file released on its own.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath
from typing import BinaryIO

from cdr.detect import identify_bytes
from cdr.errors import SanitizeError
from cdr.model import FileType, Finding
from cdr.verifiers import VerifyContext, verify_structure
from cdr.zipreader import (
    ZipReader,
    archive_limits,
    as_written,
    is_encrypted,
    name_key,
    name_problem,
    open_zip,
)

VERIFIES = frozenset({FileType.ZIP})
_STORED_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# Windows opens a member by its extension: a .txt, .csv or .tsv goes to a text editor or
# Excel, never to a browser. libmagic calls text that holds "<script" somewhere near its top
# HTML (a mail's text whose subject quotes markup), and the HTML verifier then refuses it for
# want of a page's prologue. Such a member is held to the text allow-list instead, unless it
# opens as a web page does (a doctype or <html> tag), which stays refused.
_TEXT_EXTENSIONS = frozenset({".txt", ".csv", ".tsv"})
_PAGE_START = re.compile(rb"<(?:!doctype\s+html|html[\s>])", re.I)


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    """The archive as a whole (limits, layout, names, comment), then every member."""
    limits = as_written(archive_limits(ctx.policy.limits))
    try:
        reader = open_zip(src, limits, ctx.depth)
    except SanitizeError as exc:  # over a limit, nested too deep, overlapping, unreadable
        return [Finding(f"archive-{exc.reason}", str(exc)[:200])]
    findings: list[Finding] = []
    keys = [name_key(i.orig_filename) for i in reader.all_entries]
    if len(set(keys)) != len(keys):
        findings.append(Finding("archive-duplicate-name", "two members share a name; unzip tools disagree which wins"))
    if reader.comment:
        findings.append(Finding("archive-comment", f"{len(reader.comment)} bytes"))
    for info in reader.all_entries:
        findings += _member(reader, info, ctx)
    return findings


def _member(reader: ZipReader, info: zipfile.ZipInfo, ctx: VerifyContext) -> list[Finding]:
    name = info.orig_filename  # before zipfile cuts it at a NUL
    problem = name_problem(name)
    if problem:
        return [Finding("archive-member-name", f"{name[:100]!r}: {problem}")]
    if info.is_dir():
        return []
    if is_encrypted(info) or info.compress_type not in _STORED_METHODS:
        return [Finding("archive-member-encoding", f"{name[:100]}: encrypted or unusual method")]
    try:
        data = reader.read(info, ctx.policy.limits.max_file_size)
    except SanitizeError as exc:
        return [Finding("archive-member-unreadable", f"{name[:100]}: {str(exc)[:100]}")]
    inner = VerifyContext(ctx.policy, name, ctx.depth + 1)
    return [
        Finding(finding.kind, f"{name[:100]}: {finding.detail}"[:500], finding.count)
        for finding in verify_structure(_verified_as(data, name), io.BytesIO(data), inner)
    ]


def _verified_as(data: bytes, name: str) -> FileType:
    """The type whose verifier judges the member: what its content is identified as, except
    text taken for HTML only by a tag inside it (see _TEXT_EXTENSIONS)."""
    found = identify_bytes(data, name).file_type
    named_text = PurePosixPath(name).suffix.lower() in _TEXT_EXTENSIONS
    if found == FileType.HTML and named_text and not _PAGE_START.search(data[:4096]):
        return FileType.TEXT
    return found
