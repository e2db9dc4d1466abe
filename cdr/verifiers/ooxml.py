"""TRANSITIONAL — replaced by the (relationship, content type, role) allow-list of issue #8."""

from __future__ import annotations

from typing import BinaryIO

from cdr.model import Action, FileType, Finding
from cdr.verifiers import VerifyContext

VERIFIES = frozenset(
    {FileType.DOCX, FileType.DOTX, FileType.XLSX, FileType.XLTX, FileType.PPTX, FileType.POTX, FileType.PPSX}
)


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    from cdr.detect import identify
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.ooxml import OoxmlSanitizer

    file_type = identify(src, ctx.name).file_type
    return OoxmlSanitizer().inspect(src, Context(file_type, Action.REBUILD, ctx.name, ctx.policy))
