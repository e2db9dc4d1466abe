"""A compromised parser tries to escape, outlive or share its job (issue #8 §3).

Each attempt runs in the real sandbox as a test-only operation (cdr/sanitizers/selftest.py).
Where two layers stop an attempt, it runs twice: with the job's seccomp filter and
without it (test-only), so that each layer is shown to hold on its own.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cdr.policy import Limits
from cdr.sandbox import Sandbox

LIMITS = Limits(wall_time=10, cpu_time=5, memory=512 << 20)
SECRET = "cdr-test-secret-5f1c"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    os.environ["CDR_TEST_SECRET"] = SECRET  # the parent's environment holds a secret
    try:
        with Sandbox("required") as box:
            yield box
    finally:
        os.environ.pop("CDR_TEST_SECRET", None)


@pytest.fixture
def spooled(tmp_path: Path) -> Path:
    original = tmp_path / "spool" / "original.pdf"
    original.parent.mkdir()
    original.write_bytes(b"%PDF-1.7 the original that may go to quarantine\n")
    return original


@pytest.fixture
def fds(spooled: Path, tmp_path: Path) -> Iterator[list[int]]:
    # opened the way the pipeline opens a file it must not change: read-only
    opened = [os.open(spooled, os.O_RDONLY), os.open(tmp_path / "out.bin", os.O_RDWR | os.O_CREAT)]
    yield opened
    for fd in opened:
        os.close(fd)


def _others_settle_at_four(sandbox: Sandbox, fds: list[int]) -> bool:
    """What the next job sees besides itself comes down to bubblewrap, the waiter, the
    zygote and the spare forked for the file after it. A job killed after its early
    answer may still be visible while the kernel tears it down, for a few milliseconds."""
    for _ in range(40):
        found = sandbox.run("test:look-for-leftovers", {"marker": "none", "daemon": 999999}, fds, LIMITS)
        if found["processes"] == 4:
            return True
        time.sleep(0.05)
    return False


def _zygote_alive(sandbox: Sandbox) -> int:
    assert sandbox._proc is not None and sandbox._proc.poll() is None
    return sandbox._proc.pid


@pytest.mark.parametrize("seccomp", [True, False], ids=["with-seccomp", "without-seccomp"])
def test_cannot_reach_the_zygote_its_waiter_or_bubblewrap(
    sandbox: Sandbox, fds: list[int], seccomp: bool
) -> None:
    """Writing another process's memory (/proc/PID/mem, process_vm_writev), ptrace, its
    descriptors, signals: stopped by non-dumpable processes without capabilities and the
    job's own PID namespace; seccomp refuses ptrace and process_vm_writev besides."""
    before = _zygote_alive(sandbox)
    counts = sandbox.run("test:reach-others", {}, fds, LIMITS, seccomp=seccomp)
    # it can see bubblewrap, the waiter, the zygote and the spare for the next file in /proc
    assert counts["targets"] >= 4
    assert {k: v for k, v in counts.items() if k != "targets"} == {
        "memory": 0,
        "vm_write": 0,
        "ptrace": 0,
        "fds": 0,
        "signal": 0,
        "pidfd_signal": 0,
    }
    assert _zygote_alive(sandbox) == before
    assert sandbox.run("identify", {"name": "a.pdf"}, fds[:1], LIMITS).file_type.value == "pdf"


@pytest.mark.parametrize("seccomp", [True, False], ids=["with-seccomp", "without-seccomp"])
def test_cannot_write_the_input_back(sandbox: Sandbox, fds: list[int], spooled: Path, seccomp: bool) -> None:
    """The job gets a sealed memfd copy: no write through the descriptor, none through
    /proc/self/fd/N reopened read-write, no truncation; the spooled original is untouched."""
    original = spooled.read_bytes()
    result = sandbox.run("test:write-input", {}, fds, LIMITS, seccomp=seccomp)
    assert result == {"descriptor": False, "reopened": False, "truncated": False, "size": len(original)}
    assert spooled.read_bytes() == original


def test_a_daemon_does_not_outlive_its_job_with_seccomp(sandbox: Sandbox, fds: list[int]) -> None:
    """With the job's filter, creating a process at all is refused."""
    result = sandbox.run("test:leave-daemon", {"delay": 0.5, "marker": "m"}, fds, LIMITS)
    assert result["forked"] is False and "not permitted" in result["error"]


