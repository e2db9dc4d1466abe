"""The fork server that lives inside the sandbox.

Started once by ``cdr.sandbox.Sandbox`` under bubblewrap, it imports the parsers once and
then, for every request that arrives on its Unix socket (a small JSON header plus the
input and output file descriptors), starts one job:

    zygote ── keeper (fresh user, PID, mount and IPC namespaces; a private /tmp)
                 └── job: PID 1 of its namespace, confined (``cdr.confine``), runs one
                     operation, reports a small JSON result on a pipe and exits.

When the job exits, the kernel kills every process left in its PID namespace; the keeper
passes its exit status on. The zygote is a subreaper and sweeps whatever is still its
child after each job, so nothing a job started is alive when the next one begins. The
zygote itself never parses untrusted bytes: it forks, waits, enforces the wall-clock
deadline and reports, under a seccomp filter of its own, and is not dumpable.
"""

from __future__ import annotations

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
    enter_job_namespaces,
    export_filter,
    load_bpf,
    seccomp_available,
    set_dumpable,
)
from cdr.errors import BadAnswer, MemoryLimit, OutputTooLarge, SanitizeError
from cdr.wire import MAX_ANSWER, Envelope

MAX_REQUEST = 1 << 20
# The zygote passes at most this much of a job's answer on: one byte more than an answer
# may hold, so that the parent can tell an answer that was cut.
MAX_RESULT = MAX_ANSWER + 1
RESULT_OK = 0
RESULT_CRASH_CODE = 99


def _encode(payload: dict[str, Any], code: int) -> tuple[bytes, int]:
    data = json.dumps(payload, ensure_ascii=False, default=str).encode()
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

        result = run_operation(
            request["op"], request.get("params", {}), fds, allow_test_ops=request.get("test_ops", False)
        )
        return {"result": result}, RESULT_OK
    except SanitizeError as exc:
        return {"error": exc.reason, "message": str(exc)}, exc.code
    except MemoryError:
        return {"error": "memory-limit", "message": "memory limit reached"}, MemoryLimit.code
    except OSError as exc:
        if exc.errno == 27:  # EFBIG: RLIMIT_FSIZE (Python ignores SIGXFSZ)
            return {"error": "output-too-large", "message": "output size limit reached"}, OutputTooLarge.code
        return {"error": "sanitize-failed", "message": f"{type(exc).__name__}: {exc}"}, SanitizeError.code
    except BaseException as exc:  # noqa: BLE001 - a parser may raise anything on hostile input
        return {"error": "sanitize-failed", "message": f"{type(exc).__name__}: {exc}"[:500]}, SanitizeError.code


def _job(request: dict[str, Any], fds: list[int], result_fd: int, bpf: bytes | None) -> NoReturn:
    """Runs in the job process; never returns."""
    code = RESULT_CRASH_CODE
    payload: dict[str, Any] = {"error": "sandbox-crash", "message": "the job could not confine itself"}
    try:
        drop_capabilities()
        confine(ChildLimits(**request["limits"]), bpf)
        payload, code = _run(request, fds)
    except BaseException:  # noqa: BLE001 - confinement failed: run nothing
        pass
    data, code = _encode(payload, code)
    _report(result_fd, data)
    os._exit(code)


def _keeper(request: dict[str, Any], fds: list[int], result_fd: int, bpf: bytes | None, isolate: bool) -> NoReturn:
    """Give the job its namespaces, start it, and pass its end on as an exit status."""
    code = RESULT_CRASH_CODE
    try:
        if isolate:
            enter_job_namespaces(int(request["limits"]["memory"]))
        pid = os.fork()
        if pid == 0:
            _job(request, fds, result_fd, bpf)
        os.close(result_fd)
        for fd in fds:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    except BaseException as exc:  # noqa: BLE001 - the job never started: say why
        _report(result_fd, _encode({"error": "sandbox-crash", "message": f"cannot isolate the job: {exc}"}, 0)[0])
    os._exit(code)


def _wait(pid: int, result_fd: int, deadline: float) -> tuple[str, int, bytes]:
    """Collect the job's result while enforcing the deadline; kill the keeper on expiry."""
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
            os.kill(pid, signal.SIGKILL)  # the job is swept below, once it is our orphan
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
    _sweep()
    chunks += _drain(result_fd, MAX_RESULT - size)
    answer = b"".join(chunks)[:MAX_RESULT]
    if timed_out:
        return "timeout", 0, b""
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    if code > 128:
        return "signaled", code - 128, answer
    return "exited", code, answer


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
    own = os.getpid()
    with open(f"/proc/{own}/task/{own}/children") as handle:
        return [int(pid) for pid in handle.read().split()]


def _sweep() -> None:
    """Kill and reap every process still our child: a job whose keeper was killed, or —
    without per-job namespaces — whatever a job left behind (orphans come to us, as a
    subreaper, and their own children after them)."""
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


def _job_namespaces_work() -> bool:
    """Whether this kernel and bubblewrap let a job have namespaces of its own."""
    pid = os.fork()
    if pid == 0:
        try:
            enter_job_namespaces(1 << 20)
            child = os.fork()
            if child == 0:
                os._exit(0 if os.getpid() == 1 else 1)
            os._exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
        except BaseException:  # noqa: BLE001
            os._exit(1)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def serve(sock: socket.socket, job_bpf: bytes | None, isolate: bool) -> None:
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
        pid = os.fork()
        if pid == 0:
            sock.close()
            os.close(read_end)
            _keeper(request, fds, write_end, bpf, isolate)
        os.close(write_end)
        for fd in fds:
            os.close(fd)
        status, value, payload = _wait(pid, read_end, time.monotonic() + float(request["wall_time"]))
        os.close(read_end)
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
    become_subreaper()
    job_bpf = zygote_bpf = None
    if seccomp_available():
        job_bpf, zygote_bpf = export_filter(allow_exec=False), export_filter(False, profile="zygote")
        load_bpf(zygote_bpf)
    isolate = _job_namespaces_work()
    with socket.socket(fileno=fd) as sock:
        hello = {"ready": True, "seccomp": job_bpf is not None, "job_namespaces": isolate}
        sock.sendall(json.dumps(hello).encode())
        serve(sock, job_bpf, isolate)


if __name__ == "__main__":
    main()
