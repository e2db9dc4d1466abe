"""Review of the spare job, the early answer and the write-only output (cdr/zygote.py,
cdr/confine.py, cdr/sandbox.py): each test shows one suspected defect (test-only
operations in cdr/sanitizers/selftest.py)."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdr.policy import Limits
from cdr.sandbox import Sandbox

LIMITS = Limits(wall_time=10, cpu_time=5, memory=512 << 20)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox("required") as box:
        yield box


@pytest.fixture
def files(tmp_path: Path) -> Iterator[list[int]]:
    source = tmp_path / "in.bin"
    source.write_bytes(b"%PDF-1.7 some input\n")
    opened = [os.open(source, os.O_RDONLY), os.open(tmp_path / "out.bin", os.O_RDWR | os.O_CREAT, 0o600)]
    yield opened
    for fd in opened:
        os.close(fd)


def _output(fd: int) -> bytes:
    return os.pread(fd, 1 << 24, 0)


def test_a_job_cannot_make_its_output_readable_again(sandbox: Sandbox, files: list[int]) -> None:
    """write_only makes the output 0200 while the job runs, but the job's uid owns the
    file: fchmod on its write-only descriptor gives the mode back, the file reopens
    read-write, maps shared read-only (allowed for fonts) and mprotect makes the mapping
    writable: the shared mapping the filter and write_only were there to prevent."""
    mode = stat.S_IMODE(os.fstat(files[1]).st_mode)
    answer = sandbox.run("test:chmod-output-paths", {}, files, LIMITS)
    assert answer == {"mapped_writable": False, "error": "Operation not permitted"}
    assert stat.S_IMODE(os.fstat(files[1]).st_mode) == mode


def test_the_kernel_writes_nothing_into_the_output_after_a_chmod(sandbox: Sandbox, files: list[int]) -> None:
    """test_the_kernel_writes_nothing_into_the_output_after_the_answer, with the mapping
    made through the fchmod above."""
    for _ in range(3):
        os.ftruncate(files[1], 0)
        answer = sandbox.run("test:exit-writes-after-chmod", {"threads": 12, "pages": 2048}, files, LIMITS)
        at_answer = _output(files[1])
        time.sleep(0.3)
        assert _output(files[1]) == at_answer, answer
        assert answer == {"mapped": False, "error": "Operation not permitted"}


def test_a_request_larger_than_the_spares_socket_buffer_is_served(sandbox: Sandbox, files: list[int]) -> None:
    """The parent's socket takes requests up to 1 MiB (REPLY_BUFFER, MAX_REQUEST); a
    request of a few hundred KiB (a large policy, an archive's `unconverted` table) must
    reach the spare too, whose socketpair has the default buffer (~208 KiB)."""
    assert sandbox.run("test:sleep", {"seconds": 0, "pad": "x" * 400_000}, files, LIMITS) == {}
