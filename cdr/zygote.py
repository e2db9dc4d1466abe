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

Two things keep a child's fixed cost off a file's path (issue 13), without ever giving
one job's process to a second job:

- **A spare.** With namespaces, the zygote keeps one job process forked ahead: forked,
  given its PID, mount and IPC namespaces and its /tmp, and waiting for a request on a
  socket of its own — before any untrusted byte exists for it. It has closed every
  descriptor but that socket and its answer pipe, so it holds nothing of another job;
  it is used for exactly one request and then dies like any job. The next spare is
  forked while the current job works.
- **An early answer.** A job frames its answer (length, exit code). Once the whole frame
  is in, the zygote stops the job (SIGSTOP, and waits until the kernel reports it
  stopped: no thread of it runs again, so it can no longer touch its output), answers
  the parent, and kills it; the kernel's teardown of its address space then overlaps
  the parent's next step instead of preceding it. A job that dies before its frame is
  complete is reported from its exit status, as before.
"""

from __future__ import annotations

import errno
import gc
import json
import os
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
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
# A job's answer on its pipe: the answer's length and the job's exit code, then the answer.
FRAME = struct.Struct("<IB")
LINGER_SECONDS = 2.0  # how long a job answered early waits for the zygote to end it


def _encode(payload: dict[str, Any], code: int) -> tuple[bytes, int]:
    # A parser's text may hold lone surrogates (names decoded with surrogateescape); they
    # have no UTF-8 form, so they cross as "?" rather than crash the answer.
    data = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8", "replace")
    if len(data) > MAX_ANSWER:
        message = f"the answer was longer than {MAX_ANSWER} bytes"
        return json.dumps({"error": BadAnswer.reason, "message": message}).encode(), BadAnswer.code
    return data, code


def frame(data: bytes, code: int) -> bytes:
    return FRAME.pack(len(data), code) + data


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
    request: dict[str, Any], fds: list[int], result_fd: int, bpf: bytes | None, answered_early: bool
) -> NoReturn:
    """Runs in the job process (its namespaces, if any, already taken); never returns.

    ``answered_early``: the zygote stops and kills this job once its answer is in, so it
    waits for that rather than exit by itself: a job already exiting cannot be stopped,
    and the zygote would wait for the whole teardown the early answer is there to skip."""
    code = RESULT_CRASH_CODE
    payload: dict[str, Any] = {"error": "sandbox-crash", "message": "the job could not confine itself"}
    try:
        drop_capabilities()
        confine(ChildLimits(**request["limits"]), bpf)
        payload, code = _run(request, fds)
    except BaseException:  # noqa: BLE001 - confinement failed: run nothing
        pass
    data, code = _encode(payload, code)
    _report(result_fd, frame(data, code))
    if answered_early:
        time.sleep(LINGER_SECONDS)  # the zygote's SIGKILL comes first
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


@dataclass
class _Ending:
    """How a job ended as far as its answer goes; ``reaped`` False: stopped and killed,
    still to be reaped (``_reap``)."""

    status: str
    value: int
    answer: bytes
    reaped: bool = True


def _framed(received: bytes) -> tuple[int, int] | None:
    """(length, code) once a whole frame that fits an answer is in, else None."""
    if len(received) < FRAME.size:
        return None
    length, code = FRAME.unpack_from(received)
    if length > MAX_ANSWER or len(received) < FRAME.size + length:
        return None
    return length, code


def _wait(pid: int, result_fd: int, deadline: float, early: bool) -> _Ending:
    """Collect the job's answer while enforcing the deadline; kill the job on expiry (as
    PID 1 of its namespace, it takes every process it started with it).

    ``early``: once the whole frame is in, stop the job and answer without waiting for
    its exit (see the module's docstring)."""
    pidfd = os.pidfd_open(pid)
    received = bytearray()
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(result_fd, select.POLLIN)
    timed_out = exited = False
    try:
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
                    elif len(received) < FRAME.size + MAX_RESULT:
                        received += chunk
                        whole = _framed(received) if early else None
                        if whole is not None and _stopped(pid, deadline):
                            os.kill(pid, signal.SIGKILL)
                            return _Ending("exited", whole[1], _answer(received), reaped=False)
                elif fd == pidfd:
                    exited = True
    finally:
        os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    received += b"".join(_drain(result_fd, FRAME.size + MAX_RESULT - len(received)))
    if timed_out:
        return _Ending("timeout", 0, b"")
    if os.WIFSIGNALED(status):
        return _Ending("signaled", os.WTERMSIG(status), _answer(received))
    return _Ending("exited", os.WEXITSTATUS(status), _answer(received))


def _answer(received: bytes) -> bytes:
    """The answer a frame holds; of an incomplete or oversized one, what came after its
    header, cut one byte past an answer's limit (the parent then tells it was cut)."""
    whole = _framed(received)
    if whole is not None:
        return bytes(received[FRAME.size : FRAME.size + whole[0]])
    return bytes(received[FRAME.size :][:MAX_RESULT])


def _stopped(pid: int, deadline: float) -> bool:
    """Stop the job and wait until the kernel says no thread of it runs any more (True);
    False when it has already exited (its exit status is then read as usual) or has not
    stopped by the deadline (the caller's loop then kills it as overdue). The job filter
    refuses every way a job could cancel the stop with a SIGCONT of its own; the deadline
    holds even so."""
    os.kill(pid, signal.SIGSTOP)  # a PID 1 cannot refuse it from an ancestor namespace
    pause = 0.0
    while True:
        result = os.waitid(os.P_PID, pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if result is not None:
            return result.si_code == os.CLD_STOPPED
        if time.monotonic() >= deadline:
            return False
        # a group stop takes microseconds: yield first, then sleep a little longer each time
        time.sleep(pause)
        pause = min(0.002, pause * 2 or 0.00005)


def _reap(pids: list[int]) -> None:
    """Reap the jobs stopped and killed after an early answer, as far as they are gone."""
    for pid in list(pids):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            pids.remove(pid)


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


@dataclass
class _Spare:
    """A job process forked ahead, waiting for its one request (see the module's docstring)."""

    pid: int
    channel: socket.socket  # the zygote's end: the request and its descriptors cross here
    result: int  # read end of the job's answer pipe
    tmp_bytes: int  # the size its /tmp was given: a request asking for another waits for a new spare


def _fork_spare(own_pid_namespace: int, tmp_bytes: int, job_bpf: bytes | None) -> _Spare:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # a request that reached the zygote must fit the spare's socket too (the default
    # buffer, ~208 KiB, is smaller than MAX_REQUEST: the send would fail EMSGSIZE)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, MAX_REQUEST)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, MAX_REQUEST)
    read_end, write_end = os.pipe()
    try:
        pid = _fork_job(own_pid_namespace)
    except BaseException:
        for fd in (ours.detach(), theirs.detach(), read_end, write_end):
            os.close(fd)
        raise
    if pid == 0:
        ours.detach()  # closed below with every other descriptor the zygote held
        _await_request(theirs.detach(), write_end, tmp_bytes, job_bpf)
    theirs.close()
    os.close(write_end)
    return _Spare(pid, ours, read_end, tmp_bytes)


def _await_request(channel_fd: int, result_fd: int, tmp_bytes: int, job_bpf: bytes | None) -> NoReturn:
    """Runs in a spare; never returns. Nothing untrusted exists for it until the request."""
    try:
        _close_all_but(channel_fd, result_fd)
        isolate_job(tmp_bytes)
        with socket.socket(fileno=channel_fd) as channel:
            message, fds, _, _ = socket.recv_fds(channel, MAX_REQUEST, 4)
        if not message:
            # discarded by the zygote, the zygote gone, or the request could not be
            # handed over (_hand_over): it ran nothing, and is never reported as done
            os._exit(RESULT_CRASH_CODE)
        request = json.loads(message)
    except BaseException:  # noqa: BLE001 - a spare that cannot get ready runs nothing
        os._exit(RESULT_CRASH_CODE)
    _job(request, fds, result_fd, _job_filter(request, job_bpf), _answers_early(request, job_bpf))


def _close_all_but(*keep: int) -> None:
    """Close every descriptor above stderr but ``keep``: a spare is forked while the
    zygote holds its socket to the parent and the answer pipe of the job that runs."""
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _job_filter(request: dict[str, Any], job_bpf: bytes | None) -> bytes | None:
    # A job without its filter exists only for the sandbox's own tests (two layers
    # shown to hold one at a time); the parent never asks for it otherwise.
    return job_bpf if request.get("seccomp", True) or not request.get("test_ops") else None


def _hand_over(
    job: _Spare, message: bytes, fds: list[int], own_pid_namespace: int, job_bpf: bytes | None, leftovers: list[int]
) -> _Spare:
    """Send the request to the spare; a spare that died while it waited (killed from
    outside, out of memory) is no fault of this file, so a fresh one takes the request.
    Should that fail too, the job's exit status tells the parent what happened."""
    try:
        socket.send_fds(job.channel, [message], fds)
    except OSError:
        _discard(job, leftovers)
        job = _fork_spare(own_pid_namespace, job.tmp_bytes, job_bpf)
        try:
            socket.send_fds(job.channel, [message], fds)
        except OSError:
            pass
    job.channel.close()
    return job


def _answers_early(request: dict[str, Any], job_bpf: bytes | None) -> bool:
    # Only under the job's filter: it lets a job make threads, never a process, so
    # stopping the job stops everything that could still write.
    return _job_filter(request, job_bpf) is not None


def _discard(spare: _Spare, leftovers: list[int]) -> None:
    spare.channel.close()  # the spare reads end of file and leaves
    os.close(spare.result)
    leftovers.append(spare.pid)


def serve(sock: socket.socket, job_bpf: bytes | None, own_pid_namespace: int | None) -> None:
    spare: _Spare | None = None
    leftovers: list[int] = []
    while True:
        _reap(leftovers)
        try:
            message, fds, _, _ = socket.recv_fds(sock, MAX_REQUEST, 4)
        except OSError:
            return
        if not message:
            return
        request = json.loads(message)
        deadline = time.monotonic() + float(request["wall_time"])
        if own_pid_namespace is None:
            ending = _run_forked(request, fds, job_bpf, deadline)
        else:
            tmp_bytes = int(request["limits"]["memory"])
            if spare is None or spare.tmp_bytes != tmp_bytes:
                if spare is not None:
                    _discard(spare, leftovers)
                spare = _fork_spare(own_pid_namespace, tmp_bytes, job_bpf)
            job, spare = spare, None
            try:
                job = _hand_over(job, message, fds, own_pid_namespace, job_bpf, leftovers)
            finally:
                for fd in fds:
                    os.close(fd)
            _reap(leftovers)
            try:
                spare = _fork_spare(own_pid_namespace, tmp_bytes, job_bpf)  # while the job works
            except OSError:
                spare = None  # no process to spare now (EAGAIN, ENOMEM): forked when needed
            ending = _wait(job.pid, job.result, deadline, _answers_early(request, job_bpf))
            os.close(job.result)
            if not ending.reaped:
                leftovers.append(job.pid)
        sock.sendall(Envelope(ending.status, ending.value, ending.answer).encode())


def _run_forked(request: dict[str, Any], fds: list[int], job_bpf: bytes | None, deadline: float) -> _Ending:
    """Without per-job namespaces: fork the job now, wait for its exit, sweep what it left."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _close_all_but(write_end, *fds)
        # no user namespace of its own: RLIMIT_NPROC would count every task of the uid on
        # the host (the daemon's threads, the other workers), not this job's
        request = {**request, "limits": {**request["limits"], "tasks": 0}}
        _job(request, fds, write_end, _job_filter(request, job_bpf), answered_early=False)
    os.close(write_end)
    for fd in fds:
        os.close(fd)
    ending = _wait(pid, read_end, deadline, early=False)
    os.close(read_end)
    _sweep()
    return ending


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
