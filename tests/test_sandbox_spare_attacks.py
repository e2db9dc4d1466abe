"""A compromised parser against the spare job and the early answer (cdr/zygote.py).

The zygote keeps one job process forked ahead (the spare) and answers the parent as soon
as a job's framed answer is in: it stops the job (SIGSTOP, then waits until the kernel
says it stopped), answers, and only then kills it. What must hold, with the parser fully
compromised (any code under the job's seccomp filter and rlimits): nothing a job does
reaches another file's job, changes its output after the answer, makes the zygote
misreport, or hangs the appliance beyond the job's own file. Each attempt is a test-only
operation (cdr/sanitizers/selftest.py).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdr.errors import SandboxTimeout
from cdr.policy import Limits
from cdr.sandbox import Sandbox

LIMITS = Limits(wall_time=10, cpu_time=5, memory=512 << 20)
# A short deadline, so that a zygote that stops enforcing it shows within seconds: the
# parent's own backstop comes BACKSTOP_SECONDS later and restarts the whole sandbox.
SHORT = Limits(wall_time=2, cpu_time=5, memory=512 << 20)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("required") as box:
        yield box


@pytest.fixture
def files(tmp_path: Path) -> Iterator[list[int]]:
    source = tmp_path / "in.bin"
    source.write_bytes(b"%PDF-1.7 some input\n")
    opened = [os.open(source, os.O_RDONLY), os.open(tmp_path / "out.bin", os.O_RDWR | os.O_CREAT)]
    yield opened
    for fd in opened:
        os.close(fd)


def _zygote(sandbox: Sandbox) -> int:
    assert sandbox._proc is not None and sandbox._proc.poll() is None
    return sandbox._proc.pid


def _output(fd: int) -> bytes:
    return os.pread(fd, 1 << 24, 0)


def test_the_kernel_writes_nothing_into_the_output_after_the_answer(
    sandbox: Sandbox, files: list[int]
) -> None:
    """A dying thread has the kernel write into its process's memory: its robust futex
    list and its clear_child_tid word (set_tid_address). A job that points those into a
    MAP_SHARED mapping of its output and then answers early would see the kernel change
    the output after the answer, as the zygote's SIGKILL ends its stopped threads: bytes
    the verification never read. The job's filter refuses a shared mapping of a file, so
    the output stays as it was when the zygote answered.

    Without that rule every one of five runs showed the output change (zeros written
    after the answer)."""
    for _ in range(5):
        os.ftruncate(files[1], 0)
        answer = sandbox.run("test:exit-writes-after-answer", {"threads": 12, "pages": 2048}, files, LIMITS)
        at_answer = _output(files[1])
        time.sleep(0.3)  # every thread of the job is dead and gone by now
        assert _output(files[1]) == at_answer, answer
        assert answer == {"mapped": False, "error": "Permission denied"}  # not readable, not mappable


def test_a_job_cannot_cancel_its_stop(sandbox: Sandbox, files: list[int]) -> None:
    """A SIGCONT cancels a pending SIGSTOP, even one sent to a PID 1 that ignores it. A
    job that answers early and keeps sending itself SIGCONT (several threads, a POSIX
    timer) would, now and then, land one between the zygote's SIGSTOP and its last
    thread stopping: the zygote would then wait for a stop that never comes, no longer
    enforcing the job's deadline, until the parent's backstop killed the whole sandbox
    (spare included). The filter refuses SIGCONT through kill, tkill, tgkill and
    rt_(tg)sigqueueinfo, F_SETSIG and POSIX timers, so every attempt is stopped and
    answered at once.

    Without those rules, one attempt in four to eight hung the zygote (measured)."""
    before = _zygote(sandbox)
    for _ in range(40):
        started = time.monotonic()
        try:
            sandbox.run(
                "test:cancel-the-stop", {"seconds": 1.0, "threads": 3, "timer_ns": 20000}, files, SHORT
            )
        except SandboxTimeout:
            pytest.fail(f"the zygote waited {time.monotonic() - started:.1f}s for a stop the job cancelled")
        assert time.monotonic() - started < SHORT.wall_time
    assert _zygote(sandbox) == before


def test_threads_writing_the_output_are_all_stopped_before_the_answer(
    sandbox: Sandbox, files: list[int]
) -> None:
    """The group stop the zygote waits for includes every thread, each in whatever write
    it is: nothing is appended after the answer (fails if the zygote answered before the
    kernel reported the stop, e.g. with WNOHANG)."""
    for _ in range(5):
        os.ftruncate(files[1], 0)
        assert sandbox.run("test:threads-write-after-answer", {"threads": 4}, files, LIMITS) == {"writers": 4}
        size = os.fstat(files[1]).st_size
        assert size > 0
        time.sleep(0.2)
        assert os.fstat(files[1]).st_size == size


def test_a_spare_is_never_used_for_another_tmp_size(sandbox: Sandbox, files: list[int]) -> None:
    """A spare mounts its /tmp and /dev/shm before it knows its request, at the size of
    the last one; a request with another memory limit gets a spare forked for it (fails
    if the zygote reused the spare whatever its size)."""
    for memory in (256 << 20, 512 << 20, 512 << 20, 384 << 20, 512 << 20):
        limits = Limits(wall_time=10, cpu_time=5, memory=memory)
        assert sandbox.run("test:tmp-size", {}, files, limits) == {"tmp": memory, "shm": memory}


@pytest.fixture
def sandbox_started_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox started from a folder that does not exist inside it, as a daemon started
    from its state folder would be: bubblewrap then starts the zygote in $HOME, /tmp."""
    elsewhere = tmp_path / "state"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with Sandbox("required") as box:
        yield box


