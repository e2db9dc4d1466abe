"""What the zygote and each sandboxed job do to themselves before untrusted bytes arrive.

Layers, innermost first:
- resource limits (address space, CPU seconds, file size, open files, no core dumps);
- a seccomp filter per profile: the *job* may not exec, create a process (threads only),
  signal another process through a pidfd, queue asynchronous I/O, create a memfd, change a
  file's mode or ACL, map a file shared and writable, send itself SIGCONT or arm a POSIX
  timer (``_refuse_after_the_answer``), open sockets but AF_UNIX, ptrace, read or write
  another process's memory, mount or enter namespaces; the *zygote* runs under a filter too, one that still lets it fork,
  wait, receive descriptors and give each job its namespaces; *converters* (LibreOffice,
  Tesseract) may exec;
- per-job namespaces: the zygote lives in a user and PID namespace of its own, which
  lets it give each job a fresh PID namespace with one fork; the job is PID 1 there, so
  every process it could start dies with it and it cannot see or signal the zygote by
  number; it takes fresh mount and IPC namespaces, so its /tmp, /dev/shm and System V IPC
  are its own and vanish with it;
- no process is dumpable and none holds a capability, so none can open another's
  ``/proc/<pid>/mem``, ``fd/`` or ``environ``.
The outer layers — bubblewrap's namespaces and the wall-clock timeout — are set up by the
zygote's parent (``cdr.sandbox``).
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import socket
import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ChildLimits:
    memory: int
    cpu_seconds: int
    file_size: int
    open_files: int = 64
    # Tasks of the sandbox's uid, threads included, counted in the zygote's user
    # namespace: the zygote, its spare, a job still being torn down, and this job's threads.
    # Without it, threads were bounded only by the address space, and small stacks would
    # let one job take tens of thousands of the host's PIDs. The kernel exempts uid 0:
    # it holds when cdr runs as its own user (the systemd units), not when root starts it.
    tasks: int = 256


def set_rlimits(limits: ChildLimits) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory, limits.memory))
    # Soft and hard alike: a job is PID 1 of its namespace, and a PID 1 ignores the soft
    # limit's SIGXCPU; the hard limit's SIGKILL is what stops it.
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_size, limits.file_size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.tasks:  # 0: no user namespace of its own, where the limit would count the host's
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.tasks, limits.tasks))


# Never needed by a parser, nor by the zygote; each refused with EPERM rather than killing
# the process so that the child can report which operation was refused.
_REFUSED_EVERYWHERE = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pivot_root",
    "chroot",
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
    "umount2",
)
# What a job and a converter may not do either; the zygote needs these for each job's
# namespaces (its capabilities are those of its own user namespace, which owns nothing
# but the zygote's and the jobs' PID, mount and IPC namespaces).
_REFUSED_TO_JOBS = ("mount", "unshare", "setns")
_EXEC = ("execve", "execveat")
# A parser signals nobody but itself: every other process it could name by number lies
# outside its PID namespace, but a /proc/<pid> directory opened as a pidfd would reach the
# zygote or the spare waiting for the next file. Nor may it queue asynchronous writes
# (Linux AIO) that could land after the zygote has stopped it and answered the parent.
# Nor change a file's mode or ACL: the job's uid owns its output, and would give back the
# read permission that ``cdr.sandbox.write_only`` took away (fchmod on its descriptor, or
# chmod of /proc/self/fd/N), reopen it read-write, map it shared read-only and mprotect
# that writable: a shared mapping of the output after all.
_REFUSED_TO_PARSERS = (
    # memory no limit of the job counts (RLIMIT_AS does not, its /tmp is a bounded tmpfs):
    # 64 descriptors of the output's size each would be tens of GB
    "memfd_create",
    "chmod",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "setxattr",
    "lsetxattr",
    "fsetxattr",
    "removexattr",
    "lremovexattr",
    "fremovexattr",
    "pidfd_send_signal",
    "pidfd_open",
    "pidfd_getfd",
    "io_setup",
    "io_submit",
    "io_cancel",
    "io_getevents",
    "io_pgetevents",
    "io_destroy",
)

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_THREAD = 0x00010000
# What a job adds for itself to the PID namespace the zygote gives it.
JOB_NAMESPACES = CLONE_NEWNS | CLONE_NEWIPC
# Every flag unshare() knows but CLONE_NEWPID, NEWNS and NEWIPC: the zygote may not use
# them (FILES, FS, SYSVSEM, NEWTIME, NEWCGROUP, NEWUTS, NEWUSER, NEWNET).
_ZYGOTE_REFUSED_UNSHARE = (0x400, 0x200, 0x40000, 0x80, 0x02000000, 0x04000000, 0x10000000, 0x40000000)
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: each one refused.
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)


def seccomp_available() -> bool:
    try:
        import pyseccomp  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


def export_filter(allow_exec: bool, profile: str | None = None) -> bytes:
    """A filter as BPF: ``job``, ``zygote``, or ``converter`` (for bubblewrap's
    ``--seccomp FD``: a converter that may exec may also fork)."""
    import tempfile

    with tempfile.TemporaryFile() as handle:
        _build_filter(allow_exec, profile or ("converter" if allow_exec else "job")).export_bpf(handle)
        handle.seek(0)
        return handle.read()


def _build_filter(allow_exec: bool, profile: str) -> Any:  # pyseccomp has no type hints
    import pyseccomp as seccomp

    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    refused = list(_REFUSED_EVERYWHERE)
    if not allow_exec:
        refused += _EXEC
    if profile != "zygote":
        refused += _REFUSED_TO_JOBS
    if profile == "job":
        refused += ("fork", "vfork") + _REFUSED_TO_PARSERS
    for name in refused:
        try:
            rules.add_rule(refuse, name)
        except (OSError, RuntimeError, ValueError):
            continue  # a syscall this architecture does not have
    # clone3 keeps its flags in memory a filter cannot read; answering ENOSYS makes glibc
    # fall back to clone(), whose flags the filter can see (threads work, namespaces not).
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    for flag in _NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    if profile == "job":
        # Threads only: a job is one process, so a fork bomb has nothing to multiply.
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
        _refuse_after_the_answer(seccomp, rules, refuse)
    if profile == "zygote":
        for flag in _ZYGOTE_REFUSED_UNSHARE:
            rules.add_rule(refuse, "unshare", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        rules.add_rule(refuse, "setns", seccomp.Arg(1, seccomp.NE, CLONE_NEWPID))
    rules.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    rules.add_rule(refuse, "socketpair", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
    return rules


_SIGCONT = 18
_F_SETSIG = 10
_MAP_SHARED, _MAP_ANONYMOUS, _PROT_WRITE = 0x01, 0x20, 0x2


def _refuse_after_the_answer(seccomp: Any, rules: Any, refuse: Any) -> None:
    """What would let a job act after the zygote stopped it and answered (cdr/zygote.py).

    - A SIGCONT cancels a SIGSTOP still pending and wakes a stopped job, even one sent by
      a PID 1 to itself (the kernel does that before it decides the signal is ignored):
      then the zygote would wait for a stop that never comes, past the job's deadline.
      Refused through every call that names a signal in a register, and the ones that
      hold it where a filter cannot read it (POSIX timers) or raise it later (F_SETSIG).
    - A shared mapping of the output: a thread that dies, even stopped and then killed,
      has the kernel write its robust futex list and clear_child_tid word in the
      process's memory, so a shared mapping of the output would take bytes after the
      answer. The job holds its output write-only, and a descriptor that cannot read
      cannot be mapped at all (``cdr.sandbox.write_only``); on top of that, no writable
      shared mapping of any file. A read-only one stays allowed: font libraries map the
      font files that way (resvg draws an SVG's text with them), and a mapping of a
      read-only descriptor can never be made writable.
    """
    def low32(number: int, value: int) -> Any:
        # the kernel reads these arguments as int: only the register's low half counts
        return seccomp.Arg(number, seccomp.MASKED_EQ, 0xFFFFFFFF, value)

    for name, number in (("kill", 1), ("tkill", 1), ("tgkill", 2), ("rt_sigqueueinfo", 1), ("rt_tgsigqueueinfo", 2)):
        rules.add_rule(refuse, name, low32(number, _SIGCONT))
    rules.add_rule(refuse, "fcntl", low32(1, _F_SETSIG), low32(2, _SIGCONT))
    rules.add_rule(refuse, "timer_create")
    rules.add_rule(
        refuse,
        "mmap",
        seccomp.Arg(2, seccomp.MASKED_EQ, _PROT_WRITE, _PROT_WRITE),
        seccomp.Arg(3, seccomp.MASKED_EQ, _MAP_SHARED | _MAP_ANONYMOUS, _MAP_SHARED),
    )
    rules.add_rule(refuse, "remap_file_pages")


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


_PR_SET_DUMPABLE = 4
_PR_SET_SECCOMP = 22
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_MODE_FILTER = 2
_CAPABILITY_VERSION_3 = 0x20080522
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 2, 4, 8
_MS_BIND, _MS_REC = 4096, 16384

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"{what}: {os.strerror(number)}")


def load_bpf(program: bytes) -> None:
    """Load a filter compiled earlier (``export_filter``): a fork pays no compile cost."""
    count = len(program) // 8
    buffer = (_SockFilter * count).from_buffer_copy(program)
    prog = _SockFprog(count, ctypes.cast(buffer, ctypes.POINTER(_SockFilter)))
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _check(_libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


def set_dumpable(dumpable: bool) -> None:
    """A process that is not dumpable has its /proc/<pid>/mem, fd/ and environ closed to
    every other process that lacks CAP_SYS_PTRACE over it — and none here has it."""
    _check(_libc.prctl(_PR_SET_DUMPABLE, int(dumpable), 0, 0, 0), "dumpable")


def become_subreaper() -> None:
    """Orphans of a job come back to the zygote, which sweeps them after each job."""
    _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "subreaper")


def drop_capabilities() -> None:
    """A job is born with the zygote's capabilities in the zygote's user namespace (what
    lets it mount its /tmp); it needs none of them once that is done."""
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def enter_zygote_namespaces() -> None:
    """Give the calling (single-threaded) zygote a user and a PID namespace of its own;
    its next child is PID 1 there and becomes the zygote that serves jobs.

    The user namespace maps only this process's own uid and gid, which a process may do
    for itself without privilege (never root: bubblewrap runs the zygote as uid 1000).
    """
    uid, gid = os.geteuid(), os.getegid()
    # Writing one's own uid_map needs /proc/self to be ours: dumpable for these few lines.
    set_dumpable(True)
    try:
        _check(_libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
        for name, text in (
            ("uid_map", f"{uid} {uid} 1"),
            ("setgroups", "deny"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w") as handle:
                handle.write(text)
    finally:
        set_dumpable(False)
    # last, so that a failure before leaves plain fork() as it was
    next_child_in_new_pid_namespace()


def next_child_in_new_pid_namespace() -> None:
    _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")


def next_child_in(pid_namespace: int) -> None:
    """Undo ``next_child_in_new_pid_namespace`` once its one child exists."""
    _check(_libc.setns(pid_namespace, CLONE_NEWPID), "setns(CLONE_NEWPID)")


def _code_under(folder: str) -> list[str]:
    """The interpreter's folders that lie under ``folder`` (a checkout in /tmp)."""
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, *sys.path) if p}
    prefix = folder.rstrip("/") + "/"
    return sorted(r for r in roots if r.startswith(prefix) and os.path.isdir(r))


