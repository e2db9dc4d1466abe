"""Hostile behaviours for the sandbox's own tests: what a compromised parser would try.

Refused unless the parent runs pytest with CDR_ALLOW_TEST_OPS=1 (``Sandbox.allow_test_ops``
and ``registry.run_operation``): on an appliance, an operation that misbehaves on purpose
must not be reachable from a policy or a file. None of these is in the shipped table.

Escape attempts answer with a small table of what they managed (tests assert zeros); lies
answer as the real operation would, except for the lie (tests assert a quarantine).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import signal
import socket
import stat
import time
from collections.abc import Callable
from typing import Any

_libc = ctypes.CDLL(None, use_errno=True)


def _attempt(action: Any) -> dict[str, Any]:
    try:
        value = action()
    except OSError as exc:
        return {"succeeded": False, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}
    return {"succeeded": True, "value": value}


def _works(action: Any) -> bool:
    try:
        action()
    except OSError:
        return False
    return True


# ------------------------------------------------------------ resources and paths
def allocate(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    hoard = []
    while True:
        hoard.append(bytearray(64 << 20))


def spin(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    while True:
        pass


def sleep(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    time.sleep(float(params.get("seconds", 3600)))
    return {}


def crash(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    ctypes.string_at(0)  # SIGSEGV in the interpreter itself
    return {}


def connect(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    def dial() -> str:
        with socket.create_connection(("127.0.0.1", int(params["port"])), timeout=2) as s:
            s.sendall(b"escaped")
        return "connected"

    return _attempt(dial)


def write_path(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    def write() -> str:
        with open(params["path"], "wb") as handle:
            handle.write(b"escaped")
        return "written"

    return _attempt(write)


def read_path(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    def read() -> str:
        with open(params["path"], "rb") as handle:
            return handle.read(100).decode("latin-1")

    return _attempt(read)


def list_paths(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """What each folder shows from inside ("-" when it does not exist)."""
    out: dict[str, Any] = {}
    for number, path in enumerate(params["paths"]):
        try:
            out[f"p{number}"] = sorted(os.listdir(path))[:50]
        except OSError:
            out[f"p{number}"] = ["-"]
    return out


def exec_shell(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    def run() -> str:
        os.execv("/bin/sh", ["/bin/sh", "-c", "echo escaped"])
        return "unreachable"

    return _attempt(run)


def write_output(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Write ``size`` bytes to the output descriptor (for the file-size limit)."""
    with os.fdopen(fds[1], "wb", closefd=False) as out:
        out.write(b"x" * int(params["size"]))
    return {"written": int(params["size"])}


# ------------------------------------------------------------ other processes
def _others() -> list[int]:
    """Every process this job can see in /proc but itself (numbers as /proc shows them)."""
    own = int(os.readlink("/proc/self"))
    return [int(name) for name in os.listdir("/proc") if name.isdigit() and int(name) != own]


def _write_memory(pid: int) -> bool:
    """Open another process's memory for writing and write to the first mapped page."""
    try:
        fd = os.open(f"/proc/{pid}/mem", os.O_RDWR)
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/maps") as maps:
            start = int(maps.readline().split("-")[0], 16)
        os.pwrite(fd, b"\xcc", start)
        return True
    except (OSError, ValueError):
        return False
    finally:
        os.close(fd)


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def _vm_write(pid: int) -> bool:
    data = ctypes.create_string_buffer(8)
    local = _IoVec(ctypes.cast(data, ctypes.c_void_p), 8)
    remote = _IoVec(0x400000, 8)
    return _libc.process_vm_writev(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0) > 0


def _ptrace(pid: int) -> bool:
    attached = _libc.ptrace(16, pid, 0, 0) == 0  # PTRACE_ATTACH
    if attached:
        _libc.ptrace(17, pid, 0, 0)  # PTRACE_DETACH
    return attached


