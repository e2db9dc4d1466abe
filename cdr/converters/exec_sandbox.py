"""Sandboxed runs of external converters (LibreOffice, Tesseract).

A converter must exec, so it cannot live in the zygote's children. Each run gets its own
bubblewrap: the same read-only system view, no network, a private writable work folder
bound at /job holding only this job's input, a fresh HOME there (LibreOffice's profile),
a seccomp filter passed to bubblewrap (exec allowed, sockets but AF_UNIX refused), rlimits,
and a wall-clock timeout after which the whole process group is killed.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cdr.confine import export_filter, seccomp_available
from cdr.errors import ConverterUnavailable, OperationalError, SandboxTimeout
from cdr.sandbox import bubblewrap_command

JOB = "/job"


@dataclass(frozen=True)
class ConverterRun:
    returncode: int
    output: str


def _limits(memory: int, cpu: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_converter(
    argv: list[str],
    work: Path,
    timeout: float,
    memory: int = 4 << 30,
    cpu: int = 300,
    isolation: str = "required",
    environment: Mapping[str, str] | None = None,
) -> ConverterRun:
    """Run ``argv`` (paths under /job) with ``work`` bound writable at /job, and
    ``environment`` added to what the converter sees."""
    environment = dict(environment or {})
    if not Path(argv[0]).exists():
        raise ConverterUnavailable(f"{argv[0]} is not installed")
    try:
        cmd = bubblewrap_command()
    except OperationalError:
        if isolation == "required":
            raise
        cmd = []
    read_fd = None
    if cmd:
        cmd = cmd[:-2]  # keep the root writable until the job folder is bound
        cmd += ["--bind", str(work), JOB, "--setenv", "HOME", JOB, "--chdir", JOB, "--remount-ro", "/"]
        for name, value in environment.items():
            cmd += ["--setenv", name, value]
        if seccomp_available():
            read_fd, write_fd = os.pipe()
            os.write(write_fd, export_filter(allow_exec=True))
            os.close(write_fd)
            cmd += ["--seccomp", str(read_fd)]
        cmd += ["--", *argv]
    else:
        cmd = [a.replace(JOB, str(work)) for a in argv]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=(read_fd,) if read_fd is not None else (),
            preexec_fn=lambda: _limits(memory, cpu),
            # bubblewrap stays PID 1 inside: it must not hold this process's environment
            env={} if "--clearenv" in cmd else {**os.environ, **environment},
            cwd=str(work),
        )
    finally:
        if read_fd is not None:
            os.close(read_fd)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise SandboxTimeout(f"{Path(argv[0]).name} took longer than {timeout:g}s") from None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return ConverterRun(proc.returncode, out.decode("utf-8", "replace")[-2000:])
