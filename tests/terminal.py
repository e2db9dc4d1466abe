"""A program on a pseudo-terminal, driven as a person at the keyboard drives it: read its
question, type once it waits for the answer, read what it says until it exits."""

from __future__ import annotations

import os
import select
import signal
import time
from pathlib import Path


def read_until(terminal: int, marker: bytes) -> bytes:
    """What a program on the pseudo-terminal printed, up to its prompt (a minute at most)."""
    said = b""
    while marker not in said:
        assert select.select([terminal], [], [], 60)[0], said
        said += os.read(terminal, 4096)
    return said


def type_keys(pid: int, terminal: int, keys: bytes) -> None:
    """Keys typed once the program waits for them. A Ctrl-C that arrives between the prompt
    and the read (a test types within microseconds; no person does) sets Python's flag
    before the read starts, and the read then waits for a line that never comes."""
    wchan = Path(f"/proc/{pid}/wchan")
    for _ in range(100):
        try:
            waiting = wchan.read_text()
        except OSError:
            break
        if waiting in ("wait_woken", "n_tty_read") or waiting == "0":  # "0": the kernel does not say
            break
        time.sleep(0.05)
    if wchan.exists() and wchan.read_text() == "0":
        time.sleep(0.3)  # no way to see the read: give it the time a person would
    os.write(terminal, keys)


def to_the_end(pid: int, terminal: int) -> tuple[int, str]:
    """Everything the program printed on its terminal until it exited, and its exit status."""
    said = b""
    while True:
        if not select.select([terminal], [], [], 60)[0]:
            os.kill(pid, signal.SIGKILL)  # still waiting for the person: the test fails, it does not hang
            break
        try:
            chunk = os.read(terminal, 4096)
        except OSError:  # the child closed its terminal
            break
        if not chunk:
            break
        said += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), said.decode("utf-8", "replace")