def test_a_daemon_does_not_outlive_its_job_without_seccomp(sandbox: Sandbox, fds: list[int]) -> None:
    """Without the filter, a double-forked, detached daemon is killed with its job's PID
    namespace: it never writes its marker nor signals the zygote, and the next job finds
    neither it nor anything it left in /tmp or /dev/shm."""
    before = _zygote_alive(sandbox)
    params = {"delay": 1.0, "marker": "left-behind"}
    started = sandbox.run("test:leave-daemon", params, fds, LIMITS, seccomp=False)
    assert started["forked"] is True and started["daemon"] > 0
    time.sleep(1.5)  # past the moment the daemon meant to act
    found = sandbox.run(
        "test:look-for-leftovers", {"marker": "left-behind", "daemon": started["daemon"]}, fds, LIMITS
    )
    assert found["daemon_alive"] is False and found["markers"] == []
    # bubblewrap, the waiter, the zygote, and the spare forked for the file after this one
    assert found["processes"] == 4
    assert _zygote_alive(sandbox) == before


def test_fork_bomb_is_bounded_and_the_sandbox_goes_on(sandbox: Sandbox, fds: list[int]) -> None:
    """A job is one process (threads only): the first fork is refused; the next file works."""
    before = _zygote_alive(sandbox)
    assert sandbox.run("test:fork-bomb", {"limit": 500}, fds, LIMITS) == {"forked": 0}
    assert _zygote_alive(sandbox) == before
    assert _others_settle_at_four(sandbox, fds)
    assert sandbox.run("identify", {"name": "a.pdf"}, fds[:1], LIMITS).file_type.value == "pdf"


def test_a_thread_bomb_is_bounded_by_the_address_space(sandbox: Sandbox, fds: list[int]) -> None:
    """Threads are allowed (parsers use them); each stack counts against the job's
    address-space limit, so their number is bounded too, and they die with the job."""
    started = sandbox.run("test:thread-bomb", {"limit": 100_000}, fds, LIMITS)["threads"]
    assert 0 < started < (LIMITS.memory >> 20)  # far fewer than one per MiB
    assert _others_settle_at_four(sandbox, fds)


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="the kernel exempts uid 0 from RLIMIT_NPROC, and a sandbox started by root is root outside "
    "its namespaces; the appliance runs as the user cdr (systemd/cdr-watch.service)",
)
def test_a_thread_bomb_with_small_stacks_is_bounded_by_the_task_limit(sandbox: Sandbox, fds: list[int]) -> None:
    """With 64 KiB stacks the address space alone let 618 threads start (measured), each a PID of
    the host's; the job's task limit (RLIMIT_NPROC, counted in the zygote's user namespace)
    stops them at a few hundred, and the next file still gets its job."""
    started = sandbox.run("test:thread-bomb", {"limit": 5000, "stack": 65536}, fds, LIMITS)["threads"]
    assert 0 < started < 256
    assert _others_settle_at_four(sandbox, fds)


def test_a_fork_bomb_without_seccomp_dies_with_its_job(sandbox: Sandbox, fds: list[int]) -> None:
    """Without the filter, the processes a bomb made (a bounded number, for the test's
    sake) are all gone when the job ends."""
    assert sandbox.run("test:fork-bomb", {"limit": 20}, fds, LIMITS, seccomp=False) == {"forked": 20}
    assert _others_settle_at_four(sandbox, fds)


@pytest.mark.parametrize("seccomp", [True, False], ids=["with-seccomp", "without-seccomp"])
def test_the_parents_environment_is_nowhere_inside(sandbox: Sandbox, fds: list[int], seccomp: bool) -> None:
    """bubblewrap starts with an empty environment and --clearenv; no /proc/*/environ the
    job can read (its own, bubblewrap's) holds the secret the parent has."""
    assert os.environ["CDR_TEST_SECRET"] == SECRET
    result = sandbox.run("test:find-environment", {"needle": SECRET}, fds, LIMITS, seccomp=seccomp)
    assert result["found"] == []
    assert result["readable"] >= 1  # at least its own: the search did look


