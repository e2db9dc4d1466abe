"""`cdr batch --workers N` runs N files at once and ends with what one worker would have made."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

import cdr.finish
import cli
from cdr.audit import records, verify
from cdr.daemon.batch import at_most
from tests.builders import simple

OVERLAP_SECONDS = 60.0  # far beyond one small file; reached only when the files run one by one


def _inbox(folder: Path) -> dict[str, bytes]:
    files = {
        "notice.txt": "熊の目撃情報\n午後三時、裏山で。\n".encode(),
        "list.csv": b"name,count\nA,1\nB,=1+1\n",
        "photo.png": simple("PNG"),
        "photo.jpg": simple("JPEG"),
        "tool.exe": b"MZ" + b"\0" * 200,
    }
    (folder / "in").mkdir(parents=True)
    (folder / "out").mkdir()
    for name, data in files.items():
        (folder / "in" / name).write_bytes(data)
    time.sleep(0.05)  # settled
    return files


def _batch(folder: Path, workers: int, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict]]:
    (folder / "policy.yaml").write_text("watch:\n  settle_seconds: 10ms\n")
    status = cli.main(
        [
            "batch",
            *("--inbox", str(folder / "in"), "--outbox", str(folder / "out")),
            *("--spool", str(folder / "spool"), "--quarantine", str(folder / "q")),
            *("--audit", str(folder / "audit.jsonl"), "--policy", str(folder / "policy.yaml")),
            *("--workers", str(workers), "--json"),
        ]
    )
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, captured.err
    lines = [json.loads(line) for line in captured.out.splitlines()]
    return status, lines


def _released(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (folder / "out").iterdir() if p.is_file()}


def _what_came_out(lines: list[dict]) -> dict[str, tuple]:
    return {
        line["input"]: (line["verdict"], line["reason"], line["sha256"], line["output_sha256"], line["type"])
        for line in lines
    }


def test_two_workers_hold_two_files_at_once_and_end_as_one_worker_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CDR_CONFIG", "/dev/null")
    one, two = tmp_path / "one", tmp_path / "two"
    _inbox(one)
    _inbox(two)
    status_one, lines_one = _batch(one, 1, capsys)

    # Every release waits until a second file is ready to be released too: only two files
    # sanitized and verified side by side get past it (one by one, the wait runs out).
    both_verified = threading.Barrier(2, timeout=OVERLAP_SECONDS)
    real_release = cdr.finish.release
    released_alone: list[str] = []

    def release_beside_another(*args: object, **kwargs: object) -> object:
        try:
            both_verified.wait()
        except threading.BrokenBarrierError:
            released_alone.append(str(args[2]))
        return real_release(*args, **kwargs)

    monkeypatch.setattr(cdr.finish, "release", release_beside_another)
    status_two, lines_two = _batch(two, 2, capsys)

    # four files are released, in two pairs; the last file has no partner
    assert released_alone == [], "a release found no second file under way at the same time"
    assert status_one == status_two == 1  # the .exe is quarantined either way (DESIGN.md)
    assert len(lines_two) == 5 and len({line["input"] for line in lines_two}) == 5
    assert _what_came_out(lines_two) == _what_came_out(lines_one)
    released = _released(two)
    assert released.keys() == _released(one).keys()
    assert sorted(released) == ["list.csv", "notice.txt", "photo.jpg", "photo.png", "tool.exe.quarantined.txt"]
    notice = released.pop("tool.exe.quarantined.txt")  # names its own quarantine ID and time
    assert "tool.exe" in notice.decode("utf-8-sig")
    assert all(released[name] == data for name, data in _released(one).items() if name in released)
    assert verify(two / "audit.jsonl").ok

    # the audit log shows it too: the first two files were both verified before either was released
    events = [(r["event"], r["file_id"]) for r in records(two / "audit.jsonl")]
    first_release = next(n for n, (event, _) in enumerate(events) if event == "released")
    verified_before = {file_id for event, file_id in events[:first_release] if event == "verified"}
    assert len(verified_before) == 2
    for lines, folder in ((lines_one, one), (lines_two, two)):
        finals = [r["file_id"] for r in records(folder / "audit.jsonl") if r["event"] in ("released", "quarantined")]
        assert sorted(finals) == sorted(line["id"] for line in lines)  # each file's life ends once


def test_a_failure_lets_the_files_under_way_finish_and_starts_no_more() -> None:
    started: list[int] = []
    gate = threading.Event()

    def task(n: int) -> int:
        started.append(n)
        if n == 0:
            gate.wait(10)
            return n
        gate.set()  # the second file fails while the first is still at work
        raise OSError("the outbox is gone")

    results = []
    with pytest.raises(OSError, match="the outbox is gone"):
        for result in at_most(2, task, range(10)):
            results.append(result)
    assert results == [0] and sorted(started) == [0, 1]


def test_one_worker_keeps_the_inbox_order() -> None:
    assert list(at_most(1, lambda n: n * n, range(6))) == [0, 1, 4, 9, 16, 25]


@pytest.mark.parametrize("workers", [1, 2])
def test_several_workers_start_with_the_biggest_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], workers: int
) -> None:
    """One worker takes the oldest file first; several take the biggest first, so that no big
    file is left to start last while the other workers have nothing to do."""
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    sizes = {"a-old-small.txt": 1, "b-big.txt": 400, "c-small.txt": 2, "d-new-bigger.txt": 800}
    for age, (name, lines) in enumerate(sizes.items()):
        path = tmp_path / "in" / name
        path.write_text("熊の目撃情報\n" * lines)
        stamp = time.time() - 100 + age  # the order of the table is the order of age
        os.utime(path, (stamp, stamp))
    time.sleep(0.05)
    status, lines = _batch(tmp_path, workers, capsys)
    assert status == 0 and len(lines) == 4
    received = [Path(r["input"]).name for r in records(tmp_path / "audit.jsonl") if r["event"] == "received"]
    if workers == 1:
        assert received == list(sizes)
    else:
        assert set(received[:2]) == {"d-new-bigger.txt", "b-big.txt"}
        assert set(received[2:]) == {"a-old-small.txt", "c-small.txt"}
