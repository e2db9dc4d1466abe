"""quarantine release --original for a file nothing could identify: it is not known to be
harmless, so it needs --allow-program like a program (a CHM help file, held as an unknown
type, runs its scripts with a double-click)."""

from __future__ import annotations

import json
from pathlib import Path

from cdr.admin import is_program
from cdr.quarantine import Entry
from tests.test_cli import cdr


def test_an_unidentified_type_counts_as_a_program() -> None:
    assert is_program(Entry("01J0000000000000000000000", Path("/nonexistent"), {"type": "unknown"})) is True


def test_the_original_of_an_unidentified_file_needs_allow_program(tmp_path: Path) -> None:
    source = tmp_path / "manual.chm"
    source.write_bytes(b"ITSF\x03\x00\x00\x00" + bytes(range(256)) * 4)  # a compiled HTML help header
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    held = json.loads(cdr("sanitize", source, "--out", tmp_path / "o", "--json", *common).stdout)
    assert held["verdict"] == "quarantined" and held["type"] == "unknown", held
    ask = ("quarantine", "release", held["quarantine_id"], "--original", "--reason", "確認済み", "--outbox", tmp_path / "o")
    refused = cdr(*ask, *common)
    assert refused.returncode == 2 and "--allow-program" in refused.stderr, refused.stderr
    assert not (tmp_path / "o" / "manual.chm").exists()
    allowed = cdr(*ask, "--allow-program", *common)
    assert allowed.returncode == 0, allowed.stderr
    assert (tmp_path / "o" / "manual.chm").read_bytes() == source.read_bytes()