def isolate_job(tmp_bytes: int) -> None:
    """In a job (PID 1 of its namespace): mounts and System V IPC of its own, with a
    fresh /tmp and /dev/shm of at most ``tmp_bytes`` that vanish with it.

    When the venv itself lives under /tmp (a checkout cloned there), its read-only binds
    are carried onto the fresh /tmp; otherwise a module imported lazily by a job (oletools,
    msoffcrypto) would be hidden by the new mount.
    """
    _check(_libc.unshare(JOB_NAMESPACES), "unshare")
    options = f"size={tmp_bytes},nr_inodes=4096,mode=1777".encode()
    for target in ("/tmp", "/dev/shm"):
        if not os.path.isdir(target):
            continue
        keep = {path: os.open(path, os.O_PATH | os.O_DIRECTORY) for path in _code_under(target)}
        _check(
            _libc.mount(b"tmpfs", target.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, options),
            f"mount {target}",
        )
        for path, fd in keep.items():
            os.makedirs(path, mode=0o755, exist_ok=True)
            # the bind keeps the read-only flag bubblewrap locked on the original
            source = f"/proc/self/fd/{fd}".encode()
            _check(_libc.mount(source, path.encode(), None, _MS_BIND | _MS_REC, None), f"bind {path}")
            os.close(fd)
    # The working folder the zygote gave it may lie in the /tmp just covered (bubblewrap
    # starts in $HOME, /tmp, when the parent's folder does not exist inside): that folder
    # is the one under every job's /tmp, and a relative path would reach it.
    os.chdir("/")


def confine(limits: ChildLimits, bpf: bytes | None) -> None:
    os.umask(0o077)
    set_dumpable(False)
    set_rlimits(limits)
    if bpf:
        load_bpf(bpf)
