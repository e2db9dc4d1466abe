"""Allow-list verification of a rebuilt file (DESIGN.md invariant 7).

A verifier accepts only the parts, keys, chunks, relationships, fields and formulas it
knows to be harmless, and reports everything else as a ``Finding`` — it never searches
for the bad things a sanitizer happens to know about, so a blind spot of the sanitizer is
not shared here. Each verifier is written against the format's specification, in its own
module, and imports nothing from ``cdr.sanitizers`` (a test checks that).

A type without a verifier cannot be released: ``verify_structure`` reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from cdr.model import FileType, Finding
from cdr.policy import Policy


@dataclass(frozen=True)
class VerifyContext:
    policy: Policy
    name: str = ""
    depth: int = 0  # how deep inside an archive the file sits


Verifier = Callable[[BinaryIO, VerifyContext], "list[Finding]"]


def _table() -> dict[FileType, Verifier]:
    # Imported here so a verifier module is loaded only by the child that needs it.
    from cdr.verifiers import archive, html, image, mail, ooxml, pdf, text

    table: dict[FileType, Verifier] = {}
    for module in (archive, html, image, mail, ooxml, pdf, text):
        for file_type in module.VERIFIES:
            table[file_type] = module.verify
    return table


_TABLE: dict[FileType, Verifier] | None = None


def verifier_for(file_type: FileType) -> Verifier | None:
    global _TABLE
    if _TABLE is None:
        _TABLE = _table()
    return _TABLE.get(file_type)


def verify_structure(file_type: FileType, src: BinaryIO, ctx: VerifyContext) -> list[Finding]:
    """Everything in ``src`` that is not on the allow-list of ``file_type``; empty = clean."""
    verifier = verifier_for(file_type)
    if verifier is None:
        return [Finding("no-verifier", f"nothing verifies {file_type.value} output")]
    src.seek(0)
    return verifier(src, ctx)