def test_bubblewrap_holds_no_environment(sandbox: Sandbox) -> None:
    """The sandbox's PID 1 is bubblewrap itself, started with an empty environment: read
    from outside, none of its processes (nor the zygote's) holds the parent's secret."""
    assert sandbox._proc is not None
    for pid in [sandbox._proc.pid, *_descendants(sandbox._proc.pid)]:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue  # a job that ended since the listing
        assert SECRET.encode() not in environ and b"CDR_ALLOW_TEST_OPS" not in environ


def test_home_folders_and_the_checkout_are_not_visible(sandbox: Sandbox, fds: list[int]) -> None:
    """Only what the interpreter needs is bound: under /root only the way to the pyenv
    version and to the venv (when the checkout lies there), under the checkout only the
    venv; /home does not exist."""
    import sys

    checkout = Path(__file__).resolve().parent.parent
    paths = ["/root", "/home", str(checkout), "/root/.pyenv", os.path.expanduser("~/.ssh")]
    seen = sandbox.run("test:list", {"paths": paths}, fds, LIMITS)
    inside_root = {p.parts[2] for p in (Path(sys.base_prefix), checkout) if p.parts[1:2] == ("root",)}
    assert set(seen["p0"]) <= inside_root | {"-"}
    assert seen["p1"] == ["-"]
    assert set(seen["p2"]) <= {".venv", "-"}
    assert set(seen["p3"]) <= {"versions", "-"}
    assert seen["p4"] == ["-"]


def test_jobs_do_not_share_tmp(sandbox: Sandbox, fds: list[int]) -> None:
    """Each job has its own /tmp and /dev/shm; /dev is read-only."""
    for path in ("/tmp/shared", "/dev/shm/shared"):
        assert sandbox.run("test:write", {"path": path}, fds, LIMITS)["succeeded"] is True
        assert sandbox.run("test:read", {"path": path}, fds, LIMITS)["succeeded"] is False
    assert sandbox.run("test:write", {"path": "/dev/planted"}, fds, LIMITS)["succeeded"] is False


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []  # a job that ended since its parent was read
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children = list(map(int, handle.read().split()))
        except FileNotFoundError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def _status(pid: int) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)


def _live_pythons(sandbox: Sandbox) -> dict[int, list[bytes]]:
    """The sandbox's Python processes that are not on their way out, with their argv."""
    assert sandbox._proc is not None
    argv = {}
    for pid in _descendants(sandbox._proc.pid):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if b"cdr.zygote" in args and not args[0].endswith(b"bwrap") and state not in "ZX":
            argv[pid] = args
    return argv


def test_the_zygote_and_each_job_are_confined(sandbox: Sandbox, fds: list[int]) -> None:
    """The zygote: its own seccomp filter, no new privileges, a user namespace of its own
    (its capabilities reach only what that namespace owns). A job: PID 1 of its own
    namespace, its filter on top, no capability, not dumpable."""
    assert sandbox._proc is not None
    sandbox.run("identify", {"name": "a.pdf"}, fds[:1], LIMITS)  # a spare exists after a first job
    time.sleep(0.2)  # that job is killed after its answer and torn down by now
    pythons = _live_pythons(sandbox)
    assert len(pythons) == 3  # the waiter, the zygote, the spare for the next file; no job
    waiter, zygote, spare = sorted(pythons, key=lambda pid: len(_descendants(pid)), reverse=True)
    argv = {pid: Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in _descendants(sandbox._proc.pid)}
    status = _status(zygote)
    assert status["Seccomp"].strip() == "2" and status["NoNewPrivs"].strip() == "1"
    bubblewrap = max(pid for pid, args in argv.items() if args[0].endswith(b"bwrap"))  # its PID 1 inside
    assert os.readlink(f"/proc/{zygote}/ns/user") != os.readlink(f"/proc/{bubblewrap}/ns/user")
    assert os.readlink(f"/proc/{zygote}/ns/pid") != os.readlink(f"/proc/{waiter}/ns/pid")
    # The spare, before any input exists for it: namespaces of its own, not dumpable, and
    # no descriptor but stdio, its request socket and its answer pipe (nothing of the zygote's
    # socket to the parent, nor of the job that ran while it was forked).
    for kind in ("pid", "mnt", "ipc"):
        assert os.readlink(f"/proc/{spare}/ns/{kind}") != os.readlink(f"/proc/{zygote}/ns/{kind}")
    held = sorted(
        os.readlink(f"/proc/{spare}/fd/{fd}").split(":")[0]
        for fd in os.listdir(f"/proc/{spare}/fd")
        if int(fd) > 2
    )
    assert held == ["pipe", "socket"]
    assert _status(spare)["Seccomp"].strip() == "2"  # the zygote's filter; the job's comes on top
    job = sandbox.run("test:status", {}, fds, LIMITS)
    assert job["pid"] == 1 and job["seccomp"] == "2" and job["no_new_privs"] == "1"
    assert int(job["cap_effective"], 16) == 0 and int(job["cap_permitted"], 16) == 0
    assert job["dumpable"] == 0
    assert 0 < job["max_tasks"] <= 256  # RLIMIT_NPROC (it binds unless the sandbox runs as root)


