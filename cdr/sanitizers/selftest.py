"""Hostile behaviours for the sandbox's own tests. Refused unless the parent runs pytest
with CDR_ALLOW_TEST_OPS=1 (see ``Sandbox.allow_test_ops``): on an appliance, a sanitizer
that misbehaves on purpose must not be reachable from a policy or a file."""

from __future__ import annotations

import ctypes
import os
import socket
import time
from typing import Any


def _attempt(action: Any) -> dict[str, Any]:
    try:
        value = action()
    except OSError as exc:
        return {"succeeded": False, "error": f"{type(exc).__name__}: {exc.strerror or exc}"}
    return {"succeeded": True, "value": value}


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


OPERATIONS = {
    "test:allocate": allocate,
    "test:spin": spin,
    "test:sleep": sleep,
    "test:crash": crash,
    "test:connect": connect,
    "test:write": write_path,
    "test:read": read_path,
    "test:exec": exec_shell,
    "test:write-output": write_output,
}
