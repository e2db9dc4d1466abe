"""The settle loop with a backlog: each pending file is looked at when its time comes (a heap
by next look), not on every tick, so thousands waiting for two workers cost a few stats
each; a file still being written is still not taken until it has held still."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cdr.daemon import settle
from cdr.daemon.settle import Settling

SETTLE = 2.0
TICK = 0.05


@pytest.fixture
def stats(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The paths observe() stat'ed, in order."""
    seen: list[Path] = []
    real = settle.observe

    def counted(path: Path, last: settle.Seen | None, now: float) -> tuple[settle.Seen | None, bool]:
        seen.append(path)
        return real(path, last, now)

    monkeypatch.setattr(settle, "observe", counted)
    monkeypatch.setattr(settle, "open_for_writing", lambda path: False)  # nobody writes here
    return seen


def test_a_backlog_costs_a_few_stats_per_file(tmp_path: Path, stats: list[Path]) -> None:
    files = []
    for n in range(2000):
        files.append(tmp_path / f"f{n:04d}.txt")
        files[-1].write_bytes(b"x")
    settling = Settling(SETTLE)
    for path in files:
        settling.touch(path)
    taken: list[Path] = []
    now = 1000.0
    while len(taken) < len(files):
        taken += settling.settled(now, room=4)  # two workers: four places on the queue
        for path in taken[-4:]:
            settling.claiming(path)
        now += TICK
        assert now < 1000.0 + 60, "the backlog must drain"
    assert sorted(taken) == files
    # a first look, one when the settle time can have passed, one when there is room: the
    # old loop stat'ed every waiting file on every tick (2000 × 500 ticks)
    assert len(stats) <= 3 * len(files)


def test_a_file_still_growing_waits_for_its_settle_time_after_the_last_write(tmp_path: Path, stats: list[Path]) -> None:
    upload = tmp_path / "upload.pdf"
    upload.write_bytes(b"%PDF")
    settling = Settling(SETTLE)
    settling.touch(upload)
    now, last_write = 1000.0, 1000.0
    taken: list[Path] = []
    while not taken:
        if now < 1006.0 and int(now * 10) % 7 == 0:  # a slow line: a chunk now and then for six seconds
            with upload.open("ab") as handle:
                handle.write(b"chunk")
            os.utime(upload, ns=(int(now * 1e9), int(now * 1e9)))  # the clock this test runs on
            last_write = now
        taken = settling.settled(now, room=4)
        now = round(now + TICK, 2)
    assert taken == [upload]
    assert last_write >= 1005.0
    # held still a whole settle time after its last write, and not much more
    assert SETTLE <= now - last_write <= SETTLE + SETTLE / settle.CHANGING_CHECKS + 2 * TICK


def test_a_file_removed_while_waiting_is_forgotten(tmp_path: Path, stats: list[Path]) -> None:
    gone = tmp_path / "gone.txt"
    gone.write_bytes(b"x")
    settling = Settling(SETTLE)
    settling.touch(gone)
    assert settling.settled(1000.0, room=4) == []
    gone.unlink()
    assert settling.settled(1000.0 + SETTLE, room=4) == []
    assert settling.counts() == (0, 0)
    gone.write_bytes(b"again")  # dropped again: a new file to settle
    settling.touch(gone)
    assert settling.settled(2000.0, room=4) == []
    assert settling.settled(2000.0 + SETTLE, room=4) == [gone]


def test_no_room_no_stats(tmp_path: Path, stats: list[Path]) -> None:
    (tmp_path / "a.txt").write_bytes(b"x")
    settling = Settling(SETTLE)
    settling.touch(tmp_path / "a.txt")
    for tick in range(100):
        assert settling.settled(1000.0 + tick * TICK, room=0) == []
    assert stats == []
    assert settling.counts() == (1, 0)