def test_a_converter_does_not_see_the_parents_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LibreOffice and Tesseract run under bubblewrap too: its PID 1 (readable there)
    and the converter's own environment hold nothing of this process's."""
    from cdr.converters.exec_sandbox import run_converter

    monkeypatch.setenv("CDR_TEST_SECRET", SECRET)
    script = "tr '\\0' '\\n' < /proc/1/environ; echo ---; env"
    run = run_converter(["/usr/bin/sh", "-c", script], tmp_path, timeout=20)
    assert run.returncode == 0 and "---" in run.output and "PATH=/usr/bin:/bin" in run.output
    assert SECRET not in run.output


def test_a_job_that_answers_early_writes_nothing_after_its_answer(sandbox: Sandbox, tmp_path: Path) -> None:
    """The zygote answers once a job's whole answer is in, before the job's exit: it first
    stops the job and waits until the kernel says so, then kills it. A job that goes on
    appending to its output after its answer therefore adds nothing the parent could miss
    (the verification reads the output after this answer)."""
    data = tmp_path / "in.bin"
    data.write_bytes(b"input")
    output = tmp_path / "out.bin"
    with open(data, "rb") as source, open(output, "wb") as out:
        for _ in range(5):
            out.truncate(0)
            answered = sandbox.run("test:answer-then-write", {}, [source.fileno(), out.fileno()], LIMITS)
            size = os.fstat(out.fileno()).st_size
            assert size >= answered["written"] == 64
            time.sleep(0.2)
            assert os.fstat(out.fileno()).st_size == size


def test_a_spare_killed_while_it_waits_costs_no_file(sandbox: Sandbox, fds: list[int]) -> None:
    """The spare waiting for the next file dies from outside (the OOM killer, an operator's
    kill): the next file is handed to a fresh spare, not reported as a crash."""
    for _ in range(3):
        sandbox.run("identify", {"name": "a.pdf"}, fds[:1], LIMITS)
        time.sleep(0.2)  # the job before is torn down; only the spare has no children
        pythons = _live_pythons(sandbox)
        spare = min(pythons, key=lambda pid: len(_descendants(pid)))
        assert not _descendants(spare) and len(pythons) == 3
        os.kill(spare, signal.SIGKILL)
        time.sleep(0.1)
        assert sandbox.run("identify", {"name": "a.pdf"}, fds[:1], LIMITS).file_type.value == "pdf"


@pytest.mark.parametrize("seccomp", [True, False], ids=["with-seccomp", "without-seccomp"])
def test_a_job_cannot_hold_memory_its_limits_do_not_count(sandbox: Sandbox, fds: list[int], seccomp: bool) -> None:
    """A memfd's pages count against no limit of the job (not RLIMIT_AS while unmapped; its
    /tmp is a bounded tmpfs): 64 of them, each of the output's size, would be tens of GB.
    The job filter refuses memfd_create (without it, as a control, one is made)."""
    result = sandbox.run("test:memory-outside-limits", {}, fds, LIMITS, seccomp=seccomp)
    if seccomp:
        assert result == {"succeeded": False, "error": "PermissionError: Operation not permitted"}
    else:
        assert result["succeeded"] is True
