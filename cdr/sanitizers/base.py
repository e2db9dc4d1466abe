"""The sanitizer interface every format family implements."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import BinaryIO, ClassVar

from cdr.errors import SanitizeError
from cdr.model import Action, FileType, Finding, SanitizeResult
from cdr.policy import Policy


@dataclass(frozen=True)
class Context:
    file_type: FileType
    action: Action
    name: str
    policy: Policy
    password: str | None = None
    depth: int = 0  # how deep inside archives this file sits
    # What the parent made of a top-level archive's members that need it (LibreOffice,
    # 画像化), by member index: the converted bytes, or why there are none
    converted: Mapping[int, bytes] = field(default_factory=lambda: MappingProxyType({}))
    unconverted: Mapping[int, SanitizeError] = field(default_factory=lambda: MappingProxyType({}))


class Sanitizer(abc.ABC):
    """Builds a new file from the parts known to be harmless.

    ``inspect`` only reads and reports; ``sanitize`` never writes in place (it reads
    ``src`` and writes ``dst``) and raises only ``SanitizeError`` subclasses.
    """

    handles: ClassVar[frozenset[FileType]]

    @abc.abstractmethod
    def inspect(self, src: BinaryIO, ctx: Context) -> list[Finding]:
        """Active or hidden content present in ``src``; empty means clean."""

    @abc.abstractmethod
    def sanitize(self, src: BinaryIO, dst: BinaryIO, ctx: Context) -> SanitizeResult:
        """Write the rebuilt file to ``dst``."""

    def details(self, src: BinaryIO, ctx: Context) -> dict[str, object]:
        """Facts for `cdr scan` (pages, attachments…); nothing by default."""
        return {}


def read_limited(src: BinaryIO, limit: int) -> bytes:
    """Read all of ``src`` but refuse more than ``limit`` bytes."""
    from cdr.errors import LimitExceeded

    src.seek(0)
    data = src.read(limit + 1)
    if len(data) > limit:
        raise LimitExceeded(f"larger than the limit of {limit} bytes")
    return data
