"""What a sandboxed child does to itself before it touches untrusted bytes.

Layers, innermost first: resource limits (address space, CPU seconds, file size, open
files, no core dumps), then a seccomp filter that refuses exec, every socket family but
AF_UNIX, ptrace and the kernel interfaces a parser never needs. The outer layers — the
bubblewrap namespaces and the wall-clock timeout — are set up by the zygote's parent.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class ChildLimits:
    memory: int
    cpu_seconds: int
    file_size: int
    open_files: int = 64


def set_rlimits(limits: ChildLimits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    # The soft limit sends SIGXCPU, the hard one a second later SIGKILL.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


# Never needed by a parser; each refused with EPERM rather than killing the process so
# that the child can report which operation was refused.
_REFUSED_SYSCALLS = (
    "execve",
    "execveat",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "bpf",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    "perf_event_open",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_by_handle_at",
    "name_to_handle_at",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "syslog",
    "fanotify_init",
)


# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: each one refused.
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def seccomp_available() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def export_filter(allow_exec: bool) -> bytes:
    """The filter as BPF, for bubblewrap's ``--seccomp FD`` (converters that must exec)."""
    import tempfile

    with tempfile.TemporaryFile() as handle:
        _build_filter(allow_exec).export_bpf(handle)
        handle.seek(0)
        return handle.read()


def _build_filter(allow_exec: bool):  # noqa: ANN202 - pyseccomp has no type hints
    import pyseccomp as seccomp

    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in _REFUSED_SYSCALLS:
        if allow_exec and name in ("execve", "execveat"):
            continue
        try:
            rules.add_rule(refuse, name)
        except (OSError, RuntimeError, ValueError):
            continue  # a syscall this architecture does not have
    # clone3 keeps its flags in memory a filter cannot read; answering ENOSYS makes glibc
    # fall back to clone(), whose flags the filter can see (threads work, namespaces not).
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in _NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    rules.add_rule(refuse, "socketpair", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    return rules


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


def load_bpf(program: bytes) -> None:
    """Load a filter compiled earlier (``export_filter``): a fork pays no compile cost."""
    count = len(program) // 8
    buffer = (_SockFilter * count).from_buffer_copy(program)
    prog = _SockFprog(count, ctypes.cast(buffer, ctypes.POINTER(_SockFilter)))
    libc = ctypes.CDLL(None, use_errno=True)
    if (
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
        or libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0
    ):
        raise OSError(ctypes.get_errno(), "the kernel refused the seccomp filter")


def confine(limits: ChildLimits, bpf: bytes | None) -> None:
    os.umask(0o077)
    set_rlimits(limits)
    if bpf:
        load_bpf(bpf)
