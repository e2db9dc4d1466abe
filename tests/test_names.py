from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from cdr.names import new_id, safe_component, safe_relative, valid_id, with_extension
from cdr.release import release, remove_partials


def test_japanese_names_survive() -> None:
    assert safe_component("令和6年度 予算書（案）.xlsx") == "令和6年度 予算書（案）.xlsx"


def test_nfc() -> None:
    assert safe_component("ガ.txt") == "ガ.txt"  # macOS sends NFD


def test_dangerous_characters() -> None:
    assert safe_component("invoice\u202egpj.exe") == "invoice_gpj.exe"
    assert safe_component('a<b>:c"|?*.txt') == "a_b__c____.txt"
    assert safe_component("CON.txt") == "_CON.txt" and safe_component("lpt1") == "_lpt1"
    assert safe_component("trailing. ") == "trailing"
    assert len(safe_component("あ" * 200 + ".pdf").encode()) <= 200


def test_relative_paths_cannot_escape() -> None:
    assert safe_relative("../../etc/passwd") == PurePosixPath("etc/passwd")
    assert safe_relative("/abs/a.txt") == PurePosixPath("abs/a.txt")
    assert safe_relative("soumu\\a.jpg") == PurePosixPath("soumu/a.jpg")


def test_extension_follows_the_output_type() -> None:
    assert with_extension(PurePosixPath("a.docm"), ".docx") == PurePosixPath("a.docx")
    assert with_extension(PurePosixPath("a.JPEG"), ".jpg", (".jpeg",)) == PurePosixPath("a.JPEG")
    assert with_extension(PurePosixPath("README"), ".txt") == PurePosixPath("README.txt")


def test_ids() -> None:
    ids = {new_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(valid_id(i) for i in ids)
    assert not valid_id("../../etc")


def test_release_never_overwrites_and_is_not_executable(tmp_path: Path) -> None:
    source = tmp_path / "clean.bin"
    source.write_bytes(b"new")
    outbox = tmp_path / "out"
    (outbox / "soumu").mkdir(parents=True)
    (outbox / "soumu" / "a.pdf").write_bytes(b"old")
    final = release(source, outbox, PurePosixPath("soumu/a.pdf"), new_id())
    assert final == PurePosixPath("soumu/a (2).pdf")
    assert (outbox / "soumu" / "a.pdf").read_bytes() == b"old"
    assert (outbox / final).read_bytes() == b"new"
    assert not os.stat(outbox / final).st_mode & 0o111
    assert list((outbox / "soumu").glob(".cdr-*")) == []


def test_partials_are_removed_on_recovery(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / ".cdr-01ABC.partial").write_bytes(b"half")
    assert remove_partials(tmp_path) == 1


def test_every_quarantine_reason_has_japanese_words() -> None:
    """A reason added to the error tree without words for staff would reach a notice raw."""
    from cdr.errors import CdrError
    from cdr.reasons import REASONS_ADMIN, REASONS_JA

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    reasons = {getattr(cls, "reason", None) for cls in subclasses(CdrError)} - {None}
    assert reasons - set(REASONS_JA) == set()
    assert reasons - set(REASONS_ADMIN) == set(), "and the CLI would show the administrator a bare code"
