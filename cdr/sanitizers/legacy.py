"""Legacy Office (doc/xls/ppt), RTF and OpenDocument: analysis only.

These are rebuilt by converting them with LibreOffice (``cdr.converters.libreoffice``, run by the
pipeline in its own sandbox) and then rebuilding the OOXML result. Here, inside the
parser sandbox, oletools says what the original held — for ``cdr scan`` and the audit.
``import oletools.olevba`` costs ~330 ms, so it happens only when such a file arrives.
"""

from __future__ import annotations

import re
from typing import BinaryIO

from cdr.errors import UnsupportedType
from cdr.model import FileType, Finding, SanitizeResult
from cdr.sanitizers.base import Context, Sanitizer, read_limited
from cdr.types import types_where
from cdr.zipreader import open_zip, package_limits

EQUATION_EDITOR = re.compile(rb"0002ce02|equation\.3|\\objclass\s*equation", re.I)


def _ole_findings(data: bytes) -> list[Finding]:
    import olefile
    from oletools.olevba import VBA_Parser

    findings = []
    parser = VBA_Parser("document", data=data)
    try:
        if parser.detect_vba_macros():
            modules = sum(1 for _ in parser.extract_macros())
            findings.append(Finding("vba-macros", "VBA project", modules))
        if getattr(parser, "detect_xlm_macros", None) and parser.detect_xlm_macros():
            findings.append(Finding("excel4-macros", "XLM macro sheet"))
    except Exception:  # noqa: BLE001 - olevba raises many kinds on damaged projects
        findings.append(Finding("vba-macros", "a VBA project olevba could not read"))
    finally:
        parser.close()
    try:
        with olefile.OleFileIO(data) as ole:
            entries = ["/".join(e) for e in ole.listdir(streams=True, storages=True)]
    except Exception:  # noqa: BLE001
        return findings
    embedded = [e for e in entries if e.startswith(("ObjectPool/", "MBD")) or "Ole10Native" in e]
    if embedded:
        findings.append(Finding("ole-embedding", "embedded OLE objects", len(embedded)))
    return findings


def _rtf_findings(data: bytes) -> list[Finding]:
    from oletools.rtfobj import RtfObjParser

    parser = RtfObjParser(data)
    parser.parse()
    findings = []
    if parser.objects:
        findings.append(Finding("rtf-object", "embedded objects (\\objdata)", len(parser.objects)))
    if EQUATION_EDITOR.search(data):
        findings.append(Finding("equation-editor", "Equation Editor object (CVE-2017-11882 family)"))
    if re.search(rb"\\objupdate", data):
        findings.append(Finding("rtf-objupdate", "objects that update themselves on open"))
    return findings


def _odf_findings(src: BinaryIO, ctx: Context) -> list[Finding]:
    """An OpenDocument package read by the one ZIP reader, with a package's limits."""
    package = open_zip(src, package_limits(ctx.policy.limits))
    names = [info.filename for info in package.entries]
    macros = [n for n in names if n.startswith(("Basic/", "Scripts/"))]
    objects = [n for n in names if re.match(r"Object \d+/|ObjectReplacements/", n)]
    content_xml = package.find("content.xml")
    content = package.read(content_xml, ctx.policy.limits.max_stream_size) if content_xml else b""
    findings = []
    if macros:
        findings.append(Finding("macros", "Basic or script libraries", len(macros)))
    if objects:
        findings.append(Finding("embedded-object", "embedded objects", len(objects)))
    if b"script:event-listener" in content:
        findings.append(Finding("event-listener", "script event listeners"))
    return findings


class LegacySanitizer(Sanitizer):
    handles = types_where(sanitizer="legacy")

    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        if ctx.file_type in (FileType.ODT, FileType.ODS, FileType.ODP):
            return _odf_findings(src, ctx)
        data = read_limited(src, ctx.policy.limits.max_file_size)
        if ctx.file_type == FileType.RTF:
            return _rtf_findings(data)
        return _ole_findings(data)

    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        raise UnsupportedType(f"{ctx.file_type.value} is converted by LibreOffice before its rebuild")
