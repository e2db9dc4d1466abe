"""Parent side of the sandbox: one zygote under bubblewrap, one fresh job per file.

Layers (see README "The sandbox"):
1. bubblewrap: new user, PID, network, mount, IPC, UTS and cgroup namespaces, no
   capabilities, an empty environment; a file system holding only read-only binds of the
   interpreter, the venv and the cdr package. Nothing of the inbox, spool, outbox,
   quarantine, audit log or home folders.
2. The zygote (not dumpable, under its own seccomp filter, in a user and PID namespace
   of its own) forks each job as PID 1 of a fresh PID namespace, with mount and IPC
   namespaces and a private /tmp (``cdr.zygote``); the job drops its capabilities, sets
   rlimits and a seccomp filter (no exec, no new process, no sockets but AF_UNIX, no
   ptrace/mount/bpf/...), and everything it started dies with it.
3. Input crosses as a sealed memfd copy the job cannot write to, output as a descriptor
   the parent opened; the job's answer crosses as a bounded JSON document and an exit
   code, parsed by its schema (``cdr.wire``).
4. The wall-clock deadline is enforced by the zygote (kills the job) and backed by this
   parent, which kills the whole sandbox if the zygote overstays.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cdr
from cdr import wire
from cdr.descriptors import copy_fd, write_all
from cdr.errors import BadAnswer, OperationalError, SandboxCrash, SandboxTimeout
from cdr.policy import Limits

log = logging.getLogger(__name__)

BACKSTOP_SECONDS = 5.0
REPLY_BUFFER = 1 << 20
TEST_OPS_ENV = "CDR_ALLOW_TEST_OPS"


@dataclass(frozen=True)
class SandboxInfo:
    """Which layers are active, for the audit log, `cdr status` and the README."""

    namespaces: bool
    seccomp: bool
    tool: str
    job_namespaces: bool = False

    def describe(self) -> str:
        layers = ["rlimits", "wall-timeout", "fd-only-io", "sealed-input", "not-dumpable"]
        if self.namespaces:
            layers.insert(0, "bubblewrap-namespaces")
        if self.job_namespaces:
            layers.insert(1, "per-job-namespaces")
        if self.seccomp:
            layers.append("seccomp")
        return "+".join(layers)


def _python_roots() -> list[str]:
    """Folders the interpreter and its packages need, read-only inside the sandbox."""
    roots = {os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if real and os.path.isdir(real) and "site-packages" in real:
            roots.add(real)
    package_parent = str(Path(cdr.__file__).resolve().parent.parent)
    # Never bind the checkout itself: it holds var/ and quarantine/.
    return sorted(r for r in roots if r != package_parent and not r.startswith("/usr"))


def bubblewrap_command(
    extra_binds: list[tuple[str, str]] | None = None, share_net: bool = False
) -> list[str]:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise OperationalError("bubblewrap (bwrap) is not installed")
    cmd = [
        bwrap,
        "--unshare-all",
        # Run as root, bubblewrap would keep every capability inside its user namespace:
        # enough to ptrace a process that is not dumpable, or to remount a bind writable.
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
        "--clearenv",
        "--setenv",
        "PATH",
        "/usr/bin:/bin",
        "--setenv",
        "LANG",
        "C.UTF-8",
        "--setenv",
        "HOME",
        "/tmp",
    ]
    if share_net:
        cmd.insert(2, "--share-net")
    for link in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        target = os.path.join("/", link)
        if os.path.islink(target):
            cmd += ["--symlink", os.readlink(target), target]
        elif os.path.isdir(target):
            cmd += ["--ro-bind", target, target]
    for etc in (
        "/etc/ld.so.cache",
        "/etc/fonts",
        "/etc/magic",
        "/etc/localtime",
        "/etc/libreoffice",
        "/etc/alternatives",
    ):
        if os.path.exists(etc):
            cmd += ["--ro-bind", etc, etc]
    for root in _python_roots():
        cmd += ["--ro-bind", root, root]
    for source, target in extra_binds or []:
        cmd += ["--ro-bind", source, target]
    # The root bubblewrap builds is a tmpfs; make it read-only so that only /tmp (and
    # whatever a converter profile binds writable) can be written.
    return cmd + ["--remount-ro", "/"]


_CODE_ROOT = "/opt/cdr-code"
SANDBOX_ID = 1000  # the zygote's uid and gid inside bubblewrap's user namespace


def zygote_command(sock_fd: int, isolation: str) -> tuple[list[str], dict[str, str], bool]:
    """The command that starts the zygote, and whether namespaces are in use."""
    package_dir = str(Path(cdr.__file__).resolve().parent)
    python = sys.executable
    try:
        cmd = bubblewrap_command([(package_dir, f"{_CODE_ROOT}/cdr")])
        cmd += [
            "--setenv",
            "PYTHONPATH",
            _CODE_ROOT,
            "--setenv",
            "PYTHONDONTWRITEBYTECODE",
            "1",
            # /dev is a tmpfs bubblewrap made: read-only, so that no job can leave a file
            # there for the next (each job gets a /dev/shm and /tmp of its own).
            "--remount-ro",
            "/dev",
            # Never uid 0 inside, even when cdr runs as root: an unprivileged process
            # may map only a uid that is not root into each job's user namespace.
            "--uid",
            str(SANDBOX_ID),
            "--gid",
            str(SANDBOX_ID),
            "--",
            python,
            "-m",
            "cdr.zygote",
            str(sock_fd),
        ]
        probe = subprocess.run(
            cmd[: cmd.index("--")] + ["--", "/bin/true"], capture_output=True, timeout=20, env={}
        )
        if probe.returncode == 0:
            return cmd, {}, True
        problem = probe.stderr.decode(errors="replace").strip() or f"exit {probe.returncode}"
    except (OperationalError, OSError, subprocess.SubprocessError) as exc:
        problem = str(exc)
    if isolation == "required":
        raise OperationalError(
            f"the sandbox cannot create namespaces ({problem}); install bubblewrap and allow "
            "unprivileged user namespaces, or set `sandbox: {isolation: best-effort}` in the "
            "policy to run with rlimits and seccomp only"
        )
    log.warning("sandbox: namespaces unavailable (%s); running with rlimits and seccomp only", problem)
    env = {"PYTHONPATH": str(Path(package_dir).parent), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    return [python, "-m", "cdr.zygote", str(sock_fd)], env, False


_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _spawn(cmd: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """Start a zygote from one thread that lives as long as the process.

    bubblewrap's --die-with-parent is PR_SET_PDEATHSIG, which fires when the *thread*
    that started it exits: a worker thread finishing at shutdown would otherwise kill a
    sandbox that another worker is still using.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdr-spawner")
    return _spawner.submit(subprocess.Popen, cmd, **options).result()


