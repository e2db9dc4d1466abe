"""Parent side of the sandbox: one zygote under bubblewrap, one fresh child per job.

Layers (see README "The sandbox"):
1. bubblewrap: new user, PID, network, mount, IPC, UTS and cgroup namespaces; a file
   system holding only read-only binds of the interpreter, the venv and the cdr package,
   plus a private /tmp. Nothing of the inbox, spool, outbox, quarantine or audit log.
2. The zygote forks a child per job; the child calls setsid, sets rlimits (address space,
   CPU, file size, open files, no core) and loads a seccomp filter (no exec, no sockets
   but AF_UNIX, no ptrace/mount/bpf/...).
3. Input and output cross only as file descriptors the parent opened; the child's verdict
   crosses as a bounded JSON document and an exit code.
4. The wall-clock deadline is enforced by the zygote (kills the child's process group) and
   backed by this parent, which kills the whole sandbox if the zygote overstays.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cdr
from cdr.errors import (
    CpuLimit,
    OperationalError,
    SandboxCrash,
    SandboxTimeout,
    error_for_code,
)
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

    def describe(self) -> str:
        layers = ["rlimits", "wall-timeout", "fd-only-io"]
        if self.namespaces:
            layers.insert(0, "bubblewrap-namespaces")
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
            "--",
            python,
            "-m",
            "cdr.zygote",
            str(sock_fd),
        ]
        probe = subprocess.run(cmd[: cmd.index("--")] + ["--", "/bin/true"], capture_output=True, timeout=20)
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
        self._proc = _spawn(
            cmd, pass_fds=(child.fileno(),), env=env or None, start_new_session=True, stdin=subprocess.DEVNULL
        )
        child.close()
        self._sock = parent
        parent.settimeout(60)
        try:
            hello = json.loads(parent.recv(REPLY_BUFFER) or b"{}")
        except (OSError, ValueError) as exc:
            self.close()
            raise OperationalError(f"the sandbox did not start: {exc}") from None
        if not hello.get("ready"):
            self.close()
            raise OperationalError("the sandbox did not start (see the log above)")
        self.info = SandboxInfo(
            namespaces, bool(hello.get("seccomp")), "bubblewrap" if namespaces else "none"
        )
        if not self.info.seccomp and self.isolation == "required":
            self.close()
            raise OperationalError(
                "seccomp is unavailable (libseccomp missing); set "
                "`sandbox: {isolation: best-effort}` to run without it"
            )
        return self.info

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
        self, op: str, params: dict[str, Any], fds: list[int], limits: Limits, output_limit: int | None = None
    ) -> dict[str, Any]:
        """Run one operation in a fresh child; returns its result or raises SanitizeError."""
        request = {
            "op": op,
            "params": params,
            "wall_time": limits.wall_time,
            "limits": {
                "memory": limits.memory,
                "cpu_seconds": max(1, int(limits.cpu_time)),
                "file_size": output_limit or limits.max_output_size,
            },
            "test_ops": self.allow_test_ops,
        }
        with self._lock:
            if self._proc is not None and self._proc.poll() is not None:
                # The zygote died between jobs (killed, OOM): not this file's fault.
                log.warning("sandbox: the zygote exited (%s); starting a new one", self._proc.returncode)
                self.close()
            self.start()
            assert self._sock is not None
            try:
                socket.send_fds(self._sock, [json.dumps(request).encode()], fds)
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
        return _interpret(json.loads(raw), limits)


def _interpret(reply: dict[str, Any], limits: Limits) -> dict[str, Any]:
    status, value = reply["status"], int(reply["value"])
    payload: dict[str, Any] = {}
    try:
        if reply.get("payload"):
            payload = json.loads(reply["payload"])
    except ValueError:
        payload = {}
    if status == "timeout":
        raise SandboxTimeout(f"took longer than {limits.wall_time:g}s (wall-clock limit)")
    if status == "signaled":
        if value in (signal.SIGXCPU, signal.SIGKILL):
            raise CpuLimit(f"used more than {limits.cpu_time:g}s of CPU (killed by signal {value})")
        name = signal.Signals(value).name if value in signal.Signals._value2member_map_ else str(value)
        raise SandboxCrash(f"the parser crashed ({name})")
    if value == 0 and isinstance(payload.get("result"), dict):
        return payload["result"]
    message = str(payload.get("message") or f"the parser failed (exit {value})")[:500]
    raise error_for_code(value, message)
