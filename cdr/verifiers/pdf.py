"""TRANSITIONAL — replaced by the allow-list walk of issue #8 (owner: PDF work)."""

from __future__ import annotations

from typing import BinaryIO

from cdr.model import Action, FileType, Finding
from cdr.verifiers import VerifyContext

VERIFIES = frozenset({FileType.PDF})


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.pdf import PdfSanitizer

    return PdfSanitizer().inspect(src, Context(FileType.PDF, Action.REBUILD, ctx.name, ctx.policy))