def reach_others(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Try to take over the zygote, its waiter and bubblewrap: their memory, descriptors,
    environment, and signals. Returns how many of each attempt worked."""
    targets = _others()
    counts = {"targets": len(targets), "memory": 0, "vm_write": 0, "ptrace": 0, "fds": 0, "signal": 0, "pidfd_signal": 0}
    for pid in targets:
        counts["memory"] += _write_memory(pid)
        counts["vm_write"] += _vm_write(pid)
        counts["ptrace"] += _ptrace(pid)
        counts["fds"] += _open_descriptors(pid)
        # a job's PID numbers are its own namespace's: the number /proc shows for the
        # zygote names nothing from in here (and 1 names the job itself)
        if pid != os.getpid():
            counts["signal"] += _works(lambda pid=pid: os.kill(pid, signal.SIGSTOP))
        counts["pidfd_signal"] += _pidfd_signal(pid)
    return counts


def _pidfd_signal(pid: int) -> bool:
    """Stop another process through its /proc directory opened as a pidfd: the one way to
    name a process outside the job's PID namespace (the zygote, the spare for the next file)."""
    try:
        fd = os.open(f"/proc/{pid}", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        return _works(lambda: signal.pidfd_send_signal(fd, signal.SIGSTOP))
    finally:
        os.close(fd)


def answer_then_write(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Answer on the pipe, then go on appending to the output for a second: what a parser
    that lies about being done would do to get bytes past the verification."""
    os.write(fds[1], b"x" * 64)
    _answer_raw(json.dumps({"result": {"written": 64}}).encode(), leave=False)
    stop = time.monotonic() + 1.0
    while time.monotonic() < stop:
        os.write(fds[1], b"x" * 64)
        time.sleep(0.001)
    os._exit(0)


def _open_descriptors(pid: int) -> int:
    """How many of another process's descriptors this job could open or resolve."""
    opened = 0
    for number in range(64):
        try:
            os.close(os.open(f"/proc/{pid}/fd/{number}", os.O_RDONLY | os.O_NONBLOCK))
            opened += 1
        except OSError:
            pass
        opened += _works(lambda number=number: os.readlink(f"/proc/{pid}/fd/{number}"))
    return opened


def find_environment(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Look for the parent's secret in this job's environment and every readable environ."""
    needle = str(params["needle"]).encode()
    found = [key for key, value in os.environb.items() if needle in key + b"=" + value]
    readable = 0
    for pid in ["self", *map(str, _others())]:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                text = handle.read()
        except OSError:
            continue
        readable += 1
        if needle in text:
            found.append(pid)
    return {"found": [str(place) for place in found], "readable": readable}


def own_status(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """This job's confinement as the kernel reports it."""
    with open("/proc/self/status") as handle:
        fields = dict(line.split(":\t", 1) for line in handle.read().splitlines() if ":\t" in line)
    return {
        "pid": os.getpid(),
        "seccomp": fields["Seccomp"].strip(),
        "no_new_privs": fields["NoNewPrivs"].strip(),
        "cap_effective": fields["CapEff"].strip(),
        "cap_permitted": fields["CapPrm"].strip(),
        "dumpable": _libc.prctl(3, 0, 0, 0, 0),  # PR_GET_DUMPABLE
        "max_tasks": resource.getrlimit(resource.RLIMIT_NPROC)[1],
    }


# ------------------------------------------------------------ the input
def write_input(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Try to change the input: through the descriptor, by reopening /proc/self/fd/N for
    writing, and by truncating it. Returns which attempts worked."""

    def through_descriptor() -> None:
        os.pwrite(fds[0], b"PWNED", 0)

    def reopened() -> None:
        fd = os.open(f"/proc/self/fd/{fds[0]}", os.O_RDWR)
        try:
            os.pwrite(fd, b"PWNED", 0)
        finally:
            os.close(fd)

    def truncated() -> None:
        os.truncate(f"/proc/self/fd/{fds[0]}", 0)

    return {
        "descriptor": _works(through_descriptor),
        "reopened": _works(reopened),
        "truncated": _works(truncated),
        "size": os.fstat(fds[0]).st_size,
    }


# ------------------------------------------------------------ outliving the job
def _fork_daemon(report: int, delay: float, marker: str) -> None:
    """Fork twice, detach, and after ``delay`` leave a marker and try to stop the zygote."""
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    os.write(report, os.readlink("/proc/self").encode())
    os.close(report)
    time.sleep(delay)
    for folder in ("/tmp", "/dev/shm", "/dev"):
        try:
            with open(os.path.join(folder, marker), "w") as handle:
                handle.write("left behind")
        except OSError:
            pass
    for pid in range(1, 64):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os._exit(0)


def leave_daemon(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Start a daemon meant to outlive this job; say its PID as /proc numbers it."""
    read_end, write_end = os.pipe()
    try:
        child = os.fork()
    except OSError as exc:
        return {"forked": False, "error": exc.strerror or str(exc)}
    if child == 0:
        os.close(read_end)
        _fork_daemon(write_end, float(params["delay"]), str(params["marker"]))
    os.close(write_end)
    os.waitpid(child, 0)
    daemon = os.read(read_end, 32).decode()
    return {"forked": True, "daemon": int(daemon) if daemon else 0}


def look_for_leftovers(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """What the next job finds of an earlier one: its process, its marker files."""
    marker = str(params["marker"])
    return {
        "daemon_alive": os.path.exists(f"/proc/{int(params['daemon'])}"),
        "markers": [d for d in ("/tmp", "/dev/shm", "/dev") if os.path.exists(os.path.join(d, marker))],
        "processes": len(_others()),
    }


def fork_bomb(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Fork as often as allowed (at most ``limit`` times); every child waits for ever."""
    forked = 0
    for _ in range(int(params["limit"])):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            while True:
                signal.pause()
        forked += 1
    return {"forked": forked}


def thread_bomb(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Start threads (each waits for ever) until refused, at most ``limit``."""
    import threading

    if "stack" in params:
        threading.stack_size(int(params["stack"]))  # small stacks: far more threads per MiB
    stop = threading.Event()
    started = 0
    for _ in range(int(params["limit"])):
        try:
            threading.Thread(target=stop.wait, daemon=True).start()
        except RuntimeError:  # "can't start new thread": the address space is full
            break
        started += 1
    return {"threads": started}


# ------------------------------------------------------------ lies
def _result_pipe() -> int:
    """The descriptor this job's answer goes out on (the one write-only pipe it holds)."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISFIFO(mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
            return fd
    raise OSError("no answer pipe")


def _answer_raw(data: bytes, leave: bool = True) -> None:
    """Write straight onto the answer pipe and leave, as a compromised parser could."""
    from cdr.zygote import frame

    pipe = _result_pipe()
    view = memoryview(frame(data, 0))
    while view:
        view = view[os.write(pipe, view) :]
    if leave:
        os._exit(0)


def _real_process(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    from cdr.sanitizers.registry import op_process

    return op_process(params, fds)


def lie_structural_pdf(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Under 画像化, copy the original PDF to the output and call it done."""
    answer = _real_process(params, fds)
    os.ftruncate(fds[1], 0)
    os.pwrite(fds[1], os.pread(fds[0], os.fstat(fds[0]).st_size, 0), 0)
    answer.update(action="pixels", result={"output_type": "pdf", "actions": [], "details": {}})
    return answer


def lie_claimed_type(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Rebuild honestly, then claim the output is another type than the one decided."""
    answer = _real_process(params, fds)
    answer["result"]["output_type"] = str(params.get("claim", "gif"))
    return answer


def lie_written_type(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Claim the decided type, but write a PDF instead."""
    answer = _real_process(params, fds)
    pdf = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    )
    os.ftruncate(fds[1], 0)
    os.pwrite(fds[1], pdf + b"trailer<</Root 1 0 R>>\n%%EOF\n", 0)
    return answer


def lie_extra_keys(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    answer = _real_process(params, fds)
    answer["verdict"] = "released"  # a key no schema has
    return answer


def lie_huge(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """An answer far over the limit, written straight onto the pipe."""
    answer = _real_process(params, fds)
    answer["detection"]["description"] = "A" * (2 << 20)
    _answer_raw(json.dumps({"result": answer}).encode())
    return {}


def lie_not_json(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    _real_process(params, fds)
    _answer_raw(b"\x89 released, trust me \xff")
    return {}


def lie_control_text(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Refuse the file with a message meant to rewrite a terminal and a notice."""
    answer = _real_process(params, fds)
    for key in ("action", "result"):
        answer.pop(key, None)
    answer["error"] = {"code": 11, "message": "bad\x1b[2J\x1b]0;owned\x07 \u202egpj.exe" + "x" * 5000}
    return answer


def lie_ocr_words(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """In place of ``ocr-words``: a word far outside the page, text meant for a viewer."""
    word = {"page": 0, "box": [0, 0, 10**6, 10], "text": ") Tj /JavaScript"}
    os.write(fds[1], json.dumps(word).encode() + b"\n")
    return {"words": 1}


OPERATIONS = {
    "test:allocate": allocate,
    "test:spin": spin,
    "test:sleep": sleep,
    "test:crash": crash,
    "test:connect": connect,
    "test:write": write_path,
    "test:read": read_path,
    "test:list": list_paths,
    "test:exec": exec_shell,
    "test:write-output": write_output,
    "test:answer-then-write": answer_then_write,
    "test:reach-others": reach_others,
    "test:status": own_status,
    "test:find-environment": find_environment,
    "test:write-input": write_input,
    "test:leave-daemon": leave_daemon,
    "test:look-for-leftovers": look_for_leftovers,
    "test:fork-bomb": fork_bomb,
    "test:thread-bomb": thread_bomb,
    "test:lie-structural-pdf": lie_structural_pdf,
    "test:lie-claimed-type": lie_claimed_type,
    "test:lie-written-type": lie_written_type,
    "test:lie-extra-keys": lie_extra_keys,
    "test:lie-huge": lie_huge,
    "test:lie-not-json": lie_not_json,
    "test:lie-control-text": lie_control_text,
    "test:lie-ocr-words": lie_ocr_words,
}



# ------------------------------------------------------------ after the early answer
# What a job that answered early (cdr/zygote.py: stopped, then killed) would try so that
# something still happens after the zygote has answered the parent. x86_64 numbers: the
# sandbox runs on that architecture only.
_SYS_SET_TID_ADDRESS = 218
_SYS_SET_ROBUST_LIST = 273
_SIGCONT = int(signal.SIGCONT)


def _anonymous(size: int, writable: bool) -> int:
    """The address of a fresh private anonymous mapping whose pages nothing touched yet."""
    _libc.mmap.restype = ctypes.c_void_p
    _libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    address = _libc.mmap(None, size, 3 if writable else 1, 0x22, -1, 0)  # MAP_PRIVATE | MAP_ANONYMOUS
    if address in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    return int(address)


def _map_output_shared(fd: int, size: int) -> Any:
    """The output mapped MAP_SHARED and writable (reopened read-write, as a job may)."""
    import mmap

    writable = os.open(f"/proc/self/fd/{fd}", os.O_RDWR)
    try:
        os.ftruncate(writable, size)
        return mmap.mmap(writable, size)  # MAP_SHARED, PROT_READ | PROT_WRITE
    finally:
        os.close(writable)


def exit_writes_after_answer(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Make the kernel write into the output after the answer (``_exit_writes``), through a
    MAP_SHARED mapping of the output reopened read-write."""
    held = []  # the mapping lives as long as this job does

    def shared(fd: int, size: int) -> int:
        held.append(_map_output_shared(fd, size))
        return ctypes.addressof(ctypes.c_char.from_buffer(held[-1]))

    return _exit_writes(params, fds, shared)


def _exit_writes(params: dict[str, Any], fds: list[int], map_output: Callable[[int, int], int]) -> dict[str, Any]:
    """A thread that dies, even by SIGKILL, has the kernel walk its robust futex list and
    clear its clear_child_tid word (set_tid_address) in the process's memory. Here that
    word lies in a writable shared mapping of the output (``map_output`` gives its
    address), and a long robust list (each futex word on a page not yet touched) makes each
    dying thread slow to get there. The threads wait at SCHED_IDLE; the job answers, then
    waits for the zygote to stop and kill it."""
    import threading

    count, pages, slot = int(params.get("threads", 12)), int(params.get("pages", 2048)), 64
    try:
        base = map_output(fds[1], count * slot)
    except OSError as exc:
        _answer_raw(json.dumps({"result": {"mapped": False, "error": exc.strerror or str(exc)}}).encode())
        return {}
    ctypes.memset(base, 0xEE, count * slot)
    # One chain of robust-list entries, a page apart, shared by every thread (the kernel
    # stops after 2048 steps); each thread's futex words fall in pages of its own that
    # nothing touched, so that each step of each dying thread takes a page fault.
    chain = _anonymous(pages * 4096, writable=True)
    for index in range(pages):
        ctypes.c_void_p.from_address(chain + index * 4096).value = chain + ((index + 1) % pages) * 4096
    heads = [(ctypes.c_long * 3)(chain, _anonymous(pages * 4096, writable=False) - chain, 0) for _ in range(count)]
    ready, stop = threading.Semaphore(0), threading.Event()

    def arm(index: int) -> None:
        _libc.syscall(ctypes.c_long(_SYS_SET_ROBUST_LIST), ctypes.byref(heads[index]), ctypes.c_size_t(24))
        _libc.syscall(ctypes.c_long(_SYS_SET_TID_ADDRESS), ctypes.c_void_p(base + index * slot))
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        ready.release()
        stop.wait()

    threading.stack_size(1 << 18)  # many threads in the address-space limit
    for index in range(count):
        threading.Thread(target=arm, args=(index,), daemon=True).start()
    for _ in range(count):
        ready.acquire()
    _answer_raw(json.dumps({"result": {"mapped": True, "threads": count}}).encode(), leave=False)
    time.sleep(30)  # the zygote stops and kills this job first
    os._exit(0)


def cancel_the_stop(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Answer, then send SIGCONT to itself as fast as it can for a while (from several
    threads, and from a POSIX timer), then sleep. A SIGCONT that lands after the zygote's
    SIGSTOP cancels the stop (the kernel does that even for a signal a PID 1 ignores);
    the zygote, waiting for a stop that never comes, would stop enforcing the deadline."""
    import threading

    signal.signal(signal.SIGCONT, lambda *_: None)  # delivered, so a periodic timer re-arms
    until = time.monotonic() + float(params.get("seconds", 1.0))

    def keep_sending() -> None:
        kill, syscall = _libc.kill, _libc.syscall
        # the same signal with the register's upper half set: the kernel reads an int
        disguised = ctypes.c_long((1 << 32) | _SIGCONT)
        while time.monotonic() < until:
            for _ in range(100):
                kill(1, _SIGCONT)  # refused (EPERM) under a filter that knows better
                syscall(ctypes.c_long(62), ctypes.c_long(1), disguised)  # kill on x86_64

    timer = _sigcont_timer(int(params.get("timer_ns", 0)))
    threads = [threading.Thread(target=keep_sending, daemon=True) for _ in range(int(params.get("threads", 3)))]
    for thread in threads:
        thread.start()
    _answer_raw(json.dumps({"result": {"sent": True}}).encode(), leave=False)
    for thread in threads:
        thread.join()
    del timer
    time.sleep(float(params.get("then_sleep", 60)))
    os._exit(0)


class _SigEvent(ctypes.Structure):
    _fields_ = [("value", ctypes.c_void_p), ("signo", ctypes.c_int), ("notify", ctypes.c_int), ("pad", ctypes.c_int * 12)]


def _sigcont_timer(interval_ns: int) -> Any:
    """A POSIX timer whose every expiry sends this process SIGCONT (None if not asked)."""
    if interval_ns <= 0:
        return None
    event = _SigEvent(None, _SIGCONT, 0)  # SIGEV_SIGNAL
    timer = ctypes.c_void_p()
    if _libc.timer_create(1, ctypes.byref(event), ctypes.byref(timer)) != 0:  # CLOCK_MONOTONIC
        return None
    spec = (ctypes.c_long * 4)(0, interval_ns, 0, interval_ns)  # interval, first expiry
    _libc.timer_settime(timer, 0, ctypes.byref(spec), None)
    return timer


def threads_write_after_answer(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Several threads append to the output without pause while the main thread answers:
    the zygote's stop must catch every one of them, in whatever write it is."""
    import threading

    started = threading.Barrier(int(params.get("threads", 4)) + 1)

    def keep_writing() -> None:
        started.wait()
        while True:
            os.write(fds[1], b"y" * 4096)

    for _ in range(started.parties - 1):
        threading.Thread(target=keep_writing, daemon=True).start()
    started.wait()
    time.sleep(0.01)  # every writer is under way
    _answer_raw(json.dumps({"result": {"writers": started.parties - 1}}).encode(), leave=False)
    time.sleep(30)
    os._exit(0)


def tmp_size(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """How large this job's /tmp and /dev/shm are (a spare's mounts are made before it
    knows its request)."""
    sizes = {}
    for name, path in (("tmp", "/tmp"), ("shm", "/dev/shm")):
        stats = os.statvfs(path)
        sizes[name] = stats.f_blocks * stats.f_frsize
    return sizes



def _raw(number: int, *args: int) -> bool:
    """A raw system call with 64-bit arguments (upper halves as given); True if it worked."""
    return _libc.syscall(ctypes.c_long(number), *(ctypes.c_long(arg) for arg in args)) != -1


def sigcont_paths(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Every way this job knows to send itself SIGCONT now or later: which worked."""
    high = 1 << 32
    tid = threading_native_id()
    read_end, write_end = os.pipe()
    event = _SigEvent(None, _SIGCONT, 0)
    timer = ctypes.c_void_p()
    return {
        "kill": _raw(62, 1, _SIGCONT),
        "kill_disguised": _raw(62, 1, high | _SIGCONT),
        "tkill": _raw(200, tid, _SIGCONT),
        "tgkill": _raw(234, 1, tid, high | _SIGCONT),
        "sigqueueinfo": _raw(129, 1, _SIGCONT, 0),
        "fcntl_setsig": _raw(72, read_end, 10, _SIGCONT),
        "fcntl_setsig_disguised": _raw(72, write_end, high | 10, high | _SIGCONT),
        "timer": _libc.timer_create(1, ctypes.byref(event), ctypes.byref(timer)) == 0,
        # still allowed: other signals, F_SETSIG with another signal
        "kill_other": _raw(62, 1, int(signal.SIGWINCH)),
        "fcntl_other": _raw(72, read_end, 10, int(signal.SIGIO)),
    }


def threading_native_id() -> int:
    import threading

    return threading.get_native_id()


def shared_mapping_paths(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Every way this job might map its output, and the mappings it still needs: a
    read-only shared mapping of a read-only file (font libraries map fonts so), private
    and anonymous ones."""
    import mmap

    def reopened(flags: int) -> bool:
        try:
            os.close(os.open(f"/proc/self/fd/{fds[1]}", flags))
            return True
        except OSError:
            return False

    def mapped(fd: int, prot: int, flags: int) -> bool:
        _anonymous(4096, writable=False)  # sets mmap's argument types
        address = _libc.mmap(None, 4096, prot, flags, fd, 0)
        return address not in (None, ctypes.c_void_p(-1).value)

    own = os.open("/tmp", os.O_TMPFILE | os.O_RDWR, 0o600)  # a file of the job's own, read-write
    os.ftruncate(own, 4096)
    read_only = os.open("/etc/ld.so.cache", os.O_RDONLY)
    rw, shared, private, anonymous = mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, mmap.MAP_PRIVATE, 0x20
    return {
        "output_reopened_readable": reopened(os.O_RDONLY),
        "output_reopened_read_write": reopened(os.O_RDWR),
        "output_shared_read": mapped(fds[1], mmap.PROT_READ, shared),
        "output_shared_rw": mapped(fds[1], rw, shared),
        "own_file_shared_rw": mapped(own, rw, shared),
        "own_file_shared_validate_rw": mapped(own, rw, 0x03),  # MAP_SHARED_VALIDATE
        "read_only_file_shared_read": mapped(read_only, mmap.PROT_READ, shared),
        "own_file_private_rw": mapped(own, rw, private),
        "anonymous_shared": mapped(-1, rw, shared | anonymous),
    }


def memory_outside_limits(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Hold memory the address-space limit does not count: a memfd (shmem pages, unmapped)."""
    return _attempt(lambda: os.close(os.memfd_create("cdr-test-hoard")))


OPERATIONS.update(
    {
        "test:memory-outside-limits": memory_outside_limits,
        "test:exit-writes-after-answer": exit_writes_after_answer,
        "test:cancel-the-stop": cancel_the_stop,
        "test:threads-write-after-answer": threads_write_after_answer,
        "test:tmp-size": tmp_size,
        "test:sigcont-paths": sigcont_paths,
        "test:shared-mapping-paths": shared_mapping_paths,
    }
)


# ------------------------------------------------------------ review: the output's mode
def _map_output_after_chmod(fd: int, size: int) -> int:
    """The output made readable again by its owner (fchmod on the write-only descriptor
    the job holds), reopened read-write, mapped shared read-only (allowed: fonts), then
    made writable with mprotect: the address of a writable shared mapping of the output."""
    os.fchmod(fd, 0o600)
    writable = os.open(f"/proc/self/fd/{fd}", os.O_RDWR)
    try:
        os.ftruncate(writable, size)
        _anonymous(4096, writable=False)  # sets mmap's argument types
        address = _libc.mmap(None, size, 1, 0x01, writable, 0)  # PROT_READ, MAP_SHARED
        if address in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        if _libc.mprotect(ctypes.c_void_p(address), ctypes.c_size_t(size), 3) != 0:
            raise OSError(ctypes.get_errno(), "mprotect")
        return int(address)
    finally:
        os.close(writable)


def chmod_output_paths(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """Whether the job can give its output back the mode the parent took away, and then
    get a writable shared mapping of it."""
    try:
        address = _map_output_after_chmod(fds[1], 4096)
    except OSError as exc:
        return {"mapped_writable": False, "error": exc.strerror or str(exc)}
    ctypes.memset(address, 0x41, 16)
    return {"mapped_writable": True}


def exit_writes_after_chmod(params: dict[str, Any], fds: list[int]) -> dict[str, Any]:
    """exit_writes_after_answer, with the mapping made through _map_output_after_chmod."""
    return _exit_writes(params, fds, _map_output_after_chmod)


OPERATIONS.update(
    {
        "test:chmod-output-paths": chmod_output_paths,
        "test:exit-writes-after-chmod": exit_writes_after_chmod,
    }
)