class Sandbox:
    """One zygote; ``run`` is serialised, so use one Sandbox per worker thread."""

    def __init__(self, isolation: str = "required") -> None:
        self.isolation = isolation
        self.allow_test_ops = os.environ.get(TEST_OPS_ENV) == "1" and "pytest" in sys.modules
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self.info: SandboxInfo | None = None

    # ------------------------------------------------------------- lifecycle
    def start(self) -> SandboxInfo:
        if self._proc is not None:
            assert self.info is not None
            return self.info
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        for end in (parent, child):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, REPLY_BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, REPLY_BUFFER)
        cmd, env, namespaces = zygote_command(child.fileno(), self.isolation)
        # env is never None: bubblewrap itself stays PID 1 of the sandbox, and a process
        # there must not find this one's environment in /proc/1/environ.
        self._proc = _spawn(
            cmd, pass_fds=(child.fileno(),), env=env, start_new_session=True, stdin=subprocess.DEVNULL
        )
        child.close()
        self._sock = parent
        parent.settimeout(60)
        try:
            hello = wire.Hello.decode(parent.recv(REPLY_BUFFER))
        except (OSError, BadAnswer) as exc:
            self.close()
            raise OperationalError(f"the sandbox did not start (see the log above): {exc}") from None
        self.info = SandboxInfo(
            namespaces, hello.seccomp, "bubblewrap" if namespaces else "none", hello.job_namespaces
        )
        self._require_layers(self.info)
        return self.info

    def _require_layers(self, info: SandboxInfo) -> None:
        if self.isolation != "required":
            return
        if not info.seccomp:
            self.close()
            raise OperationalError(
                "seccomp is unavailable (libseccomp missing); set "
                "`sandbox: {isolation: best-effort}` to run without it"
            )
        if not info.job_namespaces:
            self.close()
            raise OperationalError(
                "jobs cannot have namespaces of their own (nested user namespaces refused); "
                "set `sandbox: {isolation: best-effort}` to run without them"
            )

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
            self._proc = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------- jobs
    def run(
        self,
        op: str,
        params: dict[str, Any],
        fds: list[int],
        limits: Limits,
        output_limit: int | None = None,
        seccomp: bool = True,
    ) -> Any:
        """Run one operation in a fresh job; returns its answer, parsed by the schema of
        ``op`` (``cdr.wire``), or raises SanitizeError.

        ``fds[0]`` is the input: the job gets a sealed copy unless it already is one.
        ``fds[1]``, when there is one, is the output: the job gets it write-only
        (``write_only``). ``seccomp=False`` exists for the sandbox's own tests only.
        """
        if not seccomp and not self.allow_test_ops:
            raise ValueError("a job without its seccomp filter is for the sandbox's tests only")
        request = wire.job_request(
            op, params, limits, output_limit or limits.max_output_size, self.allow_test_ops, seccomp
        )
        with ExitStack() as held:
            given = list(fds)
            if not is_sealed(fds[0]):
                given[0] = sealed_copy(fds[0])
                held.callback(os.close, given[0])
            if len(fds) > 1:
                given[1] = held.enter_context(write_only(fds[1]))
            raw = self._exchange(request, given, limits)
        return wire.read_answer(op, wire.Envelope.decode(raw), limits)

    def _exchange(self, request: bytes, fds: list[int], limits: Limits) -> bytes:
        with self._lock:
            if self._proc is not None and self._proc.poll() is not None:
                # The zygote died between jobs (killed, OOM): not this file's fault.
                log.warning("sandbox: the zygote exited (%s); starting a new one", self._proc.returncode)
                self.close()
            self.start()
            assert self._sock is not None
            try:
                socket.send_fds(self._sock, [request], fds)
                self._sock.settimeout(limits.wall_time + BACKSTOP_SECONDS)
                raw = self._sock.recv(REPLY_BUFFER)
            except TimeoutError:
                log.error("sandbox: the zygote overstayed %ss; restarting it", limits.wall_time)
                self.close()
                raise SandboxTimeout(f"no answer within {limits.wall_time:.0f}s") from None
            except OSError as exc:
                self.close()
                raise SandboxCrash(f"the sandbox went away: {exc}") from None
            if not raw:
                self.close()
                raise SandboxCrash("the sandbox went away")
        return raw


