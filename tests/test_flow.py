"""The pipeline in two halves: a file runs under one policy from start to end, the
parent's decision is the one that counts, and the descriptor copies read every byte."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from cdr.descriptors import copy_fd, sha256_fd
from cdr.errors import BadAnswer
from cdr.flow import _hold_to_decision
from cdr.model import Action, Decision, FileType, Outcome, SanitizeResult
from cdr.notices import contact_halves
from cdr.pipeline import Pipeline
from cdr.policy import Policy, parse_policy
from tests import builders

A, T = Action, FileType

# Another name, another contact, and both sample types blocked: a file that ran under
# this policy would say so everywhere.
SWAPPED = """\
name: swapped-by-sighup
types:
  png: block
notice:
  contact: 別の担当 (swapped contact)
"""


def _swap_when(pipeline: Pipeline, event: str, policy: Policy, monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap the pipeline's policy (as SIGHUP does) the moment a file reaches ``event``."""
    append: Callable[..., dict[str, Any]] = pipeline.audit.append

    def append_then_swap(name: str, *args: Any, **fields: Any) -> dict[str, Any]:
        record = append(name, *args, **fields)
        if name == event and pipeline.policy is not policy:
            pipeline.set_policy(policy)
        return record

    monkeypatch.setattr(pipeline.audit, "append", append_then_swap)


def _records(audit: Path, file_id: str) -> list[dict[str, Any]]:
    lines = audit.read_text(encoding="utf-8").splitlines()
    return [r for r in map(json.loads, lines) if r.get("file_id") == file_id]


