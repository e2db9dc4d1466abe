"""The fork server that lives inside the sandbox.

Started once by ``cdr.sandbox.Sandbox`` under bubblewrap, it imports the parsers once and
then, for every request that arrives on its Unix socket (a small JSON header plus the
input and output file descriptors), forks a fresh child. The child confines itself
(``cdr.confine``), runs exactly one operation and reports a small JSON result on a pipe;
errors cross as the exit code of ``cdr.errors``. The zygote itself never parses
untrusted bytes: it only forks, waits, enforces the wall-clock deadline and reports.
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
from typing import Any

from cdr.confine import ChildLimits, confine, export_filter, seccomp_available
from cdr.errors import MemoryLimit, OutputTooLarge, SanitizeError

MAX_REQUEST = 1 << 20
MAX_RESULT = 512 << 10
RESULT_OK = 0
RESULT_CRASH_CODE = 99


def _child(request: dict[str, Any], fds: list[int], result_fd: int, bpf: bytes | None) -> None:
    """Runs in the forked child; never returns."""
    code = RESULT_CRASH_CODE
    try:
        os.setsid()
        limits = ChildLimits(**request["limits"])
        confine(limits, bpf if request.get("seccomp", True) else None)
        from cdr.sanitizers.registry import run_operation

        result = run_operation(
            request["op"], request.get("params", {}), fds, allow_test_ops=request.get("test_ops", False)
        )
        payload: dict[str, Any] = {"result": result}
        code = RESULT_OK
    except SanitizeError as exc:
        payload, code = {"error": exc.reason, "message": str(exc)}, exc.code
    except MemoryError:
        payload, code = {"error": "memory-limit", "message": "memory limit reached"}, MemoryLimit.code
    except OSError as exc:
        if exc.errno == 27:  # EFBIG: RLIMIT_FSIZE (Python ignores SIGXFSZ)
            payload, code = (
                {"error": "output-too-large", "message": "output size limit reached"},
                OutputTooLarge.code,
            )
        else:
            payload, code = (
                {"error": "sanitize-failed", "message": f"{type(exc).__name__}: {exc}"},
                SanitizeError.code,
            )
    except BaseException as exc:  # noqa: BLE001 - a parser may raise anything on hostile input
        payload, code = (
            {"error": "sanitize-failed", "message": f"{type(exc).__name__}: {exc}"[:500]},
            SanitizeError.code,
        )
    try:
        data = json.dumps(payload, ensure_ascii=False, default=str).encode()[:MAX_RESULT]
        while data:
            written = os.write(result_fd, data)
            data = data[written:]
    except BaseException:  # noqa: BLE001 - nothing more a dying child can do
        pass
    os._exit(code)


def _wait(pid: int, result_fd: int, deadline: float) -> tuple[str, int, bytes]:
    """Collect the child's result while enforcing the deadline; kill its group on expiry."""
    pidfd = os.pidfd_open(pid)
    chunks: list[bytes] = []
    size = 0
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(result_fd, select.POLLIN)
    timed_out = False
    exited = False
    while not exited:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
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
    if timed_out:
        for sig in (signal.SIGKILL,):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
    _, status = os.waitpid(pid, 0)
    os.close(pidfd)
    try:  # drain what the child wrote before it exited
        os.set_blocking(result_fd, False)
        while size < MAX_RESULT:
            chunk = os.read(result_fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except BlockingIOError:
        pass
    if timed_out:
        return "timeout", 0, b""
    if os.WIFSIGNALED(status):
        return "signaled", os.WTERMSIG(status), b"".join(chunks)
    return "exited", os.WEXITSTATUS(status), b"".join(chunks)


def _reap_strays() -> None:
    """Children of children may outlive them; as PID 1's child we may inherit them."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def serve(sock: socket.socket) -> None:
    bpf = export_filter(allow_exec=False) if seccomp_available() else None
    sock.sendall(json.dumps({"ready": True, "seccomp": bpf is not None}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 4)
        except (ConnectionResetError, OSError):
            return
        if not message:
            return
        request = json.loads(message)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            sock.close()
            os.close(read_end)
            _child(request, fds, write_end, bpf)
        os.close(write_end)
        for fd in fds:
            os.close(fd)
        deadline = time.monotonic() + float(request["wall_time"])
        status, value, payload = _wait(pid, read_end, deadline)
        os.close(read_end)
        _reap_strays()
        reply = {"status": status, "value": value, "payload": payload.decode("utf-8", "replace")}
        sock.sendall(json.dumps(reply).encode())


def main() -> None:
    fd = int(sys.argv[1])
    # Preload the parsers once so that each forked child starts with them imported.
    import cdr.sanitizers.registry  # noqa: F401
    from cdr.warmup import warm_up

    warm_up()
    gc.freeze()  # children then do not dirty every page of the heap when their GC runs

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with socket.socket(fileno=fd) as sock:
        serve(sock)


if __name__ == "__main__":
    main()