class SandboxPool:
    """One zygote per worker: a job never waits for another job's sandbox.

    Whoever builds the pool closes it (a Pipeline only leases from it), so a test session
    or a daemon can share one pool among several pipelines."""

    def __init__(self, size: int, isolation: str) -> None:
        self._all = [Sandbox(isolation) for _ in range(max(1, size))]
        self._free: queue.Queue[Sandbox] = queue.Queue()
        for sandbox in self._all:
            self._free.put(sandbox)

    def start(self) -> str:
        return self._all[0].start().describe()

    @contextmanager
    def lease(self) -> Iterator[Sandbox]:
        sandbox = self._free.get()
        try:
            yield sandbox
        finally:
            self._free.put(sandbox)

    def close(self) -> None:
        for sandbox in self._all:
            sandbox.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def write_only(fd: int) -> Iterator[int]:
    """``fd``'s file as a job gets it: a descriptor that can only write, while the file
    itself is write-only for its owner (the job's uid maps to it), so that reopening
    ``/proc/self/fd/N`` cannot make it readable either. A descriptor that cannot read
    cannot be mapped, so nothing the kernel writes into a job's memory while it dies
    (a thread's robust futex list, its clear_child_tid word) can reach the output after
    the zygote has answered for it (cdr/zygote.py). The parent's own descriptor is
    untouched: permissions are checked when a file is opened, not when it is read."""
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        yield fd  # a pipe or socket cannot be mapped anyway
        return
    mode = stat.S_IMODE(status.st_mode)
    writer = os.open(f"/proc/self/fd/{fd}", os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.fchmod(fd, stat.S_IWUSR)
        try:
            yield writer
        finally:
            os.fchmod(fd, mode)
    finally:
        os.close(writer)


_SEALS = fcntl.F_SEAL_SEAL | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE


def is_sealed(fd: int) -> bool:
    try:
        return fcntl.fcntl(fd, fcntl.F_GET_SEALS) & _SEALS == _SEALS
    except OSError:
        return False  # not a memfd


def sealed_copy(fd: int, on_chunk: Callable[[bytes], None] | None = None) -> int:
    """A copy of ``fd``'s bytes that nobody can change any more: a memfd sealed against
    writing, growing and shrinking. A job handed this cannot write back to the original,
    not even by reopening ``/proc/self/fd/N``; ``on_chunk`` sees the bytes on the way
    (the pipeline hashes the file in the same pass)."""
    copy = os.memfd_create("cdr-input", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)

    def keep(chunk: bytes) -> None:
        if on_chunk is not None:
            on_chunk(chunk)
        write_all(copy, chunk)

    try:
        copy_fd(fd, keep)
        fcntl.fcntl(copy, fcntl.F_ADD_SEALS, _SEALS)
        os.lseek(copy, 0, os.SEEK_SET)
    except BaseException:
        os.close(copy)
        raise
    return copy
