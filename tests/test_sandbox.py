"""The sandbox under attack: resource exhaustion and escape attempts by a test-only
sanitizer (refused outside the test suite)."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdr.errors import CpuLimit, MemoryLimit, OutputTooLarge, SandboxCrash, SandboxTimeout, UnsupportedType
from cdr.policy import Limits, Policy
from cdr.sandbox import Sandbox, SandboxPool

LIMITS = Limits(wall_time=4, cpu_time=1, memory=512 << 20)  # room for a busy machine


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("required") as box:
        yield box


@pytest.fixture
def fds(tmp_path: Path) -> Iterator[list[int]]:
    source = tmp_path / "input.bin"
    source.write_bytes(b"hello")
    opened = [os.open(source, os.O_RDONLY), os.open(tmp_path / "out.bin", os.O_RDWR | os.O_CREAT)]
    yield opened
    for fd in opened:
        os.close(fd)


def test_layers_active(sandbox: Sandbox) -> None:
    assert sandbox.info is not None
    assert sandbox.info.namespaces and sandbox.info.seccomp


# Each runaway meets the one limit it tests long before any other: a spinning child spends its
# 1 s of CPU well inside a 30 s wall limit even on two busy cores, and a sleeping child spends
# no CPU at all, so only the 1 s wall limit can stop it. Never a race between two limits.
ROOMY = Limits(wall_time=30, cpu_time=30, memory=512 << 20)  # only the memory limit is near
CPU_BOUND = Limits(wall_time=30, cpu_time=1, memory=512 << 20)
WALL_BOUND = Limits(wall_time=1, cpu_time=30, memory=512 << 20)


@pytest.mark.parametrize(
    "op,limits,error",
    [
        pytest.param("test:allocate", ROOMY, MemoryLimit, id="test:allocate-MemoryLimit"),
        pytest.param("test:spin", CPU_BOUND, CpuLimit, id="test:spin-CpuLimit"),
        pytest.param("test:sleep", WALL_BOUND, SandboxTimeout, id="test:sleep-SandboxTimeout"),
        pytest.param("test:crash", ROOMY, SandboxCrash, id="test:crash-SandboxCrash"),
    ],
)
def test_runaway_child_costs_one_file(
    sandbox: Sandbox, fds: list[int], op: str, limits: Limits, error: type
) -> None:
    with pytest.raises(error):
        sandbox.run(op, {}, fds, limits)
    # the next job on the same sandbox still works
    assert sandbox.run("identify", {"name": "input.bin"}, fds[:1], LIMITS).file_type.value == "text"


def test_output_size_limit(sandbox: Sandbox, fds: list[int]) -> None:
    with pytest.raises(OutputTooLarge):
        sandbox.run("test:write-output", {"size": 4096}, fds, LIMITS, output_limit=1024)


def test_no_network_even_to_loopback(sandbox: Sandbox, fds: list[int]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        result = sandbox.run("test:connect", {"port": listener.getsockname()[1]}, fds, LIMITS)
        # A connection the job made would wait in the backlog now that the job has ended:
        # the kernel completes the handshake without an accept, so none pending means none made.
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert result["succeeded"] is False


def test_cannot_reach_spool_quarantine_or_write_outside(
    sandbox: Sandbox, fds: list[int], tmp_path: Path
) -> None:
    spool = tmp_path / "spool" / "waiting.docx"
    spool.parent.mkdir()
    spool.write_bytes(b"someone else's file")
    planted = tmp_path / "quarantine" / "01ABC" / "original.bin"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"quarantined secret")
    for path in (spool, planted, Path.home() / ".bash_history", Path("/etc/shadow")):
        assert sandbox.run("test:read", {"path": str(path)}, fds, LIMITS)["succeeded"] is False
    target = tmp_path / "escaped.txt"
    big = Limits(wall_time=3, cpu_time=2, memory=512 << 20, max_output_size=1 << 20)
    for path in (target, Path(__file__).parent / "escaped.txt", "/usr/escaped.txt"):
        assert sandbox.run("test:write", {"path": str(path)}, fds, big)["succeeded"] is False
        assert not Path(path).exists()


def test_cannot_exec_a_shell(sandbox: Sandbox, fds: list[int]) -> None:
    result = sandbox.run("test:exec", {}, fds, LIMITS)
    assert result["succeeded"] is False and "not permitted" in result["error"]


def test_test_operations_refused_outside_tests(fds: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDR_ALLOW_TEST_OPS")
    with Sandbox("required") as box:
        assert box.allow_test_ops is False
        with pytest.raises(UnsupportedType):
            box.run("test:spin", {}, fds, LIMITS)


def test_dead_zygote_is_replaced_without_blaming_the_next_file(
    tmp_path: Path, default_policy: Policy, fresh_sandbox_pool: SandboxPool
) -> None:
    from cdr.model import Outcome
    from cdr.pipeline import Pipeline, Places
    from tests import builders

    places = Places(tmp_path / "out", tmp_path / "q", tmp_path / "a.jsonl", tmp_path / "w")
    places.outbox.mkdir()
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    first.write_bytes(builders.simple("PNG"))
    second.write_bytes(builders.simple("PNG", (64, 64)))
    pipe = Pipeline(default_policy, places, fresh_sandbox_pool)
    pipe.start()
    try:
        assert pipe.process(first, "first.png").verdict == Outcome.RELEASED
        zygote = pipe.pool._all[0]._proc
        zygote.kill()  # the zygote itself dies between files
        zygote.wait()
        assert pipe.process(second, "second.png").verdict == Outcome.RELEASED
    finally:
        pipe.close()


def test_sandbox_outlives_the_thread_that_started_it(fds: list[int]) -> None:
    """--die-with-parent follows the starting *thread*: a worker that exits at shutdown
    must not kill a sandbox another worker is using mid-job (it once quarantined a file)."""
    box = Sandbox("required")
    release = threading.Event()

    def starter() -> None:
        box.start()
        release.wait()  # the thread ends while the job below is running

    thread = threading.Thread(target=starter)
    thread.start()
    while box.info is None:
        threading.Event().wait(0.01)
    threading.Timer(0.3, release.set).start()
    try:
        assert box.run("test:sleep", {"seconds": 1}, fds, ROOMY) == {}  # never near the wall limit
    finally:
        thread.join()
        box.close()


def test_the_interpreter_folders_stay_read_only_in_a_job(sandbox: Sandbox, fds: list[int]) -> None:
    """A job's fresh /tmp carries the venv's binds when the checkout lives under /tmp (a CI
    clone): they must stay read-only there too, wherever the venv lies."""
    big = Limits(wall_time=3, cpu_time=2, memory=512 << 20, max_output_size=1 << 20)
    for folder in (sys.prefix, os.path.dirname(os.__file__)):
        target = Path(folder) / "escaped.txt"
        assert sandbox.run("test:write", {"path": str(target)}, fds, big)["succeeded"] is False
        assert not target.exists()