def test_jobs_do_not_share_their_working_folder(sandbox_started_elsewhere: Sandbox, files: list[int]) -> None:
    """Each job mounts a /tmp of its own over the zygote's, but a working folder inside
    the zygote's /tmp would still lead to the one under it, shared by every job of this
    sandbox: a relative path written by one job would be there for the next file's. A
    job starts in / of its own mount namespace (fails without the chdir in isolate_job)."""
    box = sandbox_started_elsewhere
    wrote = box.run("test:write", {"path": "planted-by-an-earlier-file"}, files, LIMITS)
    found = box.run("test:read", {"path": "planted-by-an-earlier-file"}, files, LIMITS)
    seen = box.run("test:list", {"paths": ["/proc/self/cwd"]}, files, LIMITS)
    assert found["succeeded"] is False, (wrote, found, seen)
    assert seen["p0"] == box.run("test:list", {"paths": ["/"]}, files, LIMITS)["p0"]


def test_a_job_has_no_way_to_send_itself_sigcont(sandbox: Sandbox, files: list[int]) -> None:
    """The rules behind test_a_job_cannot_cancel_its_stop, one call at a time, including
    a signal number with the register's upper half set (the kernel reads an int there)
    and the calls that raise a signal later (F_SETSIG, a POSIX timer). Other signals
    stay allowed."""
    assert sandbox.run("test:sigcont-paths", {}, files, LIMITS) == {
        "kill": False,
        "kill_disguised": False,
        "tkill": False,
        "tgkill": False,
        "sigqueueinfo": False,
        "fcntl_setsig": False,
        "fcntl_setsig_disguised": False,
        "timer": False,
        "kill_other": True,
        "fcntl_other": True,
    }


def test_a_job_cannot_map_its_output_shared(sandbox: Sandbox, files: list[int]) -> None:
    """The rules behind test_the_kernel_writes_nothing_into_the_output_after_the_answer:
    the job holds its output write-only and the file is write-only for its owner while the
    job runs (cdr.sandbox.write_only), so it can neither map it (a descriptor that cannot
    read cannot be mapped, not even read-only, which mprotect could otherwise make
    writable) nor reopen it readable; and no writable shared mapping of any file. What
    parsers need still works: a read-only shared mapping of a read-only file (fonts), a
    private or an anonymous mapping."""
    mode = stat.S_IMODE(os.fstat(files[1]).st_mode)
    assert sandbox.run("test:shared-mapping-paths", {}, files, LIMITS) == {
        "output_reopened_readable": False,
        "output_reopened_read_write": False,
        "output_shared_read": False,
        "output_shared_rw": False,
        "own_file_shared_rw": False,
        "own_file_shared_validate_rw": False,
        "read_only_file_shared_read": True,
        "own_file_private_rw": True,
        "anonymous_shared": True,
    }
    assert stat.S_IMODE(os.fstat(files[1]).st_mode) == mode  # given back to the parent as it was