def test_a_quarantined_file_names_the_policy_it_ran_with(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started_with = pipeline.policy
    swapped = parse_policy(SWAPPED, "swapped.yaml")
    program = tmp_path / "tool.exe"
    program.write_bytes(Path("/bin/true").read_bytes())  # a real ELF: blocked by every policy
    _swap_when(pipeline, "identified", swapped, monkeypatch)

    verdict = pipeline.process(program, "tool.exe")

    assert pipeline.policy is swapped  # the swap did happen while the file was on its way
    assert verdict.verdict == Outcome.QUARANTINED and verdict.quarantine_id
    meta = json.loads((pipeline.places.quarantine / verdict.quarantine_id / "meta.json").read_text())
    assert (meta["policy"], meta["policy_sha256"]) == (started_with.name, started_with.sha256)
    records = _records(pipeline.places.audit, verdict.id)
    assert [r["event"] for r in records][-1] == "quarantined"
    assert {(r["policy"], r["policy_sha256"]) for r in records} == {(started_with.name, started_with.sha256)}
    notice = (pipeline.places.outbox / "tool.exe.quarantined.txt").read_text(encoding="utf-8")
    assert contact_halves(started_with.notice.contact)[0] in notice and "swapped contact" not in notice


def test_a_released_file_keeps_its_policy_and_the_next_file_gets_the_new_one(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started_with = pipeline.policy
    swapped = parse_policy(SWAPPED, "swapped.yaml")
    photo, second = tmp_path / "bear.png", tmp_path / "again.png"
    photo.write_bytes(builders.simple("PNG"))
    second.write_bytes(builders.simple("PNG", (64, 64)))
    _swap_when(pipeline, "identified", swapped, monkeypatch)

    first = pipeline.process(photo, "bear.png")

    # decided under the policy it started with (the swapped one blocks PNG)
    assert first.verdict == Outcome.RELEASED, first
    with Image.open(first.output) as image:
        assert image.format == "PNG" and image.size == (320, 240)
    records = _records(pipeline.places.audit, first.id)
    assert [r["event"] for r in records][-1] == "released"
    assert {r["policy"] for r in records} == {started_with.name}

    then = pipeline.process(second, "again.png")
    assert then.verdict == Outcome.QUARANTINED and then.reason == "blocked-type", then
    meta = json.loads((pipeline.places.quarantine / then.id / "meta.json").read_text())
    assert (meta["policy"], meta["policy_sha256"]) == (swapped.name, swapped.sha256)
    assert {r["policy"] for r in _records(pipeline.places.audit, then.id)} == {swapped.name}
    notice = (pipeline.places.outbox / "again.png.quarantined.txt").read_text(encoding="utf-8")
    assert "swapped contact" in notice


def test_records_of_no_file_name_the_current_policy(pipeline: Pipeline) -> None:
    pipeline.set_policy(parse_policy(SWAPPED, "swapped.yaml"))
    record = pipeline.audit.append("policy-reloaded", source="swapped.yaml")
    assert record["policy"] == "swapped-by-sighup"


# ------------------------------------------------------------- the early answer
def _result(made: FileType) -> SanitizeResult:
    return SanitizeResult(made, ())


@pytest.mark.parametrize(
    ("action", "made", "decision"),
    [
        pytest.param(A.TEXT, T.TEXT, Decision(A.REBUILD, T.PDF, T.PDF), id="another-action"),
        pytest.param(A.REBUILD, T.PNG, Decision(A.REBUILD, T.JPEG, T.JPEG), id="another-type"),
        pytest.param(A.REBUILD, T.DOCM, Decision(A.REBUILD, T.DOCM, T.DOCX), id="macros-kept"),
    ],
)
def test_an_early_answer_that_is_not_the_parents_decision_is_a_lie(
    action: Action, made: FileType, decision: Decision
) -> None:
    with pytest.raises(BadAnswer):
        _hold_to_decision(action, _result(made), decision)


@pytest.mark.parametrize(
    ("made", "decision"),
    [
        pytest.param(T.CSV, Decision(A.TEXT, T.TEXT, T.TEXT), id="text-that-is-a-table"),
        pytest.param(T.DOCX, Decision(A.REBUILD, T.ENCRYPTED_OFFICE, T.UNKNOWN), id="known-after-decryption"),
        pytest.param(T.DOCX, Decision(A.REBUILD, T.DOCM, T.DOCX), id="macros-removed"),
    ],
)
def test_an_early_answer_that_keeps_the_promise_stands(made: FileType, decision: Decision) -> None:
    _hold_to_decision(decision.action, _result(made), decision)


# ------------------------------------------------------------- descriptor copies
def test_a_copy_reads_every_byte_from_the_first_and_leaves_the_offset(tmp_path: Path) -> None:
    data = os.urandom(3 << 20) + b"tail"  # more than one chunk, and not a whole number of them
    path = tmp_path / "data.bin"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.lseek(fd, 12345, os.SEEK_SET)  # a step before read part of it
        chunks: list[bytes] = []
        assert copy_fd(fd, chunks.append) == len(data)
        assert b"".join(chunks) == data
        assert os.lseek(fd, 0, os.SEEK_CUR) == 12345
        assert sha256_fd(fd) == (hashlib.sha256(data).hexdigest(), len(data))
    finally:
        os.close(fd)


def test_a_released_file_is_never_also_quarantined(
    pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something fails after the file was published (here: recording the release). The file
    stays released and is not quarantined too; the failure is operational, so the job is
    retried and the retry finds the release by its intent."""
    from cdr.errors import OperationalError

    append: Callable[..., dict[str, Any]] = pipeline.audit.append

    def fail_on_released(name: str, *args: Any, **fields: Any) -> dict[str, Any]:
        if name == "released":
            raise RuntimeError("a bug after the release")
        return append(name, *args, **fields)

    monkeypatch.setattr(pipeline.audit, "append", fail_on_released)
    photo = tmp_path / "bear.png"
    photo.write_bytes(builders.simple("PNG"))
    with pytest.raises(OperationalError, match="released, but recording it failed"):
        pipeline.process(photo, "bear.png")
    assert Image.open(pipeline.places.outbox / "bear.png").size == Image.open(photo).size
    assert not pipeline.places.quarantine.exists() or not any(
        p for p in pipeline.places.quarantine.iterdir() if not p.name.startswith(".")
    )
