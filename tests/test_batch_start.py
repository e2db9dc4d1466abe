"""How `cdr batch --workers N` hands out work: the sandboxes start together before the first
file, and a worker that finishes takes its next file before the result line is printed."""

from __future__ import annotations

import threading

import pytest

from cdr.daemon.batch import at_most, start_sandboxes
from cdr.sandbox import Sandbox, SandboxInfo, SandboxPool

WAIT = 10.0  # far beyond a thread switch: reached only when the two never overlap


def test_the_sandboxes_of_two_workers_start_side_by_side(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each start waits for the other at a barrier: started one after the other (the second
    on its worker's first file, as before), the barrier would break."""
    together = threading.Barrier(2, timeout=WAIT)
    started: list[Sandbox] = []

    def start(self: Sandbox) -> SandboxInfo:
        started.append(self)
        together.wait()
        return SandboxInfo(False, True, "none", True)

    monkeypatch.setattr(Sandbox, "start", start)
    pool = SandboxPool(2, "best-effort")
    start_sandboxes(pool, 2)
    assert len(started) == 2 and started[0] is not started[1], "each sandbox once"


def test_one_file_starts_one_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[Sandbox] = []
    monkeypatch.setattr(Sandbox, "start", lambda self: started.append(self))
    start_sandboxes(SandboxPool(4, "best-effort"), 1)
    assert started == [], "the pipeline's own start is the one a single file needs"


def test_a_freed_worker_takes_its_next_file_before_the_result_is_printed() -> None:
    """The consumer (the result line, the progress bar) holds the first result until the
    second file has started: before, the second file waited for the consumer."""
    second_started = threading.Event()

    def task(n: int) -> int:
        if n == 1:
            second_started.set()
        return n

    results = at_most(1, task, range(2))
    assert next(results) == 0
    assert second_started.wait(WAIT), "the next file started while the result was still being printed"
    assert list(results) == [1]
