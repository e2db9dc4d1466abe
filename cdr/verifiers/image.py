"""TRANSITIONAL — replaced by the chunk/marker allow-list of issue #8 (owner: image work)."""

from __future__ import annotations

from typing import BinaryIO

from cdr.model import Action, FileType, Finding
from cdr.verifiers import VerifyContext

VERIFIES = frozenset({FileType.JPEG, FileType.PNG, FileType.GIF, FileType.BMP, FileType.TIFF, FileType.WEBP})


def verify(src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    from cdr.detect import identify
    from cdr.sanitizers.base import Context
    from cdr.sanitizers.image import ImageSanitizer

    file_type = identify(src, ctx.name).file_type
    return ImageSanitizer().inspect(src, Context(file_type, Action.REBUILD, ctx.name, ctx.policy))
