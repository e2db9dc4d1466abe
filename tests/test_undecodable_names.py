"""A file whose name is not UTF-8 — Shift_JIS bytes written by an older Japanese system, or
bytes of no encoding at all — is processed like any other. Before, the name reached the job
file and the audit record as lone surrogates: the claim raised UnicodeEncodeError, each
cdr watch worker that took the file died (the daemon ran on with fewer workers, then none),
and cdr batch and cdr sanitize stopped with a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

from cdr.daemon.claim import claim
from cdr.names import from_disk
from tests.test_cli import cdr

SJIS_NAME = "報告.txt".encode("cp932")


def _drop(folder: Path, raw_name: bytes, data: bytes = b"hello\r\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = os.fsencode(folder) + b"/" + raw_name
    with open(path, "wb") as handle:
        handle.write(data)
    return Path(os.fsdecode(path))


def test_a_name_from_disk_becomes_characters_a_log_can_hold() -> None:
    assert from_disk(os.fsdecode(b"soumu/" + SJIS_NAME)) == "soumu/報告.txt"
    assert from_disk("soumu/報告.txt") == "soumu/報告.txt"  # UTF-8 stays as it is
    garbled = from_disk(os.fsdecode(b"a\xff\xfe\x81.txt"))
    garbled.encode("utf-8")  # whatever it reads as, it can be written
    assert garbled.endswith(".txt")


def test_the_claim_records_a_shift_jis_name_decoded(tmp_path: Path) -> None:
    inbox, spool = tmp_path / "in", tmp_path / "spool"
    spool.mkdir()
    path = _drop(inbox / "soumu", SJIS_NAME)
    job = claim(path, inbox, spool)
    assert job is not None and job.relative == "soumu/報告.txt"
    assert json.loads((job.folder / "job.json").read_text(encoding="utf-8"))["relative"] == "soumu/報告.txt"


def test_sanitize_releases_a_file_whose_name_is_not_utf8(tmp_path: Path) -> None:
    _drop(tmp_path / "in" / "soumu", SJIS_NAME)
    run = cdr("sanitize", tmp_path / "in", "--out", tmp_path / "o", "--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl")
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert (tmp_path / "o" / "soumu" / "報告.txt").read_bytes().startswith(b"hello")
    inputs = [json.loads(line)["input"] for line in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    assert set(inputs) == {"soumu/報告.txt"}


def test_batch_goes_on_past_a_file_whose_name_is_not_utf8(tmp_path: Path) -> None:
    old = 1_600_000_000
    for raw in (SJIS_NAME, b"zz-after.txt"):
        os.utime(_drop(tmp_path / "in" / "soumu", raw), (old, old))
    (tmp_path / "o").mkdir()
    common = ("--quarantine", tmp_path / "q", "--audit", tmp_path / "a.jsonl", "--spool", tmp_path / "spool")
    run = cdr("batch", "--inbox", tmp_path / "in", "--outbox", tmp_path / "o", *common)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    assert sorted(p.name for p in (tmp_path / "o" / "soumu").iterdir()) == ["zz-after.txt", "報告.txt"]


def test_outbox_clean_audits_and_removes_a_file_whose_name_is_not_utf8(tmp_path: Path) -> None:
    import time

    from cdr.outbox import clean

    outbox = tmp_path / "out"
    left = _drop(outbox / "soumu", SJIS_NAME)
    cleaned = clean(outbox, 86400, tmp_path / "a.jsonl", now=time.time() + 2 * 86400)
    assert [c.name for c in cleaned] == ["soumu/報告.txt"] and not left.exists()
    record = json.loads((tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert (record["event"], record["output"]) == ("outbox-cleaned", "soumu/報告.txt")
