"""The fork server that lives inside the sandbox.

Started once by ``cdr.sandbox.Sandbox`` under bubblewrap, it imports the parsers once,
moves into a user and PID namespace of its own (the process that started it only waits),
and then, for every request that arrives on its Unix socket (a small JSON header plus the
input and output file descriptors), forks one job:

    bubblewrap (PID 1) ── waiter ── zygote (PID 1 of its own namespace)
                                       └── job: PID 1 of a fresh PID namespace, with its
                                           own mounts (/tmp, /dev/shm) and IPC; confined
                                           (``cdr.confine``), runs one operation, reports a
                                           small JSON result on a pipe and exits.

When the job exits, the kernel kills every process left in its PID namespace. The zygote
itself never parses untrusted bytes: it forks, waits, enforces the wall-clock deadline
and reports, under a seccomp filter of its own, and is not dumpable. Without namespaces
(``isolation: best-effort``) it is a subreaper instead and sweeps whatever a job left.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import select
import signal
import socket
import sys
import time
from typing import Any, NoReturn

from cdr.confine import (
    ChildLimits,
    become_subreaper,
    confine,
    drop_capabilities,
    enter_zygote_namespaces,
    export_filter,
    isolate_job,
    load_bpf,
    next_child_in,
    next_child_in_new_pid_namespace,
    seccomp_available,
    set_dumpable,
)
from cdr.errors import JOB_DIED, BadAnswer, MemoryLimit, OutputTooLarge, SanitizeError
from cdr.wire import MAX_ANSWER, Envelope, Hello, check_request

MAX_REQUEST = 1 << 20
# The zygote passes at most this much of a job's answer on: one byte more than an answer
# may hold, so that the parent can tell an answer that was cut.
MAX_RESULT = MAX_ANSWER + 1
RESULT_OK = 0
RESULT_CRASH_CODE = JOB_DIED


def _encode(payload: dict[str, Any], code: int) -> tuple[bytes, int]:
    # A parser's text may hold lone surrogates (names decoded with surrogateescape); they
    # have no UTF-8 form, so they cross as "?" rather than crash the answer.
    data = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8", "replace")
    if len(data) > MAX_ANSWER:
        message = f"the answer was longer than {MAX_ANSWER} bytes"
        return json.dumps({"error": BadAnswer.reason, "message": message}).encode(), BadAnswer.code
    return data, code


def _report(result_fd: int, data: bytes) -> None:
    try:
        while data:
            written = os.write(result_fd, data)
            data = data[written:]
    except BaseException:  # noqa: BLE001 - nothing more a dying child can do
        pass


def _run(request: dict[str, Any], fds: list[int]) -> tuple[dict[str, Any], int]:
    """One operation, with every failure turned into an error payload and exit code."""
    try:
        from cdr.sanitizers.registry import run_operation

        check_request(request["op"], request.get("params", {}))
        result = run_operation(
            request["op"], request.get("params", {}), fds, allow_test_ops=request.get("test_ops", False)
        )
        return {"result": result}, RESULT_OK
    except SanitizeError as exc:
        return {"error": exc.reason, "message": str(exc)}, exc.code
    except MemoryError:
        return {"error": "memory-limit", "message": "memory limit reached"}, MemoryLimit.code
    except OSError as exc:
        if exc.errno == errno.EFBIG:  # RLIMIT_FSIZE (Python ignores SIGXFSZ)
            return {"error": "output-too-large", "message": "output size limit reached"}, OutputTooLarge.code
        return {"error": "sanitize-failed", "message": f"{type(exc).__name__}: {exc}"}, SanitizeError.code
    except BaseException as exc:  # noqa: BLE001 - a parser may raise anything on hostile input
        return {
            "error": "sanitize-failed",
            "message": f"{type(exc).__name__}: {exc}"[:500],
        }, SanitizeError.code


def _job(
    request: dict[str, Any], fds: list[int], result_fd: int, bpf: bytes | None, isolate: bool
) -> NoReturn:
    """Runs in the job process; never returns."""
    code = RESULT_CRASH_CODE
    payload: dict[str, Any] = {"error": "sandbox-crash", "message": "the job could not confine itself"}
    try:
        if isolate:
            isolate_job(int(request["limits"]["memory"]))
        drop_capabilities()
        confine(ChildLimits(**request["limits"]), bpf)
        payload, code = _run(request, fds)
    except BaseException:  # noqa: BLE001 - confinement failed: run nothing
        pass
    data, code = _encode(payload, code)
    _report(result_fd, data)
    os._exit(code)


def _fork_job(own_pid_namespace: int | None) -> int:
    """fork(), the child being PID 1 of a fresh PID namespace when namespaces are in use."""
    if own_pid_namespace is None:
        return os.fork()
    next_child_in_new_pid_namespace()
    try:
        pid = os.fork()
    except BaseException:
        next_child_in(own_pid_namespace)
        raise
    if pid != 0:
        next_child_in(own_pid_namespace)  # so that the next job gets a fresh one too
    return pid


def _wait(pid: int, result_fd: int, deadline: float) -> tuple[str, int, bytes]:
    """Collect the job's result while enforcing the deadline; kill the job on expiry (as
    PID 1 of its namespace, it takes every process it started with it)."""
    pidfd = os.pidfd_open(pid)
    chunks: list[bytes] = []
    size = 0
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(result_fd, select.POLLIN)
    timed_out = exited = False
    while not exited:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        for fd, _ in poller.poll(remaining * 1000):
            if fd == result_fd:
                chunk = os.read(result_fd, 65536)
                if not chunk:
                    poller.unregister(result_fd)
                elif size < MAX_RESULT:
                    chunks.append(chunk)
                    size += len(chunk)
            elif fd == pidfd:
                exited = True
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    chunks += _drain(result_fd, MAX_RESULT - size)
    answer = b"".join(chunks)[:MAX_RESULT]
    if timed_out:
        return "timeout", 0, b""
    if os.WIFSIGNALED(status):
        return "signaled", os.WTERMSIG(status), answer
    return "exited", os.WEXITSTATUS(status), answer


def _drain(result_fd: int, budget: int) -> list[bytes]:
    """What the job wrote before it exited and the poll loop did not read yet."""
    chunks: list[bytes] = []
    os.set_blocking(result_fd, False)
    try:
        while budget > 0:
            chunk = os.read(result_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            budget -= len(chunk)
    except BlockingIOError:
        pass
    return chunks


def _children() -> list[int]:
    # numbered as /proc numbers them: the zygote's own numbers only without namespaces
    with open("/proc/thread-self/children") as handle:
        return [int(pid) for pid in handle.read().split()]


def _sweep() -> None:
    """Without per-job namespaces, kill and reap whatever a job left behind (orphans come
    to us, as a subreaper, and their own children after them)."""
    while children := _children():
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _enter_own_namespaces(sock_fd: int) -> bool:
    """Move the zygote into a user and PID namespace of its own; False if the kernel or
    bubblewrap refuses. The process that called this only waits for the zygote to end."""
    try:
        enter_zygote_namespaces()
    except OSError:
        return False
    pid = os.fork()
    if pid == 0:
        return True  # PID 1 of the new namespace: the zygote from here on
    os.close(sock_fd)
    os.waitpid(pid, 0)
    os._exit(0)


def _jobs_can_isolate(own_pid_namespace: int) -> bool:
    """Whether a job really gets its PID, mount and IPC namespaces here."""
    pid = _fork_job(own_pid_namespace)
    if pid == 0:
        try:
            isolate_job(1 << 20)
            os._exit(0 if os.getpid() == 1 else 1)
        except BaseException:  # noqa: BLE001
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def serve(sock: socket.socket, job_bpf: bytes | None, own_pid_namespace: int | None) -> None:
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 4)
        except OSError:
            return
        if not message:
            return
        request = json.loads(message)
        # A job without its filter exists only for the sandbox's own tests (two layers
        # shown to hold one at a time); the parent never asks for it otherwise.
        bpf = job_bpf if request.get("seccomp", True) or not request.get("test_ops") else None
        read_end, write_end = os.pipe()
        pid = _fork_job(own_pid_namespace)
        if pid == 0:
            sock.close()
            os.close(read_end)
            _job(request, fds, write_end, bpf, own_pid_namespace is not None)
        os.close(write_end)
        for fd in fds:
            os.close(fd)
        status, value, payload = _wait(pid, read_end, time.monotonic() + float(request["wall_time"]))
        os.close(read_end)
        if own_pid_namespace is None:
            _sweep()
        sock.sendall(Envelope(status, value, payload).encode())


def main() -> None:
    fd = int(sys.argv[1])
    # Preload the parsers once so that each forked job starts with them imported.
    import cdr.sanitizers.registry  # noqa: F401
    from cdr.warmup import warm_up

    warm_up()
    gc.freeze()  # jobs then do not dirty every page of the heap when their GC runs

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    set_dumpable(False)
    job_bpf = zygote_bpf = None
    if seccomp_available():
        job_bpf, zygote_bpf = export_filter(allow_exec=False), export_filter(False, profile="zygote")
    own_pid_namespace = None
    if _enter_own_namespaces(fd):
        own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    if zygote_bpf is not None:
        load_bpf(zygote_bpf)
    if own_pid_namespace is not None and not _jobs_can_isolate(own_pid_namespace):
        os.close(own_pid_namespace)
        own_pid_namespace = None
    if own_pid_namespace is None:
        become_subreaper()
    with socket.socket(fileno=fd) as sock:
        sock.sendall(Hello(job_bpf is not None, own_pid_namespace is not None).encode())
        serve(sock, job_bpf, own_pid_namespace)


if __name__ == "__main__":
    main()
