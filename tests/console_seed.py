"""An appliance seeded as the console finds it in a town: files dropped into department
folders went through one real `cdr batch` run (the real pipeline, sandbox and audit log).
For the console's tests (workflow, pages): one way to make it, not one per test file."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path

import pyzipper

from cdr.config import Settings
from tests.test_cli import ROOT, cdr


def ppap(password: str, name: str, member: bytes) -> bytes:
    """A PPAP archive: one member in an AES-encrypted ZIP."""
    out = io.BytesIO()
    with pyzipper.AESZipFile(out, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as archive:
        archive.setpassword(password.encode())
        archive.writestr(name, member)
    return out.getvalue()


def seeded_appliance(tmp: Path, dropped: dict[str, bytes]) -> tuple[Settings, list[dict]]:
    """Settings of an appliance in ``tmp`` whose inbox received ``dropped`` (path under the
    inbox, its first folder the department → bytes), after one batch run; its result lines."""
    for folder in ("in", "out"):
        (tmp / folder).mkdir(parents=True, exist_ok=True)
    an_hour_ago = time.time() - 3600  # settled: a batch takes only files nobody wrote to lately
    for relative, data in dropped.items():
        path = tmp / "in" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (an_hour_ago, an_hour_ago))
    settings = Settings(
        inbox=tmp / "in",
        outbox=tmp / "out",
        spool=tmp / "spool",
        quarantine=tmp / "q",
        audit=tmp / "log" / "audit.jsonl",
        policy=ROOT / "policies" / "default.yaml",
        workers=1,
        console_db=tmp / "console.db",
    )
    places = ("--quarantine", settings.quarantine, "--audit", settings.audit, "--spool", settings.spool)
    run = cdr("batch", "--inbox", settings.inbox, "--outbox", settings.outbox, *places, "--json")
    assert run.returncode in (0, 1), run.stderr
    return settings, [json.loads(line) for line in run.stdout.splitlines()]
